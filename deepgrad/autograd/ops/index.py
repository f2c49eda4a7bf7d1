"""Index-valued and masking ops: argmax, argmin (no gradient), masked_fill."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from ._args import AxisError, canon_axis, pick_axis, pick_keepdims

__all__ = ["argmax", "argmin", "masked_fill"]


class TakeAlong(Function):
    """``x`` at one index per slice along ``axis`` (the values of ``max(x, dim)``); the
    gradient goes to that one element, as in ``torch.max(x, dim)`` (ties are not split)."""

    def __init__(self, index: Any, axis: int, keepdims: bool) -> None:
        self.index, self.axis, self.keepdims = index, axis, keepdims

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        self.in_shape = x.shape
        y = xp.take_along_axis(x, self.index, axis=self.axis)
        return y if self.keepdims else xp.squeeze(y, axis=self.axis)

    def backward(self, gy: Any) -> Any:
        # the gradient goes to the one chosen position of each slice
        xp = get_array_module(gy)
        g = gy if self.keepdims else xp.expand_dims(gy, self.axis)
        n = self.in_shape[self.axis]
        pos = xp.arange(n).reshape((n,) + (1,) * (len(self.in_shape) - self.axis - 1))
        return xp.where(pos == self.index, g, xp.zeros((), dtype=gy.dtype))


def values_at_extreme(x: Any, dim: int, keepdim: bool, take_max: bool) -> tuple[Tensor, Tensor]:
    """``(values, indices)`` of ``torch.max(x, dim)`` / ``torch.min(x, dim)``."""
    op = "max" if take_max else "min"
    idx = _arg_extreme(x, dim, True, take_max, op)
    nd = len(x.shape)
    if nd == 0:
        from .shape import reshape

        return reshape(x, ()), idx
    axis = canon_axis(dim, nd, op)
    values = TakeAlong(idx.data, axis, keepdim)(x)
    if not keepdim:
        idx = Tensor._wrap(get_array_module(idx.data).squeeze(idx.data, axis=axis))
    return values, idx


def _arg_extreme(x: Any, axis: Any, keepdims: bool, take_max: bool, op: str) -> Tensor:
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    xp = get_array_module(data)
    if isinstance(axis, tuple | list):
        raise TypeError(f"{op}: axis must be one int or None, got {axis!r}")
    if axis is not None:
        axis = canon_axis(axis, data.ndim, op)
        if data.ndim == 0:  # the one element of a 0-d tensor is at index 0
            return Tensor._wrap(xp.zeros((), dtype=np.int64))
        if data.shape[axis] == 0:
            raise AxisError(f"{op}: cannot reduce over axis {axis} of size 0 "
                            f"(shape {tuple(data.shape)})")
    elif data.size == 0:
        raise ValueError(f"{op}: the tensor is empty (shape {tuple(data.shape)})")
    fn = xp.argmax if take_max else xp.argmin
    out = fn(data, axis=axis, keepdims=keepdims)
    return Tensor._wrap(xp.asarray(out, dtype=np.int64))


def argmax(
    x: Any, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Indices of the maxima along ``axis`` (or ``dim``; None: of the flattened tensor), as
    an int64 tensor without gradient. Ties go to the first occurrence.

    Shape:
        x: any; output: x's shape without ``axis`` (or with it as 1), () for ``axis=None``.
    """
    axis = pick_axis(axis, dim, "argmax")
    return _arg_extreme(x, axis, pick_keepdims(keepdims, keepdim, "argmax"), True, "argmax")


def argmin(
    x: Any, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Indices of the minima along ``axis`` (or ``dim``), as :func:`argmax`.

    Shape:
        x: any; output: x's shape without ``axis`` (or with it as 1), () for ``axis=None``.
    """
    axis = pick_axis(axis, dim, "argmin")
    return _arg_extreme(x, axis, pick_keepdims(keepdims, keepdim, "argmin"), False, "argmin")


def masked_fill(x: Any, mask: Any, value: Any) -> Tensor:
    """``x`` with ``value`` where ``mask`` is true (PyTorch's ``masked_fill``).

    The gradient flows to ``x`` where the mask is false, and to ``value`` (when it is a
    tensor) from every masked position.

    Args:
        x: the tensor.
        mask: a boolean array or tensor broadcastable to ``x``'s shape.
        value: a number or a 0-d tensor.

    Shape:
        x: any; mask: broadcastable to x; output: same as x.
    """
    from .math import where

    m = mask.data if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", np.asarray(m).dtype).kind != "b":
        raise TypeError(f"masked_fill: mask must be boolean, got dtype {np.asarray(m).dtype}")
    shape = tuple(x.shape)
    if np.broadcast_shapes(tuple(np.shape(m)), shape) != shape:
        raise ValueError(f"masked_fill: mask of shape {tuple(np.shape(m))} does not "
                         f"broadcast to the tensor's shape {shape}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, "
                         f"got shape {value.shape}")
    return where(m, value, x)

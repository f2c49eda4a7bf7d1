"""Splitting and tiling with PyTorch's semantics: split, chunk, expand, repeat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from ._args import canon_axis, pick_axis

__all__ = ["split", "chunk", "expand", "repeat"]


class Split(Function):
    """Views of consecutive pieces along one axis; backward concatenates their gradients."""

    def __init__(self, sizes: list[int], axis: int) -> None:
        self.sizes, self.axis = sizes, axis

    def forward(self, x: Any) -> Any:
        bounds = np.cumsum([0, *self.sizes])
        pre = (slice(None),) * self.axis
        return tuple(x[pre + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:],
                                                                         strict=True))

    def backward(self, *gys: Any) -> Any:
        return get_array_module(*gys).concatenate(gys, axis=self.axis)  # pieces back in place


class Repeat(Function):
    """``np.tile`` with ``len(reps) >= ndim``; backward sums the copies."""

    def __init__(self, reps: tuple[int, ...]) -> None:
        self.reps = reps

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return get_array_module(x).tile(x, self.reps)

    def backward(self, gy: Any) -> Any:
        # gy viewed as (r0, s0, r1, s1, ...): every copy adds to the same input element
        lead = (1,) * (len(self.reps) - len(self.in_shape)) + tuple(self.in_shape)
        inter = [v for r, s in zip(self.reps, lead, strict=True) for v in (r, s)]
        g = gy.reshape(inter).sum(axis=tuple(range(0, len(inter), 2)))
        return g.reshape(self.in_shape)


def _split_axis(x: Any, dim: int, axis: Any, op: str) -> tuple[int, int]:
    dim = pick_axis(None if dim == 0 else dim, axis, op, 0)
    nd = len(x.shape)
    if nd == 0:
        raise ValueError(f"{op}: a 0-d tensor cannot be split")
    ax = canon_axis(dim, nd, op)
    return ax, x.shape[ax]


def split(
    x: Any, split_size_or_sections: int | Sequence[int], dim: int = 0, *,
    axis: int | None = None,
) -> tuple[Tensor, ...]:
    """Split into pieces of ``split_size_or_sections`` elements along ``dim`` (the last
    piece smaller when it does not divide), or into pieces of the listed sizes (which must
    sum to the axis length), as ``torch.split``.

    Shape:
        x: at least 1-d; outputs: x's shape with ``dim`` cut into pieces.
    """
    ax, n = _split_axis(x, dim, axis, "split")
    s = split_size_or_sections
    if isinstance(s, int | np.integer) and not isinstance(s, bool):
        if s <= 0 and not (s == 0 and n == 0):
            raise ValueError(f"split: split_size must be positive, got {s}")
        sizes = [n] if n == 0 else [min(int(s), n - i) for i in range(0, n, int(s))]
    else:
        sizes = [int(v) for v in s]
        if any(v < 0 for v in sizes) or sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} must be non-negative and sum to the "
                             f"length {n} of axis {ax}")
    return Split(sizes, ax)(x)


def chunk(x: Any, chunks: int, dim: int = 0, *, axis: int | None = None) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of ``ceil(n / chunks)`` elements along ``dim`` (fewer
    pieces when they run out), as ``torch.chunk``.

    Shape:
        x: at least 1-d; outputs: x's shape with ``dim`` cut into pieces.
    """
    if isinstance(chunks, bool) or not isinstance(chunks, int | np.integer) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    ax, n = _split_axis(x, dim, axis, "chunk")
    if n == 0:
        return Split([0] * int(chunks), ax)(x)
    return split(x, -(-n // int(chunks)), ax)


def _sizes(sizes: Sequence[Any]) -> tuple[int, ...]:
    if len(sizes) == 1 and isinstance(sizes[0], tuple | list):
        return tuple(int(v) for v in sizes[0])
    return tuple(int(v) for v in sizes)


def expand(x: Any, *sizes: Any) -> Tensor:
    """``x`` broadcast to ``sizes`` (PyTorch's ``expand``): -1 keeps an axis, length-1 axes
    grow, and new leading axes may be added.

    Shape:
        x: any; output: ``sizes`` with the -1 entries replaced by x's lengths.
    """
    from .shape import broadcast_to

    sizes = _sizes(sizes)
    shape = tuple(x.shape)
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes for a tensor of {len(shape)} dimensions")
    target = []
    for i, s in enumerate(sizes):
        have = shape[i - lead] if i >= lead else None
        if s == -1:
            if have is None:
                raise ValueError(f"expand: -1 is not allowed for the new leading axis {i}")
            s = have
        if s < 0 or (have is not None and have != 1 and have != s):
            raise ValueError(f"expand: cannot expand shape {shape} to {sizes} (axis {i})")
        target.append(s)
    return broadcast_to(x, tuple(target))


def repeat(x: Any, *sizes: Any) -> Tensor:
    """Tile ``x``: ``sizes[i]`` copies along axis i (PyTorch's ``Tensor.repeat``, NumPy's
    ``tile``); ``len(sizes)`` may exceed ``x.ndim`` (new leading axes), not fall short.

    Shape:
        x: any; output: each axis's length times its repeat count.
    """
    reps = _sizes(sizes)
    if len(reps) < len(x.shape):
        raise ValueError(f"repeat: {len(reps)} repeat counts for a tensor of "
                         f"{len(x.shape)} dimensions (need at least as many)")
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat: counts must be non-negative, got {reps}")
    return Repeat(reps)(x)

"""Shape and indexing: reshape, transpose, permute, flatten, getitem, concatenate, stack,
broadcast_to, expand_dims/unsqueeze, squeeze (pad lives in padding.py; split, chunk,
expand and repeat in tiling.py).

Axes follow PyTorch on a 0-d tensor: 0 and -1 name its one implicit axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...backend import get_array_module, scatter_add
from ..function import Function
from ..tensor import Tensor
from ._args import AxisError, canon_axis, pick_axis
from .padding import pad

__all__ = [
    "reshape", "view", "transpose", "swapaxes", "permute", "flatten", "getitem", "concatenate",
    "cat", "stack", "pad", "broadcast_to", "expand_dims", "unsqueeze", "squeeze",
]


class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy: Any) -> Any:
        return gy.reshape(self.in_shape)


class Transpose(Function):
    def __init__(self, axes: tuple[int, ...] | None) -> None:
        self.axes = axes

    def forward(self, x: Any) -> Any:
        return x.transpose(self.axes)

    def backward(self, gy: Any) -> Any:
        if self.axes is None:
            return gy.transpose()
        return gy.transpose(tuple(np.argsort([a % gy.ndim for a in self.axes])))


def _unwrap_key(key: Any) -> Any:
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(_unwrap_key(k) for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


def _has_int_array(key: Any) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(hasattr(k, "dtype") and k.dtype.kind in "iu" for k in keys)


class GetItem(Function):
    def __init__(self, key: Any) -> None:
        self.key = key

    def forward(self, x: Any) -> Any:
        self.in_shape, self.in_dtype = x.shape, x.dtype
        return x[self.key]

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        gx = xp.zeros(self.in_shape, dtype=self.in_dtype)
        if _has_int_array(self.key):
            scatter_add(gx, self.key, gy)  # repeated indices accumulate
        else:
            gx[self.key] = gy
        return gx


class Concatenate(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs: Any) -> Any:
        xp = get_array_module(*xs)
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        bounds = np.cumsum(self.sizes)[:-1]
        parts = get_array_module(gy).split(gy, bounds, axis=self.axis)
        needs = self.needs_input_grad
        return tuple(p if need else None for p, need in zip(parts, needs, strict=True))


class Stack(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs: Any) -> Any:
        return get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        return tuple(
            xp.take(gy, i, axis=self.axis) if need else None
            for i, need in enumerate(self.needs_input_grad)
        )


class BroadcastTo(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy: Any) -> Any:
        from ...backend import sum_to

        return sum_to(gy, self.in_shape)


def _ndim(x: Any) -> int:
    return x.ndim if hasattr(x, "ndim") else np.ndim(x)


def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        return tuple(shape[0])
    return tuple(shape)


def reshape(x: Any, *shape: Any) -> Tensor:
    """Same data in a new shape (one entry may be -1): ``reshape(x, (2, -1))``.

    Shape:
        x: any; output: ``shape``, with as many elements as x.
    """
    return Reshape(_shape_arg(shape))(x)


def view(x: Any, *shape: Any) -> Tensor:
    """PyTorch's name for :func:`reshape` (always allowed here: arrays need no contiguity).

    Shape:
        x: any; output: ``shape``, with as many elements as x.
    """
    return Reshape(_shape_arg(shape))(x)


def transpose(x: Any, axes: Any = None, dim1: int | None = None) -> Tensor:
    """Permute axes (reverse them when ``axes`` is None), as ``numpy.transpose``; with two
    ints, ``transpose(x, dim0, dim1)`` swaps them, as ``torch.transpose``.

    Shape:
        x: any; output: x's axes permuted.
    """
    if dim1 is not None:
        return swapaxes(x, axes, dim1)
    if axes is None:
        return Transpose(None)(x)
    return permute(x, tuple(axes))


def permute(x: Any, *dims: Any) -> Tensor:
    """Permute axes to ``dims`` (PyTorch's name for ``transpose(x, dims)``).

    Shape:
        x: any; output: x's axes in the order ``dims``.
    """
    dims = _shape_arg(dims)
    nd = _ndim(x)
    axes = tuple(canon_axis(d, nd, "permute") for d in dims) if nd else ()
    if len(dims) != nd or sorted(axes) != list(range(nd)):
        raise ValueError(f"permute: dims {dims} are not a permutation of the {nd} axes")
    return Transpose(axes)(x)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Swap two axes (``torch.transpose(x, dim0, dim1)``).

    Shape:
        x: any; output: x's shape with the two axes exchanged.
    """
    nd = _ndim(x)
    a, b = canon_axis(axis1, nd, "swapaxes"), canon_axis(axis2, nd, "swapaxes")
    axes = list(range(nd))
    if nd:
        axes[a], axes[b] = axes[b], axes[a]
    return Transpose(tuple(axes))(x)


def flatten(
    x: Any, start_axis: int = 0, end_axis: int = -1, *, start_dim: int | None = None,
    end_dim: int | None = None,
) -> Tensor:
    """Merge axes ``start_axis..end_axis`` into one (all of them by default, as NumPy's
    ``flatten``; ``flatten(x, 1)`` keeps the batch axis, as ``torch.flatten(x, 1)``);
    ``start_dim``/``end_dim`` are PyTorch's names. A 0-d tensor becomes shape (1,).

    Shape:
        x: any; output: the merged axes replaced by their product.
    """
    start_axis = pick_axis(None if start_axis == 0 else start_axis, start_dim, "flatten", 0)
    end_axis = pick_axis(None if end_axis == -1 else end_axis, end_dim, "flatten", -1)
    shape = tuple(x.shape)
    nd = len(shape)
    s, e = canon_axis(start_axis, nd, "flatten"), canon_axis(end_axis, nd, "flatten")
    if nd == 0:
        return reshape(x, (1,))
    if s > e:
        raise ValueError(f"flatten: start_axis {start_axis} is after end_axis {end_axis}")
    n = 1
    for d in shape[s : e + 1]:
        n *= d
    return reshape(x, shape[:s] + (n,) + shape[e + 1 :])


def getitem(x: Any, key: Any) -> Tensor:
    """``x[key]`` with slices, integers, integer arrays (repeats accumulate in the
    gradient) and boolean masks.

    Shape:
        x: any; output: as NumPy indexing.
    """
    return GetItem(_unwrap_key(key))(x)


def _check_parts(xs: Sequence[Any], axis: int, op: str) -> int:
    if isinstance(xs, Tensor) or len(xs) == 0:
        raise ValueError(f"{op} needs a non-empty list or tuple of tensors")
    shapes = [tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape) for x in xs]
    nd = len(shapes[0])
    if any(len(s) != nd for s in shapes):
        raise ValueError(f"{op}: all tensors need the same number of dimensions, got shapes "
                         f"{shapes}")
    return nd


def concatenate(xs: Sequence[Any], axis: int | None = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (``dim`` is PyTorch's name); parts may be empty
    along it. ``axis=None`` joins the flattened tensors, as NumPy.

    Shape:
        xs: tensors equal in every axis but ``axis``; output: their sizes there summed.
    """
    if axis is None and dim is None:  # NumPy's axis=None: join the flattened tensors
        if isinstance(xs, Tensor) or len(xs) == 0:
            raise ValueError("concatenate needs a non-empty list or tuple of tensors")
        xs, axis = [reshape(x, (-1,)) for x in xs], 0
    axis = pick_axis(None if axis == 0 else axis, dim, "concatenate", 0)
    nd = _check_parts(xs, axis, "concatenate")
    if nd == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated; use stack")
    ax = canon_axis(axis, nd, "concatenate")
    shapes = [tuple(x.shape) for x in xs]
    ref = shapes[0][:ax] + shapes[0][ax + 1:]
    for s in shapes:
        if s[:ax] + s[ax + 1:] != ref:
            raise ValueError(f"concatenate: shapes {shapes} differ outside axis {ax}")
    return Concatenate(ax)(*xs)


def cat(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """PyTorch's name for :func:`concatenate` (``dim`` first, ``axis`` accepted).

    Shape:
        tensors: equal in every axis but ``dim``; output: their sizes there summed.
    """
    dim = pick_axis(None if dim == 0 else dim, axis, "cat", 0)
    return concatenate(tensors, dim)


def stack(xs: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis (``dim`` is PyTorch's name).

    Shape:
        xs: tensors of one shape S; output: S with ``len(xs)`` inserted at ``axis``.
    """
    axis = pick_axis(None if axis == 0 else axis, dim, "stack", 0)
    nd = _check_parts(xs, axis, "stack")
    shapes = {tuple(x.shape) if hasattr(x, "shape") else np.shape(x) for x in xs}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    return Stack(_insert_axis(axis, nd, "stack"))(*xs)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """``x`` broadcast to ``shape`` (the gradient is summed back).

    Shape:
        x: broadcastable to ``shape``; output: ``shape``.
    """
    return BroadcastTo(tuple(shape))(x)


def _insert_axis(axis: Any, nd: int, op: str) -> int:
    """A new axis position in ``[0, nd]`` (``-1`` is last, as PyTorch's ``unsqueeze``)."""
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -(nd + 1) <= axis <= nd:
        raise AxisError(f"{op}: axis {axis} is out of range for inserting into a tensor of "
                        f"{nd} dimensions (expected {-(nd + 1)}..{nd})")
    return int(axis) % (nd + 1)


def expand_dims(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Insert a length-1 axis at ``axis`` (or ``dim``).

    Shape:
        x: any; output: x's shape with a 1 inserted at ``axis``.
    """
    axis = pick_axis(axis, dim, "expand_dims")
    shape = list(x.shape)
    shape.insert(_insert_axis(axis, len(shape), "expand_dims"), 1)
    return reshape(x, tuple(shape))


def unsqueeze(x: Any, dim: int) -> Tensor:
    """PyTorch's name for :func:`expand_dims`.

    Shape:
        x: any; output: x's shape with a 1 inserted at ``dim``.
    """
    return expand_dims(x, dim)


def squeeze(x: Any, axis: int | tuple[int, ...] | None = None, *, dim: Any = None) -> Tensor:
    """Remove length-1 axes: all of them, or those of ``axis`` (or ``dim``) that have
    length 1; a named axis of another length is left alone, as in PyTorch.

    Shape:
        x: any; output: x's shape without the removed 1s.
    """
    axis = pick_axis(axis, dim, "squeeze")
    shape = tuple(x.shape)
    if axis is None:
        return reshape(x, tuple(n for n in shape if n != 1))
    nd = len(shape)
    names = (axis,) if not isinstance(axis, tuple | list) else tuple(axis)
    axes = {canon_axis(a, nd, "squeeze") for a in names}
    return reshape(x, tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1)))

"""Shape and indexing: reshape, transpose, permute, flatten, getitem, concatenate, stack,
pad, broadcast_to, expand_dims, squeeze."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...backend import get_array_module, scatter_add
from ..function import Function
from ..tensor import Tensor

__all__ = [
    "reshape", "transpose", "swapaxes", "permute", "flatten", "getitem", "concatenate",
    "stack", "pad", "broadcast_to", "expand_dims", "squeeze",
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


class Pad(Function):
    def __init__(self, pad_width: Any, value: float) -> None:
        self.pad_width = pad_width
        self.value = float(value)

    def forward(self, x: Any) -> Any:
        pw = np.broadcast_to(np.asarray(self.pad_width, dtype=np.int64), (x.ndim, 2))
        if (pw < 0).any():
            raise ValueError(f"pad: pad_width must be non-negative, got {self.pad_width}")
        self.pw = pw
        xp = get_array_module(x)
        return xp.pad(x, [tuple(int(v) for v in p) for p in pw], constant_values=self.value)

    def backward(self, gy: Any) -> Any:
        idx = tuple(slice(int(b), gy.shape[i] - int(a)) for i, (b, a) in enumerate(self.pw))
        return gy[idx]


class BroadcastTo(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy: Any) -> Any:
        from ...backend import sum_to

        return sum_to(gy, self.in_shape)


def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        return tuple(shape[0])
    return tuple(shape)


def reshape(x: Any, *shape: Any) -> Tensor:
    """Same data in a new shape (one entry may be -1): ``reshape(x, (2, -1))``."""
    return Reshape(_shape_arg(shape))(x)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes (reverse them when ``axes`` is None), as ``numpy.transpose``."""
    return Transpose(None if axes is None else tuple(axes))(x)


def permute(x: Any, *dims: Any) -> Tensor:
    """Permute axes to ``dims`` (PyTorch's name for ``transpose(x, dims)``)."""
    return Transpose(_shape_arg(dims))(x)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Swap two axes."""
    nd = x.ndim if hasattr(x, "ndim") else np.ndim(x)
    axes = list(range(nd))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return Transpose(tuple(axes))(x)


def flatten(x: Any, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """Merge axes ``start_axis..end_axis`` into one (all of them by default, as NumPy's
    ``flatten``; ``flatten(x, 1)`` keeps the batch axis, as ``torch.flatten(x, 1)``)."""
    shape = tuple(x.shape)
    nd = len(shape)
    if nd == 0:
        return reshape(x, (1,))
    s, e = start_axis % nd, end_axis % nd
    if s > e:
        raise ValueError(f"flatten: start_axis {start_axis} is after end_axis {end_axis}")
    n = 1
    for d in shape[s : e + 1]:
        n *= d
    return reshape(x, shape[:s] + (n,) + shape[e + 1 :])


def getitem(x: Any, key: Any) -> Tensor:
    """``x[key]`` with slices, integers, integer arrays (repeats accumulate in the
    gradient) and boolean masks."""
    return GetItem(_unwrap_key(key))(x)


def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    if len(xs) == 0:
        raise ValueError("concatenate needs at least one tensor")
    return Concatenate(axis)(*xs)


def stack(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    if len(xs) == 0:
        raise ValueError("stack needs at least one tensor")
    return Stack(axis)(*xs)


def pad(x: Any, pad_width: Any, value: float = 0) -> Tensor:
    """Pad with a constant, NumPy's ``pad_width``: an int, a ``(before, after)`` pair, or
    one pair per axis."""
    return Pad(pad_width, value)(x)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """``x`` broadcast to ``shape`` (the gradient is summed back)."""
    return BroadcastTo(tuple(shape))(x)


def expand_dims(x: Any, axis: int) -> Tensor:
    """Insert a length-1 axis at ``axis``."""
    shape = list(x.shape)
    nd = len(shape) + 1
    shape.insert(axis % nd, 1)
    return reshape(x, tuple(shape))


def squeeze(x: Any, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """Remove length-1 axes (all of them, or those in ``axis``)."""
    shape = tuple(x.shape)
    if axis is None:
        return reshape(x, tuple(n for n in shape if n != 1))
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has length {shape[a]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))

"""Reductions over axes with NumPy's ``axis`` / ``keepdims``: sum, mean, max, min, var,
std, logsumexp."""

from __future__ import annotations

import builtins
from typing import Any

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor

__all__ = ["sum", "mean", "max", "min", "var", "std", "logsumexp"]

Axis = int | tuple[int, ...] | None


def _norm_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def _keep_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class _Reduce(Function):
    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def _setup(self, x: Any) -> None:
        self.in_shape = x.shape
        self.axes = _norm_axes(self.axis, x.ndim)
        self.kshape = _keep_shape(x.shape, self.axes)

    def _expand(self, gy: Any) -> Any:
        """gy reshaped to keepdims form so it broadcasts against the input."""
        return gy.reshape(self.kshape)


class Sum(_Reduce):
    def forward(self, x: Any) -> Any:
        self._setup(x)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        return xp.broadcast_to(self._expand(gy), self.in_shape)  # d sum = 1 for every term


class Mean(_Reduce):
    def forward(self, x: Any) -> Any:
        self._setup(x)
        self.n = _count(x.shape, self.axes)
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        return xp.broadcast_to(self._expand(gy) / self.n, self.in_shape)  # d mean = 1/n


class _Extreme(_Reduce):
    take_max = True

    def forward(self, x: Any) -> Any:
        self._setup(x)
        if x.size == 0:
            raise ValueError("max/min of an empty tensor")
        y = x.max(axis=self.axes, keepdims=True) if self.take_max else x.min(
            axis=self.axes, keepdims=True
        )
        self.x, self.y = x, y
        return y if self.keepdims else y.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in self.axes)
        )

    def backward(self, gy: Any) -> Any:
        # gradient to the extreme element; shared evenly among ties
        mask = (self.x == self.y).astype(gy.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return mask * self._expand(gy)


class Max(_Extreme):
    take_max = True


class Min(_Extreme):
    take_max = False


class Var(_Reduce):
    def __init__(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> None:
        super().__init__(axis, keepdims)
        self.ddof = ddof

    def forward(self, x: Any) -> Any:
        self._setup(x)
        n = _count(x.shape, self.axes)
        if n - self.ddof <= 0:
            raise ValueError(f"var: {n} elements with ddof={self.ddof} leave no degrees of freedom")
        self.d = x - x.mean(axis=self.axes, keepdims=True)
        self.dof = n - self.ddof
        return (self.d * self.d).sum(axis=self.axes, keepdims=self.keepdims) / self.dof

    def backward(self, gy: Any) -> Any:
        # d var = 2 (x - mean) / (n - ddof)  (the mean's own gradient sums to zero)
        return self._expand(gy) * self.d * (2.0 / self.dof)


class LogSumExp(_Reduce):
    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        self._setup(x)
        m = x.max(axis=self.axes, keepdims=True)
        y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        self.x, self.y = x, y
        return y if self.keepdims else y.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in self.axes)
        )

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        return self._expand(gy) * xp.exp(self.x - self.y)  # d lse = softmax(x)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (an int, a tuple, or None for all), as ``numpy.sum``."""
    return Sum(axis, keepdims)(x)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``, as ``numpy.mean``."""
    return Mean(axis, keepdims)(x)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``; the gradient goes to the maximal elements (split on ties)."""
    return Max(axis, keepdims)(x)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``; the gradient goes to the minimal elements (split on ties)."""
    return Min(axis, keepdims)(x)


def var(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis``: the population variance (ddof=0) unless ``ddof`` is given."""
    return Var(axis, keepdims, ddof)(x)


def std(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation, sqrt(var(x, axis, keepdims, ddof))."""
    from .math import sqrt

    return sqrt(var(x, axis, keepdims, ddof))


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, max-shifted so it never overflows."""
    return LogSumExp(axis, keepdims)(x)

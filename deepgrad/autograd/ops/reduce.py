"""Reductions over axes: sum, mean, max, min, var, std, logsumexp.

Each takes NumPy's ``axis`` / ``keepdims`` or PyTorch's ``dim`` / ``keepdim``. A 0-d
tensor reduced over ``axis=0`` (or -1) gives its value, as in PyTorch. Over a size-0 axis,
``sum`` is 0, ``mean``/``var`` NaN, ``logsumexp`` -inf, and ``max``/``min`` raise.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from ._args import Axis, AxisError, norm_axes, pick_axis, pick_keepdims

__all__ = ["sum", "mean", "max", "min", "var", "std", "logsumexp"]

#: What ``max``/``min`` return when called with ``dim=`` (as ``torch.max(x, dim)``).
MaxMin = namedtuple("MaxMin", ["values", "indices"])


def _keep_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class _Reduce(Function):
    name = "reduction"

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def _setup(self, x: Any) -> None:
        self.in_shape = x.shape
        self.axes = norm_axes(self.axis, x.ndim, self.name)
        self.kshape = _keep_shape(x.shape, self.axes)
        self.out_shape = self.kshape if self.keepdims else tuple(
            n for i, n in enumerate(x.shape) if i not in self.axes
        )

    def _expand(self, gy: Any) -> Any:
        """gy reshaped to keepdims form so it broadcasts against the input."""
        return gy.reshape(self.kshape)


class Sum(_Reduce):
    name = "sum"

    def forward(self, x: Any) -> Any:
        self._setup(x)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        return xp.broadcast_to(self._expand(gy), self.in_shape)  # d sum = 1 for every term


class Mean(_Reduce):
    name = "mean"

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        self._setup(x)
        self.n = _count(x.shape, self.axes)
        if self.n == 0:  # the mean of nothing is NaN (as NumPy and PyTorch), without a warning
            return xp.full(self.out_shape, xp.nan, dtype=x.dtype)
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        if self.n == 0:
            return xp.zeros(self.in_shape, dtype=gy.dtype)
        return xp.broadcast_to(self._expand(gy) / self.n, self.in_shape)  # d mean = 1/n


class _Extreme(_Reduce):
    take_max = True

    def forward(self, x: Any) -> Any:
        self._setup(x)
        empty = [a for a in self.axes if x.shape[a] == 0]
        if empty:
            raise AxisError(
                f"{self.name}: cannot reduce over axis {empty[0]} of size 0 (shape "
                f"{tuple(x.shape)}); an empty axis has no {self.name}imum"
            )
        y = x.max(axis=self.axes, keepdims=True) if self.take_max else x.min(
            axis=self.axes, keepdims=True
        )
        self.x, self.y = x, y
        return y if self.keepdims else y.reshape(self.out_shape)

    def backward(self, gy: Any) -> Any:
        # gradient to the extreme element; shared evenly among ties
        mask = (self.x == self.y).astype(gy.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return mask * self._expand(gy)


class Max(_Extreme):
    name = "max"
    take_max = True


class Min(_Extreme):
    name = "min"
    take_max = False


class Var(_Reduce):
    name = "var"

    def __init__(self, axis: Axis = None, keepdims: bool = False, ddof: float = 0) -> None:
        super().__init__(axis, keepdims)
        self.ddof = ddof

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        self._setup(x)
        n = _count(x.shape, self.axes)
        # no degrees of freedom left: NaN (or inf), as NumPy and PyTorch, without a warning
        self.scale = 1.0 / (n - self.ddof) if n - self.ddof > 0 else np.nan
        if n == 0:
            self.d = xp.zeros(x.shape, dtype=x.dtype)
            return xp.full(self.out_shape, xp.nan, dtype=x.dtype)
        self.d = x - x.mean(axis=self.axes, keepdims=True)
        ss = (self.d * self.d).sum(axis=self.axes, keepdims=self.keepdims)
        return ss * x.dtype.type(self.scale)

    def backward(self, gy: Any) -> Any:
        # d var = 2 (x - mean) / (n - ddof)  (the mean's own gradient sums to zero)
        with np.errstate(invalid="ignore"):  # NaN without degrees of freedom, as torch
            return self._expand(gy) * self.d * gy.dtype.type(2.0 * self.scale)


class Std(Var):
    name = "std"

    def forward(self, x: Any) -> Any:
        y = get_array_module(x).sqrt(super().forward(x))
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy: Any) -> Any:
        # d std = d var / (2 std); 0 where std = 0 (a constant slice), as PyTorch
        xp = get_array_module(gy)
        y = self.y
        safe = xp.where(y == 0, 1, y)
        return super().backward(xp.where(y == 0, 0, gy / (2 * safe)).astype(gy.dtype))


class LogSumExp(_Reduce):
    name = "logsumexp"

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        self._setup(x)
        if x.size == 0:  # log(sum of nothing) = -inf
            y = xp.full(self.kshape, -xp.inf, dtype=x.dtype)
        else:
            m = x.max(axis=self.axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # an all -inf slice stays -inf, not NaN
            with np.errstate(divide="ignore"):
                y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        self.x, self.y = x, y
        return y if self.keepdims else y.reshape(self.out_shape)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        return self._expand(gy) * xp.exp(self.x - self.y)  # d lse = softmax(x)


def sum(  # noqa: A001
    x: Any, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Sum over ``axis`` (an int, a tuple, or None for all), as ``numpy.sum``.

    Args:
        x: the tensor.
        axis: axis or axes to reduce (``dim`` is PyTorch's name for it; pass one).
        keepdims: keep the reduced axes with length 1 (``keepdim`` is PyTorch's name).

    Shape:
        x: any; output: x's shape without the reduced axes (or with them as 1).
    """
    axis, keepdims = pick_axis(axis, dim, "sum"), pick_keepdims(keepdims, keepdim, "sum")
    return Sum(axis, keepdims)(x)


def mean(
    x: Any, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Arithmetic mean over ``axis`` (or ``dim``), as ``numpy.mean``; NaN over nothing.

    Shape:
        x: any; output: x's shape without the reduced axes (or with them as 1).
    """
    axis, keepdims = pick_axis(axis, dim, "mean"), pick_keepdims(keepdims, keepdim, "mean")
    return Mean(axis, keepdims)(x)


def _extreme(cls: type, x: Any, axis: Any, keepdims: bool, dim: Any, keepdim: Any) -> Any:
    name = cls.name
    if isinstance(axis, Tensor):  # torch.max(a, b): the elementwise maximum
        from .math import maximum, minimum

        return maximum(x, axis) if cls is Max else minimum(x, axis)
    keepdims = pick_keepdims(keepdims, keepdim, name)
    if dim is None:
        return cls(axis, keepdims)(x)
    if axis is not None:
        raise TypeError(f"{name}: got both axis={axis!r} and dim={dim!r}; pass one of them")
    if isinstance(dim, tuple | list):
        raise TypeError(f"{name}: dim must be one int (as torch.{name}); use axis= for a tuple")
    from .index import values_at_extreme

    return MaxMin(*values_at_extreme(x, dim, keepdims, cls is Max))


def max(  # noqa: A001
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: int | None = None,
    keepdim: bool | None = None,
) -> Any:
    """Maximum over ``axis``; the gradient goes to the maximal elements (split on ties).

    With ``dim=`` (PyTorch's form, one int) it returns ``(values, indices)`` as
    ``torch.max(x, dim)`` does, the gradient going to the first maximal element of each
    slice only; with a tensor as second argument it is ``maximum``.
    Reducing a size-0 axis raises an error naming it.

    Shape:
        x: any; output: x's shape without the reduced axes (or with them as 1).
    """
    return _extreme(Max, x, axis, keepdims, dim, keepdim)


def min(  # noqa: A001
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: int | None = None,
    keepdim: bool | None = None,
) -> Any:
    """Minimum over ``axis``; the gradient goes to the minimal elements (split on ties).

    With ``dim=`` it returns ``(values, indices)`` as ``torch.min(x, dim)``; with a tensor
    as second argument it is ``minimum``.

    Shape:
        x: any; output: x's shape without the reduced axes (or with them as 1).
    """
    return _extreme(Min, x, axis, keepdims, dim, keepdim)


def _ddof(ddof: float, correction: float | None, unbiased: bool | None, op: str) -> float:
    given = [v is not None for v in (correction, unbiased)]
    if given.count(True) > 1 or (any(given) and ddof != 0):
        raise TypeError(f"{op}: pass one of ddof, correction and unbiased")
    if correction is not None:
        return correction
    if unbiased is not None:
        return 1 if unbiased else 0
    return ddof


def var(
    x: Any, axis: Axis = None, keepdims: bool = False, ddof: float = 0, *, dim: Axis = None,
    keepdim: bool | None = None, correction: float | None = None, unbiased: bool | None = None,
) -> Tensor:
    """Variance over ``axis`` (or ``dim``).

    The population variance (``ddof=0``, NumPy's default) unless ``ddof`` is given, or
    PyTorch's ``correction=`` (its default is 1: pass it to match ``torch.var``) or
    ``unbiased=``. NaN when no degrees of freedom are left.

    Shape:
        x: any; output: x's shape without the reduced axes (or with them as 1).
    """
    axis, keepdims = pick_axis(axis, dim, "var"), pick_keepdims(keepdims, keepdim, "var")
    return Var(axis, keepdims, _ddof(ddof, correction, unbiased, "var"))(x)


def std(
    x: Any, axis: Axis = None, keepdims: bool = False, ddof: float = 0, *, dim: Axis = None,
    keepdim: bool | None = None, correction: float | None = None, unbiased: bool | None = None,
) -> Tensor:
    """Standard deviation, ``sqrt(var(x, ...))``, with the same arguments as :func:`var`.

    Shape:
        x: any; output: x's shape without the reduced axes (or with them as 1).
    """
    axis, keepdims = pick_axis(axis, dim, "std"), pick_keepdims(keepdims, keepdim, "std")
    return Std(axis, keepdims, _ddof(ddof, correction, unbiased, "std"))(x)


def logsumexp(
    x: Any, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """log(sum(exp(x))) over ``axis`` (or ``dim``), max-shifted so it never overflows;
    -inf over a size-0 axis.

    Shape:
        x: any; output: x's shape without the reduced axes (or with them as 1).
    """
    axis = pick_axis(axis, dim, "logsumexp")
    keepdims = pick_keepdims(keepdims, keepdim, "logsumexp")
    return LogSumExp(axis, keepdims)(x)

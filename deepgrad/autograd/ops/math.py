"""Elementwise math and activations: exp, log, sqrt, abs, clip, where, tanh, sigmoid, relu,
softmax, log_softmax, ... All numerically stable for inputs of magnitude 1e4."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _accel
from ...backend import get_array_module, sum_to
from ..function import Function
from ..tensor import Tensor
from ._args import pick_axis
from .clamp import clamp, clip

__all__ = [
    "exp", "log", "log1p", "sqrt", "square", "abs", "maximum", "minimum", "clip", "clamp",
    "where",
    "tanh", "sigmoid", "relu", "leaky_relu", "softmax", "log_softmax", "cast",
]


class Exp(Function):
    def forward(self, x: Any) -> Any:
        y = get_array_module(x).exp(x)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy: Any) -> Any:
        return gy * self.y  # d exp = exp


class Log(Function):
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy: Any) -> Any:
        return gy / self.x  # d log x = 1/x


class Log1p(Function):
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).log1p(x)

    def backward(self, gy: Any) -> Any:
        return gy / (1 + self.x)  # d log(1+x) = 1/(1+x)


class Sqrt(Function):
    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy / (2 * self.y)  # d sqrt x = 1 / (2 sqrt x)


class Square(Function):
    def forward(self, x: Any) -> Any:
        self.x = x
        return x * x

    def backward(self, gy: Any) -> Any:
        return gy * (2 * self.x)  # d x^2 = 2x


class Abs(Function):
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, gy: Any) -> Any:
        return gy * get_array_module(gy).sign(self.x)  # d|x| = sign(x) (0 at 0)


class _MinMax(Function):
    take_max = True

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a, b)
        self.a, self.b = a, b
        return xp.maximum(a, b) if self.take_max else xp.minimum(a, b)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # gradient goes to the larger (smaller) operand; ties split it evenly
        a, b = self.a, self.b
        wins = (a > b) if self.take_max else (a < b)
        ties = a == b
        wa = wins + 0.5 * ties
        wa = wa.astype(gy.dtype, copy=False)
        na, nb = self.needs_input_grad
        return (
            sum_to(gy * wa, a.shape) if na else None,
            sum_to(gy * (1 - wa), b.shape) if nb else None,
        )


class Maximum(_MinMax):
    take_max = True


class Minimum(_MinMax):
    take_max = False


class Where(Function):
    def __init__(self, condition: Any) -> None:
        self.condition = condition

    def forward(self, x: Any, y: Any) -> Any:
        self.shapes = (x.shape, y.shape)
        return get_array_module(x, y).where(self.condition, x, y)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        c = self.condition
        nx, ny = self.needs_input_grad
        zero = xp.zeros((), dtype=gy.dtype)
        return (
            sum_to(xp.where(c, gy, zero), self.shapes[0]) if nx else None,
            sum_to(xp.where(c, zero, gy), self.shapes[1]) if ny else None,
        )


class Tanh(Function):
    def forward(self, x: Any) -> Any:
        y = get_array_module(x).tanh(x)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy: Any) -> Any:
        y = self.y
        return gy * (1 - y * y)  # d tanh = 1 - y^2


def _sigmoid(xp: Any, x: Any) -> Any:
    """Stable logistic function: exp is only ever taken of -|x| (no overflow)."""
    e = xp.exp(-xp.abs(x))
    d = 1 + e
    return xp.where(x >= 0, 1 / d, e / d)


class Sigmoid(Function):
    def forward(self, x: Any) -> Any:
        y = _sigmoid(get_array_module(x), x)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy: Any) -> Any:
        y = self.y
        return gy * (y * (1 - y))  # d sigma = sigma (1 - sigma)


class ReLU(Function):
    def forward(self, x: Any) -> Any:
        if _accel.takes(x):  # one compiled pass for the output and the mask (numba)
            y, mask = _accel.relu_forward(x, self.requires_grad)
            if self.requires_grad:
                self.mask = mask
            return y
        if self.requires_grad:
            self.mask = x > 0
        return get_array_module(x).maximum(x, 0)

    def backward(self, gy: Any) -> Any:
        # d relu = 1 where x > 0, else 0
        if _accel.takes(gy):
            return _accel.relu_backward(gy, self.mask)
        return gy * self.mask


class LeakyReLU(Function):
    def __init__(self, alpha: float) -> None:
        self.alpha = float(alpha)

    def forward(self, x: Any) -> Any:
        self.mask = x > 0
        return get_array_module(x).where(self.mask, x, x * self.alpha)

    def backward(self, gy: Any) -> Any:
        # d leaky_relu = 1 where x > 0, alpha elsewhere
        return get_array_module(gy).where(self.mask, gy, gy * self.alpha)


class Softmax(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        if x.size == 0:  # over an empty axis (or with empty batch axes): empty, as PyTorch
            self.y = x
            return xp.empty_like(x)
        y = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        y /= y.sum(axis=self.axis, keepdims=True)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy: Any) -> Any:
        # J = diag(y) - y y^T  =>  gx = y * (gy - sum(gy * y))
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        if x.size == 0:
            self.y = x
            return xp.empty_like(x)
        z = x - x.max(axis=self.axis, keepdims=True)
        y = z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy: Any) -> Any:
        # gx = gy - softmax(x) * sum(gy)
        xp = get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


class Cast(Function):
    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)

    def forward(self, x: Any) -> Any:
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy: Any) -> Any:
        return gy.astype(self.in_dtype)


def exp(x: Any) -> Tensor:
    """Elementwise e**x."""
    return Exp()(x)


def log(x: Any) -> Tensor:
    """Elementwise natural logarithm."""
    return Log()(x)


def log1p(x: Any) -> Tensor:
    """Elementwise log(1 + x), accurate for small x."""
    return Log1p()(x)


def sqrt(x: Any) -> Tensor:
    """Elementwise square root."""
    return Sqrt()(x)


def square(x: Any) -> Tensor:
    """Elementwise x**2."""
    return Square()(x)


def abs(x: Any) -> Tensor:  # noqa: A001 - NumPy's name
    """Elementwise |x|; its gradient is sign(x) (0 at 0)."""
    return Abs()(x)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum with broadcasting; on ties the gradient is split evenly."""
    return Maximum()(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum with broadcasting; on ties the gradient is split evenly."""
    return Minimum()(a, b)


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Elements of ``x`` where ``condition`` is true, else of ``y`` (NumPy's and PyTorch's
    argument order); x and y may be tensors, arrays or numbers, and broadcast.

    ``condition`` is a boolean array or tensor (not differentiated). With ``condition``
    alone it returns a tuple of int64 index tensors, one per axis, as
    ``torch.where(condition)`` / ``numpy.nonzero``.

    Shape:
        condition, x, y: broadcastable; output: their broadcast shape.
    """
    c = condition.data if isinstance(condition, Tensor) else condition
    if x is None and y is None:
        xp = get_array_module(c)
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in xp.nonzero(xp.asarray(c)))
    if x is None or y is None:
        raise TypeError("where: pass both x and y, or only the condition")
    if getattr(c, "dtype", None) is None:
        c = np.asarray(c)
    if c.dtype.kind != "b":
        raise TypeError(f"where: condition must be boolean, got dtype {c.dtype}")
    return Where(c)(x, y)


def tanh(x: Any) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return Tanh()(x)


def sigmoid(x: Any) -> Tensor:
    """Elementwise logistic function 1 / (1 + e**-x), computed without overflow.

    Finite, with finite gradient, for any finite input (|x| = 1e4 included).
    """
    return Sigmoid()(x)


def relu(x: Any) -> Tensor:
    """Elementwise max(x, 0)."""
    return ReLU()(x)


def leaky_relu(x: Any, alpha: float = 0.01) -> Tensor:
    """Elementwise x for x > 0, alpha * x otherwise."""
    return LeakyReLU(alpha)(x)


def _softmax_args(x: Any, axis: Any, dim: Any, dtype: Any, op: str) -> tuple[Any, int]:
    from ._args import canon_axis
    from .shape import _ndim

    axis = pick_axis(axis, dim, op, default=-1)
    if dtype is not None:
        x = cast(x, dtype)
    return x, canon_axis(axis, _ndim(x), op) if _ndim(x) else None


def softmax(x: Any, axis: int = -1, *, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis`` (or ``dim``), max-shifted so it never overflows.

    Args:
        x: the tensor.
        axis: the axis that sums to 1 (``dim`` is PyTorch's name for it; pass one).
        dtype: cast ``x`` to this dtype first (as PyTorch's ``dtype=``).

    Shape:
        x: any; output: same as x, summing to 1 along ``axis`` (empty when x is empty).
    """
    x, axis = _softmax_args(x, axis, dim, dtype, "softmax")
    return Softmax(axis)(x)


def log_softmax(x: Any, axis: int = -1, *, dim: int | None = None, dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``axis`` (or ``dim``), computed as x - max - log(sum(exp(x -
    max))): finite for any finite input, unlike log(softmax(x)).

    Args:
        x: the tensor.
        axis: the axis to normalize over (``dim`` is PyTorch's name for it; pass one).
        dtype: cast ``x`` to this dtype first (as PyTorch's ``dtype=``).

    Shape:
        x: any; output: same as x.
    """
    x, axis = _softmax_args(x, axis, dim, dtype, "log_softmax")
    return LogSoftmax(axis)(x)


def cast(x: Any, dtype: Any) -> Tensor:
    """``x`` converted to ``dtype``; the gradient is converted back."""
    return Cast(dtype)(x)

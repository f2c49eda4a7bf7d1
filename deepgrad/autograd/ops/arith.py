"""Elementwise arithmetic with broadcasting: + - * / ** and negation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import get_array_module, sum_to
from ..function import Function
from ..tensor import Tensor

__all__ = ["add", "sub", "mul", "div", "neg", "pow"]


class Add(Function):
    def forward(self, a: Any, b: Any) -> Any:
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d(a + b) = da + db
        na, nb = self.needs_input_grad
        sa, sb = self.shapes
        return (sum_to(gy, sa) if na else None, sum_to(gy, sb) if nb else None)


class AddScaled(Function):
    """``a + alpha * b`` for a constant ``alpha`` (``torch.add(a, b, alpha=)``)."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def forward(self, a: Any, b: Any) -> Any:
        self.shapes = (a.shape, b.shape)
        alpha = b.dtype.type(self.alpha) if b.dtype.kind == "f" else self.alpha
        return a + alpha * b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d(a + alpha b) = da + alpha db
        na, nb = self.needs_input_grad
        sa, sb = self.shapes
        return (sum_to(gy, sa) if na else None,
                sum_to(gy * gy.dtype.type(self.alpha), sb) if nb else None)


class Sub(Function):
    def forward(self, a: Any, b: Any) -> Any:
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d(a - b) = da - db
        na, nb = self.needs_input_grad
        sa, sb = self.shapes
        return (sum_to(gy, sa) if na else None, sum_to(-gy, sb) if nb else None)


class Mul(Function):
    def forward(self, a: Any, b: Any) -> Any:
        if self.requires_grad:
            self.a, self.b = a, b
        return a * b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d(a b) = b da + a db
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        return (
            sum_to(gy * b, a.shape) if na else None,
            sum_to(gy * a, b.shape) if nb else None,
        )


class Div(Function):
    def forward(self, a: Any, b: Any) -> Any:
        if self.requires_grad:
            self.a, self.b = a, b
        return a / b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d(a / b) = da / b - a db / b^2
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        ga = gy / b
        return (
            sum_to(ga, a.shape) if na else None,
            sum_to(-ga * a / b, b.shape) if nb else None,
        )


class DivRounded(Function):
    """``a / b`` rounded toward zero ("trunc") or down ("floor"); its gradient is zero
    almost everywhere, and PyTorch defines it as zero."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a, b)
        self.shapes = (a.shape, b.shape)
        if self.mode == "floor":
            with np.errstate(divide="ignore", invalid="ignore"):
                return xp.floor_divide(a, b)
        if a.dtype.kind in "iu" and b.dtype.kind in "iu":
            q = xp.floor_divide(a, b)  # integers: floor, then step toward zero
            return q + ((q < 0) & (q * b != a))
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.trunc(a / b)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        na, nb = self.needs_input_grad
        sa, sb = self.shapes
        return (xp.zeros(sa, dtype=gy.dtype) if na else None,
                xp.zeros(sb, dtype=gy.dtype) if nb else None)


class Neg(Function):
    def forward(self, x: Any) -> Any:
        return -x

    def backward(self, gy: Any) -> Any:
        return -gy


class PowScalar(Function):
    """x ** c for a constant Python number c."""

    def __init__(self, c: float) -> None:
        self.c = c

    def forward(self, x: Any) -> Any:
        self.x = x
        return x**self.c

    def backward(self, gy: Any) -> Any:
        # d x^c = c x^(c-1) dx
        c = self.c
        if c == 2:
            return gy * (2 * self.x)
        return gy * (c * self.x ** (c - 1))


class Pow(Function):
    """a ** b with both operands tensors."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d a^b = b a^(b-1) da + a^b log(a) db
        xp = get_array_module(gy)
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        ga = sum_to(gy * b * a ** (b - 1), a.shape) if na else None
        gb = None
        if nb:
            with np.errstate(divide="ignore", invalid="ignore"):
                la = xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), xp.nan)
            gb = sum_to(gy * self.y * la, b.shape)
        return ga, gb


def _alpha(alpha: Any, op: str) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.integer | np.floating):
        raise TypeError(f"{op}: alpha must be a number, got {alpha!r}")
    return alpha


def add(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """Elementwise ``a + alpha * b`` with broadcasting (``alpha`` as ``torch.add``).

    Shape:
        a, b: broadcastable; output: their broadcast shape.
    """
    if _alpha(alpha, "add") == 1:
        return Add()(a, b)
    return AddScaled(alpha)(a, b)


def sub(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """Elementwise ``a - alpha * b`` with broadcasting (``alpha`` as ``torch.sub``).

    Shape:
        a, b: broadcastable; output: their broadcast shape.
    """
    if _alpha(alpha, "sub") == 1:
        return Sub()(a, b)
    return AddScaled(-alpha)(a, b)


def mul(a: Any, b: Any) -> Tensor:
    """Elementwise ``a * b`` with broadcasting."""
    return Mul()(a, b)


def div(a: Any, b: Any, *, rounding_mode: str | None = None) -> Tensor:
    """Elementwise ``a / b`` with broadcasting.

    Args:
        a, b: dividend and divisor.
        rounding_mode: None (true division), "trunc" (round toward zero) or "floor"
            (round down, Python's ``//``), as ``torch.div``; the rounded forms have a zero
            gradient.

    Shape:
        a, b: broadcastable; output: their broadcast shape.
    """
    if rounding_mode is None:
        return Div()(a, b)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', "
                         f"got {rounding_mode!r}")
    return DivRounded(rounding_mode)(a, b)


def neg(x: Any) -> Tensor:
    """Elementwise ``-x``."""
    return Neg()(x)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - NumPy's name
    """Elementwise ``a ** b``. A Python-number exponent is a constant (``x ** 2``).

    The gradient with respect to a tensor exponent ``b`` is ``a**b * log(a)``, defined
    for ``a > 0`` (NaN elsewhere, as in NumPy).
    """
    if isinstance(b, int | float | np.integer | np.floating) and not isinstance(b, bool):
        return PowScalar(float(b) if not float(b).is_integer() else int(b))(a)
    return Pow()(a, b)

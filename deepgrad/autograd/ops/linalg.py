"""Matrix products."""

from __future__ import annotations

from typing import Any

from ...backend import sum_to
from ..function import Function
from ..tensor import Tensor

__all__ = ["matmul"]


class MatMul(Function):
    """``a @ b`` for 2-D or batched (broadcast leading axes) operands."""

    def forward(self, a: Any, b: Any) -> Any:
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError("MatMul needs operands with at least 2 dimensions")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} don't align "
                f"({a.shape[-1]} != {b.shape[-2]})"
            )
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d(a b) = da b + a db  =>  ga = gy b^T, gb = a^T gy
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        ga = sum_to(gy @ b.swapaxes(-1, -2), a.shape) if na else None
        gb = sum_to(a.swapaxes(-1, -2) @ gy, b.shape) if nb else None
        return ga, gb


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product ``a @ b`` with NumPy's rules: 2-D, batched (leading axes
    broadcast), and 1-D operands (a vector is promoted, then its axis removed).

    Shape:
        a: (..., n, k), b: (..., k, m) -> (..., n, m)
    """
    from .shape import reshape

    a_vec = getattr(a, "ndim", None) == 1
    b_vec = getattr(b, "ndim", None) == 1
    if a_vec:
        a = reshape(a, (1, -1))
    if b_vec:
        b = reshape(b, (-1, 1))
    y = MatMul()(a, b)
    if a_vec and b_vec:
        return reshape(y, ())
    if a_vec:
        return reshape(y, y.shape[:-2] + y.shape[-1:])
    if b_vec:
        return reshape(y, y.shape[:-1])
    return y

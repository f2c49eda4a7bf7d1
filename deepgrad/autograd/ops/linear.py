"""The fused dense layer: y = x W^T + b as one op with a hand-written backward."""

from __future__ import annotations

from typing import Any

from ..function import Function
from ..tensor import Tensor

__all__ = ["linear"]


class Linear(Function):
    def forward(self, x: Any, W: Any, b: Any = None) -> Any:
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = x2 @ W.T
        if b is not None:
            y += b
        if self.requires_grad:
            self.x2, self.W, self.lead = x2, W, lead
        return y.reshape(*lead, W.shape[0]) if x.ndim != 2 else y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # y = x W^T + b  =>  gx = gy W,  gW = gy^T x,  gb = sum over the batch of gy
        need = self.needs_input_grad
        gy2 = gy.reshape(-1, gy.shape[-1]) if gy.ndim != 2 else gy
        gx = gW = gb = None
        if need[0]:
            gx = (gy2 @ self.W).reshape(*self.lead, self.W.shape[1])
        if need[1]:
            gW = gy2.T @ self.x2
        if len(need) > 2 and need[2]:
            gb = gy2.sum(axis=0)
        return (gx, gW, gb) if len(need) > 2 else (gx, gW)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """``x @ weight.T + bias`` as one fused op (PyTorch's ``F.linear``).

    Shape:
        x: (..., in), weight: (out, in), bias: (out,) -> (..., out)
    """
    if bias is None:
        return Linear()(x, weight)
    return Linear()(x, weight, bias)

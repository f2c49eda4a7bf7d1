"""More fused activations with hand-written backward: ReLU6, Hardsigmoid, Hardswish, Mish
(MobileNet's and YOLO's) and PReLU (a learned negative slope per channel).

Gradients at the kinks are PyTorch's (ReLU6: 0 at 0 and 6; Hardsigmoid: 1/6 strictly inside
(-3, 3); Hardswish: x/3 + 1/2 strictly inside (-3, 3), 0 at -3, 1 at 3; PReLU: the slope at x = 0).
"""

from __future__ import annotations

from typing import Any

from ...backend import get_array_module, sum_to
from ..function import Function
from ..tensor import Tensor
from .activations import Hardtanh
from .math import _sigmoid

__all__ = ["relu6", "hardsigmoid", "hardswish", "mish", "prelu"]


class Hardsigmoid(Function):
    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        if self.requires_grad:
            self.inside = (x > -3) & (x < 3)
        return xp.clip(x / x.dtype.type(6) + x.dtype.type(0.5), 0, 1)

    def backward(self, gy: Any) -> Any:
        # d hardsigmoid = 1/6 strictly inside (-3, 3), 0 elsewhere
        return gy * self.inside / gy.dtype.type(6)


class Hardswish(Function):
    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        if self.requires_grad:
            self.x = x
        return x * xp.clip(x + x.dtype.type(3), 0, 6) / x.dtype.type(6)

    def backward(self, gy: Any) -> Any:
        # d hardswish = 0 for x <= -3, x/3 + 1/2 strictly inside (-3, 3), 1 for x >= 3
        xp = get_array_module(gy)
        x = self.x
        dt = gy.dtype.type
        mid = xp.where(x < 3, x / dt(3) + dt(0.5), dt(1))
        return gy * xp.where(x <= -3, dt(0), mid)


class Mish(Function):
    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        sp = xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # softplus, never overflows
        t = xp.tanh(sp)
        if self.requires_grad:
            self.x, self.t = x, t
        return x * t

    def backward(self, gy: Any) -> Any:
        # d mish = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2), sp = softplus(x)
        xp = get_array_module(gy)
        x, t = self.x, self.t
        return gy * (t + x * _sigmoid(xp, x) * (1 - t * t))


class PReLU(Function):
    def forward(self, x: Any, w: Any) -> Any:
        xp = get_array_module(x)
        wb = w.reshape((1, -1) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else w.reshape(())
        neg = xp.minimum(x, 0)
        if self.requires_grad:
            self.pos, self.neg, self.wb, self.wshape = x > 0, neg, wb, w.shape
        return xp.maximum(x, 0) + wb * neg

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d/dx = 1 for x > 0, w otherwise; d/dw = Σ gy·min(x, 0) over all but the channels
        xp = get_array_module(gy)
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = xp.where(self.pos, gy, gy * self.wb)
        if self.needs_input_grad[1]:
            gw = sum_to(gy * self.neg, self.wb.shape).reshape(self.wshape)
        return gx, gw


def relu6(x: Any) -> Tensor:
    """min(max(x, 0), 6) (MobileNet's), as ``hardtanh(x, 0, 6)``.

    Shape:
        x: any; output: same as x.
    """
    return Hardtanh(0.0, 6.0)(x)


def hardsigmoid(x: Any) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between.

    Shape:
        x: any; output: same as x.
    """
    return Hardsigmoid()(x)


def hardswish(x: Any) -> Tensor:
    """x · relu6(x + 3) / 6 (MobileNetV3's).

    Shape:
        x: any; output: same as x.
    """
    return Hardswish()(x)


def mish(x: Any) -> Tensor:
    """x · tanh(softplus(x)) (Misra, 2019), finite for any finite x.

    Shape:
        x: any; output: same as x.
    """
    return Mish()(x)


def prelu(x: Any, weight: Any) -> Tensor:
    """max(0, x) + weight · min(0, x) with a learned slope per channel (dimension 1), or
    one slope for every element, as ``torch.nn.functional.prelu``.

    Args:
        x: input; channels along dimension 1 (an input of fewer than 2 dimensions has one
            channel).
        weight: the slopes, shape (1,) or (C,).

    Shape:
        x: (N, C, *), (N, C) or any shape with a (1,) weight; weight: (C,) or (1,);
        output: same as x.
    """
    w_shape, x_shape = tuple(weight.shape), tuple(x.shape)
    c = x_shape[1] if len(x_shape) >= 2 else 1
    if len(w_shape) != 1 or w_shape[0] not in (1, c):
        raise ValueError(f"prelu: weight must have shape (1,) or ({c},) (one slope per "
                         f"channel of dimension 1) for an input of shape {x_shape}, got "
                         f"{w_shape}")
    return PReLU()(x, weight)

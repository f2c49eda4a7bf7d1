"""Loss modules: thin wrappers around ``deepgrad.losses`` holding the options."""

from __future__ import annotations

from typing import Any

from .. import losses as F
from ..autograd.tensor import Tensor
from .module import Module

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss",
    "HuberLoss",
]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (see ``losses.binary_cross_entropy``).

    Shape:
        input (*) in [0, 1], target (*) in [0, 1] -> scalar, or (*) for "none".
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, fused and stable (see
    ``losses.binary_cross_entropy_with_logits``).

    Shape:
        input (*) logits, target (*) in [0, 1] -> scalar, or (*) for "none".
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on logits with integer or probability targets (see
    ``losses.cross_entropy``).

    Shape:
        input (N, C) logits, target (N,) labels or (N, C) probabilities -> scalar or (N,).
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1), got "
                             f"{label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.label_smoothing, self.reduction)

    def extra_repr(self) -> str:
        return super().extra_repr() + (
            f", label_smoothing={self.label_smoothing}" if self.label_smoothing else "")


class NLLLoss(_Loss):
    """Negative log-likelihood on log-probabilities (see ``losses.nll_loss``).

    Shape:
        input (N, C) log-probabilities, target (N,) labels -> scalar, or (N,) for "none".
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.reduction)


class MSELoss(_Loss):
    """Mean squared error (see ``losses.mse_loss``).

    Shape:
        input (*), target (*) -> scalar, or (*) for "none".
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error (see ``losses.l1_loss``).

    Shape:
        input (*), target (*) -> scalar, or (*) for "none".
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta`` (see ``losses.huber_loss``).

    Shape:
        input (*), target (*) -> scalar, or (*) for "none".
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta}")
        self.delta = float(delta)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.huber_loss(input, target, self.reduction, self.delta)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", delta={self.delta}"

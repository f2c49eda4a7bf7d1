"""Loss modules: thin wrappers around ``deepgrad.losses`` holding the options."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import losses as F
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype, to_numpy
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

    Args:
        reduction: "mean", "sum" or "none".
        pos_weight: weight of the positive term, broadcast against the input (e.g. one per
            class, shape (C,)); kept as a buffer (``state_dict`` key ``"pos_weight"``).

    Shape:
        input (*) logits, target (*) in [0, 1] -> scalar, or (*) for "none".
    """

    def __init__(self, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        if pos_weight is not None and not isinstance(pos_weight, Tensor):
            pos_weight = np.asarray(pos_weight, dtype=get_default_dtype())
        self.register_buffer("pos_weight", pos_weight)  # a buffer, as in torch

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.reduction,
                                                  pos_weight=self.pos_weight)

    def get_config(self) -> dict[str, Any]:
        pw = self.pos_weight
        return {"reduction": self.reduction,
                "pos_weight": None if pw is None else to_numpy(pw.data).tolist()}


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on logits with integer or probability targets (see
    ``losses.cross_entropy``).

    Args:
        reduction: "mean", "sum" or "none".
        label_smoothing: ε in [0, 1), as PyTorch.
        axis: the class axis; -1 by default, 1 for PyTorch's (N, C, d1, ...) layout.

    Shape:
        input (N, C) logits, target (N,) labels or (N, C) probabilities -> scalar or (N,).
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0,
                 axis: int = -1) -> None:
        super().__init__(reduction)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1), got "
                             f"{label_smoothing}")
        self.label_smoothing = float(label_smoothing)
        self.axis = int(axis)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.label_smoothing, self.reduction, self.axis)

    def extra_repr(self) -> str:
        return super().extra_repr() + (
            f", label_smoothing={self.label_smoothing}" if self.label_smoothing else "") + (
            f", axis={self.axis}" if self.axis != -1 else "")


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

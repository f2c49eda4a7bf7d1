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


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


def _float_buffer(value: Any) -> Any:
    """A weight given as a list or array becomes a float array (a float array keeps its
    dtype: the loss casts it to the input's); Tensors and None pass through."""
    if value is None or isinstance(value, Tensor):
        return value
    float_array = isinstance(value, np.ndarray) and value.dtype.kind == "f"
    return np.asarray(value, dtype=None if float_array else get_default_dtype())


def _listed(t: Any) -> Any:
    return None if t is None else to_numpy(t.data).tolist()


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (see ``losses.binary_cross_entropy``).

    Args:
        reduction: "mean", "sum" or "none".
        weight: optional rescaling of each element's loss, broadcast against the input;
            kept as a buffer (``state_dict`` key ``"weight"``, as in torch).

    Shape:
        input (*) in [0, 1], target (*) in [0, 1] -> scalar, or (*) for "none".
    """

    def __init__(self, reduction: str = "mean", *, weight: Any = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _float_buffer(weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.reduction, weight=self.weight)

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "weight": _listed(self.weight)}


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, fused and stable (see
    ``losses.binary_cross_entropy_with_logits``).

    Args:
        reduction: "mean", "sum" or "none".
        pos_weight: weight of the positive term, broadcast against the input (e.g. one per
            class, shape (C,)); kept as a buffer (``state_dict`` key ``"pos_weight"``).
        weight: optional rescaling of each element's loss, broadcast against the input;
            a buffer too (key ``"weight"``).

    Shape:
        input (*) logits, target (*) in [0, 1] -> scalar, or (*) for "none".
    """

    def __init__(self, reduction: str = "mean", pos_weight: Any = None, *,
                 weight: Any = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _float_buffer(weight))  # buffers, as in torch
        self.register_buffer("pos_weight", _float_buffer(pos_weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.reduction,
                                                  pos_weight=self.pos_weight,
                                                  weight=self.weight)

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "pos_weight": _listed(self.pos_weight),
                "weight": _listed(self.weight)}


def _class_axis(axis: int | None, ndim: int) -> int:
    """The class axis: ``axis`` if given, else PyTorch's (1, or 0 for an unbatched (C,))."""
    if axis is not None:
        return axis
    return 1 if ndim >= 2 else 0


class _ClassLoss(_Loss):
    """Options shared by CrossEntropyLoss and NLLLoss: weight (a buffer, as in torch),
    ignore_index and the class axis."""

    def __init__(self, reduction: str, axis: int | None, weight: Any,
                 ignore_index: int) -> None:
        super().__init__(reduction)
        weight = _float_buffer(weight)
        if weight is not None and weight.ndim != 1:
            raise ValueError(f"{type(self).__name__}: weight must be 1-D (one value per "
                             f"class), got shape {tuple(weight.shape)}")
        self.register_buffer("weight", weight)
        self.ignore_index = int(ignore_index)
        self.axis = None if axis is None else int(axis)

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "axis": self.axis, "ignore_index": self.ignore_index,
                "weight": _listed(self.weight)}

    def extra_repr(self) -> str:
        ls = getattr(self, "label_smoothing", 0.0)
        return super().extra_repr() + (f", label_smoothing={ls}" if ls else "") + (
            f", ignore_index={self.ignore_index}" if self.ignore_index != -100 else "") + (
            f", axis={self.axis}" if self.axis is not None else "")


class CrossEntropyLoss(_ClassLoss):
    """Softmax cross-entropy on logits with integer or probability targets (see
    ``losses.cross_entropy``), in PyTorch's layout: classes along dimension 1.

    Args:
        reduction: "mean", "sum" or "none".
        label_smoothing: ε in [0, 1), as PyTorch.
        axis: the class axis; None (default) is PyTorch's: 1 for inputs of two or more
            dimensions, 0 for one unbatched example. -1 gives Keras's classes-last layout.
        weight: optional (C,) weight of each class (a buffer, as in torch).
        ignore_index: label value that adds nothing to the loss or the mean (torch's -100).

    Shape:
        input (N, C) or (N, C, d1, ...) logits, or (C,); target (N,) / (N, d1, ...) labels
        (a 0-d label for (C,)), or probabilities of the input's shape -> scalar, or the
        target's batch shape for "none".
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0,
                 axis: int | None = None, *, weight: Any = None,
                 ignore_index: int = -100) -> None:
        super().__init__(reduction, axis, weight, ignore_index)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1), got "
                             f"{label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.label_smoothing, self.reduction,
                               _class_axis(self.axis, np.ndim(_data(input))),
                               weight=self.weight, ignore_index=self.ignore_index)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class NLLLoss(_ClassLoss):
    """Negative log-likelihood on log-probabilities (see ``losses.nll_loss``), in PyTorch's
    layout: classes along dimension 1.

    Args:
        reduction: "mean" (divided by the summed target weights), "sum" or "none".
        axis: the class axis; None (default) is PyTorch's (1, or 0 for a (C,) input).
        weight: optional (C,) weight of each class (a buffer, as in torch).
        ignore_index: label value that adds nothing to the loss or the mean (torch's -100).

    Shape:
        input (N, C) or (N, C, d1, ...) log-probabilities, or (C,); target (N,) /
        (N, d1, ...) labels (0-d for (C,)) -> scalar, or the target's shape for "none".
    """

    def __init__(self, reduction: str = "mean", axis: int | None = None, *,
                 weight: Any = None, ignore_index: int = -100) -> None:
        super().__init__(reduction, axis, weight, ignore_index)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.reduction,
                          _class_axis(self.axis, np.ndim(_data(input))),
                          weight=self.weight, ignore_index=self.ignore_index)


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

"""Regression losses: MSE, MAE, Huber, and the course's L1 / L2."""

from __future__ import annotations

from typing import Any

from ..autograd.ops.math import abs, minimum
from ..autograd.tensor import Tensor
from ._common import _check_reduction, _reduce, _target_like, _tensor

__all__ = ["mse_loss", "l1_loss", "huber_loss", "L1", "L2"]


def _diff(name: str, input: Any, target: Any, reduction: str) -> Tensor:
    _check_reduction(name, reduction)
    x = _tensor(input)
    return x - _target_like(name, x, target)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (x - t)².

    Shape:
        input: (*); target: same shape; output: scalar, or (*) for ``reduction="none"``.
    """
    d = _diff("mse_loss", input, target, reduction)
    return _reduce(d * d, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error |x - t| (MAE).

    Shape:
        input: (*); target: same shape; output: scalar, or (*) for ``reduction="none"``.
    """
    return _reduce(abs(_diff("l1_loss", input, target, reduction)), reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: ½ d² where |d| ≤ delta, delta (|d| - ½ delta) elsewhere (d = x - t).

    Shape:
        input: (*); target: same shape; output: scalar, or (*) for ``reduction="none"``.
    """
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    a = abs(_diff("huber_loss", input, target, reduction))
    quad = minimum(a, float(delta))
    return _reduce(0.5 * quad * quad + float(delta) * (a - quad), reduction)


def L1(yhat: Any, y: Any, reduction: str = "sum") -> Tensor:  # noqa: N802 - the course's name
    """The course's L1 loss: Σ |y - yhat| (``reduction="sum"`` by default).

    Shape:
        yhat: (*); y: same shape; output: scalar, or (*) for ``reduction="none"``.
    """
    return _reduce(abs(_diff("L1", yhat, y, reduction)), reduction)


def L2(yhat: Any, y: Any, reduction: str = "sum") -> Tensor:  # noqa: N802 - the course's name
    """The course's L2 loss: Σ (y - yhat)² (``reduction="sum"`` by default).

    Shape:
        yhat: (*); y: same shape; output: scalar, or (*) for ``reduction="none"``.
    """
    d = _diff("L2", yhat, y, reduction)
    return _reduce(d * d, reduction)

"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import functional as F
from .optimizer import Optimizer, _check_nonneg

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Gradient descent: full-batch, mini-batch or stochastic, as the batch size decides.

    Update rule (PyTorch's), for each parameter θ with gradient ∇:

    .. code-block:: text

        g = ∇ (−∇ if maximize) + weight_decay · θ
        if momentum ≠ 0:
            b = g                              on the first step
            b = momentum · b + (1 − dampening) · g   afterwards
            g = g + momentum · b   if nesterov   else   g = b
        θ = θ − lr · g

    Args:
        params: parameters or dicts of parameter groups.
        lr: learning rate (PyTorch's default 1e-3).
        momentum: momentum factor μ.
        dampening: dampening τ of the momentum.
        weight_decay: L2 penalty λ (added to the gradient).
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        for name in ("lr", "momentum", "weight_decay"):
            _check_nonneg(group, name)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("nesterov momentum requires a momentum > 0 and zero dampening")

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        momentum = float(group["momentum"])
        buf = F.sgd_step(
            param,
            grad,
            state.get("momentum_buffer"),
            lr=float(group["lr"]),
            momentum=momentum,
            dampening=float(group["dampening"]),
            nesterov=bool(group["nesterov"]),
            weight_decay=float(group["weight_decay"]),
            maximize=bool(group["maximize"]),
            work=state.setdefault("_work", []),
        )
        if momentum != 0:
            state["momentum_buffer"] = buf

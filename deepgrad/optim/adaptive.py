"""Adaptive-rate optimizers: Adagrad, Adadelta, RMSprop, Adam and AdamW (PyTorch's rules)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _accel
from ..backend import get_array_module
from . import functional as F
from .optimizer import Optimizer, _check_nonneg, _check_unit

__all__ = ["Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW"]


def _zeros_like(param: Any, fill: float = 0.0) -> Any:
    xp = get_array_module(param)
    return xp.full_like(param, fill) if fill else xp.zeros_like(param)


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011).

    Update rule, for each parameter θ with gradient ∇, at step t = 1, 2, ...:

    .. code-block:: text

        g = ∇ (−∇ if maximize) + weight_decay · θ
        η = lr / (1 + (t − 1) · lr_decay)
        s = s + g²                      (s starts at initial_accumulator_value)
        θ = θ − η · g / (√s + eps)

    Args:
        params: parameters or dicts of parameter groups.
        lr: learning rate.
        lr_decay: learning-rate decay.
        weight_decay: L2 penalty (added to the gradient).
        initial_accumulator_value: starting value of the sum of squares.
        eps: term added to the denominator.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group; its sums of squares are created at once, as in PyTorch."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p, state in zip(group["params"], self.state[-1], strict=True):
            self._init_state(p.data, state, group)

    @staticmethod
    def _init_state(param: Any, state: dict[str, Any], group: dict) -> None:
        state["step"] = 0
        state["sum"] = _zeros_like(param, float(group["initial_accumulator_value"]))

    def _check_group(self, group: dict[str, Any]) -> None:
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _check_nonneg(group, name)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        if "sum" not in state:
            self._init_state(param, state, group)
        state["step"] = step = int(state["step"]) + 1
        F.adagrad_step(
            param,
            grad,
            state["sum"],
            step=step,
            lr=float(group["lr"]),
            lr_decay=float(group["lr_decay"]),
            weight_decay=float(group["weight_decay"]),
            eps=float(group["eps"]),
            maximize=bool(group["maximize"]),
            work=state.setdefault("_work", []),
        )


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012).

    Update rule, for each parameter θ with gradient ∇ (v and u start at zero):

    .. code-block:: text

        g = ∇ (−∇ if maximize) + weight_decay · θ
        v = rho · v + (1 − rho) · g²
        Δ = √(u + eps) / √(v + eps) · g
        u = rho · u + (1 − rho) · Δ²
        θ = θ − lr · Δ

    Args:
        params: parameters or dicts of parameter groups.
        lr: coefficient that scales Δ before it is applied.
        rho: decay rate of the running averages.
        eps: term added inside the square roots.
        weight_decay: L2 penalty (added to the gradient).
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay"):
            _check_nonneg(group, name)
        _check_unit(group, "rho", closed=True)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = _zeros_like(param)
            state["acc_delta"] = _zeros_like(param)
        state["step"] = int(state["step"]) + 1
        F.adadelta_step(
            param,
            grad,
            state["square_avg"],
            state["acc_delta"],
            lr=float(group["lr"]),
            rho=float(group["rho"]),
            eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]),
            maximize=bool(group["maximize"]),
            work=state.setdefault("_work", []),
        )


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e; centered form from Graves, 2013).

    Update rule, for each parameter θ with gradient ∇ (v, ḡ and b start at zero):

    .. code-block:: text

        g = ∇ (−∇ if maximize) + weight_decay · θ
        v = alpha · v + (1 − alpha) · g²
        if centered:  ḡ = alpha · ḡ + (1 − alpha) · g;   d = √(v − ḡ²) + eps
        else:         d = √v + eps
        if momentum > 0:  b = momentum · b + g / d;   θ = θ − lr · b
        else:             θ = θ − lr · g / d

    Args:
        params: parameters or dicts of parameter groups.
        lr: learning rate.
        alpha: smoothing constant of the squared-gradient average.
        eps: term added to the denominator (outside the square root).
        weight_decay: L2 penalty (added to the gradient).
        momentum: momentum factor.
        centered: normalize by an estimate of the gradient's variance.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay", "momentum", "alpha"):
            _check_nonneg(group, name)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = _zeros_like(param)
        momentum = float(group["momentum"])
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = _zeros_like(param)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = _zeros_like(param)
        state["step"] = int(state["step"]) + 1
        F.rmsprop_step(
            param,
            grad,
            state["square_avg"],
            state.get("momentum_buffer"),
            state["grad_avg"] if group["centered"] else None,
            lr=float(group["lr"]),
            alpha=float(group["alpha"]),
            eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]),
            momentum=momentum,
            maximize=bool(group["maximize"]),
            work=state.setdefault("_work", []),
        )


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with the AMSGrad variant (Reddi et al., 2018).

    Update rule, for each parameter θ with gradient ∇, at step t = 1, 2, ...
    (m, v and v̂ start at zero):

    .. code-block:: text

        g = ∇ (−∇ if maximize) + weight_decay · θ
        m = β₁ · m + (1 − β₁) · g
        v = β₂ · v + (1 − β₂) · g²
        v̂ = max(v̂, v)  and v̂ replaces v below            (amsgrad only)
        θ = θ − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)

    The update runs in place with preallocated scratch arrays: no allocation after the
    first step, and no float64 temporary for float32 parameters.

    Args:
        params: parameters or dicts of parameter groups.
        lr: learning rate.
        betas: (β₁, β₂), decay rates of the first and second moment averages.
        eps: term added to the denominator (outside the square root).
        weight_decay: L2 penalty (added to the gradient; see AdamW for decoupled decay).
        amsgrad: use the running maximum of v.
        maximize: maximize the objective instead of minimizing it.
        fused: one compiled vectorized pass per parameter (numba, ``deepgrad[fast]``):
            True requires it, False never uses it, None (default) uses it when numba is
            installed and the arrays allow it (C-contiguous NumPy float32/float64), from
            the first parameter of 4,096 elements on. The numbers are the same either way.
    """

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        if fused and not _accel.available():
            raise ImportError(f"{type(self).__name__}(fused=True): {_accel.unavailable_reason()}")
        self.fused = fused

    def _check_group(self, group: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay"):
            _check_nonneg(group, name)
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas} (expected two values)")
        _check_unit(group, "betas[0]", betas[0])
        _check_unit(group, "betas[1]", betas[1])

    def _init_state(self, param: Any, state: dict[str, Any], amsgrad: bool) -> None:
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = _zeros_like(param)
            state["exp_avg_sq"] = _zeros_like(param)
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = _zeros_like(param)

    def _update_group(self, todo: list[tuple[Any, Any, dict[str, Any]]], group: dict) -> None:
        # The compiled update of every parameter at once (_accel.adam_group_step: the same
        # kernel, so the same numbers) when they all take it and share a step count;
        # otherwise one update per parameter.
        amsgrad = bool(group["amsgrad"])
        if self.fused is not False and len(todo) > 1:
            keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else \
                ("exp_avg", "exp_avg_sq")
            for data, _, state in todo:
                self._init_state(data, state, amsgrad)
            p0, _, s0 = todo[0]
            step = s0["step"]
            if (all(s["step"] == step and _accel.qualifies(p, g, *(s[k] for k in keys))
                    and p.dtype == p0.dtype and p.flags.writeable and p.flags.aligned
                    for p, g, s in todo)
                    and (self.fused or _accel.auto_ready(sum(p.size for p, _, _ in todo)))):
                step = int(step) + 1
                for _, _, s in todo:
                    s["step"] = step
                beta1, beta2 = group["betas"]
                _accel.adam_group_step(
                    [p for p, _, _ in todo], [g for _, g, _ in todo],
                    [s["exp_avg"] for _, _, s in todo], [s["exp_avg_sq"] for _, _, s in todo],
                    [s["max_exp_avg_sq"] for _, _, s in todo] if amsgrad else None,
                    step=step, lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
                    eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                    amsgrad=amsgrad, maximize=bool(group["maximize"]),
                    decoupled_weight_decay=self._decoupled)
                return
        super()._update_group(todo, group)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        amsgrad = bool(group["amsgrad"])
        self._init_state(param, state, amsgrad)
        state["step"] = step = int(state["step"]) + 1
        beta1, beta2 = group["betas"]
        F.adam_step(
            param,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            state.get("max_exp_avg_sq"),
            step=step,
            lr=float(group["lr"]),
            beta1=float(beta1),
            beta2=float(beta2),
            eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]),
            amsgrad=amsgrad,
            maximize=bool(group["maximize"]),
            decoupled_weight_decay=self._decoupled,
            fused=self.fused,
            work=state.setdefault("_work", []),
        )


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Update rule: as Adam's with ``g = ∇`` (no L2 term in the gradient), preceded by the
    decay of the parameter itself:

    .. code-block:: text

        θ = θ · (1 − lr · weight_decay)
        m = β₁ · m + (1 − β₁) · g
        v = β₂ · v + (1 − β₂) · g²
        v̂ = max(v̂, v)  and v̂ replaces v below            (amsgrad only)
        θ = θ − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)

    Args:
        params: parameters or dicts of parameter groups.
        lr: learning rate.
        betas: (β₁, β₂), decay rates of the first and second moment averages.
        eps: term added to the denominator (outside the square root).
        weight_decay: decoupled weight decay coefficient (PyTorch's default 1e-2).
        amsgrad: use the running maximum of v.
        maximize: maximize the objective instead of minimizing it.
        fused: one compiled vectorized pass per parameter (numba, ``deepgrad[fast]``):
            True requires it, False never uses it, None (default) uses it when numba is
            installed and the arrays allow it (C-contiguous NumPy float32/float64), from
            the first parameter of 4,096 elements on. The numbers are the same either way.
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            fused=fused,
        )

"""The optimizers' update rules as pure functions on arrays, updating them in place.

Each ``*_step`` function takes the parameter array, its gradient and the arrays of state
it needs, and updates the parameter and the state in place (``out=`` ufuncs, so a float32
parameter never sees a float64 temporary: hyperparameters are Python floats). The
gradient is only read. The formulas, eps placement included, are PyTorch's.

``work`` is an optional list of scratch arrays the caller keeps between calls (the
optimizers keep one per parameter in its state); missing entries are allocated with the
parameter's shape, dtype and device and appended, so that after the first step no array
is allocated. Pass ``None`` to let each call allocate its own.

The same code runs on NumPy and CuPy arrays.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _accel
from ..backend import get_array_module

__all__ = [
    "sgd_step",
    "adagrad_step",
    "adadelta_step",
    "rmsprop_step",
    "adam_step",
]


def _scratch(work: list[Any] | None, i: int, like: Any) -> Any:
    """The ``i``-th scratch array of ``work``, allocated (like ``like``) on first use."""
    if work is None:
        return get_array_module(like).empty_like(like)
    while len(work) <= i:
        work.append(get_array_module(like).empty_like(like))
    return work[i]


def _effective_grad(
    xp: Any,
    param: Any,
    grad: Any,
    weight_decay: float,
    maximize: bool,
    work: list[Any] | None,
) -> tuple[Any, int]:
    """``g = ±grad + weight_decay * param`` and the index of the first free scratch array.

    Returns ``grad`` itself (never written to) when there is nothing to add.
    """
    if not maximize and weight_decay == 0:
        return grad, 0
    g = _scratch(work, 0, param)
    if weight_decay != 0:
        xp.multiply(param, weight_decay, out=g)
        if maximize:
            xp.subtract(g, grad, out=g)
        else:
            xp.add(grad, g, out=g)
    else:
        xp.negative(grad, out=g)
    return g, 1


def _add_scaled(xp: Any, param: Any, x: Any, alpha: float, tmp: Any) -> None:
    """``param += alpha * x`` through the scratch array ``tmp`` (which may be ``x``)."""
    xp.multiply(x, alpha, out=tmp)
    xp.add(param, tmp, out=param)


def sgd_step(
    param: Any,
    grad: Any,
    momentum_buffer: Any | None,
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    maximize: bool = False,
    work: list[Any] | None = None,
) -> Any | None:
    """One SGD step; returns the momentum buffer (created on the first step, else None).

    ``g = ±grad + λθ``; with momentum ``b = μb + (1 − τ)g`` (``b = g`` on the first
    step) and ``g = g + μb`` (Nesterov) or ``g = b``; then ``θ = θ − lr·g``.

    Shape:
        ``param``, ``grad`` and ``momentum_buffer`` share one shape and dtype.
    """
    xp = get_array_module(param)
    g, k = _effective_grad(xp, param, grad, weight_decay, maximize, work)
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = g.copy()
        else:
            xp.multiply(momentum_buffer, momentum, out=momentum_buffer)
            if dampening == 0:
                xp.add(momentum_buffer, g, out=momentum_buffer)
            else:
                t = _scratch(work, k, param)
                xp.multiply(g, 1.0 - dampening, out=t)
                xp.add(momentum_buffer, t, out=momentum_buffer)
        if nesterov:
            t = _scratch(work, k, param)
            xp.multiply(momentum_buffer, momentum, out=t)
            xp.add(g, t, out=t)
            g = t
        else:
            g = momentum_buffer
    tmp = _scratch(work, k, param) if g is grad or g is momentum_buffer else g
    _add_scaled(xp, param, g, -lr, tmp)
    return momentum_buffer


def adagrad_step(
    param: Any,
    grad: Any,
    state_sum: Any,
    *,
    step: int,
    lr: float,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    eps: float = 1e-10,
    maximize: bool = False,
    work: list[Any] | None = None,
) -> None:
    """One Adagrad step (``step`` counts from 1, this step included).

    ``g = ±grad + λθ``, ``η = lr / (1 + (step − 1)·lr_decay)``, ``s = s + g²``,
    ``θ = θ − η·g / (√s + ε)``.

    Shape:
        ``param``, ``grad`` and ``state_sum`` share one shape and dtype.
    """
    xp = get_array_module(param)
    g, k = _effective_grad(xp, param, grad, weight_decay, maximize, work)
    clr = lr / (1 + (step - 1) * lr_decay)
    t = _scratch(work, k, param)
    xp.multiply(g, g, out=t)
    xp.add(state_sum, t, out=state_sum)
    xp.sqrt(state_sum, out=t)
    xp.add(t, eps, out=t)
    xp.divide(g, t, out=t)
    _add_scaled(xp, param, t, -clr, t)


def adadelta_step(
    param: Any,
    grad: Any,
    square_avg: Any,
    acc_delta: Any,
    *,
    lr: float,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    maximize: bool = False,
    work: list[Any] | None = None,
) -> None:
    """One Adadelta step.

    ``g = ±grad + λθ``, ``v = ρv + (1 − ρ)g²``, ``Δ = √(u + ε) / √(v + ε) · g``,
    ``u = ρu + (1 − ρ)Δ²``, ``θ = θ − lr·Δ``.

    Shape:
        ``param``, ``grad``, ``square_avg`` and ``acc_delta`` share one shape and dtype.
    """
    xp = get_array_module(param)
    g, k = _effective_grad(xp, param, grad, weight_decay, maximize, work)
    std = _scratch(work, k, param)
    delta = _scratch(work, k + 1, param)
    xp.multiply(square_avg, rho, out=square_avg)
    xp.multiply(g, g, out=std)
    xp.multiply(std, 1.0 - rho, out=std)
    xp.add(square_avg, std, out=square_avg)
    xp.add(square_avg, eps, out=std)
    xp.sqrt(std, out=std)
    xp.add(acc_delta, eps, out=delta)
    xp.sqrt(delta, out=delta)
    xp.divide(delta, std, out=delta)
    xp.multiply(delta, g, out=delta)
    xp.multiply(acc_delta, rho, out=acc_delta)
    xp.multiply(delta, delta, out=std)
    xp.multiply(std, 1.0 - rho, out=std)
    xp.add(acc_delta, std, out=acc_delta)
    _add_scaled(xp, param, delta, -lr, delta)


def rmsprop_step(
    param: Any,
    grad: Any,
    square_avg: Any,
    momentum_buffer: Any | None = None,
    grad_avg: Any | None = None,
    *,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    maximize: bool = False,
    work: list[Any] | None = None,
) -> None:
    """One RMSprop step; centered when ``grad_avg`` is given, with momentum when ``momentum > 0``.

    ``g = ±grad + λθ``, ``v = αv + (1 − α)g²``; centered: ``ḡ = αḡ + (1 − α)g`` and
    ``d = √(v − ḡ²) + ε``, else ``d = √v + ε``; with momentum ``b = μb + g/d`` and
    ``θ = θ − lr·b``, else ``θ = θ − lr·g/d``.

    Shape:
        every array argument shares the parameter's shape and dtype.
    """
    xp = get_array_module(param)
    g, k = _effective_grad(xp, param, grad, weight_decay, maximize, work)
    t = _scratch(work, k, param)
    xp.multiply(square_avg, alpha, out=square_avg)
    xp.multiply(g, g, out=t)
    xp.multiply(t, 1.0 - alpha, out=t)
    xp.add(square_avg, t, out=square_avg)
    if grad_avg is not None:
        xp.subtract(g, grad_avg, out=t)  # lerp: ḡ + (1 − α)(g − ḡ)
        xp.multiply(t, 1.0 - alpha, out=t)
        xp.add(grad_avg, t, out=grad_avg)
        xp.multiply(grad_avg, grad_avg, out=t)
        xp.subtract(square_avg, t, out=t)
        xp.sqrt(t, out=t)
    else:
        xp.sqrt(square_avg, out=t)
    xp.add(t, eps, out=t)
    xp.divide(g, t, out=t)
    if momentum > 0:
        if momentum_buffer is None:
            raise ValueError("rmsprop_step: momentum > 0 needs a momentum_buffer array")
        xp.multiply(momentum_buffer, momentum, out=momentum_buffer)
        xp.add(momentum_buffer, t, out=momentum_buffer)
        _add_scaled(xp, param, momentum_buffer, -lr, t)
    else:
        _add_scaled(xp, param, t, -lr, t)


def adam_step(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    max_exp_avg_sq: Any | None = None,
    *,
    step: int,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
    work: list[Any] | None = None,
    fused: bool | None = None,
) -> None:
    """One Adam (or AdamW, with ``decoupled_weight_decay``) step; ``step`` counts from 1.

    ``g = ±grad (+ λθ for Adam)``; AdamW first sets ``θ = θ(1 − lr·λ)``. Then
    ``m = β₁m + (1 − β₁)g``, ``v = β₂v + (1 − β₂)g²``, ``v̂ = max(v̂, v)`` (AMSGrad,
    used in place of ``v`` below), and
    ``θ = θ − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)``,
    computed as ``θ − α_t·m / (√v + ε·√(1 − β₂ᵗ))`` with
    ``α_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)`` (the paper's efficient form; the same value).

    ``fused``: True runs the update as one compiled vectorized pass (needs numba,
    NumPy arrays, C-contiguous float32/float64: see ``deepgrad._accel``; same numbers),
    False the ufuncs below, None (default) the compiled pass whenever it can be used and
    ``DEEPGRAD_NUMBA`` is not 0 (numba is first imported for a parameter of at least
    ``_accel.AUTO_MIN_SIZE`` elements).

    Shape:
        every array argument shares the parameter's shape and dtype.
    """
    if amsgrad and max_exp_avg_sq is None:  # before any state is touched, on either path
        raise ValueError("adam_step: amsgrad=True needs a max_exp_avg_sq array")
    if fused is not False:
        state = (exp_avg, exp_avg_sq, max_exp_avg_sq) if amsgrad else (exp_avg, exp_avg_sq)
        if _accel.qualifies(param, grad, *state) and (fused or _accel.auto_ready(param.size)):
            _accel.adam_step(
                param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step, lr=lr,
                beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                amsgrad=amsgrad, maximize=maximize,
                decoupled_weight_decay=decoupled_weight_decay,
            )
            return
        if fused:
            raise ValueError(
                "adam_step(fused=True) needs C-contiguous NumPy float32/float64 arrays of one "
                f"dtype; got {type(param).__name__} {getattr(param, 'dtype', '?')} and "
                f"{type(grad).__name__} {getattr(grad, 'dtype', '?')}"
            )
    xp = get_array_module(param)
    wd = 0.0 if decoupled_weight_decay else weight_decay
    g, k = _effective_grad(xp, param, grad, wd, maximize, work)
    if decoupled_weight_decay and weight_decay != 0:
        xp.multiply(param, 1.0 - lr * weight_decay, out=param)
    t = _scratch(work, k, param)
    # m = lerp(m, g, 1 − β₁) = m + (1 − β₁)(g − m), as PyTorch computes it
    xp.subtract(g, exp_avg, out=t)
    xp.multiply(t, 1.0 - beta1, out=t)
    xp.add(exp_avg, t, out=exp_avg)
    xp.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
    xp.multiply(g, g, out=t)
    xp.multiply(t, 1.0 - beta2, out=t)
    xp.add(exp_avg_sq, t, out=exp_avg_sq)
    v = exp_avg_sq
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    xp.sqrt(v, out=t)
    xp.add(t, eps * bias_correction2_sqrt, out=t)
    xp.divide(exp_avg, t, out=t)
    _add_scaled(xp, param, t, -lr * bias_correction2_sqrt / bias_correction1, t)

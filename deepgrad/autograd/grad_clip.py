"""Gradient clipping arithmetic shared by ``deepgrad.optim`` and ``deepgrad.nn.utils``: the
total norm of all gradients, scaling by it, and element-wise clipping by value."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..backend import get_array_module

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "grad_arrays"]


def grad_arrays(parameters: Any) -> list[Any]:
    """The gradient arrays (``None`` skipped) of one parameter or an iterable of them."""
    if hasattr(parameters, "grad") and not isinstance(parameters, np.ndarray):
        parameters = [parameters]
    grads = []
    for p in parameters:
        g = p.grad
        if g is None:
            continue
        grads.append(g.data if hasattr(g, "requires_grad") else g)
    return grads


def _norm(xp: Any, x: Any, norm_type: float) -> Any:
    """The ``norm_type``-norm of ``x`` taken as a flat vector, in ``x``'s dtype."""
    x = x.ravel()
    if norm_type == 2.0:
        return xp.sqrt(xp.dot(x, x))
    if math.isinf(norm_type):
        a = xp.abs(x)
        return a.max() if norm_type > 0 else a.min()
    if norm_type == 0.0:
        return xp.asarray(xp.count_nonzero(x), dtype=x.dtype)
    if norm_type == 1.0:
        return xp.abs(x).sum()
    return (xp.abs(x) ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(grads: Iterable[Any], norm_type: float = 2.0) -> float:
    """The norm of the given arrays taken together as one vector (0.0 for none).

    Computed as PyTorch does: the norm of the vector of per-array norms.
    """
    grads = list(grads)
    if not grads:
        return 0.0
    xp = get_array_module(*grads)
    norms = xp.stack([_norm(xp, g, norm_type) for g in grads])
    return float(_norm(xp, norms, norm_type))


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients in place so that their total norm is at most ``max_norm``.

    As in PyTorch, every gradient is multiplied by
    ``min(1, max_norm / (total_norm + 1e-6))``; parameters whose ``grad`` is None are
    skipped.

    Args:
        parameters: a parameter or an iterable of parameters (objects with ``.grad``).
        max_norm: the largest total norm allowed.
        norm_type: the p of the p-norm (``float('inf')`` for the max norm).
        error_if_nonfinite: raise RuntimeError when the total norm is nan or inf.

    Returns:
        The total norm of the gradients before clipping, as a Python float.
    """
    grads = grad_arrays(parameters)
    norm_type = float(norm_type)
    total = get_total_norm(grads, norm_type)
    if not grads:
        return total
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = min(float(max_norm) / (total + 1e-6), 1.0)
    if coef < 1.0 or math.isnan(coef):
        for g in grads:
            g *= coef
    return total


def clip_grad_value_(parameters: Any, clip_value: float) -> None:
    """Clip every gradient in place to ``[-clip_value, clip_value]``.

    Args:
        parameters: a parameter or an iterable of parameters (objects with ``.grad``).
        clip_value: the largest absolute value a gradient element may keep.
    """
    clip_value = float(clip_value)
    for g in grad_arrays(parameters):
        get_array_module(g).clip(g, -clip_value, clip_value, out=g)

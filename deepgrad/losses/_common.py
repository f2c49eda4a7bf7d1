"""Helpers shared by the loss families: reduction handling, input and target coercion,
range checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_numpy

_REDUCTIONS = ("mean", "sum", "none")

# ------------------------------------------------------------------ helpers
def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _check_reduction(name: str, reduction: str) -> None:
    if not isinstance(reduction, str):  # e.g. torch's positional weight: nll_loss(x, y, w)
        raise TypeError(f"{name}: reduction must be one of {_REDUCTIONS}, got a "
                        f"{type(reduction).__name__} (pass weight= by keyword)")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce_rows(xp: Any, loss: Any, reduction: str, denom: Any = None) -> Any:
    """Reduce a raw per-example loss array (inside a fused op's forward); the mean divides
    by ``denom`` (default the number of rows; torch's weighted mean passes Σ weights)."""
    if reduction == "none":
        return loss
    total = xp.asarray(loss.sum())
    if reduction == "sum":
        return total
    return total / (loss.shape[0] if denom is None else denom)


def _row_grad(gy: Any, reduction: str, n: int, denom: Any = None) -> Any:
    """The upstream gradient of each row of a row-reduced loss: (n, 1) or a scalar."""
    if reduction == "none":
        return gy[:, None]
    return gy / (n if denom is None else denom) if reduction == "mean" else gy


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _target_like(name: str, x: Tensor, target: Any) -> Tensor:
    """The target as a tensor of ``x``'s float dtype and shape (no broadcasting)."""
    if isinstance(target, Tensor):
        t = target if target.dtype == x.dtype else target.detach().astype(x.dtype)
    else:
        xp = get_array_module(x.data)
        t = Tensor._wrap(xp.asarray(target, dtype=x.dtype))
    if t.shape != x.shape:
        raise ValueError(f"{name}: target shape {t.shape} does not match input shape "
                         f"{x.shape}; expected a target of shape {x.shape}")
    return t


def _check_unit_interval(name: str, what: str, arr: Any) -> None:
    xp = get_array_module(arr)
    if arr.size == 0 or bool(xp.all((arr >= 0) & (arr <= 1))):  # one sync, no copy
        return
    a = to_numpy(arr)
    bad = ~((a >= 0) & (a <= 1))
    i = np.unravel_index(int(np.argmax(bad)), a.shape)
    raise ValueError(f"{name}: {what} must be in [0, 1], got {a[i].item()!r} at index "
                     f"{tuple(int(k) for k in i)}")

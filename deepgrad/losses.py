"""Loss functions (functional forms; ``deepgrad.nn`` has the module forms).

Every loss takes ``reduction="mean" | "sum" | "none"``; "mean" is the course's cost
J = (1/m) Σ L. Targets are validated: a wrong shape, class labels outside [0, C),
non-integer labels or binary targets outside [0, 1] raise ``ValueError`` naming the bad
value. Cross-entropy and BCE-with-logits are fused, stable ops on logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .autograd.function import Function
from .autograd.ops.math import _sigmoid, abs, minimum
from .autograd.tensor import Tensor
from .backend import get_array_module, to_numpy

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
    "mse_loss", "l1_loss", "huber_loss", "L1", "L2",
]

_REDUCTIONS = ("mean", "sum", "none")


# ------------------------------------------------------------------ helpers
def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


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


def _labels(name: str, target: Any, x: Tensor) -> Any:
    """Validate class labels of shape (N,) in [0, C); returns int64 labels on x's device."""
    n, c = x.shape
    xp = get_array_module(x.data)
    t = xp.asarray(_raw(target))
    if t.shape != (n,):
        raise ValueError(f"{name}: labels of shape {tuple(t.shape)} do not match the "
                         f"batch: expected shape ({n},) (or ({n}, {c}) for probabilities)")
    if t.dtype.kind not in "iubf":
        raise ValueError(f"{name}: class labels must be integers, got dtype {t.dtype}")
    ok = bool(xp.all((t >= 0) & (t < c) & (t == xp.round(t) if t.dtype.kind == "f" else True)))
    if not ok:  # find and name the first bad label (on the host; error path only)
        host = to_numpy(t)
        if host.dtype.kind == "f" and (host != np.round(host)).any():
            i = int(np.argmax(host != np.round(host)))
            raise ValueError(f"{name}: class labels must be integers, got {host[i].item()!r} "
                             f"at index {i}")
        i = int(np.argmax((host < 0) | (host >= c)))
        raise ValueError(f"{name}: label {host[i].item()!r} at index {i} is outside [0, {c}) "
                         f"(input has {c} classes)")
    return t.astype(np.int64, copy=False)


def _check_logits_2d(name: str, x: Tensor) -> None:
    if x.ndim != 2:
        raise ValueError(f"{name}: expected input of shape (N, C), got shape {x.shape}")


# ------------------------------------------------------------- binary losses
class _BCE(Function):
    def forward(self, p: Any, t: Any) -> Any:
        xp = get_array_module(p)
        eps = float(np.finfo(p.dtype).eps)
        pc = xp.clip(p, eps, 1 - eps)
        if self.requires_grad:
            self.pc, self.t = pc, t
            self.inside = (p >= eps) & (p <= 1 - eps)
        return -(t * xp.log(pc) + (1 - t) * xp.log1p(-pc))

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d/dp = (p - t) / (p (1 - p)) inside the clipping range, 0 outside; d/dt = -logit(p)
        xp = get_array_module(gy)
        pc, t = self.pc, self.t
        gp = gt = None
        if self.needs_input_grad[0]:
            gp = gy * ((pc - t) / (pc * (1 - pc))) * self.inside
        if self.needs_input_grad[1]:
            gt = gy * (xp.log1p(-pc) - xp.log(pc))
        return gp, gt


def binary_cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on probabilities: -(t log p + (1 - t) log(1 - p)).

    ``p`` is clipped symmetrically to [eps, 1 - eps] with eps the dtype's machine epsilon
    (the gradient is zero outside). Prefer :func:`binary_cross_entropy_with_logits`.

    Shape:
        input: (*) probabilities in [0, 1]; target: same shape, values in [0, 1];
        output: scalar, or (*) for ``reduction="none"``.
    """
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    p = _tensor(input)
    t = _target_like(name, p, target)
    _check_unit_interval(name, "input probabilities", p.data)
    _check_unit_interval(name, "target values", t.data)
    return _reduce(_BCE()(p, t), reduction)


class _BCEWithLogits(Function):
    def forward(self, x: Any, t: Any) -> Any:
        xp = get_array_module(x)
        if self.requires_grad:
            self.x, self.t = x, t
        # log(1 + e^x) - x t, written so exp only sees -|x|
        return xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # d/dx = sigmoid(x) - t;  d/dt = -x
        xp = get_array_module(gy)
        gx = gy * (_sigmoid(xp, self.x) - self.t) if self.needs_input_grad[0] else None
        gt = -gy * self.x if self.needs_input_grad[1] else None
        return gx, gt


def binary_cross_entropy_with_logits(input: Any, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on logits, fused with the sigmoid:
    max(x, 0) - x t + log1p(exp(-|x|)); finite with finite gradient for logits of ±1e4.

    Shape:
        input: (*) logits; target: same shape, values in [0, 1];
        output: scalar, or (*) for ``reduction="none"``.
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    x = _tensor(input)
    t = _target_like(name, x, target)
    _check_unit_interval(name, "target values", t.data)
    return _reduce(_BCEWithLogits()(x, t), reduction)


# ----------------------------------------------------------- categorical losses
class _CrossEntropy(Function):
    def __init__(self, labels: Any, smoothing: float, reduction: str) -> None:
        self.labels = labels
        self.ls = smoothing
        self.reduction = reduction

    def forward(self, x: Any, q: Any = None) -> Any:
        xp = get_array_module(x)
        n, c = x.shape
        z = x - x.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        logp = z - xp.log(s)
        if q is None:
            rows = xp.arange(n)
            picked = logp[rows, self.labels]
            loss = -(1 - self.ls) * picked
            if self.ls:
                loss = loss - (self.ls / c) * logp.sum(axis=1)
        else:
            qs = q * (1 - self.ls) + self.ls / c if self.ls else q
            loss = -(qs * logp).sum(axis=1)
        if self.requires_grad:
            self.softmax, self.logp, self.q = e / s, logp, q
        if self.reduction == "none":
            return loss
        total = xp.asarray(loss.sum())
        return total / n if self.reduction == "mean" else total

    def _scale(self, gy: Any, n: int) -> Any:
        if self.reduction == "none":
            return gy[:, None]
        return gy / n if self.reduction == "mean" else gy

    def backward(self, gy: Any) -> Any:
        # d/dx = (softmax(x) - q) * gy (/ N for the mean), q the (smoothed) target distribution
        xp = get_array_module(gy)
        n, c = self.softmax.shape
        g = self._scale(gy, n)
        gx = gq = None
        if self.needs_input_grad[0]:
            if self.q is None:
                qd = xp.full((n, c), self.ls / c, dtype=self.softmax.dtype)
                qd[xp.arange(n), self.labels] += 1 - self.ls
            else:
                qd = self.q * (1 - self.ls) + self.ls / c if self.ls else self.q
            gx = (self.softmax - qd) * g
        if self.q is not None and len(self.needs_input_grad) > 1 and self.needs_input_grad[1]:
            gq = -(1 - self.ls) * self.logp * g  # d/dq = -(1 - ls) log p
        return gx if self.q is None else (gx, gq)


def cross_entropy(input: Any, target: Any, label_smoothing: float = 0.0,
                  reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy on logits, as one fused op (``(softmax - onehot) / N`` backward).

    Args:
        input: logits (N, C).
        target: integer class labels (N,) in [0, C), or one-hot / probability targets (N, C).
        label_smoothing: ε in [0, 1): the target becomes (1 - ε) target + ε / C.
        reduction: "mean" (over the N examples), "sum" or "none".

    Shape:
        input: (N, C); target: (N,) or (N, C); output: scalar, or (N,) for "none".
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    if not 0.0 <= float(label_smoothing) < 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1), got {label_smoothing}")
    x = _tensor(input)
    _check_logits_2d(name, x)
    ls = float(label_smoothing)
    if np.ndim(_raw(target)) == 2:
        q = _target_like(name, x, target)
        return _CrossEntropy(None, ls, reduction)(x, q)
    labels = _labels(name, target, x)
    return _CrossEntropy(labels, ls, reduction)(x)


class _NLL(Function):
    def __init__(self, labels: Any, reduction: str) -> None:
        self.labels = labels
        self.reduction = reduction

    def forward(self, logp: Any) -> Any:
        xp = get_array_module(logp)
        n = logp.shape[0]
        loss = -logp[xp.arange(n), self.labels]
        if self.requires_grad:
            self.shape, self.dtype = logp.shape, logp.dtype
        if self.reduction == "none":
            return loss
        total = xp.asarray(loss.sum())
        return total / n if self.reduction == "mean" else total

    def backward(self, gy: Any) -> Any:
        # d/d logp[i, y_i] = -1 (/ N for the mean); 0 elsewhere
        xp = get_array_module(gy)
        n = self.shape[0]
        gx = xp.zeros(self.shape, dtype=self.dtype)
        g = gy / n if self.reduction == "mean" else gy
        gx[xp.arange(n), self.labels] = -g
        return gx


def nll_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: -log_probs[i, target_i] (use after ``log_softmax``).

    Shape:
        input: (N, C) log-probabilities; target: (N,) integer labels in [0, C);
        output: scalar, or (N,) for ``reduction="none"``.
    """
    name = "nll_loss"
    _check_reduction(name, reduction)
    x = _tensor(input)
    _check_logits_2d(name, x)
    labels = _labels(name, target, x)
    return _NLL(labels, reduction)(x)


# ------------------------------------------------------------ regression losses
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


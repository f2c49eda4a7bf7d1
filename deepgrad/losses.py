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
from .backend import get_array_module, sum_to, to_numpy

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


def _reduce_rows(xp: Any, loss: Any, reduction: str) -> Any:
    """Reduce a raw per-example loss array (inside a fused op's forward)."""
    if reduction == "none":
        return loss
    total = xp.asarray(loss.sum())
    return total / loss.shape[0] if reduction == "mean" else total


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


def _labels(name: str, target: Any, shape: tuple[int, ...], axis: int, xp: Any) -> Any:
    """Validate class labels for an input of ``shape`` with classes along ``axis``: labels
    of the input's shape without ``axis``, in [0, C). Returns int64 labels on ``xp``."""
    batch, c = shape[:axis] + shape[axis + 1:], shape[axis]
    t = xp.asarray(_raw(target))
    if t.shape != batch:
        raise ValueError(f"{name}: labels of shape {tuple(t.shape)} do not match the "
                         f"batch: expected shape {batch} (or {shape} for probabilities)")
    if t.dtype.kind not in "iubf":
        raise ValueError(f"{name}: class labels must be integers, got dtype {t.dtype}")
    ok = (t >= 0) & (t < c)
    if t.dtype.kind == "f":
        ok &= t == xp.round(t)
    if t.size and not bool(ok.all()):  # name the first bad label (on the host; error path)
        host = to_numpy(t)

        def where(flat: int) -> Any:
            return flat if host.ndim == 1 else tuple(int(k) for k in
                                                      np.unravel_index(flat, host.shape))
        frac = host != np.round(host)
        if frac.any():
            i = int(np.argmax(frac))
            raise ValueError(f"{name}: class labels must be integers, got "
                             f"{host.flat[i].item()!r} at index {where(i)}")
        i = int(np.argmax(((host < 0) | (host >= c)).ravel()))
        raise ValueError(f"{name}: label {host.flat[i].item()!r} at index {where(i)} is "
                         f"outside [0, {c}) (input has {c} classes)")
    return t.astype(np.int64, copy=False)


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
    def forward(self, x: Any, t: Any, pw: Any = None) -> Any:
        xp = get_array_module(x)
        sp = xp.log1p(xp.exp(-xp.abs(x)))  # exp only sees -|x|
        if pw is None:  # log(1 + e^x) - x t
            loss = xp.maximum(x, 0) - x * t + sp
        else:  # (1 - t) x + (1 + (pw - 1) t) log(1 + e^-x)
            sp += xp.maximum(-x, 0)
            loss = (1 - t) * x + (1 + (pw - 1) * t) * sp
        if self.requires_grad:
            self.x, self.t, self.pw, self.sp = x, t, pw, sp
        return loss

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # d/dx = sigmoid(x) - t;  d/dt = -x  (pos_weight: d/dx = (1 - t) - w sigmoid(-x),
        # w = 1 + (pw - 1) t;  d/dt = -x + (pw - 1) log(1 + e^-x);  d/dpw = t log(1 + e^-x))
        xp = get_array_module(gy)
        x, t, pw, need = self.x, self.t, self.pw, self.needs_input_grad
        if pw is None:
            gx = gy * (_sigmoid(xp, x) - t) if need[0] else None
            gt = -gy * x if need[1] else None
            return gx, gt
        gx = gy * ((1 - t) - (1 + (pw - 1) * t) * _sigmoid(xp, -x)) if need[0] else None
        gt = gy * ((pw - 1) * self.sp - x) if need[1] else None
        gpw = sum_to(gy * t * self.sp, pw.shape) if need[2] else None
        return gx, gt, gpw


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy on logits, fused with the sigmoid:
    max(x, 0) - x t + log1p(exp(-|x|)); finite with finite gradient for logits of ±1e4.

    Args:
        input: logits.
        target: probabilities in [0, 1], the input's shape.
        reduction: "mean" (over all elements), "sum" or "none".
        pos_weight: weight of the positive term, broadcast against the input (e.g. one per
            class, shape (C,)): -[pw t log σ(x) + (1 - t) log(1 - σ(x))], as PyTorch.

    Shape:
        input: (*) logits; target: same shape; pos_weight: broadcastable to (*);
        output: scalar, or (*) for ``reduction="none"``.
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    x = _tensor(input)
    t = _target_like(name, x, target)
    _check_unit_interval(name, "target values", t.data)
    if pos_weight is None:
        return _reduce(_BCEWithLogits()(x, t), reduction)
    if isinstance(pos_weight, Tensor):
        pw = pos_weight if pos_weight.dtype == x.dtype else pos_weight.astype(x.dtype)
    else:
        pw = Tensor._wrap(get_array_module(x.data).asarray(pos_weight, dtype=x.dtype))
    try:
        ok = np.broadcast_shapes(pw.shape, x.shape) == x.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name}: pos_weight of shape {pw.shape} does not broadcast to the "
                         f"input shape {x.shape} (expected e.g. shape {x.shape[-1:]})")
    return _reduce(_BCEWithLogits()(x, t, pw), reduction)


# ----------------------------------------------------------- categorical losses
class _CrossEntropy(Function):
    def __init__(self, labels: Any, smoothing: float, reduction: str) -> None:
        self.labels = labels
        self.ls = smoothing
        self.reduction = reduction

    def forward(self, x: Any, q: Any = None) -> Any:
        # one max, one exp, one sum, one log; the softmax is kept for backward
        xp = get_array_module(x)
        n, c = x.shape
        ls = self.ls
        z = x - x.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        log_s = xp.log(s)
        if q is None:
            loss = log_s[:, 0] - z[xp.arange(n), self.labels]  # -log p[i, y_i]
            if ls:  # Σ_j -log p[i, j] / C = log s - mean_j z
                loss = (1 - ls) * loss + ls * (log_s[:, 0] - z.mean(axis=1))
        else:
            logp = z - log_s
            qs = q * (1 - ls) + ls / c if ls else q
            loss = -(qs * logp).sum(axis=1)
            if self.needs_input_grad[1]:
                self.logp = logp
        if self.requires_grad:
            e /= s
            self.softmax, self.q = e, q
        return _reduce_rows(xp, loss, self.reduction)

    def backward(self, gy: Any) -> Any:
        # d/dx = (softmax(x) - q) * gy (/ N for the mean), q the (smoothed) target distribution
        xp = get_array_module(gy)
        n, c = self.softmax.shape
        ls = self.ls
        g = gy[:, None] if self.reduction == "none" else gy / n if self.reduction == "mean" \
            else gy
        gx = gq = None
        if self.needs_input_grad[0]:
            if self.q is None:
                gx = self.softmax * g
                rows = xp.arange(n)
                gx[rows, self.labels] -= (1 - ls) * (g[:, 0] if g.ndim else g)
                if ls:
                    gx -= (ls / c) * g
            else:
                qs = self.q * (1 - ls) + ls / c if ls else self.q
                gx = (self.softmax - qs) * g
        if self.q is None:
            return gx
        if self.needs_input_grad[1]:
            gq = -(1 - ls) * self.logp * g  # d/dq = -(1 - ls) log p
        return gx, gq


def _axis(name: str, axis: int, ndim: int) -> int:
    if ndim == 0 or not -ndim <= axis < ndim:
        raise ValueError(f"{name}: class axis {axis} is out of range for an input with "
                         f"{ndim} dimensions")
    return axis % ndim


def cross_entropy(input: Any, target: Any, label_smoothing: float = 0.0,
                  reduction: str = "mean", axis: int = -1) -> Tensor:
    """Softmax cross-entropy on logits, as one fused op (``(softmax - onehot) / N`` backward).

    Args:
        input: logits, classes along ``axis``.
        target: integer class labels in [0, C) (a NumPy array or an int Tensor) of the
            input's shape without ``axis``, or one-hot / probability targets of the input's
            shape.
        label_smoothing: ε in [0, 1): the target becomes (1 - ε) target + ε / C (PyTorch's).
        reduction: "mean" (over the N examples, and every position for inputs of more than
            two dimensions, like torch), "sum" or "none".
        axis: the class axis (-1, or 1 for torch's (N, C, d1, ...) layout).

    Shape:
        input: (N, C) (or any shape with C along ``axis``); target: (N,) or (N, C);
        output: scalar, or (N,) for "none".
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    ls = float(label_smoothing)
    if not 0.0 <= ls < 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1), got {label_smoothing}")
    x = x0 = _tensor(input)
    ax = _axis(name, axis, x.ndim)
    c = x.shape[ax]
    probs = np.ndim(_raw(target)) == x.ndim
    flat = x.ndim != 2 or ax != 1
    batch = x.shape[:ax] + x.shape[ax + 1:]
    if flat:  # classes last, everything else one batch axis
        perm = [i for i in range(x.ndim) if i != ax] + [ax]
        x = x.transpose(perm).reshape(-1, c)
    if probs:
        q = _target_like(name, x0, target)
        if flat:
            q = q.transpose(perm).reshape(-1, c)
        out = _CrossEntropy(None, ls, reduction)(x, q)
    else:
        labels = _labels(name, target, x0.shape, ax, get_array_module(x.data))
        out = _CrossEntropy(labels.reshape(-1), ls, reduction)(x)
    return out.reshape(batch) if flat and reduction == "none" else out


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
        return _reduce_rows(xp, loss, self.reduction)

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
    if x.ndim != 2:
        raise ValueError(f"{name}: expected input of shape (N, C), got shape {x.shape}")
    labels = _labels(name, target, x.shape, 1, get_array_module(x.data))
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


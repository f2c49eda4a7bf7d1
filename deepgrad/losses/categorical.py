"""Categorical losses: fused softmax cross-entropy (class labels or soft targets) and
negative log-likelihood, with class weights and ``ignore_index``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_numpy
from ._common import (
    _check_reduction,
    _raw,
    _reduce_rows,
    _row_grad,
    _target_like,
    _tensor,
)

__all__ = ["cross_entropy", "nll_loss"]


# ------------------------------------------------------------------ labels
def _labels(name: str, target: Any, shape: tuple[int, ...], axis: int, xp: Any,
            ignore_index: int | None = None) -> tuple[Any, Any]:
    """Validate class labels for an input of ``shape`` with classes along ``axis``: labels
    of the input's shape without ``axis``, in [0, C) or equal to ``ignore_index``.

    Returns int64 labels on ``xp`` (0 where ignored) and the mask of the positions kept
    (None when none is ignored, so the common case stays on the fast path).
    """
    batch, c = shape[:axis] + shape[axis + 1:], shape[axis]
    t = xp.asarray(_raw(target))
    if t.shape != batch:
        probs = "" if name == "nll_loss" else f" (or {shape} for probabilities)"
        raise ValueError(f"{name}: labels of shape {tuple(t.shape)} do not match the "
                         f"batch: expected shape {batch}{probs}")
    if t.dtype.kind not in "iubf":
        raise ValueError(f"{name}: class labels must be integers, got dtype {t.dtype}")
    ok = (t >= 0) & (t < c)
    if t.dtype.kind == "f":
        ok &= t == xp.round(t)
    ignored = None if ignore_index is None else t == ignore_index
    if ignored is not None:
        ok |= ignored
    if t.size and not bool(ok.all()):  # name the first bad label (on the host; error path)
        _bad_label(name, to_numpy(t), c, ignore_index)
    t = t.astype(np.int64, copy=False)
    if ignored is None or not bool(ignored.any()):
        return t, None
    return xp.where(ignored, 0, t), ~ignored


def _bad_label(name: str, host: np.ndarray, c: int, ignore_index: int | None) -> None:
    """Raise the ValueError naming the first non-integer or out-of-range label."""
    def where(flat: int) -> Any:
        return flat if host.ndim == 1 else tuple(int(k) for k in
                                                  np.unravel_index(flat, host.shape))
    frac = host != np.round(host)
    if frac.any():
        i = int(np.argmax(frac))
        raise ValueError(f"{name}: class labels must be integers, got "
                         f"{host.flat[i].item()!r} at index {where(i)}")
    bad = (host < 0) | (host >= c)
    if ignore_index is not None:
        bad &= host != ignore_index
    i = int(np.argmax(bad.ravel()))
    also = "" if ignore_index is None else f" and is not ignore_index ({ignore_index})"
    raise ValueError(f"{name}: label {host.flat[i].item()!r} at index {where(i)} is "
                     f"outside [0, {c}) (input has {c} classes){also}")

# ----------------------------------------------------------- categorical losses
class _CrossEntropy(Function):
    """Fused softmax cross-entropy on (n, C) logits. With ``labels`` the target is their
    (smoothed) one-hot; otherwise the second input is a target matrix q (probabilities, or
    the dense weights built by :func:`_label_targets`) and the loss is -Σ_c q̃_c log p_c,
    q̃ = ((1 - ε) q + ε / C) * weight."""

    def __init__(self, labels: Any, smoothing: float, reduction: str, weight: Any = None,
                 denom: Any = None) -> None:
        self.labels = labels
        self.ls = smoothing
        self.reduction = reduction
        self.weight = weight
        self.denom = denom

    def forward(self, x: Any, q: Any = None) -> Any:
        # one max, one exp, one sum, one log; the softmax is kept for backward
        xp = get_array_module(x)
        n, c = x.shape
        ls = self.ls
        z = x - x.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        log_s = xp.log(s)
        qs = None
        if q is None:
            loss = log_s[:, 0] - z[xp.arange(n), self.labels]  # -log p[i, y_i]
            if ls:  # Σ_j -log p[i, j] / C = log s - mean_j z
                loss = (1 - ls) * loss + ls * (log_s[:, 0] - z.mean(axis=1))
        else:
            logp = z - log_s
            qs = q * (1 - ls) + ls / c if ls else q
            if self.weight is not None:
                qs = qs * self.weight
            loss = -(qs * logp).sum(axis=1)
            if self.needs_input_grad[1]:
                self.logp = logp
        if self.requires_grad:
            e /= s
            self.softmax, self.qs = e, qs
        return _reduce_rows(xp, loss, self.reduction, self.denom)

    def backward(self, gy: Any) -> Any:
        # d/dx = (softmax(x) Σ_c q̃_c - q̃) * gy (/ N for the mean); Σ_c q̃_c = 1 for a one-hot
        xp = get_array_module(gy)
        n, c = self.softmax.shape
        ls, qs = self.ls, self.qs
        g = _row_grad(gy, self.reduction, n, self.denom)
        gx = None
        if self.needs_input_grad[0]:
            if qs is None:
                gx = self.softmax * g
                gx[xp.arange(n), self.labels] -= (1 - ls) * (g[:, 0] if g.ndim else g)
                if ls:
                    gx -= (ls / c) * g
            else:
                gx = (self.softmax * qs.sum(axis=1, keepdims=True) - qs) * g
        if qs is None:
            return gx
        gq = None
        if self.needs_input_grad[1]:  # d/dq = -(1 - ε) weight log p
            gq = -(1 - ls) * self.logp * g
            if self.weight is not None:
                gq *= self.weight
        return gx, gq


def _axis(name: str, axis: int | None, ndim: int, dim: int | None = None) -> int:
    """The class axis from ``axis`` or its PyTorch alias ``dim`` (default -1), normalized."""
    if dim is not None:
        if axis is not None and axis != dim:
            raise ValueError(f"{name}: give the class axis as axis= or dim=, not both "
                             f"(got axis={axis}, dim={dim})")
        axis = dim
    axis = -1 if axis is None else int(axis)
    if ndim == 0 or not -ndim <= axis < ndim:
        raise ValueError(f"{name}: class axis {axis} is out of range for an input with "
                         f"{ndim} dimensions")
    return axis % ndim


def _class_rows(x: Tensor, axis: int) -> Tensor:
    """``x`` as (M, C): the class ``axis`` moved last, every other axis one batch axis."""
    if x.ndim == 2 and axis == 1:
        return x
    perm = [i for i in range(x.ndim) if i != axis] + [axis]
    return x.transpose(perm).reshape(-1, x.shape[axis])


def _class_weight(name: str, weight: Any, c: int, x: Tensor) -> Any:
    """The per-class ``weight`` as a raw (C,) array of ``x``'s dtype and device, or None."""
    if weight is None:
        return None
    w = get_array_module(x.data).asarray(_raw(weight), dtype=x.dtype)
    if w.shape != (c,):
        raise ValueError(f"{name}: weight must hold one value per class, shape ({c},), got "
                         f"shape {tuple(w.shape)}")
    return w


def _label_targets(labels: Any, keep: Any, w: Any, ls: float, c: int, dtype: Any
                   ) -> tuple[Any, Any]:
    """Dense targets for weighted or ignored labels, and the mean's divisor (torch's):
    q̃ = (1 - ε) r onehot + (ε / C) keep w with r = w[label] keep, divided by Σ r."""
    xp = get_array_module(labels)
    m = labels.shape[0]
    r = xp.ones(m, dtype) if w is None else w[labels]
    if keep is not None:
        r = r * keep
    q = xp.zeros((m, c), dtype)
    q[xp.arange(m), labels] = (1 - ls) * r
    if ls:
        k = xp.ones((m, 1), dtype) if keep is None else keep[:, None].astype(dtype)
        q += (ls / c) * k * (1 if w is None else w)
    return q, r.sum()


def cross_entropy(input: Any, target: Any, label_smoothing: float = 0.0,
                  reduction: str = "mean", axis: int | None = None, *, weight: Any = None,
                  ignore_index: int | None = None, dim: int | None = None) -> Tensor:
    """Softmax cross-entropy on logits, as one fused op (``(softmax - onehot) / N`` backward).

    Args:
        input: logits, classes along ``axis``.
        target: integer class labels in [0, C) (a NumPy array or an int Tensor) of the
            input's shape without ``axis``, or one-hot / probability targets of the input's
            shape.
        label_smoothing: ε in [0, 1): the target becomes (1 - ε) target + ε / C (PyTorch's).
        reduction: "mean" (over the N examples, and every position for inputs of more than
            two dimensions, like torch), "sum" or "none".
        axis: the class axis (default -1, Keras's; ``nn.CrossEntropyLoss`` uses 1, torch's).
        weight: optional (C,) weight of each class (torch's); with labels the mean divides
            by the summed weights of the targets, with probabilities by N.
        ignore_index: a label value whose positions add nothing to the loss, the gradient
            or the mean's divisor (torch's; class labels only).
        dim: PyTorch's name for ``axis`` (give one of them).

    Shape:
        input: (N, C) (or any shape with C along ``axis``, (C,) for one example); target:
        (N,) or (N, C) (the input's shape without / with ``axis``); output: scalar, or the
        target's batch shape for "none".
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    if not isinstance(label_smoothing, int | float | np.floating | np.integer):
        # torch's third positional argument is weight: cross_entropy(x, y, w)
        raise TypeError(f"{name}: label_smoothing must be a number, got a "
                        f"{type(label_smoothing).__name__} (pass weight= by keyword)")
    ls = float(label_smoothing)
    if not 0.0 <= ls < 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1), got {label_smoothing}")
    x0 = _tensor(input)
    ax = _axis(name, axis, x0.ndim, dim)
    c, batch = x0.shape[ax], x0.shape[:ax] + x0.shape[ax + 1:]
    x = _class_rows(x0, ax)
    w = _class_weight(name, weight, c, x0)
    if np.ndim(_raw(target)) == x0.ndim:  # probabilities
        if ignore_index is not None and ignore_index >= 0:
            raise ValueError(f"{name}: ignore_index applies to class labels, not to "
                             "probability targets")
        q = _class_rows(_target_like(name, x0, target), ax)
        out = _CrossEntropy(None, ls, reduction, w)(x, q)
    else:
        labels, keep = _labels(name, target, x0.shape, ax, get_array_module(x.data),
                               ignore_index)
        labels = labels.reshape(-1)
        if w is None and keep is None:
            out = _CrossEntropy(labels, ls, reduction)(x)
        else:
            keep = None if keep is None else keep.reshape(-1)
            q, denom = _label_targets(labels, keep, w, ls, c, x.dtype)
            out = _CrossEntropy(None, 0.0, reduction, None, denom)(x, q)
    return out.reshape(batch) if reduction == "none" and out.shape != batch else out


class _NLL(Function):
    def __init__(self, labels: Any, reduction: str, rows: Any = None,
                 denom: Any = None) -> None:
        self.labels = labels
        self.reduction = reduction
        self.rows = rows  # per-row weights w[y_i] (0 where ignored), or None
        self.denom = denom

    def forward(self, logp: Any) -> Any:
        xp = get_array_module(logp)
        n = logp.shape[0]
        loss = -logp[xp.arange(n), self.labels]
        if self.rows is not None:
            loss = loss * self.rows
        if self.requires_grad:
            self.shape, self.dtype = logp.shape, logp.dtype
        return _reduce_rows(xp, loss, self.reduction, self.denom)

    def backward(self, gy: Any) -> Any:
        # d/d logp[i, y_i] = -w[y_i] (/ Σ w[y] for the mean); 0 elsewhere
        xp = get_array_module(gy)
        n = self.shape[0]
        gx = xp.zeros(self.shape, dtype=self.dtype)
        g = _row_grad(gy, self.reduction, n, self.denom)
        g = g[:, 0] if g.ndim else g
        gx[xp.arange(n), self.labels] = -g if self.rows is None else -g * self.rows
        return gx


def nll_loss(input: Any, target: Any, reduction: str = "mean", axis: int | None = None, *,
             weight: Any = None, ignore_index: int | None = None,
             dim: int | None = None) -> Tensor:
    """Negative log-likelihood: -weight[t] log_probs[t] (use after ``log_softmax``).

    Args:
        input: log-probabilities, classes along ``axis``.
        target: integer class labels in [0, C) of the input's shape without ``axis``.
        reduction: "mean" (divided by the summed weights of the targets, N unweighted),
            "sum" or "none".
        axis: the class axis (default -1; ``nn.NLLLoss`` uses 1, torch's).
        weight: optional (C,) weight of each class (torch's).
        ignore_index: a label value whose positions add nothing (torch's).
        dim: PyTorch's name for ``axis`` (give one of them).

    Shape:
        input: (N, C) (or any shape with C along ``axis``, (C,) for one example); target:
        (N,) (the input's shape without ``axis``); output: scalar, or the target's shape
        for ``reduction="none"``.
    """
    name = "nll_loss"
    _check_reduction(name, reduction)
    x0 = _tensor(input)
    ax = _axis(name, axis, x0.ndim, dim)
    c, batch = x0.shape[ax], x0.shape[:ax] + x0.shape[ax + 1:]
    x = _class_rows(x0, ax)
    w = _class_weight(name, weight, c, x0)
    labels, keep = _labels(name, target, x0.shape, ax, get_array_module(x.data), ignore_index)
    labels = labels.reshape(-1)
    rows = denom = None
    if w is not None or keep is not None:
        rows = w[labels] if w is not None else keep.reshape(-1).astype(x.dtype)
        if w is not None and keep is not None:
            rows = rows * keep.reshape(-1)
        denom = rows.sum()
    out = _NLL(labels, reduction, rows, denom)(x)
    return out.reshape(batch) if reduction == "none" and out.shape != batch else out

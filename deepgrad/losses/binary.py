"""Binary losses: cross-entropy on probabilities and on logits (fused with the sigmoid)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.ops.math import _sigmoid
from ..autograd.tensor import Tensor
from ..backend import get_array_module, sum_to
from ._common import _check_reduction, _check_unit_interval, _reduce, _target_like, _tensor

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits"]


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


def _weight_like(name: str, what: str, w: Any, x: Tensor) -> Tensor:
    """``w`` as a tensor of ``x``'s dtype that broadcasts to ``x``'s shape (a Tensor keeps
    its graph, so a weight that requires grad gets its gradient)."""
    if isinstance(w, Tensor):
        t = w if w.dtype == x.dtype else w.astype(x.dtype)
    else:
        t = Tensor._wrap(get_array_module(x.data).asarray(w, dtype=x.dtype))
    try:
        ok = np.broadcast_shapes(t.shape, x.shape) == x.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name}: {what} of shape {t.shape} does not broadcast to the "
                         f"input shape {x.shape} (expected e.g. shape {x.shape[-1:]})")
    return t


def _weighted(loss: Tensor, name: str, weight: Any, x: Tensor, reduction: str) -> Tensor:
    """Multiply the elementwise loss by ``weight`` (broadcast), then reduce; the mean is
    over the elements, as PyTorch's."""
    if weight is not None:
        loss = loss * _weight_like(name, "weight", weight, x)
    return _reduce(loss, reduction)


def binary_cross_entropy(input: Any, target: Any, reduction: str = "mean", *,
                         weight: Any = None) -> Tensor:
    """Binary cross-entropy on probabilities: -weight (t log p + (1 - t) log(1 - p)).

    ``p`` is clipped symmetrically to [eps, 1 - eps] with eps the dtype's machine epsilon
    (the gradient is zero outside). Prefer :func:`binary_cross_entropy_with_logits`.

    Args:
        input: probabilities in [0, 1].
        target: probabilities in [0, 1], the input's shape.
        reduction: "mean" (over all elements, weighted or not, as PyTorch), "sum" or "none".
        weight: optional rescaling of each element's loss, broadcast against the input
            (PyTorch's ``weight``).

    Shape:
        input: (*) probabilities in [0, 1]; target: same shape, values in [0, 1]; weight:
        broadcastable to (*); output: scalar, or (*) for ``reduction="none"``.
    """
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    p = _tensor(input)
    t = _target_like(name, p, target)
    _check_unit_interval(name, "input probabilities", p.data)
    _check_unit_interval(name, "target values", t.data)
    return _weighted(_BCE()(p, t), name, weight, p, reduction)


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
                                     pos_weight: Any = None, *, weight: Any = None) -> Tensor:
    """Binary cross-entropy on logits, fused with the sigmoid:
    max(x, 0) - x t + log1p(exp(-|x|)); finite with finite gradient for logits of ±1e4.

    Args:
        input: logits.
        target: probabilities in [0, 1], the input's shape.
        reduction: "mean" (over all elements, weighted or not), "sum" or "none".
        pos_weight: weight of the positive term, broadcast against the input (e.g. one per
            class, shape (C,)): -[pw t log σ(x) + (1 - t) log(1 - σ(x))], as PyTorch.
        weight: optional rescaling of each element's loss, broadcast against the input
            (PyTorch's ``weight``).

    Shape:
        input: (*) logits; target: same shape; pos_weight, weight: broadcastable to (*);
        output: scalar, or (*) for ``reduction="none"``.
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    x = _tensor(input)
    t = _target_like(name, x, target)
    _check_unit_interval(name, "target values", t.data)
    if pos_weight is None:
        return _weighted(_BCEWithLogits()(x, t), name, weight, x, reduction)
    pw = _weight_like(name, "pos_weight", pos_weight, x)
    return _weighted(_BCEWithLogits()(x, t, pw), name, weight, x, reduction)

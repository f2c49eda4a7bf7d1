"""Normalization as fused ops with hand-written backward: batch norm and layer norm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from . import norm_kernels as kernels

__all__ = ["batch_norm", "layer_norm"]


def _raw(a: Any) -> Any:
    """The array inside a tensor (running statistics are state, not graph inputs)."""
    return a.data if isinstance(a, Tensor) else a


def _normalized_backward(gxhat: Any, xhat: Any, inv_std: Any, axes: tuple[int, ...]) -> Any:
    """dx for x̂ = (x - mean)·inv_std with batch statistics over ``axes``, given dL/dx̂:
    dx = inv_std/m · (m·gx̂ - Σ gx̂ - x̂·Σ(gx̂·x̂))."""
    m = 1
    for a in axes:
        m *= xhat.shape[a]
    s1 = gxhat.sum(axis=axes, keepdims=True)
    s2 = (gxhat * xhat).sum(axis=axes, keepdims=True)
    dt = gxhat.dtype.type
    gx = gxhat * dt(m) - s1
    gx -= xhat * s2
    gx *= inv_std * dt(1.0 / m)
    return gx


def _affine(xhat: Any, wb: tuple[Any, ...], affine: tuple[bool, bool],
            shape: tuple[int, ...] | None = None) -> tuple[Any, Any]:
    """(γ or None, y = γ·x̂ + β) with the parameters present in ``affine`` taken from ``wb``
    in order and reshaped to ``shape`` (None: as they are)."""
    it = iter(wb)
    gamma = next(it) if affine[0] else None
    beta = next(it) if affine[1] else None
    if shape is not None:
        gamma = None if gamma is None else gamma.reshape(shape)
        beta = None if beta is None else beta.reshape(shape)
    y = xhat if gamma is None else xhat * gamma
    if beta is not None and y is xhat:
        y = xhat + beta
    elif beta is not None:
        y += beta
    return gamma, y


def _affine_grads(needs: tuple[bool, ...], affine: tuple[bool, bool], gw: Any,
                  gb: Any) -> tuple[Any, ...]:
    """The gradients of the parameters present (γ: Σ gy·x̂, β: Σ gy), None where unneeded."""
    out, i = [], 1
    for present, g in zip(affine, (gw, gb), strict=True):
        if present:
            out.append(g if needs[i] else None)
            i += 1
    return tuple(out)


def update_running_stats(rm: Any, rv: Any, mean: Any, var: Any, m: int,
                         momentum: float) -> None:
    """``running = (1 - momentum)·running + momentum·batch`` in place, with the unbiased
    variance (``var·m/(m-1)``) for ``rv``; ``mean``/``var`` are the batch's biased
    statistics over ``m`` values per channel, in any shape with C elements."""
    dt = mean.dtype.type
    rm *= rm.dtype.type(1.0 - momentum)
    rm += (mean.reshape(-1) * dt(momentum)).astype(rm.dtype, copy=False)
    unbiased = var.reshape(-1) * dt(momentum * m / (m - 1))
    rv *= rv.dtype.type(1.0 - momentum)
    rv += unbiased.astype(rv.dtype, copy=False)


class BatchNorm(Function):
    """Fused batch normalization over every axis but the channel axis 1."""

    def __init__(
        self, running_mean: Any, running_var: Any, training: bool, momentum: float, eps: float,
        affine: tuple[bool, bool] = (True, True),
    ) -> None:
        self.affine = affine  # which of weight, bias follow x among the inputs
        self.running_mean = _raw(running_mean)
        self.running_var = _raw(running_var)
        self.training = bool(training)
        self.momentum = float(momentum)
        self.eps = float(eps)

    def forward(self, x: Any, *wb: Any) -> Any:
        xp = get_array_module(x)
        if x.ndim < 2:
            raise ValueError(f"batch_norm: expected input (N, C, ...), got {tuple(x.shape)}")
        c = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, c) + (1,) * (x.ndim - 2)
        dt = x.dtype.type
        if self.training:
            m = x.size // c
            if m < 2:
                raise ValueError(
                    f"batch_norm: expected more than 1 value per channel when training, "
                    f"got input of shape {tuple(x.shape)}"
                )
            if x.ndim > 2 and kernels.takes(x, *wb):  # three passes (numba)
                return self._forward_compiled(x, wb, m, bshape)
            mean = x.mean(axis=axes, keepdims=True)
            xc = x - mean
            var = (xc * xc).mean(axis=axes, keepdims=True)  # biased, used to normalize
            inv_std = 1.0 / xp.sqrt(var + dt(self.eps))
            if self.running_mean is not None:
                update_running_stats(self.running_mean, self.running_var, mean, var, m,
                                     self.momentum)
            xhat = xc
            xhat *= inv_std
        else:
            if self.running_mean is None or self.running_var is None:
                raise ValueError("batch_norm: eval mode needs running_mean and running_var")
            mean = self.running_mean.reshape(bshape).astype(x.dtype, copy=False)
            var = self.running_var.reshape(bshape).astype(x.dtype, copy=False)
            inv_std = 1.0 / xp.sqrt(var + dt(self.eps))
            xhat = (x - mean) * inv_std
        gamma, y = _affine(xhat, wb, self.affine, bshape)
        if self.requires_grad:
            self.xhat, self.inv_std, self.axes, self.bshape = xhat, inv_std, axes, bshape
            self.gamma = gamma
            if y is xhat:
                y = xhat.copy()  # the output may be changed in place by a later op
        return y

    def _forward_compiled(self, x: Any, wb: tuple[Any, ...], m: int,
                          bshape: tuple[int, ...]) -> Any:
        """Training forward by the compiled kernels (same formulas, fewer passes)."""
        it = iter(wb)
        gamma = next(it) if self.affine[0] else None
        beta = next(it) if self.affine[1] else None
        xhat, y, mean, var = kernels.forward(x, gamma, beta, self.eps)
        if self.running_mean is not None:
            update_running_stats(self.running_mean, self.running_var, mean, var, m,
                                 self.momentum)
        if self.requires_grad:
            self.xhat, self.axes, self.bshape = xhat, (0,) + tuple(range(2, x.ndim)), bshape
            self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype).reshape(bshape)
            self.gamma = None if gamma is None else gamma.reshape(bshape)
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # y = γ·x̂ + β: gγ = Σ gy·x̂, gβ = Σ gy (sums over all axes but the channels).
        # Training (x̂ depends on the batch statistics), with k = γ·inv_std/m per channel:
        #   gx = k·(m·gy - Σ gy - x̂·Σ(gy·x̂));  eval (constant statistics): gx = γ·inv_std·gy
        needs = self.needs_input_grad
        xhat, inv_std, axes, bshape = self.xhat, self.inv_std, self.axes, self.bshape
        c = xhat.shape[1]
        if self.training and xhat.ndim > 2 and kernels.takes(gy, xhat):  # two passes
            scale = inv_std if self.gamma is None else self.gamma * inv_std
            gx, sum_gy, sum_gyx = kernels.backward(gy, xhat, scale, needs[0])
            return (gx, *_affine_grads(needs, self.affine, sum_gyx, sum_gy))
        sum_gy = gy.sum(axis=axes, keepdims=True)
        sum_gyx = (gy * xhat).sum(axis=axes, keepdims=True)
        scale = inv_std if self.gamma is None else self.gamma.reshape(bshape) * inv_std
        gx = None
        if needs[0]:
            if self.training:
                m = xhat.size // c
                k = scale * gy.dtype.type(1.0 / m)
                gx = gy * (k * gy.dtype.type(m))
                gx -= xhat * (k * sum_gyx)
                gx -= k * sum_gy
            else:
                gx = gy * scale
        return (gx, *_affine_grads(needs, self.affine, sum_gyx.reshape(c),
                                   sum_gy.reshape(c)))


class LayerNorm(Function):
    """Fused layer normalization over the trailing axes."""

    def __init__(self, ndims: int, eps: float, affine: tuple[bool, bool] = (True, True)) -> None:
        self.ndims = ndims
        self.eps = float(eps)
        self.affine = affine

    def forward(self, x: Any, *wb: Any) -> Any:
        xp = get_array_module(x)
        axes = tuple(range(x.ndim - self.ndims, x.ndim))
        dt = x.dtype.type
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + dt(self.eps))
        xhat = xc
        xhat *= inv_std
        gamma, y = _affine(xhat, wb, self.affine)
        if self.requires_grad:
            self.xhat, self.inv_std, self.axes = xhat, inv_std, axes
            self.gamma = gamma
            if y is xhat:
                y = xhat.copy()
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # y = γ·x̂ + β over the trailing axes: gγ = Σ_batch gy·x̂, gβ = Σ_batch gy,
        # gx = inv_std/D · (D·gx̂ - Σ gx̂ - x̂·Σ(gx̂·x̂)) with gx̂ = γ·gy
        needs = self.needs_input_grad
        xhat, inv_std, axes = self.xhat, self.inv_std, self.axes
        lead = tuple(range(xhat.ndim - self.ndims))
        gx = None
        if needs[0]:
            gxhat = gy if self.gamma is None else gy * self.gamma
            gx = _normalized_backward(gxhat, xhat, inv_std, axes)
        gw = (gy * xhat).sum(axis=lead) if self.affine[0] and any(needs[1:]) else None
        gb = gy.sum(axis=lead) if self.affine[1] and any(needs[1:]) else None
        return (gx, *_affine_grads(needs, self.affine, gw, gb))


def batch_norm(
    x: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization, as ``torch.nn.functional.batch_norm``.

    In training the batch mean and biased variance over every axis but the channels
    normalize ``x``, and the running statistics (arrays or tensors, or None) are updated
    IN PLACE: ``running = (1 - momentum)·running + momentum·batch_stat``, with the
    unbiased variance for ``running_var``. In eval the running statistics normalize.

    Args:
        x: input.
        running_mean, running_var: per-channel running statistics, or None (batch
            statistics only; then ``training`` must be True).
        weight, bias: optional per-channel scale γ and shift β.
        training: use (and record) batch statistics.
        momentum: weight of the new batch statistic in the running average.
        eps: added to the variance before the square root.

    Shape:
        x: (N, C) or (N, C, L) or (N, C, H, W); running stats, weight, bias: (C,) -> x.shape
    """
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    affine = (weight is not None, bias is not None)
    op = BatchNorm(running_mean, running_var, training, momentum, eps, affine)
    wb = tuple(a for a in (weight, bias) if a is not None)
    return op(x, *wb)


def layer_norm(
    x: Any,
    normalized_shape: int | Sequence[int],
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalization over the trailing ``normalized_shape`` axes, as
    ``torch.nn.functional.layer_norm``: ``(x - mean) / sqrt(var + eps) · weight + bias``.

    Shape:
        x: (..., *normalized_shape); weight, bias: normalized_shape -> x.shape
    """
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[len(x.shape) - len(ns) :]) != ns or len(ns) > len(x.shape):
        raise ValueError(
            f"layer_norm: input of shape {tuple(x.shape)} does not end with normalized_shape {ns}"
        )
    wb = tuple(a for a in (weight, bias) if a is not None)
    return LayerNorm(len(ns), eps, (weight is not None, bias is not None))(x, *wb)

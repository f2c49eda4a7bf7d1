"""SyncBatchNorm: batch normalization with statistics over the whole global batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.ops.norm import update_running_stats
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from . import _world as W
from .collectives import allreduce

__all__ = ["SyncBatchNorm"]


def _raw(a: Any) -> Any:
    return a.data if isinstance(a, Tensor) else a


class _SyncBatchNormFn(Function):
    """Fused batch normalization whose per-channel sums are Allreduced over all ranks:
    forward reduces [count, Σx] then Σ(x - mean)² (two passes, as the single-process op);
    backward reduces [Σgy, Σgy·x̂] in one buffer."""

    def __init__(self, running_mean: Any, running_var: Any, momentum: float,
                 eps: float) -> None:
        self.running_mean = _raw(running_mean)
        self.running_var = _raw(running_var)
        self.momentum = float(momentum)
        self.eps = float(eps)

    def forward(self, x: Any, *wb: Any) -> Any:
        xp = get_array_module(x)
        c = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, c) + (1,) * (x.ndim - 2)
        dt = x.dtype.type
        stats = xp.empty(c + 1, dtype=np.float64)
        stats[0] = x.size // c
        stats[1:] = x.sum(axis=axes, dtype=np.float64) if x.size else 0.0
        allreduce(stats, "sum")
        m = int(round(float(stats[0])))
        if m < 2:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all "
                             f"ranks when training, got {m}")
        mean = (stats[1:] / m).astype(x.dtype).reshape(bshape)
        xc = x - mean
        sq = (xc * xc).sum(axis=axes).astype(x.dtype)
        allreduce(sq, "sum")
        var = (sq * dt(1.0 / m)).reshape(bshape)
        inv_std = 1.0 / xp.sqrt(var + dt(self.eps))
        if self.running_mean is not None:
            update_running_stats(self.running_mean, self.running_var, mean, var, m,
                                 self.momentum)
        xhat = xc
        xhat *= inv_std
        y = xhat
        if wb:
            y = xhat * wb[0].reshape(bshape)
            if len(wb) > 1:
                y += wb[1].reshape(bshape)
        if self.requires_grad:
            self.xhat, self.inv_std, self.axes, self.bshape, self.m = xhat, inv_std, axes, \
                bshape, m
            self.gamma = wb[0] if wb else None
            if y is xhat:
                y = xhat.copy()
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # Per rank: gγ = Σ gy·x̂, gβ = Σ gy over its own examples (the optimizer averages
        # them); gx = k·(m·gy - Σgy - x̂·Σ(gy·x̂)) with the sums and m over all ranks.
        xp = get_array_module(gy)
        needs = self.needs_input_grad
        xhat, inv_std, axes, bshape, m = self.xhat, self.inv_std, self.axes, self.bshape, self.m
        c = xhat.shape[1]
        local = xp.empty((2, c), dtype=gy.dtype)
        local[0] = gy.sum(axis=axes)
        local[1] = (gy * xhat).sum(axis=axes)
        gw = local[1].copy() if len(needs) > 1 and needs[1] else None
        gb = local[0].copy() if len(needs) > 2 and needs[2] else None
        gx = None
        if needs[0]:
            allreduce(local, "sum")
            sum_gy, sum_gyx = local[0].reshape(bshape), local[1].reshape(bshape)
            scale = inv_std if self.gamma is None else self.gamma.reshape(bshape) * inv_std
            k = scale * gy.dtype.type(1.0 / m)
            gx = gy * (k * gy.dtype.type(m))
            gx -= xhat * (k * sum_gyx)
            gx -= k * sum_gy
        return (gx, gw, gb)[: len(needs)]


class SyncBatchNorm(_BatchNorm):
    """Batch normalization whose training statistics are those of the global batch (all
    ranks' examples together), as ``torch.nn.SyncBatchNorm``; with one process, or in eval
    mode, it is exactly ``BatchNorm1d``/``BatchNorm2d``.

    Every rank must call it in the same order (it runs collectives in forward and
    backward). Convert a model's batch norms with :meth:`convert_sync_batchnorm`.

    Args:
        num_features: C, the channels.
        eps, momentum, affine, track_running_stats: as ``BatchNorm2d``.

    Shape:
        (N, C, *) -> same shape.
    """

    ranks = (2, 3, 4, 5)
    layout = "(N, {c}, ...)"

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm: expected input of shape (N, {self.num_features}"
                             f", ...), got {tuple(x.shape)}")
        if not (self.training or self.running_mean is None) or W.world_size() == 1:
            return super().forward(x)
        momentum, count = self.momentum, self.num_batches_tracked
        tracking = self.running_mean is not None
        if tracking and momentum is None:  # cumulative moving average, as BatchNorm
            if count is None:
                self.register_buffer("num_batches_tracked", np.zeros((), np.int64))
                count = self.num_batches_tracked
            momentum = 1.0 / (int(count.data) + 1)
        op = _SyncBatchNormFn(self.running_mean, self.running_var,
                              0.0 if momentum is None else momentum, self.eps)
        wb = tuple(a for a in (self.weight, self.bias) if a is not None)
        y = op(x, *wb)
        if tracking and count is not None:
            count.data += 1
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """Replace every BatchNorm1d/2d in ``module`` by a SyncBatchNorm sharing its
        parameters, running statistics and mode; returns the module (or the new layer
        when ``module`` itself is a batch norm). In place, as PyTorch's."""
        if isinstance(module, _BatchNorm) and not isinstance(module, cls):
            new = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats)
            if module.affine:
                new.weight, new.bias = module.weight, module.bias
            if module.track_running_stats:
                new.running_mean, new.running_var = module.running_mean, module.running_var
                if module.num_batches_tracked is not None:
                    new.register_buffer("num_batches_tracked", module.num_batches_tracked)
            new.train(module.training)
            return new
        for name, child in list(module._modules.items()):
            if child is not None:
                converted = cls.convert_sync_batchnorm(child)
                if converted is not child:
                    module._modules[name] = converted
        return module

"""Normalization layers: BatchNorm1d, BatchNorm2d (PyTorch's running statistics),
LayerNorm, GroupNorm and InstanceNorm2d."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..autograd.ops.norm import batch_norm, layer_norm
from ..autograd.ops.norm_group import group_norm, instance_norm
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from . import init as _init
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d"]


def _check_momentum(name: str, momentum: float | None) -> float | None:
    if momentum is None:
        return None
    if not 0.0 <= float(momentum) <= 1.0:
        raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
    return float(momentum)


def _norm_state(m: Module, c: int, affine: bool, track: bool, count: bool = True) -> None:
    """PyTorch's parameters and buffers of a per-channel norm layer: weight (ones) and bias
    (zeros) if ``affine``; running_mean, running_var and (if ``count``)
    num_batches_tracked if ``track``."""
    dtype = get_default_dtype()
    if affine:
        m.weight = Parameter(_init.ones(c, dtype))
        m.bias = Parameter(_init.zeros(c, dtype))
    else:
        m.register_parameter("weight", None)
        m.register_parameter("bias", None)
    m.register_buffer("running_mean", Tensor(_init.zeros(c, dtype)) if track else None)
    m.register_buffer("running_var", Tensor(_init.ones(c, dtype)) if track else None)
    m.register_buffer("num_batches_tracked",
                      np.zeros((), np.int64) if track and count else None)


def _reset_running_stats(m: Module) -> None:
    if m.running_mean is not None:
        m.running_mean.data[...] = 0
        m.running_var.data[...] = 1
    if m.num_batches_tracked is not None:
        m.num_batches_tracked.data[...] = 0


class _BatchNorm(Module):
    ranks: tuple[int, ...] = ()
    layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if num_features < 1:
            raise ValueError(f"{name}: num_features must be >= 1, got {num_features}")
        if eps <= 0:
            raise ValueError(f"{name}: eps must be positive, got {eps!r}")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = _check_momentum(name, momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        # the counter is state only for the cumulative average: kept with momentum=None
        # (PyTorch's keys); otherwise None, so checkpoints without it load as before
        # (torch fills in a missing counter when loading).
        _norm_state(self, self.num_features, self.affine, self.track_running_stats,
                    count=self.momentum is None)

    def reset_running_stats(self) -> None:
        """Running mean back to 0, running variance to 1, num_batches_tracked to 0."""
        _reset_running_stats(self)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: expected input of shape {self.layout.format(c=self.num_features)}, "
                f"got {tuple(x.shape)}"
            )
        tracking = self.training and self.running_mean is not None
        momentum = self.momentum
        count = self.num_batches_tracked
        if tracking and momentum is None:  # cumulative moving average, as torch
            if count is None:  # momentum set to None after construction
                self.register_buffer("num_batches_tracked", np.zeros((), np.int64))
                count = self.num_batches_tracked
            momentum = 1.0 / (int(count.data) + 1)
        y = batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=self.training or self.running_mean is None,
            momentum=0.0 if momentum is None else momentum,
            eps=self.eps,
        )
        if tracking and count is not None:
            count.data += 1
        return y

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of features, as ``torch.nn.BatchNorm1d``.

    In training, normalizes with the batch mean and biased variance per feature and updates
    ``running_mean`` / ``running_var`` in place: ``running = (1 - momentum)·running +
    momentum·batch_stat`` (unbiased variance for ``running_var``). In eval mode, normalizes
    with the running statistics. Then scales by ``weight`` (γ) and shifts by ``bias`` (β).
    With ``momentum=None`` the buffer ``num_batches_tracked`` (PyTorch's) counts the
    training batches; otherwise it is None, so checkpoints keep the four keys they had.

    Args:
        num_features: C, the number of features (channels).
        eps: added to the variance before the square root.
        momentum: weight of the new batch statistic in the running average; None for the
            cumulative average (momentum 1 / num_batches_tracked), as PyTorch.
        affine: learn γ and β.
        track_running_stats: keep running statistics (else batch statistics, in eval too).

    Shape:
        (N, C) or (N, C, L) -> same shape (N may be 0 in eval mode).
    """

    ranks = (2, 3)
    layout = "(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of image channels, as ``torch.nn.BatchNorm2d``: statistics per
    channel over the batch and both spatial axes. See ``BatchNorm1d`` for the rules.

    Shape:
        (N, C, H, W) -> same shape.
    """

    ranks = (4,)
    layout = "(N, {c}, H, W)"


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` axes, as
    ``torch.nn.LayerNorm``: ``(x - mean) / sqrt(var + eps) · weight + bias`` with the
    statistics of each example (the same in training and eval).

    Args:
        normalized_shape: the trailing shape to normalize over (an int for the last axis).
        eps: added to the variance before the square root.
        elementwise_affine: learn ``weight`` (ones) and ``bias`` (zeros) of that shape.
        bias: with ``elementwise_affine``, learn the bias too (False: ``weight`` only).

    Shape:
        (..., *normalized_shape) -> same shape.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in ns)
        if not self.normalized_shape or min(self.normalized_shape) < 1:
            raise ValueError(f"LayerNorm: bad normalized_shape {normalized_shape!r}")
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = get_default_dtype()
        ns = self.normalized_shape
        affine = self.elementwise_affine
        self.register_parameter("weight", Parameter(_init.ones(ns, dtype)) if affine else None)
        self.register_parameter("bias", Parameter(_init.zeros(ns, dtype))
                                if affine and bias else None)

    def forward(self, x: Tensor) -> Tensor:
        ns = self.normalized_shape
        if x.ndim < len(ns) or tuple(x.shape[x.ndim - len(ns) :]) != ns:
            raise ValueError(
                f"LayerNorm: expected input of shape (..., {', '.join(map(str, ns))}), "
                f"got {tuple(x.shape)}"
            )
        return layer_norm(x, ns, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Group normalization, as ``torch.nn.GroupNorm``: the C channels of each example are
    split into ``num_groups`` groups, each normalized with its own mean and biased variance
    over its channels and positions; then a per-channel ``weight`` and ``bias``. The same in
    training and eval (no running statistics).

    Args:
        num_groups: G, dividing ``num_channels`` (G = 1: layer norm over (C, *);
            G = C: instance norm).
        num_channels: C.
        eps: added to the variance before the square root.
        affine: learn ``weight`` (ones) and ``bias`` (zeros), shape (C,).

    Shape:
        (N, C, *) -> same shape.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True) -> None:
        super().__init__()
        if num_groups < 1 or num_channels < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups}), both >= 1")
        if eps <= 0:
            raise ValueError(f"GroupNorm: eps must be positive, got {eps!r}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps = float(eps)
        self.affine = bool(affine)
        dtype = get_default_dtype()
        c = self.num_channels
        self.register_parameter("weight", Parameter(_init.ones(c, dtype)) if affine else None)
        self.register_parameter("bias", Parameter(_init.zeros(c, dtype)) if affine else None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input of shape (N, {self.num_channels}, "
                             f"*), got {tuple(x.shape)}")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class InstanceNorm2d(Module):
    """Instance normalization of image channels, as ``torch.nn.InstanceNorm2d``: each
    channel of each image normalized over its H·W positions, then (``affine``) scaled and
    shifted per channel.

    With ``track_running_stats``, training also updates ``running_mean`` / ``running_var``
    (the batch mean of the per-instance mean and unbiased variance, weighted by
    ``momentum``), and eval mode normalizes with them; otherwise every call uses the
    instance statistics.

    Args:
        num_features: C.
        eps: added to the variance before the square root.
        momentum: weight of the new statistic in the running average (None counts as 0,
            as in PyTorch).
        affine: learn ``weight`` (ones) and ``bias`` (zeros), shape (C,).
        track_running_stats: keep running statistics for eval mode.

    Shape:
        (N, C, H, W) or unbatched (C, H, W) -> same shape.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"InstanceNorm2d: num_features must be >= 1, got {num_features}")
        if eps <= 0:
            raise ValueError(f"InstanceNorm2d: eps must be positive, got {eps!r}")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = _check_momentum("InstanceNorm2d", momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        _norm_state(self, self.num_features, self.affine, self.track_running_stats)

    def reset_running_stats(self) -> None:
        """Running mean back to 0, running variance to 1, num_batches_tracked to 0."""
        _reset_running_stats(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d: expected input of shape (N, C, H, W) or "
                             f"(C, H, W), got {tuple(x.shape)}")
        c = x.shape[-3]
        if c != self.num_features:
            if self.affine or self.track_running_stats:
                raise ValueError(f"InstanceNorm2d: expected {self.num_features} channels, "
                                 f"got input of shape {tuple(x.shape)}")
            warnings.warn(f"InstanceNorm2d: input has {c} channels but num_features is "
                          f"{self.num_features}", stacklevel=2)  # torch warns too
        xb = x.reshape((1,) + tuple(x.shape)) if x.ndim == 3 else x
        y = instance_norm(xb, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          0.0 if self.momentum is None else self.momentum, self.eps)
        return y.reshape(x.shape) if x.ndim == 3 else y

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")

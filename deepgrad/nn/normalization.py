"""Normalization layers: BatchNorm1d, BatchNorm2d (PyTorch's running statistics) and
LayerNorm."""

from __future__ import annotations

from collections.abc import Sequence

from ..autograd.ops.norm import batch_norm, layer_norm
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from . import init as _init
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class _BatchNorm(Module):
    ranks: tuple[int, ...] = ()
    layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if num_features < 1:
            raise ValueError(f"{name}: num_features must be >= 1, got {num_features}")
        if momentum is None:
            raise ValueError(f"{name}: momentum=None (a cumulative average) is not supported")
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1], got {momentum!r}")
        if eps <= 0:
            raise ValueError(f"{name}: eps must be positive, got {eps!r}")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dtype = get_default_dtype()
        c = self.num_features
        if affine:
            self.weight = Parameter(_init.ones(c, dtype))
            self.bias = Parameter(_init.zeros(c, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        track = track_running_stats
        self.register_buffer("running_mean", Tensor(_init.zeros(c, dtype)) if track else None)
        self.register_buffer("running_var", Tensor(_init.ones(c, dtype)) if track else None)

    def reset_running_stats(self) -> None:
        """Running mean back to 0 and running variance back to 1 (in place)."""
        if self.running_mean is not None:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: expected input of shape {self.layout.format(c=self.num_features)}, "
                f"got {tuple(x.shape)}"
            )
        use_batch = self.training or self.running_mean is None
        return batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch,
            momentum=self.momentum,
            eps=self.eps,
        )

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

    Args:
        num_features: C, the number of features (channels).
        eps: added to the variance before the square root.
        momentum: weight of the new batch statistic in the running average.
        affine: learn γ and β.
        track_running_stats: keep running statistics (else batch statistics always).

    Shape:
        (N, C) or (N, C, L) -> same shape.
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

    Shape:
        (..., *normalized_shape) -> same shape.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
    ) -> None:
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in ns)
        if not self.normalized_shape or min(self.normalized_shape) < 1:
            raise ValueError(f"LayerNorm: bad normalized_shape {normalized_shape!r}")
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = get_default_dtype()
        if elementwise_affine:
            self.weight = Parameter(_init.ones(self.normalized_shape, dtype))
            self.bias = Parameter(_init.zeros(self.normalized_shape, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

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

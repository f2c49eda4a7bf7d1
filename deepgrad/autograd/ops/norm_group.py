"""Group and instance normalization as one fused op with a hand-written backward: the
statistics of each example over groups of channels (instance norm: one channel a group)."""

from __future__ import annotations

from typing import Any

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from .norm import _affine, _affine_grads, _normalized_backward, _raw, batch_norm

__all__ = ["group_norm", "instance_norm"]


class GroupNorm(Function):
    """Normalize (N, C, *) over each example's groups of C / G channels (and all of *),
    then scale and shift per channel. With running statistics (instance norm, G = C) the
    per-instance mean and unbiased variance, averaged over the batch, update them in place."""

    def __init__(self, groups: int, eps: float, affine: tuple[bool, bool],
                 running: tuple[Any, Any] | None = None, momentum: float = 0.1) -> None:
        self.groups = groups
        self.eps = float(eps)
        self.affine = affine
        self.running = running
        self.momentum = float(momentum)

    def forward(self, x: Any, *wb: Any) -> Any:
        xp = get_array_module(x)
        n, c, g = x.shape[0], x.shape[1], self.groups
        m = c // g
        for d in x.shape[2:]:
            m *= d
        xg = x.reshape(n, g, m)
        dt = x.dtype.type
        mean = xg.mean(axis=2, keepdims=True)
        xc = xg - mean
        var = (xc * xc).mean(axis=2, keepdims=True)  # biased, used to normalize
        inv_std = 1.0 / xp.sqrt(var + dt(self.eps))
        if self.running is not None and n:
            self._update_running(mean[:, :, 0], var[:, :, 0], m)
        xhat = xc
        xhat *= inv_std
        bshape = (1, c) + (1,) * (x.ndim - 2)
        gamma, y = _affine(xhat.reshape(x.shape), wb, self.affine, bshape)
        if self.requires_grad:
            self.xhat, self.inv_std, self.gamma = xhat, inv_std, gamma
            if not any(self.affine):
                y = y.copy()  # the output may be changed in place by a later op
        return y

    def _update_running(self, mean: Any, var: Any, m: int) -> None:
        # running = (1 - momentum) running + momentum batch-mean of the per-instance stats
        rm, rv = self.running
        mom = self.momentum
        rm *= rm.dtype.type(1.0 - mom)
        rm += (mean.mean(axis=0) * mom).astype(rm.dtype, copy=False)
        rv *= rv.dtype.type(1.0 - mom)
        rv += (var.mean(axis=0) * (mom * m / (m - 1))).astype(rv.dtype, copy=False)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # x̂ uses each group's own statistics: with gx̂ = γ·gy (per channel),
        #   gx = inv_std/M · (M·gx̂ - Σ_group gx̂ - x̂·Σ_group(gx̂·x̂));
        # gγ = Σ_{n, *} gy·x̂, gβ = Σ_{n, *} gy
        needs = self.needs_input_grad
        xhat, shape = self.xhat, gy.shape
        gx = None
        if needs[0]:
            gxhat = gy if self.gamma is None else gy * self.gamma
            gx = _normalized_backward(gxhat.reshape(xhat.shape), xhat, self.inv_std, (2,))
            gx = gx.reshape(shape)
        gw = gb = None
        if any(needs[1:]):
            axes = (0,) + tuple(range(2, gy.ndim))
            gw = (gy * xhat.reshape(shape)).sum(axis=axes) if self.affine[0] else None
            gb = gy.sum(axis=axes) if self.affine[1] else None
        return (gx, *_affine_grads(needs, self.affine, gw, gb))


def _per_channel(name: str, what: str, a: Any, c: int) -> None:
    if a is not None and tuple(a.shape) != (c,):
        raise ValueError(f"{name}: {what} must have shape ({c},) (one value per channel), "
                         f"got {tuple(a.shape)}")


def group_norm(x: Any, num_groups: int, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """Group normalization, as ``torch.nn.functional.group_norm``: each example's channels
    are split into ``num_groups`` groups, each normalized with its own mean and biased
    variance (over its channels and all spatial positions), then ``weight`` scales and
    ``bias`` shifts each channel. The same in training and eval.

    Args:
        x: input (N, C, *).
        num_groups: G, dividing C.
        weight, bias: optional per-channel scale γ and shift β, shape (C,).
        eps: added to the variance before the square root.

    Shape:
        x: (N, C, *); weight, bias: (C,) -> x.shape
    """
    name = "group_norm"
    if x.ndim < 2:
        raise ValueError(f"{name}: expected input (N, C, *), got shape {tuple(x.shape)}")
    c = x.shape[1]
    if num_groups < 1 or c % num_groups:
        raise ValueError(f"{name}: num_groups ({num_groups}) must be >= 1 and divide the "
                         f"number of channels ({c})")
    _per_channel(name, "weight", weight, c)
    _per_channel(name, "bias", bias, c)
    wb = tuple(a for a in (weight, bias) if a is not None)
    return GroupNorm(int(num_groups), eps, (weight is not None, bias is not None))(x, *wb)


def instance_norm(x: Any, running_mean: Any = None, running_var: Any = None,
                  weight: Any = None, bias: Any = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalization, as ``torch.nn.functional.instance_norm``: each channel of
    each example normalized over its spatial positions (group norm with one channel a
    group), then scaled and shifted per channel.

    With ``use_input_stats`` (training, or no running statistics) the running statistics,
    if given, are updated IN PLACE with the batch mean of the per-instance mean and
    unbiased variance: ``running = (1 - momentum)·running + momentum·stat``. Otherwise the
    running statistics normalize (as batch norm in eval).

    Args:
        x: input (N, C, *).
        running_mean, running_var: per-channel running statistics, or None.
        weight, bias: optional per-channel scale γ and shift β.
        use_input_stats: normalize with each instance's statistics.
        momentum: weight of the new statistic in the running average.
        eps: added to the variance before the square root.

    Shape:
        x: (N, C, *); running stats, weight, bias: (C,) -> x.shape
    """
    name = "instance_norm"
    if x.ndim < 3:
        raise ValueError(f"{name}: expected input (N, C, *) with spatial axes, got shape "
                         f"{tuple(x.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{name}: give both running_mean and running_var, or neither")
    c = x.shape[1]
    for what, a in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _per_channel(name, what, a, c)
    if not use_input_stats:
        if running_mean is None:
            raise ValueError(f"{name}: use_input_stats=False needs running_mean and "
                             "running_var")
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = 1
    for d in x.shape[2:]:
        spatial *= d
    if spatial <= 1:
        raise ValueError(f"{name}: expected more than 1 spatial element when training, got "
                         f"input of shape {tuple(x.shape)}")
    running = None if running_mean is None else (_raw(running_mean), _raw(running_var))
    wb = tuple(a for a in (weight, bias) if a is not None)
    op = GroupNorm(c, eps, (weight is not None, bias is not None), running, momentum)
    return op(x, *wb)

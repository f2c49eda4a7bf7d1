"""Resizing layers: Upsample (nearest, bilinear, linear), UpsamplingNearest2d and
UpsamplingBilinear2d, as PyTorch's."""

from __future__ import annotations

from typing import Any

from ..autograd.ops.upsample import MODES, _sizes, interpolate
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """Resize images (or sequences), as ``torch.nn.Upsample`` (see
    ``deepgrad.nn.functional.interpolate`` for the index rules).

    Args:
        size: output spatial size (an int for every axis, or one per axis).
        scale_factor: multiplier of each spatial size; exactly one of the two.
        mode: ``"nearest"``, ``"bilinear"`` (images) or ``"linear"`` (sequences).
        align_corners: for the linear modes: corner pixels' centers map onto each other.
        recompute_scale_factor: take the source indices from the output size.

    Shape:
        (N, C, H, W) -> (N, C, OH, OW) with ``OH = size`` or ``floor(H·scale_factor)``;
        (N, C, L) -> (N, C, OL).
    """

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        if mode not in MODES:
            raise ValueError(f"{name}: mode must be one of {MODES}, got {mode!r}")
        if mode == "nearest" and align_corners is not None:
            raise ValueError(f"{name}: align_corners only applies to the linear modes")
        nd = len(size) if isinstance(size, tuple | list) else (
            len(scale_factor) if isinstance(scale_factor, tuple | list) else 1)
        _sizes(name, (1,) * nd, size, 1.0 if scale_factor is not None else None, None)
        if scale_factor is not None:  # check the factor itself (sizes of 1 are not)
            _sizes(name, (10**6,) * nd, None, scale_factor, None)
        self.size = tuple(size) if isinstance(size, list) else size
        self.scale_factor = (tuple(scale_factor) if isinstance(scale_factor, list)
                             else scale_factor)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        s = (f"size={self.size}" if self.scale_factor is None
             else f"scale_factor={self.scale_factor}")
        s += f", mode={self.mode!r}"
        if self.align_corners is not None:
            s += f", align_corners={self.align_corners}"
        return s


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode="nearest")``, as ``torch.nn.UpsamplingNearest2d``.

    Shape:
        (N, C, H, W) -> (N, C, OH, OW)
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode="bilinear", align_corners=True)``, as
    ``torch.nn.UpsamplingBilinear2d``.

    Shape:
        (N, C, H, W) -> (N, C, OH, OW)
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, "bilinear", align_corners=True)

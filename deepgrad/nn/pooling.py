"""Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), GlobalAvgPool2d."""

from __future__ import annotations

from typing import Any

from ..autograd.ops.conv import _pair
from ..autograd.ops.pool import adaptive_avg_pool2d, avg_pool2d, global_avg_pool2d, max_pool2d
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "GlobalAvgPool2d"]


def _check_nchw(layer: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"{layer}: expected input of shape (N, C, H, W), got {tuple(x.shape)}")


class _Pool2d(Module):
    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(
                f"{type(self).__name__}: kernel_size and stride must be >= 1, "
                f"got {kernel_size!r} and {stride!r}"
            )
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"{type(self).__name__}: padding {padding!r} must be at most half the kernel "
                f"{self.kernel_size}"
            )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling, as ``torch.nn.MaxPool2d`` (padding counts as -inf; the gradient goes to
    the first maximum of each window).

    Args:
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows; defaults to ``kernel_size``.
        padding: implicit -inf padding, at most half the kernel.

    Shape:
        (N, C, H, W) -> (N, C, OH, OW) with ``OH = (H + 2·ph - kh) // sh + 1``.
    """

    def forward(self, x: Tensor) -> Tensor:
        _check_nchw("MaxPool2d", x)
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Average pooling, as ``torch.nn.AvgPool2d`` (zero padding counts in the average).

    Args:
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows; defaults to ``kernel_size``.
        padding: implicit zero padding, at most half the kernel.

    Shape:
        (N, C, H, W) -> (N, C, OH, OW) with ``OH = (H + 2·ph - kh) // sh + 1``.
    """

    def forward(self, x: Tensor) -> Tensor:
        _check_nchw("AvgPool2d", x)
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """Adaptive average pooling; only ``output_size=1`` (global average) is supported.

    Shape:
        (N, C, H, W) -> (N, C, 1, 1)
    """

    def __init__(self, output_size: Any = 1) -> None:
        super().__init__()
        if output_size not in (1, (1, 1), [1, 1]):
            raise ValueError(
                f"AdaptiveAvgPool2d: only output_size 1 is supported, got {output_size!r}; "
                f"use AvgPool2d for other sizes"
            )
        self.output_size = 1

    def forward(self, x: Tensor) -> Tensor:
        _check_nchw("AdaptiveAvgPool2d", x)
        return adaptive_avg_pool2d(x, 1)

    def extra_repr(self) -> str:
        return "output_size=1"


class GlobalAvgPool2d(Module):
    """Mean over the spatial axes (Keras's GlobalAveragePooling2D).

    Shape:
        (N, C, H, W) -> (N, C)
    """

    def forward(self, x: Tensor) -> Tensor:
        _check_nchw("GlobalAvgPool2d", x)
        return global_avg_pool2d(x)

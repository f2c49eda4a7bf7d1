"""Pooling layers, as PyTorch's: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool2d,
AdaptiveMaxPool2d, MaxUnpool1d/2d, and GlobalAvgPool2d (Keras's GlobalAveragePooling2D)."""

from __future__ import annotations

from typing import Any

from ..autograd.ops.conv import _pair, _single
from ..autograd.ops.pool import AvgPool2d as _AvgOp
from ..autograd.ops.pool import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    global_avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from ..autograd.ops.pool_adaptive import _output_size
from ..autograd.tensor import Tensor
from .module import Module

__all__ = [
    "MaxPool2d", "AvgPool2d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d", "MaxUnpool2d", "MaxUnpool1d", "GlobalAvgPool2d",
]


def _check(layer: Module, x: Tensor, nd: int) -> None:
    names = "H, W" if nd == 2 else "L"
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{type(layer).__name__}: expected input of shape (N, C, {names}) or (C, {names}), "
            f"got {tuple(x.shape)}"
        )


class _Pool(Module):
    nd = 2

    def __init__(self, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        tup = _pair if self.nd == 2 else (lambda v, n: (_single(v, n),))
        self.kernel_size = tup(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else tup(stride, "stride")
        self.padding = tup(padding, "padding")
        self.dilation = tup(dilation, "dilation")
        self.ceil_mode = bool(ceil_mode)
        one = (1,) * (2 - self.nd)  # the 1-D layers run the 2-D op on height-1 images
        zero = (0,) * (2 - self.nd)
        # the op checks the arguments (naming this layer) as each call would
        _AvgOp(one + self.kernel_size, one + self.stride, zero + self.padding,
               one + self.dilation, ceil_mode, name=type(self).__name__)

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.ceil_mode:
            s += ", ceil_mode=True"
        return s


class MaxPool2d(_Pool):
    """Max pooling, as ``torch.nn.MaxPool2d`` (padding counts as -inf; the gradient goes to
    the first maximum of each window).

    Args:
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows; defaults to ``kernel_size``.
        padding: implicit -inf padding, at most half the kernel.
        dilation: spacing between the window's taps.
        return_indices: also return the flat index of each maximum (for ``MaxUnpool2d``).
        ceil_mode: round the output size up (partial windows at the bottom/right).

    Shape:
        (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) with
        ``OH = (H + 2·ph - dh·(kh - 1) - 1) // sh + 1`` (rounded up with ceil_mode).
    """

    def __init__(self, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = bool(return_indices)

    def forward(self, x: Tensor) -> Any:
        _check(self, x, 2)
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class MaxPool1d(MaxPool2d):
    """Max pooling over sequences, as ``torch.nn.MaxPool1d`` (arguments as
    :class:`MaxPool2d`, single ints).

    Shape:
        (N, C, L) or (C, L) -> (N, C, OL) with ``OL = (L + 2·p - d·(k - 1) - 1) // s + 1``.
    """

    nd = 1

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0,
                 dilation: int = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, dilation, return_indices, ceil_mode)

    def forward(self, x: Tensor) -> Any:
        _check(self, x, 1)
        return max_pool1d(x, self.kernel_size[0], self.stride[0], self.padding[0],
                          self.dilation[0], self.ceil_mode, self.return_indices)


class AvgPool2d(_Pool):
    """Average pooling, as ``torch.nn.AvgPool2d``.

    Args:
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows; defaults to ``kernel_size``.
        padding: implicit zero padding, at most half the kernel.
        ceil_mode: round the output size up (partial windows at the bottom/right).
        count_include_pad: whether the zero padding counts in each window's divisor.
        divisor_override: divide every window's sum by this instead.

    Shape:
        (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) with ``OH = (H + 2·ph - kh) // sh + 1``
        (rounded up with ceil_mode).
    """

    def __init__(self, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        _AvgOp(1, divisor_override=divisor_override, name=type(self).__name__)  # checks it
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        _check(self, x, 2)
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if not self.count_include_pad:
            s += ", count_include_pad=False"
        if self.divisor_override is not None:
            s += f", divisor_override={self.divisor_override}"
        return s


class AvgPool1d(AvgPool2d):
    """Average pooling over sequences, as ``torch.nn.AvgPool1d`` (arguments as
    :class:`AvgPool2d`, single ints, no divisor_override).

    Shape:
        (N, C, L) or (C, L) -> (N, C, OL) with ``OL = (L + 2·p - k) // s + 1``.
    """

    nd = 1

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def forward(self, x: Tensor) -> Tensor:
        _check(self, x, 1)
        return avg_pool1d(x, self.kernel_size[0], self.stride[0], self.padding[0],
                          self.ceil_mode, self.count_include_pad)


def _check_output_size(layer: str, output_size: Any) -> Any:
    """Reject a bad output_size at construction (None entries are resolved per input)."""
    _output_size(layer, output_size, (1, 1))
    return tuple(output_size) if isinstance(output_size, tuple | list) else output_size


class AdaptiveAvgPool2d(Module):
    """Adaptive average pooling to a fixed output size, as ``torch.nn.AdaptiveAvgPool2d``
    (PyTorch's windows: cell i pools ``floor(i·H/OH)`` to ``ceil((i+1)·H/OH)``).

    Args:
        output_size: (OH, OW), or an int for both; a None entry keeps that input size.
            Defaults to 1 (global average; PyTorch requires the argument).

    Shape:
        (N, C, H, W) or (C, H, W) -> (N, C, OH, OW)
    """

    def __init__(self, output_size: Any = 1) -> None:
        super().__init__()
        self.output_size = _check_output_size("AdaptiveAvgPool2d", output_size)

    def forward(self, x: Tensor) -> Tensor:
        _check(self, x, 2)
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Adaptive max pooling to a fixed output size, as ``torch.nn.AdaptiveMaxPool2d``.

    Args:
        output_size: (OH, OW), or an int for both; a None entry keeps that input size.
        return_indices: also return each maximum's flat index into its (H, W) plane.

    Shape:
        (N, C, H, W) or (C, H, W) -> (N, C, OH, OW)
    """

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = _check_output_size("AdaptiveMaxPool2d", output_size)
        self.return_indices = bool(return_indices)

    def forward(self, x: Tensor) -> Any:
        _check(self, x, 2)
        return adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxUnpool2d(Module):
    """Partial inverse of :class:`MaxPool2d`, as ``torch.nn.MaxUnpool2d``: each value is put
    back at its index, zeros elsewhere.

    Args:
        kernel_size, stride, padding: those of the pooling being inverted.

    Shape:
        (N, C, h, w) or (C, h, w) and indices of that shape -> (N, C, H, W) with
        ``H = (h - 1)·sh - 2·ph + kh`` unless ``output_size`` is passed to ``forward``.
    """

    nd = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        tup = _pair if self.nd == 2 else (lambda v, n: (_single(v, n),))
        self.kernel_size = tup(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else tup(stride, "stride")
        self.padding = tup(padding, "padding")
        if min(self.kernel_size + self.stride) < 1:
            raise ValueError(f"{type(self).__name__}: kernel_size and stride must be >= 1, "
                             f"got {kernel_size!r} and {stride!r}")

    def forward(self, x: Tensor, indices: Any, output_size: Any = None) -> Tensor:
        _check(self, x, self.nd)
        if self.nd == 1:
            return max_unpool1d(x, indices, self.kernel_size[0], self.stride[0],
                                self.padding[0], output_size)
        return max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding,
                            output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(MaxUnpool2d):
    """Partial inverse of :class:`MaxPool1d`, as ``torch.nn.MaxUnpool1d``.

    Shape:
        (N, C, l) or (C, l) and indices of that shape -> (N, C, L) with
        ``L = (l - 1)·s - 2·p + k`` unless ``output_size`` is passed to ``forward``.
    """

    nd = 1


class GlobalAvgPool2d(Module):
    """Mean over the spatial axes (Keras's GlobalAveragePooling2D).

    Shape:
        (N, C, H, W) -> (N, C)
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(
                f"GlobalAvgPool2d: expected input of shape (N, C, H, W), got {tuple(x.shape)}"
            )
        return global_avg_pool2d(x)

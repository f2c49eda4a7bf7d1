"""Convolution layer: Conv2d on NCHW images."""

from __future__ import annotations

from typing import Any

from ..autograd.ops.conv import _pair, conv2d
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from . import init as _init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-D convolution over a batch of multi-channel images, as ``torch.nn.Conv2d``.

    Runs as one fused op: im2col from strided views and one matrix product, with a backward
    of the same kind (see ``deepgrad.autograd.ops.conv``).

    Args:
        in_channels: channels of the input images.
        out_channels: number of filters (channels of the output).
        kernel_size: filter size, an int or (kh, kw).
        stride: step between windows, an int or (sh, sw).
        padding: an int, (ph, pw), ``"valid"`` (none) or ``"same"`` (stride 1 only).
        dilation: spacing between kernel taps, an int or (dh, dw).
        bias: whether to learn a per-filter bias.
        init: None for PyTorch's default (weight ``kaiming_uniform_(a=√5)``, bias uniform in
            ±1/√fan_in), or an initializer for the weight, by name (``"he_normal"``,
            ``"xavier_uniform"``, ... see ``deepgrad.nn.init.get_initializer``) or as a
            callable ``init(weight, rng=rng)``; the bias is then zeroed.
        rng: a ``numpy.random.Generator`` or a seed for the initialization.

    Shape:
        input (N, in_channels, H, W) -> output (N, out_channels, OH, OW); ``weight`` is
        (out_channels, in_channels, kh, kw) and ``bias`` (out_channels,).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        init: Any = None,
        rng: Any = None,
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(
                f"Conv2d: in_channels and out_channels must be >= 1, "
                f"got {in_channels} and {out_channels}"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(
                f"Conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}"
            )
        if padding == "same" and self.stride != (1, 1):
            raise ValueError(f"Conv2d: padding='same' needs stride 1, got {self.stride}")
        if init is not None:
            _init.get_initializer(init)  # unknown names fail here, not at the first reset
        self.init = init
        dtype = get_default_dtype()
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(_init.zeros(shape, dtype))
        if bias:
            self.bias = Parameter(_init.zeros(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng: Any = None) -> None:
        """Initialize the weight (and bias) from ``rng`` (a Generator, a seed or None)."""
        _init.reset_layer_(self.weight, self.bias, self.init, rng)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d: expected input of shape (N, {self.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding not in ((0, 0), "valid"):
            s += f", padding={self.padding!r}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s

"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d and ConvTranspose2d, as PyTorch's."""

from __future__ import annotations

from typing import Any

from ..autograd.ops.conv import _pair, _single, conv1d, conv2d
from ..autograd.ops.conv_pad import pad_mode
from ..autograd.ops.conv_transpose import conv_transpose1d, conv_transpose2d
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from . import init as _init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared construction: argument checks, parameters, initialization, repr."""

    nd = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
                 padding: Any, dilation: Any, groups: int, bias: bool, padding_mode: str,
                 init: Any, rng: Any, output_padding: Any = 0) -> None:
        super().__init__()
        name = type(self).__name__
        tup = _pair if self.nd == 2 else (lambda v, n: (_single(v, n),))
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels),
                       ("groups", groups)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups})"
            )
        if padding_mode not in (("zeros",) if self.transposed else PADDING_MODES):
            raise ValueError(
                f"{name}: padding_mode must be one of "
                f"{('zeros',) if self.transposed else PADDING_MODES}, got {padding_mode!r}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = tup(kernel_size, "kernel_size")
        self.stride = tup(stride, "stride")
        self.dilation = tup(dilation, "dilation")
        self.output_padding = tup(output_padding, "output_padding")
        if min(self.kernel_size + self.stride + self.dilation) < 1:
            raise ValueError(
                f"{name}: kernel_size, stride and dilation must be >= 1, got {kernel_size!r}, "
                f"{stride!r} and {dilation!r}"
            )
        if isinstance(padding, str):
            if self.transposed or padding not in ("same", "valid"):
                allowed = "an int" if self.transposed else "an int, 'same' or 'valid'"
                raise ValueError(f"{name}: padding must be {allowed}, got {padding!r}")
            if padding == "same" and set(self.stride) != {1}:
                raise ValueError(f"{name}: padding='same' needs stride 1, got {self.stride}")
            self.padding = padding
        else:
            self.padding = tup(padding, "padding")
        self.padding_mode = padding_mode
        if init is not None:
            _init.get_initializer(init)  # unknown names fail here, not at the first reset
        self.init = init
        dtype = get_default_dtype()
        if self.transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(_init.zeros(shape, dtype))
        if bias:
            self.bias = Parameter(_init.zeros(out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng: Any = None) -> None:
        """Initialize the weight (and bias) from ``rng`` (a Generator, a seed or None)."""
        _init.reset_layer_(self.weight, self.bias, self.init, rng)

    def _check_input(self, x: Tensor) -> None:
        spatial = ("L",) if self.nd == 1 else ("H", "W")
        ndim = self.nd + 2
        if x.ndim not in (ndim, ndim - 1) or x.shape[-self.nd - 1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}: expected input of shape "
                f"(N, {self.in_channels}, {', '.join(spatial)}) or "
                f"({self.in_channels}, {', '.join(spatial)}), got {tuple(x.shape)}"
            )

    def _mode_padded(self, x: Tensor) -> tuple[Tensor, Any]:
        """With a non-zero padding mode: the input padded by it and padding 0 for the op."""
        if self.padding_mode == "zeros":
            return x, self.padding
        if self.padding == "valid":
            return x, 0
        pads = []
        for i in range(self.nd):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                pads.append((total // 2, total - total // 2))  # as PyTorch: extra at the end
            else:
                pads.append((self.padding[i], self.padding[i]))
        return pad_mode(x, tuple(pads), self.padding_mode), 0

    def extra_repr(self) -> str:
        one = (1,) * self.nd
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding not in ((0,) * self.nd, "valid"):
            s += f", padding={self.padding!r}"
        if self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.dilation != one:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


_ARGS_DOC = """
    Args:
        in_channels: channels of the input.
        out_channels: number of filters (channels of the output).
        kernel_size: filter size{pair}.
        stride: step between windows{pair}.
        padding: {padding}
        dilation: spacing between kernel taps{pair}.
        groups: split channels into this many groups, each filter seeing only its group's
            input channels (``groups == in_channels``: depthwise). Both channel counts must
            be divisible by it.
        bias: whether to learn a per-filter bias.
        {extra}init: None for PyTorch's default (weight ``kaiming_uniform_(a=√5)``, bias
            uniform in ±1/√fan_in, fan_in = in_channels/groups·kernel area), or an
            initializer for the weight, by name (``"he_normal"``, ``"xavier_uniform"``, ...
            see ``deepgrad.nn.init.get_initializer``) or as a callable
            ``init(weight, rng=rng)``; the bias is then zeroed.
        rng: a ``numpy.random.Generator`` or a seed for the initialization.
"""
_CONV_PADDING = (
    "an int{pair}, ``\"valid\"`` (none) or ``\"same\"`` (stride 1 only; the\n"
    "            extra entry of an even kernel goes at the end, as PyTorch)."
)
_MODE_DOC = (
    "padding_mode: what fills the padding: ``\"zeros\"``, ``\"reflect\"``,\n"
    "            ``\"replicate\"`` or ``\"circular\"``.\n        "
)


class Conv2d(_ConvNd):
    __doc__ = (
        """2-D convolution over multi-channel images, as ``torch.nn.Conv2d``.

    Runs as one fused op: im2col from strided views and one matrix product (per group),
    with a backward of the same kind (see ``deepgrad.autograd.ops.conv``).
"""
        + _ARGS_DOC.format(pair=", an int or a pair",
                           padding=_CONV_PADDING.format(pair=", a pair"), extra=_MODE_DOC)
        + """
    Shape:
        input (N, in_channels, H, W) or unbatched (in_channels, H, W) -> output
        (N, out_channels, OH, OW) with ``OH = (H + 2·ph - dh·(kh - 1) - 1) // sh + 1``;
        ``weight`` is (out_channels, in_channels/groups, kh, kw) and ``bias``
        (out_channels,).
    """
    )

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", init: Any = None, rng: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, init, rng)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        x, padding = self._mode_padded(x)
        return conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups)


class Conv1d(_ConvNd):
    __doc__ = (
        """1-D convolution over multi-channel sequences, as ``torch.nn.Conv1d`` (the 2-D op
    on sequences of height 1).
"""
        + _ARGS_DOC.format(pair="", padding=_CONV_PADDING.format(pair=""), extra=_MODE_DOC)
        + """
    Shape:
        input (N, in_channels, L) or (in_channels, L) -> (N, out_channels, OL) with
        ``OL = (L + 2·p - d·(k - 1) - 1) // s + 1``; ``weight`` is
        (out_channels, in_channels/groups, k).
    """
    )
    nd = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, padding: int | str = 0, dilation: int = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", init: Any = None,
                 rng: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, init, rng)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        x, padding = self._mode_padded(x)
        return conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        """``output_padding``, or the one that gives ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        size = tuple(int(v) for v in output_size)[-self.nd:]
        if len(size) != self.nd:
            raise ValueError(f"{type(self).__name__}: output_size {output_size!r} needs "
                             f"{self.nd} spatial sizes")
        out = []
        for i in range(self.nd):
            n = x.shape[x.ndim - self.nd + i]
            least = ((n - 1) * self.stride[i] - 2 * self.padding[i]
                     + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = size[i] - least
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ValueError(
                    f"{type(self).__name__}: output_size {size} is not reachable from input "
                    f"{tuple(x.shape)}: axis {i} can be {least} to "
                    f"{least + max(self.stride[i], self.dilation[i]) - 1}"
                )
            out.append(extra)
        return tuple(out)


_T_PADDING = ("``dilation·(k - 1) - padding`` zero rows/columns are added to the\n"
              "            input's sides, i.e. ``padding`` is cropped from each side of the "
              "output{pair}.")
_T_EXTRA = ("output_padding: extra size on the bottom/right of the output (smaller than the\n"
            "            stride or the dilation); or pass ``output_size`` to ``forward``.\n"
            "        ")


class ConvTranspose2d(_ConvTransposeNd):
    __doc__ = (
        """Transposed 2-D convolution, as ``torch.nn.ConvTranspose2d``: the gradient of a
    convolution with respect to its input (GEMM + col2im, see
    ``deepgrad.autograd.ops.conv_transpose``), used to upsample learned features.
"""
        + _ARGS_DOC.format(pair=", an int or a pair", padding=_T_PADDING.format(pair=""),
                           extra=_T_EXTRA)
        + """
    Shape:
        input (N, in_channels, H, W) or (in_channels, H, W) -> (N, out_channels, OH, OW)
        with ``OH = (H - 1)·sh - 2·ph + dh·(kh - 1) + oph + 1``; ``weight`` is
        (in_channels, out_channels/groups, kh, kw).
    """
    )

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 output_padding: int | tuple[int, int] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | tuple[int, int] = 1, padding_mode: str = "zeros",
                 init: Any = None, rng: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, init, rng, output_padding)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        self._check_input(x)
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(x, output_size), self.groups,
                                self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    __doc__ = (
        """Transposed 1-D convolution, as ``torch.nn.ConvTranspose1d`` (the 2-D op on
    sequences of height 1).
"""
        + _ARGS_DOC.format(pair="", padding=_T_PADDING.format(pair=""), extra=_T_EXTRA)
        + """
    Shape:
        input (N, in_channels, L) or (in_channels, L) -> (N, out_channels, OL) with
        ``OL = (L - 1)·s - 2·p + d·(k - 1) + output_padding + 1``; ``weight`` is
        (in_channels, out_channels/groups, k).
    """
    )
    nd = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, output_padding: int = 0, groups: int = 1, bias: bool = True,
                 dilation: int = 1, padding_mode: str = "zeros", init: Any = None,
                 rng: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, init, rng, output_padding)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        self._check_input(x)
        return conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(x, output_size), self.groups,
                                self.dilation)

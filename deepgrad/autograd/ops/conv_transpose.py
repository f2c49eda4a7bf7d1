"""Transposed 2-D convolution ("deconvolution") as one fused op, built from conv2d's pieces.

``conv_transpose2d(x, W)`` is the input gradient of ``conv2d(·, W)`` evaluated at ``x``:
one GEMM per group ``W2^T @ x`` to columns, then col2im (one strided slice-add per kernel
offset) and a crop of the padding. Its backward is conv2d's forward: the input gradient is
``conv2d(gy, W)`` (im2col of the padded upstream gradient + one GEMM) and the weight
gradient reuses those columns, ``gW = Σ_n x_n @ cols_n^T``. No loop over examples or
pixels.
"""

from __future__ import annotations

from typing import Any

from ..function import Function
from ..tensor import Tensor
from .conv import (
    _batched,
    _col2im,
    _gemm_forward,
    _grad_cols,
    _grad_weight,
    _im2col,
    _pad,
    _pair,
    _single,
)
from .shape import reshape

__all__ = ["conv_transpose2d", "conv_transpose1d"]


def _out_size_t(size: int, k: int, s: int, p: int, d: int, op: int) -> int:
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


class ConvTranspose2d(Function):
    """Fused transposed convolution (the adjoint of :class:`~.conv.Conv2d`)."""

    def __init__(self, stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                 groups: int = 1, dilation: Any = 1) -> None:
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.output_padding = _pair(output_padding, "output_padding")
        self.dilation = _pair(dilation, "dilation")
        self.groups = groups
        if min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(
                f"conv_transpose2d: stride and dilation must be >= 1, got {stride!r} and "
                f"{dilation!r}"
            )
        for op, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if op >= max(s, d):
                raise ValueError(
                    f"conv_transpose2d: output_padding {output_padding!r} must be smaller than "
                    f"the stride {stride!r} or the dilation {dilation!r}"
                )

    def forward(self, x: Any, W: Any, b: Any = None) -> Any:
        if x.ndim != 4 or W.ndim != 4:
            raise ValueError(
                f"conv_transpose2d: expected input (N, C, H, W) or (C, H, W) and weight "
                f"(C, O/groups, kh, kw), got {tuple(x.shape)} and {tuple(W.shape)}"
            )
        n, c, h, w = x.shape
        cw, og, kh, kw = W.shape
        g = self.groups
        if cw != c:
            raise ValueError(
                f"conv_transpose2d: input has {c} channels but the weight {tuple(W.shape)} "
                f"expects {cw}"
            )
        if not isinstance(g, int) or isinstance(g, bool) or g < 1:
            raise ValueError(f"conv_transpose2d: groups must be a positive int, got {g!r}")
        if c % g:
            raise ValueError(
                f"conv_transpose2d: in_channels ({c}) must be divisible by groups ({g})"
            )
        o = og * g
        if b is not None and b.shape != (o,):
            raise ValueError(
                f"conv_transpose2d: bias must have shape ({o},), got {tuple(b.shape)}"
            )
        (sh, sw), (ph, pw), (dh, dw) = self.stride, self.padding, self.dilation
        oh = _out_size_t(h, kh, sh, ph, dh, self.output_padding[0])
        ow = _out_size_t(w, kw, sw, pw, dw, self.output_padding[1])
        if oh < 1 or ow < 1:
            raise ValueError(
                f"conv_transpose2d: padding {self.padding} leaves no output for input "
                f"{(h, w)} and kernel {(kh, kw)} (output size {(oh, ow)})"
            )
        # conv2d's input gradient with W as the conv weight (O_conv = C here, C_conv = O)
        gcols = _grad_cols(x, W, g)
        y = _col2im(gcols, (oh + 2 * ph, ow + 2 * pw), (ph, pw, oh, ow), self.stride,
                    self.dilation)
        if b is not None:
            y += b.reshape(1, o, 1, 1)
        if self.requires_grad:
            self.W = W
            self.x = x if self.needs_input_grad[1] else None
            self.in_hw = (h, w)
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # y = col2im(W2^T @ x)  =>  gx = W2 @ im2col(gy) (conv2d's forward on gy) and
        # gW = Σ_n x_n @ im2col(gy)_n^T; gb = Σ gy
        W = self.W
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        need_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        gx = gW = None
        if need_x or need_w:
            ph, pw = self.padding
            gpad = _pad(gy, (ph, ph, pw, pw))
            cols = _im2col(gpad, W.shape[2:], self.stride, self.dilation, self.in_hw)
            if need_x:
                n = gy.shape[0]
                gx = _gemm_forward(cols, W, self.groups).reshape(n, W.shape[0], *self.in_hw)
            if need_w:
                gW = _grad_weight(self.x, cols, W.shape, self.groups)
        gb = gy.sum(axis=(0, 2, 3)) if need_b else None
        return (gx, gW, gb)[: len(self.needs_input_grad)]


def conv_transpose2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d`` (same
    argument order): the gradient of ``conv2d`` with respect to its input, used to upsample.

    Args:
        x: input images, batched or one unbatched image.
        weight: filters, laid out (in_channels, out_channels/groups, kh, kw).
        bias: optional per-output-channel bias.
        stride: step of the corresponding convolution (the upsampling factor).
        padding: ``dilation·(k - 1) - padding`` zeros are added to both sides of the input,
            i.e. ``padding`` rows/columns are cropped from each side of the output.
        output_padding: extra rows/columns on the bottom/right of the output (to pick one
            of the input sizes a strided convolution maps to the same output size);
            smaller than the stride or the dilation.
        groups: channel groups, as in ``conv2d``.
        dilation: spacing between kernel taps.

    Shape:
        x: (N, C, H, W) or (C, H, W), weight: (C, O/groups, kh, kw), bias: (O,) ->
        (N, O, OH, OW) with ``OH = (H - 1)·sh - 2·ph + dh·(kh - 1) + oph + 1``.
    """
    x4, unbatched = _batched(x, 4, "conv_transpose2d", "(N, C, H, W) or (C, H, W)")
    op = ConvTranspose2d(stride, padding, output_padding, groups, dilation)
    y = op(x4, weight) if bias is None else op(x4, weight, bias)
    return reshape(y, y.shape[1:]) if unbatched else y


def conv_transpose1d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] = 0,
    output_padding: int | tuple[int] = 0,
    groups: int = 1,
    dilation: int | tuple[int] = 1,
) -> Tensor:
    """Transposed 1-D convolution, as ``torch.nn.functional.conv_transpose1d``: the 2-D op
    on sequences of height 1.

    Shape:
        x: (N, C, L) or (C, L), weight: (C, O/groups, k), bias: (O,) -> (N, O, OL) with
        ``OL = (L - 1)·s - 2·p + d·(k - 1) + output_padding + 1``.
    """
    x3, unbatched = _batched(x, 3, "conv_transpose1d", "(N, C, L) or (C, L)")
    if getattr(weight, "ndim", None) != 3:
        raise ValueError(
            f"conv_transpose1d: expected weight (C, O/groups, k), "
            f"got {tuple(getattr(weight, 'shape', ()))}"
        )
    x4 = reshape(x3, (x3.shape[0], x3.shape[1], 1, x3.shape[2]))
    w4 = reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2]))
    op = ConvTranspose2d((1, _single(stride, "stride")), (0, _single(padding, "padding")),
                         (0, _single(output_padding, "output_padding")), groups,
                         (1, _single(dilation, "dilation")))
    y = op(x4, w4) if bias is None else op(x4, w4, bias)
    n, o, _, ol = y.shape
    return reshape(y, (o, ol) if unbatched else (n, o, ol))

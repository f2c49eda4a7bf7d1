"""2-D (and 1-D) convolution as one fused op: im2col from a strided view, one GEMM, col2im
backward.

Two column layouts, both copied once from a strided ``(N, C, kh, kw, OH, OW)`` view of the
padded input whose innermost axis runs along image rows (so the copy is made of
contiguous runs):

* ``(C·kh·kw, N·OH·OW)`` (``groups=1`` with ``C·kh·kw >= FLAT_MIN_CK``): the forward is
  ONE GEMM ``W2 @ cols`` (``W2 = W.reshape(O, C·kh·kw)``) whose ``(O, N·OH·OW)`` result
  is copied to NCHW with the bias added in the same pass; the backward takes the upstream
  gradient as ``gy2 = (O, N·OH·OW)`` (one transposing copy) and computes
  ``gW = (cols @ gy2^T)^T`` (one GEMM on the columns as they are; 10-30% faster in
  OpenBLAS than ``gy2 @ cols^T``) and ``gcols = W2^T @ gy2``, written over the columns
  (dead once gW is made: no fresh buffer, whose page faults cost a pass over memory; a
  second backward with ``retain_graph`` rebuilds them). Measured on 2 cores (bench
  training steps, batch 128, float32, interleaved, best of 9) against the batched layout
  below: LeNet-like CNN 16.6 -> 15.3 ms, Keras convnet 64 -> 56 ms, small ResNet 383 ->
  327 ms; with one BLAS thread both layouts are within noise. When a batch's columns would
  not fit in a CPU's last-level cache (more than ``CHUNK_ABOVE``, 32 MiB), the same
  products run over chunks of images whose columns do (``CHUNK_BYTES``, 4 MiB), rebuilt in
  backward instead of kept: 15-30 % off the small ResNet's step (its 16-channel 28x28
  layers have 58 MB of columns).
* ``(N, C·kh·kw, OH·OW)`` (first layers on few channels, grouped convolutions, one
  example): the forward is ``W2 @ cols`` broadcast over the batch, whose ``(N, O, OH·OW)``
  result is already NCHW, no transpose of the output nor of the upstream gradient (for
  Conv2d(1, 8, 3) on 128x1x28x28 about 2x faster than the one-GEMM layout with its
  transposes); ``gW = Σ_n gy_n cols_n^T``, and ``W2^T @ gy`` is one 2-D GEMM on the
  gradient transposed to ``(O, N·OH·OW)``. With a bias (``groups=1``, NumPy) the columns
  end in a row of ones and ``W2`` in the bias column, so the product adds the bias and
  ``Σ_n gy_n cols_n^T`` gives its gradient as a last column, with no pass of their own
  over the output (Conv2d(1, 32, 3) on 128x1x28x28: forward 2.95 -> 2.0 ms).

Both end in ``gcols`` laid out ``(C, kh, kw, N, OH, OW)``, scattered back to the image
with one strided slice-add per kernel offset (kh·kw of them), never a loop over
examples, channels or pixels. With numba, im2col (stride 1) and col2im run as compiled
row-by-row kernels instead (ops/conv_kernels.py, the same numbers bit for bit); the
array-level pieces live in ops/conv_im2col.py. (Tried and dropped, measured slower: the
input gradient as a convolution of gy with the flipped filters, slower except at 64
channels on 7x7; a "shifted GEMM" on the padded grid with contiguous copies, faster only
for 16 channels at 28x28.)

Groups (grouped and depthwise convolution) split the same arrays into a group axis: the
columns become ``(N, G, C/G·kh·kw, L)`` and the weight ``(G, O/G, C/G·kh·kw)``, so the
forward, both weight and input gradients stay one (batched) matmul each; ``groups=1``
takes the 2-D products above unchanged. (Measured on 2 cores, depthwise 3x3 on
32x32x28x28 float32, forward + backward: 24 ms as one op against 50 ms for a loop over the
groups; groups=4 is on par with the loop.) ``conv_transpose2d`` (ops/conv_transpose.py) is
this op's input gradient run forward, and its backward is this op's forward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from .conv_im2col import (  # noqa: F401 - re-exported for conv_transpose and pool
    Pad4,
    _col2im,
    _flat_cols,
    _gemm_forward,
    _grad_cols,
    _grad_weight,
    _im2col,
    _im2col_flat,
    _im2col_ones,
    _offset_slices,
    _pad,
    _to_nchw,
    _window_view,
)
from .shape import reshape

__all__ = ["conv2d", "conv1d"]


def _pair(v: Any, name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair of non-negative ints."""
    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        pair = (int(v), int(v))
    elif (isinstance(v, tuple | list) and len(v) == 2
          and all(isinstance(a, int | np.integer) for a in v)):
        pair = (int(v[0]), int(v[1]))
    else:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    if min(pair) < 0:
        raise ValueError(f"{name} must be non-negative, got {v!r}")
    return pair


def _single(v: Any, name: str) -> int:
    """An int or a 1-tuple of an int (PyTorch's 1-D argument forms) as a non-negative int."""
    if isinstance(v, tuple | list) and len(v) == 1:
        v = v[0]
    if not isinstance(v, int | np.integer) or isinstance(v, bool):
        raise ValueError(f"{name} must be an int, got {v!r}")
    if v < 0:
        raise ValueError(f"{name} must be non-negative, got {v!r}")
    return int(v)


def _padding4(
    padding: Any, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> Pad4:
    """Resolve ``padding`` (int, pair, "same" or "valid") to (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"padding='same' needs stride 1, got stride {stride}")
        out = []
        for k, d in zip(kernel, dilation, strict=True):
            total = d * (k - 1)
            out += [total // 2, total - total // 2]  # extra on the bottom/right, as PyTorch
        return (out[0], out[1], out[2], out[3])
    ph, pw = _pair(padding, "padding")
    return (ph, ph, pw, pw)


def _out_size(size: int, k: int, s: int, d: int, p0: int, p1: int) -> int:
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


#: ``groups=1`` convolutions with at least this many column rows (C·kh·kw) take the one-GEMM
#: ``(C·kh·kw, N·OH·OW)`` layout; smaller ones (a first layer on 1-3 channels) the batched one
FLAT_MIN_CK = 32


def _flat_layout(ck: int, n: int) -> bool:
    """Whether a ``groups=1`` convolution takes the one-GEMM column layout."""
    return ck >= FLAT_MIN_CK and n > 1


#: NumPy convolutions in the one-GEMM layout whose batch's columns would take more than
#: CHUNK_ABOVE bytes (more than a CPU's last-level cache: 58 MB for 128x16x28x28 and a 3x3
#: kernel, 9x the input) run over the batch in chunks of images whose columns take at most
#: CHUNK_BYTES, built, multiplied and dropped while in cache, and rebuilt in backward
#: instead of kept. Measured on the bench's small ResNet (2 cores, interleaved, best of
#: 7): 282 -> 238 ms per step with 2 BLAS threads, 277 -> 216 ms with 1; chunking smaller
#: columns too (8-16 MB) gained nothing or lost (the LeNet-like CNN's 7 MB: 15-17 -> 19 ms)
CHUNK_ABOVE = 32 * 2**20
CHUNK_BYTES = 4 * 2**20


def _images_per_chunk(x: Any, ck: int, L: int) -> int:
    """How many images of ``x`` (N, ...) one chunk of the one-GEMM layout takes: all of them
    (no chunking) on the GPU or when the whole batch's columns take at most ``CHUNK_ABOVE``
    bytes; else as few chunks of at most ``CHUNK_BYTES`` (at least one image) as hold the
    batch, evened out (20 images that fit 9 at a time go 7, 7, 6 rather than 9, 9, 2)."""
    n = x.shape[0]
    per_image = ck * L * x.itemsize
    if type(x) is not np.ndarray or per_image * n <= CHUNK_ABOVE:
        return n
    chunks = -(-n // max(1, CHUNK_BYTES // per_image))  # as few as fit, then evened out
    return -(-n // chunks)


def _check_groups(where: str, c: int, o: int, cg: int, groups: int, w_shape: Any) -> None:
    if not isinstance(groups, int | np.integer) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{where}: groups must be a positive int, got {groups!r}")
    if c % groups or o % groups:
        raise ValueError(
            f"{where}: in_channels ({c}) and out_channels ({o}) must both be divisible by "
            f"groups ({groups})"
        )
    if cg * groups != c:
        raise ValueError(
            f"{where}: input has {c} channels but the weight {tuple(w_shape)} with groups="
            f"{groups} expects {cg * groups}"
        )


class Conv2d(Function):
    """Fused 2-D convolution (cross-correlation, as every framework computes it)."""

    bias_row = False  # the batched layout's columns end in a row of ones (the bias's)

    def __init__(self, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1) -> None:
        self.stride = _pair(stride, "stride")
        self.dilation = _pair(dilation, "dilation")
        self.padding = padding
        self.groups = groups
        if min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(
                f"conv2d: stride and dilation must be >= 1, got {stride!r} and {dilation!r}"
            )

    def forward(self, x: Any, W: Any, b: Any = None) -> Any:
        if x.ndim != 4 or W.ndim != 4:
            raise ValueError(
                f"conv2d: expected input (N, C, H, W) or (C, H, W) and weight "
                f"(O, C/groups, kh, kw), got {tuple(x.shape)} and {tuple(W.shape)}"
            )
        n, c, h, w = x.shape
        o, cw, kh, kw = W.shape
        if self.groups == 1 and cw != c:
            raise ValueError(
                f"conv2d: input has {c} channels but the weight {tuple(W.shape)} expects {cw}"
            )
        _check_groups("conv2d", c, o, cw, self.groups, W.shape)
        if b is not None and b.shape != (o,):
            raise ValueError(f"conv2d: bias must have shape ({o},), got {tuple(b.shape)}")
        k, s, d = (kh, kw), self.stride, self.dilation
        pad = _padding4(self.padding, k, s, d)
        oh = _out_size(h, kh, s[0], d[0], pad[0], pad[1])
        ow = _out_size(w, kw, s[1], d[1], pad[2], pad[3])
        if oh < 1 or ow < 1:
            raise ValueError(
                f"conv2d: kernel {k} (dilation {d}) is larger than the padded input "
                f"{(h + pad[0] + pad[1], w + pad[2] + pad[3])}"
            )
        self.flat = self.groups == 1 and _flat_layout(c * kh * kw, n)
        padded_shape = (n, c, h + pad[0] + pad[1], w + pad[2] + pad[3])
        self.chunk = n
        if self.flat:
            self.chunk = _images_per_chunk(x, c * kh * kw, oh * ow)
        if self.flat and self.chunk < n:
            cols = None  # rebuilt chunk by chunk in backward
            y = self._chunked_forward(x, W, b, pad, (oh, ow))
        elif self.flat:
            cols = _flat_cols(x, k, s, d, pad, (oh, ow))  # (C·kh·kw, N·OH·OW)
            y = _to_nchw(W.reshape(o, -1) @ cols, n, b)  # (N, O, OH·OW)
        elif b is not None and self.groups == 1 and type(x) is np.ndarray:
            # the bias as a column of the weight against a row of ones in the columns:
            # added inside the product instead of in a pass of its own over the output
            # (about 1.3 ms of Conv2d(1, 32, 3) on 128x1x28x28's 2.8 ms forward)
            self.bias_row = True
            cols = _im2col_ones(_pad(x, pad), k, s, d, (oh, ow))  # (N, C·kh·kw + 1, L)
            Wb = np.concatenate([W.reshape(o, -1), b.reshape(o, 1).astype(W.dtype)], axis=1)
            y = Wb @ cols
        else:
            cols = _im2col(_pad(x, pad), k, s, d, (oh, ow))
            y = _gemm_forward(cols, W, self.groups)  # (N, O, OH·OW)
            if b is not None:
                y += b.reshape(1, o, 1)
        y = y.reshape(n, o, oh, ow)
        if self.requires_grad:
            self.cols = cols if self.needs_input_grad[1] else None
            self.W = W
            self.meta = (x.shape, padded_shape, pad)
            if self.flat and self.chunk < n:
                self.x = x  # the chunks' columns are rebuilt from it
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # y_n = W2 @ cols_n + b  =>  gW2 = Σ_n gy_n @ cols_n^T,  gcols = W2^T @ gy,
        # gb = Σ gy, and gx = col2im(gcols): each column entry adds back to the pixel it
        # was read from (all per group).
        W = self.W
        (n, c, h, w), padded_shape, pad = self.meta
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        need_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        if self.flat and self.chunk < n:
            return self._chunked_backward(gy, need_x, need_w, need_b)
        if self.flat:
            gW, gb, gcols = self._flat_backward(gy, need_x, need_w, need_b)
        elif self.bias_row:
            gW = gb = None
            if need_w:  # [gW2 | gb] = Σ_n gy_n @ cols_n^T, the bias's against the ones
                gWb = _grad_weight(gy, self.cols, (W.shape[0], self.cols.shape[1]), 1)
                gW = np.ascontiguousarray(gWb[:, :-1]).reshape(W.shape)
                gb = gWb[:, -1].copy() if need_b else None
            elif need_b:
                gb = gy.sum(axis=(0, 2, 3))
            gcols = _grad_cols(gy, W, self.groups) if need_x else None
        else:
            gW = _grad_weight(gy, self.cols, W.shape, self.groups) if need_w else None
            gb = gy.sum(axis=(0, 2, 3)) if need_b else None
            gcols = _grad_cols(gy, W, self.groups) if need_x else None
        gx = None
        if need_x:
            gx = _col2im(gcols, padded_shape[2:], (pad[0], pad[2], h, w), self.stride,
                         self.dilation)
        return (gx, gW, gb)[: len(self.needs_input_grad)]

    def _flat_backward(self, gy: Any, need_x: bool, need_w: bool,
                       need_b: bool) -> tuple[Any, Any, Any]:
        """gW, gb and the columns' gradient (C, kh, kw, N, OH, OW) in the one-GEMM layout:
        gy taken as (O, N·OH·OW), like the columns' product. Once gW is made the columns
        are dead, so their gradient is written over them (no fresh buffer, which costs a
        page-faulting pass over memory); a second backward (``retain_graph``) rebuilds
        them from the input."""
        W = self.W
        o, c, kh, kw = W.shape
        (n, _, _, _), _, pad = self.meta
        gy2 = gy.transpose(1, 0, 2, 3).reshape(o, -1)
        cols = self.cols
        if need_w and cols is None:  # overwritten by an earlier backward
            cols = _flat_cols(self.inputs[0].data, (kh, kw), self.stride, self.dilation, pad,
                              gy.shape[2:])
        gWt, gb, gcols = _flat_products(W, gy2, cols, need_x, need_w, need_b)
        if gcols is not None and gcols is cols:
            self.cols = None
        gW = gWt.T.reshape(W.shape) if need_w else None
        if gcols is not None:
            gcols = gcols.reshape(c, kh, kw, n, *gy.shape[2:])
        return gW, gb, gcols

    def _chunked_forward(self, x: Any, W: Any, b: Any, pad: Any,
                         out_hw: tuple[int, int]) -> Any:
        """The one-GEMM layout ``self.chunk`` images at a time: each chunk's columns are
        built, multiplied and dropped while they are still in cache, instead of a whole
        batch's columns (9x the input for a 3x3 kernel: 58 MB for 128x16x28x28) making
        several trips through memory. (N, O, OH·OW)."""
        n = x.shape[0]
        o = W.shape[0]
        W2 = W.reshape(o, -1)
        y = np.empty((n, o, out_hw[0] * out_hw[1]), dtype=np.result_type(x, W))
        for n0 in range(0, n, self.chunk):
            n1 = min(n, n0 + self.chunk)
            cols = _flat_cols(x[n0:n1], W.shape[2:], self.stride, self.dilation, pad, out_hw)
            _to_nchw(W2 @ cols, n1 - n0, b, out=y[n0:n1])
        return y

    def _chunked_backward(self, gy: Any, need_x: bool, need_w: bool,
                          need_b: bool) -> tuple[Any, ...]:
        """:meth:`_flat_backward` and col2im ``self.chunk`` images at a time, the chunk's
        columns rebuilt from the input (in cache) for the weight gradient and then
        overwritten by their own gradient. gW and gb are summed over the chunks."""
        x = self.x
        W = self.W
        o, c, kh, kw = W.shape
        (n, _, h, w), padded_shape, pad = self.meta
        oh, ow = gy.shape[2:]
        dtype = np.result_type(gy, W)
        gWt = np.zeros((c * kh * kw, o), dtype) if need_w else None
        gb = np.zeros(o, dtype) if need_b else None
        gx = np.empty(x.shape, dtype) if need_x else None
        for n0 in range(0, n, self.chunk):
            n1 = min(n, n0 + self.chunk)
            gy2 = gy[n0:n1].transpose(1, 0, 2, 3).reshape(o, -1)  # (O, m·OH·OW), a copy
            cols = (_flat_cols(x[n0:n1], (kh, kw), self.stride, self.dilation, pad, (oh, ow))
                    if need_w else None)
            gWt_c, gb_c, gcols = _flat_products(W, gy2, cols, need_x, need_w, need_b)
            if need_w:
                gWt += gWt_c
            if need_b:
                gb += gb_c
            if need_x:
                gx[n0:n1] = _col2im(gcols.reshape(c, kh, kw, n1 - n0, oh, ow),
                                    padded_shape[2:], (pad[0], pad[2], h, w), self.stride,
                                    self.dilation)
        gW = gWt.T.reshape(W.shape) if need_w else None
        return (gx, gW, gb)[: len(self.needs_input_grad)]


def _flat_products(W: Any, gy2: Any, cols: Any, need_x: bool, need_w: bool,
                   need_b: bool) -> tuple[Any, Any, Any]:
    """The one-GEMM layout's backward products for gy as (O, M) and columns (C·kh·kw, M):
    gW transposed, ``cols @ gy2^T`` (measured 10-30% faster in OpenBLAS than
    ``gy2 @ cols^T``), gb, and the columns' gradient ``W2^T @ gy2``, written over ``cols``
    when gW was made from them (they are dead then) and the dtypes agree."""
    xp = get_array_module(gy2)
    gWt = cols @ gy2.T if need_w else None
    gb = gy2.sum(axis=1) if need_b else None
    gcols = None
    if need_x:
        W2t = W.reshape(W.shape[0], -1).T
        reuse = need_w and cols.dtype == xp.result_type(W2t, gy2)
        gcols = xp.matmul(W2t, gy2, out=cols if reuse else None)
    return gWt, gb, gcols


def _batched(x: Any, ndim: int, where: str, expected: str) -> tuple[Any, bool]:
    """``x`` with a batch axis added when it has ``ndim - 1`` axes (an unbatched input)."""
    if x.ndim == ndim - 1:
        return reshape(x, (1, *x.shape)), True
    if x.ndim != ndim:
        raise ValueError(f"{where}: expected input {expected}, got {tuple(x.shape)}")
    return x, False


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) of a batch of images, as ``torch.nn.functional``.

    Args:
        x: input images, batched or one unbatched image.
        weight: filters.
        bias: optional per-filter bias.
        stride: step between windows, an int or (sh, sw).
        padding: zeros added around the image: an int, (ph, pw), ``"valid"`` (none) or
            ``"same"`` (output size = input size; stride 1 only; for even kernels the extra
            row/column goes on the bottom/right, as PyTorch).
        dilation: spacing between kernel taps, an int or (dh, dw).
        groups: split the input channels and the filters into this many groups, each filter
            seeing only its group's channels (``groups == C``: depthwise convolution).

    Shape:
        x: (N, C, H, W) or (C, H, W), weight: (O, C/groups, kh, kw), bias: (O,) ->
        (N, O, OH, OW) (or (O, OH, OW)) with ``OH = (H + pad_h - dh·(kh - 1) - 1) // sh + 1``
        (likewise OW).
    """
    x4, unbatched = _batched(x, 4, "conv2d", "(N, C, H, W) or (C, H, W)")
    op = Conv2d(stride, padding, dilation, groups)
    y = op(x4, weight) if bias is None else op(x4, weight, bias)
    return reshape(y, y.shape[1:]) if unbatched else y


def _as_2d_padding(padding: Any) -> Any:
    return padding if isinstance(padding, str) else (0, _single(padding, "padding"))


def conv1d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] | str = 0,
    dilation: int | tuple[int] = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution over sequences, as ``torch.nn.functional.conv1d``: the 2-D op on
    images of height 1 (same im2col and GEMM; no separate loop).

    Args:
        x: input sequences, batched or one unbatched sequence.
        weight: filters.
        bias: optional per-filter bias.
        stride: step between windows.
        padding: zeros on both ends: an int, ``"valid"`` or ``"same"`` (stride 1 only).
        dilation: spacing between kernel taps.
        groups: channel groups, as :func:`conv2d`.

    Shape:
        x: (N, C, L) or (C, L), weight: (O, C/groups, k), bias: (O,) -> (N, O, OL) (or
        (O, OL)) with ``OL = (L + 2·p - d·(k - 1) - 1) // s + 1``.
    """
    x3, unbatched = _batched(x, 3, "conv1d", "(N, C, L) or (C, L)")
    if getattr(weight, "ndim", None) != 3:
        raise ValueError(
            f"conv1d: expected weight (O, C/groups, k), got {tuple(getattr(weight, 'shape', ()))}"
        )
    stride2 = (1, _single(stride, "stride"))
    dilation2 = (1, _single(dilation, "dilation"))
    x4 = reshape(x3, (x3.shape[0], x3.shape[1], 1, x3.shape[2]))
    w4 = reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2]))
    op = Conv2d(stride2, _as_2d_padding(padding), dilation2, groups)
    y = op(x4, w4) if bias is None else op(x4, w4, bias)
    n, o, _, ol = y.shape
    return reshape(y, (o, ol) if unbatched else (n, o, ol))

"""conv2d's array-level building blocks (NumPy or CuPy arrays, no graph): padding, the
strided window view, im2col in both column layouts, the GEMMs of the batched layout and
col2im. ops/conv.py explains the layouts; ops/conv_kernels.py holds the compiled im2col and
col2im taken when numba is there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import get_array_module
from . import conv_kernels as kernels

Pad4 = tuple[int, int, int, int]  # (top, bottom, left, right)


def _pad(x: Any, pad: Pad4, value: float = 0.0) -> Any:
    """``x`` (N, C, H, W) padded on its last two axes with ``value`` (no copy if no padding)."""
    t, b, l, r = pad
    if not (t or b or l or r):
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + t + b, w + l + r), value, dtype=x.dtype)
    out[:, :, t : t + h, l : l + w] = x
    return out


def _window_view(
    xp_: Any,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> Any:
    """Read-only strided view (N, C, kh, kw, OH, OW) of a padded (N, C, Hp, Wp) array."""
    xp = get_array_module(xp_)
    sn, sc, sh, sw = xp_.strides
    shape = (xp_.shape[0], xp_.shape[1], kernel[0], kernel[1], out_hw[0], out_hw[1])
    strides = (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    if xp is np:
        return np.lib.stride_tricks.as_strided(xp_, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(xp_, shape, strides)  # CuPy: no `writeable`


def _offset_slices(
    i: int, j: int, stride: tuple[int, int], dilation: tuple[int, int], out_hw: tuple[int, int]
) -> tuple[slice, slice]:
    """Row and column slices of the padded image read by kernel offset (i, j)."""
    r0, c0 = i * dilation[0], j * dilation[1]
    return (
        slice(r0, r0 + stride[0] * (out_hw[0] - 1) + 1, stride[0]),
        slice(c0, c0 + stride[1] * (out_hw[1] - 1) + 1, stride[1]),
    )


# --------------------------------------------------------------- array-level building blocks
def _im2col(xpad: Any, kernel: tuple[int, int], stride: tuple[int, int],
            dilation: tuple[int, int], out_hw: tuple[int, int]) -> Any:
    """Columns (N, C·kh·kw, OH·OW) of a padded (N, C, Hp, Wp) array: one strided copy."""
    n, c = xpad.shape[:2]
    view = _window_view(xpad, kernel, stride, dilation, out_hw)
    return view.reshape(n, c * kernel[0] * kernel[1], out_hw[0] * out_hw[1])


def _im2col_ones(xpad: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """Columns (N, C·kh·kw + 1, OH·OW) of a padded NumPy (N, C, Hp, Wp) array whose last row
    is ones, so that ``[W2 | b] @ cols`` adds the bias inside the product (no pass of its
    own over the output), and ``Σ_n gy_n @ cols_n^T`` gives the bias gradient as its last
    column. One strided copy, as :func:`_im2col`."""
    n, c = xpad.shape[:2]
    kh, kw = kernel
    oh, ow = out_hw
    ck, L = c * kh * kw, oh * ow
    cols = np.empty((n, ck + 1, L), dtype=xpad.dtype)
    item = cols.itemsize
    dst = np.lib.stride_tricks.as_strided(  # the first C·kh·kw rows, as (N, C, kh, kw, OH, OW)
        cols, (n, c, kh, kw, oh, ow),
        (cols.strides[0], kh * kw * L * item, kw * L * item, L * item, ow * item, item))
    dst[...] = _window_view(xpad, kernel, stride, dilation, out_hw)
    cols[:, ck] = 1
    return cols


def _im2col_flat(xpad: Any, kernel: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int], out_hw: tuple[int, int]) -> Any:
    """Columns (C·kh·kw, N·OH·OW) of a padded (N, C, Hp, Wp) array: one strided copy of
    the window view taken as (C, kh, kw, N, OH, OW)."""
    n, c = xpad.shape[:2]
    view = _window_view(xpad, kernel, stride, dilation, out_hw).transpose(1, 2, 3, 0, 4, 5)
    return view.reshape(c * kernel[0] * kernel[1], n * out_hw[0] * out_hw[1])


def _flat_cols(x: Any, kernel: tuple[int, int], stride: tuple[int, int],
               dilation: tuple[int, int], pad: Pad4, out_hw: tuple[int, int]) -> Any:
    """Columns (C·kh·kw, N·OH·OW) of an unpadded (N, C, H, W) input: compiled at stride 1
    when numba is there (same numbers; at stride 2 the compiled copy measured slower), else
    padded and copied from the window view."""
    if stride == (1, 1) and kernels.takes(x):
        return kernels.im2col(x, kernel, dilation, pad, out_hw)
    return _im2col_flat(_pad(x, pad), kernel, stride, dilation, out_hw)


def _to_nchw(y2: Any, n: int, b: Any, out: Any = None) -> Any:
    """(O, N·L) product as a C-contiguous (N, O, L) array, the bias added in the same pass;
    written into ``out`` (an (N, O, L) slice of a larger batch) when given."""
    xp = get_array_module(y2)
    o = y2.shape[0]
    src = y2.reshape(o, n, -1).transpose(1, 0, 2)
    if b is None and out is None:
        return xp.ascontiguousarray(src)
    y = xp.empty(src.shape, dtype=y2.dtype) if out is None else out
    if b is None:
        y[...] = src
    else:
        xp.add(src, b.reshape(1, o, 1), out=y)
    return y


def _gemm_forward(cols: Any, W: Any, groups: int) -> Any:
    """``W2 @ cols`` per group: (N, O, L) from columns (N, C·kh·kw, L), weight (O, C/G, kh, kw)."""
    n, ck, L = cols.shape
    o = W.shape[0]
    if groups == 1:
        return W.reshape(o, ck) @ cols
    g = groups
    y = W.reshape(g, o // g, ck // g) @ cols.reshape(n, g, ck // g, L)  # (N, G, O/G, L)
    return y.reshape(n, o, L)


def _grad_weight(gy: Any, cols: Any, w_shape: tuple[int, ...], groups: int) -> Any:
    """gW = Σ_n gy_n @ cols_n^T per group, for gy (N, O, OH, OW) and columns (N, CK, L)."""
    n, ck, L = cols.shape
    o = w_shape[0]
    if groups == 1:
        return (gy.reshape(n, o, L) @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w_shape)
    g = groups
    gy4 = gy.reshape(n, g, o // g, L)
    cols4 = cols.reshape(n, g, ck // g, L)
    return (gy4 @ cols4.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w_shape)


def _col2im(gcols: Any, padded_hw: tuple[int, int], crop: tuple[int, int, int, int],
            stride: tuple[int, int], dilation: tuple[int, int]) -> Any:
    """Scatter-add columns laid out (C, kh, kw, N, OH, OW) into an (N, C, Hc, Wc) image:
    a (C, N, Hp, Wp) buffer gets one strided slice-add per kernel offset, then the window
    ``crop = (top, left, Hc, Wc)`` of it is returned. At stride 1 with numba, one compiled
    pass instead (the same numbers, see ops/conv_kernels.py)."""
    if kernels.takes(gcols):
        return kernels.col2im(gcols, padded_hw, crop, stride, dilation)
    xp = get_array_module(gcols)
    c, kh, kw, n, oh, ow = gcols.shape
    gpad = xp.zeros((c, n) + tuple(padded_hw), dtype=gcols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, cols = _offset_slices(i, j, stride, dilation, (oh, ow))
            gpad[:, :, rows, cols] += gcols[:, i, j]
    t, l, h, w = crop
    return xp.ascontiguousarray(gpad[:, :, t : t + h, l : l + w].transpose(1, 0, 2, 3))


def _grad_cols(gy: Any, W: Any, groups: int) -> Any:
    """W2^T @ gy as one GEMM per group on gy (N, O, OH, OW) laid out (O, N·OH·OW); the
    result has the (C, kh, kw, N, OH, OW) layout that :func:`_col2im` takes."""
    n, o, oh, ow = gy.shape
    _, cg, kh, kw = W.shape
    if groups == 1:
        gy2 = gy.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
        gcols = W.reshape(o, -1).T @ gy2
    elif o == groups:
        # one filter per group (depthwise): each product is an outer product, which a
        # broadcast multiply writes about 2x faster than G batched GEMMs of inner size 1
        gy3 = gy.transpose(1, 0, 2, 3).reshape(o, 1, n * oh * ow)
        gcols = W.reshape(o, cg * kh * kw, 1) * gy3
    else:
        g = groups
        gy3 = gy.reshape(n, g, o // g, oh * ow).transpose(1, 2, 0, 3).reshape(g, o // g, -1)
        gcols = W.reshape(g, o // g, -1).transpose(0, 2, 1) @ gy3  # (G, C/G·kh·kw, N·L)
    return gcols.reshape(cg * groups, kh, kw, n, oh, ow)

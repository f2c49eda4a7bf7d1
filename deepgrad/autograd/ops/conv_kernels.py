"""Optional compiled (numba) im2col (stride 1) and col2im (any stride) of conv2d.

The columns are laid out ``(C, kh, kw, N, OH, OW)``. NumPy builds them from a padded
copy of the input as a strided copy whose inner loop is one output row (OW elements:
28, 14, 7 in a small network, so the per-row overhead weighs), and scatters their
gradient back with kh·kw slice-adds over the whole padded image. The kernels here work
row by row without that overhead: im2col reads the unpadded input (zeros written where a
window overhangs the border, so no padded copy either); col2im accumulates one padded
(Hp, Wp) plane in a small scratch buffer that stays in cache, then writes its interior
straight into the (N, C, H, W) gradient. col2im adds the offsets in the same order as
the NumPy path, from zero, and im2col is a copy, so both paths give the same numbers,
bit for bit. Measured on 2 cores, float32, batch 128, 3x3 kernels (NumPy -> kernel, ms):
im2col 16x28x28 12.1 -> 11.2, 64x7x7 3.9 -> 3.3, 32x13x13 3.7 -> 3.1; col2im 16x28x28
16.5 -> 9.3, the same at stride 2 6.1 -> 4.1, 64x7x7 7.9 -> 4.6, 32x13x13 7.0 -> 4.1.
A strided im2col kernel measured slower than NumPy (about 2x), so stride > 1 copies
with NumPy. (Indexing ``x[q0 + q]`` with signed indices made im2col 1.3-2.5x slower than
NumPy, numba's negative-index wraparound check blocking vectorization. Both kernels index
flat arrays with unsigned indices instead, which has no such check and no per-row view:
col2im a further 1.6-2.5x on 11x11 and 14x14 planes, about 1.1x on 28x28 and stride 2, the
same on 7x7; im2col 1.1-1.2x over row slices (9x16x28x28 0.213 -> 0.183 ms, 128x8x14x14
0.95 -> 0.79 ms, 128x32x13x13 3.42 -> 2.96 ms; the same on 128x64x7x7), batch 128.)

Used only through :func:`takes` (numba installed, not turned off with
``DEEPGRAD_NUMBA=0``, C-contiguous NumPy float32/float64 arrays large enough); anything
else (CuPy arrays, other dtypes) takes the NumPy path in ops/conv.py. Single-threaded, as
every kernel of ``deepgrad._accel``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _accel

__all__ = ["takes", "im2col", "col2im"]

def _build() -> dict[str, Any]:
    return _accel.build_kernels(_make)


def _make(numba: Any, cache: bool) -> dict[str, Any]:
    jit = numba.njit(cache=cache, nogil=True, error_model="numpy")

    @jit
    def im2col_kernel(x, cols, dh, dw, pt, pl):  # pragma: no cover - compiled
        # x (N, C, H, W) -> cols (C, kh, kw, N, OH, OW) at stride 1; taps outside read 0.
        # Flat arrays and unsigned indices, as col2im: no per-row views, no wraparound
        # checks (x is C-contiguous: kernels.takes checked it).
        n_, c_, h, w = x.shape
        kh, kw, oh, ow = cols.shape[1], cols.shape[2], cols.shape[4], cols.shape[5]
        xf = x.reshape(x.size)
        cf = cols.reshape(cols.size)
        uow = np.uint64(ow)
        for c in range(c_):
            for i in range(kh):
                for j in range(kw):
                    q0 = j * dw - pl  # the input column under output column 0
                    lo = min(max(0, -q0), ow)  # output columns [lo, hi) read the image
                    hi = max(min(ow, w - q0), lo)
                    ulo, uhi = np.uint64(lo), np.uint64(hi)
                    for n in range(n_):
                        dbase = (((c * kh + i) * kw + j) * n_ + n) * oh * ow
                        pbase = (n * c_ + c) * h * w
                        for oy in range(oh):
                            d = np.uint64(dbase + oy * ow)
                            r = oy + i * dh - pt
                            if r < 0 or r >= h:
                                for q in range(uow):
                                    cf[d + q] = 0
                            else:
                                s0 = np.uint64(pbase + r * w + q0 + lo)
                                for q in range(ulo):
                                    cf[d + q] = 0
                                dl = d + ulo
                                for q in range(uhi - ulo):
                                    cf[dl + q] = xf[s0 + q]
                                for q in range(uhi, uow):
                                    cf[d + q] = 0

    @jit
    def col2im_kernel(gcols, gx, scratch, sh, sw, dh, dw, pt, pl):  # pragma: no cover
        # gcols (C, kh, kw, N, OH, OW) -> gx (N, C, H, W), one padded plane at a time.
        # Flat indices of unsigned type: no negative-index wraparound, so no per-row view
        # and the row loops vectorize (1.2-1.8x faster than slicing row views on 7-28
        # wide rows). The adds keep the NumPy path's order: taps (i, j), then rows.
        c_, kh, kw, n_, oh, ow = gcols.shape
        h, w = gx.shape[2], gx.shape[3]
        wp = scratch.shape[1]
        flat = scratch.reshape(scratch.size)
        uow, uw, usw = np.uint64(ow), np.uint64(w), np.uint64(sw)
        for c in range(c_):
            for n in range(n_):
                flat[:] = 0
                for i in range(kh):
                    for j in range(kw):
                        src = gcols[c, i, j, n].reshape(oh * ow)
                        for oy in range(oh):
                            base = np.uint64((oy * sh + i * dh) * wp + j * dw)
                            sb = np.uint64(oy * ow)
                            if sw == 1:
                                for q in range(uow):
                                    flat[base + q] += src[sb + q]
                            else:
                                for q in range(uow):
                                    flat[base + q * usw] += src[sb + q]
                out = gx[n, c].reshape(h * w)
                for y in range(h):
                    ob = np.uint64(y * w)
                    ib = np.uint64((y + pt) * wp + pl)
                    for q in range(uw):
                        out[ob + q] = flat[ib + q]

    return {"im2col": im2col_kernel, "col2im": col2im_kernel}


def takes(a: Any) -> bool:
    """Whether the kernels run on ``a`` (see :func:`deepgrad._accel.takes`)."""
    return _accel.takes(a)


def im2col(x: np.ndarray, kernel: tuple[int, int], dilation: tuple[int, int],
           pad: tuple[int, int, int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """Columns (C·kh·kw, N·OH·OW) of an unpadded (N, C, H, W) array at stride 1, with
    ``pad`` = (top, bottom, left, right) zeros implied."""
    n, c = x.shape[:2]
    cols = np.empty((c, kernel[0], kernel[1], n) + tuple(out_hw), dtype=x.dtype)
    _build()["im2col"](x, cols, dilation[0], dilation[1], pad[0], pad[2])
    return cols.reshape(c * kernel[0] * kernel[1], n * out_hw[0] * out_hw[1])


def col2im(gcols: np.ndarray, padded_hw: tuple[int, int], crop: tuple[int, int, int, int],
           stride: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """ops.conv's ``_col2im`` in one pass: columns (C, kh, kw, N, OH, OW) scattered into an
    (N, C, H, W) image, the window ``crop = (top, left, H, W)`` of the padded (Hp, Wp)
    plane."""
    gcols = np.ascontiguousarray(gcols)
    c, _, _, n = gcols.shape[:4]
    t, l, h, w = crop
    gx = np.empty((n, c, h, w), dtype=gcols.dtype)
    scratch = np.empty(tuple(padded_hw), dtype=gcols.dtype)
    _build()["col2im"](gcols, gx, scratch, stride[0], stride[1], dilation[0], dilation[1], t,
                       l)
    return gx

"""3-D convolution and pooling for imported graphs, built from the 2-D fused ops: the depth
axis is folded into the batch, and the few kernel offsets along depth are summed (conv),
maxed or averaged (pooling). The loops run over kernel offsets, never over data."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.ops import arith, shape
from ..autograd.ops import conv as C
from ..autograd.ops import math as M
from ..autograd.ops import pool as P

__all__ = ["conv3d", "pool3d"]


def _pad(t: Any, pads: list[int], value: float) -> Any:
    width = [(0, 0), (0, 0)] + [(pads[i], pads[i + 3]) for i in range(3)]
    return shape.pad(t, width, value) if any(pads) else t


def _fold(t: Any) -> tuple[Any, tuple[int, ...]]:
    """(N, C, D, H, W) -> (N·D, C, H, W), and the (N, D) to unfold it."""
    n, c, d, h, w = t.shape
    return shape.reshape(shape.transpose(t, (0, 2, 1, 3, 4)), (n * d, c, h, w)), (n, d)


def _unfold(t: Any, nd: tuple[int, ...]) -> Any:
    """(N·D, C, H, W) -> (N, D, C, H, W)."""
    return shape.reshape(t, (*nd, *t.shape[1:]))


def _depth_taps(size: int, k: int, s: int, d: int, ceil: bool) -> tuple[int, list[slice]]:
    """Output depth and, per kernel offset, the slice of input depths it reads."""
    span = d * (k - 1) + 1
    num = size - span
    out = (-(-num // s) if ceil else num // s) + 1
    if ceil and (out - 1) * s >= size:  # the last window must start inside the input
        out -= 1
    return out, [slice(j * d, j * d + s * (out - 1) + 1, s) for j in range(k)]


def conv3d(t: Any, w: Any, b: Any, strides: list[int], dil: list[int], pads: list[int],
           groups: int) -> Any:
    """ONNX Conv on (N, C, D, H, W) with weight (O, C/g, kD, kH, kW)."""
    t = _pad(t, pads, 0.0)
    kd = w.shape[2]
    od, taps = _depth_taps(t.shape[2], kd, strides[0], dil[0], False)
    total = None
    for j, sl in enumerate(taps):
        part, nd = _fold(shape.getitem(t, (slice(None), slice(None), sl)))
        y = C.conv2d(part, shape.getitem(w, (slice(None), slice(None), j)), None,
                     stride=tuple(strides[1:]), dilation=tuple(dil[1:]), padding=0,
                     groups=groups)
        total = y if total is None else arith.add(total, y)
    y = shape.transpose(_unfold(total, (t.shape[0], od)), (0, 2, 1, 3, 4))
    return y if b is None else arith.add(y, shape.reshape(b, (1, -1, 1, 1, 1)))


def pool3d(kind: str, t: Any, kernel: list[int], strides: list[int], dil: list[int],
           pads: list[int], ceil: bool, include_pad: bool) -> Any:
    """ONNX MaxPool / AveragePool on (N, C, D, H, W)."""
    fill = -np.inf if kind == "max" else 0.0
    n, c, d, h, w = t.shape
    base = list(pads)
    if ceil:  # room for ceil_mode's partial last windows, filled like padding
        extra = []
        for size, k, s, dd, b, e in zip((d, h, w), kernel, strides, dil, pads[:3], pads[3:],
                                        strict=True):
            out, _ = _depth_taps(size + b + e, k, s, dd, True)
            extra.append(max(0, (out - 1) * s + dd * (k - 1) + 1 - (size + b + e)))
        pads = pads[:3] + [e + x for e, x in zip(pads[3:], extra, strict=True)]
    tp = _pad(t, pads, fill)
    od, taps = _depth_taps(tp.shape[2], kernel[0], strides[0], dil[0], False)
    folded, nd = _fold(tp)

    def plane(z: Any) -> Any:
        kw = dict(kernel_size=tuple(kernel[1:]), stride=tuple(strides[1:]), padding=0)
        if kind == "max":
            return P.max_pool2d(z, dilation=tuple(dil[1:]), **kw)
        return arith.mul(P.avg_pool2d(z, count_include_pad=True, **kw),
                         np.asarray(kernel[1] * kernel[2], z.dtype))  # window sums

    pooled = _unfold(plane(folded), nd)  # (N, Dp, C, OH, OW)
    out = None
    for sl in taps:
        part = shape.getitem(pooled, (slice(None), sl))
        out = part if out is None else (M.maximum(out, part) if kind == "max"
                                         else arith.add(out, part))
    if kind == "avg":
        ones = shape.reshape(np.ones((1, 1, d, h, w), dtype=t.dtype), (1, 1, d, h, w))
        # count_include_pad: padding counts, ceil_mode's extra room does not
        mask = _pad(ones, base, 1.0 if include_pad else 0.0)
        mask = _pad(mask, [0, 0, 0] + [p - q for p, q in zip(pads[3:], base[3:], strict=True)],
                    0.0)
        mfold, mnd = _fold(mask)
        mpooled = _unfold(plane(mfold), mnd)
        count = None
        for sl in taps:
            part = shape.getitem(mpooled, (slice(None), sl))
            count = part if count is None else arith.add(count, part)
        out = arith.div(out, count)
    return shape.transpose(out, (0, 2, 1, 3, 4))

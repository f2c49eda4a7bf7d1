"""Resizing (``interpolate``): nearest and bilinear, with PyTorch's source-index rules.

Both modes are separable: along each spatial axis every output entry reads input entries
through a small (out, in) matrix ``A`` (one 1 per row for nearest; ``1 - λ`` and ``λ`` for
linear). The backward is ``A_h^T @ gy @ A_w`` (two GEMMs); the bilinear forward is
``A_h @ x @ A_w^T``, and the nearest forward a plain gather (so an inf is copied, never
multiplied by 0). The GEMMs cost ``in`` multiply-adds per output entry and axis, and
measured 3.5x faster than a scatter-add (``np.add.at``) backward on 8x32x64x128 float32
(33 ms against 118 ms; a plain gather of the same size takes 19 ms). The source index of
output ``i`` follows PyTorch exactly: nearest ``min(floor(i·scale), in - 1)`` in float32
with ``scale = 1/scale_factor`` when a factor is given (else ``in/out``); bilinear
``(i + 0.5)·scale - 0.5`` clamped at 0 (``align_corners=False``) or
``i·(in - 1)/(out - 1)`` (True), in the input's dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from .shape import reshape

__all__ = ["interpolate", "upsample"]

MODES = ("nearest", "bilinear", "linear")


def _nearest_index(n: int, out: int, factor: float | None) -> np.ndarray:
    """PyTorch's nearest source indices (``nearest_idx``: float32 arithmetic)."""
    i = np.arange(out)
    if out == n:
        return i
    if out == 2 * n:
        return i >> 1
    scale = np.float32(1.0 / factor) if factor else np.float32(n) / np.float32(out)
    src = np.floor(i.astype(np.float32) * scale).astype(np.int64)
    return np.minimum(src, n - 1)


def _linear_matrix(n: int, out: int, factor: float | None, align: bool, dtype: Any) -> Any:
    """(out, n) linear-interpolation matrix (PyTorch's ``area_pixel_compute_source_index``
    and ``compute_indices_weights_linear``, computed in ``dtype``)."""
    dt = np.dtype(dtype).type
    i = np.arange(out).astype(dtype)
    if align:
        scale = dt((n - 1) / (out - 1)) if out > 1 else dt(0)
        src = i * scale
    else:
        scale = dt(1.0 / factor) if factor else dt(n) / dt(out)
        src = np.maximum((i + dt(0.5)) * scale - dt(0.5), dt(0))
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < n - 1)
    lam1 = np.clip(src - i0.astype(dtype), dt(0), dt(1))
    a = np.zeros((out, n), dtype=dtype)
    rows = np.arange(out)
    a[rows, i0] += dt(1) - lam1
    a[rows, i1] += lam1
    return a


class Interpolate(Function):
    def __init__(self, out_hw: tuple[int, int], factors: tuple[Any, Any], mode: str,
                 align: bool) -> None:
        self.out_hw, self.factors, self.mode, self.align = out_hw, factors, mode, align

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        (h, w), (oh, ow) = x.shape[2:], self.out_hw
        if self.mode == "nearest":
            ih = _nearest_index(h, oh, self.factors[0])
            iw = _nearest_index(w, ow, self.factors[1])
            if self.requires_grad:  # one-hot rows: the backward's gather matrices
                self.ah = xp.asarray(np.eye(h, dtype=x.dtype)[ih])
                self.aw = xp.asarray(np.eye(w, dtype=x.dtype)[iw])
            return x[:, :, xp.asarray(ih).reshape(-1, 1), xp.asarray(iw).reshape(1, -1)]
        self.ah = xp.asarray(_linear_matrix(h, oh, self.factors[0], self.align, x.dtype))
        self.aw = xp.asarray(_linear_matrix(w, ow, self.factors[1], self.align, x.dtype))
        return self.ah @ (x @ self.aw.T)

    def backward(self, gy: Any) -> Any:
        # y = A_h x A_w^T  =>  gx = A_h^T gy A_w
        return self.ah.T @ (gy @ self.aw)


def _sizes(where: str, shape: tuple[int, ...], size: Any, scale_factor: Any,
           recompute: bool | None) -> tuple[tuple[int, ...], tuple[Any, ...]]:
    """Output sizes and the factors the index rule uses (None: use in/out)."""
    nd = len(shape)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{where}: give exactly one of size and scale_factor")
    if size is not None:
        sizes = tuple(size) if isinstance(size, tuple | list) else (size,) * nd
        if len(sizes) != nd or any(not isinstance(s, int | np.integer) or s < 1 for s in sizes):
            raise ValueError(f"{where}: size must be {nd} positive int(s), got {size!r}")
        return tuple(int(s) for s in sizes), (None,) * nd
    f = (tuple(scale_factor) if isinstance(scale_factor, tuple | list)
         else (scale_factor,) * nd)
    if len(f) != nd or any(not isinstance(v, int | float) or not v > 0 or not math.isfinite(v)
                           for v in f):
        raise ValueError(
            f"{where}: scale_factor must be {nd} positive finite number(s), got {scale_factor!r}"
        )
    sizes = tuple(int(math.floor(n * float(v))) for n, v in zip(shape, f, strict=True))
    if min(sizes) < 1:
        raise ValueError(f"{where}: scale_factor {scale_factor!r} leaves an empty output")
    return sizes, ((None,) * nd if recompute else tuple(float(v) for v in f))


def interpolate(
    x: Any,
    size: int | tuple[int, ...] | None = None,
    scale_factor: float | tuple[float, ...] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> Tensor:
    """Resize images (or sequences), as ``torch.nn.functional.interpolate``.

    Args:
        x: (N, C, H, W) images, or (N, C, L) sequences for ``"nearest"``/``"linear"``.
        size: output spatial size (an int for every axis, or one per axis).
        scale_factor: multiplier of each spatial size (output ``floor(in·factor)``);
            exactly one of ``size`` and ``scale_factor``.
        mode: ``"nearest"``, ``"bilinear"`` (4-D input) or ``"linear"`` (3-D input).
        align_corners: for the linear modes, map the corner pixels' centers onto each
            other (True) or the corner pixels' outer edges (False, the default).
        recompute_scale_factor: with ``scale_factor``, compute the source indices from the
            output size (``in/out``) instead of ``1/scale_factor``.

    Shape:
        (N, C, H, W) -> (N, C, OH, OW); (N, C, L) -> (N, C, OL).
    """
    if mode not in MODES:
        raise ValueError(f"interpolate: mode must be one of {MODES}, got {mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to the linear modes")
    nd = x.ndim - 2
    if nd not in (1, 2) or (mode == "bilinear" and nd != 2) or (mode == "linear" and nd != 1):
        want = {"bilinear": "(N, C, H, W)", "linear": "(N, C, L)"}.get(
            mode, "(N, C, L) or (N, C, H, W)")
        raise ValueError(f"interpolate: mode {mode!r} expects input {want}, "
                         f"got {tuple(x.shape)}")
    sizes, factors = _sizes("interpolate", tuple(x.shape[2:]), size, scale_factor,
                            recompute_scale_factor)
    m = "nearest" if mode == "nearest" else "linear"
    if nd == 1:
        x4 = reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2]))
        y = Interpolate((1, sizes[0]), (None, factors[0]), m, bool(align_corners))(x4)
        return reshape(y, (y.shape[0], y.shape[1], y.shape[3]))
    return Interpolate((sizes[0], sizes[1]), factors, m, bool(align_corners))(x)


def upsample(x: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """PyTorch's older name for :func:`interpolate` (same arguments, same results).

    Shape:
        (N, C, H, W) -> (N, C, OH, OW); (N, C, L) -> (N, C, OL).
    """
    return interpolate(x, size, scale_factor, mode, align_corners)

"""Window pooling as fused ops: max and average pooling over NCHW images (and, through
images of height 1, over NCL sequences).

Windows are visited by kernel offset (kh·kw strided slices of the padded image), never by
example, channel or pixel. Measured on 2 cores for 2x2 windows on 128x16x28x28 float32,
this beats the reshape formulation ``x.reshape(N, C, H/2, 2, W/2, 2).max(axis=(3, 5))``
by 5-12x (NumPy reduces short inner axes slowly), so it is used for every case; when the
windows tile the image exactly, the backward writes each slice once into an uninitialized
buffer instead of accumulating. ``ceil_mode`` extends the bottom/right padding so that the
last, partial windows exist (PyTorch's rule: a window must start inside the image or its
left/top padding); average pooling then divides each window by its own count, a
(OH, OW) outer product of per-axis counts.
"""

from __future__ import annotations

from typing import Any

from ... import _accel
from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from . import pool_kernels as kernels
from .conv import _batched, _offset_slices, _pad, _pair, _single
from .pool_adaptive import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    global_avg_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from .shape import reshape

__all__ = [
    "max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "global_avg_pool2d", "max_unpool2d", "max_unpool1d",
]


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    """PyTorch's pooling output size (``pooling_output_shape``)."""
    span = d * (k - 1) + 1
    out = (size + 2 * p - span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= size + p:  # the last window would start in the padding
        out -= 1
    return out


class _Pool2d(Function):
    """Shared geometry of the window pools."""

    name = "pool2d"

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, ceil_mode: bool = False, name: str | None = None) -> None:
        if name is not None:  # the caller's name in error messages (a layer, a 1-D form)
            self.name = name
        name = self.name
        self.k = _pair(kernel_size, "kernel_size")
        self.s = self.k if stride is None or stride == [] else _pair(stride, "stride")
        self.d = _pair(dilation, "dilation")
        ph, pw = _pair(padding, "padding")
        if min(self.k) < 1 or min(self.s) < 1 or min(self.d) < 1:
            raise ValueError(
                f"{name}: kernel_size, stride and dilation must be >= 1, got {kernel_size!r}, "
                f"{stride!r} and {dilation!r}"
            )
        if 2 * ph > self.k[0] or 2 * pw > self.k[1]:
            one_d = name.endswith("1d")  # the 1-D pools run on (1, L) images: show L's
            raise ValueError(
                f"{name}: padding {(pw if one_d else (ph, pw))} must be at most half the "
                f"kernel {self.k[1] if one_d else self.k}"
            )
        self.p = (ph, pw)
        self.ceil = bool(ceil_mode)

    def _geometry(self, x: Any) -> tuple[int, int]:
        """Output size; sets ``self.pad`` (top, bottom, left, right) including ceil_mode's
        extra bottom/right rows and columns."""
        if x.ndim != 4:
            raise ValueError(
                f"{self.name}: expected input (N, C, H, W) or (C, H, W), got {tuple(x.shape)}"
            )
        h, w = x.shape[2:]
        out = []
        pad = []
        for size, k, s, p, d in zip((h, w), self.k, self.s, self.p, self.d, strict=True):
            o = _pool_out(size, k, s, p, d, self.ceil)
            if o < 1:
                raise ValueError(
                    f"{self.name}: kernel {self.k} (dilation {self.d}) is larger than the "
                    f"padded input {(h + 2 * self.p[0], w + 2 * self.p[1])}"
                )
            extra = max((o - 1) * s + d * (k - 1) + 1 - (size + 2 * p), 0)
            out.append(o)
            pad += [p, p + extra]
        self.pad = (pad[0], pad[1], pad[2], pad[3])
        return out[0], out[1]

    def _tiles(self, shape: tuple[int, ...]) -> bool:
        """Non-overlapping windows that cover the image exactly (every pixel in one)."""
        return (
            self.k == self.s
            and self.d == (1, 1)
            and not any(self.pad)
            and shape[2] % self.k[0] == 0
            and shape[3] % self.k[1] == 0
        )

    def _offsets(self, out_hw: tuple[int, int]) -> list[tuple[slice, slice]]:
        kh, kw = self.k
        return [_offset_slices(i, j, self.s, self.d, out_hw) for i in range(kh) for j in range(kw)]

    def _overlap(self) -> bool:
        """Whether two (window, offset) pairs can read the same pixel."""
        return any(s < d * (k - 1) + 1 for s, d, k in zip(self.s, self.d, self.k, strict=True))

    def _grad_buffer(self, xp: Any, shape: tuple[int, ...], dtype: Any) -> Any:
        """Buffer for the padded input's gradient: zeros unless every slot is written."""
        t, b, l, r = self.pad
        full = (shape[0], shape[1], shape[2] + t + b, shape[3] + l + r)
        return xp.empty(full, dtype=dtype) if self._tiles(shape) else xp.zeros(full, dtype)

    def _unpad(self, gpad: Any, shape: tuple[int, ...]) -> Any:
        t, _, l, _ = self.pad
        if not any(self.pad):
            return gpad
        xp = get_array_module(gpad)
        return xp.ascontiguousarray(gpad[:, :, t : t + shape[2], l : l + shape[3]])


class MaxPool2d(_Pool2d):
    name = "max_pool2d"

    def __init__(self, *args: Any, return_indices: bool = False, name: str | None = None) -> None:
        super().__init__(*args, name=name)
        self.return_indices = return_indices

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        oh, ow = self._geometry(x)
        kh, kw = self.k
        if self._plain2x2() and kernels.takes(x):
            # maxima and their offsets in one compiled pass (numba)
            y, idx = kernels.maxpool2x2_forward(x)
            if self.requires_grad or self.return_indices:
                self.idx, self.in_shape = idx, x.shape
            return y
        xpad = _pad(x, self.pad, value=-float("inf"))
        offsets = self._offsets((oh, ow))
        y = xpad[:, :, offsets[0][0], offsets[0][1]].copy()
        if not self.requires_grad and not self.return_indices:
            for rows, cols in offsets[1:]:
                xp.maximum(y, xpad[:, :, rows, cols], out=y)
            return y
        # idx = offset of the first maximum: the last offset that strictly beat the running
        # max, i.e. the running maximum of t·[v_t > y] (a compare, a multiply and a max per
        # offset: much faster than a masked copy)
        idx = xp.zeros(y.shape, dtype=xp.uint8 if kh * kw < 256 else xp.int32)
        better = xp.empty(y.shape, dtype=bool)
        tmp = xp.empty_like(idx)
        for t, (rows, cols) in enumerate(offsets[1:], start=1):
            v = xpad[:, :, rows, cols]
            xp.greater(v, y, out=better)  # strict: ties keep the first maximum, as PyTorch
            xp.multiply(better, idx.dtype.type(t), out=tmp)
            xp.maximum(idx, tmp, out=idx)
            xp.maximum(y, v, out=y)
        self.idx, self.in_shape = idx, x.shape
        return y

    def _plain2x2(self) -> bool:
        """2x2 windows at stride 2, no dilation nor padding (ceil_mode's included)."""
        return self.k == (2, 2) and self.s == (2, 2) and self.d == (1, 1) and not any(self.pad)

    def flat_indices(self) -> Any:
        """Each window's maximum as a flat index into its (H, W) input plane (int64)."""
        xp = get_array_module(self.idx)
        idx = self.idx.astype(xp.int64)
        oh, ow = idx.shape[2:]
        (sh, sw), (dh, dw), (t, _, l, _) = self.s, self.d, self.pad
        rows = xp.arange(oh).reshape(oh, 1) * sh - t + (idx // self.k[1]) * dh
        cols = xp.arange(ow).reshape(1, ow) * sw - l + (idx % self.k[1]) * dw
        return rows * self.in_shape[3] + cols

    def backward(self, gy: Any) -> Any:
        # d max = 1 at the (first) argmax of each window, 0 elsewhere
        xp = get_array_module(gy)
        shape = self.in_shape
        idx = self.idx
        if self.k == (2, 2) and self._tiles(shape) and _accel.takes(gy):
            return _accel.maxpool2x2_backward(gy, idx)  # one compiled pass (numba)
        if self._plain2x2() and kernels.takes(gy):  # odd sizes: the last row/column gets 0
            return kernels.maxpool2x2_backward(gy, idx, shape)
        overlap = self._overlap()
        gpad = self._grad_buffer(xp, shape, gy.dtype)
        for t, (rows, cols) in enumerate(self._offsets(gy.shape[2:])):
            picked = idx == t
            if overlap:
                gpad[:, :, rows, cols] += gy * picked
            else:
                xp.multiply(gy, picked, out=gpad[:, :, rows, cols])
        return self._unpad(gpad, shape)


class AvgPool2d(_Pool2d):
    name = "avg_pool2d"

    def __init__(self, *args: Any, count_include_pad: bool = True,
                 divisor_override: int | None = None, name: str | None = None) -> None:
        super().__init__(*args, name=name)
        self.count_include_pad = count_include_pad
        if divisor_override is not None and (
            not isinstance(divisor_override, int) or divisor_override == 0
        ):
            raise ValueError(
                f"{self.name}: divisor_override must be a non-zero int or None, "
                f"got {divisor_override!r}"
            )
        self.divisor_override = divisor_override

    def _divisor(self, xp: Any, shape: tuple[int, ...], out_hw: tuple[int, int],
                 dtype: Any) -> Any:
        """The divisor of each window: a scalar, or an (OH, OW) array (PyTorch's rule)."""
        if self.divisor_override is not None:
            return dtype.type(self.divisor_override)
        if not self.ceil and self.count_include_pad:
            return dtype.type(self.k[0] * self.k[1])
        counts = []
        for size, o, k, s, p in zip(shape[2:], out_hw, self.k, self.s, self.p, strict=True):
            start = xp.arange(o) * s - p
            end = xp.minimum(start + k, size + p)  # ceil-mode windows stop at the padding
            if not self.count_include_pad:
                start, end = xp.maximum(start, 0), xp.minimum(end, size)
            counts.append(end - start)
        return (counts[0].reshape(-1, 1) * counts[1].reshape(1, -1)).astype(dtype)

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        oh, ow = self._geometry(x)
        self.meta = x.shape
        xpad = _pad(x, self.pad)
        offsets = self._offsets((oh, ow))
        y = xpad[:, :, offsets[0][0], offsets[0][1]].copy()
        for rows, cols in offsets[1:]:
            y += xpad[:, :, rows, cols]
        self.div = self._divisor(xp, x.shape, (oh, ow), x.dtype)
        if self.div.ndim == 0 and self.divisor_override is None:
            y *= x.dtype.type(1.0) / self.div  # count_include_pad: divide by the area
        else:
            y /= self.div
        return y

    def backward(self, gy: Any) -> Any:
        # d mean = 1/divisor for every element of the window
        xp = get_array_module(gy)
        shape = self.meta
        if self.div.ndim == 0 and self.divisor_override is None:
            g = gy * (gy.dtype.type(1.0) / self.div)
        else:
            g = gy / self.div
        overlap = self._overlap()
        gpad = self._grad_buffer(xp, shape, gy.dtype)
        for rows, cols in self._offsets(gy.shape[2:]):
            if overlap:
                gpad[:, :, rows, cols] += g
            else:
                gpad[:, :, rows, cols] = g
        return self._unpad(gpad, shape)


def _run(op: _Pool2d, x: Any, unbatched: bool, want: bool) -> Any:
    y = op(x)
    idx = Tensor._wrap(op.flat_indices()) if want else None
    if unbatched:
        y = reshape(y, y.shape[1:])
        idx = None if idx is None else reshape(idx, idx.shape[1:])
    return (y, idx) if want else y


def max_pool2d(
    x: Any,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max pooling over windows, as ``torch.nn.functional.max_pool2d``.

    Padding counts as -inf. The gradient goes to the first maximum of each window (in
    row-major order inside the window), as PyTorch on the CPU.

    Args:
        x: input images, batched or one unbatched image.
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows; defaults to ``kernel_size``.
        padding: implicit -inf padding on each side, at most half the kernel.
        dilation: spacing between the window's taps.
        ceil_mode: round the output size up (partial windows at the bottom/right).
        return_indices: also return each maximum's flat index into its input plane
            (``h·W + w``, int64; for ``max_unpool2d``).

    Shape:
        x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) with
        ``OH = (H + 2·ph - dh·(kh - 1) - 1) // sh + 1`` (rounded up with ceil_mode).
    """
    x4, unbatched = _batched(x, 4, "max_pool2d", "(N, C, H, W) or (C, H, W)")
    op = MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode,
                   return_indices=return_indices)
    return _run(op, x4, unbatched, return_indices)


def avg_pool2d(
    x: Any,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Average pooling over windows, as ``torch.nn.functional.avg_pool2d``.

    Args:
        x: input images, batched or one unbatched image.
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows; defaults to ``kernel_size``.
        padding: implicit zero padding on each side, at most half the kernel.
        ceil_mode: round the output size up (partial windows at the bottom/right, each
            divided by the part inside the padded image).
        count_include_pad: whether the zero padding counts in each window's divisor.
        divisor_override: divide every window's sum by this instead.

    Shape:
        x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) with ``OH = (H + 2·ph - kh) // sh + 1``
        (rounded up with ceil_mode).
    """
    x4, unbatched = _batched(x, 4, "avg_pool2d", "(N, C, H, W) or (C, H, W)")
    op = AvgPool2d(kernel_size, stride, padding, 1, ceil_mode,
                   count_include_pad=count_include_pad, divisor_override=divisor_override)
    return _run(op, x4, unbatched, False)


def _as_image(x: Any, where: str) -> tuple[Any, bool]:
    """(N, C, L) or (C, L) as (N, C, 1, L)."""
    x3, unbatched = _batched(x, 3, where, "(N, C, L) or (C, L)")
    return reshape(x3, (x3.shape[0], x3.shape[1], 1, x3.shape[2])), unbatched


def _as_sequence(y: Any, unbatched: bool) -> Any:
    shape = (y.shape[1], y.shape[3]) if unbatched else (y.shape[0], y.shape[1], y.shape[3])
    return reshape(y, shape)


def max_pool1d(
    x: Any,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max pooling over sequences, as ``torch.nn.functional.max_pool1d`` (the 2-D op on
    sequences of height 1; arguments as :func:`max_pool2d`, single ints).

    Shape:
        x: (N, C, L) or (C, L) -> (N, C, OL) with ``OL = (L + 2·p - d·(k - 1) - 1) // s + 1``.
    """
    x4, unbatched = _as_image(x, "max_pool1d")
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None else _single(stride, "stride")
    op = MaxPool2d((1, k), (1, s), (0, _single(padding, "padding")),
                   (1, _single(dilation, "dilation")), ceil_mode, return_indices=return_indices,
                   name="max_pool1d")
    y = op(x4)
    out = _as_sequence(y, unbatched)
    if not return_indices:
        return out
    return out, _as_sequence(Tensor._wrap(op.flat_indices()), unbatched)


def avg_pool1d(
    x: Any,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Average pooling over sequences, as ``torch.nn.functional.avg_pool1d`` (the 2-D op on
    sequences of height 1; arguments as :func:`avg_pool2d`, single ints).

    Shape:
        x: (N, C, L) or (C, L) -> (N, C, OL) with ``OL = (L + 2·p - k) // s + 1``.
    """
    x4, unbatched = _as_image(x, "avg_pool1d")
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None else _single(stride, "stride")
    op = AvgPool2d((1, k), (1, s), (0, _single(padding, "padding")), 1,
                   ceil_mode, count_include_pad=count_include_pad, name="avg_pool1d")
    return _as_sequence(op(x4), unbatched)

"""Adaptive pooling to any output size, global average pooling, and max unpooling.

Adaptive windows follow PyTorch: output cell ``i`` of ``out`` along an axis of length
``n`` pools input ``floor(i·n/out)`` to ``ceil((i+1)·n/out)`` (exclusive). Average
pooling is separable, so it is two matrix products ``A_h @ x @ A_w^T`` with per-axis
averaging matrices (each row 1/count over its window), and its backward is
``A_h^T @ gy @ A_w``: no loop at all. Max pooling loops over the (small) output grid, each
step one argmax over a window of every example and channel at once; its backward is one
scatter-add of the upstream gradient to the recorded maxima.
"""

from __future__ import annotations

from typing import Any

from ...backend import get_array_module, scatter_add
from ..function import Function
from ..tensor import Tensor
from .conv import _batched, _pair, _single
from .shape import reshape

__all__ = ["adaptive_avg_pool2d", "adaptive_max_pool2d", "global_avg_pool2d", "max_unpool2d",
           "max_unpool1d"]


def _bounds(n: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: [floor(i·n/out), ceil((i+1)·n/out)) for each i."""
    return [((i * n) // out, -((-(i + 1) * n) // out)) for i in range(out)]


def _output_size(where: str, output_size: Any, hw: tuple[int, ...]) -> tuple[int, int]:
    """``output_size`` (an int, or a pair whose None entries keep the input's size)."""
    if isinstance(output_size, tuple | list) and len(output_size) == 2:
        size = tuple(hw[i] if v is None else v for i, v in enumerate(output_size))
    else:
        size = output_size
    oh, ow = _pair(size, f"{where}: output_size")
    if oh < 1 or ow < 1:
        raise ValueError(f"{where}: output_size must be positive, got {output_size!r}")
    return oh, ow


def _avg_matrix(xp: Any, n: int, out: int, dtype: Any) -> Any:
    """(out, n) matrix averaging each adaptive window."""
    a = xp.zeros((out, n), dtype=dtype)
    for i, (s, e) in enumerate(_bounds(n, out)):
        a[i, s:e] = dtype.type(1.0) / dtype.type(e - s)
    return a


class AdaptiveAvgPool2d(Function):
    def __init__(self, output_size: Any) -> None:
        self.output_size = output_size

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        oh, ow = _output_size("adaptive_avg_pool2d", self.output_size, x.shape[2:])
        if min(x.shape[2:]) < 1:
            raise ValueError(f"adaptive_avg_pool2d: empty spatial axes in {tuple(x.shape)}")
        self.ah = _avg_matrix(xp, x.shape[2], oh, x.dtype)
        self.aw = _avg_matrix(xp, x.shape[3], ow, x.dtype)
        return self.ah @ x @ self.aw.T

    def backward(self, gy: Any) -> Any:
        # y = A_h x A_w^T  =>  gx = A_h^T gy A_w
        return self.ah.T @ gy @ self.aw


class AdaptiveMaxPool2d(Function):
    def __init__(self, output_size: Any) -> None:
        self.output_size = output_size

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        n, c, h, w = x.shape
        oh, ow = _output_size("adaptive_max_pool2d", self.output_size, (h, w))
        if h < 1 or w < 1:
            raise ValueError(f"adaptive_max_pool2d: empty spatial axes in {tuple(x.shape)}")
        idx = xp.empty((n, c, oh, ow), dtype=xp.int64)
        for i, (hs, he) in enumerate(_bounds(h, oh)):
            for j, (ws, we) in enumerate(_bounds(w, ow)):
                win = x[:, :, hs:he, ws:we].reshape(n, c, (he - hs) * (we - ws))
                a = win.argmax(axis=2)  # the first maximum, as PyTorch
                idx[:, :, i, j] = (hs + a // (we - ws)) * w + ws + a % (we - ws)
        self.idx, self.in_shape = idx, x.shape
        flat = idx.reshape(n, c, oh * ow)
        return xp.take_along_axis(x.reshape(n, c, h * w), flat, axis=2).reshape(idx.shape)

    def backward(self, gy: Any) -> Any:
        # d max = 1 at each window's maximum; windows may overlap, so accumulate
        xp = get_array_module(gy)
        n, c, h, w = self.in_shape
        gx = xp.zeros((n * c, h * w), dtype=gy.dtype)
        rows = xp.arange(n * c).reshape(-1, 1)
        p = gy.shape[2] * gy.shape[3]  # explicit sizes: -1 fails on an empty batch
        scatter_add(gx, (rows, self.idx.reshape(n * c, p)), gy.reshape(n * c, p))
        return gx.reshape(self.in_shape)


class GlobalAvgPool2d(Function):
    def __init__(self, keepdims: bool) -> None:
        self.keepdims = keepdims

    def forward(self, x: Any) -> Any:
        if x.ndim != 4:
            raise ValueError(
                f"global_avg_pool2d: expected input (N, C, H, W), got {tuple(x.shape)}"
            )
        self.shape = x.shape
        return x.mean(axis=(2, 3), keepdims=self.keepdims)

    def backward(self, gy: Any) -> Any:
        # d mean = 1/(H·W) for every pixel
        xp = get_array_module(gy)
        n, c, h, w = self.shape
        g = gy.reshape(n, c, 1, 1) * gy.dtype.type(1.0 / (h * w))
        return xp.broadcast_to(g, self.shape).copy()


class MaxUnpool(Function):
    """Scatter each value to its recorded flat index in a zero (N, C, H·W) plane."""

    def __init__(self, indices: Any, out_hw: tuple[int, int], where: str) -> None:
        self.indices, self.out_hw, self.where = indices, out_hw, where

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        idx = self.indices
        if idx.shape != x.shape or idx.dtype.kind not in "iu":
            raise ValueError(
                f"{self.where}: indices must be integers of the input's shape "
                f"{tuple(x.shape)}, got {idx.dtype} {tuple(idx.shape)}"
            )
        n, c = x.shape[:2]
        size = self.out_hw[0] * self.out_hw[1]
        p = x.shape[2] * x.shape[3]  # explicit sizes: -1 fails on an empty batch
        flat = idx.reshape(n, c, p)
        if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= size):
            raise ValueError(
                f"{self.where}: indices must lie in [0, {size}) for output size "
                f"{self.out_hw}, found {int(flat.min())}..{int(flat.max())}"
            )
        y = xp.zeros((n, c, size), dtype=x.dtype)
        planes = (xp.arange(n).reshape(-1, 1, 1), xp.arange(c).reshape(1, -1, 1))
        y[planes + (flat,)] = x.reshape(n, c, p)  # put_along_axis, CuPy-safe
        self.flat = flat
        return y.reshape(n, c, *self.out_hw)

    def backward(self, gy: Any) -> Any:
        # y[idx] = x  =>  gx = gy[idx]
        xp = get_array_module(gy)
        n, c = gy.shape[:2]
        gx = xp.take_along_axis(gy.reshape(n, c, gy.shape[2] * gy.shape[3]), self.flat, axis=2)
        return gx.reshape(self.indices.shape)


def _indices_array(indices: Any) -> Any:
    return indices.data if isinstance(indices, Tensor) else indices


def adaptive_avg_pool2d(x: Any, output_size: Any) -> Tensor:
    """Adaptive average pooling to a fixed output size, as
    ``torch.nn.functional.adaptive_avg_pool2d`` (PyTorch's window rule, see the module).

    Args:
        x: input images, batched or one unbatched image.
        output_size: (OH, OW) or an int for both; a None entry keeps that input size.

    Shape:
        x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) (or (C, OH, OW)).
    """
    x4, unbatched = _batched(x, 4, "adaptive_avg_pool2d", "(N, C, H, W) or (C, H, W)")
    if _output_size("adaptive_avg_pool2d", output_size, x4.shape[2:]) == (1, 1):
        y = GlobalAvgPool2d(keepdims=True)(x4)  # the plain mean: faster, same numbers
    else:
        y = AdaptiveAvgPool2d(output_size)(x4)
    return reshape(y, y.shape[1:]) if unbatched else y


def adaptive_max_pool2d(x: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Adaptive max pooling to a fixed output size, as
    ``torch.nn.functional.adaptive_max_pool2d``.

    Args:
        x: input images, batched or one unbatched image.
        output_size: (OH, OW) or an int for both; a None entry keeps that input size.
        return_indices: also return each maximum's flat index into its (H, W) plane.

    Shape:
        x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) (or (C, OH, OW)).
    """
    x4, unbatched = _batched(x, 4, "adaptive_max_pool2d", "(N, C, H, W) or (C, H, W)")
    op = AdaptiveMaxPool2d(output_size)
    y = op(x4)
    idx = Tensor._wrap(op.idx)
    if unbatched:
        y, idx = reshape(y, y.shape[1:]), reshape(idx, idx.shape[1:])
    return (y, idx) if return_indices else y


def global_avg_pool2d(x: Any) -> Tensor:
    """Mean over the spatial axes.

    Shape:
        x: (N, C, H, W) -> (N, C)
    """
    return GlobalAvgPool2d(keepdims=False)(x)


def max_unpool2d(
    x: Any,
    indices: Any,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    output_size: Any = None,
) -> Tensor:
    """Partial inverse of ``max_pool2d``, as ``torch.nn.functional.max_unpool2d``: each
    value goes to its index from ``max_pool2d(..., return_indices=True)``, zeros elsewhere.

    Args:
        x: pooled values, batched or unbatched.
        indices: flat indices into each output plane, same shape as ``x``.
        kernel_size, stride, padding: the pooling's, to find the default output size.
        output_size: (H, W) (or a full shape whose last two entries are used) to choose
            among the sizes that pool to ``x``'s.

    Shape:
        x: (N, C, h, w) or (C, h, w) -> (N, C, H, W) with ``H = (h - 1)·sh - 2·ph + kh``
        unless ``output_size`` is given.
    """
    x4, unbatched = _batched(x, 4, "max_unpool2d", "(N, C, H, W) or (C, H, W)")
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None else _pair(stride, "stride")
    p = _pair(padding, "padding")
    if output_size is None:
        out_hw = tuple((x4.shape[2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(2))
    else:
        out_hw = tuple(int(v) for v in tuple(output_size)[-2:])
    idx = _indices_array(indices)
    idx = idx.reshape(x4.shape) if unbatched else idx
    y = MaxUnpool(idx, (out_hw[0], out_hw[1]), "max_unpool2d")(x4)
    return reshape(y, y.shape[1:]) if unbatched else y


def max_unpool1d(
    x: Any,
    indices: Any,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    output_size: Any = None,
) -> Tensor:
    """Partial inverse of ``max_pool1d``, as ``torch.nn.functional.max_unpool1d``.

    Shape:
        x: (N, C, l) or (C, l) -> (N, C, L) with ``L = (l - 1)·s - 2·p + k`` unless
        ``output_size`` is given.
    """
    x3, unbatched = _batched(x, 3, "max_unpool1d", "(N, C, L) or (C, L)")
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None else _single(stride, "stride")
    length = ((x3.shape[2] - 1) * s - 2 * _single(padding, "padding") + k
              if output_size is None else int(tuple(output_size)[-1]))
    n, c, ln = x3.shape
    idx = _indices_array(indices).reshape(n, c, 1, ln)
    y = MaxUnpool(idx, (1, length), "max_unpool1d")(reshape(x3, (n, c, 1, ln)))
    return reshape(y, (c, length) if unbatched else (n, c, length))

"""Padding: constant, reflect, replicate and circular, with negative widths cropping.

``pad`` takes NumPy's ``pad_width`` (pairs per axis, first axis first); ``torch_pad`` takes
PyTorch's flat ``pad`` tuple (last axis first), as ``torch.nn.functional.pad``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import get_array_module, scatter_add
from ..function import Function
from ..tensor import Tensor

__all__ = ["pad", "torch_pad"]

_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
          "circular": "wrap", "edge": "edge", "wrap": "wrap"}


class Pad(Function):
    """Crop negative widths, then pad; for the non-constant modes every output element is
    an input element, found through one index vector per padded axis (gather forward,
    scatter-add backward)."""

    def __init__(self, pw: np.ndarray, mode: str, value: float) -> None:
        self.pw, self.mode, self.value = pw, mode, value

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        pw = self.pw
        self.in_shape = x.shape
        self.crop = tuple(slice(int(max(-b, 0)), int(n - max(-a, 0)))
                          for (b, a), n in zip(pw, x.shape, strict=True))
        grow = np.maximum(pw, 0)
        y = x[self.crop]
        if self.mode == "constant":
            return xp.pad(y, [tuple(int(v) for v in p) for p in grow],
                          constant_values=x.dtype.type(self.value))
        self.index = []
        for ax, (b, a) in enumerate(grow):
            if b == 0 and a == 0:
                self.index.append(None)
                continue
            idx = np.pad(np.arange(y.shape[ax]), (int(b), int(a)), mode=_MODES[self.mode])
            idx = xp.asarray(idx)
            self.index.append(idx)
            y = xp.take(y, idx, axis=ax)
        return y

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        grow = np.maximum(self.pw, 0)
        if self.mode == "constant":
            g = gy[tuple(slice(int(b), gy.shape[i] - int(a)) for i, (b, a) in enumerate(grow))]
        else:
            g = gy
            for ax in reversed(range(gy.ndim)):
                idx = self.index[ax]
                if idx is None:
                    continue
                n = g.shape[ax] - int(grow[ax].sum())
                shape = g.shape[:ax] + (n,) + g.shape[ax + 1:]
                acc = xp.zeros(shape, dtype=gy.dtype)
                scatter_add(acc, (slice(None),) * ax + (idx,), g)  # d gather = scatter-add
                g = acc
        gx = xp.zeros(self.in_shape, dtype=gy.dtype)
        gx[self.crop] = g
        return gx


def _check(x: Any, pw: np.ndarray, mode: str) -> None:
    shape = tuple(x.shape)
    for ax, ((b, a), n) in enumerate(zip(pw, shape, strict=True)):
        kept = n - max(-b, 0) - max(-a, 0)
        if kept < 0:
            raise ValueError(f"pad: negative widths ({b}, {a}) crop more than axis {ax}'s "
                             f"length {n}")
        if mode == "constant" or (b <= 0 and a <= 0):
            continue
        big = max(b, a)
        if mode == "reflect" and big >= kept:
            raise ValueError(f"pad: reflect padding ({b}, {a}) of axis {ax} must be smaller "
                             f"than its length {kept}")
        if mode == "circular" and big > kept:
            raise ValueError(f"pad: circular padding ({b}, {a}) of axis {ax} must not exceed "
                             f"its length {kept}")
        if mode == "replicate" and kept == 0:
            raise ValueError(f"pad: replicate padding of axis {ax}, which has length 0")


def pad(x: Any, pad_width: Any, value: float = 0, mode: str = "constant") -> Tensor:
    """Pad (and, with negative widths, crop) ``x``, with NumPy's ``pad_width``: an int, a
    ``(before, after)`` pair, or one pair per axis.

    Args:
        x: the tensor.
        pad_width: widths per axis; a negative width removes that many elements.
        value: the fill value of ``mode="constant"``.
        mode: "constant", "reflect" (mirror without repeating the edge), "replicate"
            (repeat the edge) or "circular" (wrap around), PyTorch's names.

    Shape:
        x: any; output: each axis grown by its two widths.
    """
    return _pad(x, pad_width, value, mode)


def _pad(x: Any, pad_width: Any, value: float, mode: str) -> Tensor:
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                         f"'circular', got {mode!r}")
    ndim = len(x.shape)
    try:
        pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2)).copy()
    except (ValueError, TypeError) as e:
        raise ValueError(f"pad: pad_width {pad_width!r} is not an int, a pair or one pair "
                         f"per axis of a {ndim}-d tensor") from e
    _check(x, pw, mode)
    return Pad(pw, mode, float(value))(x)


def torch_pad(x: Any, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """``torch.nn.functional.pad``: ``pad`` is a flat tuple ``(left, right, top, bottom,
    ...)`` for the last axis first; negative widths crop.

    Args:
        x: the tensor.
        pad: an even number of widths, at most two per axis.
        mode: "constant", "reflect", "replicate" or "circular".
        value: fill value for "constant" (0 when None).

    Shape:
        x: any; output: the padded axes grown by their two widths.
    """
    widths = [int(v) for v in pad]
    ndim = len(x.shape)
    if len(widths) % 2 or len(widths) // 2 > ndim:
        raise ValueError(f"pad: pad must have an even length of at most 2 * {ndim}, "
                         f"got {len(widths)}")
    pw = [(0, 0)] * ndim
    for k in range(len(widths) // 2):
        pw[ndim - 1 - k] = (widths[2 * k], widths[2 * k + 1])
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: value is only used by mode='constant', not {mode!r}")
    return _pad(x, pw, 0.0 if value is None else value, mode)

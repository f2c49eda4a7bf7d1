"""Border padding by mode ("reflect", "replicate", "circular") on the trailing axes: the
padding of ``Conv1d``/``Conv2d(padding_mode=...)``, as PyTorch's ``F.pad`` in those modes.

Forward: one gather (``take`` with an index array) per padded axis. Backward, per axis in
reverse: the interior slice of the gradient, plus each border strip added back to the
entries it copied (a fancy-index add: the indices inside one strip are distinct for
reflect and circular; replicate's strip is summed into the edge), never a loop over
elements.
"""

from __future__ import annotations

from typing import Any

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor

__all__ = ["pad_mode"]

MODES = ("reflect", "replicate", "circular")


def _border_indices(xp: Any, n: int, lo: int, hi: int, mode: str) -> tuple[Any, Any]:
    """Source indices of the left (``lo``) and right (``hi``) border strips of an axis of
    length ``n``."""
    if mode == "reflect":  # ... x2 x1 | x0 x1 ... x_{n-1} | x_{n-2} ...
        left = xp.arange(lo, 0, -1)
        right = xp.arange(n - 2, n - 2 - hi, -1)
    elif mode == "replicate":
        left = xp.zeros(lo, dtype=xp.int64)
        right = xp.full(hi, n - 1, dtype=xp.int64)
    else:  # circular
        left = xp.arange(n - lo, n)
        right = xp.arange(hi)
    return left, right


class PadMode(Function):
    def __init__(self, pads: tuple[tuple[int, int], ...], mode: str) -> None:
        self.pads = pads  # one (before, after) per trailing axis
        self.mode = mode

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        k = len(self.pads)
        if x.ndim < k:
            raise ValueError(f"pad: {k} padded axes but the input has shape {tuple(x.shape)}")
        self.shape = x.shape
        for axis, (lo, hi) in zip(range(x.ndim - k, x.ndim), self.pads, strict=True):
            n = x.shape[axis]
            limit = n if self.mode == "circular" else n - 1 if self.mode == "reflect" else None
            if (limit is not None and max(lo, hi) > limit) or (n == 0 and (lo or hi)):
                raise ValueError(
                    f"pad: {self.mode} padding ({lo}, {hi}) of an axis of length {n} must be "
                    f"{'at most' if self.mode == 'circular' else 'less than'} the length"
                )
            if lo or hi:
                left, right = _border_indices(xp, n, lo, hi, self.mode)
                x = xp.take(x, xp.concatenate([left, xp.arange(n), right]), axis=axis)
        return x

    def backward(self, gy: Any) -> Any:
        # d pad: each padded entry is a copy of one input entry, so its gradient adds back
        xp = get_array_module(gy)
        k = len(self.pads)
        nd = gy.ndim
        for axis, (lo, hi) in reversed(list(zip(range(nd - k, nd), self.pads, strict=True))):
            if not (lo or hi):
                continue
            n = self.shape[axis]
            lead = (slice(None),) * axis
            gx = gy[lead + (slice(lo, lo + n),)].copy()
            left, right = _border_indices(xp, n, lo, hi, self.mode)
            for strip, idx in ((gy[lead + (slice(0, lo),)], left),
                               (gy[lead + (slice(lo + n, lo + n + hi),)], right)):
                if strip.shape[axis] == 0:
                    continue
                if self.mode == "replicate":
                    edge = int(idx[0])
                    gx[lead + (slice(edge, edge + 1),)] += strip.sum(axis=axis, keepdims=True)
                else:
                    gx[lead + (idx,)] += strip
            gy = gx
        return gy


def pad_mode(x: Any, pads: tuple[tuple[int, int], ...], mode: str) -> Tensor:
    """Pad the trailing ``len(pads)`` axes of ``x`` by copying its own entries.

    Args:
        x: the array to pad.
        pads: one ``(before, after)`` pair per trailing axis, outermost first.
        mode: ``"reflect"`` (mirror without repeating the edge; pad < length),
            ``"replicate"`` (repeat the edge) or ``"circular"`` (wrap around; pad <= length).

    Shape:
        (..., n1, ..., nk) -> (..., n1 + before1 + after1, ..., nk + beforek + afterk)
    """
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {MODES}, got {mode!r}")
    pads = tuple((int(a), int(b)) for a, b in pads)
    if any(a < 0 or b < 0 for a, b in pads):
        raise ValueError(f"pad: {mode} padding must be non-negative, got {pads}")
    return PadMode(pads, mode)(x)

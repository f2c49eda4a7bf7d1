"""clip / clamp: limit values to a range given by numbers or by tensors."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import get_array_module, sum_to
from ..function import Function
from ..tensor import Tensor

__all__ = ["clip", "clamp"]


class Clip(Function):
    """Clip to constant bounds (Python numbers)."""

    def __init__(self, lo: float | None, hi: float | None) -> None:
        self.lo = None if lo is None else float(lo)
        self.hi = None if hi is None else float(hi)

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        if self.requires_grad:
            self.x = x
        y = x
        if self.lo is not None:  # max then min, as PyTorch: lo > hi gives hi everywhere
            y = xp.maximum(y, x.dtype.type(self.lo))
        if self.hi is not None:
            y = xp.minimum(y, x.dtype.type(self.hi))
        return y if y is not x else x.copy()

    def backward(self, gy: Any) -> Any:
        # gradient 1 inside [lo, hi] (bounds included, as PyTorch), 0 outside
        x = self.x
        mask = np.True_
        if self.lo is not None:
            mask = x >= self.lo
        if self.hi is not None:
            mask = mask & (x <= self.hi)
        return gy * mask


class Clamp(Function):
    """Clip ``x`` to tensor bounds ``lo``/``hi`` (either may be absent), broadcasting all
    three; the gradient also flows to the bounds, with PyTorch's rule."""

    def __init__(self, has_lo: bool, has_hi: bool) -> None:
        self.has_lo, self.has_hi = has_lo, has_hi

    def forward(self, x: Any, *bounds: Any) -> Any:
        xp = get_array_module(x, *bounds)
        it = iter([b.astype(x.dtype, copy=False) if x.dtype.kind == "f" else b
                   for b in bounds])
        lo = next(it) if self.has_lo else None
        hi = next(it) if self.has_hi else None
        self.shapes = (x.shape,) + tuple(b.shape for b in bounds)
        if self.requires_grad:
            self.x, self.lo, self.hi = x, lo, hi
        y = x
        if lo is not None:
            y = xp.maximum(y, lo)
        if hi is not None:
            y = xp.minimum(y, hi)
        return xp.broadcast_to(y, np.broadcast_shapes(*self.shapes)).copy()

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        x, lo, hi = self.x, self.lo, self.hi
        zero = xp.zeros((), dtype=gy.dtype)
        inside = np.True_
        if lo is not None:
            inside = x >= lo
        if hi is not None:
            inside = inside & (x <= hi)
        needs = iter(self.needs_input_grad)
        shapes = iter(self.shapes)
        out = [sum_to(xp.where(inside, gy, zero), next(shapes)) if next(needs) else None]
        if lo is not None:
            # d/dlo: 1 where x < lo (and lo < hi when both are given)
            m = (x < lo) if hi is None else (x < lo) & (lo < hi)
            s = next(shapes)
            out.append(sum_to(xp.where(m, gy, zero), s) if next(needs) else None)
        if hi is not None:
            # d/dhi: 1 where x > hi, or everywhere hi < lo (the output is hi there)
            m = (x > hi) if lo is None else (x > hi) | (hi < lo)
            s = next(shapes)
            out.append(sum_to(xp.where(m, gy, zero), s) if next(needs) else None)
        return tuple(out)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def clamp(x: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's names
    """Limit values to ``[min, max]`` (PyTorch's ``clamp``); either bound may be None.

    Bounds are numbers or tensors (broadcast against ``x``); a bound tensor receives the
    gradient where it is the output. Where ``min > max`` the output is ``max``. The gradient
    to ``x`` is 1 inside the range, bounds included, and 0 outside.

    Args:
        x: the tensor.
        min: lower bound (number, array or tensor) or None.
        max: upper bound (number, array or tensor) or None.

    Shape:
        x, min, max: broadcastable; output: their broadcast shape.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if (min is None or _is_number(min)) and (max is None or _is_number(max)):
        return Clip(min, max)(x)
    bounds = [b for b in (min, max) if b is not None]
    return Clamp(min is not None, max is not None)(x, *bounds)


def clip(x: Any, a_min: Any = None, a_max: Any = None) -> Tensor:
    """Limit values to ``[a_min, a_max]`` (NumPy's names; same as :func:`clamp`).

    Shape:
        x, a_min, a_max: broadcastable; output: their broadcast shape.
    """
    return clamp(x, a_min, a_max)

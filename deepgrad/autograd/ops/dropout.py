"""Inverted dropout as one fused op; the mask comes from an explicit numpy Generator."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._random import as_generator
from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor

__all__ = ["dropout"]


class Dropout(Function):
    def __init__(self, p: float, rng: np.random.Generator) -> None:
        self.p = p
        self.rng = rng

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        dt = x.dtype if x.dtype.kind == "f" else np.float64
        if self.p >= 1.0:
            mask = xp.zeros(x.shape, dtype=dt)
        else:
            keep = self.rng.random(x.shape, dtype=np.dtype(dt)) >= self.p
            mask = xp.asarray(keep.astype(dt) * dt.type(1.0 / (1.0 - self.p)))
        if self.requires_grad:
            self.mask = mask
        return x * mask

    def backward(self, gy: Any) -> Any:
        # d (x * mask / (1 - p)) = mask / (1 - p)
        return gy * self.mask


def dropout(x: Any, p: float = 0.5, training: bool = True, rng: Any = None) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    1 / (1 - p), so the expected value is unchanged; the identity when not ``training``.

    Args:
        x: input tensor.
        p: drop probability in [0, 1] (1 gives zeros).
        training: apply dropout (True) or return ``x`` unchanged (False).
        rng: a numpy Generator or int seed for the mask; None draws from the default
            generator (``deepgrad.manual_seed``), so a seeded run repeats exactly.

    Shape:
        x: any; output: same as x.
    """
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x if isinstance(x, Tensor) else Tensor(x)
    return Dropout(p, as_generator(rng))(x)

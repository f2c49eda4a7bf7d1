"""Inverted dropout as one fused op; the mask comes from an explicit numpy Generator."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._random import as_generator
from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor

__all__ = ["dropout", "dropout2d"]


def _uniform(xp: Any, rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Any:
    """Uniform [0, 1) samples of ``dtype`` (float32 or float64) on ``xp``'s device.

    On NumPy they come from ``rng`` itself. On CuPy they are drawn on the device by a cuRAND
    generator seeded from ``rng``: no host-to-device copy, and a seeded run still repeats
    exactly (the masks differ from the CPU ones for the same seed).
    """
    if xp is np:
        return rng.random(shape, dtype=dtype)
    seed = int(rng.integers(2**63))
    curand = getattr(xp.cuda, "curand", None)
    philox = getattr(curand, "CURAND_RNG_PSEUDO_PHILOX4_32_10", None)  # cheap to set up
    gen = xp.random.RandomState(seed) if philox is None else \
        xp.random.RandomState(seed, method=philox)
    return gen.random_sample(shape, dtype=dtype)


class Dropout(Function):
    """Inverted dropout; with ``channels`` one draw per (example, channel), broadcast over
    the positions (``dropout2d``)."""

    def __init__(self, p: float, rng: np.random.Generator, channels: bool = False) -> None:
        self.p = p
        self.rng = rng
        self.channels = channels

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        shape = x.shape[:-2] + (1, 1) if self.channels else x.shape
        if self.p >= 1.0:
            mask = xp.zeros(shape, dtype=dt)
        else:
            draw = dt if dt in (np.float32, np.float64) else np.dtype(np.float32)
            keep = _uniform(xp, self.rng, shape, draw) >= self.p
            mask = keep.astype(dt)
            mask *= dt.type(1.0 / (1.0 - self.p))
        if self.requires_grad:
            self.mask = mask
        return x * mask

    def backward(self, gy: Any) -> Any:
        # d (x * keep / (1 - p)) = keep / (1 - p), the mask of the forward pass (broadcast)
        return gy * self.mask


def dropout(x: Any, p: float = 0.5, training: bool = True, rng: Any = None) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    1 / (1 - p), so the expected value is unchanged; the identity when not ``training``.

    The mask is made in ``x``'s dtype (float64 for a non-float input); on CuPy it is drawn
    on the device (see ``_uniform``).

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


def dropout2d(x: Any, p: float = 0.5, training: bool = True, rng: Any = None) -> Tensor:
    """Channel dropout (PyTorch's ``dropout2d``, SpatialDropout): zero whole channels of
    each example with probability ``p`` and scale the rest by 1 / (1 - p); the identity
    when not ``training``.

    A 3-d input is one unbatched image (C, H, W), as PyTorch documents it (torch 2.x still
    treats it as (N, C, L) with a warning).

    Args:
        x: input (N, C, H, W) or (C, H, W).
        p: drop probability in [0, 1].
        training: apply dropout (True) or return ``x`` unchanged (False).
        rng: a numpy Generator or int seed; None draws from the default generator.

    Shape:
        x: (N, C, H, W) or (C, H, W); output: same as x.
    """
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability must be in [0, 1], got {p}")
    if len(x.shape) not in (3, 4):
        raise ValueError(f"dropout2d: expected input (N, C, H, W) or (C, H, W), got shape "
                         f"{tuple(x.shape)}")
    if not training or p == 0.0:
        return x if isinstance(x, Tensor) else Tensor(x)
    return Dropout(p, as_generator(rng), channels=True)(x)

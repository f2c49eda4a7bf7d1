"""The default random generator (``deepgrad.manual_seed``) and seed handling.

All randomness in deepgrad comes from an explicit ``numpy.random.Generator``; layers and
loaders take ``rng=`` (a Generator or an int seed) and otherwise draw from this module's
default generator, so ``manual_seed(n)`` makes a whole run repeat exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["manual_seed", "default_generator", "as_generator"]

_default = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator (used where no ``rng=`` is given); returns it."""
    global _default
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _default = np.random.default_rng(int(seed))
    return _default


def default_generator() -> np.random.Generator:
    """The generator used when no ``rng=`` is given."""
    return _default


def as_generator(rng: Any = None) -> np.random.Generator:
    """A Generator from ``None`` (the default one), an int seed, or a Generator."""
    if rng is None:
        return _default
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy Generator, got {rng!r}")

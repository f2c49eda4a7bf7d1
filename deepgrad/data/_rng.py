"""One way to turn a seed (or a Generator) into a ``numpy.random.Generator`` for deepgrad.data."""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # the package-wide helper, when present
    from .._random import as_generator as _as_generator
except ImportError:  # pragma: no cover - depends on what else is installed
    _as_generator = None

__all__ = ["as_generator", "check_seed"]


def check_seed(seed: Any, name: str = "seed") -> None:
    """Raise ValueError unless ``seed`` is None, a non-negative int or a Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"{name} must be None, a non-negative int or a numpy.random.Generator, "
            f"got {seed!r} ({type(seed).__name__})"
        )
    if seed < 0:
        raise ValueError(f"{name} must be non-negative, got {seed}")


def as_generator(seed: Any = None, name: str = "seed") -> np.random.Generator:
    """A ``numpy.random.Generator`` from None (fresh entropy), an int seed or a Generator.

    A Generator is returned as is (shared, not copied).
    """
    check_seed(seed, name)
    if _as_generator is not None:
        return _as_generator(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)

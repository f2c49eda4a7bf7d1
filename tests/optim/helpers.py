"""Shared helpers for the optimizer tests: a bare parameter and a reproducible grad sequence."""

from __future__ import annotations

from typing import Any

import numpy as np

SHAPES = ((3, 4), (5,), ())


class Param:
    """The smallest thing an optimizer accepts: ``.data`` and ``.grad``."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.grad: Any = None


def initial_arrays(dtype: Any, seed: int = 0, shapes=SHAPES) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def noise_sequence(dtype: Any, steps: int, seed: int = 1, shapes=SHAPES) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]


def grad_of(data: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """A gradient that depends on the parameter (a quadratic plus noise), read-only."""
    g = np.array(noise + 0.5 * data, dtype=data.dtype)
    g.flags.writeable = False  # optimizers must never write into a gradient
    return g


def make_params(dtype: Any, seed: int = 0, shapes=SHAPES) -> list[Param]:
    return [Param(a) for a in initial_arrays(dtype, seed, shapes)]


def set_grads(params: list[Param], noises: list[np.ndarray], skip: tuple[int, ...] = ()) -> None:
    for i, (p, n) in enumerate(zip(params, noises, strict=True)):
        p.grad = None if i in skip else grad_of(p.data, n)

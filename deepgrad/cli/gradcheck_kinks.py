"""Central differences that notice kinks, for ``deepgrad gradcheck``.

A piecewise-smooth loss (ReLU, max-pooling, abs, clipping) has points where its gradient
is not defined: ReLU exactly at 0, or a max-pool window whose tied maxima move apart. The
network's backward then returns one one-sided derivative (``relu'(0) = 0``) while the
central difference ``(J(θ + ε) - J(θ - ε)) / 2ε`` returns the average of both, so a
correct backward looks wrong. Such points are not rare: zero biases on images with a zero
background put whole feature maps exactly at 0.

Each checked entry (or random direction) whose central difference disagrees with the
analytic gradient is tested for a kink from two more evaluations, at ±2ε. Where J is smooth
the second differences ``D(x) = (J(x + ε) - 2 J(x) + J(x - ε)) / ε`` at x = -ε, 0 and ε
are all ``J'' ε`` to O(ε²); a kink anywhere within ε of θ, with slope jump Δ, adds
``Δ (1 - |δ - x| / ε)`` to those whose stencil spans it, so they spread apart by at least
``|Δ| / 2``, and the kink moves the central difference by at most ``|Δ| / 2``. An entry is
at a kink when that spread is above rounding noise and at least the disagreement it has to
explain. Entries at kinks are counted and left out of the relative error; every other
entry is compared as before, so a wrong backward still disagrees (a 1% error in a
gradient is far larger than the O(ε²) spread of a smooth loss at the default ε = 1e-6).
At a large ε (1e-3 and up) curvature alone can spread the second differences enough to be
taken for a kink: such entries are left out too, never counted as agreeing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

__all__ = ["OK", "WARN", "ParamCheck", "check_param", "move_off_kinks", "relative_error"]

OK, WARN = 1e-6, 1e-3
_NOISE = 100.0  # above the rounding noise of J, in units of machine epsilon times |J|


@dataclass
class ParamCheck:
    """What was checked for one parameter tensor, and how it went.

    Attributes:
        how: "all N" (entry by entry) or "N directions".
        checked: entries or directions compared.
        kinks: of those, how many sat at a kink (left out of ``error``).
        error: relative error over the rest; None when every one sat at a kink.
    """

    how: str
    checked: int
    kinks: int
    error: float | None

    @property
    def status(self) -> str:
        """ok, check or FAIL by the error; kink when every entry sat at a kink."""
        if self.error is None:
            return "kink"
        return "ok" if self.error < OK else "check" if self.error < WARN else "FAIL"


def relative_error(a: np.ndarray, n: np.ndarray) -> float:
    """‖a - n‖ / (‖a‖ + ‖n‖), 0 when both are zero."""
    den = float(np.linalg.norm(a) + np.linalg.norm(n))
    return 0.0 if den == 0 else float(np.linalg.norm(a - n)) / den


def _lines(p: Any, max_elems: int, n_dir: int,
           rng: np.random.Generator) -> tuple[str, Iterator[np.ndarray]]:
    """The unit vectors to difference along: every entry, or random directions."""
    if p.size <= max_elems:
        def entries() -> Iterator[np.ndarray]:
            for i in range(p.size):
                u = np.zeros(p.size)
                u[i] = 1.0
                yield u.reshape(p.shape)
        return f"all {p.size}", entries()
    vs = [rng.standard_normal(p.shape) for _ in range(n_dir)]
    return f"{n_dir} directions", (v / np.linalg.norm(v) for v in vs)


def _is_kink(line: Callable[[float], float], j0: float, fp: float, fm: float, eps: float,
             disagreement: float) -> bool:
    """Whether ``line`` (J at θ + t u) crosses a kink big enough to explain ``disagreement``.

    The second differences ``D(x) = (J(x + ε) - 2 J(x) + J(x - ε)) / ε`` at x = -ε, 0, ε
    all equal ``J'' ε`` (to O(ε²)) where J is smooth. A kink at δ in (-ε, ε) with slope
    jump Δ adds ``Δ (1 - |δ - x| / ε)`` to those whose stencil spans it, so their spread
    is at least ``|Δ| / 2``, which bounds what it can do to the central difference.
    """
    fp2, fm2 = line(2 * eps), line(-2 * eps)
    d = np.array([fm2 - 2 * fm + j0, fp - 2 * j0 + fm, fp2 - 2 * fp + j0]) / eps
    spread = float(d.max() - d.min())
    noise = _NOISE * np.finfo(np.float64).eps * max(abs(j0), 1e-30) / eps
    return spread > noise and spread >= disagreement


def check_param(J: Callable[[], float], j0: float, p: Any, g: np.ndarray, eps: float,
                max_elems: int, n_dir: int, rng: np.random.Generator) -> ParamCheck:
    """Compare ``g`` (the analytic gradient of J for ``p``) with central differences.

    Args:
        J: the loss at the parameters' current values.
        j0: ``J()`` at the unperturbed point.
        p: the parameter; its ``data`` is moved and restored exactly.
        g: its analytic gradient, shaped like ``p``.
        eps: the finite-difference step.
        max_elems: tensors up to this size are checked entry by entry.
        n_dir: random unit directions for larger tensors.
        rng: draws the directions.
    """
    orig = p.data.copy()

    def at(u: np.ndarray, t: float) -> float:
        p.data[...] = orig + t * u
        return J()

    how, units = _lines(p, max_elems, n_dir, rng)
    ana, num, kink = [], [], []
    try:
        for u in units:
            line = partial(at, u)
            fp, fm = line(eps), line(-eps)
            a, c = float(np.sum(g * u)), (fp - fm) / (2 * eps)
            d = abs(a - c)
            ana.append(a)
            num.append(c)
            kink.append(d > OK * (abs(a) + abs(c)) and _is_kink(line, j0, fp, fm, eps, d))
    finally:
        p.data[...] = orig
    keep = ~np.array(kink, dtype=bool)
    err = relative_error(np.array(ana)[keep], np.array(num)[keep]) if keep.any() else None
    return ParamCheck(how, len(ana), int((~keep).sum()), err)


def move_off_kinks(params: list[Any], rng: np.random.Generator, scale: float) -> None:
    """Move every parameter by seeded noise: ``scale`` × its RMS (× 1 where all zero).

    Zero biases are what put whole feature maps exactly at ReLU's kink; a random shift of
    ``scale`` moves those pre-activations about ``scale`` away from 0, far beyond ``2ε``.
    """
    for p in params:
        rms = float(np.sqrt(np.mean(np.square(p.data)))) if p.size else 0.0
        p.data[...] = p.data + scale * (rms or 1.0) * rng.standard_normal(p.shape)

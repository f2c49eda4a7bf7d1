"""Built-in datasets generated on the fly (no network, no files), all seeded.

Each returns batch-first features ``X`` of shape (m, d) in ``dtype`` (default: the default
float dtype) and integer labels ``y`` of shape (m,) (int64), unless noted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ...backend import get_default_dtype
from .._rng import as_generator

__all__ = [
    "make_planar",
    "make_xor",
    "make_spirals",
    "make_moons",
    "make_circles",
    "make_regression",
    "BuiltinDataset",
    "BUILTIN_DATASETS",
]


def _check_m(m: Any, minimum: int = 1, name: str = "m") -> int:
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {m!r}")
    return int(m)


def _check_noise(noise: float) -> float:
    noise = float(noise)
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    return noise


def _dt(dtype: Any) -> np.dtype:
    return np.dtype(get_default_dtype() if dtype is None else dtype)


def make_planar(
    m: int = 400, noise: float = 0.2, seed: int | None = 1, dtype: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The course's planar "flower" data: two classes of petals (a = 4 rays), 2-d.

    Generated exactly as the course's ``load_planar_dataset`` (same draws, same order,
    from ``np.random.RandomState(seed)``, which gives ``np.random.seed(seed)``'s stream
    without touching the global generator); the course's (2, m) X is returned transposed.

    Args:
        m: number of points, even; m / 2 per class.
        noise: standard deviation of the angle and radius noise (course: 0.2).
        seed: the course's seed is 1.
        dtype: float dtype of X (the points are computed in float64).

    Returns:
        ``(X, y)``: X (m, 2), y (m,) int64 with values 0 and 1 (first half 0).
    """
    m = _check_m(m, 2)
    if m % 2:
        raise ValueError(f"m must be even (m / 2 points per class), got {m}")
    noise = _check_noise(noise)
    rs = np.random.RandomState(seed)
    N, a = m // 2, 4
    X = np.zeros((m, 2))
    y = np.zeros(m, dtype=np.int64)
    for j in range(2):  # one pass per class, as in the course
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rs.randn(N) * noise
        r = a * np.sin(4 * t) + rs.randn(N) * noise
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return X.astype(_dt(dtype)), y


def make_xor(
    m: int = 400, noise: float = 0.1, seed: Any = 0, dtype: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """XOR: points uniform in [-1, 1]^2, label 1 where the coordinates' signs differ.

    Gaussian jitter of std ``noise`` is added after labelling.

    Returns:
        ``(X, y)``: X (m, 2), y (m,) int64 in {0, 1}.
    """
    m, noise = _check_m(m), _check_noise(noise)
    rng = as_generator(seed)
    X = rng.uniform(-1.0, 1.0, (m, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    X = X + noise * rng.standard_normal((m, 2))
    return X.astype(_dt(dtype)), y


def make_spirals(
    m: int = 300, n_classes: int = 3, noise: float = 0.2, seed: Any = 0, dtype: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spirals (CS231n's), one arm per class, radius 0 to 1.

    Returns:
        ``(X, y)``: X (m, 2), y (m,) int64 in [0, n_classes), classes as equal as possible.
    """
    n_classes = _check_m(n_classes, 2, "n_classes")
    m, noise = _check_m(m, n_classes), _check_noise(noise)
    rng = as_generator(seed)
    counts = np.full(n_classes, m // n_classes) + (np.arange(n_classes) < m % n_classes)
    y = np.repeat(np.arange(n_classes), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    pos = (np.arange(m) - start) / np.maximum(counts[y] - 1, 1)  # 0..1 along each arm
    r = pos
    t = (y + pos) * 4.0 + rng.standard_normal(m) * noise
    X = np.c_[r * np.sin(t), r * np.cos(t)]
    return X.astype(_dt(dtype)), y.astype(np.int64)


def make_moons(
    m: int = 200, noise: float = 0.1, seed: Any = 0, dtype: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's layout), shuffled.

    Returns:
        ``(X, y)``: X (m, 2), y (m,) int64; class 0 the upper moon (m // 2 points).
    """
    m, noise = _check_m(m, 2), _check_noise(noise)
    rng = as_generator(seed)
    n_out = m // 2
    n_in = m - n_out
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.r_[np.c_[np.cos(t_out), np.sin(t_out)], np.c_[1 - np.cos(t_in), 0.5 - np.sin(t_in)]]
    y = np.r_[np.zeros(n_out, np.int64), np.ones(n_in, np.int64)]
    perm = rng.permutation(m)
    X = X[perm] + noise * rng.standard_normal((m, 2))
    return X.astype(_dt(dtype)), y[perm]


def make_circles(
    m: int = 200, noise: float = 0.05, factor: float = 0.5, seed: Any = 0, dtype: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (radius ``factor``, class 1) inside a unit circle (class 0), shuffled.

    Returns:
        ``(X, y)``: X (m, 2), y (m,) int64.
    """
    m, noise = _check_m(m, 2), _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    rng = as_generator(seed)
    n_out = m // 2
    n_in = m - n_out
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.r_[np.c_[np.cos(t_out), np.sin(t_out)], factor * np.c_[np.cos(t_in), np.sin(t_in)]]
    y = np.r_[np.zeros(n_out, np.int64), np.ones(n_in, np.int64)]
    perm = rng.permutation(m)
    X = X[perm] + noise * rng.standard_normal((m, 2))
    return X.astype(_dt(dtype)), y[perm]


def make_regression(
    m: int = 200,
    n_features: int = 3,
    noise: float = 0.1,
    coef: Any = None,
    bias: float = 0.5,
    seed: Any = 0,
    dtype: Any = None,
    return_coef: bool = False,
) -> tuple[np.ndarray, ...]:
    """A linear regression problem ``y = X @ coef + bias + noise * N(0, 1)``.

    Args:
        coef: the true coefficients (n_features,); default drawn uniformly from [-2, 2].
        return_coef: also return the true ``coef`` (float64).

    Returns:
        ``(X, y)`` or ``(X, y, coef)``: X (m, n_features) standard normal, y (m,) float.
    """
    m, noise = _check_m(m), _check_noise(noise)
    n_features = _check_m(n_features, 1, "n_features")
    rng = as_generator(seed)
    if coef is None:
        coef = rng.uniform(-2.0, 2.0, n_features)
    coef = np.asarray(coef, dtype=np.float64)
    if coef.shape != (n_features,):
        raise ValueError(f"coef must have shape ({n_features},), got {coef.shape}")
    X = rng.standard_normal((m, n_features))
    y = X @ coef + float(bias) + noise * rng.standard_normal(m)
    dt = _dt(dtype)
    out = (X.astype(dt), y.astype(dt))
    return (*out, coef) if return_coef else out


class BuiltinDataset(NamedTuple):
    """A registry entry: the generator function and a one-line description."""

    loader: Callable[..., tuple[np.ndarray, ...]]
    description: str


BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    "planar": BuiltinDataset(make_planar, "the course's 2-class 'flower' (400 points, 2-d)"),
    "xor": BuiltinDataset(make_xor, "XOR of coordinate signs (400 points, 2-d, 2 classes)"),
    "spirals": BuiltinDataset(make_spirals, "interleaved spirals (300 points, 2-d, 3 classes)"),
    "moons": BuiltinDataset(make_moons, "two interleaving half circles (200 points, 2 classes)"),
    "circles": BuiltinDataset(make_circles, "circle inside a circle (200 points, 2 classes)"),
    "regression": BuiltinDataset(
        make_regression, "linear regression, known coefficients (200 x 3, float target)"
    ),
}

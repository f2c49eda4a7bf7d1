"""Built-in generated datasets: shapes, labels, determinism, and the course's planar data."""

from __future__ import annotations

import numpy as np
import pytest

from deepgrad.course.datasets import load_planar_dataset as _course_load_planar_dataset
from deepgrad.data.datasets import (
    BUILTIN_DATASETS,
    make_circles,
    make_moons,
    make_planar,
    make_regression,
    make_spirals,
    make_xor,
)


def test_planar_equals_course_generator():
    state = np.random.get_state()
    try:
        Xc, Yc = _course_load_planar_dataset()
    finally:
        np.random.set_state(state)
    X, y = make_planar(dtype=np.float64)
    assert X.shape == (400, 2) and y.shape == (400,)
    np.testing.assert_array_equal(X, Xc.T)
    np.testing.assert_array_equal(y, Yc.ravel())
    assert np.bincount(y).tolist() == [200, 200]
    X32, _ = make_planar()
    assert X32.dtype == np.float32
    np.testing.assert_array_equal(X32, Xc.T.astype(np.float32))


def test_planar_leaves_global_generator_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    make_planar()
    assert np.random.rand() == expected


def test_planar_deterministic_and_validated():
    a, b = make_planar(seed=5), make_planar(seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], make_planar(seed=6)[0])
    with pytest.raises(ValueError, match="even"):
        make_planar(m=401)
    with pytest.raises(ValueError, match="noise"):
        make_planar(noise=-1)


@pytest.mark.parametrize("fn,m,k", [
    (make_xor, 400, 2), (make_moons, 201, 2), (make_circles, 200, 2), (make_spirals, 301, 3),
])
def test_classification_sets(fn, m, k):
    X, y = fn(m=m, seed=0)
    assert X.shape == (m, 2) and X.dtype == np.float32
    assert y.shape == (m,) and y.dtype == np.int64
    assert set(np.unique(y).tolist()) == set(range(k))
    assert np.bincount(y).max() - np.bincount(y).min() <= 1 or fn is make_xor
    X2, y2 = fn(m=m, seed=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, fn(m=m, seed=1)[0])


def test_xor_labels_follow_signs_without_noise():
    X, y = make_xor(m=100, noise=0.0, seed=0, dtype=np.float64)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))


def test_circles_radii_without_noise():
    X, y = make_circles(m=50, noise=0.0, factor=0.3, dtype=np.float64)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)


def test_spirals_more_classes():
    X, y = make_spirals(m=100, n_classes=5)
    assert np.bincount(y).tolist() == [20] * 5


def test_regression_known_coefficients():
    X, y, coef = make_regression(m=500, n_features=4, noise=0.01, bias=1.5, seed=2,
                                 dtype=np.float64, return_coef=True)
    assert X.shape == (500, 4) and y.shape == (500,) and coef.shape == (4,)
    A = np.c_[X, np.ones(500)]
    fit = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(fit, np.r_[coef, 1.5], atol=0.01)
    X0, y0 = make_regression(m=10, n_features=2, coef=[1.0, -1.0], bias=0.0, noise=0.0)
    np.testing.assert_allclose(y0, X0[:, 0] - X0[:, 1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="coef"):
        make_regression(n_features=2, coef=[1.0])


def test_registry():
    assert set(BUILTIN_DATASETS) == {"planar", "xor", "spirals", "moons", "circles", "regression"}
    for name, entry in BUILTIN_DATASETS.items():
        assert entry.description and "\n" not in entry.description
        X, y = entry.loader()[:2]
        assert len(X) == len(y) > 0, name

"""train_test_split, one_hot, Standardizer/standardize, flatten_images, scale_pixels, labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deepgrad.backend import default_dtype
from deepgrad.data import (
    Standardizer,
    decode_labels,
    encode_labels,
    flatten_images,
    one_hot,
    scale_pixels,
    standardize,
    train_test_split,
)


def test_train_test_split_sizes_and_partition():
    X = np.arange(40).reshape(20, 2)
    y = np.arange(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    assert X_tr.shape == (15, 2) and X_te.shape == (5, 2)
    np.testing.assert_array_equal(X_tr[:, 0] // 2, y_tr)
    np.testing.assert_array_equal(np.sort(np.r_[y_tr, y_te]), np.arange(20))
    again = train_test_split(X, y, test_size=0.25, seed=0)
    np.testing.assert_array_equal(again[3], y_te)
    _, te = train_test_split(y, test_size=3, shuffle=False)
    np.testing.assert_array_equal(te, [17, 18, 19])
    assert len(train_test_split(y, test_size=0.33)[1]) == 7  # ceil(6.6)


def test_train_test_split_stratify_keeps_proportions():
    y = np.r_[np.zeros(80, int), np.ones(20, int)]
    y_tr, y_te = train_test_split(y, test_size=0.25, seed=1, stratify=y)
    assert np.bincount(y_te).tolist() == [20, 5]
    assert np.bincount(y_tr).tolist() == [60, 15]
    labels = np.array(["a"] * 6 + ["b"] * 3 + ["c"] * 3)
    _, te = train_test_split(labels, test_size=4, seed=0, stratify=labels)
    assert sorted(te.tolist()) == ["a", "a", "b", "c"]


@pytest.mark.parametrize("kwargs,match", [
    ({"test_size": 0.0}, "test_size"), ({"test_size": 1.0}, "test_size"),
    ({"test_size": 10}, "test_size"), ({"test_size": True}, "test_size"),
    ({"stratify": np.zeros(3)}, "stratify"),
    ({"stratify": np.zeros(10), "shuffle": False}, "shuffle"),
])
def test_train_test_split_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(np.zeros(10), **kwargs)


def test_train_test_split_length_mismatch():
    with pytest.raises(ValueError, match=r"arrays\[1\] has 9"):
        train_test_split(np.zeros(10), np.zeros(9))


def test_one_hot():
    oh = one_hot(np.array([2, 0, 1]))
    np.testing.assert_array_equal(oh, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert oh.dtype == np.float32
    assert one_hot([1, 0], num_classes=4, dtype=np.float64).shape == (2, 4)
    assert one_hot(np.array([[1], [2]]), 3).shape == (2, 1, 3)
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0]), 2), [[0, 1], [1, 0]])
    with default_dtype(np.float64):
        assert one_hot([0, 1]).dtype == np.float64


@pytest.mark.parametrize("labels,n,match", [
    ([0, 3], 3, r"\[0, 3\).*found 3"), ([-1, 0], None, "non-negative"),
    ([0.5], None, "integers"), (["a"], None, "integers"),
])
def test_one_hot_errors(labels, n, match):
    with pytest.raises(ValueError, match=match):
        one_hot(np.array(labels), n)


def test_standardize_fits_on_train_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 3.0, (100, 4))
    train[:, 2] = 7.0  # constant feature: std 0 -> 1
    test = rng.normal(5.0, 3.0, (10, 4))
    tr, te = standardize(train, test)
    np.testing.assert_allclose(tr.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(tr[:, [0, 1, 3]].std(0), 1)
    np.testing.assert_array_equal(tr[:, 2], 0)
    mean, std = train.mean(0), train.std(0)
    std[2] = 1.0
    np.testing.assert_allclose(te, (test - mean) / std)
    np.testing.assert_allclose(standardize(train), tr)


def test_standardizer_roundtrip_dtype_and_config():
    X = np.random.default_rng(1).normal(2, 4, (30, 3)).astype(np.float32)
    s = Standardizer().fit(X)
    Z = s.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(s.inverse_transform(Z), X, rtol=1e-5, atol=1e-5)
    s2 = Standardizer.from_config(json.loads(json.dumps(s.get_config())))
    np.testing.assert_allclose(s2.transform(X), Z, rtol=1e-6, atol=1e-6)
    assert Standardizer().fit_transform(np.arange(6).reshape(3, 2)).dtype == np.float32


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        Standardizer().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="feature shape"):
        Standardizer().fit(np.zeros((4, 3))).transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="non-empty"):
        Standardizer().fit(np.zeros((0, 3)))


def test_flatten_images_course_and_batch_first():
    X = np.arange(2 * 3 * 4 * 3).reshape(2, 3, 4, 3)
    flat = flatten_images(X)
    assert flat.shape == (2, 36)
    np.testing.assert_array_equal(flat[1], X[1].ravel())
    course = flatten_images(X, batch_first=False)
    assert course.shape == (36, 2)
    np.testing.assert_array_equal(course, X.reshape(X.shape[0], -1).T)


def test_scale_pixels():
    x = np.array([[0, 51, 255]], dtype=np.uint8)
    s = scale_pixels(x)
    assert s.dtype == np.float32
    np.testing.assert_allclose(s, [[0, 0.2, 1]], rtol=1e-7)
    assert scale_pixels(x, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="numeric"):
        scale_pixels(np.array(["a"]))


def test_encode_decode_labels():
    codes, classes = encode_labels(["cat", "dog", "cat", "bird"])
    np.testing.assert_array_equal(codes, [1, 2, 1, 0])
    assert classes.tolist() == ["bird", "cat", "dog"]
    assert codes.dtype == np.int64
    assert decode_labels(codes, classes).tolist() == ["cat", "dog", "cat", "bird"]
    codes, classes = encode_labels(np.array([10, 30, 10]))
    assert codes.tolist() == [0, 1, 0] and classes.tolist() == [10, 30]

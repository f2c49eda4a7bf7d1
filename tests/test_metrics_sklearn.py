"""deepgrad.metrics against scikit-learn on random data (skipped without scikit-learn)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from deepgrad import metrics as M

sklearn = pytest.importorskip("sklearn")
skm = pytest.importorskip("sklearn.metrics")

SEEDS = range(5)
AVERAGES = ["micro", "macro", "weighted", None]


def _sk(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _labels(seed, n_classes=4, n=60):
    rng = np.random.default_rng(seed)
    # a class missing from y_pred in some seeds exercises zero division
    return rng.integers(0, n_classes, n), rng.integers(0, n_classes - (seed % 2), n)


@pytest.mark.parametrize("seed", SEEDS)
def test_accuracy_and_confusion_matrix(seed):
    t, p = _labels(seed)
    assert M.accuracy(t, p) == skm.accuracy_score(t, p)
    np.testing.assert_array_equal(M.confusion_matrix(t, p), skm.confusion_matrix(t, p))
    lab = [3, 0, 2]
    np.testing.assert_array_equal(
        M.confusion_matrix(t, p, labels=lab), skm.confusion_matrix(t, p, labels=lab)
    )
    rng = np.random.default_rng(seed)
    probs = rng.random(40)
    yb = rng.integers(0, 2, 40)
    assert M.accuracy(yb, probs) == skm.accuracy_score(yb, (probs > 0.5).astype(int))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy(seed, k):
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(5), rng.integers(0, 5, 45)]  # every class present, as sklearn needs
    s = rng.random((50, 5))
    s[:10, 1] = s[:10, 3]  # ties
    assert M.top_k_accuracy(y, s, k=k) == pytest.approx(skm.top_k_accuracy_score(y, s, k=k))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("zero_division", [0, 1, np.nan])
def test_prf_multiclass(seed, average, zero_division):
    t, p = _labels(seed)
    kw = {"average": average, "zero_division": zero_division}
    for ours, theirs in [
        (M.precision, skm.precision_score),
        (M.recall, skm.recall_score),
        (M.f1_score, skm.f1_score),
    ]:
        np.testing.assert_allclose(ours(t, p, **kw), _sk(theirs, t, p, **kw), rtol=1e-12)
        np.testing.assert_allclose(
            ours(t, p, labels=[0, 2, 5], **kw),
            _sk(theirs, t, p, labels=[0, 2, 5], **kw),
            rtol=1e-12,
        )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pos_label", [0, 1])
def test_prf_binary(seed, pos_label):
    rng = np.random.default_rng(seed)
    t, p = rng.integers(0, 2, 30), rng.integers(0, 2, 30)
    for ours, theirs in [
        (M.precision, skm.precision_score),
        (M.recall, skm.recall_score),
        (M.f1_score, skm.f1_score),
    ]:
        assert ours(t, p, pos_label=pos_label) == pytest.approx(
            _sk(theirs, t, p, pos_label=pos_label, zero_division=0), rel=1e-12
        )
    ours = M.precision_recall_fscore_support(t, p, average=None)
    theirs = skm.precision_recall_fscore_support(t, p, average=None)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_prf_degenerate_binary():
    for t, p in [([0, 0, 0], [0, 0, 0]), ([1, 1], [0, 0]), ([0, 0], [1, 1])]:
        for zd in (0, 1):
            for ours, theirs in [(M.precision, skm.precision_score), (M.f1_score, skm.f1_score)]:
                assert ours(t, p, zero_division=zd) == _sk(theirs, t, p, zero_division=zd)


def test_prf_string_labels():
    t = np.array(["cat", "dog", "pig", "cat", "dog", "pig"])
    p = np.array(["cat", "pig", "dog", "cat", "cat", "dog"])
    for avg in AVERAGES:
        np.testing.assert_allclose(
            M.f1_score(t, p, average=avg), _sk(skm.f1_score, t, p, average=avg)
        )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("multioutput", ["raw_values", "uniform_average"])
@pytest.mark.parametrize("d", [1, 3])
def test_regression(seed, multioutput, d):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(40, d)) * 3 + 1
    p = y + rng.normal(size=(40, d))
    for ours, theirs in [
        (M.mean_squared_error, skm.mean_squared_error),
        (M.mean_absolute_error, skm.mean_absolute_error),
        (M.r2_score, skm.r2_score),
    ]:
        np.testing.assert_allclose(
            ours(y, p, multioutput=multioutput),
            theirs(y, p, multioutput=multioutput),
            rtol=1e-12,
        )
    np.testing.assert_allclose(
        M.r2_score(y, p, "variance_weighted"), skm.r2_score(y, p, multioutput="variance_weighted")
    )
    if d > 1:  # scikit-learn refuses weights for one output
        w = rng.random(d)
        np.testing.assert_allclose(
            M.mean_squared_error(y, p, w), skm.mean_squared_error(y, p, multioutput=w)
        )


def test_r2_constant_target():
    y = np.array([[2.0, 1.0], [2.0, 3.0], [2.0, 5.0]])
    for p in (y.copy(), y + [[0.0, 0.5], [1.0, 0.0], [0.0, 0.0]]):
        for mo in ("raw_values", "uniform_average", "variance_weighted"):
            np.testing.assert_allclose(M.r2_score(y, p, mo), skm.r2_score(y, p, multioutput=mo))

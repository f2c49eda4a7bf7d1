"""deepgrad.metrics: hand-worked examples, streaming == one-shot, validation, registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deepgrad
from deepgrad import metrics as M

# ---------------------------------------------------------------- accuracy


def test_accuracy_from_labels():
    # hits: 0=0 yes, 1=2 no, 2=2 yes, 1=1 yes -> 3/4
    assert M.accuracy([0, 1, 2, 1], [0, 2, 2, 1]) == 0.75


def test_accuracy_binary_probabilities_thresholded():
    # 0.2 -> 0, 0.7 -> 1, 0.4 -> 0, 0.9 -> 1 vs [0, 1, 1, 1] -> 3/4
    y = np.array([0, 1, 1, 1])
    p = np.array([0.2, 0.7, 0.4, 0.9])
    assert M.accuracy(y, p) == 0.75
    assert M.accuracy(y.reshape(-1, 1), p.reshape(-1, 1)) == 0.75
    # threshold 0.3: 0.4 -> 1 as well -> 4/4
    assert M.accuracy(y, p, threshold=0.3) == 1.0


def test_accuracy_threshold_is_strict_and_logits_use_zero():
    # 0.5 is not > 0.5 -> predicted 0
    assert M.accuracy([0], [0.5]) == 1.0
    # logits -1.3 -> 0, 2.1 -> 1 with threshold 0
    assert M.accuracy([0, 1], [-1.3, 2.1], threshold=0.0) == 1.0


def test_accuracy_multiclass_scores_argmax_and_one_hot_truth():
    scores = np.array([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    # argmax -> [1, 0, 2]; truth [1, 2, 2] -> 2/3
    assert M.accuracy([1, 2, 2], scores) == pytest.approx(2 / 3)
    assert M.accuracy(np.eye(3)[[1, 2, 2]], scores) == pytest.approx(2 / 3)


def test_accuracy_float_whole_numbers_are_labels():
    # [0., 2., 1.] are labels, not probabilities: 2/3 right
    assert M.accuracy([0, 2, 2], np.array([0.0, 2.0, 1.0])) == pytest.approx(2 / 3)


def test_accuracy_takes_tensors_and_string_labels():
    t = deepgrad.Tensor(np.array([[0.9], [0.1]]))
    assert M.accuracy(deepgrad.Tensor(np.array([1.0, 0.0])), t) == 1.0
    assert M.accuracy(["cat", "dog"], ["cat", "cat"]) == 0.5


def test_top_k_accuracy():
    s = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    # ranks of true class: row0 class2 -> 3rd, row1 class1 -> 2nd, row2 class1 -> 1st
    y = [2, 1, 1]
    assert M.top_k_accuracy(y, s, k=1) == pytest.approx(1 / 3)
    assert M.top_k_accuracy(y, s, k=2) == pytest.approx(2 / 3)
    assert M.top_k_accuracy(y, s, k=3) == 1.0
    assert M.top_k_accuracy(y, s, k=5) == 1.0


def test_top_k_ties_rank_the_larger_index_first():
    # row [0.5, 0.5, 0]: order is class 1, class 0 (scikit-learn's stable mergesort reversed)
    s = np.array([[0.5, 0.5, 0.0]])
    assert M.top_k_accuracy([1], s, k=1) == 1.0
    assert M.top_k_accuracy([0], s, k=1) == 0.0


# ---------------------------------------------------------------- confusion matrix


def test_confusion_matrix_by_hand():
    y_true = [0, 1, 2, 2, 1]
    y_pred = [0, 2, 2, 1, 1]
    # (t,p): (0,0) (1,2) (2,2) (2,1) (1,1)
    expected = [[1, 0, 0], [0, 1, 1], [0, 1, 1]]
    cm = M.confusion_matrix(y_true, y_pred)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, expected)
    # labels reorder and drop: only classes 2, 0 -> pairs (0,0) (2,2) remain
    cm20 = M.confusion_matrix(y_true, y_pred, labels=[2, 0])
    np.testing.assert_array_equal(cm20, [[1, 0], [0, 1]])
    # num_classes adds the empty class 3
    cm4 = M.confusion_matrix(y_true, y_pred, num_classes=4)
    assert cm4.shape == (4, 4) and cm4[3].sum() == 0 and cm4.sum() == 5


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match=r"y_pred contains label 3 outside 0..2"):
        M.confusion_matrix([0, 1], [0, 3], num_classes=3)
    with pytest.raises(ValueError, match="not both"):
        M.confusion_matrix([0, 1], [0, 1], labels=[0, 1], num_classes=2)
    with pytest.raises(ValueError, match="mix text and numeric"):
        M.confusion_matrix(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="repeat"):
        M.confusion_matrix([0, 1], [0, 1], labels=[0, 0])


# ---------------------------------------------------------------- precision / recall / F1

# y_true = [0, 1, 2, 0, 1, 2, 0], y_pred = [0, 2, 1, 0, 0, 2, 1]
# class 0: tp 2 (idx 0, 3), predicted 3 (idx 0, 3, 4), true 3 -> P 2/3, R 2/3, F1 2/3
# class 1: tp 0, predicted 2 (idx 2, 6), true 2             -> P 0,   R 0,   F1 0
# class 2: tp 1 (idx 5), predicted 2 (idx 1, 5), true 2     -> P 1/2, R 1/2, F1 1/2
YT = [0, 1, 2, 0, 1, 2, 0]
YP = [0, 2, 1, 0, 0, 2, 1]


def test_prf_per_class_and_averages():
    np.testing.assert_allclose(M.precision(YT, YP, average=None), [2 / 3, 0, 1 / 2])
    np.testing.assert_allclose(M.recall(YT, YP, average=None), [2 / 3, 0, 1 / 2])
    np.testing.assert_allclose(M.f1_score(YT, YP, average=None), [2 / 3, 0, 1 / 2])
    # macro: (2/3 + 0 + 1/2) / 3 = 7/18
    assert M.precision(YT, YP, average="macro") == pytest.approx(7 / 18)
    # micro: tp 3 out of 7 predictions -> 3/7 for P, R and F1
    for fn in (M.precision, M.recall, M.f1_score):
        assert fn(YT, YP, average="micro") == pytest.approx(3 / 7)
    # weighted by support (3, 2, 2): (3*2/3 + 0 + 2*1/2) / 7 = 3/7
    assert M.recall(YT, YP, average="weighted") == pytest.approx(3 / 7)


def test_prf_labels_subset():
    # labels=[2, 0] -> per-class in that order; macro over the two
    np.testing.assert_allclose(M.precision(YT, YP, labels=[2, 0], average=None), [1 / 2, 2 / 3])
    # micro over classes {0, 2}: tp 3, predicted 5 -> 3/5; true 5 -> 3/5
    assert M.precision(YT, YP, labels=[2, 0], average="micro") == pytest.approx(3 / 5)


def test_prf_binary():
    y = [1, 0, 1, 1, 0, 0]
    p = [1, 1, 0, 1, 0, 0]
    # class 1: tp 2, fp 1, fn 1 -> P 2/3, R 2/3, F1 = 4 / (4 + 1 + 1) = 2/3
    assert M.precision(y, p) == pytest.approx(2 / 3)
    assert M.recall(y, p) == pytest.approx(2 / 3)
    assert M.f1_score(y, p) == pytest.approx(2 / 3)
    # pos_label 0: tp 2 (idx 4, 5), predicted 0 at idx 2, 4, 5 -> P 2/3; true 0 idx 1,4,5 -> R 2/3
    assert M.precision(y, p, pos_label=0) == pytest.approx(2 / 3)
    # probabilities are thresholded
    probs = np.array([0.9, 0.6, 0.2, 0.8, 0.1, 0.3])
    assert M.precision(y, probs) == pytest.approx(2 / 3)
    p2 = [1, 1, 1, 1, 0, 0]  # tp 3, fp 1 -> P 3/4, R 1, F1 = 6 / (6 + 1 + 0) = 6/7
    assert M.f1_score(y, p2) == pytest.approx(6 / 7)


def test_prf_binary_errors():
    with pytest.raises(ValueError, match="multiclass"):
        M.precision(YT, YP)
    with pytest.raises(ValueError, match="pos_label=2"):
        M.recall([0, 1], [1, 0], pos_label=2)
    with pytest.raises(ValueError, match="average"):
        M.f1_score([0, 1], [1, 0], average="samples")
    with pytest.raises(ValueError, match="zero_division"):
        M.f1_score([0, 1], [1, 0], zero_division=2)


def test_zero_division(recwarn):
    # nothing predicted positive: precision 0/0
    y, p = [1, 0, 1], [0, 0, 0]
    assert M.precision(y, p) == 0.0
    assert M.precision(y, p, zero_division=1) == 1.0
    assert math.isnan(M.precision(y, p, zero_division=np.nan))
    # F1: tp 0, fp 0, fn 2 -> 0 / 2 = 0 (defined)
    assert M.f1_score(y, p, zero_division=1) == 0.0
    # only class 0 everywhere and pos_label 1: recall 0/0, F1 0/0
    assert M.recall([0, 0], [0, 0], zero_division=1) == 1.0
    assert M.f1_score([0, 0], [0, 0]) == 0.0
    assert len(recwarn) == 0
    with pytest.warns(UserWarning, match="ill-defined"):
        assert M.precision(y, p, zero_division="warn") == 0.0
    # macro with nan ignores the undefined class: class 1 never predicted
    # per-class P: class 0 tp 1 / pred 2 = 1/2, class 1 nan -> nanmean = 1/2
    assert M.precision([0, 1], [0, 0], average="macro", zero_division=np.nan) == 0.5
    assert M.precision([0, 1], [0, 0], average="macro", zero_division=1) == 0.75


def test_weighted_with_zero_support_falls_back_to_uniform():
    # labels=[5] never occurs: weights sum 0 -> value = zero_division
    assert M.precision([0, 1], [0, 1], labels=[5], average="weighted") == 0.0


# ---------------------------------------------------------------- regression


def test_regression_by_hand():
    y = [3.0, -0.5, 2.0, 7.0]
    p = [2.5, 0.0, 2.0, 8.0]
    # errors 0.5, -0.5, 0, -1 -> squares 0.25 0.25 0 1 -> MSE 1.5/4 = 0.375
    assert M.mean_squared_error(y, p) == pytest.approx(0.375)
    # |errors| sum 2 -> MAE 0.5
    assert M.mean_absolute_error(y, p) == pytest.approx(0.5)
    # mean y = 2.875; ss_tot = 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875
    # R2 = 1 - 1.5 / 29.1875
    assert M.r2_score(y, p) == pytest.approx(1 - 1.5 / 29.1875)


def test_regression_multioutput():
    y = np.array([[0.5, 1.0], [-1.0, 1.0], [7.0, -6.0]])
    p = np.array([[0.0, 2.0], [-1.0, 2.0], [8.0, -5.0]])
    # column 0 squares 0.25, 0, 1 -> 1.25/3; column 1 squares 1, 1, 1 -> 1
    np.testing.assert_allclose(M.mean_squared_error(y, p, "raw_values"), [1.25 / 3, 1.0])
    assert M.mean_squared_error(y, p) == pytest.approx((1.25 / 3 + 1) / 2)
    assert M.mean_absolute_error(y, p, multioutput=[1, 3]) == pytest.approx((0.5 + 3) / 4)
    r = M.r2_score(y, p, "raw_values")
    assert M.r2_score(y, p) == pytest.approx(r.mean())
    # (N,) and (N, 1) are the same target
    assert M.mean_squared_error([1.0, 2.0], [[1.0], [4.0]]) == 2.0


def test_r2_special_cases():
    assert M.r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0  # perfect fit of a constant
    assert M.r2_score([2.0, 2.0], [2.0, 3.0]) == 0.0  # imperfect fit of a constant
    assert math.isnan(M.r2_score([1.0], [2.0]))  # one sample
    with pytest.raises(ValueError, match="multioutput"):
        M.mean_squared_error([1.0, 2.0], [1.0, 2.0], multioutput="variance_weighted")


def test_float32_input_gives_python_float():
    y = np.arange(5, dtype=np.float32)
    v = M.mean_squared_error(y, y + np.float32(0.5))
    assert type(v) is float and v == 0.25


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "fn", [M.accuracy, M.precision, M.confusion_matrix, M.mean_squared_error, M.r2_score]
)
def test_validation_errors(fn):
    with pytest.raises(ValueError, match=r"different lengths.*\(3,\).*\(2,\)"):
        fn([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match=r"y_true is empty \(shape \(0,\)\)"):
        fn([], [])
    with pytest.raises(ValueError, match=r"y_pred contains nan at index \(1,\)"):
        fn([0, 1, 1], [0.2, np.nan, 0.7])
    with pytest.raises(ValueError, match="scalar"):
        fn(1, 1)


def test_validation_nan_in_scores_and_inf_in_regression():
    with pytest.raises(ValueError, match=r"scores contains nan at index \(0, 1\)"):
        M.top_k_accuracy([0], np.array([[0.1, np.nan]]), k=1)
    with pytest.raises(ValueError, match=r"y_true contains inf"):
        M.mean_absolute_error([np.inf, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        M.accuracy(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\)"):
        M.top_k_accuracy([0, 2], np.zeros((2, 2)), k=1)
    with pytest.raises(ValueError, match="k must be"):
        M.top_k_accuracy([0], np.zeros((1, 2)), k=0)


# ---------------------------------------------------------------- streaming == one-shot


def _batches(n, sizes):
    cuts = np.cumsum(sizes)[:-1]
    return [slice(a, b) for a, b in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True)]


STREAMING = [
    (M.Accuracy(), M.accuracy, "probs1"),
    (M.Accuracy(), M.accuracy, "scores"),
    (M.BinaryAccuracy(), lambda y, p: float(((p > 0.5) == y).mean()), "probs1"),
    (M.CategoricalAccuracy(), M.accuracy, "scores"),
    (M.TopKAccuracy(k=2), lambda y, s: M.top_k_accuracy(y, s, k=2), "scores"),
    (M.Precision(average="macro"), lambda y, p: M.precision(y, p, average="macro"), "labels"),
    (M.Recall(average="weighted"), lambda y, p: M.recall(y, p, average="weighted"), "labels"),
    (M.F1Score(average="micro"), lambda y, p: M.f1_score(y, p, average="micro"), "labels"),
    (M.F1Score(average="binary"), M.f1_score, "probs1"),
    (M.MeanSquaredError(), M.mean_squared_error, "reg"),
    (M.MeanAbsoluteError(), M.mean_absolute_error, "reg"),
    (M.R2Score(), M.r2_score, "reg"),
    (M.R2Score(multioutput="raw_values"), lambda y, p: M.r2_score(y, p, "raw_values"), "reg"),
]


def _data(kind, rng, n=50):
    if kind == "probs1":
        return rng.integers(0, 2, (n, 1)), rng.random((n, 1))
    if kind == "scores":
        return rng.integers(0, 4, n), rng.random((n, 4))
    if kind == "labels":
        return rng.integers(0, 4, n), rng.integers(0, 5, n)
    y = rng.normal(1000.0, 1.0, (n, 2))  # far from 0: tests the stable R² merge
    return y, y + rng.normal(0, 0.5, (n, 2))


@pytest.mark.parametrize("metric,oneshot,kind", STREAMING, ids=lambda x: getattr(x, "name", ""))
def test_streaming_equals_one_shot(metric, oneshot, kind):
    rng = np.random.default_rng(0)
    y, p = _data(kind, rng)
    metric.reset()
    for sl in _batches(len(y), [1, 7, 16, 3, 23]):
        metric.update(y[sl], p[sl])
    np.testing.assert_allclose(metric.result(), oneshot(y, p), rtol=1e-12, atol=1e-12)
    assert np.all(np.asarray(metric.compute(y, p)) == np.asarray(metric.clone().compute(y, p)))
    metric.reset()
    assert math.isnan(metric.result())


def test_streaming_confusion_grows_with_new_labels():
    m = M.Precision(average=None)
    m.update([0, 0], [0, 0])  # only class 0 so far
    m.update([2, 1], [2, 0])  # classes 1 and 2 appear later
    # all: t [0,0,2,1], p [0,0,2,0] -> class 0 P 2/3, class 1 P 0 (0/0), class 2 P 1
    np.testing.assert_allclose(m.result(), [2 / 3, 0, 1])
    np.testing.assert_array_equal(m.classes, [0, 1, 2])


def test_streaming_errors():
    m = M.MeanSquaredError()
    m.update(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="3 outputs, earlier batches had 2"):
        m.update(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="average"):
        M.Precision(average="bogus")
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        M.CategoricalAccuracy().update([0, 1], [0.2, 0.8])


# ---------------------------------------------------------------- registry


@pytest.mark.parametrize(
    "name,y,p,expected",
    [
        ("accuracy", [0, 1, 1], [[0.2], [0.7], [0.4]], 2 / 3),
        ("acc", [0, 1, 1], [0, 1, 1], 1.0),
        ("binary_accuracy", [[0, 1], [1, 1]], [[0.2, 0.7], [0.4, 0.9]], 3 / 4),
        ("categorical_accuracy", np.eye(3)[[0, 2]], [[0.5, 0.3, 0.2], [0.1, 0.8, 0.1]], 0.5),
        ("sparse_categorical_accuracy", [0, 2], [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]], 1.0),
        ("top_k_accuracy", [2], [[0.1] * 5 + [0.05, 0.0]], 1.0),  # class 2 ranks 4th of 7
        ("precision", [1, 0, 1], [0.9, 0.8, 0.1], 0.5),  # binary: tp 1, fp 1
        ("recall", [1, 0, 1], [0.9, 0.8, 0.1], 0.5),  # tp 1, fn 1
        ("f1", [0, 1, 2], [0, 1, 1], (1 + 2 / 3 + 0) / 3),  # 3 labels -> macro
        ("mse", [1.0, 2.0], [1.0, 4.0], 2.0),
        ("mae", [1.0, 2.0], [1.0, 4.0], 1.0),
        ("r2", [1.0, 2.0, 3.0], [1.0, 2.0, 4.0], 0.5),  # 1 - 1 / 2
    ],
)
def test_get_metric_names(name, y, p, expected):
    fn = M.get_metric(name)
    assert fn.name == name
    assert fn(np.asarray(y), np.asarray(p)) == pytest.approx(expected)
    s = fn.streaming()
    s.update(np.asarray(y), np.asarray(p))
    assert s.result() == pytest.approx(expected)


def test_get_metric_other_forms():
    assert M.get_metric("top_k_accuracy", k=1)([1], np.array([[0.6, 0.4]])) == 0.0
    with pytest.raises(ValueError, match=r"unknown metric 'accuracyy'.*'acc'.*'r2'"):
        M.get_metric("accuracyy")
    with pytest.raises(ValueError, match="average"):
        M.get_metric("precision", average="bogus")
    fn = M.get_metric(M.F1Score(average="macro", name="f1_macro"))
    assert fn.name == "f1_macro" and fn([0, 1, 2], [0, 1, 1]) == pytest.approx(5 / 9)
    assert M.get_metric(fn) is fn

    def mean_error(y, p):
        return float(np.mean(np.asarray(p) - np.asarray(y)))

    g = M.get_metric(mean_error)
    assert g.name == "mean_error"
    s = g.streaming()
    s.update(np.zeros(1), np.ones(1))  # batch mean 1, size 1
    s.update(np.zeros(3), np.full(3, 3.0))  # batch mean 3, size 3 -> (1 + 9) / 4
    assert s.result() == 2.5
    with pytest.raises(TypeError):
        M.get_metric(3)
    assert "mse" in M.metric_names()

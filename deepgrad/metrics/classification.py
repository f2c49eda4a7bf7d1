"""Classification metrics with scikit-learn's semantics and argument names.

Accuracy takes labels, binary probabilities/scores (thresholded) or multiclass scores
(argmax). Precision, recall and F1 are computed from a confusion matrix, so the streaming
versions in :mod:`deepgrad.metrics.streaming` give exactly the same numbers.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from deepgrad.backend import get_array_module, to_numpy
from deepgrad.metrics._inputs import (
    as_array,
    check_labels_arg,
    check_no_nan,
    check_same_length,
    encode,
    pred_labels,
    present_labels,
    true_labels,
)

AVERAGES = ("binary", "micro", "macro", "weighted", None)


def label_pair(y_true: Any, y_pred: Any, threshold: float = 0.5) -> tuple[Any, Any]:
    """Checked ``(N,)`` label arrays for y_true and y_pred (scores turned into labels)."""
    y_true, y_pred = as_array(y_true, "y_true"), as_array(y_pred, "y_pred")
    check_same_length(y_true, y_pred)
    t, p = true_labels(y_true), pred_labels(y_pred, threshold)
    xp = get_array_module(t, p)
    return xp.asarray(t), xp.asarray(p)


def accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> float:
    """Fraction of examples whose predicted class equals the true class.

    Args:
        y_true: class labels, or one-hot rows.
        y_pred: class labels (ints); binary probabilities or scores (floats, class 1 when
            ``> threshold``); or multiclass scores (argmax).
        threshold: cut for binary probabilities (use 0.0 for logits).

    Shape:
        y_true: (N,), (N, 1) or one-hot (N, C). y_pred: (N,), (N, 1) or (N, C).
    """
    t, p = label_pair(y_true, y_pred, threshold)
    return float((t == p).mean())


def top_k_accuracy(y_true: Any, scores: Any, k: int = 5) -> float:
    """Fraction of examples whose true class is among the ``k`` highest scores.

    Ties are broken as scikit-learn's ``top_k_accuracy_score`` does: among equal scores
    the class with the larger index ranks first.

    Args:
        y_true: class indices in ``[0, C)``, or one-hot rows.
        scores: per-class scores, probabilities or logits.
        k: how many of the top classes count as a hit.

    Shape:
        y_true: (N,), (N, 1) or (N, C). scores: (N, C).
    """
    return float(top_k_hits(y_true, scores, k).mean())


def top_k_hits(y_true: Any, scores: Any, k: int) -> Any:
    """Boolean ``(N,)`` array: is each example's true class in its top ``k``."""
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    y_true, scores = as_array(y_true, "y_true"), as_array(scores, "scores")
    check_same_length(y_true, scores)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must have shape (N, C) with C >= 2, got shape {scores.shape}")
    check_no_nan(scores, "scores")
    xp = get_array_module(y_true, scores)
    t, s = xp.asarray(true_labels(y_true)), xp.asarray(scores)
    c = s.shape[1]
    if t.dtype.kind not in "biuf" or bool(((t < 0) | (t >= c) | (t != xp.floor(t))).any()):
        raise ValueError(
            f"y_true must hold class indices in [0, {c}) for scores of shape {s.shape}, "
            f"found {to_numpy(xp.unique(t))[:10].tolist()}"
        )
    t = t.astype(np.int64)
    st = s[xp.arange(s.shape[0]), t][:, None]
    higher = (s > st).sum(axis=1)
    ties_before = ((s == st) & (xp.arange(c)[None, :] > t[:, None])).sum(axis=1)
    return (higher + ties_before) < int(k)


def confusion_counts(t: Any, p: Any, classes: np.ndarray) -> np.ndarray:
    """Host ``(K, K)`` int64 counts (rows true, columns predicted) over ``classes``.

    Examples whose true or predicted label is not in ``classes`` are left out.
    """
    n = len(classes)
    if n == 0:
        return np.zeros((0, 0), dtype=np.int64)
    xp = get_array_module(t, p)
    ti, tf = encode(t, classes)
    pi, pf = encode(p, classes)
    keep = tf & pf
    flat = ti[keep] * n + pi[keep]
    return to_numpy(xp.bincount(flat, minlength=n * n)).reshape(n, n).astype(np.int64)


def confusion_matrix(
    y_true: Any, y_pred: Any, labels: Any = None, num_classes: int | None = None
) -> Any:
    """Counts of (true class, predicted class) pairs, computed with one ``bincount``.

    Args:
        y_true: class labels or one-hot rows.
        y_pred: labels or scores, read as :func:`accuracy` reads them.
        labels: the classes, in the order of the rows/columns; examples with other labels
            are left out (as scikit-learn). Default: the sorted labels present.
        num_classes: classes are ``0 .. num_classes-1``; another label is an error.

    Shape:
        y_true, y_pred: (N,) (see :func:`accuracy`); result (K, K) int64 on the
        inputs' device, ``result[i, j]`` = examples of class i predicted as j.
    """
    t, p = label_pair(y_true, y_pred)
    xp = get_array_module(t, p)
    if labels is not None and num_classes is not None:
        raise ValueError("give labels or num_classes, not both")
    if num_classes is not None:
        classes = np.arange(int(num_classes))
        for name, y in (("y_true", t), ("y_pred", p)):
            out = to_numpy(xp.unique(y))
            bad = out[~np.isin(out, classes)]
            if bad.size:
                raise ValueError(
                    f"{name} contains label {bad[0].item()!r} outside 0..{int(num_classes) - 1} "
                    f"(num_classes={num_classes})"
                )
    elif labels is not None:
        classes = check_labels_arg(labels)
    else:
        classes = present_labels(t, p)
    return xp.asarray(confusion_counts(t, p, classes))


def _zero_division_value(zero_division: Any) -> float:
    if isinstance(zero_division, str) and zero_division == "warn":
        return 0.0
    if zero_division in (0, 1) and not isinstance(zero_division, bool):
        return float(zero_division)
    if isinstance(zero_division, float) and np.isnan(zero_division):
        return float("nan")
    raise ValueError(f"zero_division must be 0, 1, nan or 'warn', got {zero_division!r}")


def _divide(num: np.ndarray, den: np.ndarray, zero_division: Any, what: str) -> np.ndarray:
    """``num / den`` with ``zero_division`` where ``den == 0`` (one warning at most)."""
    mask = den == 0
    out = num / np.where(mask, 1.0, den)
    if mask.any():
        out[mask] = _zero_division_value(zero_division)
        if zero_division == "warn":
            warnings.warn(f"{what} is ill-defined for some labels and set to 0.0", stacklevel=4)
    return out


def _nanaverage(a: np.ndarray, weights: np.ndarray | None) -> float:
    """Weighted mean ignoring NaN (scikit-learn's rule; all-zero weights mean uniform)."""
    keep = ~np.isnan(a)
    if not keep.any():
        return float("nan")
    if weights is None or weights[keep].sum() == 0:
        return float(a[keep].mean())
    return float(np.average(a[keep], weights=weights[keep]))


def _select(cm: np.ndarray, classes: np.ndarray, labels: Any, average: Any, pos_label: Any):
    """Per-label (tp, predicted, true) counts for the labels the averaging mode uses."""
    present = classes[(cm.sum(axis=0) + cm.sum(axis=1)) > 0]
    if average == "auto":
        average = "binary" if len(present) <= 2 else "macro"
    if average == "binary":
        if len(present) > 2:
            raise ValueError(
                f"Target is multiclass (labels {present.tolist()}) but average='binary': "
                "choose average='micro', 'macro', 'weighted' or None"
            )
        if pos_label not in present.tolist() and len(present) == 2:
            raise ValueError(
                f"pos_label={pos_label!r} is not a valid label: it should be one of "
                f"{present.tolist()}"
            )
        sel = np.asarray([pos_label])
    else:
        sel = present if labels is None else check_labels_arg(labels)
    tp = np.zeros(len(sel))
    pred = np.zeros(len(sel))
    true = np.zeros(len(sel))
    if len(classes) and len(sel):
        idx, found = encode(sel, classes)
        idx, found = np.asarray(idx)[found], np.asarray(found)
        tp[found] = np.diag(cm)[idx]
        pred[found] = cm.sum(axis=0)[idx]
        true[found] = cm.sum(axis=1)[idx]
    return tp, pred, true, average


def prf_from_confusion(
    cm: np.ndarray,
    classes: np.ndarray,
    average: Any = "binary",
    pos_label: Any = 1,
    labels: Any = None,
    zero_division: Any = 0,
) -> tuple[Any, Any, Any, np.ndarray]:
    """Precision, recall, F1 and support from a host confusion matrix over ``classes``.

    ``average="auto"`` (used by the Keras-style names) means "binary" when at most two
    labels are present, "macro" otherwise.

    Shape:
        cm: (K, K); classes: (K,) sorted. Each score is a float, or (L,) when average is None.
    """
    if average not in AVERAGES and average != "auto":
        raise ValueError(f"average must be one of {list(AVERAGES)}, got {average!r}")
    _zero_division_value(zero_division)
    tp, pred, true, average = _select(cm, classes, labels, average, pos_label)
    support = true.astype(np.int64)
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    precision = _divide(tp, pred, zero_division, "Precision")
    recall = _divide(tp, true, zero_division, "Recall")
    f1 = _divide(2.0 * tp, true + pred, zero_division, "F-score")
    if average is None:
        return precision, recall, f1, support
    weights = true if average == "weighted" else None
    return (
        _nanaverage(precision, weights),
        _nanaverage(recall, weights),
        _nanaverage(f1, weights),
        support,
    )


def precision_recall_fscore_support(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    zero_division: Any = 0,
    threshold: float = 0.5,
) -> tuple[Any, Any, Any, np.ndarray]:
    """Precision, recall, F1 and per-label support in one pass (see :func:`precision`).

    Shape:
        y_true, y_pred: as in :func:`accuracy`; support is (L,) for the labels used.
    """
    t, p = label_pair(y_true, y_pred, threshold)
    classes = present_labels(t, p)
    if labels is not None:
        classes = np.union1d(classes, check_labels_arg(labels))
    cm = confusion_counts(t, p, classes)
    return prf_from_confusion(cm, classes, average, pos_label, labels, zero_division)


def _score_doc(fn: Any, what: str, formula: str) -> Any:
    fn.__doc__ = f"""{what}: {formula}, per class then averaged.

    Args:
        y_true: class labels, or one-hot rows.
        y_pred: labels or scores, read as :func:`accuracy` reads them.
        labels: the labels to report or average over (default: those present).
        pos_label: the positive class when ``average="binary"``.
        average: "binary" (the ``pos_label`` class only; an error for multiclass data),
            "micro" (global counts), "macro" (unweighted mean over labels), "weighted"
            (mean weighted by each label's support) or None (per-label NumPy array).
        zero_division: value (0, 1 or nan) where the denominator is 0, without warnings;
            "warn" gives 0 with one warning.
        threshold: cut for binary probabilities in y_pred.

    Shape:
        y_true, y_pred: (N,), (N, 1) or (N, C); result a float, or (L,) if average is None.
    """
    return fn


def precision(y_true: Any, y_pred: Any, *, labels: Any = None, pos_label: Any = 1,
              average: str | None = "binary", zero_division: Any = 0,
              threshold: float = 0.5) -> Any:  # fmt: skip
    return precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
        zero_division=zero_division, threshold=threshold,
    )[0]  # fmt: skip


def recall(y_true: Any, y_pred: Any, *, labels: Any = None, pos_label: Any = 1,
           average: str | None = "binary", zero_division: Any = 0,
           threshold: float = 0.5) -> Any:  # fmt: skip
    return precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
        zero_division=zero_division, threshold=threshold,
    )[1]  # fmt: skip


def f1_score(y_true: Any, y_pred: Any, *, labels: Any = None, pos_label: Any = 1,
             average: str | None = "binary", zero_division: Any = 0,
             threshold: float = 0.5) -> Any:  # fmt: skip
    return precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
        zero_division=zero_division, threshold=threshold,
    )[2]  # fmt: skip


_score_doc(precision, "Precision", "tp / (tp + fp)")
_score_doc(recall, "Recall", "tp / (tp + fn)")
_score_doc(f1_score, "F1 score", "2 tp / (2 tp + fp + fn)")

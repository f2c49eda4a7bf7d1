"""Regression metrics (MSE, MAE, R²) with scikit-learn's semantics and ``multioutput``.

Sums are taken in float64 whatever the input dtype, and returned as Python floats
(or a NumPy array per output for ``multioutput="raw_values"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.backend import get_array_module, to_numpy
from deepgrad.metrics._inputs import as_array, check_no_nan, check_same_length

MULTIOUTPUT = ("raw_values", "uniform_average", "variance_weighted")


def regression_pair(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Checked float64 ``(N, D)`` arrays; ``(N,)`` and ``(N, 1)`` are the same target.

    Shape:
        y_true, y_pred: (N,) or (N, D); result two (N, D) arrays.
    """
    y_true, y_pred = as_array(y_true, "y_true"), as_array(y_pred, "y_pred")
    check_same_length(y_true, y_pred)
    xp = get_array_module(y_true, y_pred)
    out = []
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.ndim > 2 or y.dtype.kind not in "biuf":
            raise ValueError(
                f"{name} must be numeric with shape (N,) or (N, D), "
                f"got shape {tuple(y.shape)} and dtype {y.dtype}"
            )
        check_no_nan(y, name, allow_inf=False)
        out.append(xp.asarray(y, dtype=np.float64).reshape(y.shape[0], -1))
    if out[0].shape != out[1].shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {tuple(y_true.shape)} "
            f"and {tuple(y_pred.shape)}"
        )
    return out[0], out[1]


def combine_outputs(scores: np.ndarray, multioutput: Any, weights: Any = None) -> Any:
    """Average per-output scores as ``multioutput`` asks (``weights`` for variance_weighted)."""
    if isinstance(multioutput, str):
        if multioutput not in MULTIOUTPUT or (
            multioutput == "variance_weighted" and weights is None
        ):
            raise ValueError(f"unknown multioutput {multioutput!r}")
        if multioutput == "raw_values":
            return scores
        if multioutput == "uniform_average" or not np.any(weights):
            return float(np.mean(scores))
        return float(np.average(scores, weights=weights))
    w = to_numpy(multioutput).astype(np.float64).reshape(-1)
    if w.shape != scores.shape:
        raise ValueError(
            f"multioutput weights must have one value per output ({scores.shape[0]}), "
            f"got shape {w.shape}"
        )
    return float(np.average(scores, weights=w))


def _check_multioutput(multioutput: Any, allowed: tuple[str, ...]) -> None:
    if isinstance(multioutput, str) and multioutput not in allowed:
        raise ValueError(f"multioutput must be one of {list(allowed)} or weights, "
                         f"got {multioutput!r}")  # fmt: skip


def mean_squared_error(y_true: Any, y_pred: Any, multioutput: Any = "uniform_average") -> Any:
    """Mean of ``(y_true - y_pred)**2`` over examples, then over outputs.

    Args:
        y_true: targets.
        y_pred: predictions.
        multioutput: "uniform_average", "raw_values" (one value per output) or weights.

    Shape:
        y_true, y_pred: (N,) or (N, D); result a float, or (D,) for "raw_values".
    """
    _check_multioutput(multioutput, MULTIOUTPUT[:2])
    t, p = regression_pair(y_true, y_pred)
    return combine_outputs(to_numpy(((t - p) ** 2).mean(axis=0)), multioutput)


def mean_absolute_error(y_true: Any, y_pred: Any, multioutput: Any = "uniform_average") -> Any:
    """Mean of ``|y_true - y_pred|`` over examples, then over outputs.

    Args:
        y_true: targets.
        y_pred: predictions.
        multioutput: "uniform_average", "raw_values" (one value per output) or weights.

    Shape:
        y_true, y_pred: (N,) or (N, D); result a float, or (D,) for "raw_values".
    """
    _check_multioutput(multioutput, MULTIOUTPUT[:2])
    t, p = regression_pair(y_true, y_pred)
    return combine_outputs(to_numpy(abs(t - p).mean(axis=0)), multioutput)


def r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray, n: int, multioutput: Any) -> Any:
    """R² = 1 - ss_res/ss_tot per output, with scikit-learn's ``force_finite`` rules.

    A perfect fit scores 1 even when ``ss_tot`` is 0; an imperfect fit of a constant
    target scores 0; fewer than two examples give NaN.
    """
    if n < 2:
        return float("nan")
    scores = np.ones_like(ss_res)
    valid = (ss_res != 0) & (ss_tot != 0)
    scores[valid] = 1.0 - ss_res[valid] / ss_tot[valid]
    scores[(ss_res != 0) & (ss_tot == 0)] = 0.0
    return combine_outputs(scores, multioutput, weights=ss_tot)


def r2_score(y_true: Any, y_pred: Any, multioutput: Any = "uniform_average") -> Any:
    """Coefficient of determination ``1 - sum((y - ŷ)²) / sum((y - mean(y))²)``.

    Args:
        y_true: targets.
        y_pred: predictions.
        multioutput: "uniform_average", "variance_weighted", "raw_values" or weights.

    Shape:
        y_true, y_pred: (N,) or (N, D); result a float, or (D,) for "raw_values".
    """
    _check_multioutput(multioutput, MULTIOUTPUT)
    t, p = regression_pair(y_true, y_pred)
    ss_res = to_numpy(((t - p) ** 2).sum(axis=0))
    ss_tot = to_numpy(((t - t.mean(axis=0)) ** 2).sum(axis=0))
    return r2_from_sums(ss_res, ss_tot, t.shape[0], multioutput)

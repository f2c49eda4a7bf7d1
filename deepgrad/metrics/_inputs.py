"""Turning what the user passes (arrays, lists, Tensors) into checked arrays and labels.

Every metric goes through these helpers, so every metric raises the same ``ValueError``
messages: the argument's name and the shape or value that was found.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.backend import get_array_module, is_cupy_array, to_numpy


def as_array(x: Any, name: str) -> Any:
    """``x`` as a NumPy or CuPy array with at least one dimension and one row.

    Tensors (anything with ``.data``) are looked through; lists become NumPy arrays.
    """
    if not isinstance(x, np.ndarray) and not is_cupy_array(x) and hasattr(x, "data"):
        x = x.data
    if not is_cupy_array(x):
        x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError(f"{name} must be an array with one row per example, got a scalar {x!r}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): metrics need at least one row")
    return x


def check_same_length(y_true: Any, y_pred: Any) -> None:
    """ValueError when the two arrays have a different number of rows."""
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y_true and y_pred have different lengths: y_true has shape {tuple(y_true.shape)}, "
            f"y_pred has shape {tuple(y_pred.shape)}"
        )


def check_no_nan(x: Any, name: str, allow_inf: bool = True) -> None:
    """ValueError naming ``name``, the first bad index and the shape when ``x`` holds NaN."""
    if x.dtype.kind not in "fc":
        return
    xp = get_array_module(x)
    bad = xp.isnan(x) if allow_inf else ~xp.isfinite(x)
    if bool(bad.any()):
        flat = int(xp.argmax(bad.reshape(-1)))
        idx = tuple(int(i) for i in np.unravel_index(flat, tuple(x.shape)))
        value = float(x.reshape(-1)[flat])
        raise ValueError(
            f"{name} contains {value} at index {idx} (shape {tuple(x.shape)}): "
            f"metrics need {'non-NaN' if allow_inf else 'finite'} values"
        )


def _is_numeric(x: Any) -> bool:
    return x.dtype.kind in "biuf"


def _check_rank(x: Any, name: str) -> None:
    if x.ndim > 2:
        raise ValueError(f"{name} must have shape (N,), (N, 1) or (N, C), got shape {x.shape}")


def true_labels(y_true: Any, name: str = "y_true") -> Any:
    """Class labels from ``(N,)``/``(N, 1)`` labels or ``(N, C)`` one-hot rows (argmax).

    Shape:
        y_true: (N,), (N, 1) or (N, C); result (N,).
    """
    _check_rank(y_true, name)
    check_no_nan(y_true, name)
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        return y_true.argmax(axis=1)
    return y_true.reshape(-1)


def pred_labels(y_pred: Any, threshold: float = 0.5, name: str = "y_pred") -> Any:
    """Predicted class labels from labels, binary scores or multiclass scores.

    Integer, boolean and string arrays are labels. A float ``(N,)`` or ``(N, 1)`` array is
    a binary probability or score thresholded with ``score > threshold`` into 0/1, unless
    every value is a whole number (then it holds labels, e.g. ``[0., 2., 1.]``). A
    ``(N, C)`` array with ``C > 1`` holds per-class scores: the label is the argmax.

    Shape:
        y_pred: (N,), (N, 1) or (N, C); result (N,).
    """
    _check_rank(y_pred, name)
    check_no_nan(y_pred, name)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        if not _is_numeric(y_pred):
            raise ValueError(f"{name} of shape {y_pred.shape} must hold numeric class scores")
        return y_pred.argmax(axis=1)
    y = y_pred.reshape(-1)
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind != "f":
        return y
    xp = get_array_module(y)
    if bool((y == xp.floor(y)).all()):
        return y
    return (y > float(threshold)).astype(np.int64)


def present_labels(*ys: Any) -> np.ndarray:
    """The sorted union of the labels in the given arrays, on the host."""
    out = [to_numpy(get_array_module(y).unique(y)) for y in ys]
    kinds = {"text" if u.dtype.kind in "USO" else "number" for u in out}
    if len(kinds) > 1:
        found = ", ".join(f"{u[:5].tolist()}" for u in out)
        raise ValueError(f"y_true and y_pred mix text and numeric labels: found {found}")
    return np.unique(np.concatenate(out)) if len(out) > 1 else out[0]


def encode(y: Any, classes: np.ndarray) -> tuple[Any, Any]:
    """Indices of ``y``'s values in ``classes`` (any order) and a mask of those found.

    Shape:
        y: (N,); classes: (K,); result two (N,) arrays (int64 index, bool found).
    """
    xp = get_array_module(y)
    sorter = np.argsort(classes, kind="stable")
    sorted_cls = classes[sorter]
    cls = xp.asarray(sorted_cls)
    pos = xp.clip(xp.searchsorted(cls, y), 0, len(sorted_cls) - 1)
    found = cls[pos] == y
    return xp.asarray(sorter)[pos], found


def check_labels_arg(labels: Any) -> np.ndarray:
    """A user's ``labels`` argument as a 1-D host array without duplicates."""
    arr = to_numpy(labels).reshape(-1)
    if np.unique(arr).shape[0] != arr.shape[0]:
        raise ValueError(f"labels must not repeat a label, got {arr.tolist()}")
    return arr

"""Checks on what users pass to fit / evaluate / predict, before any work is done.

Every problem is one ValueError naming the argument, what was expected and what was found
(never a NumPy traceback from deep inside an op).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_array_module, to_numpy

__all__ = ["as_numeric_array", "check_lengths", "check_finite", "check_targets",
           "first_nonfinite_parameter"]


def as_numeric_array(x: Any, name: str, float_dtype: Any = None) -> np.ndarray:
    """``x`` as a non-empty numeric NumPy array (floats cast to ``float_dtype`` if given)."""
    if x is None:
        raise ValueError(f"{name} is None: expected an array")
    try:
        a = to_numpy(x)
    except Exception as e:  # pragma: no cover - exotic inputs
        raise ValueError(f"{name}: cannot convert to an array ({e})") from e
    if a.dtype == object or a.dtype.kind in "USV":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name}: non-numeric data (dtype {a.dtype}); convert or encode it first, "
                f"e.g. deepgrad.data.encode_labels for class names"
            ) from None
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name}: unsupported dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError(f"{name}: expected an array with a batch axis, got a scalar")
    if a.shape[0] == 0:
        raise ValueError(f"{name}: empty (shape {a.shape})")
    if float_dtype is not None and (a.dtype.kind in "biu" or a.dtype != float_dtype):
        a = a.astype(float_dtype)
    return a


def check_finite(a: np.ndarray, name: str) -> None:
    """Raise if ``a`` holds NaN or infinity, giving the count and the first position.

    ``a``: a NumPy array (other than float dtypes pass unchecked)."""
    if a.dtype.kind != "f":
        return
    # fast path: one summing pass, nothing allocated. NaN and infinities survive a sum, so
    # a finite sum means finite values; an overflowing sum falls through to the exact scan
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(a, axis=None)):
            return
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(a[first]) else "infinite"
        raise ValueError(
            f"{name}: contains {int(bad.sum())} NaN/infinite values (first: {kind} at index "
            f"{first}); clean or impute the data first"
        )


def check_lengths(X: np.ndarray, y: np.ndarray, xname: str = "X", yname: str = "y") -> None:
    """Raise if ``X`` and ``y`` hold different numbers of examples."""
    if len(X) != len(y):
        raise ValueError(
            f"{xname} and {yname} have different lengths: {xname} has {len(X)} samples "
            f"(shape {X.shape}), {yname} has {len(y)} (shape {y.shape})"
        )


def check_targets(y: np.ndarray, kind: str, n_outputs: int, loss_name: str,
                  out_shape: tuple[int, ...], name: str = "y") -> np.ndarray:
    """Validate and reshape targets for a loss of ``kind`` and a model with ``n_outputs``.

    kind: "binary", "sparse", "categorical", "regression" or "custom".
    Returns y ready for the loss (binary/regression targets shaped like the outputs).
    """
    if kind == "custom":
        return y
    n = len(y)
    if kind == "binary":
        if n_outputs != 1:
            raise ValueError(
                f"{loss_name} needs a model with 1 output unit per example, this one has "
                f"{n_outputs}; use sparse_categorical_crossentropy for {n_outputs} classes"
            )
        y = y.reshape(n, -1)
        if y.shape[1] != 1:
            raise ValueError(f"{name}: expected shape ({n},) or ({n}, 1) for {loss_name}, "
                             f"got {y.shape}")
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi > 1:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name}: label {bad:g} is outside [0, 1] for {loss_name} "
                             "(binary labels are 0 and 1)")
        return y.reshape((n,) + tuple(out_shape[1:]))
    if kind == "sparse":
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                f"{name}: expected integer class labels of shape ({n},) for {loss_name}, got "
                f"shape {y.shape}" + ("; one-hot targets go with categorical_crossentropy"
                                      if y.ndim == 2 else "")
            )
        if y.dtype.kind == "f":
            if not np.all(y == np.round(y)):
                k = int(np.argmax(y != np.round(y)))
                raise ValueError(f"{name}: non-integer class label {float(y[k]):g} at index {k} "
                                 f"for {loss_name}")
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_outputs:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{name}: label {bad} is outside [0, {n_outputs}) for a model with "
                f"{n_outputs} output units"
            )
        return y.astype(np.int64)
    if kind == "categorical":
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and n_outputs != 1):
            raise ValueError(
                f"{name}: {loss_name} expects one-hot targets of shape ({n}, {n_outputs}), got "
                f"{y.shape}; use sparse_categorical_crossentropy for integer labels, or "
                "deepgrad.data.one_hot(y)"
            )
        if y.shape[1:] != tuple(out_shape[1:]):
            raise ValueError(f"{name}: expected shape ({n}, {n_outputs}) for {loss_name} "
                             f"to match the model's outputs, got {y.shape}")
        if float(y.min()) < 0 or float(y.max()) > 1:
            raise ValueError(f"{name}: {loss_name} targets must be probabilities in [0, 1]")
        return y
    # regression
    if y.ndim == 1 and len(out_shape) == 2 and out_shape[1] == 1:
        y = y.reshape(n, 1)
    if y.shape[1:] != tuple(out_shape[1:]):
        raise ValueError(
            f"{name}: shape {y.shape} doesn't match the model's output shape "
            f"({n}, {', '.join(map(str, out_shape[1:]))}) for {loss_name}"
        )
    return y


def first_nonfinite_parameter(model: Any) -> str | None:
    """The name of the model's first parameter holding NaN or infinity, or None."""
    for name, p in model.named_parameters():
        data = p.data
        if data.dtype.kind == "f" and not bool(get_array_module(data).isfinite(data).all()):
            return name
    return None

"""Preprocessing: splitting, one-hot labels, standardization, image flattening and scaling."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import get_array_module, get_default_dtype
from ._rng import as_generator

__all__ = [
    "train_test_split",
    "one_hot",
    "Standardizer",
    "standardize",
    "flatten_images",
    "scale_pixels",
    "encode_labels",
    "decode_labels",
]


def _n_test(test_size: Any, n: int) -> int:
    if isinstance(test_size, bool):
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
    if isinstance(test_size, (int, np.integer)):
        k = int(test_size)
        if not 0 < k < n:
            raise ValueError(f"test_size must be between 1 and {n - 1} examples, got {k}")
        return k
    f = float(test_size)
    if not 0.0 < f < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
    k = math.ceil(f * n)
    if not 0 < k < n:
        raise ValueError(
            f"test_size={f} of {n} examples leaves an empty train or test set ({k} test)"
        )
    return k


def _stratified_test_index(labels: np.ndarray, n_test: int, rng: np.random.Generator) -> Any:
    classes, y = np.unique(labels, return_inverse=True)
    counts = np.bincount(y, minlength=len(classes))
    exact = counts * (n_test / len(labels))
    take = np.floor(exact).astype(np.int64)
    # hand out the remaining test slots to the largest remainders (ties: larger class first)
    order = np.lexsort((-counts, -(exact - take)))
    take[order[: n_test - int(take.sum())]] += 1
    picked = []
    for c in range(len(classes)):  # one pass per class, not per example
        members = np.flatnonzero(y == c)
        picked.append(rng.permutation(members)[: take[c]])
    return rng.permutation(np.concatenate(picked))


def train_test_split(
    *arrays: Any,
    test_size: float | int = 0.25,
    shuffle: bool = True,
    seed: Any = None,
    stratify: Any = None,
) -> list[Any]:
    """Split arrays into train and test parts along their first axis (scikit-learn's order).

    Args:
        *arrays: arrays with the same first dimension m.
        test_size: a fraction in (0, 1) (rounded up) or a number of test examples.
        shuffle: shuffle before splitting; False takes the last examples as the test set.
        seed: None, an int or a Generator.
        stratify: labels (m,) whose class proportions both parts keep (needs shuffle).

    Returns:
        ``[a_train, a_test, b_train, b_test, ...]``.

    Shape:
        arrays[k]: (m, ...) -> (m - t, ...) and (t, ...).
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    arrays = tuple(a if hasattr(a, "shape") else np.asarray(a) for a in arrays)
    n = len(arrays[0])
    for k, a in enumerate(arrays[1:], start=1):
        if len(a) != n:
            raise ValueError(
                f"arrays must have the same length: arrays[0] has {n} examples "
                f"but arrays[{k}] has {len(a)}"
            )
    n_test = _n_test(test_size, n)
    rng = as_generator(seed)
    if stratify is not None:
        labels = np.asarray(stratify)
        if labels.shape[:1] != (n,):
            raise ValueError(f"stratify must have {n} labels, got shape {labels.shape}")
        if not shuffle:
            raise ValueError("stratify needs shuffle=True")
        test_idx = _stratified_test_index(labels, n_test, rng)
        mask = np.ones(n, dtype=bool)
        mask[test_idx] = False
        train_idx = rng.permutation(np.flatnonzero(mask))
    else:
        perm = rng.permutation(n) if shuffle else np.arange(n)
        train_idx, test_idx = perm[: n - n_test], perm[n - n_test :]
    out = []
    for a in arrays:
        out += [a[train_idx], a[test_idx]]
    return out


def one_hot(labels: Any, num_classes: int | None = None, dtype: Any = None) -> Any:
    """One-hot encode integer labels.

    Args:
        labels: integer class indices in ``[0, num_classes)``.
        num_classes: number of classes; default ``labels.max() + 1``.
        dtype: result dtype; default the default float dtype.

    Shape:
        labels: (...) -> (..., num_classes).
    """
    xp = get_array_module(labels)
    y = xp.asarray(labels)
    if y.dtype.kind == "f":
        if y.size and not bool(xp.all(y == xp.round(y))):
            raise ValueError("labels must be integers, got non-integer floats")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iub":
        raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    if y.size and int(y.min()) < 0:
        raise ValueError(f"labels must be non-negative, found {int(y.min())}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and int(y.max()) >= num_classes:
        raise ValueError(
            f"labels must be in [0, {num_classes}) for num_classes={num_classes}, "
            f"found {int(y.max())}"
        )
    dtype = get_default_dtype() if dtype is None else dtype
    return (y[..., None] == xp.arange(num_classes)).astype(dtype)


def _float_array(x: Any, name: str) -> Any:
    xp = get_array_module(x)
    x = xp.asarray(x)
    if x.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {x.dtype}")
    if x.dtype.kind != "f":
        x = x.astype(get_default_dtype())
    if x.size and not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


class Standardizer:
    """Per-feature standardization ``(x - mean) / std``, fitted on training data.

    Features with zero spread get std 1 (centred, not scaled). The statistics are
    kept in the data's float dtype (integers use the default float dtype).

    Args:
        axis: axis (or axes) over which the statistics are taken (the examples axis).

    Shape:
        X: (m, ...) -> (m, ...); mean and std: X's shape without ``axis``, kept as 1.
    """

    def __init__(self, axis: int | tuple[int, ...] = 0) -> None:
        self.axis = axis
        self.mean: Any = None
        self.std: Any = None

    def fit(self, X: Any) -> Standardizer:
        """Compute mean and std of ``X`` along ``axis``."""
        X = _float_array(X, "X")
        if X.ndim == 0 or X.size == 0:
            raise ValueError(f"X must be a non-empty array, got shape {X.shape}")
        self.mean = X.mean(axis=self.axis, keepdims=True)
        std = X.std(axis=self.axis, keepdims=True)
        self.std = std + (std == 0).astype(std.dtype)
        return self

    def transform(self, X: Any) -> Any:
        """Standardize ``X`` with the fitted statistics."""
        self._check_fitted()
        X = _float_array(X, "X")
        if X.shape[1:] != self.mean.shape[1:] and self.axis == 0:
            raise ValueError(
                f"X has feature shape {X.shape[1:]} but the Standardizer was fitted on "
                f"{self.mean.shape[1:]}"
            )
        mean, std = self.mean.astype(X.dtype, copy=False), self.std.astype(X.dtype, copy=False)
        return (X - mean) / std

    def fit_transform(self, X: Any) -> Any:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Any) -> Any:
        """Undo ``transform``: ``Z * std + mean``."""
        self._check_fitted()
        Z = _float_array(Z, "Z")
        return Z * self.std.astype(Z.dtype, copy=False) + self.mean.astype(Z.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        """Plain-JSON state (axis, mean, std as nested lists) for saving with a model."""
        self._check_fitted()
        to_list = lambda a: np.asarray(a.get() if hasattr(a, "get") else a).tolist()  # noqa: E731
        return {"axis": self.axis, "mean": to_list(self.mean), "std": to_list(self.std)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Standardizer:
        """Rebuild a fitted Standardizer from ``get_config()``'s output."""
        axis = config["axis"]
        s = cls(tuple(axis) if isinstance(axis, list) else axis)
        s.mean, s.std = np.asarray(config["mean"]), np.asarray(config["std"])
        return s

    def _check_fitted(self) -> None:
        if self.mean is None:
            raise RuntimeError("Standardizer is not fitted yet: call fit(X_train) first")


def standardize(train: Any, test: Any = None) -> Any:
    """Standardize per feature with statistics of ``train`` only.

    Returns:
        ``train_s`` when ``test`` is None, else ``(train_s, test_s)`` (test uses train's stats).

    Shape:
        train: (m, ...), test: (t, ...) with the same feature shape.
    """
    s = Standardizer().fit(train)
    if test is None:
        return s.transform(train)
    return s.transform(train), s.transform(test)


def flatten_images(X: Any, batch_first: bool = True) -> Any:
    """Flatten each image into a vector in row-major (h, w, c) order.

    Args:
        X: images, one per entry of the first axis.
        batch_first: True gives (m, h*w*c); False gives the course's (h*w*c, m),
            i.e. ``X.reshape(m, -1).T``.

    Shape:
        X: (m, h, w, c) or any (m, ...) -> (m, prod(...)) or (prod(...), m).
    """
    if not hasattr(X, "reshape"):
        X = np.asarray(X)
    if X.ndim < 1:
        raise ValueError(f"X must have an examples axis, got shape {X.shape}")
    flat = X.reshape(X.shape[0], -1)
    return flat if batch_first else flat.T


def scale_pixels(X: Any, dtype: Any = None) -> Any:
    """Pixel values 0..255 to 0..1: ``X / 255`` in ``dtype`` (default float dtype).

    Shape:
        X: any -> same.
    """
    xp = get_array_module(X)
    X = xp.asarray(X)
    dtype = np.dtype(get_default_dtype() if dtype is None else dtype)
    if X.dtype.kind not in "fiub":
        raise ValueError(f"X must be numeric pixel values, got dtype {X.dtype}")
    return X.astype(dtype) / dtype.type(255)


def encode_labels(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Map arbitrary labels (strings, numbers) to codes 0..k-1 (sorted classes).

    Returns:
        ``(codes, classes)`` with ``classes[codes] == y``; codes are int64.

    Shape:
        y: (...) -> codes (...), classes (k,).
    """
    y = np.asarray(y)
    classes, codes = np.unique(y, return_inverse=True)
    return codes.reshape(y.shape).astype(np.int64), classes


def decode_labels(codes: Any, classes: Any) -> np.ndarray:
    """Inverse of :func:`encode_labels`: ``classes[codes]``.

    Shape:
        codes: (...) -> (...).
    """
    return np.asarray(classes)[np.asarray(codes)]

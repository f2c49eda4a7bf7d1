"""The course's two data sets: the planar "flower" and the cat vs non-cat images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["load_planar_dataset", "load_cat_dataset"]


def load_planar_dataset() -> tuple[np.ndarray, np.ndarray]:
    """The course's two-class flower: 400 points in the plane, 200 per class.

    ``np.random.seed(1)`` (NumPy's legacy global generator), then for class j = 0, 1 and
    N = 200 points: t = linspace(3.12 j, 3.12 (j + 1), N) + 0.2 randn(N) (angle),
    r = a sin(4 t) + 0.2 randn(N) with a = 4 (radius), x = (r sin t, r cos t).

    Returns:
        (X, Y): X the points as columns (float64), Y the labels 0/1 (uint8).

    Shape:
        X: (2, 400); Y: (1, 400).
    """
    np.random.seed(1)
    m = 400
    N = int(m / 2)
    D = 2
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype="uint8")
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    X = X.T
    Y = Y.T
    return X, Y


def _cat_dir(path: str | os.PathLike | None) -> Path:
    if path is not None:
        return Path(path)
    root = os.environ.get("DEEPGRAD_DATA")
    if not root:
        raise FileNotFoundError(
            "load_cat_dataset(path=None) looks in $DEEPGRAD_DATA/catvnoncat/, but DEEPGRAD_DATA "
            "is not set; set it to the data root or pass path= (the directory holding "
            "train_catvnoncat.h5 and test_catvnoncat.h5)")
    return Path(root) / "catvnoncat"


def load_cat_dataset(path: str | os.PathLike | None = None):
    """Read the cat vs non-cat images (``train_catvnoncat.h5``, ``test_catvnoncat.h5``).

    Needs h5py (``pip install 'deepgrad[data]'``), imported here only.

    Args:
        path: the directory holding the two files; None looks in ``$DEEPGRAD_DATA/catvnoncat``.

    Returns:
        (train_x_orig, train_y, test_x_orig, test_y, classes): images as uint8, labels as row
        vectors, classes the byte strings ``[b'non-cat', b'cat']``. Flatten and scale as the
        course does: ``X.reshape(X.shape[0], -1).T / 255``.

    Shape:
        train_x_orig: (209, 64, 64, 3); train_y: (1, 209); test_x_orig: (50, 64, 64, 3);
        test_y: (1, 50); classes: (2,).
    """
    try:
        import h5py
    except ImportError as e:
        raise ImportError("load_cat_dataset needs h5py: pip install 'deepgrad[data]'") from e
    directory = _cat_dir(path)
    files = [directory / "train_catvnoncat.h5", directory / "test_catvnoncat.h5"]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"cat vs non-cat data file not found: {f}")
    with h5py.File(files[0], "r") as train_dataset:
        train_x_orig = np.array(train_dataset["train_set_x"][:])
        train_y = np.array(train_dataset["train_set_y"][:])
    with h5py.File(files[1], "r") as test_dataset:
        test_x_orig = np.array(test_dataset["test_set_x"][:])
        test_y = np.array(test_dataset["test_set_y"][:])
        classes = np.array(test_dataset["list_classes"][:])
    train_y = train_y.reshape((1, train_y.shape[0]))
    test_y = test_y.reshape((1, test_y.shape[0]))
    return train_x_orig, train_y, test_x_orig, test_y, classes

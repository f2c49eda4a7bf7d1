"""The real datasets under $DEEPGRAD_DATA or ../shared/data; skipped when absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from deepgrad.data.datasets import load_catvnoncat, load_fashion_mnist, load_mnist


def _root() -> Path | None:
    candidates = [os.environ.get("DEEPGRAD_DATA"),
                  Path(__file__).resolve().parents[2].parent / "shared" / "data"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return None


def _dir(name: str, first: str) -> Path:
    root = _root()
    if root is None or not (root / name / first).is_file():
        pytest.skip(f"{name} files not found (set DEEPGRAD_DATA)")
    return root / name


def test_mnist_train_and_test():
    d = _dir("mnist", "t10k-labels-idx1-ubyte.gz")
    X, y = load_mnist(d, "test")
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    X, y = load_mnist(d, "train")
    assert X.shape == (60000, 28, 28) and y.shape == (60000,)
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert abs(X.mean() - 33.3184) < 1e-3


def test_fashion_mnist_test():
    d = _dir("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
    X, y = load_fashion_mnist(d, "test")
    assert X.shape == (10000, 28, 28) and np.bincount(y).tolist() == [1000] * 10
    assert abs(X.mean() - 73.1466) < 1e-3


def test_catvnoncat():
    pytest.importorskip("h5py")
    d = _dir("catvnoncat", "train_catvnoncat.h5")
    tx, ty, vx, vy, classes = load_catvnoncat(d)
    assert tx.shape == (209, 64, 64, 3) and vx.shape == (50, 64, 64, 3)
    assert ty[:20].tolist() == [0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1]
    assert int(ty.sum()) == 72 and int(vy.sum()) == 33
    assert classes == ("non-cat", "cat")
    assert tx.reshape(209, -1).T[:5, 0].tolist() == [17, 31, 56, 22, 33]

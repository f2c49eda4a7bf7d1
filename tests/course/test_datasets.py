"""deepgrad.course.datasets: the planar flower and the cat vs non-cat files."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from deepgrad.course.datasets import load_cat_dataset, load_planar_dataset


def _real_cat_dir() -> Path:
    """$DEEPGRAD_DATA/catvnoncat, else ../shared/data/catvnoncat next to the repository."""
    if os.environ.get("DEEPGRAD_DATA"):
        return Path(os.environ["DEEPGRAD_DATA"]) / "catvnoncat"
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "catvnoncat"


REAL_CAT = _real_cat_dir()


def test_load_planar_dataset():
    X, Y = load_planar_dataset()
    assert X.shape == (2, 400) and Y.shape == (1, 400)
    assert int(Y.sum()) == 200 and set(np.unique(Y)) == {0, 1}
    # class 0 is the first 200 points, class 1 the last 200
    assert not Y[0, :200].any() and Y[0, 200:].all()
    X2, Y2 = load_planar_dataset()
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(Y, Y2)
    # the flower's radius is a |sin 4t| + noise <= 4 + a few sigma of 0.2
    assert np.sqrt((X**2).sum(axis=0)).max() < 5.0
    # first point of the course's generator (seed 1)
    np.testing.assert_allclose(X[:, 0], [1.20444229, 3.57611415], rtol=1e-8)


def _write_cat_files(directory, m_train=3, m_test=2):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    classes = np.array([b"non-cat", b"cat"], dtype="S7")
    data = {}
    for split, m in (("train", m_train), ("test", m_test)):
        x = rng.integers(0, 256, size=(m, 4, 4, 3), dtype=np.uint8)
        y = np.arange(m, dtype=np.int64) % 2
        with h5py.File(directory / f"{split}_catvnoncat.h5", "w") as f:
            f.create_dataset(f"{split}_set_x", data=x)
            f.create_dataset(f"{split}_set_y", data=y)
            f.create_dataset("list_classes", data=classes)
        data[split] = (x, y)
    return data


def test_load_cat_dataset_small_file(tmp_path):
    data = _write_cat_files(tmp_path)
    train_x, train_y, test_x, test_y, classes = load_cat_dataset(tmp_path)
    np.testing.assert_array_equal(train_x, data["train"][0])
    np.testing.assert_array_equal(test_x, data["test"][0])
    assert train_y.shape == (1, 3) and test_y.shape == (1, 2)
    np.testing.assert_array_equal(train_y, [[0, 1, 0]])
    assert list(classes) == [b"non-cat", b"cat"]
    assert train_x.dtype == np.uint8


def test_load_cat_dataset_env_var(tmp_path, monkeypatch):
    (tmp_path / "catvnoncat").mkdir()
    _write_cat_files(tmp_path / "catvnoncat")
    monkeypatch.setenv("DEEPGRAD_DATA", str(tmp_path))
    assert load_cat_dataset()[0].shape == (3, 4, 4, 3)
    monkeypatch.delenv("DEEPGRAD_DATA")
    with pytest.raises(FileNotFoundError, match="DEEPGRAD_DATA"):
        load_cat_dataset()
    with pytest.raises(FileNotFoundError, match="train_catvnoncat.h5"):
        load_cat_dataset(tmp_path)


def test_load_cat_dataset_without_h5py(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'deepgrad\[data\]'"):
        load_cat_dataset(tmp_path)


@pytest.mark.skipif(not REAL_CAT.is_dir(), reason="real cat vs non-cat files not present")
def test_load_cat_dataset_real_files():
    train_x, train_y, test_x, test_y, classes = load_cat_dataset(REAL_CAT)
    assert train_x.shape == (209, 64, 64, 3) and train_y.shape == (1, 209)
    assert test_x.shape == (50, 64, 64, 3) and test_y.shape == (1, 50)
    assert int(train_y.sum()) == 72 and int(test_y.sum()) == 33
    # flatten as the course does: column 0 starts with [17 31 56 22 33]
    flat = train_x.reshape(train_x.shape[0], -1).T
    np.testing.assert_array_equal(flat[:5, 0], [17, 31, 56, 22, 33])


def test_engine_planar_generator_equals_the_course_one():
    import deepgrad.data as data

    X, y = data.make_planar(dtype=np.float64)  # batch first
    Xc, Yc = load_planar_dataset()
    assert np.array_equal(X.T, Xc) and np.array_equal(y, Yc.ravel())

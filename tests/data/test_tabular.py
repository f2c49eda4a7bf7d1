"""CSV and NPZ readers on tiny files written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepgrad.data.datasets import load_csv, load_npz


def _csv(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_named_categorical_target(tmp_path):
    p = _csv(tmp_path, "a,species,b\n1,setosa,2.5\n3,virginica,4\n\n5, setosa ,6\n")
    X, y, names, classes, target = load_csv(p, target="species")
    np.testing.assert_array_equal(X, [[1, 2.5], [3, 4], [5, 6]])
    assert X.dtype == np.float32
    assert names == ["a", "b"] and target == "species"
    assert classes == ["setosa", "virginica"] and y.tolist() == [0, 1, 0]


def test_csv_numeric_targets_and_index(tmp_path):
    p = _csv(tmp_path, "x,y,label\n1,2,0\n3,4,1\n")
    data = load_csv(p, dtype=np.float64)  # default target: last column
    assert data.y.dtype == np.int64 and data.y.tolist() == [0, 1] and data.classes is None
    assert data.X.dtype == np.float64
    reg = load_csv(_csv(tmp_path, "t;x\n0.5;1\n1.5;2\n", "r.csv"), target=0, delimiter=";")
    assert reg.y.dtype == np.float64 and reg.y.tolist() == [0.5, 1.5]
    assert reg.feature_names == ["x"]


def test_csv_without_header(tmp_path):
    p = _csv(tmp_path, "1,2,cat\n3,4,dog\n")
    X, y, names, classes, target = load_csv(p, target=-1, header=False)
    assert X.shape == (2, 2) and names == ["x0", "x1"] and classes == ["cat", "dog"]
    with pytest.raises(ValueError, match="header=False"):
        load_csv(p, target="label", header=False)


@pytest.mark.parametrize("text,kwargs,match", [
    ("a,b,y\n1,2,0\n3,oops,1\n", {}, r"line 3, column 'b': non-numeric feature value 'oops'"),
    ("a,b,y\n1,,0\n", {}, r"line 2, column 'b'"),
    ("a,b,y\n1,2,0\n", {"target": "label"}, r"no target column 'label'.*\['a', 'b', 'y'\]"),
    ("a,b,y\n1,2,0\n", {"target": 5}, "out of range"),
    ("a,b,y\n1,2,0\n1,2\n", {}, r"line 3: 2 fields, expected 3"),
    ("a,b,y\n", {}, "no data rows"),
    ("", {}, "empty"),
    ("a,y\n1,x\n2,\n", {}, r"line 3, column 'y': missing target"),
])
def test_csv_errors_name_file_line_column(tmp_path, text, kwargs, match):
    p = _csv(tmp_path, text)
    with pytest.raises(ValueError, match=match) as e:
        load_csv(p, **kwargs)
    assert str(p) in str(e.value)


def test_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path / "none.csv")


def test_npz_roundtrip_and_keys(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.ones((4, 3)), y=np.arange(4), feats=np.zeros((4, 2)))
    X, y = load_npz(p)
    assert X.shape == (4, 3) and y.tolist() == [0, 1, 2, 3]
    X2, none = load_npz(p, x_key="feats", y_key=None)
    assert X2.shape == (4, 2) and none is None


def test_npz_errors(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.ones((4, 3)), y=np.arange(3))
    with pytest.raises(ValueError, match="same number of examples") as e:
        load_npz(p)
    assert str(p) in str(e.value)
    with pytest.raises(ValueError, match=r"no array named 'labels'.*\['X', 'y'\]"):
        load_npz(p, y_key="labels")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="bad.npz"):
        load_npz(bad)
    obj = tmp_path / "obj.npz"
    np.savez(obj, X=np.array([{"a": 1}], dtype=object), y=np.arange(1))
    with pytest.raises(ValueError, match="obj.npz"):
        load_npz(obj)
    single = tmp_path / "one.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match="not an .npz"):
        load_npz(single)
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "missing.npz")

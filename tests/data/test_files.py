"""File datasets on tiny generated files: IDX (MNIST layout), HDF5, paths, download."""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from deepgrad.data.datasets import (
    describe_datasets,
    files,
    load_catvnoncat,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(">i2"): 0x0B, np.dtype(">f4"): 0x0D}


def idx_bytes(a: np.ndarray) -> bytes:
    dt = a.dtype if a.dtype == np.uint8 else a.dtype.newbyteorder(">")
    head = bytes([0, 0, IDX_CODES[dt], a.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in a.shape)
    return head + a.astype(dt).tobytes()


def write(path: Path, data: bytes, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def make_mnist_dir(d: Path, n: int = 6, gz: bool = True, kinds=("train", "test")) -> tuple:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    for kind in kinds:
        prefix = "train" if kind == "train" else "t10k"
        write(d / f"{prefix}-images-idx3-ubyte", idx_bytes(X), gz)
        write(d / f"{prefix}-labels-idx1-ubyte", idx_bytes(y), gz)
    return X, y


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.delenv("DEEPGRAD_DATA", raising=False)
    monkeypatch.setenv("DEEPGRAD_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_roundtrip(tmp_path, gz):
    for a in [np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
              np.array([-3, 300, 7], dtype=np.int16), np.linspace(0, 1, 6, dtype=np.float32)]:
        p = write(tmp_path / f"a{a.dtype}", idx_bytes(a), gz)
        out = read_idx(p)
        np.testing.assert_array_equal(out, a)
        assert out.dtype.isnative and out.flags.writeable


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_train_and_test(tmp_path, gz):
    X, y = make_mnist_dir(tmp_path / "m", gz=gz)
    for kind in ("train", "test"):
        Xl, yl = load_mnist(tmp_path / "m", kind=kind)
        assert Xl.dtype == np.uint8 and yl.dtype == np.uint8 and Xl.shape == (6, 28, 28)
        np.testing.assert_array_equal(Xl, X)
        np.testing.assert_array_equal(yl, y)
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path / "m", kind="val")


def _corrupt_cases(good_images: bytes, good_labels: bytes):
    return {
        "bad IDX magic": b"\x12\x34" + good_images[2:],
        "unknown type": good_images[:2] + b"\x07" + good_images[3:],
        "expected 0x00000803": good_labels,
        "truncated: the header says": good_images[:-10],
        "truncated IDX header": good_images[:9],
        "too short": good_images[:3],
        "unexpected bytes after": good_images + b"\x00\x00",
    }


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("case", list(_corrupt_cases(b"", b"")))
def test_corrupt_idx_raises_naming_file(tmp_path, gz, case):
    X = np.zeros((3, 28, 28), np.uint8)
    y = np.zeros(3, np.uint8)
    data = _corrupt_cases(idx_bytes(X), idx_bytes(y))[case]
    d = tmp_path / "m"
    p = write(d / "train-images-idx3-ubyte", data, gz)
    write(d / "train-labels-idx1-ubyte", idx_bytes(y), gz)
    with pytest.raises(ValueError, match=case) as e:
        load_mnist(d)
    assert str(p) in str(e.value)


def test_truncated_gzip(tmp_path):
    make_mnist_dir(tmp_path / "m")
    p = tmp_path / "m" / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(ValueError, match="gzip") as e:
        load_mnist(tmp_path / "m")
    assert str(p) in str(e.value)


def test_count_mismatch_and_label_range(tmp_path):
    d = tmp_path / "m"
    write(d / "train-images-idx3-ubyte", idx_bytes(np.zeros((3, 28, 28), np.uint8)), False)
    write(d / "train-labels-idx1-ubyte", idx_bytes(np.zeros(4, np.uint8)), False)
    with pytest.raises(ValueError, match="3 images .* 4 labels"):
        load_mnist(d)
    write(d / "train-labels-idx1-ubyte", idx_bytes(np.array([0, 1, 12], np.uint8)), False)
    with pytest.raises(ValueError, match="label 12"):
        load_mnist(d)


def test_missing_files_say_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPGRAD_DATA", str(tmp_path / "root"))
    with pytest.raises(FileNotFoundError) as e:
        load_mnist()
    msg = str(e.value)
    assert str(tmp_path / "root" / "mnist") in msg and str(tmp_path / "cache" / "mnist") in msg
    assert "DEEPGRAD_DATA" in msg and "path=" in msg and "download=True" in msg
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere")):
        load_fashion_mnist(tmp_path / "nowhere")


def test_resolution_order_env_then_cache(tmp_path, monkeypatch):
    Xc, _ = make_mnist_dir(tmp_path / "cache" / "fashion-mnist", n=2)
    assert load_fashion_mnist()[0].shape == (2, 28, 28)  # cache
    make_mnist_dir(tmp_path / "root" / "fashion-mnist", n=3, gz=False)
    monkeypatch.setenv("DEEPGRAD_DATA", str(tmp_path / "root"))
    assert load_fashion_mnist()[0].shape == (3, 28, 28)  # data root wins
    rows = {r.name: r for r in describe_datasets()}
    assert str(tmp_path / "root" / "fashion-mnist") in rows["fashion-mnist"].location
    assert "not found" in rows["mnist"].location and rows["planar"].kind == "builtin"


class _FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_download_verifies_and_writes_atomically(tmp_path, monkeypatch):
    X = np.full((2, 28, 28), 7, np.uint8)
    blobs = {"images": gzip.compress(idx_bytes(X)),
             "labels": gzip.compress(idx_bytes(np.array([3, 4], np.uint8)))}
    table = dict(files._IDX_FILES["mnist"])
    for key, blob in blobs.items():
        name = table[f"train_{key}"][0]
        table[f"train_{key}"] = (name, hashlib.sha256(blob).hexdigest())
    monkeypatch.setitem(files._IDX_FILES, "mnist", table)
    seen = []

    def fake_urlopen(url, timeout=None):
        seen.append(url)
        return _FakeResponse(blobs["images" if "images" in url else "labels"])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    Xl, yl = load_mnist(download=True)
    np.testing.assert_array_equal(Xl, X)
    assert yl.tolist() == [3, 4] and len(seen) == 2
    cache = tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    load_mnist(download=True)
    assert len(seen) == 2  # present files are not fetched again


def test_download_wrong_hash_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout=None: _FakeResponse(b"not the file"))
    with pytest.raises(ValueError, match="SHA-256"):
        load_mnist(tmp_path / "dl", download=True)
    assert list((tmp_path / "dl").iterdir()) == []


def test_download_offline_is_clear(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ConnectionError, match="offline") as e:
        load_fashion_mnist(download=True)
    assert "DEEPGRAD_DATA" in str(e.value)
    assert not any((tmp_path / "cache" / "fashion-mnist").iterdir())


def _write_cat(d: Path, h5py, drop: str | None = None) -> None:
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, m in (("train", 5), ("test", 3)):
        with h5py.File(d / f"{split}_catvnoncat.h5", "w") as f:
            f[f"{split}_set_x"] = rng.integers(0, 256, (m, 4, 4, 3)).astype(np.uint8)
            if drop != f"{split}_set_y":
                f[f"{split}_set_y"] = np.arange(m) % 2
            f["list_classes"] = np.array([b"non-cat", b"cat"])


def test_load_catvnoncat(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    _write_cat(tmp_path / "root" / "catvnoncat", h5py)
    monkeypatch.setenv("DEEPGRAD_DATA", str(tmp_path / "root"))
    tx, ty, vx, vy, classes = load_catvnoncat()
    assert tx.shape == (5, 4, 4, 3) and tx.dtype == np.uint8 and ty.tolist() == [0, 1, 0, 1, 0]
    assert vx.shape == (3, 4, 4, 3) and vy.dtype == np.int64
    assert classes == ("non-cat", "cat")


def test_catvnoncat_errors(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    _write_cat(tmp_path / "c", h5py, drop="test_set_y")
    with pytest.raises(ValueError, match="missing dataset.*test_set_y"):
        load_catvnoncat(tmp_path / "c")
    (tmp_path / "c" / "train_catvnoncat.h5").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable HDF5"):
        load_catvnoncat(tmp_path / "c")
    with pytest.raises(FileNotFoundError, match="train_catvnoncat.h5"):
        load_catvnoncat(tmp_path / "empty")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install 'deepgrad\[data\]'"):
        load_catvnoncat(tmp_path / "c")

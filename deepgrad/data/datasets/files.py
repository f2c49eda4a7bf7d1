"""File datasets: MNIST and Fashion-MNIST (IDX), the course's cat vs non-cat (HDF5).

Each loader takes ``path`` (the directory holding the files); without it the files are
looked for in ``$DEEPGRAD_DATA/<name>/`` and then in the cache ``~/.cache/deepgrad/<name>``
(``$DEEPGRAD_CACHE`` overrides). CSV and NPZ readers live in :mod:`.tabular`.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ._paths import candidate_dirs, download_file, find_files, missing_files_error
from .tabular import TabularData, load_csv, load_npz

__all__ = [
    "read_idx",
    "load_mnist",
    "load_fashion_mnist",
    "load_catvnoncat",
    "load_csv",
    "load_npz",
    "TabularData",
    "FASHION_MNIST_CLASSES",
    "FILE_DATASETS",
]

PathLike = str | os.PathLike

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

# file key -> (base file name, sha256 of the .gz), per dataset (from shared/data/README.md)
_IDX_FILES = {
    "mnist": {
        "train_images": ("train-images-idx3-ubyte",
                         "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "train_labels": ("train-labels-idx1-ubyte",
                         "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "test_images": ("t10k-images-idx3-ubyte",
                        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "test_labels": ("t10k-labels-idx1-ubyte",
                        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    },
    "fashion-mnist": {
        "train_images": ("train-images-idx3-ubyte",
                         "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        "train_labels": ("train-labels-idx1-ubyte",
                         "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        "test_images": ("t10k-images-idx3-ubyte",
                        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        "test_labels": ("t10k-labels-idx1-ubyte",
                        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    },
}

_MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ),
}

_CAT_FILES = {"train": ("train_catvnoncat.h5",), "test": ("test_catvnoncat.h5",)}

FILE_DATASETS = {
    "mnist": "MNIST handwritten digits, IDX files (60,000 + 10,000 x 28 x 28, 10 classes)",
    "fashion-mnist": "Fashion-MNIST (Zalando), IDX files (60,000 + 10,000 x 28 x 28, 10 classes)",
    "catvnoncat": "the course's cat vs non-cat, HDF5 files (209 + 50 x 64 x 64 x 3, 2 classes)",
}


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from e


def read_idx(path: PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or not, detected from its first bytes), validating the header.

    Args:
        path: the file.
        expected_magic: e.g. ``0x803`` for images, ``0x801`` for labels; checked when given.

    Returns:
        A writable array of the header's dimensions and type (big-endian types as native).

    Raises:
        ValueError: naming the file, for a bad magic number, unknown type, a truncated
            header or data, or bytes left over after the data.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes is too short for an IDX header (4 bytes)")
    magic = int.from_bytes(data[:4], "big")
    if data[0] != 0 or data[1] != 0 or data[3] == 0:
        raise ValueError(
            f"{path}: bad IDX magic number 0x{magic:08X} (expected 0x0000TTNN with a "
            f"type TT and NN >= 1 dimensions): not an IDX file"
        )
    if data[2] not in _IDX_DTYPES:
        known = ", ".join(f"0x{k:02X}" for k in _IDX_DTYPES)
        raise ValueError(
            f"{path}: unknown type code 0x{data[2]:02X} in IDX magic number 0x{magic:08X} "
            f"(known: {known})"
        )
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"{path}: IDX magic number is 0x{magic:08X}, expected 0x{expected_magic:08X}"
        )
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} of {header} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found < expected:
        raise ValueError(
            f"{path}: truncated: the header says {dims} values ({expected} bytes) "
            f"but the file holds {found} bytes of data"
        )
    if found > expected:
        raise ValueError(
            f"{path}: {found - expected} unexpected bytes after the {dims} values "
            f"declared in the header"
        )
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return arr.reshape(dims).astype(dtype.newbyteorder("="), copy=True)


def _idx_wanted(name: str, kind: str) -> dict[str, tuple[str, ...]]:
    if kind not in ("train", "test"):
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    out = {}
    for part in ("images", "labels"):
        base = _IDX_FILES[name][f"{kind}_{part}"][0]
        alt = base.replace("-idx", ".idx")  # the original distribution's inner names
        out[part] = (base + ".gz", base, alt + ".gz", alt)
    return out


def _load_idx_pair(
    name: str, path: PathLike | None, kind: str, download: bool
) -> tuple[np.ndarray, np.ndarray]:
    wanted = _idx_wanted(name, kind)
    found = find_files(name, wanted, path)
    if found is None and download:
        target = candidate_dirs(name, path)[-1] if path is None else Path(path)
        for part in ("images", "labels"):
            base, digest = _IDX_FILES[name][f"{kind}_{part}"]
            dest = target / (base + ".gz")
            if not dest.is_file():
                urls = [m + base + ".gz" for m in _MIRRORS[name]]
                download_file(urls, dest, digest)
        found = find_files(name, wanted, target)
    if found is None:
        raise missing_files_error(name, wanted, path, hint=", or use download=True")
    images = read_idx(found["images"], expected_magic=0x803)
    labels = read_idx(found["labels"], expected_magic=0x801)
    if images.ndim != 3:
        raise ValueError(f"{found['images']}: expected images (n, rows, cols), got {images.shape}")
    if len(images) != len(labels):
        raise ValueError(
            f"{found['images']} holds {len(images)} images but {found['labels']} holds "
            f"{len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{found['labels']}: label {int(labels.max())} outside 0..9")
    return images, labels


def load_mnist(
    path: PathLike | None = None, kind: str = "train", download: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits from the IDX files (``.gz`` or uncompressed).

    Args:
        path: directory with ``train-images-idx3-ubyte.gz`` etc.; default
            ``$DEEPGRAD_DATA/mnist`` then the cache directory.
        kind: "train" (60,000 images) or "test" (10,000).
        download: fetch missing files into the cache (or ``path``), SHA-256 verified.

    Returns:
        ``(images, labels)``: uint8 (n, 28, 28) with values 0..255, uint8 (n,) in 0..9.
    """
    return _load_idx_pair("mnist", path, kind, download)


def load_fashion_mnist(
    path: PathLike | None = None, kind: str = "train", download: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from the IDX files; class names are in ``FASHION_MNIST_CLASSES``.

    Args:
        path: directory with the files; default ``$DEEPGRAD_DATA/fashion-mnist`` then the cache.
        kind: "train" (60,000 images) or "test" (10,000).
        download: fetch missing files into the cache (or ``path``), SHA-256 verified.

    Returns:
        ``(images, labels)``: uint8 (n, 28, 28), uint8 (n,) in 0..9.
    """
    return _load_idx_pair("fashion-mnist", path, kind, download)


def _h5_read(h5py: Any, file: Path, keys: tuple[str, ...]) -> list[np.ndarray]:
    try:
        with h5py.File(file, "r") as f:
            missing = [k for k in keys if k not in f]
            if missing:
                raise ValueError(
                    f"{file}: missing dataset(s) {missing}; the file holds {sorted(f.keys())}"
                )
            return [np.array(f[k]) for k in keys]
    except OSError as e:
        raise ValueError(f"{file}: not a readable HDF5 file ({e})") from e


def load_catvnoncat(
    path: PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """The course's cat vs non-cat images from ``train_catvnoncat.h5`` / ``test_catvnoncat.h5``.

    Needs h5py (``pip install 'deepgrad[data]'``), imported only here.

    Args:
        path: directory with both files; default ``$DEEPGRAD_DATA/catvnoncat`` then the cache.

    Returns:
        ``(train_x, train_y, test_x, test_y, classes)``: uint8 (209, 64, 64, 3), int64 (209,),
        uint8 (50, 64, 64, 3), int64 (50,), and ``("non-cat", "cat")``.
    """
    found = find_files("catvnoncat", _CAT_FILES, path)
    if found is None:
        raise missing_files_error("catvnoncat", _CAT_FILES, path)
    try:
        import h5py  # noqa: PLC0415 - optional dependency, only for this loader
    except ImportError as e:
        raise ImportError(
            "load_catvnoncat needs h5py to read HDF5 files: pip install 'deepgrad[data]'"
        ) from e
    train_x, train_y, classes = _h5_read(
        h5py, found["train"], ("train_set_x", "train_set_y", "list_classes")
    )
    test_x, test_y = _h5_read(h5py, found["test"], ("test_set_x", "test_set_y"))
    for f, x, y in ((found["train"], train_x, train_y), (found["test"], test_x, test_y)):
        if x.ndim != 4 or len(x) != y.size:
            raise ValueError(
                f"{f}: expected images (m, h, w, 3) and m labels, got {x.shape} and {y.shape}"
            )
    names = tuple(c.decode() if isinstance(c, bytes) else str(c) for c in classes.tolist())
    return (
        train_x.astype(np.uint8), train_y.reshape(-1).astype(np.int64),
        test_x.astype(np.uint8), test_y.reshape(-1).astype(np.int64), names,
    )

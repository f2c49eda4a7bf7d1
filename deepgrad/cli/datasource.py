"""The ``data:`` section of a config, and DATA references for evaluate / predict.

DATA syntax (``deepgrad datasets`` prints it):
  planar, moons, ...        a built-in generated dataset (the model's training options)
  mnist[:test|:train]       MNIST IDX files ($DEEPGRAD_DATA/mnist or --data-dir); test default
  fashion-mnist[:split]     Fashion-MNIST IDX files
  catvnoncat[:split]        the course's cat HDF5 files
  path/to/file.csv          CSV with the model's feature columns (target column optional)
  path/to/file.npz          arrays X (and y)
  path/to/images-idx3-ubyte[.gz]  an IDX image file (labels from the matching labels file)
  path/to/file.h5           HDF5 with *_x / *_y datasets (the course's layout) or X / y
"""

from __future__ import annotations

import csv
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data import BUILTIN_DATASETS, load_csv, load_npz, train_test_split
from ..data.datasets import (
    FASHION_MNIST_CLASSES,
    FILE_DATASETS,
    load_catvnoncat,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)
from .errors import CLIError, ConfigError
from .preprocess import LAYOUTS
from .schema import as_bool, as_choice, as_float, as_int, as_mapping, as_str, check_keys, show

__all__ = ["SOURCES", "LoadedData", "validate_data", "load_training_data", "load_reference"]

IMAGE_SOURCES = tuple(FILE_DATASETS)
SOURCES = tuple(BUILTIN_DATASETS) + IMAGE_SOURCES + ("csv", "npz")
_KEYS = ("source", "path", "options", "target", "x_key", "y_key", "limit", "val_limit",
         "validation", "preprocessing")


@dataclass
class LoadedData:
    """Raw training (and validation) arrays and what is known about the labels."""

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    val_name: str = "validation"
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    target: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


def validate_data(d: Any, base_dir: Path, path: str = "data") -> dict[str, Any]:
    """Check the ``data:`` section; returns it with defaults and absolute paths."""
    if isinstance(d, str):
        d = {"source": d}
    d = as_mapping(d, path)
    check_keys(d, path, _KEYS, ("source",))
    src = as_choice(d["source"], f"{path}.source", SOURCES, "data source")
    image = src in IMAGE_SOURCES
    out: dict[str, Any] = {"source": src}
    p = d.get("path")
    if src in ("csv", "npz") and p is None:
        raise ConfigError(f"{path}.path", f"missing (required for source {src})")
    if p is not None:
        full = Path(as_str(p, f"{path}.path")).expanduser()
        full = full if full.is_absolute() else (base_dir / full)
        if not full.exists():
            raise ConfigError(f"{path}.path", f"no such file or directory: {full}")
        out["path"] = str(full.resolve())
    if src in BUILTIN_DATASETS:
        opts = as_mapping(d.get("options"), f"{path}.options")
        params = [k for k in inspect.signature(BUILTIN_DATASETS[src].loader).parameters
                  if k not in ("dtype", "return_coef")]
        check_keys(opts, f"{path}.options", params)
        out["options"] = opts
    elif d.get("options") is not None:
        raise ConfigError(f"{path}.options", f"only for built-in datasets, not {src}")
    if src == "csv":
        t = d.get("target", -1)
        if not isinstance(t, int | str) or isinstance(t, bool):
            raise ConfigError(f"{path}.target", f"expected a column name or index, got {show(t)}")
        out["target"] = t
    if src == "npz":
        out["x_key"] = as_str(d.get("x_key", "X"), f"{path}.x_key")
        out["y_key"] = as_str(d.get("y_key", "y"), f"{path}.y_key")
    for k in ("limit", "val_limit"):
        out[k] = None if d.get(k) is None else as_int(d[k], f"{path}.{k}")
    v = d.get("validation", "test" if image else None)
    if v is not None and v != "test":
        v = as_float(v, f"{path}.validation", 0.0, 1.0, True, True,
                     what="'test' or a fraction in (0, 1)")
    if v == "test" and not image:
        raise ConfigError(f"{path}.validation", f"{src} has no test split; use a fraction "
                          "such as 0.2")
    out["validation"] = v
    pre = as_mapping(d.get("preprocessing"), f"{path}.preprocessing")
    check_keys(pre, f"{path}.preprocessing", ("scale", "layout", "standardize"))
    scale = pre.get("scale", 255 if image else None)
    out["preprocessing"] = {
        "scale": None if scale is None else as_float(scale, f"{path}.preprocessing.scale",
                                                     0.0, low_open=True),
        "layout": as_choice(pre.get("layout", "flat" if image else "none"),
                            f"{path}.preprocessing.layout", LAYOUTS, "layout"),
        "standardize": as_bool(pre.get("standardize", False),
                               f"{path}.preprocessing.standardize"),
    }
    return out


def _file_dataset(name: str, split: str, directory: str | None) -> tuple[Any, ...]:
    """(X, y, class_names) of a file dataset's split."""
    if name == "catvnoncat":
        tx, ty, vx, vy, classes = load_catvnoncat(directory)
        return (tx, ty, list(classes)) if split == "train" else (vx, vy, list(classes))
    loader = load_mnist if name == "mnist" else load_fashion_mnist
    X, y = loader(directory, kind=split)
    names = ([str(i) for i in range(10)] if name == "mnist" else list(FASHION_MNIST_CLASSES))
    return X, y.astype(np.int64), names


def _take(a: np.ndarray | None, n: int | None) -> np.ndarray | None:
    return a if a is None or n is None else a[:n]


def load_training_data(cfg: dict[str, Any], seed: int | None) -> LoadedData:
    """Read (or generate) the configured data and split off validation data."""
    src = cfg["source"]
    out = LoadedData(np.empty(0), np.empty(0))
    if src in BUILTIN_DATASETS:
        X, y = BUILTIN_DATASETS[src].loader(**cfg["options"], dtype=np.float64)[:2]
    elif src in IMAGE_SOURCES:
        X, y, out.class_names = _file_dataset(src, "train", cfg.get("path"))
        if cfg["validation"] == "test":
            out.X_val, out.y_val, _ = _file_dataset(src, "test", cfg.get("path"))
            out.val_name = "test"
    elif src == "csv":
        t = load_csv(cfg["path"], target=cfg["target"], dtype=np.float64)
        X, y, out.feature_names, out.class_names, out.target = t
    else:
        X, y = load_npz(cfg["path"], cfg["x_key"], cfg["y_key"])
    X, y = _take(X, cfg["limit"]), _take(y, cfg["limit"])
    if len(X) == 0:
        where = cfg.get("path") or src
        raise CLIError(f"data: {where}: the training data has no examples (0 rows)")
    if isinstance(cfg["validation"], float):
        stratify = y if y.dtype.kind in "iu" else None
        try:
            X, out.X_val, y, out.y_val = train_test_split(
                X, y, test_size=cfg["validation"], seed=seed, stratify=stratify)
        except ValueError:
            X, out.X_val, y, out.y_val = train_test_split(
                X, y, test_size=cfg["validation"], seed=seed)
    out.X_val, out.y_val = _take(out.X_val, cfg["val_limit"]), _take(out.y_val, cfg["val_limit"])
    out.X, out.y = X, y
    return out


def _csv_reference(path: Path, meta: dict[str, Any]) -> tuple[Any, Any, Any]:
    """A CSV with the target column (by name) when present, else features only."""
    target = (meta.get("data") or {}).get("target")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [[c.strip() for c in r] for r in csv.reader(f) if any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as e:
        raise CLIError(f"{path}: not a readable CSV text file ({e})") from e
    if len(rows) < 2:
        raise CLIError(f"{path}: no data rows (expected a header row, then one row per example)")
    if isinstance(target, str) and target in rows[0]:
        t = load_csv(path, target=target, dtype=np.float64)
        return t.X, t.y, t.classes
    for k, r in enumerate(rows[1:], start=2):
        if len(r) != len(rows[0]):
            raise CLIError(f"{path}, row {k}: {len(r)} fields, expected {len(rows[0])}")
    try:
        X = np.array(rows[1:], dtype=str).astype(np.float64)
    except ValueError as e:
        raise CLIError(f"{path}: non-numeric feature value ({e})") from None
    return X, None, None


def _h5_reference(path: Path) -> tuple[Any, Any, Any]:
    try:
        import h5py  # noqa: PLC0415 - optional, only for HDF5 files
    except ImportError as e:
        raise CLIError("reading HDF5 files needs h5py: pip install 'deepgrad[data]'") from e
    try:
        with h5py.File(path, "r") as f:
            keys = list(f.keys())
            xk = next((k for k in keys if k.lower().endswith("_x") or k in ("X", "x")), None)
            yk = next((k for k in keys if k.lower().endswith("_y") or k == "y"), None)
            if xk is None:
                raise CLIError(f"{path}: no dataset named X or *_x; the file holds {keys}")
            X = np.array(f[xk])
            y = None if yk is None else np.array(f[yk]).reshape(-1).astype(np.int64)
            classes = ([c.decode() if isinstance(c, bytes) else str(c)
                        for c in np.array(f["list_classes"]).tolist()]
                       if "list_classes" in f else None)
    except OSError as e:
        raise CLIError(f"{path}: not a readable HDF5 file ({e})") from e
    return X, y, classes


def _idx_reference(path: Path) -> tuple[Any, Any, Any]:
    X = read_idx(path)
    lab = path.with_name(path.name.replace("images-idx3", "labels-idx1")
                         .replace("images.idx3", "labels.idx1"))
    y = read_idx(lab).astype(np.int64) if lab != path and lab.exists() else None
    return X, y, None


def load_reference(ref: str, meta: dict[str, Any], data_dir: str | None = None
                   ) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """Raw ``(X, y or None, class names in the file or None)`` for a DATA argument."""
    p = Path(ref).expanduser()
    if p.is_file():
        suffix = "".join(p.suffixes[-2:]).lower()
        if p.suffix.lower() == ".csv":
            return _csv_reference(p, meta)
        if p.suffix.lower() == ".npz":
            d = meta.get("data") or {}
            xk, yk = d.get("x_key", "X"), d.get("y_key", "y")
            try:
                return (*load_npz(p, xk, yk), None)
            except ValueError as e:
                if f"no array named {yk!r}" not in str(e):
                    raise
                return load_npz(p, xk, None)[0], None, None
        if p.suffix.lower() in (".h5", ".hdf5"):
            return _h5_reference(p)
        if "idx" in p.name or suffix.endswith("ubyte.gz"):
            return _idx_reference(p)
        raise CLIError(f"{ref}: unknown file type (expected .csv, .npz, .h5 or an IDX file)")
    name, _, split = ref.partition(":")
    name = name.lower()
    if name in IMAGE_SOURCES:
        split = split or "test"
        if split not in ("train", "test"):
            raise CLIError(f"{ref}: unknown split {split!r}; use {name}:train or {name}:test")
        return _file_dataset(name, split, data_dir)
    if name in BUILTIN_DATASETS and not split:
        d = meta.get("data") or {}
        opts = d.get("options", {}) if d.get("source") == name else {}
        X, y = BUILTIN_DATASETS[name].loader(**opts, dtype=np.float64)[:2]
        return X, y, None
    if os.sep in ref or "." in ref:
        raise CLIError(f"{ref}: no such file")
    valid = ", ".join([*BUILTIN_DATASETS, *(f"{n}[:train|:test]" for n in IMAGE_SOURCES)])
    raise CLIError(f"{ref}: no such file, and not a dataset name; valid names: {valid}")

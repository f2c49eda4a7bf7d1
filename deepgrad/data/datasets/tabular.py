"""Tabular files: CSV with numeric features and a target column, and NumPy ``.npz`` archives."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ...backend import get_default_dtype
from ..preprocessing import encode_labels

__all__ = ["TabularData", "load_csv", "load_npz"]


class TabularData(NamedTuple):
    """What :func:`load_csv` returns; unpacks as ``X, y, feature_names, classes, target``.

    ``classes`` is the list of class names when the target was categorical (``y`` holds
    codes into it), else None.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    classes: list[str] | None
    target: str


def _read_rows(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, delimiter=delimiter)
            rows = []
            for row in reader:
                if row and any(c.strip() for c in row):
                    rows.append((reader.line_num, [c.strip() for c in row]))
            return rows
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path}: not a readable CSV text file ({e})") from e


def _target_index(path: Path, target: int | str, names: list[str], header: bool) -> int:
    if isinstance(target, str):
        if not header:
            raise ValueError(
                f"{path}: target={target!r} is a column name but header=False; "
                f"pass the column index instead"
            )
        if target not in names:
            raise ValueError(f"{path}: no target column {target!r}; the columns are {names}")
        return names.index(target)
    n = len(names)
    if isinstance(target, bool) or not -n <= int(target) < n:
        raise ValueError(f"{path}: target column index {target!r} is out of range for {n} columns")
    return int(target) % n


def _parse_features(path: Path, rows: list[tuple[int, list[str]]], cols: list[int],
                    names: list[str], dtype: np.dtype) -> np.ndarray:
    cells = np.array([[r[c] for c in cols] for _, r in rows], dtype=str).reshape(len(rows), -1)
    try:
        return cells.astype(np.float64).astype(dtype)
    except ValueError:
        pass
    for (line, r) in rows:  # error path only: find the first bad cell to name it
        for c in cols:
            try:
                float(r[c])
            except ValueError:
                raise ValueError(
                    f"{path}, line {line}, column {names[c]!r}: non-numeric feature value "
                    f"{r[c]!r} (features must be numbers; use it as the target or drop it)"
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def load_csv(
    path: str | os.PathLike,
    target: int | str = -1,
    delimiter: str = ",",
    header: bool = True,
    dtype: Any = None,
) -> TabularData:
    """Read a CSV of numeric feature columns and one target column.

    A target whose values are all numbers is kept numeric (int64 if all are whole numbers,
    else float64); otherwise it is categorical and encoded as codes into the sorted
    class list, which is returned in ``classes``.

    Args:
        path: the CSV file.
        target: the target column's name (needs a header) or index (negative counts back).
        delimiter: field separator.
        header: the first non-empty row holds column names.
        dtype: float dtype of X (default: the default float dtype).

    Returns:
        ``TabularData(X, y, feature_names, classes, target)``.

    Raises:
        ValueError: naming the file, line and column, for a non-numeric feature value,
            a row with the wrong number of fields, or a missing target column.

    Shape:
        X: (m, columns - 1); y: (m,).
    """
    path = Path(path)
    rows = _read_rows(path, delimiter)
    if header:
        if not rows:
            raise ValueError(f"{path}: the file is empty (no header row)")
        names = rows.pop(0)[1]
    else:
        names = [f"x{k}" for k in range(len(rows[0][1]))] if rows else []
    if not rows:
        raise ValueError(f"{path}: no data rows")
    for line, r in rows:
        if len(r) != len(names):
            raise ValueError(
                f"{path}, line {line}: {len(r)} fields, expected {len(names)} "
                f"(as in the {'header' if header else 'first row'})"
            )
    t = _target_index(path, target, names, header)
    cols = [c for c in range(len(names)) if c != t]
    X = _parse_features(path, rows, cols, names, np.dtype(dtype or get_default_dtype()))
    raw = np.array([r[t] for _, r in rows], dtype=str)
    classes = None
    try:
        y = raw.astype(np.float64)
        if np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
    except ValueError:
        empty = [line for line, r in rows if r[t] == ""]
        if empty:
            raise ValueError(
                f"{path}, line {empty[0]}, column {names[t]!r}: missing target value"
            ) from None
        y, cls = encode_labels(raw)
        classes = [str(c) for c in cls]
    return TabularData(X, y, [names[c] for c in cols], classes, names[t])


def load_npz(
    path: str | os.PathLike, x_key: str = "X", y_key: str | None = "y"
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read features and labels from a NumPy ``.npz`` archive (never unpickles).

    Args:
        path: the ``.npz`` file.
        x_key: name of the features array.
        y_key: name of the labels array, or None for features only (y is then None).

    Returns:
        ``(X, y)`` as stored.

    Raises:
        ValueError: naming the file, for a missing key, an unreadable archive, object
            arrays, or X and y of different lengths.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError(f"{path}: a single .npy array, not an .npz archive of named arrays")
        with z:
            keys = sorted(z.files)
            wanted = [k for k in (x_key, y_key) if k is not None]
            missing = [k for k in wanted if k not in keys]
            if missing:
                raise ValueError(f"{path}: no array named {missing[0]!r}; the file holds {keys}")
            X = z[x_key]
            y = z[y_key] if y_key is not None else None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{path}: not a readable .npz archive ({e})") from e
    except ValueError as e:
        if str(path) in str(e):
            raise
        raise ValueError(f"{path}: cannot load ({e})") from e
    if y is not None and (X.ndim == 0 or y.ndim == 0 or len(X) != len(y)):
        raise ValueError(
            f"{path}: {x_key!r} has shape {X.shape} but {y_key!r} has shape {y.shape}: "
            f"they must have the same number of examples"
        )
    return X, y

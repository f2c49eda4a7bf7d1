"""One listing of every dataset deepgrad knows, for ``deepgrad datasets``."""

from __future__ import annotations

from typing import NamedTuple

from ._paths import candidate_dirs, find_files
from .files import _CAT_FILES, FILE_DATASETS, _idx_wanted
from .synthetic import BUILTIN_DATASETS

__all__ = ["DatasetRow", "describe_datasets"]


class DatasetRow(NamedTuple):
    """One dataset: its name, kind ("builtin" or "file"), description and location."""

    name: str
    kind: str
    description: str
    location: str


def _location(name: str) -> str:
    wanted = _CAT_FILES if name == "catvnoncat" else _idx_wanted(name, "train")
    found = find_files(name, wanted)
    if found is not None:
        return f"found in {next(iter(found.values())).parent}"
    return "not found; looks in " + ", ".join(str(d) for d in candidate_dirs(name))


def describe_datasets() -> list[DatasetRow]:
    """Rows for every built-in (generated) and file dataset, with where the files are.

    Nothing is read or downloaded: file datasets only check which directory holds them.
    """
    rows = [
        DatasetRow(name, "builtin", entry.description, "generated (no files)")
        for name, entry in BUILTIN_DATASETS.items()
    ]
    rows += [
        DatasetRow(name, "file", desc, _location(name)) for name, desc in FILE_DATASETS.items()
    ]
    return rows

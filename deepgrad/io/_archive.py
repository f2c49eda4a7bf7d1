"""Reading a .dg file defensively: every size is checked before anything is allocated.

A .dg file is a zip of ``manifest.json`` and ``.npy`` arrays. Only the entries the manifest
names are opened; an array's npy header (shape, dtype) is read and checked against the zip
entry's size before its data is, and the arrays together may not expand beyond a small
multiple of the file (a zip bomb). The zip directory and the manifest have size limits too.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Archive", "ArrayEntry", "FORMAT", "FORMAT_VERSION", "MANIFEST"]

FORMAT = "deepgrad-model"
# The newest version this deepgrad reads. 1: models. 2: adds state dicts ("kind"); model
# files are still written as version 1, so older deepgrad reads them.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"

MAX_ENTRIES = 100_000  # one per weight and per optimizer array: far beyond real models
MAX_DIRECTORY_BYTES = 16 << 20  # zipfile keeps ~10 times this in memory
MAX_MANIFEST_BYTES = 32 << 20
MAX_EXPANSION = 64  # compressed arrays may expand to this many times the file's size...
EXPANSION_ALLOWANCE = 64 << 20  # ...plus this many bytes

_EOCD, _EOCD64, _LOCATOR64 = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_LOW_LEVEL = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
              UnicodeDecodeError, json.JSONDecodeError, RecursionError)


class ArrayEntry(NamedTuple):
    """A stored array, known from its npy header: nothing of its data is read yet."""

    name: str  # without ".npy"
    shape: tuple[int, ...]
    dtype: np.dtype
    info: zipfile.ZipInfo


def _directory_hint(path: str) -> str:
    """Where the model in directory ``path`` is (a run directory holds ``model.dg``)."""
    if os.path.isfile(os.path.join(path, "model.dg")):
        return f" (the model is {os.path.join(path, 'model.dg')})"
    try:
        found = sorted(n for n in os.listdir(path) if n.endswith(".dg"))
    except OSError:
        return ""
    return f" (it holds {', '.join(found[:3])}{', ...' if len(found) > 3 else ''})" if found else ""


def _zip_directory_size(f: Any, path: str) -> tuple[int, int, int]:
    """(file size, entries, directory bytes) from the end records, before zipfile parses."""
    size = f.seek(0, os.SEEK_END)
    if size == 0:
        raise ValueError(f"{path}: not a deepgrad model file (the file is empty)")
    f.seek(max(0, size - 22 - 0xFFFF))
    tail = f.read()
    i = tail.rfind(_EOCD)
    if i < 0 or len(tail) - i < 22:
        f.seek(0)
        if f.read(4) != b"PK\x03\x04":
            raise ValueError(f"{path}: not a deepgrad model file (not a zip archive)")
        raise ValueError(f"{path}: truncated or corrupt model file (no zip directory at its end)")
    entries, directory = struct.unpack("<HI", tail[i + 10 : i + 16])
    if entries == 0xFFFF or directory == 0xFFFFFFFF:  # zip64: the counts are elsewhere
        locator = tail[i - 20 : i] if i >= 20 else b""
        record = b""
        if locator[:4] == _LOCATOR64:
            f.seek(struct.unpack("<Q", locator[8:16])[0])
            record = f.read(56)
        if record[:4] != _EOCD64 or len(record) < 48:
            raise ValueError(f"{path}: truncated or corrupt model file (bad zip64 directory)")
        entries, directory = struct.unpack("<QQ", record[32:48])
    return size, entries, directory


class Archive:
    """An open .dg file: its checked manifest, and its arrays read on demand.

    Raises (at opening):
        FileNotFoundError, IsADirectoryError: the path is missing or a directory.
        ValueError: starting with the path, for anything else wrong.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        if os.path.isdir(path):
            raise IsADirectoryError(f"{path}: is a directory, not a model file"
                                    + _directory_hint(path))
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such model file")
        self._file = open(path, "rb")  # closed by close()
        try:
            with self.checking():
                self.size, entries, directory = _zip_directory_size(self._file, path)
                self._check_directory(entries, directory)
                self.zip = zipfile.ZipFile(self._file)
                self._check_directory(len(self.zip.filelist), directory)
            self.manifest = self._read_manifest()
        except BaseException:
            self.close()
            raise
        self.kind = self.manifest.get("kind", "model")
        if self.kind not in ("model", "state_dict"):
            self.close()
            raise ValueError(f"{path}: not a deepgrad model file (unknown kind {self.kind!r})")

    def _check_directory(self, entries: int, directory: int) -> None:
        if entries > MAX_ENTRIES or directory > MAX_DIRECTORY_BYTES:
            raise ValueError(f"{self.path}: not a deepgrad model file (its zip directory lists "
                             f"{entries:,} entries in {directory:,} bytes; the limits are "
                             f"{MAX_ENTRIES:,} and {MAX_DIRECTORY_BYTES:,})")

    def close(self) -> None:
        """Close the file."""
        if getattr(self, "zip", None) is not None:
            self.zip.close()
        self._file.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextlib.contextmanager
    def checking(self, entry: str | None = None) -> Iterator[None]:
        """Turn low-level failures into one ``ValueError`` starting with the path."""
        where = f"entry {entry}: " if entry else ""
        try:
            yield
        except zipfile.BadZipFile as e:
            if entry:
                raise ValueError(f"{self.path}: corrupt model file ({where}{e})") from e
            raise ValueError(f"{self.path}: not a deepgrad model file, or truncated/corrupt "
                             f"({e})") from e
        except _LOW_LEVEL as e:
            raise ValueError(f"{self.path}: corrupt model file ({where}"
                             f"{type(e).__name__}: {e})") from e
        except ValueError as e:
            if str(e).startswith(self.path):
                raise
            raise ValueError(f"{self.path}: corrupt model file ({where}{e})") from e

    def _read_manifest(self) -> dict[str, Any]:
        path = self.path
        try:
            info = self.zip.getinfo(MANIFEST)
        except KeyError:
            raise ValueError(f"{path}: not a deepgrad model file (no manifest)") from None
        if info.file_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"{path}: corrupt model file (its manifest is {info.file_size:,} "
                             f"bytes, more than the {MAX_MANIFEST_BYTES:,} allowed)")
        with self.checking(MANIFEST), self.zip.open(info) as f:
            manifest = json.loads(f.read(MAX_MANIFEST_BYTES + 1).decode())
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"{path}: not a deepgrad model file")
        version = manifest.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(f"{path}: format version {version} is newer than this deepgrad "
                             f"reads (up to {FORMAT_VERSION}); upgrade deepgrad")
        return manifest

    def _header(self, name: str) -> ArrayEntry | None:
        try:
            info = self.zip.getinfo(f"{name}.npy")
        except KeyError:
            return None
        with self.checking(info.filename), self.zip.open(info) as f:
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise ValueError(f"its sizes disagree ({info.compress_size:,} stored, "
                                 f"{info.file_size:,} declared)")
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"unsupported .npy version {version}")
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(f)
            if dtype.hasobject or dtype.kind not in "biufc":
                raise ValueError(f"its dtype is {dtype}, not numbers (deepgrad files never "
                                 "hold Python objects)")
            nbytes = math.prod(shape) * dtype.itemsize
            held = info.file_size - f.tell()
            if nbytes != held:
                raise ValueError(f"its header declares shape {shape} {dtype} ({nbytes:,} "
                                 f"bytes) but the entry holds {held:,} bytes")
        return ArrayEntry(name, tuple(int(n) for n in shape), dtype, info)

    def headers(self, names: Iterable[str]) -> dict[str, ArrayEntry]:
        """The headers of the arrays ``names`` (zip entries ``name + ".npy"``) that exist.

        Raises:
            ValueError: for a bad header, or arrays that would expand beyond
                ``MAX_EXPANSION`` times the file's size (plus ``EXPANSION_ALLOWANCE``).
        """
        found = {}
        for name in dict.fromkeys(names):
            entry = self._header(name)
            if entry is not None:
                found[name] = entry
        total = sum(e.info.file_size for e in found.values())
        if total > MAX_EXPANSION * self.size + EXPANSION_ALLOWANCE:
            biggest = max(found.values(), key=lambda e: e.info.file_size)
            raise ValueError(f"{self.path}: corrupt model file (its arrays would expand to "
                             f"{total:,} bytes from a {self.size:,}-byte file, "
                             f"{biggest.info.file_size:,} of them in {biggest.info.filename}; "
                             "refusing a likely zip bomb)")
        return found

    def read(self, entry: ArrayEntry) -> np.ndarray:
        """The array's data (the header was checked by :meth:`headers`)."""
        with self.checking(entry.info.filename), self.zip.open(entry.info) as f:
            a = np.lib.format.read_array(f, allow_pickle=False)
            if a.shape != entry.shape or a.dtype != entry.dtype:
                raise ValueError("the entry changed while it was read")
        return a

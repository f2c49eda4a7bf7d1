"""Where file datasets are looked for, and the optional verified download."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from ..._fileio import atomic_open

__all__ = ["data_root", "cache_dir", "candidate_dirs", "find_files", "download_file", "sha256"]

ENV_DATA = "DEEPGRAD_DATA"
ENV_CACHE = "DEEPGRAD_CACHE"


def data_root() -> Path | None:
    """The data root from ``$DEEPGRAD_DATA`` (laid out as ``mnist/``, ``catvnoncat/``...)."""
    root = os.environ.get(ENV_DATA)
    return Path(root).expanduser() if root else None


def cache_dir(name: str) -> Path:
    """``$DEEPGRAD_CACHE/<name>``, else ``~/.cache/deepgrad/<name>``."""
    base = os.environ.get(ENV_CACHE)
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "deepgrad"
    return root / name


def candidate_dirs(name: str, path: str | os.PathLike | None = None) -> list[Path]:
    """Directories searched, in order: ``path`` alone if given, else data root then cache."""
    if path is not None:
        return [Path(path).expanduser()]
    dirs = []
    root = data_root()
    if root is not None:
        dirs.append(root / name)
    dirs.append(cache_dir(name))
    return dirs


def _first_existing(d: Path, alternatives: Sequence[str]) -> Path | None:
    for fname in alternatives:
        if (d / fname).is_file():
            return d / fname
    return None


def find_files(
    name: str, wanted: dict[str, Sequence[str]], path: str | os.PathLike | None = None
) -> dict[str, Path] | None:
    """The first candidate directory holding every wanted file (key -> accepted file names)."""
    for d in candidate_dirs(name, path):
        found = {k: _first_existing(d, alts) for k, alts in wanted.items()}
        if all(found.values()):
            return found  # type: ignore[return-value]
    return None


def missing_files_error(
    name: str, wanted: dict[str, Sequence[str]], path: str | os.PathLike | None, hint: str = ""
) -> FileNotFoundError:
    """A FileNotFoundError listing the files, the directories searched and how to fix it."""
    files = ", ".join(alts[0] for alts in wanted.values())
    looked = "\n".join(f"  - {d}" for d in candidate_dirs(name, path))
    fix = (
        f"pass path=<directory holding the files>, or set {ENV_DATA} to a data root with a "
        f"'{name}/' folder, or put them in {cache_dir(name)}"
    )
    return FileNotFoundError(
        f"{name} files not found ({files}); looked in:\n{looked}\nTo fix: {fix}{hint}"
    )


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_file(
    urls: Sequence[str], dest: Path, expected_sha256: str, timeout: float = 60.0
) -> Path:
    """Download ``dest`` from the first URL that works, verify SHA-256, write atomically.

    The bytes go to a temporary file in ``dest``'s directory, which replaces ``dest``
    (``os.replace``) only after the checksum matched.

    Raises:
        ConnectionError: no URL could be fetched (offline, or all mirrors down).
        ValueError: the downloaded bytes have the wrong SHA-256.
    """
    import urllib.error  # noqa: PLC0415 - lazy: http/ssl/email cost ~40 ms at import
    import urllib.request  # noqa: PLC0415

    errors = []
    for url in urls:
        try:
            # dest is replaced only when the block ends without error (checksum matched)
            with atomic_open(dest, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as r:
                h = hashlib.sha256()
                for chunk in iter(lambda: r.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
                if h.hexdigest() != expected_sha256:
                    raise ValueError(
                        f"downloaded {url} has SHA-256 {h.hexdigest()}, expected "
                        f"{expected_sha256}: the file is corrupt or has changed; {dest} was "
                        "not written"
                    )
            return dest
        except (urllib.error.URLError, OSError) as e:
            errors.append(f"{url}: {e}")
    raise ConnectionError(
        f"could not download {dest.name} (are you offline?):\n  "
        + "\n  ".join(errors)
        + f"\nDownload it by hand into {dest.parent}, or set {ENV_DATA} to a data root."
    )

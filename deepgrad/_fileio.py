"""Atomic file writes: a temporary file in the destination's directory, fsync, rename.

A crash or an error while writing leaves the previous file (if any) intact and no
temporary behind. The new file keeps the old one's permissions, or gets the usual ones
(0666 minus the umask) when it is new.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open"]


def _final_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the block ends without error.

    Args:
        path: the file to write; its directory is created.
        mode: "wb" or "w"; ``kwargs`` go to ``open`` (e.g. ``encoding="utf-8"``).

    Example:
        >>> with atomic_open("out/history.csv", "w", encoding="utf-8") as f:
        ...     f.write(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

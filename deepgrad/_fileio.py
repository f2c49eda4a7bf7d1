"""Atomic file writes: a temporary file in the destination's directory, fsync, rename.

A crash or an error while writing leaves the previous file (if any) intact and no
temporary behind. The new file keeps the old one's permissions, or gets the usual ones
(0666 minus the umask) when it is new.

A process killed outright (SIGKILL, power loss) can't remove its temporary, so each
temporary's name records who wrote it, ``.<name>.<pid>@<host>.<random>.tmp``: the next
write to the same file removes those whose process is gone (:func:`remove_stale_temporaries`
does it for a whole directory).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "temp_prefix", "remove_stale_temporaries", "stale_owner", "pid_alive"]

# Temporaries written before names recorded their process: ``.<name>.<8 chars>.tmp``.
# They are removed once they are this old (no live write leaves a file untouched so long).
LEGACY_STALE_AFTER_S = 3600.0
_TAGGED = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)@(?P<host>[A-Za-z0-9-]*)\.[^.]+\.tmp$")
_LEGACY = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40]


def temp_prefix(name: str) -> str:
    """The prefix of this process's temporaries for a file or directory called ``name``."""
    return f".{name}.{os.getpid()}@{_host()}."


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def stale_owner(entry: Path, legacy_names: Collection[str] = (),
                now: float | None = None) -> int | None:
    """The pid of the dead process that left temporary ``entry`` (0 if unknown), or None
    when ``entry`` is not a stale temporary (a live writer's, another host's, or no temp).

    Temporaries named the old way (no pid) count only for files in ``legacy_names``, and
    only once they are an hour old.
    """
    m = _TAGGED.match(entry.name)
    if m is not None:
        if m["host"] != _host() or pid_alive(int(m["pid"])):
            return None
        return int(m["pid"])
    m = _LEGACY.match(entry.name)
    if m and m["name"] in legacy_names and entry.is_file() and not entry.is_symlink():
        age = (time.time() if now is None else now) - entry.stat().st_mtime
        return 0 if age > LEGACY_STALE_AFTER_S else None
    return None


def remove_stale_temporaries(directory: str | os.PathLike[str],
                             names: Collection[str] | None = None) -> list[tuple[Path, int]]:
    """Remove temporaries in ``directory`` left by killed writers; returns what was removed.

    Args:
        directory: where to look (not recursive); a missing directory has none.
        names: only the temporaries of these file or directory names (when None, every
            temporary whose name records its writer).

    Returns:
        ``(path, bytes freed)`` for each removed temporary file or directory.
    """
    directory = Path(directory)
    removed: list[tuple[Path, int]] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for e in entries:
        if not (e.name.startswith(".") and e.name.endswith(".tmp")):
            continue
        if names is not None and not any(e.name.startswith(f".{n}.") for n in names):
            continue
        path = Path(e.path)
        try:
            if stale_owner(path, names or ()) is None:
                continue
            size = _size(path)
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        removed.append((path, size))
    return removed


def _size(path: Path) -> int:
    if not path.is_dir() or path.is_symlink():
        return path.lstat().st_size
    return sum(f.lstat().st_size for f in path.rglob("*") if not f.is_dir())


def _final_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the block ends without error.

    Temporaries of ``path`` left by killed processes are removed first.

    Args:
        path: the file to write; its directory is created.
        mode: "wb" or "w"; ``kwargs`` go to ``open`` (e.g. ``encoding="utf-8"``).

    Example:
        >>> with atomic_open("out/history.csv", "w", encoding="utf-8") as f:
        ...     f.write(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, (path.name,))
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
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

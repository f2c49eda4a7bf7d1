"""Output directories of ``deepgrad train``: every run gets a directory of its own.

- Default: ``runs/<name>-<YYYYmmdd-HHMMSS>``, claimed with an exclusive ``mkdir``; a run
  started in the same second (even in parallel) gets ``-2``, ``-3``, ... appended.
- ``--out DIR``: DIR must be new or empty; it is claimed with an exclusive lock file, so
  two runs can't share it. A non-empty DIR is refused unless ``--overwrite``.
- ``--overwrite``: the run writes into a temporary sibling of DIR and only when it is done
  swaps it into place, so DIR always holds one run's complete files, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from .._fileio import pid_alive, remove_stale_temporaries, temp_prefix
from .errors import CLIError

__all__ = ["RunDir", "check_run_name", "claim_default", "claim_out", "clean_stale", "LOCK_NAME"]

LOCK_NAME = ".deepgrad-run.lock"
RUN_FILES = ("model.dg", "checkpoint.dg", "history.csv", "config.yaml", "config.json",
             "learning_curve.png", "decision_boundary.png")
_MAX_SUFFIX = 10_000
_BAD_NAME = re.compile(r"[\x00-\x1f/\\]")


def check_run_name(name: str, path: str = "name") -> str:
    """``name`` if it is a plain name usable as a directory name, else CLIError."""
    if (not name or name in (".", "..") or _BAD_NAME.search(name) or name.startswith("-")
            or len(name) > 100):
        raise CLIError(f"{path}: a run name must be a plain name (no path separators, "
                       f"not '.' or '..', at most 100 characters), got {name!r}")
    return name


class RunDir:
    """A claimed output directory: ``path`` is where the run writes now; ``final`` where
    its files end up (they differ only with ``--overwrite``)."""

    def __init__(self, path: Path, final: Path, lock: Path | None = None,
                 created: bool = True) -> None:
        self.path, self.final, self.lock, self.created = path, final, lock, created

    def commit(self) -> None:
        """Release the claim; with ``--overwrite`` swap the new files into place."""
        if self.lock is not None:
            with contextlib.suppress(OSError):
                self.lock.unlink()
        if self.path != self.final:
            _swap_into_place(self.path, self.final)

    def abandon(self) -> None:
        """The run failed: remove what it wrote if nothing worth keeping is there."""
        if self.lock is not None:
            with contextlib.suppress(OSError):
                self.lock.unlink()
        if self.path != self.final:
            shutil.rmtree(self.path, ignore_errors=True)
        elif self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only when empty


def claim_default(name: str, root: Path = Path("runs"), now: datetime | None = None) -> RunDir:
    """A new directory ``root/<name>-<time>[-k]``, created exclusively."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    for k in range(1, _MAX_SUFFIX):
        path = root / (f"{name}-{stamp}" if k == 1 else f"{name}-{stamp}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return RunDir(path, path)
    raise CLIError(f"{root}: could not create a new run directory for {name!r}")


def claim_out(out: Path, overwrite: bool) -> RunDir:
    """Claim ``--out`` (see the module docstring).

    Raises:
        CLIError: DIR is a file, holds files (without ``overwrite``), or another run is
            writing into it.
    """
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out}: exists and is not a directory")
    if overwrite:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out.name), suffix=".tmp",
                                    dir=out.parent))
        return RunDir(tmp, out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_NAME
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise CLIError(_locked_message(out, lock)) from None
    with os.fdopen(fd, "w") as f:
        f.write(f"{os.getpid()}\n")
    others = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)
    if others:
        lock.unlink()
        shown = ", ".join(others[:4]) + (", ..." if len(others) > 4 else "")
        raise CLIError(f"--out {out}: the directory already holds files ({shown}); choose "
                       "another --out, or pass --overwrite to replace them")
    return RunDir(out, out, lock, created)


def _locked_message(out: Path, lock: Path) -> str:
    try:
        pid = int(lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = 0
    if pid and not pid_alive(pid):
        return (f"--out {out}: holds the files of a run that was killed (pid {pid}); pass "
                "--overwrite to replace them, or choose another --out")
    return (f"--out {out}: another deepgrad train run is writing into it ({lock} exists); "
            "choose another --out")


def _swap_into_place(new: Path, final: Path) -> None:
    """Rename ``new`` to ``final``, moving an existing ``final`` aside and deleting it.

    Each rename moves a whole directory, so ``final`` holds one run's files at any time
    (with runs finishing together, the last one wins).
    """
    for _ in range(100):
        try:
            os.rename(new, final)  # fails when final exists and is not empty
            return
        except OSError:
            if not final.exists():
                continue  # someone moved it aside meanwhile: try again
        old = Path(tempfile.mkdtemp(prefix=temp_prefix(final.name), suffix=".tmp",
                                    dir=final.parent))
        try:
            os.replace(final, old)  # an empty directory at ``old`` is replaced
        except FileNotFoundError:
            old.rmdir()
            continue
        except OSError as e:
            old.rmdir()
            raise CLIError(f"--out {final}: cannot move the previous run aside ({e}); "
                           f"this run's files are in {new}") from None
        try:
            os.rename(new, final)
            return
        except OSError:
            continue  # another run took the place meanwhile: move it aside in turn
        finally:
            shutil.rmtree(old, ignore_errors=True)
    raise CLIError(f"--out {final}: other runs keep replacing it; this run's files are "
                   f"in {new}")


def clean_stale(run: RunDir, scan_siblings: bool) -> list[tuple[Path, int]]:
    """Remove temporaries left by killed runs: ``--overwrite`` directories of this output
    next to it, files being written inside it and, with ``scan_siblings`` (the default
    ``runs/`` root), inside the other run directories there."""
    final = run.final
    removed = remove_stale_temporaries(final.parent, (final.name,))
    dirs = [final] if final.is_dir() else []
    if scan_siblings:
        with contextlib.suppress(OSError):
            dirs = [p for p in final.parent.iterdir()
                    if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    for d in dirs:
        removed += remove_stale_temporaries(d, RUN_FILES)
    return removed

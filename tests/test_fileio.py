"""atomic_open: the target appears only on success, keeps its permissions, no temp left;
temporaries of killed writers are cleaned up."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from deepgrad._fileio import atomic_open, remove_stale_temporaries, temp_prefix


def test_writes_and_gives_normal_permissions(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write("hello")
    assert path.read_text() == "hello"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    os.chmod(path, 0o600)
    with atomic_open(path, "wb") as f:
        f.write(b"again")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # an existing file keeps its mode


def test_error_keeps_previous_file_and_no_temp(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_open(path) as f:
        f.write(b"half")
        raise RuntimeError("boom")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def _killed_writer(path):
    """Run a process that dies by SIGKILL in the middle of an atomic write of ``path``."""
    code = ("import os, signal, sys\n"
            "from deepgrad._fileio import atomic_open\n"
            "with atomic_open(sys.argv[1], 'wb') as f:\n"
            "    f.write(b'x' * 100_000); f.flush()\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True)
    assert r.returncode == -signal.SIGKILL
    return [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    path = tmp_path / "checkpoint.dg"
    path.write_bytes(b"old")
    debris = _killed_writer(path)
    assert len(debris) == 1 and debris[0].stat().st_size == 100_000
    assert path.read_bytes() == b"old"  # the previous file is intact
    other = tmp_path / "other.bin"
    with atomic_open(other) as f:  # a write to another file leaves it alone
        f.write(b"1")
    assert debris[0].exists()
    with atomic_open(path) as f:
        f.write(b"new")
    assert not debris[0].exists() and path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.dg", "other.bin"]


def test_live_and_foreign_temporaries_are_kept(tmp_path):
    live = tmp_path / f"{temp_prefix('a.bin')}abcdefgh.tmp"  # this process: alive
    live.write_bytes(b"")
    foreign = tmp_path / ".a.bin.1@some-other-host.abcdefgh.tmp"
    foreign.write_bytes(b"")
    assert remove_stale_temporaries(tmp_path) == []
    assert live.exists() and foreign.exists()


def test_old_style_temporaries_go_only_when_old_and_named(tmp_path):
    legacy = tmp_path / ".checkpoint.dg.k2j4_x9q.tmp"
    legacy.write_bytes(b"12345")
    assert remove_stale_temporaries(tmp_path, ("checkpoint.dg",)) == []  # fresh: may be live
    old = time.time() - 2 * 3600
    os.utime(legacy, (old, old))
    assert remove_stale_temporaries(tmp_path) == []  # no name given: only tagged ones
    assert remove_stale_temporaries(tmp_path, ("checkpoint.dg",)) == [(legacy, 5)]

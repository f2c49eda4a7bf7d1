"""atomic_open: the target appears only on success, keeps its permissions, no temp left."""

from __future__ import annotations

import os
import stat

import pytest

from deepgrad._fileio import atomic_open


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

"""Helpers for the command-line tests: run ``python -m deepgrad`` and write tiny configs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

TINY = """\
name: tiny
seed: 0
data:
  source: planar
  options: {m: 40}
  validation: 0.25
model:
  - dense: {units: 4, activation: tanh}
  - dense: {units: 1, activation: sigmoid}
optimizer: {name: sgd, lr: 0.5}
epochs: 3
batch_size: full
"""


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m deepgrad ARGS`` in a subprocess, text output captured."""
    full_env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.run([sys.executable, "-m", "deepgrad", *args], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def assert_user_error(r: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit code 2, one line on stderr starting with ``deepgrad: error:``, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("deepgrad: error:"), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY)
    return p


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory: Any) -> Path:
    """A tiny planar model trained once by the CLI (its output directory)."""
    d = tmp_path_factory.mktemp("tiny")
    (d / "tiny.yaml").write_text(TINY)
    r = run_cli("train", str(d / "tiny.yaml"), "--out", str(d / "run"), "--quiet")
    assert r.returncode == 0, r.stderr
    return d / "run"

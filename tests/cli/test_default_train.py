"""``deepgrad train`` with no config: the course's planar example, offline, >= 88 %."""

from __future__ import annotations

import csv
from pathlib import Path

from .conftest import run_cli


def test_train_without_config_reaches_88_percent(tmp_path: Path) -> None:
    r = run_cli("train", "--out", str(tmp_path / "planar"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "planar"
    for name in ("model.dg", "history.csv", "config.yaml", "learning_curve.png",
                 "decision_boundary.png"):
        assert (out / name).stat().st_size > 0, name
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert len(rows) == 10000
    assert float(rows[-1]["accuracy"]) >= 0.88
    summary = next(line for line in r.stdout.splitlines() if line.startswith("train "))
    assert float(summary.split()[-1]) >= 0.88  # the summary's training accuracy


def test_default_output_directory_is_under_runs(tmp_path: Path) -> None:
    r = run_cli("train", "--epochs", "2", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("planar-flower-") and (run / "model.dg").exists()

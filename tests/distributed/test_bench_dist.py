"""``python -m bench --only dist`` (bench/dist.py): the table's arithmetic, the skip without
MPI, and one real (tiny, MLP) run of the three setups."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
dist_bench = pytest.importorskip("bench.dist", reason="the bench folder is not importable")


def _case(sps, share=0.0, alone=None):
    r = {"samples_per_s": sps, "step_ms": 1.0, "allreduce_share": share, "param_mb": 0.5}
    if alone is not None:
        r["allreduce_alone_ms"] = alone
    return r


def test_table_efficiency_and_verdicts():
    best = {"mlp": {"1 proc x 1 thread": _case(1000.0),
                    "2 procs x 1 thread": _case(1800.0, 0.05, 0.2),
                    "1 proc x 2 threads": _case(1200.0)},
            "cnn": {"1 proc x 1 thread": _case(100.0),
                    "2 procs x 1 thread": _case(120.0, 0.4, 0.3),
                    "1 proc x 2 threads": _case(150.0)}}
    text = dist_bench.table(best)
    assert "| mlp | 2 procs x 1 thread | 1,800 | 1.0 | 90 % | 5.0 % | 0.200 | 0.50 |" in text
    assert "| mlp | 1 proc x 2 threads | 1,200 | 1.0 | 60 % | - | - | 0.50 |" in text
    assert "mlp: 2 ranks scale at 90 % (target >= 85 %: met); 2 processes x 1 thread are " \
           "1.50x the speed of 1 process x 2 threads (processes faster here)." in text
    assert "cnn: 2 ranks scale at 60 % (target >= 85 %: NOT met)" in text
    assert "(threads faster here)" in text


def test_skipped_with_a_message_without_mpi(monkeypatch, capsys):
    monkeypatch.setattr(dist_bench.importlib.util, "find_spec", lambda name: None)
    assert dist_bench.main([]) == 0
    assert "bench dist: skipped: mpi4py is not installed" in capsys.readouterr().out


def test_bench_main_routes_only_dist(monkeypatch):
    import bench.__main__ as bench_main

    calls = []
    monkeypatch.setattr(dist_bench, "main", lambda argv, quick, reps: calls.append(
        (argv, quick, reps)) or 0)
    assert bench_main.main(["--only", "dist", "--quick"]) == 0
    assert calls == [([], True, None)]  # the lockstep suite did not start


def test_runs_all_three_setups():
    if dist_bench.missing():
        pytest.skip(dist_bench.missing())
    r = subprocess.run([sys.executable, "-m", "bench.dist", "--images", "512", "--reps", "1",
                        "--only", "mlp"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    for setup in dist_bench.CASES:
        assert f"| mlp | {setup} |" in r.stdout
    assert r.stdout.count("2 ranks scale at") == 1

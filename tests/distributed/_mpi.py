"""Launching ``mpiexec -n 2 python mpi_worker.py MODE OUT`` from the tests, with a timeout;
the tests skip when mpi4py or mpiexec is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("mpi_worker.py")


def mpiexec() -> str:
    """The launcher next to this Python (the mpich wheel's), else on PATH; or skip."""
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install deepgrad[mpi])")
    here = Path(sys.executable).with_name("mpiexec")
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec (pip install deepgrad[mpi] brings MPICH's)")
    return found


def hydra() -> bool:
    """Whether the launcher is MPICH's Hydra (it honours ``MPIEXEC_TIMEOUT``)."""
    out = subprocess.run([mpiexec(), "--version"], capture_output=True, text=True, timeout=30)
    return "HYDRA" in out.stdout.upper()


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ, **extra)
    e.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
             PYTHONPATH=str(Path(__file__).parents[2]) + os.pathsep + e.get("PYTHONPATH", ""))
    return e


def run(args: list[str], n: int = 2, timeout: float = 120, cwd: Path | None = None,
        **extra_env: str) -> subprocess.CompletedProcess:
    """``mpiexec -n n args...``; a hang fails the test after ``timeout`` seconds."""
    cmd = [mpiexec(), "-n", str(n), *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=env(**extra_env),
                              cwd=cwd)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} hung for {timeout} s:\n{e.stdout}\n{e.stderr}")


def worker(mode: str, out: Path, n: int = 2, timeout: float = 120, **extra_env: str
           ) -> subprocess.CompletedProcess:
    return run([sys.executable, str(WORKER), mode, str(out)], n, timeout, **extra_env)

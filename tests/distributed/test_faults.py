"""Faults under ``mpiexec -n 2``: an error on one rank ends both quickly with its message,
ranks that disagree are told before training, a SIGKILLed rank does not leave the other
waiting forever."""

from __future__ import annotations

import time

import pytest

from ._mpi import hydra, worker


def _timed(mode, tmp_path, **env):
    t0 = time.perf_counter()
    r = worker(mode, tmp_path, timeout=60, **env)
    return r, time.perf_counter() - t0


def test_an_exception_on_one_rank_ends_all_ranks_with_its_message(tmp_path):
    r, seconds = _timed("raise", tmp_path)  # rank 0 would otherwise train 50 epochs
    assert r.returncode != 0
    assert "[rank 1/2]" in r.stderr and "boom on rank 1 at batch 3" in r.stderr
    assert seconds < 20


def test_a_nan_loss_on_one_rank_ends_all_ranks(tmp_path):
    r, seconds = _timed("nanloss", tmp_path)
    assert r.returncode != 0
    assert "[rank 1/2]" in r.stderr and "NonFiniteLossError" in r.stderr
    assert seconds < 20


def test_bad_data_on_one_rank_ends_all_ranks(tmp_path):
    r, seconds = _timed("nan", tmp_path)
    assert r.returncode != 0
    assert "[rank 1/2]" in r.stderr and "NaN" in r.stderr
    assert seconds < 20


def test_ranks_that_disagree_are_told_before_training(tmp_path):
    r, _ = _timed("mismatch", tmp_path)
    assert r.returncode == 3, r.stderr  # both ranks caught the error and exited cleanly
    assert r.stdout.count("caught: the ranks disagree on the model") == 2
    assert "(8, 6)" in r.stdout and "(9, 6)" in r.stdout


def test_a_killed_rank_does_not_leave_the_others_waiting(tmp_path):
    r, seconds = _timed("kill", tmp_path)  # rank 0 would train 10**6 epochs
    assert r.returncode != 0
    assert seconds < 30


def test_a_hung_rank_is_ended_by_the_launchers_timeout(tmp_path):
    if not hydra():
        pytest.skip("MPIEXEC_TIMEOUT is MPICH's (Open MPI: mpirun --timeout)")
    r, seconds = _timed("hang", tmp_path, MPIEXEC_TIMEOUT="4")  # MPICH's Hydra
    assert r.returncode != 0
    assert seconds < 30

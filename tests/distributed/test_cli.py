"""``mpiexec -n 2 deepgrad train CONFIG``: one run directory, written by rank 0 alone, a
header naming the world and both batch sizes, a model that loads in one process; an error
ends both ranks with its message."""

from __future__ import annotations

import sys

import numpy as np

import deepgrad as dg

from ._mpi import run

CONFIG = """\
name: tiny
seed: 0
data:
  source: planar
  validation: 0.25
model:
  - dense: {units: 4, activation: tanh}
  - dense: {units: 1, activation: sigmoid}
loss: binary_crossentropy
metrics: [accuracy]
optimizer: {name: sgd, lr: 0.5, momentum: 0.9}
epochs: 3
batch_size: 20
callbacks:
  checkpoint: {monitor: val_loss, save_best_only: true}
  early_stopping: {monitor: val_loss, patience: 1}
"""


def test_train_under_mpiexec_writes_one_run_from_rank_0(tmp_path):
    (tmp_path / "tiny.yaml").write_text(CONFIG)
    r = run([sys.executable, "-m", "deepgrad", "train", "tiny.yaml"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("training tiny:") == 1  # rank 0 alone prints
    assert "data-parallel on 2 ranks: batch 20 per process, global batch 40" in r.stdout
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1  # both ranks agreed on one directory, rank 0 wrote it
    names = sorted(p.name for p in runs[0].iterdir())
    assert {"model.dg", "history.csv", "checkpoint.dg"} <= set(names)
    assert not any(n.startswith(".") for n in names)  # no lock or temporary left
    model = dg.load(runs[0] / "model.dg")  # loads in a single process
    assert model(dg.Tensor(np.zeros((3, 2), np.float32))).shape == (3, 1)


def test_an_error_ends_every_rank(tmp_path):
    (tmp_path / "bad.yaml").write_text(CONFIG.replace("source: planar",
                                                      "source: missing.csv"))
    r = run([sys.executable, "-m", "deepgrad", "train", "bad.yaml"], cwd=tmp_path, timeout=60)
    assert r.returncode != 0
    assert "deepgrad: error:" in r.stderr and "missing.csv" in r.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_run_directory_rank_0_cannot_claim_ends_every_rank(tmp_path):
    (tmp_path / "tiny.yaml").write_text(CONFIG)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("someone's files")
    r = run([sys.executable, "-m", "deepgrad", "train", "tiny.yaml", "--out", "taken"],
            cwd=tmp_path, timeout=60)
    assert r.returncode != 0
    assert "taken" in r.stderr and "deepgrad: error:" in r.stderr
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["notes.txt"]


# --- evaluate / predict under mpiexec: shards gathered by rank 0, same output as alone ---

import subprocess  # noqa: E402

import pytest  # noqa: E402

from deepgrad.cli.parallel_io import (  # noqa: E402
    combine_evaluation,
    evaluate_parts,
    shard_bounds,
)

from ._mpi import env  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A model trained in one process (planar data, 400 examples) and an unlabelled CSV."""
    d = tmp_path_factory.mktemp("evalpred")
    (d / "tiny.yaml").write_text(CONFIG)
    r = subprocess.run([sys.executable, "-m", "deepgrad", "train", "tiny.yaml", "--out", "m",
                        "-q"], cwd=d, capture_output=True, text=True, env=env(), timeout=120)
    assert r.returncode == 0, r.stderr
    rng = np.random.default_rng(1)
    rows = "".join(f"{a:.4f},{b:.4f}\n" for a, b in rng.normal(size=(23, 2)))
    (d / "pts.csv").write_text("x0,x1\n" + rows)
    return d


def _alone(args, cwd):
    return subprocess.run([sys.executable, "-m", "deepgrad", *args], cwd=cwd,
                          capture_output=True, text=True, env=env(), timeout=120)


@pytest.mark.parametrize("n, data", [(2, "planar"), (3, "planar")])
def test_evaluate_under_mpiexec_prints_what_one_process_prints(tiny_model, n, data):
    args = ["evaluate", "m/model.dg", data, "--batch-size", "7"]  # batches across shards
    one = _alone(args, tiny_model)
    assert one.returncode == 0, one.stderr
    many = run([sys.executable, "-m", "deepgrad", *args], n=n, cwd=tiny_model)
    assert many.returncode == 0, many.stderr
    assert many.stdout == one.stdout  # rank 0 alone prints: loss, metrics, confusion matrix
    assert "confusion matrix" in many.stdout


@pytest.mark.parametrize("n, data", [(2, "planar"), (3, "pts.csv")])
def test_predict_under_mpiexec_writes_the_same_bytes(tiny_model, n, data):
    one = _alone(["predict", "m/model.dg", data, "--batch-size", "7"], tiny_model)
    assert one.returncode == 0, one.stderr
    out = tiny_model / f"pred{n}.csv"
    many = run([sys.executable, "-m", "deepgrad", "predict", "m/model.dg", data, "-o",
                str(out), "--batch-size", "7"], n=n, cwd=tiny_model)
    assert many.returncode == 0, many.stderr
    assert out.read_text() == one.stdout  # rows in the original order, byte for byte
    assert many.stderr.count("predictions to") == 1  # rank 0 alone writes and says so
    stdout = run([sys.executable, "-m", "deepgrad", "predict", "m/model.dg", data,
                  "--batch-size", "7"], n=n, cwd=tiny_model)
    assert stdout.returncode == 0 and stdout.stdout == one.stdout


def test_an_error_on_every_rank_is_reported_once(tiny_model):
    r = run([sys.executable, "-m", "deepgrad", "evaluate", "m/model.dg", "missing.csv"],
            cwd=tiny_model, timeout=60)
    assert r.returncode == 2
    assert r.stderr.count("deepgrad: error:") == 1 and "missing.csv" in r.stderr


def test_an_error_on_one_rank_ends_every_rank_with_its_message(tiny_model):
    cmd = [sys.executable, "-m", "deepgrad", "predict", "m/model.dg"]
    r = run([*cmd, "planar", ":", "-n", "1", *cmd, "nothere.csv"], n=1, cwd=tiny_model,
            timeout=60)  # MPMD: rank 0 reads planar, rank 1 a missing file
    assert r.returncode == 2
    assert r.stdout == ""  # nothing written when a rank failed
    assert r.stderr.count("deepgrad: error:") == 1
    assert "(rank 1 of 2)" in r.stderr and "nothere.csv" in r.stderr


def test_ranks_that_load_different_data_are_refused(tiny_model):
    cmd = [sys.executable, "-m", "deepgrad", "predict", "m/model.dg"]
    r = run([*cmd, "planar", ":", "-n", "1", *cmd, "pts.csv"], n=1, cwd=tiny_model,
            timeout=60)
    assert r.returncode == 2 and "the ranks loaded different data" in r.stderr
    assert r.stderr.count("deepgrad: error:") == 1


def test_shards_are_contiguous_batch_aligned_and_cover_the_rows():
    for n in (0, 1, 5, 40, 41):
        for size in (1, 2, 3, 4):
            for bs in (1, 3, 7, 256):
                b = [shard_bounds(n, r, size, bs) for r in range(size)]
                assert b[0][0] == 0 and b[-1][1] == n
                assert all(b[i][1] == b[i + 1][0] for i in range(size - 1))
                assert all(lo % bs == 0 for lo, _ in b)  # one process's batches
                counts = [-(-(hi - lo) // bs) for lo, hi in b]
                assert max(counts) - min(counts) <= 1
    assert shard_bounds(10, 1, 3) == (3, 6)  # batch 1: rows [r*n//N, (r+1)*n//N)
    assert shard_bounds(400, 1, 2, 7) == (203, 400)  # 58 batches: 29 each


@pytest.mark.parametrize("size, batch", [(2, 7), (3, 4), (5, 64)])
def test_gathered_evaluation_equals_one_process_exactly(size, batch):
    """Rank 0's loss and metrics from the gathered shards are the single-process figures,
    bitwise: the shards are one process's batches, replayed in evaluate's own order."""
    dg.manual_seed(0)
    model = dg.nn.Sequential(dg.nn.Linear(3, 5), dg.nn.Tanh(), dg.nn.Linear(5, 1),
                             dg.nn.Sigmoid())
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy", "f1"])
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(41, 3)).astype(np.float32), rng.integers(0, 2, 41)
    want = model.evaluate(X, y, batch_size=batch, verbose=0)
    parts = [evaluate_parts(model, X, y, *shard_bounds(41, r, size, batch), batch,
                            True)
             for r in range(size)]
    got, classes = combine_evaluation(model, parts, batch)
    assert got == want
    np.testing.assert_array_equal(classes, model.predict_classes(X, verbose=0))

"""``deepgrad train`` never loses or mixes results: a directory per run, ``--out`` refused
when it holds files (``--overwrite`` swaps a whole run in), debris of killed runs removed,
plain run names, and a prompt Ctrl-C that keeps the model as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from deepgrad.cli.errors import CLIError
from deepgrad.cli.rundir import claim_default, claim_out

from .conftest import REPO, TINY, assert_user_error, run_cli


def _manifest(path: Path) -> dict:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("manifest.json"))


def _lr_of(run: Path) -> float:
    cfg = (run / "config.yaml").read_text()
    return float(cfg.split("lr:")[1].split("}")[0].split()[0].rstrip(","))


def test_two_runs_of_one_config_started_together_get_their_own_directories(
        tiny_config: Path, tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        rs = list(pool.map(lambda lr: run_cli("train", str(tiny_config), "--lr", lr, "-q",
                                              cwd=tmp_path), ("0.5", "0.9")))
    assert [r.returncode for r in rs] == [0, 0], [r.stderr for r in rs]
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2
    # each directory holds one run's files: its config and its model agree
    assert sorted(_lr_of(r) for r in runs) == [0.5, 0.9]
    for r in runs:
        meta = _manifest(r / "model.dg")["metadata"]
        assert meta["name"] == "tiny" and (r / "history.csv").exists()
    wrote = sorted(line.split()[1] for r in rs for line in r.stdout.splitlines()
                   if line.startswith("wrote"))
    assert wrote == sorted(f"runs/{r.name}/:" for r in runs)


def test_claim_default_suffixes_on_collision(tmp_path: Path) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5)
    names = [claim_default("x", tmp_path, now).path.name for _ in range(3)]
    assert names == ["x-20260102-030405", "x-20260102-030405-2", "x-20260102-030405-3"]


def test_out_with_files_is_refused_and_overwrite_replaces_the_whole_run(
        tiny_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("train", str(tiny_config), "--out", str(out), "-q").returncode == 0
    before = (out / "model.dg").read_bytes()
    r = run_cli("train", str(tiny_config), "--out", str(out), "--lr", "0.9", "-q")
    assert_user_error(r, f"--out {out}", "already holds files", "--overwrite")
    assert (out / "model.dg").read_bytes() == before  # untouched
    (out / "notes.txt").write_text("mine")
    r = run_cli("train", str(tiny_config), "--out", str(out), "--lr", "0.9", "-q",
                "--overwrite")
    assert r.returncode == 0, r.stderr
    assert _lr_of(out) == 0.9
    assert not (out / "notes.txt").exists()  # the directory is the new run, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.yaml"]  # no temp left


def test_two_overwriting_runs_into_one_out_never_mix(tiny_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with ThreadPoolExecutor(2) as pool:
        rs = list(pool.map(lambda n: run_cli("train", str(tiny_config), "--out", str(out),
                                             "--epochs", n, "-q", "--overwrite"),
                           ("2", "5")))
    assert [r.returncode for r in rs] == [0, 0], [r.stderr for r in rs]
    # model, history and config all come from the same run
    epochs = _manifest(out / "model.dg")["epoch"]
    assert epochs in (2, 5)
    assert len((out / "history.csv").read_text().splitlines()) == epochs + 1
    assert f"epochs: {epochs}" in (out / "config.yaml").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.yaml"]


def test_two_runs_into_one_new_out_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = claim_out(out, overwrite=False)  # a run holding it
    with pytest.raises(CLIError, match="another deepgrad train run is writing into it"):
        claim_out(out, overwrite=False)
    first.commit()
    assert list(out.iterdir()) == []
    with pytest.raises(CLIError, match="not a directory"):
        (tmp_path / "f").write_text("")
        claim_out(tmp_path / "f", overwrite=False)


def test_an_empty_existing_out_is_used(tiny_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert run_cli("train", str(tiny_config), "--out", str(out), "-q").returncode == 0
    assert (out / "model.dg").exists() and not (out / ".deepgrad-run.lock").exists()


def test_failed_run_leaves_no_empty_directory(tmp_path: Path) -> None:
    cfg = tmp_path / "diverge.yaml"
    cfg.write_text("data: {source: regression}\nmodel: [{dense: 1}]\nloss: mse\n"
                   "optimizer: {name: sgd, lr: 1.0e+6}\nepochs: 5\n")
    r = run_cli("train", str(cfg), "-q", cwd=tmp_path)
    assert r.returncode == 2 and "diverged" in r.stderr, r.stderr
    assert list((tmp_path / "runs").iterdir()) == []


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", "a\\b"])
def test_run_name_must_be_plain(tmp_path: Path, name: str) -> None:
    cfg = tmp_path / "n.yaml"
    cfg.write_text(TINY.replace("name: tiny", f"name: {json.dumps(name)}"))
    assert_user_error(run_cli("train", str(cfg), "-q", cwd=tmp_path), "name:", "plain name")
    assert not (tmp_path / "runs").exists() and not (tmp_path.parent / "x").exists()


_KILL_IN_CHECKPOINT = """
import os, signal, sys, zipfile
from deepgrad.cli.main import main
orig = zipfile.ZipFile.writestr
def writestr(self, name, data, *a, **k):
    orig(self, name, data, *a, **k)
    if name.startswith("weights/"):
        os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of the checkpoint
zipfile.ZipFile.writestr = writestr
main(sys.argv[1:])
"""


def test_a_run_killed_while_writing_a_checkpoint(tmp_path: Path) -> None:
    cfg = tmp_path / "ck.yaml"
    cfg.write_text(TINY + "callbacks: {checkpoint: {}}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-c", _KILL_IN_CHECKPOINT, "train", str(cfg), "-q"],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == -signal.SIGKILL, r.stderr
    (killed,) = (tmp_path / "runs").iterdir()
    debris = [p for p in killed.iterdir() if p.name.endswith(".tmp")]
    assert len(debris) == 1 and debris[0].name.startswith(".checkpoint.dg.")
    r = run_cli("train", str(cfg), "-q", cwd=tmp_path)  # the next run in runs/
    assert r.returncode == 0, r.stderr
    assert f"removed runs/{killed.name}/{debris[0].name}" in r.stderr
    assert "killed" in r.stderr
    assert not debris[0].exists()


def test_killed_overwrite_run_leaves_nothing_behind_after_the_next(tiny_config: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    code = _KILL_IN_CHECKPOINT.replace('name.startswith("weights/")', 'True')
    r = subprocess.run([sys.executable, "-c", code, "train", str(tiny_config), "--out", str(out),
                        "--overwrite", "-q"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == -signal.SIGKILL
    (tmpdir,) = [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    r = run_cli("train", str(tiny_config), "--out", str(out), "--overwrite", "-q")
    assert r.returncode == 0 and f"removed {tmpdir}" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.yaml"]


_LONG = """\
name: long
seed: 0
data: {source: planar, options: {m: 100000}, validation: 0.5}
model:
  - dense: {units: 512, activation: relu}
  - dense: {units: 512, activation: relu}
  - dense: {units: 1, activation: sigmoid}
optimizer: {name: sgd, lr: 0.01}
epochs: 1000
batch_size: 64
"""


def _start_long_run(tmp_path: Path, batch_size: int | str = 64, validation: bool = True
                    ) -> subprocess.Popen[str]:
    cfg = tmp_path / "long.yaml"
    text = _LONG.replace("batch_size: 64", f"batch_size: {batch_size}")
    cfg.write_text(text if validation else text.replace(", validation: 0.5", ""))
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen([sys.executable, "-m", "deepgrad", "train", str(cfg), "--out",
                          str(tmp_path / "out"), "-q"], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "out" / ".deepgrad-run.lock").exists():  # training has begun
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.05)
    time.sleep(1.0)
    return p


def test_ctrl_c_stops_promptly_and_keeps_the_model(tmp_path: Path) -> None:
    p = _start_long_run(tmp_path)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    elapsed = time.monotonic() - t0
    assert p.returncode == 130, err
    assert elapsed < 5.0, elapsed  # no validation or full evaluation of 100,000 examples
    assert "Traceback" not in err and "interrupted by Ctrl-C in epoch 1, step" in err
    meta = _manifest(tmp_path / "out" / "model.dg")["metadata"]
    assert meta["interrupted"].startswith("by Ctrl-C in epoch 1, step")
    assert (tmp_path / "out" / "history.csv").read_text().startswith("epoch")
    assert not (tmp_path / "out" / ".deepgrad-run.lock").exists()


def test_a_second_ctrl_c_quits_at_once(tmp_path: Path) -> None:
    # One step over 100,000 examples takes seconds and, with no validation, is almost all
    # of the epoch, so the first Ctrl-C lands inside a step and waits for it to end ...
    p = _start_long_run(tmp_path, "full", validation=False)
    p.send_signal(signal.SIGINT)
    assert p.stderr is not None
    while "interrupted: stopping" not in (line := p.stderr.readline()):
        assert line, p.communicate()  # (EOF: the process ended without the message)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)  # ... unless Ctrl-C comes again, as it does here
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert time.monotonic() - t0 < 5.0
    assert "Traceback" not in err and "deepgrad: interrupted" in err
    assert not (tmp_path / "out").exists()  # nothing half-written is left


def test_threads_option(tiny_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                        ) -> None:
    from deepgrad.cli import train_cmd
    from deepgrad.cli.main import main as cli_main

    calls: list[object] = []
    monkeypatch.setattr(train_cmd, "set_num_threads", lambda n: calls.append(n))
    monkeypatch.setattr(train_cmd, "apply_default_threads", lambda: calls.append("auto"))
    monkeypatch.setattr(train_cmd, "retune", lambda: calls.append("retune"))
    assert cli_main(["train", str(tiny_config), "--out", str(tmp_path / "a"), "-q",
                          "--threads", "1"]) == 0
    assert calls == [1]  # the user's choice, never re-decided
    calls.clear()
    assert cli_main(["train", str(tiny_config), "--out", str(tmp_path / "b"), "-q"]) == 0
    assert calls == ["auto", "retune", "retune", "retune"]  # one look per batch (3 epochs)
    for bad in ("0", "two"):
        assert_user_error(run_cli("train", str(tiny_config), "--threads", bad), "--threads")
    r = run_cli("train", str(tiny_config), "--threads", str(10 * (os.cpu_count() or 1)))
    assert_user_error(r, "number of threads")

"""User errors: exit code 2, one line on stderr starting with ``deepgrad: error:``, no
traceback; Ctrl-C: exit 130 after writing what was trained so far."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import REPO, TINY, assert_user_error, run_cli


def _config(tmp_path: Path, text: str) -> str:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return str(p)


def test_missing_config_file(tmp_path: Path) -> None:
    assert_user_error(run_cli("train", str(tmp_path / "nope.yaml")), "no such config file")


def test_malformed_yaml(tmp_path: Path) -> None:
    r = run_cli("train", _config(tmp_path, "data: planar\nmodel: [relu\n"))
    assert_user_error(r, "malformed YAML at line")


@pytest.mark.parametrize("text, fragment", [
    (TINY.replace("units: 4", "units: ten"),
     "model[0].dense.units: expected a positive integer, got 'ten'"),
    (TINY.replace("- dense: {units: 4", "- dense4: {units: 4"),
     "unknown layer 'dense4'; valid layers:"),
    (TINY.replace("name: sgd", "name: sgdd"), "unknown optimizer 'sgdd'; valid: adadelta"),
    (TINY + "loss: hinge\n", "loss: unknown loss 'hinge'; valid:"),
    (TINY.replace("lr: 0.5", "lr: -0.5"), "optimizer.lr: expected a positive number"),
    (TINY.replace("  - dense: {units: 1,", "  - dropout: 1.0\n  - dense: {units: 1,"),
     "model[1].dropout.rate: expected a number in [0, 1), got 1.0"),
    (TINY.replace("units: 1, activation: sigmoid", "units: 3, activation: sigmoid"),
     "loss:"),
])
def test_bad_config_values(tmp_path: Path, text: str, fragment: str) -> None:
    assert_user_error(run_cli("train", _config(tmp_path, text), "--out", str(tmp_path / "o")),
                      fragment)


def test_bad_command_line_option(tiny_config: Path) -> None:
    assert_user_error(run_cli("train", str(tiny_config), "--epochs", "many"), "--epochs")
    for lr in ("-1", "0", "inf", "nan"):
        assert_user_error(run_cli("train", str(tiny_config), "--lr", lr), "--lr", repr(lr))


def test_missing_and_corrupt_model_files(tmp_path: Path) -> None:
    assert_user_error(run_cli("summary", str(tmp_path / "none.dg")), "no such model file")
    bad = tmp_path / "bad.dg"
    bad.write_bytes(b"PK\x03\x04 not really a zip file")
    for cmd in ("summary", "evaluate", "predict"):
        args = [cmd, str(bad)] + ([] if cmd == "summary" else ["planar"])
        assert_user_error(run_cli(*args), str(bad))


def test_data_that_does_not_fit_the_model(trained_tiny: Path, tmp_path: Path) -> None:
    model = str(trained_tiny / "model.dg")
    wrong = tmp_path / "three.csv"
    wrong.write_text("a,b,c\n1,2,3\n4,5,6\n")
    assert_user_error(run_cli("predict", model, str(wrong)),
                      "examples have shape (3,) but the model expects (2,)")
    assert_user_error(run_cli("evaluate", model, "nosuchdata"), "not a dataset name")
    assert_user_error(run_cli("evaluate", model, str(tmp_path / "x.csv")), "no such file")
    feats = tmp_path / "two.csv"
    feats.write_text("a,b\n1,2\n")
    assert_user_error(run_cli("evaluate", model, str(feats)), "no labels")
    text = tmp_path / "text.csv"
    text.write_text("a,b\n1,x\n")
    assert_user_error(run_cli("predict", model, str(text)), "non-numeric")
    assert_user_error(run_cli("evaluate", model, "spirals"), "label 2")


def test_missing_dataset_files(trained_tiny: Path, tmp_path: Path) -> None:
    r = run_cli("evaluate", str(trained_tiny / "model.dg"), "mnist:test",
                env={"DEEPGRAD_DATA": str(tmp_path), "DEEPGRAD_CACHE": str(tmp_path)})
    assert_user_error(r, "mnist")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_after_the_batch_and_keeps_the_model(tmp_path: Path) -> None:
    cfg = _config(tmp_path, TINY.replace("epochs: 3", "epochs: 1000000"))
    out = tmp_path / "o"
    p = subprocess.Popen([sys.executable, "-u", "-m", "deepgrad", "train", cfg, "--out",
                          str(out)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    try:
        assert p.stdout is not None
        while "Epoch" not in p.stdout.readline():  # training has started
            pass
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert (out / "model.dg").exists() and (out / "history.csv").exists()


def test_errors_name_the_real_cause(trained_tiny: Path, tmp_path: Path) -> None:
    np.savez(tmp_path / "none.npz", X=np.zeros((0, 2), np.float32), y=np.zeros(0, np.int64))
    cfg = tmp_path / "zero.yaml"
    cfg.write_text("data: {source: npz, path: none.npz}\nmodel: [{dense: 1}]\n")
    assert_user_error(run_cli("train", str(cfg)), "none.npz", "no examples (0 rows)")
    model = str(trained_tiny / "model.dg")
    assert_user_error(run_cli("evaluate", model, str(tmp_path / "none.npz")), "no examples")
    assert_user_error(run_cli("predict", model, "planar", "-o", str(tmp_path)),
                      f"-o {tmp_path}: is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["none.npz", "zero.yaml"]
    assert_user_error(run_cli("train", str(tmp_path)), "is a directory, not a config file")


@pytest.mark.parametrize("setting", ["lr: .inf", "lr: .nan", "lr: 0", "momentum: .nan",
                                     "betas: [0.9, .inf]"])
def test_non_finite_hyperparameters_are_refused(tmp_path: Path, setting: str) -> None:
    name = "adam" if "betas" in setting else "sgd"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY.replace("optimizer: {name: sgd, lr: 0.5}",
                                f"optimizer: {{name: {name}, {setting}}}"))
    key = setting.split(":")[0]
    assert_user_error(run_cli("train", str(cfg), cwd=tmp_path), f"optimizer.{key}")
    assert not (tmp_path / "runs").exists()


def test_schedule_settings_must_be_finite(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY + "schedule: {name: step, step_size: 1, gamma: .inf}\n")
    assert_user_error(run_cli("train", str(cfg), cwd=tmp_path), "schedule.gamma", "finite")


def test_a_model_with_non_finite_weights(trained_tiny: Path, tmp_path: Path) -> None:
    import deepgrad as dg

    model = dg.load(trained_tiny / "model.dg")
    ck = dg.io.load_checkpoint(trained_tiny / "model.dg")
    next(iter(model.parameters())).data[0, 0] = np.nan
    dg.save(model, tmp_path / "nan.dg", metadata=ck["metadata"])
    for cmd in ("evaluate", "predict"):
        assert_user_error(run_cli(cmd, str(tmp_path / "nan.dg"), "planar"),
                          "the model's weights are not finite", "1 NaN or infinite")
    assert run_cli("summary", str(tmp_path / "nan.dg")).returncode == 0

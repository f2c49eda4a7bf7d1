"""Each command run as a subprocess on tiny data: help, normal runs, output formats."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from .conftest import run_cli

COMMANDS = ["train", "evaluate", "predict", "summary", "datasets", "gradcheck", "convert"]


def test_top_level_help_lists_commands() -> None:
    r = run_cli("--help")
    assert r.returncode == 0
    for c in COMMANDS:
        assert c in r.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help_with_examples(command: str) -> None:
    r = run_cli(command, "--help")
    assert r.returncode == 0, r.stderr
    assert "examples:" in r.stdout and f"deepgrad {command}" in r.stdout


def test_train_writes_all_outputs(trained_tiny: Path) -> None:
    for name in ("model.dg", "history.csv", "config.yaml", "learning_curve.png",
                 "decision_boundary.png"):
        assert (trained_tiny / name).stat().st_size > 0, name
    rows = list(csv.DictReader((trained_tiny / "history.csv").open()))
    assert len(rows) == 3 and rows[0]["epoch"] == "1"
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(rows[0])
    text = (trained_tiny / "config.yaml").read_text()
    assert "batch_size: full" in text and "loss: binary_crossentropy" in text
    assert not list(trained_tiny.glob(".*tmp"))  # no temp files left behind


def test_train_prints_progress_and_summary(tiny_config: Path, tmp_path: Path) -> None:
    r = run_cli("train", str(tiny_config), "--out", str(tmp_path / "o"), "--epochs", "2",
                "--lr", "0.1", "--seed", "3", "--batch-size", "10")
    assert r.returncode == 0, r.stderr
    assert "Epoch 2/2" in r.stdout
    assert "train" in r.stdout and "validation" in r.stdout and "samples/s" in r.stdout
    config = (tmp_path / "o" / "config.yaml").read_text()
    assert "epochs: 2" in config and "batch_size: 10" in config and "lr: 0.1" in config


def test_evaluate_prints_metrics_and_confusion_matrix(trained_tiny: Path) -> None:
    r = run_cli("evaluate", str(trained_tiny / "model.dg"), "planar")
    assert r.returncode == 0, r.stderr
    assert "loss" in r.stdout and "accuracy" in r.stdout
    assert "confusion matrix" in r.stdout and "true 1" in r.stdout


def test_predict_writes_one_row_per_example(trained_tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    r = run_cli("predict", str(trained_tiny / "model.dg"), "planar", "-o", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["index", "class", "prob_0", "prob_1"]
    assert len(rows) == 41  # header + m = 40 (the model's training options)
    for i, row in enumerate(rows[1:]):
        p0, p1 = float(row[2]), float(row[3])
        assert int(row[0]) == i and row[1] == ("1" if p1 > p0 else "0")
        assert abs(p0 + p1 - 1) < 1e-5


def test_csv_regression_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "reg.csv"
    lines = ["a,b,target"] + [f"{i % 7},{(i * 3) % 5},{(i % 7) * 0.5 + 1}" for i in range(30)]
    data.write_text("\n".join(lines) + "\n")
    cfg = tmp_path / "reg.yaml"
    cfg.write_text("data: {source: csv, path: reg.csv, target: target, "
                   "preprocessing: {standardize: true}}\nmodel: [{dense: 1}]\n"
                   "optimizer: {name: adam, lr: 0.05}\nepochs: 2\n")
    r = run_cli("train", str(cfg), "--out", str(tmp_path / "o"), "-q")
    assert r.returncode == 0, r.stderr
    assert "mae" in r.stdout
    features = tmp_path / "new.csv"  # no target column: features only
    features.write_text("a,b\n1,2\n3,4\n")
    r = run_cli("predict", str(tmp_path / "o" / "model.dg"), str(features))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(r.stdout.splitlines()))
    assert rows[0] == ["index", "target"] and len(rows) == 3
    float(rows[1][1])
    r = run_cli("evaluate", str(tmp_path / "o" / "model.dg"), str(data))
    assert r.returncode == 0 and "mae" in r.stdout and "confusion" not in r.stdout


def test_summary_shows_layers_and_metadata(trained_tiny: Path) -> None:
    r = run_cli("summary", str(trained_tiny / "model.dg"))
    assert r.returncode == 0, r.stderr
    assert "Total params: 17" in r.stdout
    assert "binary_crossentropy" in r.stdout and "planar" in r.stdout


def test_datasets_lists_builtin_and_file_datasets() -> None:
    r = run_cli("datasets")
    assert r.returncode == 0, r.stderr
    for name in ("planar", "mnist", "fashion-mnist", "catvnoncat", "mnist[:test|:train]"):
        assert name in r.stdout


def test_gradcheck_prints_a_table_per_parameter(tiny_config: Path) -> None:
    r = run_cli("gradcheck", str(tiny_config))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 (Dense)" in r.stdout and "weight" in r.stdout and "bias" in r.stdout
    assert "all gradients agree" in r.stdout


def test_gradcheck_cnn_uses_directions_for_large_tensors(tmp_path: Path) -> None:
    x = tmp_path / "img.npz"
    import numpy as np

    rng = np.random.default_rng(0)
    np.savez(x, X=rng.integers(0, 255, (6, 6, 6)).astype(np.uint8), y=np.arange(6) % 3)
    cfg = tmp_path / "cnn.yaml"
    cfg.write_text("data: {source: npz, path: img.npz, preprocessing: {scale: 255, "
                   "layout: image}}\nmodel: [{conv2d: {filters: 3, kernel_size: 3, "
                   "activation: tanh}}, {avgpool2d: 2}, flatten, {dense: 40}, tanh, "
                   "{dense: 3}]\n")
    r = run_cli("gradcheck", str(cfg), "--examples", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "directions" in r.stdout and "all 27" in r.stdout

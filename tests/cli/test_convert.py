"""``deepgrad convert`` between .dg, .onnx and .safetensors, and .onnx models in the other
commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg

from .conftest import assert_user_error, run_cli

pytest.importorskip("onnx")


def _predict(model, x):
    model.eval()
    with dg.no_grad():
        return model(x).data


def test_dg_to_onnx_to_dg_and_safetensors_round_trips(trained_tiny: Path, tmp_path: Path):
    src = trained_tiny / "model.dg"
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    want = _predict(dg.load(src), x)
    r = run_cli("convert", str(src), str(tmp_path / "m.onnx"))
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
    np.testing.assert_allclose(_predict(dg.onnx.load(tmp_path / "m.onnx"), x), want,
                               rtol=1e-6, atol=1e-7)
    r = run_cli("convert", str(tmp_path / "m.onnx"), str(tmp_path / "back.dg"))
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(_predict(dg.load(tmp_path / "back.dg"), x), want, rtol=1e-6,
                               atol=1e-7)
    r = run_cli("convert", str(src), str(tmp_path / "w.safetensors"))
    assert r.returncode == 0, r.stderr
    assert set(dg.io.load_safetensors(tmp_path / "w.safetensors")) == set(
        dg.load(src).state_dict())
    r = run_cli("convert", str(tmp_path / "w.safetensors"), str(tmp_path / "w.dg"),
                "--arch", str(src))
    assert r.returncode == 0, r.stderr
    assert np.array_equal(_predict(dg.load(tmp_path / "w.dg"), x), want)


def test_summary_and_predict_read_onnx(trained_tiny: Path, tmp_path: Path):
    onnx_path = tmp_path / "m.onnx"
    assert run_cli("convert", str(trained_tiny / "model.dg"), str(onnx_path)).returncode == 0
    r = run_cli("summary", str(onnx_path))
    assert r.returncode == 0, r.stderr
    assert "Total params: 17" in r.stdout and "Linear" in r.stdout


@pytest.mark.parametrize("args, fragments", [
    (["a.dg", "b.txt"], ["unknown format '.txt'"]),
    (["w.safetensors", "b.dg"], ["holds weights only", "--arch"]),
    (["missing.dg", "b.onnx"], ["missing.dg", "no such model file"]),
])
def test_convert_errors(tmp_path: Path, args, fragments):
    (tmp_path / "w.safetensors").write_bytes(b"\0" * 16)
    r = run_cli("convert", *args, cwd=tmp_path)
    assert_user_error(r, *fragments)


def test_corrupt_onnx_is_one_line(tmp_path: Path):
    (tmp_path / "bad.onnx").write_bytes(b"\xff\xfe garbage")
    assert_user_error(run_cli("summary", "bad.onnx", cwd=tmp_path), "bad.onnx",
                      "not an ONNX model")


def test_safetensors_of_another_architecture(trained_tiny: Path, tmp_path: Path):
    dg.io.save_safetensors({"0.weight": np.zeros((9, 9), np.float32)},
                           tmp_path / "w.st.safetensors")
    r = run_cli("convert", str(tmp_path / "w.st.safetensors"), str(tmp_path / "x.dg"),
                "--arch", str(trained_tiny / "model.dg"))
    assert_user_error(r, "does not fit --arch")


def test_safetensors_with_a_training_config_as_architecture(trained_tiny: Path, tmp_path: Path):
    src = trained_tiny / "model.dg"
    x = np.random.default_rng(1).standard_normal((4, 2)).astype(np.float32)
    want = _predict(dg.load(src), x)
    assert run_cli("convert", str(src), str(tmp_path / "w.safetensors")).returncode == 0
    r = run_cli("convert", str(tmp_path / "w.safetensors"), str(tmp_path / "m.dg"), "--arch",
                str(trained_tiny / "config.yaml"))
    assert r.returncode == 0, r.stderr
    assert np.array_equal(_predict(dg.load(tmp_path / "m.dg"), x), want)

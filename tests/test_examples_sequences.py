"""examples/sequences: each script runs end to end on tiny settings; the adding-problem
config validates and builds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples" / "sequences"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"seq_{name}", EX / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_date_translation_runs_and_draws(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "att.png"
    _load("date_translation").main(["--train", "300", "--test", "40", "--epochs", "1",
                                    "--out", str(out)])
    text = capsys.readouterr().out
    assert "held-out exact match" in text and "-> " in text
    assert out.stat().st_size > 1000


def test_forecast_reports_the_naive_baseline_and_its_config_builds(tmp_path, capsys):
    mod = _load("forecast")
    mod.main(["--epochs", "1", "--window", "12"])
    assert "naive last-value forecast" in capsys.readouterr().out
    mod.main(["--npz", str(tmp_path / "forecast.npz")])
    from deepgrad.cli.config import load_config, validate_config
    from deepgrad.cli.layers import build_model

    (tmp_path / "c.yaml").write_text((EX / "forecast.yaml").read_text())
    cfg = validate_config(load_config(tmp_path / "c.yaml"), "forecast", tmp_path)
    assert build_model(cfg["model"], (48, 1))(np.zeros((2, 48, 1), np.float32)).shape == (2, 1)


def test_adding_problem_data_and_config(tmp_path, capsys):
    mod = _load("adding_problem")
    x, y = mod.adding_batch(5, 8, np.random.default_rng(0))
    assert x.shape == (5, 8, 2) and (x[:, :, 1].sum(axis=1) == 2).all()
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=1), rtol=1e-6)
    mod.main(["--lengths", "4", "--steps", "2", "--hidden", "4"])
    assert "lstm" in capsys.readouterr().out
    from deepgrad.cli.config import load_config, validate_config
    from deepgrad.cli.layers import build_model

    mod.main(["--npz", str(tmp_path / "adding.npz")])  # the config's data, beside a copy
    (tmp_path / "c.yaml").write_text((EX / "adding_problem.yaml").read_text())
    cfg = validate_config(load_config(tmp_path / "c.yaml"), "adding", tmp_path)
    model = build_model(cfg["model"], (30, 2))
    assert model(np.zeros((2, 30, 2), dtype=np.float32)).shape == (2, 1)


def test_char_lm_runs(capsys):
    _load("char_lm").main(["--chars", "20000", "--minutes", "0.01", "--hidden", "16"])
    text = capsys.readouterr().out
    assert "bits per character" in text and "temperature 0.5" in text

"""Config validation: every problem is a ConfigError naming its key path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deepgrad.cli.config import DEFAULT_CONFIG, apply_overrides, load_config, validate_config
from deepgrad.cli.errors import CLIError, ConfigError
from deepgrad.cli.layers import build_model, validate_model
from deepgrad.cli.preprocess import Preprocessor


def _cfg(**changes: Any) -> dict[str, Any]:
    c = copy.deepcopy(DEFAULT_CONFIG)
    c.update(changes)
    return c


def _error(cfg: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as e:
        validate_config(cfg)
    return str(e.value)


def test_default_config_resolves_with_defaults() -> None:
    cfg = validate_config(DEFAULT_CONFIG)
    assert cfg["batch_size"] == "full" and cfg["epochs"] == 10000
    assert cfg["model"][0]["dense"]["units"] == 4
    assert cfg["data"]["preprocessing"] == {"scale": None, "layout": "none",
                                            "standardize": False}
    assert cfg["optimizer"] == {"name": "sgd", "lr": 1.2}


def test_bad_units_names_the_key_path() -> None:
    model = [{"dense": {"units": 4}}, "relu", {"dense": {"units": "ten"}}]
    assert _error(_cfg(model=model)) == \
        "model[2].dense.units: expected a positive integer, got 'ten'"


@pytest.mark.parametrize("model, fragment", [
    ([{"dens": {"units": 3}}], "model[0]: unknown layer 'dens'; valid layers: activation"),
    ([{"dropout": 1.0}], "model[0].dropout.rate: expected a number in [0, 1), got 1.0"),
    ([{"dense": {"units": 2, "activation": "relux"}}], "model[0].dense.activation: unknown "
     "activation 'relux'; valid:"),
    ([{"dense": {"unit": 2}}], "model[0].dense.unit: unknown key; valid keys here: units"),
    ([{"conv2d": {"filters": 4}}], "model[0].conv2d.kernel_size: missing (required)"),
    ([], "model: expected a non-empty list of layers"),
    ([{"dense": {"units": 2}, "relu": None}], "model[0]: expected a layer"),
])
def test_model_errors(model: Any, fragment: str) -> None:
    assert fragment in _error(_cfg(model=model))


@pytest.mark.parametrize("changes, fragment", [
    ({"optimizer": {"name": "sgd", "lr": -1}}, "optimizer.lr: expected a positive number, got -1"),
    ({"optimizer": "adamm"}, "optimizer.name: unknown optimizer 'adamm'; valid: adadelta"),
    ({"optimizer": {"name": "adam", "lr": 0.1, "beta": 3}}, "optimizer.beta: unknown key"),
    ({"loss": "crossent"}, "loss: unknown loss 'crossent'; valid: bce"),
    ({"metrics": ["acuracy"]}, "metrics[0]: unknown metric 'acuracy'"),
    ({"epochs": 0}, "epochs: expected a positive integer, got 0"),
    ({"batch_size": "big"}, "batch_size: expected a positive integer or 'full', got 'big'"),
    ({"data": {"source": "nope"}}, "data.source: unknown data source 'nope'; valid:"),
    ({"data": {"source": "planar", "options": {"mm": 3}}}, "data.options.mm: unknown key"),
    ({"data": {"source": "planar", "validation": 1.5}}, "data.validation: expected 'test' or"),
    ({"data": {"source": "planar", "validation": "test"}}, "planar has no test split"),
    ({"data": {"source": "csv"}}, "data.path: missing (required for source csv)"),
    ({"data": {"source": "csv", "path": "/no/such.csv"}}, "data.path: no such file"),
    ({"schedule": {"name": "step"}}, "schedule:"),
    ({"schedule": {"name": "stepp"}}, "schedule.name: unknown schedule 'stepp'"),
    ({"callbacks": {"early_stop": {}}}, "callbacks.early_stop: unknown key"),
    ({"callbacks": {"early_stopping": {"patience": -1}}},
     "callbacks.early_stopping.patience: expected a non-negative integer, got -1"),
    ({"colour": 1}, "colour: unknown key; valid keys here: name, seed"),
])
def test_other_errors(changes: dict[str, Any], fragment: str) -> None:
    assert fragment in _error(_cfg(**changes))


def test_overrides_apply_before_validation() -> None:
    raw = apply_overrides(DEFAULT_CONFIG, epochs=3, batch_size=8, lr=0.5, seed=7)
    cfg = validate_config(raw)
    assert (cfg["epochs"], cfg["batch_size"], cfg["seed"]) == (3, 8, 7)
    assert cfg["optimizer"]["lr"] == 0.5
    assert "lr" not in apply_overrides({"optimizer": "adam"}, lr=None)["optimizer"]
    assert DEFAULT_CONFIG["epochs"] == 10000  # not modified in place


def test_load_yaml_json_and_malformed(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"data": "planar", "model": ["relu"]}')
    assert load_config(tmp_path / "a.json")["data"] == "planar"
    (tmp_path / "b.yaml").write_text("data: planar\nmodel: [relu\n")
    with pytest.raises(CLIError, match=r"malformed YAML at line \d+"):
        load_config(tmp_path / "b.yaml")
    (tmp_path / "c.yaml").write_text("- just a list\n")
    with pytest.raises(CLIError, match="expected a mapping"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(CLIError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")


def test_build_model_infers_shapes_and_rejects_misfits() -> None:
    spec = validate_model([{"conv2d": {"filters": 2, "kernel_size": 3, "padding": "same",
                                       "activation": "relu"}}, {"maxpool2d": 2}, "flatten",
                           {"batchnorm": {}}, {"dropout": 0.1}, {"dense": 3}])
    model = build_model(spec, (1, 8, 8))
    assert model[-1].weight.shape == (3, 2 * 4 * 4)
    with pytest.raises(ConfigError, match=r"model\[1\].dense: needs flat input"):
        build_model(validate_model([{"conv2d": {"filters": 2, "kernel_size": 3}},
                                    {"dense": 3}]), (1, 8, 8))
    with pytest.raises(ConfigError, match=r"model\[0\].conv2d: needs image input"):
        build_model(validate_model([{"conv2d": {"filters": 2, "kernel_size": 3}}]), (64,))
    with pytest.raises(ConfigError, match=r"model\[0\].conv2d"):
        build_model(validate_model([{"conv2d": {"filters": 2, "kernel_size": 9}}]), (1, 4, 4))


def test_preprocessor_round_trip_config() -> None:
    X = np.arange(2 * 5 * 5 * 3, dtype=np.uint8).reshape(2, 5, 5, 3)
    p = Preprocessor(scale=255, layout="image", standardize=True)
    Z = p.fit_transform(X)
    assert Z.shape == (2, 3, 5, 5) and Z.dtype == np.float32
    q = Preprocessor.from_config(p.get_config())
    np.testing.assert_allclose(q.transform(X), Z, rtol=1e-6)
    with pytest.raises(ValueError, match=r"examples have shape \(5, 5\)"):
        q.transform(np.zeros((1, 5, 5)))
    flat = Preprocessor(scale=255, layout="flat").fit_transform(X)
    np.testing.assert_allclose(flat[0], X[0].reshape(-1) / 255, rtol=1e-6)

"""One configuration vocabulary: Keras's layer keys, PyTorch's accepted as aliases, old keys
with a deprecation warning; one default initialization rule; Keras's optimizer names too."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.cli import layers as L
from deepgrad.cli.config import DEFAULT_CONFIG, validate_config
from deepgrad.cli.errors import ConfigError
from deepgrad.cli.layers import build_model, validate_model

from .conftest import run_cli


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "_warned", set())


@pytest.mark.parametrize("entry, canonical", [
    ({"conv2d": {"filters": 2, "kernel_size": 3, "stride": 2, "bias": False}},
     {"conv2d": {"filters": 2, "kernel_size": 3, "strides": 2, "use_bias": False}}),
    ({"conv2d": {"out_channels": 2, "kernel_size": 3}},
     {"conv2d": {"filters": 2, "kernel_size": 3}}),
    ({"maxpool2d": {"kernel_size": 3, "stride": 1}},
     {"maxpool2d": {"pool_size": 3, "strides": 1}}),
    ({"batchnorm": {"eps": 1e-3}}, {"batchnorm": {"epsilon": 1e-3}}),
    ({"layernorm": {"eps": 1e-3}}, {"layernorm": {"epsilon": 1e-3}}),
    ({"dropout": {"p": 0.3}}, {"dropout": {"rate": 0.3}}),
    ({"dense": {"out_features": 3, "bias": False}}, {"dense": {"units": 3, "use_bias": False}}),
    ({"lstm": {"hidden_size": 3, "bias": False}}, {"lstm": {"units": 3, "use_bias": False}}),
])
def test_pytorch_names_are_silent_aliases(entry: dict[str, Any], canonical: dict[str, Any],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_model([entry]) == validate_model([canonical])
    assert capsys.readouterr().err == ""


def test_resolved_layers_use_keras_names() -> None:
    spec = validate_model([{"conv2d": {"filters": 2, "kernel_size": 3, "stride": 1}},
                           {"maxpool2d": 2}, "relu"])
    assert set(spec[0]["conv2d"]) == {"filters", "kernel_size", "strides", "padding",
                                      "activation", "use_bias", "kernel_initializer",
                                      "bias_initializer"}
    assert spec[1] == {"maxpool2d": {"pool_size": 2, "strides": None, "padding": 0}}
    assert spec[2] == {"activation": {"activation": "relu"}}


def test_deprecated_keys_work_and_warn_once(capsys: pytest.CaptureFixture[str]) -> None:
    old = [{"conv2d": {"filters": 2, "kernel_size": 3, "init": "he_normal"}},
           {"conv2d": {"filters": 2, "kernel_size": 3, "init": "he_normal"}},
           {"activation": {"name": "tanh"}}]
    new = [{"conv2d": {"filters": 2, "kernel_size": 3, "kernel_initializer": "he_normal"}},
           {"conv2d": {"filters": 2, "kernel_size": 3, "kernel_initializer": "he_normal"}},
           {"activation": "tanh"}]
    assert validate_model(old) == validate_model(new)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "deepgrad: warning: model[0].conv2d.init: 'init' is deprecated in conv2d layers; "
        "use 'kernel_initializer' (same values)",
        "deepgrad: warning: model[2].activation.name: 'name' is deprecated in activation "
        "layers; use 'activation' (same values)"]
    validate_model(old)
    assert capsys.readouterr().err == ""  # once per process


def test_an_alias_and_its_key_together_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"model\[0\].conv2d.stride: 'stride' and 'strides' "
                       "name the same setting"):
        validate_model([{"conv2d": {"filters": 2, "kernel_size": 3, "stride": 1,
                                    "strides": 1}}])
    with pytest.raises(ConfigError, match=r"unknown key; valid keys here: units, activation"):
        validate_model([{"dense": {"units": 2, "filters": 3}}])


def _glorot_bound(w: np.ndarray) -> float:
    fan_in = int(np.prod(w.shape[1:]))
    fan_out = w.shape[0] * int(np.prod(w.shape[2:]))
    return math.sqrt(6 / (fan_in + fan_out))


def test_default_init_is_keras_for_dense_and_conv() -> None:
    dg.manual_seed(0)
    model = build_model(validate_model([{"conv2d": {"filters": 8, "kernel_size": 3}},
                                        "flatten", {"dense": 16}]), (4, 5, 5))
    conv, dense = model[0], model[2]
    for layer in (conv, dense):
        w = layer.weight.numpy()
        bound = _glorot_bound(w)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
        assert not layer.bias.numpy().any()


def test_pytorch_init_on_request() -> None:
    dg.manual_seed(0)
    spec = validate_model([{"conv2d": {"filters": 8, "kernel_size": 3,
                                       "kernel_initializer": "pytorch"}}, "flatten",
                           {"dense": {"units": 16, "kernel_initializer": "pytorch"}}])
    assert spec[0]["conv2d"]["bias_initializer"] is None
    model = build_model(spec, (4, 5, 5))
    for layer in (model[0], model[2]):
        w, b = layer.weight.numpy(), layer.bias.numpy()
        bound = 1 / math.sqrt(int(np.prod(w.shape[1:])))  # kaiming_uniform(a=√5)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
        assert np.abs(b).max() <= bound and b.any()
    spec = validate_model([{"dense": {"units": 4, "kernel_initializer": "pytorch",
                                      "bias_initializer": "ones"}}])
    assert build_model(spec, (3,))[0].bias.numpy().tolist() == [1, 1, 1, 1]


def test_conv_bias_initializer_is_applied() -> None:
    spec = validate_model([{"conv2d": {"filters": 2, "kernel_size": 1,
                                       "bias_initializer": "ones"}}])
    assert build_model(spec, (1, 3, 3))[0].bias.numpy().tolist() == [1, 1]


def test_batchnorm_momentum_is_pytorchs_and_a_keras_value_warns(
        capsys: pytest.CaptureFixture[str]) -> None:
    model = build_model(validate_model([{"batchnorm": {"momentum": 0.2, "epsilon": 1e-3}}]),
                        (3,))
    assert model[0].momentum == 0.2 and model[0].eps == 1e-3
    assert capsys.readouterr().err == ""
    validate_model([{"batchnorm": {"momentum": 0.99}}])
    assert "Keras's momentum m is 1 - m here (0.99 -> 0.01)" in capsys.readouterr().err


def _opt(**settings: Any) -> dict[str, Any]:
    c = copy.deepcopy(DEFAULT_CONFIG)
    c["optimizer"] = settings
    return validate_config(c)["optimizer"]


def test_optimizer_accepts_keras_names() -> None:
    assert _opt(name="adam", learning_rate=0.01, epsilon=1e-7, beta_1=0.8) == {
        "name": "adam", "lr": 0.01, "eps": 1e-7, "betas": [0.8, 0.999]}
    assert _opt(name="rmsprop", rho=0.9) == {"name": "rmsprop", "alpha": 0.9}
    with pytest.raises(ConfigError, match="optimizer.epsilon: 'epsilon' and 'eps'"):
        _opt(name="adam", eps=1e-8, epsilon=1e-7)
    with pytest.raises(ConfigError, match="optimizer.betas: give betas or beta_1/beta_2"):
        _opt(name="adam", betas=[0.9, 0.99], beta_2=0.9)
    with pytest.raises(ConfigError, match="optimizer.epsilon: unknown key"):
        _opt(name="sgd", epsilon=0.1)  # SGD has no eps


def test_train_with_old_keys_prints_the_warning(tmp_path: Path) -> None:
    cfg = tmp_path / "old.yaml"
    cfg.write_text("data: {source: planar, options: {m: 20}}\nmodel:\n"
                   "  - dense: {units: 3, activation: tanh}\n  - activation: {name: tanh}\n"
                   "  - dense: {units: 1, activation: sigmoid}\n"
                   "optimizer: {name: adam, epsilon: 1.0e-7}\nepochs: 1\n")
    r = run_cli("train", str(cfg), "--out", str(tmp_path / "run"), "-q")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("deepgrad: warning:") == 1 and "'name' is deprecated" in r.stderr
    assert "activation: {activation: tanh}" in (tmp_path / "run" / "config.yaml").read_text()

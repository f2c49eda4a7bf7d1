"""Graph models in configs: named layers wired by ``inputs:``, merge kinds, errors that name
the node, and ``deepgrad train`` / ``summary --plot`` on a residual config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.cli.errors import ConfigError
from deepgrad.cli.layers import build_model, validate_model

from .conftest import assert_user_error, run_cli

RESIDUAL = {
    "input": "x",
    "layers": [
        {"name": "h1", "dense": {"units": 3, "activation": "tanh"}},
        {"name": "h2", "dense": 3},
        {"name": "sum", "add": {}, "inputs": ["h2", "h1"]},
        "relu",
        {"name": "cat", "concatenate": {}, "inputs": ["relu_3", "x"]},
        {"name": "out", "dense": 2},
    ],
    "outputs": ["out"],
}


def _error(model: Any) -> str:
    with pytest.raises(ConfigError) as e:
        validate_model(model)
    return str(e.value)


def test_graph_spec_is_resolved_with_names_and_inputs() -> None:
    spec = validate_model(RESIDUAL)
    assert [(n["name"], n["inputs"]) for n in spec["layers"]] == [
        ("h1", ["x"]), ("h2", ["h1"]), ("sum", ["h2", "h1"]), ("relu_3", ["sum"]),
        ("cat", ["relu_3", "x"]), ("out", ["cat"])]
    assert spec["layers"][4]["concatenate"] == {"axis": 1}
    assert validate_model(spec) == spec  # the resolved form validates to itself


def test_graph_model_computes_what_its_layers_say() -> None:
    dg.manual_seed(0)
    model = build_model(validate_model(RESIDUAL), (4,))
    assert model.is_graph and model.input_names == ["x"] and model.output_names == ["out"]
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    h1 = model.get_layer("h1")(x)
    h = dg.relu(model.get_layer("h2")(h1) + h1)
    want = model.get_layer("out")(dg.concatenate([h, dg.tensor(x)], axis=1))
    np.testing.assert_allclose(model(x).numpy(), want.numpy(), rtol=1e-6)


def test_layers_may_be_listed_in_any_order() -> None:
    model = {"layers": [{"name": "b", "dense": 2, "inputs": "a"},
                        {"name": "a", "dense": 3, "inputs": "input"}], "outputs": "b"}
    built = build_model(validate_model(model), (4,))
    assert [n.name for n in built.nodes] == ["input", "a", "b"]


def test_conv_with_activation_is_two_layers_named_after_the_node() -> None:
    spec = validate_model({"layers": [
        {"name": "c", "conv2d": {"filters": 2, "kernel_size": 3, "activation": "relu"}},
        {"name": "p", "globalavgpool2d": {}}]})
    model = build_model(spec, (1, 5, 5))
    assert [n.name for n in model.nodes] == ["input", "c", "c_relu", "p"]
    assert model.get_node("p").inputs == ["c_relu"]


@pytest.mark.parametrize("model, message", [
    ({"layers": [{"name": "a", "dense": 2}, {"name": "a", "dense": 2}]},
     "model.layers[1].name: duplicate name 'a' (already used by model.layers[0] (a))"),
    ({"layers": [{"name": "input", "dense": 2}]},
     "model.layers[0].name: duplicate name 'input' (already used by model.input)"),
    ({"layers": [{"name": "a", "dense": 2, "inputs": "nope"}]},
     "model.layers[0] (a).inputs[0]: unknown input 'nope'; known: input, a"),
    ({"layers": [{"name": "a", "dense": 2}, {"name": "b", "add": {}, "inputs": ["a", "c"]},
                 {"name": "c", "dense": 2, "inputs": "b"}], "outputs": "c"},
     "model.layers[1] (b): is in a cycle: b <- c <- b"),
    ({"layers": [{"name": "a", "dense": 2, "inputs": "a"}]},
     "model.layers[0] (a): is in a cycle: a <- a"),
    ({"layers": [{"name": "a", "dense": 2}, {"name": "b", "dense": 2, "inputs": "input"}],
      "outputs": "b"},
     "model.layers[0] (a): its output is used by no layer and is not in outputs"),
    ({"input": "img", "layers": [{"name": "a", "dense": 2, "inputs": "a2"},
                                  {"name": "a2", "dense": 2, "inputs": "a"}], "outputs": "a"},
     "is in a cycle"),
    ({"layers": [{"name": "a", "dense": 2}], "outputs": ["b"]},
     "model.outputs[0]: 'b' is never reached: no layer is named so; layers: a"),
    ({"layers": [{"name": "a", "dense": 2}, {"name": "b", "dense": 2}], "outputs": ["a", "b"]},
     "model.outputs: deepgrad train fits one output"),
    ({"layers": [{"name": "a", "dense": 2, "relu": None}]},
     "model.layers[0]: expected one layer kind besides name and inputs, got dense, relu"),
    ({"layers": [{"name": "a", "dense": {"units": 0}}]},
     "model.layers[0].dense.units: expected a positive integer, got 0"),
    ({"layers": [{"name": "a", "concatenate": {"axis": "x"}}]},
     "model.layers[0].concatenate.axis: expected an integer, got 'x'"),
    ({"layers": [{"dense": 2}], "extra": 1}, "model.extra: unknown key"),
    ({"layers": []}, "model.layers: expected a non-empty list of layers"),
])
def test_graph_errors_name_the_node(model: Any, message: str) -> None:
    assert message in _error(model)


def test_merge_kinds_belong_to_graphs() -> None:
    assert "'add' merges several layers' outputs: declare the model as a graph" in _error(
        [{"dense": 2}, {"add": {}}])
    msg = _error({"layers": [{"name": "a", "addd": {}}]})
    assert "unknown layer 'addd'; valid layers:" in msg and "concatenate" in msg
    assert "concatenate" not in _error([{"addd": {}}])


def test_the_input_must_be_used() -> None:
    # every layer takes another layer: the input feeds nothing (and there is a cycle)
    msg = _error({"layers": [{"name": "a", "dense": 2, "inputs": "b"},
                             {"name": "b", "dense": 2, "inputs": "a"}], "outputs": "a"})
    assert "cycle" in msg
    msg = _error({"layers": [{"name": "a", "dense": 2, "inputs": "b"},
                             {"name": "b", "dense": 2, "inputs": "c"},
                             {"name": "c", "dense": 2, "inputs": "b"}], "outputs": "a"})
    assert "cycle" in msg


@pytest.mark.parametrize("model, shape, message", [
    ({"layers": [{"name": "a", "dense": 2}, {"name": "s", "add": {}, "inputs": ["a", "input"]}]},
     (3,), "model.layers[1] (s): doesn't fit its inputs (None, 2), (None, 3)"),
    ({"layers": [{"name": "s", "add": {}, "inputs": "input"}]}, (3,),
     "model.layers[0] (s): add takes at least 2 inputs, got 1"),
    ({"layers": [{"name": "a", "dense": 2}, {"name": "s", "subtract": {},
                                             "inputs": ["a", "a", "a"]}]}, (3,),
     "model.layers[1] (s): subtract takes exactly 2 inputs, got 3"),
    ({"layers": [{"name": "a", "dense": 3}, {"name": "b", "dense": 2, "inputs": ["a", "input"]}]},
     (3,), "model.layers[1] (b): dense takes one input, got 2; merge them first"),
    ({"layers": [{"name": "c", "conv2d": {"filters": 2, "kernel_size": 3}}]}, (4,),
     "model.layers[0] (c): needs image input"),
])
def test_build_errors_name_the_node(model: Any, shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        build_model(validate_model(model), shape)
    assert message in str(e.value)


RESNET_YAML = """\
name: tiny-resnet
seed: 0
data: {source: npz, path: img.npz, validation: 0.25,
       preprocessing: {scale: 255, layout: image}}
model:
  layers:
    - {name: stem, conv2d: {filters: 4, kernel_size: 3, padding: same, use_bias: false}}
    - {name: stem_bn, batchnorm: {}}
    - {name: stem_relu, relu: null}
    - {name: c1, conv2d: {filters: 4, kernel_size: 3, padding: same}}
    - {name: bn1, batchnorm: {}}
    - {name: add, add: {}, inputs: [bn1, stem_relu]}
    - {name: proj, conv2d: {filters: 8, kernel_size: 1, strides: 2}}
    - {name: c2, conv2d: {filters: 8, kernel_size: 3, strides: 2, padding: 1,
                          activation: relu}, inputs: add}
    - {name: add2, add: {}, inputs: [c2, proj]}
    - {name: pool, globalavgpool2d: {}}
    - {name: logits, dense: 3}
  outputs: [logits]
optimizer: {name: adam, learning_rate: 0.01}
epochs: 2
batch_size: 8
"""


def test_train_a_residual_config_and_draw_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "img.npz", X=rng.integers(0, 256, (24, 8, 8)).astype(np.uint8),
             y=rng.integers(0, 3, 24))
    (tmp_path / "resnet.yaml").write_text(RESNET_YAML)
    r = run_cli("train", "resnet.yaml", "--out", "run", "-q", cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    model = dg.load(tmp_path / "run" / "model.dg")
    assert model.is_graph and model.get_node("add2").inputs == ["c2_relu", "proj"]
    r = run_cli("summary", "run/model.dg", "--plot", "model.dot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Connected to" in r.stdout and "wrote the layer graph to model.dot" in r.stdout
    dot = (tmp_path / "model.dot").read_text()
    assert '"bn1" -> "add"' in dot and '"stem_relu" -> "add"' in dot
    assert 'label="add2: Add\\n(None, 8, 4, 4)"' in dot
    r = run_cli("summary", "run/model.dg", "--plot", "model.png", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "model.png").read_bytes()[:4] == b"\x89PNG"
    r = run_cli("gradcheck", "resnet.yaml", "--examples", "2", cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_graph_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "data: {source: planar, options: {m: 20}}\nmodel:\n  layers:\n"
        "    - {name: a, dense: 2, inputs: b}\n    - {name: b, dense: 1, inputs: a}\n"
        "  outputs: [b]\n")
    assert_user_error(run_cli("train", "bad.yaml", cwd=tmp_path), "model.layers[0] (a)",
                      "cycle")


def test_summary_plot_errors(tmp_path: Path, trained_tiny: Path) -> None:
    model = str(trained_tiny / "model.dg")
    assert_user_error(run_cli("summary", model, "--plot", str(tmp_path / "m.jpg")),
                      "unknown format '.jpg'")
    assert_user_error(run_cli("summary", model, "--plot", str(tmp_path)), "is a directory")
    r = run_cli("summary", model, "--plot", str(tmp_path / "m.dot"))
    assert r.returncode == 0, r.stderr
    assert '"0" [label="0: Dense\\n(None, 4)"' in (tmp_path / "m.dot").read_text()

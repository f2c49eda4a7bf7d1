"""examples/resnet.py: the functional ResNet and the Module ResNet are the same network."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.cli.config import load_config, validate_config
from deepgrad.cli.layers import build_model

ROOT = Path(__file__).resolve().parents[1]


def _example():
    spec = importlib.util.spec_from_file_location("resnet_example", ROOT / "examples/resnet.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["resnet_example"] = mod
    spec.loader.exec_module(mod)
    return mod


R = _example()
SMALL = {"widths": (3, 5), "blocks": 2}  # stage 1: identity blocks; stage 2: a projection


def _pair(dtype: str = "float64") -> tuple[dg.nn.Model, dg.nn.Module]:
    with dg.default_dtype(dtype):
        dg.manual_seed(1)
        f = R.resnet_functional((2, 8, 8), num_classes=4, **SMALL)
        dg.manual_seed(2)  # different weights until copied
        m = R.ResNet(2, num_classes=4, **SMALL)
    return f, m


def test_the_functional_model_has_identity_and_projection_shortcuts() -> None:
    f, _ = _pair()
    adds = {n.name: n.inputs for n in f.nodes if n.kind == "Add"}
    assert adds == {"block1_add": ["block1_bn2", "stem_relu"],
                    "block2_add": ["block2_bn2", "block1_out"],
                    "block3_add": ["block3_bn2", "block3_proj_bn"],
                    "block4_add": ["block4_bn2", "block3_out"]}
    assert f.get_node("block3_proj_conv").output.shape == (None, 5, 4, 4)
    assert f.outputs[0].shape == (None, 4)
    assert R.module_name("block3_proj_bn.running_var") == "blocks.2.proj_bn.running_var"


@pytest.mark.parametrize("training", [True, False])
def test_same_weights_give_identical_outputs_and_gradients(training: bool) -> None:
    f, m = _pair()
    x = np.random.default_rng(0).standard_normal((3, 2, 8, 8))
    with pytest.raises(AssertionError):
        np.testing.assert_array_equal(f(x).numpy(), m(x).numpy())
    f, m = _pair()
    R.copy_weights(f, m)
    f.train(training)
    m.train(training)
    yf, ym = f(x), m(x)
    assert yf.dtype == np.float64
    np.testing.assert_array_equal(yf.numpy(), ym.numpy())
    g = np.random.default_rng(1).standard_normal(yf.shape)
    yf.backward(g)
    ym.backward(g)
    grads = {R.module_name(k): p.grad for k, p in f.named_parameters()}
    for k, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, grads[k], rtol=1e-12, atol=1e-14, err_msg=k)
    sf, sm = f.state_dict(), m.state_dict()  # BN statistics moved alike (train mode)
    for k, v in sf.items():
        np.testing.assert_array_equal(np.asarray(v), np.asarray(sm[R.module_name(k)]))


def test_float32_stays_float32() -> None:
    f, m = _pair("float32")
    R.copy_weights(f, m)
    x = np.ones((2, 2, 8, 8), dtype=np.float32)
    assert f(x).dtype == np.float32 and m(x).dtype == np.float32
    np.testing.assert_array_equal(f(x).numpy(), m(x).numpy())


def test_the_yaml_config_builds_the_same_network() -> None:
    cfg = validate_config(load_config(ROOT / "examples/fashion_mnist_resnet.yaml"),
                          base_dir=ROOT)
    cli = build_model(cfg["model"], (1, 28, 28))
    f = R.resnet_functional((1, 28, 28))
    assert cli.num_parameters() == f.num_parameters() == 77_754
    kinds = sorted(n.kind.replace("Dense", "Linear") for n in cli.nodes)
    assert kinds == sorted(n.kind for n in f.nodes)


def test_script_draws_and_skips_training_with_zero_epochs(tmp_path: Path) -> None:
    assert R.main(["--epochs", "0", "--plot", str(tmp_path / "r.dot")]) == 0
    assert '"block2_add"' in (tmp_path / "r.dot").read_text()

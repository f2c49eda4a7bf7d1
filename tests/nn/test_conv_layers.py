"""Conv2d, pooling and normalization layers: parameters, buffers, init, input checks,
train/eval, gradcheck of every parameter."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.testing import gradcheck


def _x(shape, seed=0, dtype=np.float64, grad=True):
    rng = np.random.default_rng(seed)
    return dg.Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=grad)


def test_conv2d_parameters_and_default_init():
    layer = nn.Conv2d(3, 8, 3, rng=0)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["weight", "bias"]
    assert layer.weight.shape == (8, 3, 3, 3) and layer.bias.shape == (8,)
    assert layer.weight.dtype == np.float32
    bound = 1 / math.sqrt(27)  # kaiming_uniform_(a=√5) gives the same bound 1/√fan_in
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound
    again = nn.Conv2d(3, 8, 3, rng=0)
    np.testing.assert_array_equal(layer.weight.data, again.weight.data)
    assert nn.Conv2d(3, 8, (2, 3), bias=False).bias is None


def test_conv2d_params_in_default_dtype():
    with dg.default_dtype(np.float64):
        layer = nn.Conv2d(2, 3, 3)
    assert layer.weight.dtype == layer.bias.dtype == np.float64


def test_conv2d_custom_init():
    layer = nn.Conv2d(2, 3, 3, init=nn.init.kaiming_normal_, rng=1)
    assert np.all(layer.bias.data == 0) and np.std(layer.weight.data) > 0
    named = nn.Conv2d(2, 3, 3, init="he_normal", rng=1)
    assert np.all(named.bias.data == 0) and np.std(named.weight.data) > 0
    with pytest.raises(ValueError, match="initializer"):
        nn.Conv2d(2, 3, 3, init="nonsense")


@pytest.mark.parametrize(
    "kw", [dict(stride=2, padding=1), dict(padding="same", dilation=2), dict(padding=(0, 1))]
)
def test_conv2d_layer_gradcheck(kw):
    with dg.default_dtype(np.float64):
        layer = nn.Conv2d(2, 3, (3, 2), rng=0, **kw)
    x = _x((2, 2, 5, 6))
    gradcheck(lambda x, W, b: layer(x), x, layer.weight, layer.bias)


@pytest.mark.parametrize("shape,match", [((2, 3, 5), r"\(N, 3, H, W\)"), ((2, 4, 5, 5), "4, 5, 5")])
def test_conv2d_input_check(shape, match):
    with pytest.raises(ValueError, match=r"Conv2d.*" + match):
        nn.Conv2d(3, 8, 3)(_x(shape, dtype=np.float32))


def test_pool_layers():
    x = _x((2, 3, 6, 6))
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 3, 3)
    assert nn.MaxPool2d(3, 2, 1)(x).shape == (2, 3, 3, 3)
    assert nn.AvgPool2d(2, 1)(x).shape == (2, 3, 5, 5)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)
    assert nn.GlobalAvgPool2d()(x).shape == (2, 3)
    gradcheck(lambda x: nn.MaxPool2d(3, 2, 1)(x), x)
    gradcheck(lambda x: nn.AvgPool2d(3, 2, 1)(x), x)
    gradcheck(lambda x: nn.GlobalAvgPool2d()(x), x)
    with pytest.raises(ValueError, match="output_size must be positive"):
        nn.AdaptiveAvgPool2d(0)
    with pytest.raises(ValueError, match=r"MaxPool2d.*\(N, C, H, W\)"):
        nn.MaxPool2d(2)(_x((6, 6)))
    with pytest.raises(ValueError, match="half the kernel"):
        nn.MaxPool2d(2, padding=2)


def test_batchnorm_names_buffers_and_train_eval():
    bn = nn.BatchNorm2d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var"]
    x = _x((4, 3, 2, 2), dtype=np.float32, grad=False)
    y = bn(x)
    assert y.dtype == np.float32 and bn.running_mean.dtype == np.float32
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.data.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(
        bn.running_var.data, 0.9 + 0.1 * x.data.var(axis=(0, 2, 3), ddof=1), rtol=1e-5
    )
    bn.eval()
    before = bn.running_mean.data.copy()
    y_eval = bn(x).numpy()
    np.testing.assert_array_equal(bn.running_mean.data, before)
    rm, rv = bn.running_mean.data.reshape(1, 3, 1, 1), bn.running_var.data.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y_eval, (x.data - rm) / np.sqrt(rv + 1e-5), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "cls,shape",
    [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)), (nn.BatchNorm2d, (3, 3, 2, 3))],
)
def test_batchnorm_gradcheck(cls, shape, training):
    with dg.default_dtype(np.float64):
        bn = cls(3)
    rng = np.random.default_rng(1)
    bn.weight.data[...] = rng.standard_normal(3)
    bn.bias.data[...] = rng.standard_normal(3)
    bn.running_mean.data[...] = rng.standard_normal(3)
    bn.running_var.data[...] = rng.uniform(0.5, 2, 3)
    bn.train(training)
    gradcheck(lambda x, w, b: bn(x), _x(shape), bn.weight, bn.bias)


def test_batchnorm_options_and_checks():
    bn = nn.BatchNorm1d(4, affine=False, track_running_stats=False)
    assert list(bn.named_parameters()) == [] and bn.running_mean is None
    bn.eval()  # no running statistics: batch statistics in eval too
    y = bn(_x((5, 4))).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-10)
    with pytest.raises(ValueError, match=r"BatchNorm1d.*\(N, 4\).*\(5, 3\)"):
        nn.BatchNorm1d(4)(_x((5, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm2d.*\(N, 4, H, W\)"):
        nn.BatchNorm2d(4)(_x((5, 4)))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm2d(4, momentum=1.5)


def test_layernorm_layer():
    ln = nn.LayerNorm((3, 4))
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]
    assert ln.weight.shape == (3, 4) and ln.weight.dtype == np.float32
    with dg.default_dtype(np.float64):
        ln = nn.LayerNorm(4)
    ln.weight.data[...] = np.arange(1.0, 5.0)
    gradcheck(lambda x, w, b: ln(x), _x((2, 3, 4)), ln.weight, ln.bias)
    with pytest.raises(ValueError, match=r"LayerNorm.*\(\.\.\., 4\).*\(2, 5\)"):
        ln(_x((2, 5)))
    assert nn.LayerNorm(4, elementwise_affine=False).weight is None


def test_cnn_example_loss_falls(monkeypatch, capsys):
    """examples/cnn_random_mnist.py trains Conv-ReLU-Pool x2 -> Linear; the loss falls."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "examples" / "cnn_random_mnist.py"
    monkeypatch.setattr("sys.argv", [str(script), "--steps", "20"])
    runpy.run_path(str(script), run_name="__main__")  # raises SystemExit if it did not fall
    out = capsys.readouterr().out
    before = float(out.split("before training: ")[1].split()[0])
    after = float(out.split("after 20 steps: ")[1].split()[0])
    assert after < before - 0.05

"""Activation modules and functions: forward vs NumPy, gradcheck, dtype, stability."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd.ops.activations import erf, hardtanh
from deepgrad.nn import functional as F
from deepgrad.nn.activation import Hardtanh
from deepgrad.testing import check_op

_erf = np.vectorize(math.erf)


def _sig(x):
    return 1 / (1 + np.exp(-x))


REFS = {
    "sigmoid": (nn.Sigmoid(), _sig),
    "tanh": (nn.Tanh(), np.tanh),
    "relu": (nn.ReLU(), lambda x: np.maximum(x, 0)),
    "leaky_relu": (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "softmax": (nn.Softmax(dim=-1),
                lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    "softmax_dim0": (nn.Softmax(dim=0),
                     lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True)),
    "log_softmax": (nn.LogSoftmax(dim=1),
                    lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    "elu": (nn.ELU(alpha=0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    "gelu": (nn.GELU(), lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    "gelu_tanh": (nn.GELU(approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi)
                                                   * (x + 0.044715 * x**3)))),
    "silu": (nn.SiLU(), lambda x: x * _sig(x)),
    "softplus": (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    "softplus_beta": (nn.Softplus(beta=2.0, threshold=3.0),
                      lambda x: np.where(2 * x > 3, x, np.log1p(np.exp(2 * x)) / 2)),
    "hardtanh": (Hardtanh(-0.5, 1.5), lambda x: np.clip(x, -0.5, 1.5)),
}


@pytest.mark.parametrize("name", sorted(REFS))
def test_activation_module(name):
    layer, ref = REFS[name]
    # avoid the kinks of relu / leaky_relu / elu at 0 for the finite differences
    check_op(layer, ref, (3, 5), low=-3, high=3, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", sorted(REFS))
def test_activation_stable_for_huge_inputs(name):
    layer, _ = REFS[name]
    for dt in (np.float32, np.float64):
        x = dg.tensor(np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype=dt), requires_grad=True)
        y = layer(x)
        y.backward(np.ones(y.shape, dtype=dt))
        assert y.dtype == dt and np.isfinite(y.data).all(), (name, y.data)
        assert np.isfinite(x.grad).all(), (name, x.grad)


def test_identity_returns_its_input():
    x = dg.tensor(np.ones((2, 3)), requires_grad=True)
    assert nn.Identity()(x) is x
    assert nn.Identity(54, unused="arg")(x) is x


def test_functional_forms_match_modules():
    x = dg.tensor(np.linspace(-3, 3, 12).reshape(3, 4))
    pairs = [
        (F.relu(x), nn.ReLU()(x)), (F.sigmoid(x), nn.Sigmoid()(x)), (F.tanh(x), nn.Tanh()(x)),
        (F.elu(x, 0.5), nn.ELU(0.5)(x)), (F.gelu(x), nn.GELU()(x)), (F.silu(x), nn.SiLU()(x)),
        (F.softplus(x), nn.Softplus()(x)), (F.leaky_relu(x, 0.1), nn.LeakyReLU(0.1)(x)),
        (F.softmax(x, axis=0), nn.Softmax(0)(x)),
        (F.log_softmax(x, axis=-1), nn.LogSoftmax()(x)),
    ]
    for a, b in pairs:
        np.testing.assert_array_equal(a.data, b.data)


def test_erf_is_float64_accurate():
    x = np.concatenate([np.linspace(-8, 8, 4001), [0.46875, -0.46875, 4.0, -4.0, 30.0]])
    np.testing.assert_allclose(erf(x), _erf(x), rtol=0, atol=4e-16)
    assert erf(x.astype(np.float32)).dtype == np.float32


def test_gelu_tails_are_accurate():
    # x Φ(x) for very negative x is tiny but must keep its relative accuracy (erfc form)
    x = np.array([-10.0, -20.0])
    expect = x * 0.5 * np.array([math.erfc(10 / math.sqrt(2)), math.erfc(20 / math.sqrt(2))])
    np.testing.assert_allclose(nn.GELU()(dg.tensor(x)).data, expect, rtol=1e-13)


def test_reprs_and_validation():
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.ReLU()) == "ReLU()"
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="beta"):
        nn.Softplus(beta=0)
    with pytest.raises(ValueError, match=r"Softmax\(dim=2\).*shape \(2, 3\)"):
        nn.Softmax(dim=2)(dg.tensor(np.zeros((2, 3))))


def test_get_activation():
    assert isinstance(nn.get_activation("relu"), nn.ReLU)
    assert isinstance(nn.get_activation(None), nn.Identity)
    assert isinstance(nn.get_activation("linear"), nn.Identity)
    assert isinstance(nn.get_activation(nn.Tanh), nn.Tanh)
    fn = F.relu
    assert nn.get_activation(fn) is fn
    with pytest.raises(ValueError, match="valid names: .*relu"):
        nn.get_activation("relux")


def test_hardtanh():
    x = dg.tensor(np.array([-2.0, -1.0, 0.3, 1.0, 2.0]), requires_grad=True)
    y = hardtanh(x)
    np.testing.assert_array_equal(y.data, [-1.0, -1.0, 0.3, 1.0, 1.0])
    y.backward(np.full(5, 2.0))
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 2.0, 0.0, 0.0])  # torch's: 0 at the ends
    assert repr(Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    assert isinstance(nn.get_activation("hardtanh"), Hardtanh)
    with pytest.raises(ValueError, match="min_val"):
        Hardtanh(1.0, 1.0)

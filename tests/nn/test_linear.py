"""Linear and Dense: forward, gradients of input and parameters, init, input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.testing import gradcheck


def _f64(layer_cls, *args, **kw):
    with dg.default_dtype(np.float64):
        return layer_cls(*args, **kw)


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_and_gradcheck(shape, bias):
    lin = _f64(nn.Linear, 4, 3, bias=bias, rng=0)
    x = dg.tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)
    y = lin(x)
    ref = x.data @ lin.weight.data.T + (lin.bias.data if bias else 0)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12)
    params = [lin.weight] + ([lin.bias] if bias else [])
    assert gradcheck(lambda x, *ps: lin(x), x, *params)


def test_linear_float32_and_no_grad():
    lin = nn.Linear(4, 3)
    x = dg.tensor(np.ones((2, 4), np.float32), requires_grad=True)
    y = lin(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert lin.weight.grad.dtype == np.float32 and lin.bias.grad.shape == (3,)
    with dg.no_grad():
        assert lin(x).grad_fn is None


def test_linear_default_init_bounds_and_seed():
    lin = nn.Linear(100, 50, rng=3)
    bound = 1 / math.sqrt(100)
    assert np.abs(lin.weight.data).max() <= bound and np.abs(lin.weight.data).max() > 0.9 * bound
    assert np.abs(lin.bias.data).max() <= bound
    np.testing.assert_array_equal(nn.Linear(100, 50, rng=3).weight.data, lin.weight.data)
    he = nn.Linear(1000, 200, init="he_normal", rng=0)
    assert abs(he.weight.data.std() - math.sqrt(2 / 1000)) < 0.003
    assert np.all(he.bias.data == 0)


def test_linear_input_check_names_layer_and_shapes():
    lin = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4.*expected input with last "
                                         r"dimension 4, got shape \(8, 5\)"):
        lin(dg.tensor(np.ones((8, 5))))


def test_dense_lazy_build_and_activation():
    d = nn.Dense(3, activation="relu", rng=0)
    assert d.weight is None and list(d.parameters()) == []
    y = d(dg.tensor(np.ones((2, 5), np.float32)))
    assert y.shape == (2, 3) and d.weight.shape == (3, 5) and np.all(y.numpy() >= 0)
    assert len(list(d.parameters())) == 2
    with pytest.raises(ValueError, match="last dimension 5"):
        d(dg.tensor(np.ones((2, 4))))
    d2 = _f64(nn.Dense, 2, activation="tanh", input_dim=3, rng=1)
    x = dg.tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    assert gradcheck(lambda x, w, b: d2(x), x, d2.weight, d2.bias)
    assert d2.get_config()["input_dim"] == 3


def test_dense_course_initializer():
    d = nn.Dense(4, input_dim=1000, kernel_initializer="small_random", rng=0)
    assert abs(d.weight.data.std() - 0.01) < 0.001


def test_zero_init_keeps_hidden_units_symmetric():
    """The course's lesson: zero initialization never breaks the symmetry of hidden
    units; random initialization does."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 2))
    y = (X[:, :1] * X[:, 1:] > 0).astype(np.float64)

    def train(init):
        with dg.default_dtype(np.float64):
            model = nn.Sequential(nn.Linear(2, 4, init=init, rng=1), nn.Tanh(),
                                  nn.Linear(4, 1, init=init, rng=2))
        for _ in range(20):
            z = model(dg.tensor(X))
            loss = dg.mean(dg.relu(z) - z * y + dg.log1p(dg.exp(-dg.abs(z))))
            model.zero_grad()
            loss.backward()
            for p in model.parameters():
                p.data -= 0.5 * p.grad
        return model[0].weight.data

    w0 = train("zeros")
    assert np.allclose(w0, w0[0])  # all hidden units identical
    w1 = train("xavier_uniform")
    assert not np.allclose(w1, w1[0])

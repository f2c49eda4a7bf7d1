"""Dropout: inverted scaling, seeded masks, eval identity, gradcheck, validation."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad._random import manual_seed
from deepgrad.nn import functional as F
from deepgrad.testing import gradcheck


def _x(shape=(4, 6), dtype=np.float64, seed=0):
    return dg.tensor(np.random.default_rng(seed).normal(size=shape).astype(dtype),
                     requires_grad=True)


def test_forward_matches_seeded_mask():
    x = _x()
    y = nn.Dropout(0.3, rng=7)(x)
    keep = np.random.default_rng(7).random(x.shape) >= 0.3
    np.testing.assert_allclose(y.data, np.where(keep, x.data / 0.7, 0.0), rtol=1e-15)


def test_gradcheck_train_and_eval():
    x = _x((3, 4))
    # a fresh generator per call fixes the mask across the finite-difference passes
    gradcheck(lambda x: nn.Dropout(0.4, rng=3)(x), x)
    gradcheck(lambda x: F.dropout(x, 0.5, training=True, rng=11), x)
    gradcheck(lambda x: nn.Dropout(0.4, rng=3).eval()(x) * 1.0, x)


def test_eval_is_identity_and_train_eval_toggle():
    x = _x()
    model = nn.Sequential(nn.Dropout(0.5, rng=0))
    model.eval()
    assert model(x) is x
    model.train()
    assert not np.array_equal(model(x).data, x.data)


def test_backward_uses_the_same_mask():
    x = _x()
    y = nn.Dropout(0.5, rng=1)(x)
    g = np.random.default_rng(2).normal(size=x.shape)
    y.backward(g)
    kept = y.data != 0
    np.testing.assert_allclose(x.grad, np.where(kept, g / 0.5, 0.0))


def test_manual_seed_repeats_exactly():
    x = _x()
    layer = nn.Dropout(0.5)
    manual_seed(123)
    a = layer(x).data.copy()
    b = layer(x).data.copy()
    manual_seed(123)
    np.testing.assert_array_equal(layer(x).data, a)
    np.testing.assert_array_equal(layer(x).data, b)
    assert not np.array_equal(a, b)


def test_edge_probabilities_and_dtype():
    x = _x(dtype=np.float32)
    y = nn.Dropout(1.0, rng=0)(x)
    assert y.dtype == np.float32 and not y.data.any()
    y.backward(np.ones(y.shape, np.float32))
    assert x.grad.dtype == np.float32 and not x.grad.any()
    assert nn.Dropout(0.0)(x) is x
    out = nn.Dropout(0.25, rng=0)(x)
    assert out.dtype == np.float32
    big = nn.Dropout(0.25, rng=0)(dg.tensor(np.ones((200, 500), np.float32)))
    assert abs(float(big.data.mean()) - 1.0) < 0.01  # inverted dropout keeps the mean


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_probability(p):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.dropout(_x(), p)


def test_repr_and_no_grad():
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2)"
    with dg.no_grad():
        y = nn.Dropout(0.2, rng=0)(_x())
    assert y.grad_fn is None and not y.requires_grad


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_mask_keeps_one_minus_p(p):
    y = F.dropout(dg.tensor(np.ones((200, 500))), p, training=True, rng=4).data
    kept = y != 0
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-15)


def test_other_dtypes_keep_their_dtype():
    for dt in (np.float16, np.float32):
        y = F.dropout(dg.tensor(np.ones((4, 5), dt)), 0.5, rng=0)
        assert y.dtype == dt and set(np.unique(y.data)) <= {0.0, 2.0}


def test_on_each_device(device):
    # masks drawn on the array's device; a seeded run repeats exactly there too
    x = dg.tensor(np.ones((100, 100), np.float32)).to(device).requires_grad_()
    y = F.dropout(x, 0.3, rng=5)
    assert y.dtype == np.float32 and type(y.data) is type(x.data)
    np.testing.assert_array_equal(dg.backend.to_numpy(F.dropout(x, 0.3, rng=5).data),
                                  dg.backend.to_numpy(y.data))
    y.backward(dg.backend.get_array_module(x.data).ones_like(y.data))
    g, out = dg.backend.to_numpy(x.grad), dg.backend.to_numpy(y.data)
    np.testing.assert_array_equal(g, out)  # x is ones: the gradient is the mask itself
    assert abs((out != 0).mean() - 0.7) < 0.03

"""Stability of sigmoid, softmax and log_softmax for inputs of magnitude 1e4."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["sigmoid", "softmax", "log_softmax", "tanh", "logsumexp"])
def test_extreme_inputs_finite(op, dtype):
    x = dg.tensor(np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = getattr(dg, op)(x) if op != "logsumexp" else dg.logsumexp(x, axis=1)
        gy = np.random.default_rng(0).standard_normal(y.shape).astype(dtype)
        y.backward(gy)
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(y.data).all() and np.isfinite(x.grad).all()


def test_sigmoid_values_accurate_in_tails():
    x = dg.tensor(np.array([-40.0, -1e4, 0.0, 40.0, 1e4]))
    y = dg.sigmoid(x).numpy()
    np.testing.assert_allclose(y[0], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-12)
    assert y[1] == 0.0 and y[2] == 0.5 and y[4] == 1.0


def test_log_softmax_extreme_values():
    x = dg.tensor(np.array([[1e4, 0.0]], dtype=np.float32))
    y = dg.log_softmax(x, axis=1).numpy()
    np.testing.assert_allclose(y, [[0.0, -1e4]])
    s = dg.softmax(x, axis=1).numpy()
    np.testing.assert_allclose(s, [[1.0, 0.0]])

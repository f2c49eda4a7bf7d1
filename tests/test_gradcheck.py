"""gradcheck itself: passes correct gradients, catches wrong ones with a precise message."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd.function import Function
from deepgrad.testing import GradcheckError, gradcheck, gradcheck_directional


class TransposedBug(Function):
    """x @ W with a backward that forgets a transpose: invisible with all-ones gy."""

    def forward(self, x, w):
        self.x, self.w = x, w
        return x @ w

    def backward(self, gy):
        return gy @ self.w, self.x.T @ gy


def test_passes_correct():
    x = dg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda t: dg.tanh(t) * t, x)
    assert gradcheck_directional(lambda t: (t @ t.T).sum(axis=0), x)


def test_catches_transposition_bug_and_names_it():
    rng = np.random.default_rng(1)
    x = dg.tensor(rng.standard_normal((3, 3)), requires_grad=True, name="x")
    w = dg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    with pytest.raises(GradcheckError) as e:
        gradcheck(lambda a, b: TransposedBug()(a, b), x, w)
    msg = str(e.value)
    assert "input 0 (x)" in msg and "element" in msg and "analytic" in msg
    assert "numeric" in msg and "relative error" in msg
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck_directional(lambda a, b: TransposedBug()(a, b), x, w)


def test_requires_float64_and_some_grad():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(dg.exp, dg.tensor(np.ones(2, np.float32), requires_grad=True))
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(dg.exp, dg.tensor(np.ones(2)))


def test_restores_existing_grad_and_data():
    x = dg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.grad = np.array([5.0, 5.0])
    before = x.data.copy()
    gradcheck(dg.exp, x)
    assert np.array_equal(x.grad, [5.0, 5.0]) and np.array_equal(x.data, before)

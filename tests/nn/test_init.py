"""Initializers: formulas, dtype kept, seeded generators, the name registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.nn import init


def t(*shape, dtype=np.float32):
    return dg.tensor(np.empty(shape, dtype))


def test_fans_and_gain():
    assert init._fan_in_and_fan_out(t(8, 4)) == (4, 8)
    assert init._fan_in_and_fan_out(t(8, 4, 3, 3)) == (36, 72)
    assert init._calculate_fan_in_and_fan_out(t(8, 4, 3, 3)) == (36, 72)  # PyTorch's name
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError):
        init.calculate_gain("bogus")
    with pytest.raises(ValueError, match="at least 2"):
        init.xavier_uniform_(t(3))


@pytest.mark.parametrize(
    "fn,std",
    [
        (lambda x, r: init.xavier_normal_(x, rng=r), math.sqrt(2 / (400 + 300))),
        (lambda x, r: init.xavier_uniform_(x, rng=r), math.sqrt(2 / (400 + 300))),
        (lambda x, r: init.kaiming_normal_(x, nonlinearity="relu", rng=r), math.sqrt(2 / 400)),
        (lambda x, r: init.kaiming_uniform_(x, nonlinearity="relu", rng=r), math.sqrt(2 / 400)),
        (lambda x, r: init.small_random_(x, rng=r), 0.01),
        (lambda x, r: init.lecun_normal_(x, rng=r), math.sqrt(1 / 400)),
        (lambda x, r: init.normal_(x, 0, 0.5, rng=r), 0.5),
    ],
)
def test_statistics_dtype_and_reproducibility(fn, std):
    a = fn(t(300, 400), np.random.default_rng(0))
    assert a.dtype == np.float32
    assert abs(a.data.std() - std) / std < 0.02 and abs(a.data.mean()) < 0.05 * std + 1e-3
    b = fn(t(300, 400), np.random.default_rng(0))
    np.testing.assert_array_equal(a.data, b.data)


def test_constants_and_uniform_bounds():
    assert np.all(init.zeros_(t(2, 2)).data == 0)
    assert np.all(init.ones_(t(2, 2)).data == 1)
    assert np.all(init.constant_(t(2, 2), 3.5).data == 3.5)
    u = init.uniform_(t(1000), -0.1, 0.2, rng=1).data
    assert u.min() >= -0.1 and u.max() < 0.2
    xb = math.sqrt(6 / 700)
    assert np.abs(init.xavier_uniform_(t(300, 400), rng=0).data).max() <= xb


def test_registry_names():
    assert init.get_initializer("glorot_uniform") is init.xavier_uniform_
    assert init.get_initializer("xavier_uniform") is init.xavier_uniform_
    x = init.get_initializer("he_normal")(t(100, 500), rng=0)
    assert abs(x.data.std() - math.sqrt(2 / 500)) < 0.003
    with pytest.raises(ValueError, match="valid names"):
        init.get_initializer("nope")


def test_manual_seed_repeats():
    dg.manual_seed(7)
    a = dg.nn.Linear(3, 3).weight.data.copy()
    dg.manual_seed(7)
    b = dg.nn.Linear(3, 3).weight.data.copy()
    np.testing.assert_array_equal(a, b)

"""ReLU6, Hardsigmoid, Hardswish, Mish, PReLU, Dropout2d and Unflatten against PyTorch,
with float64 gradchecks, float32, edge shapes (0-d, empty, kinks) and no_grad."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import functional as F
from deepgrad.testing import check_op, gradcheck

from .forms_helpers import assert_no_graph, torch_parity

DTYPES = [np.float64, np.float32]
ELEMENTWISE = {  # ours, torch's name
    "relu6": (F.relu6, "relu6"),
    "hardsigmoid": (F.hardsigmoid, "hardsigmoid"),
    "hardswish": (F.hardswish, "hardswish"),
    "mish": (F.mish, "mish"),
}
# the kinks and the saturated tails, where torch defines the gradient
SPECIAL = np.array([-1e4, -40.0, -6.0, -3.0, -1e-3, 0.0, 1e-3, 3.0, 6.0, 7.0, 40.0, 1e4])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_match_torch(name, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = ELEMENTWISE[name][0], getattr(torch.nn.functional, ELEMENTWISE[name][1])
    x = np.random.default_rng(0).normal(size=(3, 4)) * 4
    # torch's hardsigmoid backward multiplies by the float constant 1.0f / 6.0f (3e-8 off
    # in float64); ours by 1/6 in the input's dtype (checked exactly below)
    grad_rtol = 1e-7 if name == "hardsigmoid" and dtype == np.float64 else None
    for a in (x, SPECIAL, np.array(-7.0), np.zeros((0, 3))):
        torch_parity(ours, theirs, [a], [True], dtype, grad_rtol=grad_rtol)
    module = getattr(nn, {"relu6": "ReLU6", "hardsigmoid": "Hardsigmoid",
                          "hardswish": "Hardswish", "mish": "Mish"}[name])()
    torch_parity(module, theirs, [x], [True], dtype, grad_rtol=grad_rtol)


def test_hard_activations_exact_gradients():
    x = dg.tensor(SPECIAL, requires_grad=True)
    F.hardsigmoid(x).backward(np.ones(SPECIAL.shape))
    np.testing.assert_array_equal(x.grad, np.where(np.abs(SPECIAL) < 3, 1 / 6, 0))
    x.grad = None
    F.hardswish(x).backward(np.ones(SPECIAL.shape))
    np.testing.assert_array_equal(
        x.grad, np.where(SPECIAL <= -3, 0, np.where(SPECIAL < 3, SPECIAL / 3 + 0.5, 1)))


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_gradcheck_float32_no_grad(name):
    fn = ELEMENTWISE[name][0]
    # away from the kinks (at ±3, 0 and 6) so finite differences are exact
    check_op(fn, None, (4, 5), low=-8, high=8, seed=3)
    gradcheck(fn, dg.tensor(np.array([-4.5, -2.5, -0.5, 0.5, 2.5, 5.5, 6.5]),
                            requires_grad=True))
    assert_no_graph(fn, np.ones((2, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,c", [((4, 3), 3), ((2, 3, 5), 3), ((2, 3, 2, 2), 3),
                                     ((2, 3, 2, 2), 1), ((5,), 1), ((), 1), ((0, 3), 3)])
def test_prelu_matches_torch(shape, c, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    w = rng.uniform(-0.5, 0.5, size=c)
    torch_parity(F.prelu, torch.nn.functional.prelu, [x, w], [True, True], dtype)
    with dg.default_dtype(dtype):
        m = nn.PReLU(c, init=0.1)
    tm = torch.nn.PReLU(c, init=0.1,
                        dtype=torch.float64 if dtype == np.float64 else torch.float32)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
    np.testing.assert_array_equal(m.weight.data, tm.weight.detach().numpy())
    torch_parity(m, tm, [x], [True], dtype)
    if x.size:
        g = rng.normal(size=shape).astype(dtype)
        m(dg.tensor(x.astype(dtype))).backward(g)
        out = tm(torch.tensor(x.astype(dtype)))
        out.backward(torch.tensor(g))
        np.testing.assert_allclose(m.weight.grad, tm.weight.grad.numpy(),
                                   rtol=1e-10 if dtype == np.float64 else 1e-5)


def test_prelu_gradcheck_and_errors():
    check_op(F.prelu, None, (3, 2, 4), (2,), seed=4)
    check_op(F.prelu, None, (3, 4), (1,), seed=5)
    m = nn.PReLU(2)
    m.weight.data[...] = [0.3, -0.2]
    m.reset_parameters()
    np.testing.assert_array_equal(m.weight.data, [0.25, 0.25])
    assert repr(m) == "PReLU(num_parameters=2)"
    with pytest.raises(ValueError, match=r"weight must have shape \(1,\) or \(3,\)"):
        F.prelu(dg.tensor(np.ones((2, 3))), dg.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="num_parameters must be >= 1"):
        nn.PReLU(0)
    assert_no_graph(lambda a, b: F.prelu(a, b), np.ones((2, 3)), np.ones(3))


# --------------------------------------------------------------------------- Dropout2d
@pytest.mark.parametrize("shape", [(4, 6, 3, 2), (6, 3, 2)])
def test_dropout2d_zeros_whole_channels(shape):
    layer = nn.Dropout2d(0.5, rng=0)
    x = dg.tensor(np.random.default_rng(2).uniform(1, 2, size=shape), requires_grad=True)
    y = layer(x)
    assert y.shape == shape and y.dtype == x.dtype
    ratio = (y.data / x.data).reshape(shape[:-2] + (-1,))
    # every channel of every example is all-dropped or all-kept (and scaled by 1/(1 - p))
    assert np.all(np.isin(ratio, [0.0, 2.0]))
    assert np.all(ratio.min(axis=-1) == ratio.max(axis=-1))
    assert 0 < (ratio[..., 0] == 0).sum() < ratio[..., 0].size
    g = np.random.default_rng(3).normal(size=shape)
    y.backward(g)
    np.testing.assert_allclose(x.grad, g * np.round(y.data / x.data), rtol=1e-15)
    layer.eval()
    assert layer(x) is x
    # a seeded mask is the same at every call, so finite differences see the same function
    gradcheck(lambda a: F.dropout2d(a, 0.4, rng=np.random.default_rng(5)),
              dg.tensor(x.data.copy(), requires_grad=True))
    empty = F.dropout2d(dg.tensor(np.ones((0,) + shape[1:])), 0.5, rng=0)
    assert empty.shape == (0,) + shape[1:]


def test_dropout2d_rate_float32_checks_and_no_grad():
    x = dg.tensor(np.ones((400, 50, 1, 1), np.float32))
    y = F.dropout2d(x, 0.3, rng=1)
    assert y.dtype == np.float32
    assert abs((y.data == 0).mean() - 0.3) < 0.02
    np.testing.assert_array_equal(F.dropout2d(x, 1.0).data, 0)
    assert F.dropout2d(x, 0.0) is x
    a = dg.tensor(np.ones((2, 3, 2, 2)), requires_grad=True)
    with dg.no_grad():
        assert F.dropout2d(a, 0.5, rng=0).grad_fn is None
    # the same seed gives the same masks
    np.testing.assert_array_equal(nn.Dropout2d(0.5, rng=7)(a).data,
                                  nn.Dropout2d(0.5, rng=7)(a).data)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(C, H, W\), got shape \(2, 3\)"):
        F.dropout2d(dg.tensor(np.ones((2, 3))), 0.5)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        nn.Dropout2d(1.5)
    assert repr(nn.Dropout2d(0.2)) == "Dropout2d(p=0.2)"


# --------------------------------------------------------------------------- Unflatten
@pytest.mark.parametrize("dim,sizes,shape", [(1, (2, 3), (4, 6)), (-1, (2, -1), (4, 3, 6)),
                                             (0, (1, 4), (4, 5)), (1, (0, 3), (2, 0))])
def test_unflatten_matches_torch(dim, sizes, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).normal(size=shape)
    torch_parity(nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), [x], [True])
    if x.size:
        gradcheck(nn.Unflatten(dim, sizes), dg.tensor(x, requires_grad=True))
    assert nn.Unflatten(dim, sizes)(dg.tensor(x.astype(np.float32))).dtype == np.float32
    assert_no_graph(nn.Unflatten(dim, sizes), x)


def test_unflatten_round_trips_flatten_and_checks():
    x = dg.tensor(np.arange(24.0).reshape(2, 3, 4))
    model = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 4)))
    np.testing.assert_array_equal(model(x).data, x.data)
    assert repr(nn.Unflatten(1, [3, 4])) == "Unflatten(dim=1, unflattened_size=(3, 4))"
    with pytest.raises(ValueError, match=r"unflattened_size \(5, 2\) has 10 elements but "
                                         r"dimension 1 of input shape \(2, 12\) has size 12"):
        nn.Unflatten(1, (5, 2))(dg.tensor(np.ones((2, 12))))
    with pytest.raises(ValueError, match="cannot split size 12"):
        nn.Unflatten(1, (5, -1))(dg.tensor(np.ones((2, 12))))
    with pytest.raises(ValueError, match="at most one -1"):
        nn.Unflatten(1, (-1, -1))
    with pytest.raises(TypeError, match="tuple or list of ints"):
        nn.Unflatten(1, 4)
    with pytest.raises(ValueError, match="dim 2 is out of range"):
        nn.Unflatten(2, (2, 2))(dg.tensor(np.ones((2, 4))))


def test_new_activations_by_name():
    for name, cls in [("relu6", nn.ReLU6), ("mish", nn.Mish), ("hardswish", nn.Hardswish),
                      ("hard_swish", nn.Hardswish), ("hardsigmoid", nn.Hardsigmoid),
                      ("hard_sigmoid", nn.Hardsigmoid), ("prelu", nn.PReLU)]:
        assert type(nn.get_activation(name)) is cls

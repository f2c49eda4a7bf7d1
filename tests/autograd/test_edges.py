"""Regression tests for issue 13's bug groups 1, 2 and 4: reductions and shape ops on 0-d
tensors, empty tensors (softmax, reductions, matmul, concatenation), exact GELU/erf on a
0-d input."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd.ops.activations import erf
from deepgrad.nn import functional as F
from deepgrad.testing import gradcheck

from ._parity import torch_parity

REDUCTIONS = ["sum", "mean", "max", "min", "logsumexp", "var", "std"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [0, -1, None, (0,), ()])
def test_reduction_of_0d_over_axis_0_returns_the_value(name, axis):
    x = dg.tensor(np.array(1.5), requires_grad=True)
    y = getattr(dg, name)(x, axis=axis)
    expected = 0.0 if name in ("var", "std") else 1.5
    assert y.shape == () and y.item() == expected
    y.backward()
    assert x.grad.shape == ()
    if name not in ("var", "std"):
        fn = getattr(dg, name)
        gradcheck(lambda t: fn(t, axis=axis), x)


@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "logsumexp"])
def test_reduction_of_0d_matches_torch(name, dim):
    torch = pytest.importorskip("torch")
    fn = getattr(dg, name)
    tfn = getattr(torch, {"max": "amax", "min": "amin"}.get(name, name))
    torch_parity(lambda t: fn(t, axis=dim, keepdims=True), lambda t: tfn(t, dim, keepdim=True),
                 np.array(0.7))


def test_0d_axis_out_of_range_is_an_index_and_value_error():
    x = dg.tensor(np.array(1.5))
    for bad in (1, -2):
        with pytest.raises(IndexError, match="out of range"):
            dg.sum(x, axis=bad)
        with pytest.raises(ValueError, match="out of range"):
            dg.squeeze(x, bad)


def test_shape_ops_on_0d():
    x = dg.tensor(np.array(2.5), requires_grad=True)
    for y in (dg.squeeze(x, 0), dg.squeeze(x, -1), dg.squeeze(x), dg.swapaxes(x, 0, 0),
              dg.swapaxes(x, -1, 0), dg.permute(x), dg.transpose(x), x.transpose(0, -1),
              dg.reshape(x, ()), dg.max(x, dim=0).values):
        assert y.shape == () and y.item() == 2.5
    assert dg.unsqueeze(x, 0).shape == (1,) and dg.expand_dims(x, -1).shape == (1,)
    assert dg.flatten(x).shape == (1,) and dg.stack([x, x]).shape == (2,)
    assert x.expand(3).shape == (3,) and x.repeat(2, 2).shape == (2, 2)
    assert dg.argmax(x, dim=0).item() == 0 and x.argmin().item() == 0
    with pytest.raises(ValueError, match="0-d"):
        dg.concatenate([x, x])
    with pytest.raises(ValueError, match="out of range"):
        dg.unsqueeze(x, 2)
    (dg.squeeze(x, 0) * 3.0).backward()
    assert x.grad == 3.0


@pytest.mark.parametrize("fn", [dg.softmax, dg.log_softmax])
@pytest.mark.parametrize("shape,axis", [((2, 0), 1), ((0, 3), 1), ((0, 3), 0), ((0,), 0)])
def test_softmax_over_empty_is_empty(fn, shape, axis):
    x = dg.tensor(np.zeros(shape), requires_grad=True)
    y = fn(x, axis)
    assert y.shape == shape and y.dtype == np.float64
    y.backward(np.zeros(shape))
    assert x.grad.shape == shape
    x32 = dg.tensor(np.zeros(shape, np.float32))
    assert fn(x32, dim=axis).dtype == np.float32


@pytest.mark.filterwarnings("ignore:.*degrees of freedom", "ignore:invalid value")
@pytest.mark.parametrize("shape,axis", [((2, 0), 1), ((0, 3), 0), ((0, 3), None),
                                        ((2, 0, 3), (0, 1)), ((0, 3), 1)])
def test_reductions_over_empty_match_torch(shape, axis):
    torch = pytest.importorskip("torch")
    a = np.zeros(shape)
    dim = tuple(range(len(shape))) if axis is None else axis
    torch_parity(lambda t: dg.sum(t, axis), lambda t: torch.sum(t, dim), a)
    torch_parity(lambda t: dg.mean(t, axis), lambda t: torch.mean(t, dim), a)
    torch_parity(lambda t: dg.logsumexp(t, axis), lambda t: torch.logsumexp(t, dim), a)
    torch_parity(lambda t: dg.var(t, axis), lambda t: torch.var(t, dim, correction=0), a)


def test_max_over_an_empty_axis_raises_clearly():
    x = dg.tensor(np.zeros((2, 0)))
    for fn in (dg.max, dg.min):
        with pytest.raises(IndexError, match="axis 1 of size 0"):
            fn(x, axis=1)
        with pytest.raises(ValueError, match="size 0"):
            fn(x)
    assert dg.max(dg.tensor(np.zeros((0, 3))), axis=1).shape == (0,)  # nothing to reduce
    with pytest.raises(ValueError, match="empty"):
        dg.argmax(x)


def test_var_without_degrees_of_freedom_is_nan():
    x = dg.tensor(np.array([2.0]), requires_grad=True)
    y = dg.var(x, correction=1)
    assert np.isnan(y.item())
    y.backward()
    assert np.isnan(x.grad).all()  # as torch: 0 * (1 / 0)


@pytest.mark.parametrize("sa,sb", [((2, 0), (0, 3)), ((0, 4), (4, 3)), ((2, 4), (4, 0)),
                                   ((3, 0, 2), (2, 5))])
def test_matmul_with_a_zero_dimension(sa, sb):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    torch_parity(dg.matmul, torch.matmul, rng.standard_normal(sa), rng.standard_normal(sb))
    torch_parity(dg.matmul, torch.matmul, rng.standard_normal(sa), rng.standard_normal(sb),
                 dtype=np.float32)


def test_concatenate_with_empty_parts():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b, c = rng.standard_normal((2, 0)), rng.standard_normal((2, 3)), rng.standard_normal((2, 0))
    torch_parity(lambda *t: dg.cat(t, dim=1), lambda *t: torch.cat(t, dim=1), a, b, c)
    torch_parity(lambda *t: dg.concatenate(t, axis=0), lambda *t: torch.cat(t, 0),
                 np.zeros((0, 3)), b, dtype=np.float32)
    x = dg.tensor(b, requires_grad=True)
    gradcheck(lambda t: dg.cat([dg.tensor(a), t, dg.tensor(c)], dim=1), x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("value", [-7.0, -30.0, -4.5, 0.3, 6.0])
def test_exact_gelu_and_erf_on_0d(dtype, value):
    x = dg.tensor(np.array(value, dtype), requires_grad=True)
    y = F.gelu(x)
    assert y.shape == () and y.dtype == dtype
    y.backward()
    e = erf(np.array(value, dtype))
    assert np.shape(e) == () and np.asarray(e).dtype == dtype
    torch = pytest.importorskip("torch")
    torch_parity(F.gelu, torch.nn.functional.gelu, np.array(value), dtype=dtype)
    ref = torch.erf(torch.tensor(value, dtype=torch.float64)).item()
    np.testing.assert_allclose(float(e), ref, rtol=1e-6 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(erf(np.full((2, 1), value)), np.full((2, 1), ref), rtol=1e-14)


def test_concatenate_axis_none_joins_flattened_parts_as_numpy():
    parts = [np.arange(4.0).reshape(2, 2), np.zeros(0), np.ones(3)]
    check = np.concatenate(parts, axis=None)
    x = dg.tensor(parts[0], requires_grad=True)
    y = dg.concatenate([x, dg.tensor(parts[1]), dg.tensor(parts[2])], axis=None)
    np.testing.assert_array_equal(y.numpy(), check)
    gradcheck(lambda t: dg.concatenate([t, dg.tensor(parts[2])], axis=None), x)

"""deepgrad.nn.utils: clip_grad_norm_, clip_grad_value_, parameters_to_vector,
vector_to_parameters, against torch.nn.utils."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.testing import gradcheck

TOL = {np.float32: dict(rtol=1e-5, atol=1e-7), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _pairs(dtype, seed=0, scale=3.0):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    ours, theirs = [], []
    for s in shapes:
        w, g = rng.standard_normal(s).astype(dtype), (scale * rng.standard_normal(s)).astype(dtype)
        p = nn.Parameter(w.copy())
        p.grad = g.copy()
        t = torch.nn.Parameter(torch.tensor(w.copy()))
        t.grad = torch.tensor(g.copy())
        ours.append(p)
        theirs.append(t)
    none_p, none_t = nn.Parameter(np.ones(2, dtype)), torch.nn.Parameter(
        torch.ones(2, dtype=torch.float64 if dtype == np.float64 else torch.float32))
    return ours + [none_p], theirs + [none_t]  # a parameter without grad is skipped


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = _pairs(dtype)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, dg.Tensor) and total.shape == () and total.dtype == dtype
    np.testing.assert_allclose(total.item(), ref.item(), **TOL[dtype])
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is None:
            assert p.grad is None
            continue
        np.testing.assert_allclose(p.grad, t.grad.numpy(), **TOL[dtype])
        assert p.grad.dtype == dtype


def test_clip_grad_norm_shares_optim_arithmetic_and_errors():
    ours, _ = _pairs(np.float64)
    again, _ = _pairs(np.float64)
    a = nn.utils.clip_grad_norm_(ours, 1.0)
    b = dg.optim.clip_grad_norm_(again, 1.0)
    assert isinstance(b, float) and a.item() == b
    for p, q in zip(ours, again, strict=True):
        assert (p.grad is None and q.grad is None) or np.array_equal(p.grad, q.grad)
    single = nn.Parameter(np.ones(2))
    single.grad = np.array([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(single, 10.0).item() == 5.0  # one tensor, not a list
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    bad = nn.Parameter(np.ones(2))
    bad.grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([bad], 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_value_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = _pairs(dtype)
    nn.utils.clip_grad_value_(ours, 0.8)
    torch.nn.utils.clip_grad_value_(theirs, 0.8)
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is not None:
            np.testing.assert_array_equal(p.grad, t.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parameters_to_vector_and_back_match_torch(dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = _pairs(dtype)
    v = nn.utils.parameters_to_vector(ours)
    vt = torch.nn.utils.parameters_to_vector(theirs)
    assert v.shape == (26,) and v.dtype == dtype
    np.testing.assert_array_equal(v.numpy(), vt.detach().numpy())
    g = np.random.default_rng(1).standard_normal(26).astype(dtype)
    for p, t in zip(ours, theirs, strict=True):
        p.grad = t.grad = None
    (v * dg.tensor(g)).sum().backward()  # differentiable, as torch's
    (vt * torch.tensor(g)).sum().backward()
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
    new = np.arange(26, dtype=dtype)
    arrays = [p.data for p in ours]
    nn.utils.vector_to_parameters(dg.tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs)
    for p, t, a in zip(ours, theirs, arrays, strict=True):
        assert p.data is a and p.dtype == dtype  # written in place
        np.testing.assert_array_equal(p.numpy(), t.detach().numpy())


def test_parameters_to_vector_gradcheck_and_no_grad():
    a = dg.tensor(np.ones((2, 3)), requires_grad=True)
    b = dg.tensor(np.arange(4.0), requires_grad=True)
    gradcheck(lambda x, y: nn.utils.parameters_to_vector([x, y]) ** 2, a, b)
    with dg.no_grad():
        assert not nn.utils.parameters_to_vector([a, b]).requires_grad


def test_vector_to_parameters_errors():
    ps = [nn.Parameter(np.ones((2, 2)))]
    with pytest.raises(TypeError, match="Tensor"):
        nn.utils.vector_to_parameters(np.ones(4), ps)
    with pytest.raises(ValueError, match="5 elements"):
        nn.utils.vector_to_parameters(dg.tensor(np.ones(5)), ps)
    with pytest.raises(ValueError, match="1-d"):
        nn.utils.vector_to_parameters(dg.tensor(np.ones((2, 2))), ps)
    with pytest.raises(ValueError, match="no parameters"):
        nn.utils.parameters_to_vector([])


def test_with_a_model():
    torch = pytest.importorskip("torch")
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = dg.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    (m(x) ** 2).sum().backward()
    before = [p.grad.copy() for p in m.parameters()]
    total = nn.utils.clip_grad_norm_(m.parameters(), 0.1)
    flat = np.concatenate([g.ravel() for g in before])
    np.testing.assert_allclose(total.item(), np.linalg.norm(flat), rtol=1e-5)
    after = np.concatenate([p.grad.ravel() for p in m.parameters()])
    np.testing.assert_allclose(np.linalg.norm(after), 0.1, rtol=1e-4)
    assert torch is not None

"""Batch norm's compiled training kernels (numba): taken when they apply, the same numbers
as the NumPy path and PyTorch (float64 to 1e-10, float32 to 1e-5), float32 in and out,
directional gradchecks, running statistics, and the NumPy path with DEEPGRAD_NUMBA=0."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import _accel
from deepgrad.autograd.ops import norm_kernels
from deepgrad.autograd.ops.norm import batch_norm
from deepgrad.testing import gradcheck_directional

pytestmark = pytest.mark.skipif(not _accel.available(), reason="numba is not installed")


@pytest.fixture(autouse=True)
def _numba_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAD_NUMBA", "1")  # the kernels, whatever the environment says

SHAPES = [(16, 5, 9, 7), (64, 3, 40), (8, 4, 6, 6, 3)]  # each >= 2048 elements


def _run(x, w, b, gy, training=True):
    """y, gx, gw, gb and the running statistics of one batch_norm forward and backward."""
    c = x.shape[1]
    rm, rv = np.zeros(c, x.dtype), np.ones(c, x.dtype)
    xt = dg.Tensor(x, requires_grad=True)
    wt = None if w is None else dg.Tensor(w, requires_grad=True)
    bt = None if b is None else dg.Tensor(b, requires_grad=True)
    y = batch_norm(xt, rm, rv, wt, bt, training=training)
    y.backward(dg.Tensor(gy))
    grads = [None if t is None else np.asarray(t.grad) for t in (xt, wt, bt)]
    return [y.numpy(), *grads, rm, rv]


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    return (x, rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype),
            rng.standard_normal(shape).astype(dtype))


def _counting(monkeypatch):
    calls = {"forward": 0, "backward": 0}
    for name in calls:
        original = getattr(norm_kernels, name)

        def counted(*a, _name=name, _orig=original, **k):
            calls[_name] += 1
            return _orig(*a, **k)

        monkeypatch.setattr(norm_kernels, name, counted)
    return calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_kernels_match_torch_and_numpy_path(monkeypatch, shape, affine, dtype):
    torch = pytest.importorskip("torch")
    x, w, b, gy = _data(shape, dtype)
    if not affine:
        w = b = None
    calls = _counting(monkeypatch)
    ours = _run(x, w, b, gy)
    assert calls == {"forward": 1, "backward": 1}
    monkeypatch.setenv("DEEPGRAD_NUMBA", "0")
    plain = _run(x, w, b, gy)
    assert calls == {"forward": 1, "backward": 1}  # the NumPy path this time
    ts = [None if a is None else torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    trm, trv = torch.zeros(shape[1], dtype=ts[0].dtype), torch.ones(shape[1], dtype=ts[0].dtype)
    ty = torch.nn.functional.batch_norm(ts[0], trm, trv, ts[1], ts[2], training=True)
    ty.backward(torch.tensor(gy))
    ref = [ty.detach().numpy()] + [None if t is None else t.grad.numpy() for t in ts]
    ref += [trm.numpy(), trv.numpy()]
    tol = 1e-10 if dtype == np.float64 else 1e-5
    for a, p, r in zip(ours, plain, ref, strict=True):
        if r is None:
            assert a is None and p is None
            continue
        assert a.dtype == dtype and a.shape == r.shape
        scale = max(1.0, float(np.abs(r).max()))
        np.testing.assert_allclose(a, r, rtol=tol, atol=tol * scale)
        np.testing.assert_allclose(a, p, rtol=tol, atol=tol * scale)


def test_kernels_directional_gradcheck():
    x, w, b, _ = _data((32, 3, 8, 9), np.float64, seed=1)
    xt, wt, bt = (dg.Tensor(a, requires_grad=True) for a in (x, w, b))
    assert norm_kernels.takes(x, w, b)
    gradcheck_directional(lambda x, w, b: batch_norm(x, None, None, w, b, training=True),
                          xt, wt, bt)


def test_kernels_skip_eval_small_and_strided_inputs(monkeypatch):
    calls = _counting(monkeypatch)
    x, w, b, gy = _data((16, 5, 9, 7), np.float32)
    _run(x, w, b, gy, training=False)  # eval: NumPy
    _run(x[:2], w, b, gy[:2])  # under 2048 elements: NumPy
    xs = np.asarray(x.transpose(0, 1, 3, 2))
    _run(xs, w, b, np.asarray(gy.transpose(0, 1, 3, 2)))  # not C-contiguous: NumPy
    assert calls == {"forward": 0, "backward": 0}


def test_kernels_record_nothing_under_no_grad():
    x, w, b, _ = _data((16, 5, 9, 7), np.float32)
    xt = dg.Tensor(x, requires_grad=True)
    with dg.no_grad():
        y = batch_norm(xt, None, None, dg.Tensor(w), dg.Tensor(b), training=True)
    assert not y.requires_grad and y.numpy().dtype == np.float32

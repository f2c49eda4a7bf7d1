"""The compiled 2x2 max-pool kernels (numba): bit for bit the NumPy path's numbers (ties,
NaN, odd sizes, float32 and float64), PyTorch's values, indices and gradients, and the
NumPy path for everything else."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import _accel
from deepgrad.autograd.ops import pool_kernels
from deepgrad.autograd.ops.pool import max_pool2d

pytestmark = pytest.mark.skipif(not _accel.available(), reason="numba is not installed")


@pytest.fixture(autouse=True)
def _numba_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAD_NUMBA", "1")  # the kernels, whatever the environment says


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 0, 0, :4] = 1.0  # ties inside windows: the first maximum wins
    x[0, 0, 2:4, 2:4] = -np.inf
    x[-1, -1, 1, 1] = np.nan
    return x


def _run(x, gy=None, **kw):
    xt = dg.Tensor(x, requires_grad=True)
    y, idx = max_pool2d(xt, 2, return_indices=True, **kw)
    if gy is None:
        gy = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    y.backward(dg.Tensor(gy))
    return [y.numpy(), idx.numpy(), np.asarray(xt.grad)], gy


def _counting(monkeypatch):
    calls = {"maxpool2x2_forward": 0, "maxpool2x2_backward": 0}
    for name in calls:
        original = getattr(pool_kernels, name)

        def counted(*a, _name=name, _orig=original):
            calls[_name] += 1
            return _orig(*a)

        monkeypatch.setattr(pool_kernels, name, counted)
    return calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(4, 3, 16, 12), (8, 9, 11, 13), (8, 8, 9, 16)])  # gy >= 2048
def test_kernels_match_numpy_path_and_torch(monkeypatch, shape, dtype):
    torch = pytest.importorskip("torch")
    calls = _counting(monkeypatch)
    x = _data(shape, dtype)
    ours, gy = _run(x)
    assert calls["maxpool2x2_forward"] == 1
    odd = shape[2] % 2 or shape[3] % 2  # the tiling case takes deepgrad._accel's backward
    assert calls["maxpool2x2_backward"] == (1 if odd else 0)
    monkeypatch.setenv("DEEPGRAD_NUMBA", "0")
    plain, _ = _run(x, gy)
    for a, p in zip(ours, plain, strict=True):
        assert a.dtype == p.dtype and np.array_equal(a, p, equal_nan=True)
    assert ours[0].dtype == dtype and ours[2].dtype == dtype
    monkeypatch.setenv("DEEPGRAD_NUMBA", "1")
    x[-1, -1, 1, 1] = 0.5  # PyTorch points a NaN window's index at the NaN; the NumPy path not
    ours, gy = _run(x)
    tx = torch.tensor(x, requires_grad=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)
    ty.backward(torch.tensor(gy))
    assert np.array_equal(ours[0], ty.detach().numpy(), equal_nan=True)
    assert np.array_equal(ours[1], ti.numpy())
    np.testing.assert_array_equal(ours[2], tx.grad.numpy())


def test_forward_kernel_only_for_plain_windows_on_arrays_it_takes(monkeypatch):
    calls = _counting(monkeypatch)
    _run(_data((2, 3, 10, 12), np.float32))  # 720 values: NumPy's passes
    for kw in ({"padding": 1}, {"ceil_mode": True}, {"stride": 1}, {"dilation": 2}):
        _run(_data((3, 5, 11, 13), np.float32), **kw)
    assert calls == {"maxpool2x2_forward": 0, "maxpool2x2_backward": 0}
    x = _data((4, 3, 16, 12), np.float32)  # 2,304 values: the kernel
    with dg.no_grad():
        y = max_pool2d(dg.Tensor(x), 2)
    assert calls["maxpool2x2_forward"] == 1 and not y.requires_grad
    assert y.numpy().dtype == np.float32

"""conv2d's compiled im2col/col2im (numba, stride 1): taken when they apply, bit for bit
the NumPy path's numbers (forward and all gradients, conv_transpose2d's forward too),
PyTorch's to 1e-10 (float64) / 1e-5 (float32), float32 in and out."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import _accel
from deepgrad.autograd.ops import conv as conv_ops
from deepgrad.autograd.ops import conv_kernels
from deepgrad.autograd.ops.conv import conv2d
from deepgrad.autograd.ops.conv_transpose import conv_transpose2d

pytestmark = pytest.mark.skipif(not _accel.available(), reason="numba is not installed")

CASES = [  # (x shape, W shape, keyword arguments), every array >= 2048 elements
    ((16, 4, 9, 8), (5, 4, 3, 3), {"padding": 1}),
    ((16, 3, 10, 9), (4, 3, 3, 2), {"dilation": (2, 1), "padding": "same"}),
    ((16, 5, 8, 8), (4, 5, 2, 4), {"padding": "same"}),  # uneven padding
    ((16, 3, 11, 9), (6, 3, 3, 3), {"padding": (0, 3)}),  # padding wider than the span
    ((16, 4, 9, 9), (6, 4, 3, 3), {}),
]


@pytest.fixture(autouse=True)
def _numba_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAD_NUMBA", "1")  # the kernels, whatever the environment says


def _counting(monkeypatch):
    calls = {"im2col": 0, "col2im": 0}
    for name in calls:
        original = getattr(conv_kernels, name)

        def counted(*a, _name=name, _orig=original):
            calls[_name] += 1
            return _orig(*a)

        monkeypatch.setattr(conv_kernels, name, counted)
    return calls


def _run(x, W, b, gy, kw):
    ts = [dg.Tensor(a, requires_grad=True) for a in (x, W, b)]
    y = conv2d(*ts, **kw)
    y.backward(dg.Tensor(gy))
    return [y.numpy()] + [np.asarray(t.grad) for t in ts]


@pytest.mark.parametrize("layout_ck", [0, 10**9])  # the one-GEMM and the batched layout
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES)
def test_kernels_match_numpy_path_and_torch(monkeypatch, case, dtype, layout_ck):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(conv_ops, "FLAT_MIN_CK", layout_ck)
    xs, ws, kw = case
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    y = conv2d(dg.Tensor(x), dg.Tensor(W), dg.Tensor(b), **kw)
    gy = rng.standard_normal(y.shape).astype(dtype)
    calls = _counting(monkeypatch)
    ours = _run(x, W, b, gy, kw)
    assert calls == {"im2col": 1 if layout_ck == 0 else 0, "col2im": 1}
    monkeypatch.setenv("DEEPGRAD_NUMBA", "0")
    plain = _run(x, W, b, gy, kw)
    for a, p in zip(ours, plain, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, p)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, W, b)]
    ty = torch.nn.functional.conv2d(*ts, **kw)
    ty.backward(torch.tensor(gy))
    tol = 1e-10 if dtype == np.float64 else 1e-5
    for a, r in zip(ours, [ty.detach().numpy()] + [t.grad.numpy() for t in ts], strict=True):
        np.testing.assert_allclose(a, r, rtol=tol, atol=tol * max(1.0, np.abs(r).max()))


def test_conv_transpose_forward_takes_the_compiled_col2im(monkeypatch):
    rng = np.random.default_rng(1)
    x, W = rng.standard_normal((16, 4, 8, 8)), rng.standard_normal((4, 3, 3, 3))
    calls = _counting(monkeypatch)
    y = conv_transpose2d(dg.Tensor(x), dg.Tensor(W), padding=1).numpy()
    assert calls["col2im"] == 1
    monkeypatch.setenv("DEEPGRAD_NUMBA", "0")
    np.testing.assert_array_equal(y, conv_transpose2d(dg.Tensor(x), dg.Tensor(W),
                                                      padding=1).numpy())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_strided_col2im_kernel_matches_numpy_path(monkeypatch, dtype):
    """At stride 2 only col2im is compiled (NumPy copies the columns), bit for bit."""
    monkeypatch.setattr(conv_ops, "FLAT_MIN_CK", 0)
    rng = np.random.default_rng(2)
    x, W = rng.standard_normal((16, 4, 9, 8)).astype(dtype), rng.standard_normal((5, 4, 3, 3))
    b, gy = rng.standard_normal(5), rng.standard_normal((16, 5, 5, 3))
    args = (x, W.astype(dtype), b.astype(dtype), gy.astype(dtype), {"stride": 2, "dilation": 2,
                                                                   "padding": (2, 1)})
    calls = _counting(monkeypatch)
    ours = _run(*args)
    assert calls == {"im2col": 0, "col2im": 1}
    monkeypatch.setenv("DEEPGRAD_NUMBA", "0")
    for a, p in zip(ours, _run(*args), strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, p)


def test_kernels_skip_small_arrays(monkeypatch):
    monkeypatch.setattr(conv_ops, "FLAT_MIN_CK", 0)
    rng = np.random.default_rng(3)
    calls = _counting(monkeypatch)
    _run(rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((5, 4, 3, 3)),
         rng.standard_normal(5), rng.standard_normal((2, 5, 5, 5)), {"padding": 1})
    assert calls == {"im2col": 0, "col2im": 0}

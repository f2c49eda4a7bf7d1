"""Pooling ops: forward against a naive loop, float64 gradcheck, ties, float32, errors."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd.ops.pool import (
    adaptive_avg_pool2d,
    avg_pool2d,
    global_avg_pool2d,
    max_pool2d,
)
from deepgrad.testing import check_op


def ref_pool(x, k, s=None, p=0, kind="max"):
    """Direct loop over output pixels (a test reference only)."""
    kh, kw = (k, k) if isinstance(k, int) else k
    s = (kh, kw) if s is None else s
    sh, sw = (s, s) if isinstance(s, int) else s
    ph, pw = (p, p) if isinstance(p, int) else p
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh = (xp.shape[2] - kh) // sh + 1
    ow = (xp.shape[3] - kw) // sw + 1
    y = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            y[:, :, i, j] = win.max(axis=(2, 3)) if kind == "max" else win.mean(axis=(2, 3))
    return y


POOLS = [
    dict(k=2),  # fast path
    dict(k=(2, 3)),  # fast path, non-square
    dict(k=3, s=2),  # overlapping
    dict(k=3, s=1, p=1),  # overlapping, padded
    dict(k=2, s=2, p=1),  # padded, not the fast path
    dict(k=(3, 2), s=(2, 1), p=(1, 0)),
    dict(k=2, s=3),  # gaps between windows
]


@pytest.mark.parametrize("kind,fn", [("max", max_pool2d), ("avg", avg_pool2d)])
@pytest.mark.parametrize("cfg", POOLS)
def test_pool_matches_reference_and_gradcheck(kind, fn, cfg):
    k, s, p = cfg["k"], cfg.get("s"), cfg.get("p", 0)
    # distinct values (a permutation) so the max is unique and finite differences are valid
    rng = np.random.default_rng(0)
    base = rng.permutation(2 * 3 * 6 * 6).reshape(2, 3, 6, 6) / 10.0
    x = dg.Tensor(base.copy(), requires_grad=True)
    np.testing.assert_allclose(fn(x, k, s, p).numpy(), ref_pool(base, k, s, p, kind), rtol=1e-12)
    check_op(lambda x: fn(x, k, s, p), None, (2, 3, 6, 6))
    dg.testing.gradcheck(lambda x: fn(x, k, s, p), x)


def test_max_pool_fast_path_under_no_grad_matches():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 6)).astype(np.float32)
    with dg.no_grad():
        y = max_pool2d(dg.Tensor(x), 2)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), ref_pool(x, 2).astype(np.float32))


def test_max_pool_ties_go_to_first_max():
    x = dg.Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    max_pool2d(x, 2).backward(np.arange(1.0, 5.0).reshape(1, 1, 2, 2))
    expected = np.zeros((4, 4))
    expected[0, 0], expected[0, 2], expected[2, 0], expected[2, 2] = 1, 2, 3, 4
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_max_pool_overlapping_windows_accumulate():
    x = dg.Tensor(np.zeros((1, 1, 3, 3)), requires_grad=True)
    x.data[0, 0, 1, 1] = 5.0  # the center is the max of all four 2x2 windows
    max_pool2d(x, 2, 1).backward(np.ones((1, 1, 2, 2)))
    assert x.grad[0, 0, 1, 1] == 4.0 and x.grad.sum() == 4.0


def test_avg_pool_counts_padding():
    x = dg.Tensor(np.ones((1, 1, 2, 2)))
    y = avg_pool2d(x, 2, 2, 1).numpy()
    np.testing.assert_allclose(y[0, 0], np.full((2, 2), 0.25))


def test_global_pools():
    check_op(
        lambda x: adaptive_avg_pool2d(x, 1),
        lambda x: x.mean(axis=(2, 3), keepdims=True),
        (2, 3, 4, 5),
    )
    check_op(global_avg_pool2d, lambda x: x.mean(axis=(2, 3)), (2, 3, 4, 5))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda x: max_pool2d(x[0, 0], 2), "expected input"),
        (lambda x: max_pool2d(x, 2, padding=2), "half the kernel"),
        (lambda x: avg_pool2d(x, 8), "larger"),
        (lambda x: max_pool2d(x, 0), ">= 1"),
        (lambda x: adaptive_avg_pool2d(x, 0), "output_size must be positive"),
        (lambda x: global_avg_pool2d(x[0]), "expected input"),
        (lambda x: max_pool2d(x, 2, dilation=0), ">= 1"),
        (lambda x: avg_pool2d(x, 2, divisor_override=0), "divisor_override"),
    ],
)
def test_pool_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(dg.Tensor(np.zeros((2, 3, 6, 6))))

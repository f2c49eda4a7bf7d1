"""Pooling argument forms and layers (issue 13): max_pool dilation/ceil_mode/return_indices,
max_unpool, avg_pool ceil_mode/count_include_pad/divisor_override, adaptive avg/max pooling
to any size, 1-D pools, unbatched input; parity with PyTorch (forward, gradients and
indices), float64 gradcheck, float32 in/out, no graph under no_grad, errors."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd.ops import pool as P
from deepgrad.testing import check_op, gradcheck

from .conv_helpers import DTYPES, parity


def _distinct(*shape, seed=0):
    """Distinct values (a permutation): unique maxima, so finite differences are valid."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 7.0


def ref_adaptive(x, out, reduce):
    """Loop over output cells with PyTorch's start/end rule (a test reference only)."""
    (h, w), (oh, ow) = x.shape[-2:], out
    y = np.empty(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, he = (i * h) // oh, -(-(i + 1) * h // oh)
            ws, we = (j * w) // ow, -(-(j + 1) * w // ow)
            y[..., i, j] = reduce(x[..., hs:he, ws:we], axis=(-2, -1))
    return y


MAX_CASES = [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 1), dilation=(2, 3)),
    dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True),
]
AVG_CASES = [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(3, 2), padding=1, count_include_pad=False),
    dict(kernel_size=3, padding=1, ceil_mode=True, divisor_override=5),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True),
]


@pytest.mark.parametrize("kw", MAX_CASES)
def test_max_pool_forms_gradcheck(kw):
    x = dg.Tensor(_distinct(2, 2, 7, 8), requires_grad=True)
    gradcheck(lambda x: P.max_pool2d(x, **kw), x)
    check_op(lambda x: P.max_pool2d(x, **kw), None, (2, 7, 8))  # unbatched, float32, no_grad


@pytest.mark.parametrize("kw", AVG_CASES)
def test_avg_pool_forms_gradcheck(kw):
    check_op(lambda x: P.avg_pool2d(x, **kw), None, (2, 2, 7, 8))
    check_op(lambda x: P.avg_pool2d(x, **kw), None, (2, 7, 8))


def test_avg_pool_divisors_by_hand():
    x = dg.Tensor(np.ones((1, 1, 3, 3)))
    # 2x2 windows, stride 2, padding 1 on 3x3: the windows hold 1, 2, 2 and 4 real pixels
    np.testing.assert_allclose(P.avg_pool2d(x, 2, 2, 1).numpy()[0, 0], [[0.25, 0.5], [0.5, 1]])
    np.testing.assert_allclose(
        P.avg_pool2d(x, 2, 2, 1, count_include_pad=False).numpy()[0, 0], np.ones((2, 2)))
    np.testing.assert_allclose(
        P.avg_pool2d(x, 2, 2, 1, divisor_override=2).numpy()[0, 0], [[0.5, 1], [1, 2]])
    # ceil_mode on 3x3 with 2x2 windows: the last window has one row/column outside
    y = P.avg_pool2d(x, 2, 2, ceil_mode=True).numpy()[0, 0]
    np.testing.assert_allclose(y, np.ones((2, 2)))


@pytest.mark.parametrize("out", [(3, 2), 5, (None, 3), (1, 1), (7, 8)])
def test_adaptive_pools_reference_and_gradcheck(out):
    size = out if isinstance(out, tuple) else (out, out)
    size = tuple(n if s is None else s for s, n in zip(size, (5, 7), strict=True))
    check_op(lambda x: P.adaptive_avg_pool2d(x, out),
             lambda x: ref_adaptive(x, size, np.mean), (2, 3, 5, 7))
    x = dg.Tensor(_distinct(2, 3, 5, 7), requires_grad=True)
    np.testing.assert_array_equal(P.adaptive_max_pool2d(x, out).numpy(),
                                  ref_adaptive(x.data, size, np.max))
    gradcheck(lambda x: P.adaptive_max_pool2d(x, out), x)
    check_op(lambda x: P.adaptive_max_pool2d(x, out), None, (3, 5, 7))


def test_max_unpool_roundtrip_and_gradcheck():
    x = dg.Tensor(_distinct(2, 3, 6, 6))
    y, idx = P.max_pool2d(x, 2, return_indices=True)
    up = P.max_unpool2d(y, idx, 2).numpy()
    mask = up != 0
    assert mask.sum() == y.size and np.array_equal(up[mask], x.data[mask])
    check_op(lambda v: P.max_unpool2d(v, idx, 2), None, (2, 3, 3, 3))
    y1, idx1 = P.max_pool1d(dg.Tensor(_distinct(2, 9)), 3, return_indices=True)  # unbatched
    assert idx1.shape == (2, 3)
    check_op(lambda v: P.max_unpool1d(v, idx1, 3), None, (2, 3))


def test_pool1d_gradcheck():
    check_op(lambda x: P.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
             None, (2, 3, 8))
    x = dg.Tensor(_distinct(2, 3, 9), requires_grad=True)
    gradcheck(lambda x: P.max_pool1d(x, 3, 2, 1, dilation=2, ceil_mode=True), x)


def test_return_indices_under_no_grad_and_float32():
    x = dg.Tensor(_distinct(1, 2, 4, 4).astype(np.float32), requires_grad=True)
    with dg.no_grad():
        y, idx = P.max_pool2d(x, 2, return_indices=True)
        ya, idxa = P.adaptive_max_pool2d(x, 3, return_indices=True)
    assert not y.requires_grad and y.grad_fn is None and not ya.requires_grad
    assert y.dtype == ya.dtype == np.float32 and idx.dtype == idxa.dtype == np.int64
    flat = x.data.reshape(1, 2, 16)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.data.reshape(1, 2, 4), 2),
                                  y.data.reshape(1, 2, 4))


def test_layers():
    x = dg.Tensor(_distinct(2, 3, 7, 7), requires_grad=True)
    pool = nn.MaxPool2d(3, 2, 1, dilation=1, return_indices=True, ceil_mode=True)
    y, idx = pool(x)
    assert y.shape == (2, 3, 4, 4)
    assert nn.MaxUnpool2d(3, 2, 1)(y, idx, output_size=(7, 7)).shape == (2, 3, 7, 7)
    assert nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)(x).shape == (2, 3, 4, 4)
    assert nn.AdaptiveAvgPool2d((2, None))(x).shape == (2, 3, 2, 7)
    assert nn.AdaptiveMaxPool2d(3)(x[0]).shape == (3, 3, 3)
    s = dg.Tensor(_distinct(2, 3, 9))
    assert nn.MaxPool1d(2, ceil_mode=True)(s).shape == (2, 3, 5)
    assert nn.AvgPool1d(3, 1, 1)(s[0]).shape == (3, 9)
    v, i = nn.MaxPool1d(3, return_indices=True)(s)
    assert nn.MaxUnpool1d(3)(v, i).shape == (2, 3, 9)
    assert "ceil_mode=True" in repr(pool) and "output_size=(2, None)" in repr(
        nn.AdaptiveAvgPool2d((2, None)))


@pytest.mark.parametrize("make,match", [
    (lambda: nn.MaxPool2d(3, padding=2), r"MaxPool2d: padding \(2, 2\) must be at most half"),
    (lambda: nn.MaxPool2d(2, dilation=0), "MaxPool2d.*>= 1"),
    (lambda: nn.AvgPool2d(2, divisor_override=0), "AvgPool2d: divisor_override"),
    (lambda: nn.MaxPool1d(2, padding=2), "MaxPool1d: padding 2 must be at most half the kernel 2"),
    (lambda: nn.AdaptiveMaxPool2d((0, 2)), "output_size must be positive"),
    (lambda: nn.AdaptiveAvgPool2d("big"), "output_size"),
    (lambda: nn.MaxUnpool2d(0), "MaxUnpool2d: kernel_size"),
])
def test_layer_argument_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("call,match", [
    (lambda x: P.max_pool2d(x[0, 0], 2), "expected input"),
    (lambda x: P.max_pool1d(x, 2), r"max_pool1d: expected input \(N, C, L\)"),
    (lambda x: P.max_pool2d(x, 4, dilation=3), "larger than the padded input"),
    (lambda x: P.max_unpool2d(x, np.zeros(x.shape, np.int64) + 200, 2), r"\[0, 144\)"),
    (lambda x: P.max_unpool2d(x, np.zeros((2, 3), np.int64), 2), "indices"),
    (lambda x: P.adaptive_max_pool2d(x, (2, 2, 2)), "output_size"),
])
def test_functional_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(dg.Tensor(np.zeros((2, 3, 6, 6))))


# ---------------------------------------------------------------------------- PyTorch parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MAX_CASES)
def test_max_pool_torch_parity(kw, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = _distinct(2, 3, 9, 10)
    parity(lambda x: P.max_pool2d(x, **kw, return_indices=True),
           lambda x: F.max_pool2d(x, **kw, return_indices=True), [x], dtype, indices=True)
    parity(lambda x: P.max_pool2d(x[1], **kw), lambda x: F.max_pool2d(x[1], **kw), [x], dtype)
    k = kw["kernel_size"] if isinstance(kw["kernel_size"], int) else kw["kernel_size"][1]
    kw1 = {n: (v if isinstance(v, int | bool) else v[1]) for n, v in kw.items()}
    kw1["kernel_size"] = k
    parity(lambda x: P.max_pool1d(x[:, :, 0], **kw1, return_indices=True),
           lambda x: F.max_pool1d(x[:, :, 0], **kw1, return_indices=True), [x], dtype,
           indices=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", AVG_CASES)
def test_avg_pool_torch_parity(kw, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 10))
    parity(lambda x: P.avg_pool2d(x, **kw), lambda x: F.avg_pool2d(x, **kw), [x], dtype)
    parity(lambda x: P.avg_pool2d(x[0], **kw), lambda x: F.avg_pool2d(x[0], **kw), [x], dtype)
    kw1 = {n: (v if isinstance(v, int | bool) else v[1]) for n, v in kw.items()
           if n != "divisor_override"}
    parity(lambda x: P.avg_pool1d(x[:, :, 1], **kw1), lambda x: F.avg_pool1d(x[:, :, 1], **kw1),
           [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", [(4, 3), 5, (7, None), (13, 11), 1])
def test_adaptive_torch_parity(out, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = _distinct(2, 3, 9, 10)
    parity(lambda x: P.adaptive_avg_pool2d(x, out), lambda x: F.adaptive_avg_pool2d(x, out),
           [x], dtype)
    parity(lambda x: P.adaptive_max_pool2d(x, out, True),
           lambda x: F.adaptive_max_pool2d(x, out, True), [x], dtype, indices=True)
    parity(lambda x: P.adaptive_max_pool2d(x[0], out), lambda x: F.adaptive_max_pool2d(x[0], out),
           [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unpool_and_layers_torch_parity(dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = _distinct(2, 3, 9, 9)
    _, idx = P.max_pool2d(dg.Tensor(x), 3, 2, 1, return_indices=True)
    _, idx_t = F.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    v = np.random.default_rng(2).standard_normal(idx.shape)
    for size in (None, (10, 10)):
        parity(lambda v, size=size: P.max_unpool2d(v, idx, 3, 2, 1, output_size=size),
               lambda v, size=size: F.max_unpool2d(v, idx_t, 3, 2, 1, output_size=size), [v],
               dtype)
    parity(lambda v: nn.MaxUnpool2d(3, 2, 1)(v[0], idx[0]),
           lambda v: torch.nn.MaxUnpool2d(3, 2, 1)(v[0], idx_t[0]), [v], dtype)
    for ours, theirs in [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AvgPool2d(3, 2, 1, True, False), torch.nn.AvgPool2d(3, 2, 1, True, False)),
        (nn.AdaptiveMaxPool2d((4, 2)), torch.nn.AdaptiveMaxPool2d((4, 2))),
        (nn.AdaptiveAvgPool2d(3), torch.nn.AdaptiveAvgPool2d(3)),
    ]:
        parity(ours, theirs, [x], dtype)
    for ours, theirs in [(nn.MaxPool1d(2, 2, 1, 2), torch.nn.MaxPool1d(2, 2, 1, 2)),
                         (nn.AvgPool1d(3, 2, 1, True, False), torch.nn.AvgPool1d(3, 2, 1, True,
                                                                                 False))]:
        parity(ours, theirs, [x[:, 0]], dtype)


@pytest.mark.parametrize("fn,shape,out", [
    (lambda x: P.max_pool2d(x, 2, return_indices=True)[0], (0, 3, 4, 4), (0, 3, 2, 2)),
    (lambda x: P.avg_pool2d(x, 2, 1, 1, True, False), (0, 3, 5, 4), (0, 3, 6, 5)),
    (lambda x: P.adaptive_avg_pool2d(x, 3), (0, 3, 5, 4), (0, 3, 3, 3)),
    (lambda x: P.adaptive_max_pool2d(x, 3), (0, 3, 5, 4), (0, 3, 3, 3)),
    (lambda x: P.max_unpool2d(x, np.zeros(x.shape, np.int64), 2), (0, 3, 2, 2), (0, 3, 4, 4)),
    (lambda x: P.avg_pool1d(x, 2), (0, 3, 4), (0, 3, 2)),
])
def test_empty_batch(fn, shape, out):
    x = dg.Tensor(np.zeros(shape), requires_grad=True)
    y = fn(x)
    assert y.shape == out
    y.backward(np.zeros(out))
    assert x.grad.shape == shape

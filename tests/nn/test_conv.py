"""conv2d: forward against a naive loop, float64 gradcheck of x, W and b, float32, errors."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd.ops.conv import conv2d
from deepgrad.testing import check_op, gradcheck, gradcheck_directional


def ref_conv2d(x, W, b=None, stride=1, padding=0, dilation=1):
    """Direct loop over output pixels (a test reference only)."""
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    o, c, kh, kw = W.shape
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        pads = ((ph, ph), (pw, pw))
    xp = np.pad(x, ((0, 0), (0, 0), *pads))
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[
                :,
                :,
                i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                j * sw : j * sw + dw * (kw - 1) + 1 : dw,
            ]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", win, W)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


CASES = [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(stride=2, padding=1),
    dict(stride=(1, 2), padding=(2, 1)),
    dict(dilation=2),
    dict(dilation=(2, 1), padding=2, stride=2),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
]


@pytest.mark.parametrize("kw", CASES)
@pytest.mark.parametrize("kernel", [(3, 3), (2, 3)])
def test_conv2d_matches_reference_and_gradcheck(kw, kernel):
    check_op(
        lambda x, W, b: conv2d(x, W, b, **kw),
        lambda x, W, b: ref_conv2d(x, W, b, **kw),
        (2, 3, 6, 7),
        (4, 3, *kernel),
        (4,),
    )


def test_conv2d_even_kernel_same_pads_bottom_right():
    rng = np.random.default_rng(1)
    x, W = rng.standard_normal((1, 1, 4, 5)), rng.standard_normal((1, 1, 2, 4))
    y = conv2d(dg.Tensor(x), dg.Tensor(W), padding="same").numpy()
    assert y.shape == (1, 1, 4, 5)
    xp = np.pad(x, ((0, 0), (0, 0), (0, 1), (1, 2)))
    np.testing.assert_allclose(y, ref_conv2d(xp, W), rtol=1e-12)


def test_conv2d_without_bias_and_1x1():
    check_op(lambda x, W: conv2d(x, W), lambda x, W: ref_conv2d(x, W), (2, 3, 4, 4), (5, 3, 1, 1))


def test_conv2d_directional_gradcheck_larger():
    rng = np.random.default_rng(2)
    x = dg.Tensor(rng.standard_normal((4, 6, 12, 12)), requires_grad=True)
    W = dg.Tensor(rng.standard_normal((8, 6, 3, 3)), requires_grad=True)
    b = dg.Tensor(rng.standard_normal(8), requires_grad=True)
    gradcheck_directional(lambda x, W, b: conv2d(x, W, b, stride=2, padding=1), x, W, b)


def test_conv2d_skips_input_gradient_when_not_needed():
    rng = np.random.default_rng(3)
    x = dg.Tensor(rng.standard_normal((2, 3, 5, 5)))
    W = dg.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    y = conv2d(x, W, padding=1)
    y.backward(np.ones(y.shape))
    assert x.grad is None and W.grad.shape == W.shape
    gradcheck(lambda W: conv2d(x, W, padding=1), W)


def test_conv2d_non_contiguous_input():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((6, 7, 3, 2)).transpose(3, 2, 1, 0)  # (2, 3, 7, 6), a view
    W = rng.standard_normal((4, 3, 3, 3))
    y = conv2d(dg.Tensor(a), dg.Tensor(W), stride=2, padding=1).numpy()
    np.testing.assert_allclose(y, ref_conv2d(a, W, stride=2, padding=1), rtol=1e-12)
    x = dg.Tensor(a, requires_grad=True)
    conv2d(x, dg.Tensor(W), padding=1).backward(np.ones((2, 4, 7, 6)))
    assert x.grad.shape == a.shape


def test_conv2d_float32_stays_float32():
    rng = np.random.default_rng(4)
    x = dg.Tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32), requires_grad=True)
    W = dg.Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = dg.Tensor(np.zeros(4, np.float32), requires_grad=True)
    y = conv2d(x, W, b, padding="same")
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == x.grad.dtype == W.grad.dtype == b.grad.dtype == np.float32


@pytest.mark.parametrize(
    "xs,ws,kw,match",
    [
        ((3, 5), (4, 3, 3, 3), {}, "expected input"),
        ((2, 2, 5, 5), (4, 3, 3, 3), {}, "channels"),
        ((2, 3, 2, 2), (4, 3, 3, 3), {}, "larger"),
        ((2, 3, 5, 5), (4, 3, 3, 3), dict(padding="same", stride=2), "stride 1"),
        ((2, 3, 5, 5), (4, 3, 3, 3), dict(padding="full"), "padding"),
        ((2, 3, 5, 5), (4, 3, 3, 3), dict(stride=0), "stride"),
        ((2, 3, 5, 5), (4, 3, 3, 3), dict(padding=-1), "non-negative"),
    ],
)
def test_conv2d_errors(xs, ws, kw, match):
    with pytest.raises(ValueError, match=match):
        conv2d(np.zeros(xs), np.zeros(ws), **kw)

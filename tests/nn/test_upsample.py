"""interpolate / Upsample (issue 13): nearest, bilinear (align_corners False/True) and
linear, by size or scale_factor; parity with PyTorch, float64 gradcheck, float32 in/out,
no graph under no_grad, errors."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd.ops.upsample import interpolate
from deepgrad.testing import check_op

from .conv_helpers import DTYPES, parity

SIZES = [dict(scale_factor=2), dict(scale_factor=(1.7, 2.3)), dict(size=(8, 3)),
         dict(scale_factor=0.5), dict(scale_factor=3, recompute_scale_factor=True),
         dict(size=(13, 9))]
MODES = [("nearest", None), ("bilinear", False), ("bilinear", True)]


def test_nearest_by_hand_and_bilinear_corners():
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    y = interpolate(dg.Tensor(x), scale_factor=2).numpy()[0, 0]
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x[0, 0], 2, 0), 2, 1))
    y = interpolate(dg.Tensor(x), size=3, mode="bilinear", align_corners=True).numpy()[0, 0]
    np.testing.assert_allclose(y, [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]])
    y = interpolate(dg.Tensor(x), size=4, mode="bilinear").numpy()[0, 0]
    np.testing.assert_allclose(y[0], [0, 0.25, 0.75, 1])  # (i + 0.5)/2 - 0.5, clamped at 0


@pytest.mark.parametrize("kw", SIZES[:3])
@pytest.mark.parametrize("mode,align", MODES)
def test_gradcheck_float32_no_grad(kw, mode, align):
    check_op(lambda x: interpolate(x, mode=mode, align_corners=align, **kw), None, (2, 2, 3, 4))


def test_linear_and_nearest_1d_gradcheck():
    check_op(lambda x: interpolate(x, scale_factor=2.5, mode="linear"), None, (2, 3, 4))
    check_op(lambda x: interpolate(x, size=7), None, (2, 3, 4))


def test_nearest_copies_inf():
    x = dg.Tensor(np.array([[[[np.inf, 1.0], [2.0, -np.inf]]]]))
    y = interpolate(x, size=(3, 5)).numpy()
    assert np.isinf(y).sum() == 2 * 3 + 1 * 2 and not np.isnan(y).any()


def test_layers():
    x = dg.Tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 5)))
    assert nn.Upsample(scale_factor=2)(x).shape == (2, 3, 8, 10)
    assert nn.Upsample(size=(3, 7), mode="bilinear")(x).shape == (2, 3, 3, 7)
    np.testing.assert_allclose(
        nn.UpsamplingBilinear2d(scale_factor=2)(x).numpy(),
        interpolate(x, scale_factor=2, mode="bilinear", align_corners=True).numpy())
    np.testing.assert_array_equal(nn.UpsamplingNearest2d(size=6)(x).numpy(),
                                  interpolate(x, size=6).numpy())
    assert repr(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)) == (
        "Upsample(scale_factor=2, mode='bilinear', align_corners=False)")


@pytest.mark.parametrize("call,match", [
    (lambda x: interpolate(x), "exactly one of size and scale_factor"),
    (lambda x: interpolate(x, size=2, scale_factor=2), "exactly one"),
    (lambda x: interpolate(x, size=2, mode="bicubic"), "mode must be one of"),
    (lambda x: interpolate(x, size=2, align_corners=True), "align_corners"),
    (lambda x: interpolate(x[0], size=2, mode="bilinear"), r"expects input \(N, C, H, W\)"),
    (lambda x: interpolate(x, scale_factor=-1), "positive finite"),
    (lambda x: interpolate(x, scale_factor=0.1), "empty output"),
    (lambda x: interpolate(x, size=(2, 0)), "positive int"),
    (lambda x: nn.Upsample(scale_factor=float("nan")), "Upsample: scale_factor"),
    (lambda x: nn.Upsample(size=3, mode="nearest", align_corners=False), "Upsample: align"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(dg.Tensor(np.zeros((1, 2, 4, 4))))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", SIZES)
@pytest.mark.parametrize("mode,align", MODES)
def test_torch_parity(kw, mode, align, dtype):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 7))
    parity(lambda x: interpolate(x, mode=mode, align_corners=align, **kw),
           lambda x: torch.nn.functional.interpolate(x, mode=mode, align_corners=align, **kw),
           [x], dtype)
    if mode == "bilinear":
        parity(nn.Upsample(mode=mode, align_corners=align, **kw),
               torch.nn.Upsample(mode=mode, align_corners=align, **kw), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(scale_factor=2.5), dict(size=11), dict(size=3)])
@pytest.mark.parametrize("mode,align", [("nearest", None), ("linear", False), ("linear", True)])
def test_torch_parity_1d(kw, mode, align, dtype):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((2, 3, 6))
    parity(lambda x: interpolate(x, mode=mode, align_corners=align, **kw),
           lambda x: torch.nn.functional.interpolate(x, mode=mode, align_corners=align, **kw),
           [x], dtype)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_empty_batch(mode):
    x = dg.Tensor(np.zeros((0, 3, 4, 4)), requires_grad=True)
    y = interpolate(x, scale_factor=2, mode=mode)
    assert y.shape == (0, 3, 8, 8)
    y.backward(np.zeros(y.shape))
    assert x.grad.shape == x.shape

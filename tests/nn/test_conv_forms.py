"""Convolution argument forms and layers (issue 13): groups/depthwise, padding modes,
unbatched input, bias=False, conv1d, conv_transpose1d/2d; parity with PyTorch (forward and
gradients), float64 gradcheck, float32 in/out, no graph under no_grad, errors."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd.ops.conv import conv1d, conv2d
from deepgrad.autograd.ops.conv_pad import pad_mode
from deepgrad.autograd.ops.conv_transpose import conv_transpose1d, conv_transpose2d
from deepgrad.testing import check_op, gradcheck

from .conv_helpers import DTYPES, module_parity, parity, torch_dtype
from .test_conv import ref_conv2d


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------ groups, no torch needed
def ref_grouped(x, W, b, groups, **kw):
    """Grouped convolution as ``groups`` separate reference convolutions."""
    c, o = x.shape[1] // groups, W.shape[0] // groups
    ys = [ref_conv2d(x[:, g * c:(g + 1) * c], W[g * o:(g + 1) * o], b[g * o:(g + 1) * o], **kw)
          for g in range(groups)]
    return np.concatenate(ys, axis=1)


@pytest.mark.parametrize("groups,o,kw", [
    (2, 4, dict(stride=2, padding=1)),
    (4, 4, dict(padding="same")),  # depthwise
    (4, 8, dict(dilation=2, padding=1)),  # depthwise with multiplier 2
])
def test_grouped_conv2d_reference_and_gradcheck(groups, o, kw):
    check_op(lambda x, W, b: conv2d(x, W, b, groups=groups, **kw),
             lambda x, W, b: ref_grouped(x, W, b, groups, **kw),
             (2, 4, 5, 6), (o, 4 // groups, 3, 2), (o,))


def test_unbatched_conv2d_and_conv1d_gradcheck():
    check_op(lambda x, W: conv2d(x, W, padding=1, groups=3),
             lambda x, W: ref_grouped(x[None], W, np.zeros(6), 3, padding=1)[0],
             (3, 4, 5), (6, 1, 3, 3))
    check_op(lambda x, W, b: conv1d(x, W, b, stride=2, padding=1),
             lambda x, W, b: ref_conv2d(x[:, :, None], W[:, :, None], b, stride=(1, 2),
                                        padding=(0, 1))[:, :, 0],
             (2, 3, 9), (4, 3, 3), (4,))
    check_op(lambda x, W: conv1d(x, W, groups=2, dilation=2), None, (4, 7), (6, 2, 2))


@pytest.mark.parametrize("kw", [
    dict(), dict(stride=2, padding=1, output_padding=1), dict(stride=(2, 3), groups=2),
    dict(dilation=2, output_padding=1, padding=(1, 0)),
])
def test_conv_transpose2d_gradcheck(kw):
    check_op(lambda x, W, b: conv_transpose2d(x, W, b, **kw), None, (2, 4, 3, 4),
             (4, 3, 3, 2), (3 * kw.get("groups", 1),))


def test_conv_transpose_is_the_adjoint_of_conv():
    # <conv2d(x, W), y> == <x, conv_transpose2d(y, W)> for the same geometry
    x, W = _rand(2, 3, 7, 8), _rand(4, 3, 3, 3, seed=1)
    kw = dict(stride=2, padding=1, dilation=1)
    y = conv2d(dg.Tensor(x), dg.Tensor(W), **kw).numpy()
    v = _rand(*y.shape, seed=2)
    xt = conv_transpose2d(dg.Tensor(v), dg.Tensor(W), output_padding=(0, 1), **kw).numpy()
    assert xt.shape == x.shape and xt.dtype == np.float64
    np.testing.assert_allclose(np.sum(y * v), np.sum(x * xt), rtol=1e-12)


def test_conv_transpose1d_and_unbatched():
    check_op(lambda x, W, b: conv_transpose1d(x, W, b, stride=3, padding=1, output_padding=2),
             None, (2, 4, 5), (4, 2, 3), (2,))
    check_op(lambda x, W: conv_transpose2d(x, W, stride=2), None, (4, 3, 3), (4, 2, 2, 2))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_mode_reference_and_gradcheck(mode):
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    check_op(lambda x: pad_mode(x, ((2, 1), (3, 0)), mode),
             lambda x: np.pad(x, ((0, 0), (0, 0), (2, 1), (3, 0)), mode=np_mode),
             (2, 2, 4, 5))


def test_layers_gradcheck_parameters_and_no_grad():
    with dg.default_dtype(np.float64):
        layers = [
            (nn.Conv2d(4, 6, 3, padding=1, groups=2, padding_mode="reflect", rng=0), (2, 4, 5, 5)),
            (nn.Conv2d(3, 3, (2, 3), padding="same", groups=3, padding_mode="circular",
                       rng=1), (3, 4, 5)),
            (nn.Conv1d(2, 4, 3, padding=2, padding_mode="replicate", dilation=2, rng=2),
             (2, 2, 6)),
            (nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2,
                                rng=3), (2, 4, 3, 3)),
            (nn.ConvTranspose1d(2, 3, 2, stride=2, rng=4), (2, 2, 4)),
        ]
    for layer, shape in layers:
        x = dg.Tensor(_rand(*shape), requires_grad=True)
        gradcheck(lambda x, *p, layer=layer: layer(x), x, *layer.parameters())
        with dg.no_grad():
            y = layer(x)
        assert not y.requires_grad and y.grad_fn is None


def test_layers_float32_and_bias_false():
    x = dg.Tensor(_rand(2, 4, 6, 6).astype(np.float32), requires_grad=True)
    for layer in (nn.Conv2d(4, 8, 3, groups=4, bias=False, padding_mode="reflect", padding=1),
                  nn.ConvTranspose2d(4, 2, 2, stride=2, bias=False)):
        assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
        y = layer(x)
        y.backward(np.ones(y.shape, np.float32))
        assert y.dtype == x.grad.dtype == layer.weight.grad.dtype == np.float32
    x1 = dg.Tensor(_rand(2, 3, 7).astype(np.float32))
    assert nn.Conv1d(3, 6, 3, groups=3)(x1).dtype == np.float32


def test_weight_shapes_and_init_bound():
    assert nn.Conv2d(8, 4, 3, groups=4).weight.shape == (4, 2, 3, 3)
    assert nn.Conv1d(6, 6, 5, groups=6).weight.shape == (6, 1, 5)
    t = nn.ConvTranspose2d(8, 6, (2, 3), groups=2)
    assert t.weight.shape == (8, 3, 2, 3) and t.bias.shape == (6,)
    layer = nn.Conv2d(8, 8, 3, groups=8, rng=0)  # fan_in = 1·3·3, as PyTorch
    assert 0.8 / 3 < np.abs(layer.weight.data).max() <= 1 / 3
    assert "groups=8" in repr(layer) and "padding_mode" in repr(nn.Conv1d(2, 2, 3,
                                                                          padding_mode="circular"))


@pytest.mark.parametrize("make,match", [
    (lambda: nn.Conv2d(4, 6, 3, groups=4), r"Conv2d: in_channels \(4\) and out_channels \(6\).*"
                                           r"groups \(4\)"),
    (lambda: nn.Conv2d(3, 6, 3, groups=2), r"in_channels \(3\).*groups \(2\)"),
    (lambda: nn.Conv1d(2, 2, 3, groups=0), "Conv1d: groups must be a positive int"),
    (lambda: nn.Conv2d(2, 2, 3, padding_mode="mirror"), "padding_mode"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"), "padding_mode"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, padding="same"), "padding must be an int"),
    (lambda: nn.Conv1d(2, 2, 3, stride=2, padding="same"), "stride 1"),
    (lambda: nn.Conv2d(2, 2, 0), ">= 1"),
])
def test_layer_argument_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("call,match", [
    (lambda: conv2d(_rand(2, 4, 5, 5), _rand(6, 2, 3, 3), groups=3), "divisible by groups"),
    (lambda: conv2d(_rand(2, 4, 5, 5), _rand(6, 2, 3, 3)), "expects 2"),
    (lambda: conv2d(_rand(2, 4, 5, 5), _rand(6, 2, 3, 3), _rand(5), groups=2), "bias"),
    (lambda: conv1d(_rand(2, 4, 5), _rand(6, 4, 3, 3)), "weight"),
    (lambda: conv1d(_rand(4), _rand(6, 4, 3)), "expected input"),
    (lambda: conv_transpose2d(_rand(2, 3, 4, 4), _rand(3, 2, 3, 3), groups=2), "divisible"),
    (lambda: conv_transpose2d(_rand(2, 3, 4, 4), _rand(3, 2, 3, 3), stride=2,
                              output_padding=2), "output_padding"),
    (lambda: conv_transpose2d(_rand(1, 3, 1, 1), _rand(3, 2, 1, 1), padding=1), "no output"),
    (lambda: pad_mode(_rand(1, 1, 3, 3), ((3, 0), (0, 0)), "reflect"), "less than"),
    (lambda: pad_mode(_rand(1, 1, 3, 3), ((4, 0),), "circular"), "at most"),
])
def test_functional_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_conv_transpose_output_size():
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = dg.Tensor(_rand(1, 2, 4, 4))
    assert layer(x).shape == (1, 3, 7, 7)
    assert layer(x, output_size=(8, 7)).shape == (1, 3, 8, 7)
    with pytest.raises(ValueError, match="output_size.*6 to 7|7 to 8"):
        layer(x, output_size=(9, 7))


# ---------------------------------------------------------------------------- PyTorch parity
torch_cases = [
    ("conv2d groups=2", lambda m: (m.conv2d, dict(stride=2, padding=1, groups=2)),
     [(2, 4, 7, 6), (6, 2, 3, 3), (6,)]),
    ("conv2d depthwise", lambda m: (m.conv2d, dict(padding="same", groups=4, dilation=2)),
     [(2, 4, 7, 6), (8, 1, 3, 2), (8,)]),
    ("conv2d unbatched", lambda m: (m.conv2d, dict(padding=(1, 0), groups=3)),
     [(3, 5, 6), (6, 1, 2, 3), (6,)]),
    ("conv1d", lambda m: (m.conv1d, dict(stride=2, padding=1, dilation=2, groups=2)),
     [(2, 4, 11), (6, 2, 3), (6,)]),
    ("conv1d unbatched same", lambda m: (m.conv1d, dict(padding="same")),
     [(3, 8), (2, 3, 4), (2,)]),
    ("conv_transpose2d", lambda m: (m.conv_transpose2d,
                                    dict(stride=2, padding=1, output_padding=1)),
     [(2, 4, 4, 3), (4, 3, 3, 3), (3,)]),
    ("conv_transpose2d grouped dilated", lambda m: (m.conv_transpose2d,
                                                    dict(stride=(1, 2), groups=2, dilation=2,
                                                         output_padding=(1, 0))),
     [(2, 4, 3, 4), (4, 2, 2, 3), (4,)]),
    ("conv_transpose2d unbatched", lambda m: (m.conv_transpose2d, dict(stride=3)),
     [(2, 3, 2), (2, 2, 3, 3), (2,)]),
    ("conv_transpose1d", lambda m: (m.conv_transpose1d,
                                    dict(stride=3, padding=1, output_padding=2, groups=2)),
     [(2, 4, 5), (4, 1, 4), (2,)]),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,pick,shapes", torch_cases, ids=[c[0] for c in torch_cases])
def test_functional_torch_parity(name, pick, shapes, dtype):
    torch = pytest.importorskip("torch")
    ours, kw = pick(dg.nn.functional)
    theirs, _ = pick(torch.nn.functional)
    arrays = [_rand(*s, seed=i) for i, s in enumerate(shapes)]
    parity(lambda x, W, b: ours(x, W, b, **kw), lambda x, W, b: theirs(x, W, b, **kw),
           arrays, dtype)


layer_cases = [
    ("Conv2d", dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2,
                    padding_mode="reflect"), (2, 4, 5, 6)),
    ("Conv2d", dict(in_channels=3, out_channels=3, kernel_size=(2, 3), padding="same",
                    groups=3, padding_mode="replicate", bias=False), (3, 4, 5)),
    ("Conv2d", dict(in_channels=2, out_channels=4, kernel_size=3, stride=2, padding=(2, 1),
                    padding_mode="circular", dilation=(1, 2)), (2, 2, 7, 8)),
    ("Conv1d", dict(in_channels=4, out_channels=2, kernel_size=3, padding=2,
                    padding_mode="reflect", groups=2), (2, 4, 7)),
    ("Conv1d", dict(in_channels=2, out_channels=2, kernel_size=4, padding="same",
                    padding_mode="circular", bias=False), (2, 6)),
    ("ConvTranspose2d", dict(in_channels=4, out_channels=6, kernel_size=3, stride=2,
                             padding=1, output_padding=1, groups=2), (2, 4, 3, 4)),
    ("ConvTranspose1d", dict(in_channels=2, out_channels=3, kernel_size=3, stride=2,
                             dilation=2, bias=False), (2, 2, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls,kw,shape", layer_cases)
def test_layer_torch_parity(cls, kw, shape, dtype):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tl = getattr(torch.nn, cls)(**kw).to(torch_dtype(dtype))
    with dg.default_dtype(dtype):
        layer = getattr(nn, cls)(**kw)
    module_parity(layer, tl, _rand(*shape), dtype)


@pytest.mark.parametrize("fn,shape,out", [
    (lambda x: conv2d(x, _rand(6, 2, 3, 3), groups=2), (0, 4, 5, 5), (0, 6, 3, 3)),
    (lambda x: conv1d(x, _rand(6, 4, 3)), (0, 4, 5), (0, 6, 3)),
    (lambda x: conv_transpose2d(x, _rand(4, 2, 3, 3), stride=2), (0, 4, 3, 3), (0, 2, 7, 7)),
])
def test_empty_batch(fn, shape, out):
    x = dg.Tensor(np.zeros(shape), requires_grad=True)
    y = fn(x)
    assert y.shape == out
    y.backward(np.zeros(out))
    assert x.grad.shape == shape

"""Parity with PyTorch: conv2d, pooling, batch norm and layer norm (outputs and gradients),
functional and as modules, with torch state_dicts loaded into deepgrad modules."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import deepgrad as dg  # noqa: E402
from deepgrad.autograd.ops.conv import conv2d  # noqa: E402
from deepgrad.autograd.ops.norm import batch_norm, layer_norm  # noqa: E402
from deepgrad.autograd.ops.pool import avg_pool2d, max_pool2d  # noqa: E402

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
DTYPES = [np.float32, np.float64]


def _close(a, b, dtype):
    """Within 1e-5 (float32) / 1e-10 (float64) relative to the largest magnitude."""
    a, b = np.asarray(a), np.asarray(b)
    scale = max(np.abs(b).max(), 1.0)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    assert a.dtype == dtype
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale)


def _pair(arrays):
    """deepgrad and torch leaves on the same data."""
    dgs = [dg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return dgs, ts


def _run(dg_fn, t_fn, arrays, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [a.astype(dtype) for a in arrays]
    dgs, ts = _pair(arrays)
    y, yt = dg_fn(*dgs), t_fn(*ts)
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    yt.backward(torch.tensor(gy))
    _close(y.numpy(), yt.detach().numpy(), dtype)
    for d, t in zip(dgs, ts, strict=True):
        _close(d.grad, t.grad.numpy(), dtype)


CONV = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=(0, 2)),
    dict(dilation=2, padding=2),
    dict(padding="same"),
    dict(padding="valid", stride=2),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CONV)
def test_conv2d_parity(kw, dtype):
    rng = np.random.default_rng(1)
    arrays = [
        rng.standard_normal((4, 3, 9, 8)),
        rng.standard_normal((5, 3, 3, 3)),
        rng.standard_normal(5),
    ]
    _run(
        lambda x, W, b: conv2d(x, W, b, **kw),
        lambda x, W, b: F.conv2d(x, W, b, **kw),
        arrays,
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", [(2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 0))])
def test_pool_parity(cfg, dtype):
    k, s, p = cfg
    rng = np.random.default_rng(2)
    x = [rng.standard_normal((3, 4, 8, 9))]
    _run(lambda x: max_pool2d(x, k, s, p), lambda x: F.max_pool2d(x, k, s, p), x, dtype)
    _run(lambda x: avg_pool2d(x, k, s, p), lambda x: F.avg_pool2d(x, k, s, p), x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 5), (6, 4, 7), (4, 3, 5, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_parity(shape, training, dtype):
    rng = np.random.default_rng(3)
    c = shape[1]
    arrays = [rng.standard_normal(shape) * 3 + 1, rng.standard_normal(c), rng.standard_normal(c)]
    rm, rv = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    rm_t, rv_t = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    _run(
        lambda x, w, b: batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5),
        lambda x, w, b: F.batch_norm(x, rm_t, rv_t, w, b, training, 0.1, 1e-5),
        arrays,
        dtype,
    )
    _close(rm, rm_t.numpy(), dtype)
    _close(rv, rv_t.numpy(), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,ns", [((6, 10), (10,)), ((2, 3, 4, 5), (4, 5))])
def test_layer_norm_parity(shape, ns, dtype):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(shape) * 2, rng.standard_normal(ns), rng.standard_normal(ns)]
    _run(
        lambda x, w, b: layer_norm(x, ns, w, b),
        lambda x, w, b: F.layer_norm(x, ns, w, b),
        arrays,
        dtype,
    )


# ----------------------------------------------------------------------------- modules
def _load_from_torch(layer, tlayer):
    """Load a torch state_dict (converted with .numpy(), minus num_batches_tracked)."""
    sd = {
        k: v.detach().numpy() for k, v in tlayer.state_dict().items() if k != "num_batches_tracked"
    }
    layer.load_state_dict(sd)


def _module_run(layer, tlayer, x, dtype, steps=1, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        xd = dg.Tensor(x.astype(dtype), requires_grad=True)
        xt = torch.tensor(x.astype(dtype), requires_grad=True)
        y, yt = layer(xd), tlayer(xt)
        gy = rng.standard_normal(y.shape).astype(dtype)
        y.backward(gy)
        yt.backward(torch.tensor(gy))
        _close(y.numpy(), yt.detach().numpy(), dtype)
        _close(xd.grad, xt.grad.numpy(), dtype)
    tparams = dict(tlayer.named_parameters())
    for name, p in layer.named_parameters():
        _close(p.grad, tparams[name].grad.numpy(), dtype)
    tbufs = dict(tlayer.named_buffers())
    for name, b in layer.named_buffers():
        _close(b.data, tbufs[name].numpy(), dtype)


def _torch_dtype(dtype):
    return torch.float32 if dtype == np.float32 else torch.float64


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kw",
    [dict(stride=2, padding=1), dict(dilation=2, padding="same"), dict(padding=(1, 0), bias=False)],
)
def test_conv2d_module_parity_with_loaded_state(kw, dtype):
    torch.manual_seed(0)
    tl = torch.nn.Conv2d(3, 6, (3, 2), **kw).to(_torch_dtype(dtype))
    with dg.default_dtype(dtype):
        layer = dg.nn.Conv2d(3, 6, (3, 2), **kw)
    _load_from_torch(layer, tl)
    x = np.random.default_rng(5).standard_normal((4, 3, 9, 8))
    _module_run(layer, tl, x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pool_module_parity(dtype):
    x = np.random.default_rng(6).standard_normal((2, 3, 8, 8))
    for ours, theirs in [
        (dg.nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
        (dg.nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
        (dg.nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
    ]:
        _module_run(ours, theirs, x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,shape", [("1d", (8, 4)), ("1d", (6, 4, 5)), ("2d", (5, 4, 3, 3))])
def test_batchnorm_module_parity_train_then_eval(kind, shape, dtype):
    torch.manual_seed(1)
    tcls = torch.nn.BatchNorm1d if kind == "1d" else torch.nn.BatchNorm2d
    ours_cls = dg.nn.BatchNorm1d if kind == "1d" else dg.nn.BatchNorm2d
    tl = tcls(4, momentum=0.2).to(_torch_dtype(dtype))
    with torch.no_grad():
        tl.weight.normal_()
        tl.bias.normal_()
    with dg.default_dtype(dtype):
        layer = ours_cls(4, momentum=0.2)
    _load_from_torch(layer, tl)
    x = np.random.default_rng(7).standard_normal(shape) * 2 + 0.5
    _module_run(layer, tl, x, dtype, steps=3)  # running stats after 3 steps compared
    layer.eval()
    tl.eval()
    for p in list(layer.parameters()):
        p.grad = None
    tl.zero_grad()
    _module_run(layer, tl, x * 0.5, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layernorm_module_parity(dtype):
    torch.manual_seed(2)
    tl = torch.nn.LayerNorm((3, 5)).to(_torch_dtype(dtype))
    with torch.no_grad():
        tl.weight.normal_()
        tl.bias.normal_()
    with dg.default_dtype(dtype):
        layer = dg.nn.LayerNorm((3, 5))
    _load_from_torch(layer, tl)
    _module_run(layer, tl, np.random.default_rng(8).standard_normal((4, 3, 5)), dtype)

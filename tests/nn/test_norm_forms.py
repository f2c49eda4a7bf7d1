"""Normalization forms against PyTorch: BatchNorm momentum=None / affine=False /
track_running_stats=False / empty batches, LayerNorm(bias=False), GroupNorm, InstanceNorm2d
and the functional forms; gradchecks, float32, no_grad."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd.ops.norm import batch_norm, layer_norm
from deepgrad.autograd.ops.norm_group import group_norm, instance_norm
from deepgrad.testing import check_op, gradcheck

from .forms_helpers import TOL, assert_no_graph, torch_parity

DTYPES = [np.float64, np.float32]


def _pair(make, make_torch, dtype):
    """The same layer in deepgrad and torch, deepgrad's parameters copied from torch's
    (made non-trivial first)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tl = make_torch(torch.nn).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for p in tl.parameters():
            p.copy_(torch.randn(p.shape) * 0.5 + 1)
    with dg.default_dtype(dtype):
        layer = make(nn)
    layer.load_state_dict({k: v.numpy() for k, v in tl.state_dict().items()}, strict=False)
    return layer, tl, torch


def _run(layer, tl, torch, xs, dtype, mode):
    """Train/eval steps on both layers: outputs, input and parameter gradients, buffers.
    (float32: 1e-5 relative, and 1e-5 of the largest gradient absolute: a small group's
    gradient cancels, to about 1e-5 in torch's float32 as in ours against float64.)"""
    rtol, atol = TOL[dtype] if dtype == np.float64 else (1e-5, 1e-5)
    rng = np.random.default_rng(0)
    layer.train(mode == "train")
    tl.train(mode == "train")
    for x in xs:
        a = dg.tensor(x.astype(dtype), requires_grad=True)
        b = torch.tensor(x.astype(dtype), requires_grad=True)
        y, yt = layer(a), tl(b)
        assert y.dtype == dtype and y.shape == tuple(yt.shape)
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=rtol, atol=atol)
        gy = rng.normal(size=y.shape).astype(dtype)
        y.backward(gy)
        yt.backward(torch.tensor(gy))
        scale = 1.0 if dtype == np.float64 or not a.grad.size else max(1, abs(a.grad).max())
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=rtol, atol=atol * scale)
    tp = dict(tl.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, tp[name].grad.numpy(), rtol=rtol, atol=atol * 10)
        tp[name].grad = None
        p.grad = None
    tb = dict(tl.named_buffers())
    for name, buf in layer.named_buffers():
        np.testing.assert_allclose(buf.data, tb[name].numpy(), rtol=rtol, atol=atol)


# -------------------------------------------------------------------------- batch norm
BN_CASES = {
    "cumulative": dict(momentum=None),
    "no_affine": dict(affine=False),
    "no_tracking": dict(track_running_stats=False),
    "no_affine_no_tracking": dict(affine=False, track_running_stats=False, momentum=None),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(BN_CASES))
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 2)),
                                       ("BatchNorm2d", (3, 3, 2, 2))])
def test_batch_norm_options_match_torch(cls, shape, case, dtype):
    kw = BN_CASES[case]
    layer, tl, torch = _pair(lambda m: getattr(m, cls)(3, **kw),
                             lambda m: getattr(m, cls)(3, **kw), dtype)
    keys = [k for k in tl.state_dict() if "momentum" in kw or k != "num_batches_tracked"]
    assert list(layer.state_dict()) == keys  # the counter is kept for momentum=None only
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=shape) * (i + 1) + i for i in range(3)]
    _run(layer, tl, torch, xs, dtype, "train")
    _run(layer, tl, torch, xs[:1], dtype, "eval")  # running stats, or batch stats untracked
    if kw.get("momentum", 0.1) is None and layer.track_running_stats:
        assert int(layer.num_batches_tracked.data) == 3
        np.testing.assert_allclose(layer.running_mean.data, np.mean(
            [x.mean(axis=(0,) + tuple(range(2, x.ndim))) for x in xs], axis=0),
            rtol=TOL[dtype][0])  # the plain average of the three batch means
        layer.reset_running_stats()
        assert int(layer.num_batches_tracked.data) == 0


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (0, 3, 2, 2)])
def test_batch_norm_empty_batch_in_eval_mode(shape):
    layer, tl, torch = _pair(
        lambda m: (m.BatchNorm1d if len(shape) < 4 else m.BatchNorm2d)(3),
        lambda m: (m.BatchNorm1d if len(shape) < 4 else m.BatchNorm2d)(3), np.float64)
    _run(layer, tl, torch, [np.zeros(shape)], np.float64, "eval")
    layer.train()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(dg.tensor(np.zeros(shape)))


def test_batch_norm_cumulative_average_state_dict_and_gradcheck():
    with dg.default_dtype(np.float64):
        bn = nn.BatchNorm1d(2, momentum=None)
        plain = nn.BatchNorm1d(2)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert plain.num_batches_tracked is None  # torch fills a missing counter when loading
    assert "momentum=None" in repr(bn)
    x = dg.tensor(np.random.default_rng(2).normal(size=(4, 2)), requires_grad=True)
    gradcheck(lambda a, w, b: bn(a), x, bn.weight, bn.bias)
    plain.momentum = None  # switched after construction: the counter starts then
    plain(x)
    assert int(plain.num_batches_tracked.data) == 1
    np.testing.assert_allclose(plain.running_mean.data, x.data.mean(0))


def test_functional_batch_and_layer_norm_with_a_bias_alone_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x, b = rng.normal(size=(4, 3, 2)), rng.normal(size=3)
    for dt in DTYPES:
        torch_parity(lambda a, c: batch_norm(a, None, None, None, c, training=True),
                     lambda a, c: F.batch_norm(a, None, None, None, c, training=True),
                     [x, b], [True, True], dt)
        torch_parity(lambda a, c: layer_norm(a, (3, 2), None, c),
                     lambda a, c: F.layer_norm(a, (3, 2), None, c), [x, x[0]], [True, True], dt)
    check_op(lambda a, c: batch_norm(a, None, None, None, c, training=True), None, (4, 3), (3,))


# -------------------------------------------------------------------------- layer norm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(bias=False), dict(elementwise_affine=False),
                                dict(elementwise_affine=False, bias=False)])
def test_layer_norm_options_match_torch(kw, dtype):
    layer, tl, torch = _pair(lambda m: m.LayerNorm((2, 3), **kw),
                             lambda m: m.LayerNorm((2, 3), **kw), dtype)
    assert list(layer.state_dict()) == list(tl.state_dict())
    assert layer.bias is None
    x = np.random.default_rng(4).normal(size=(4, 2, 3))
    _run(layer, tl, torch, [x, np.zeros((0, 2, 3))], dtype, "train")
    params = [p for p in (layer.weight,) if p is not None]
    if dtype == np.float64:
        gradcheck(lambda a, *ps: layer(a), dg.tensor(x, requires_grad=True), *params)


# -------------------------------------------------------------------------- group norm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("groups,affine", [(1, True), (2, True), (6, False), (6, True)])
@pytest.mark.parametrize("shape", [(3, 6), (2, 6, 3), (2, 6, 2, 3), (0, 6, 2)])
def test_group_norm_matches_torch(shape, groups, affine, dtype):
    if dtype == np.float32 and 6 // groups * int(np.prod(shape[2:])) < 3:
        pytest.skip("groups of < 3 values: the input gradient is 0 (ours exactly; torch's "
                    "float32 has 1e-5 of rounding); float64 checks these")
    layer, tl, torch = _pair(lambda m: m.GroupNorm(groups, 6, affine=affine),
                             lambda m: m.GroupNorm(groups, 6, affine=affine), dtype)
    assert list(layer.state_dict()) == list(tl.state_dict())
    rng = np.random.default_rng(5)
    _run(layer, tl, torch, [rng.normal(size=shape) * 3 + 1, rng.normal(size=shape)], dtype,
         "train")
    _run(layer, tl, torch, [rng.normal(size=shape)], dtype, "eval")  # the same in eval


@pytest.mark.parametrize("groups", [1, 3])
def test_group_norm_gradcheck_and_float32(groups):
    rng = np.random.default_rng(6)
    w, b = rng.normal(size=3), rng.normal(size=3)
    check_op(lambda x, w, b: group_norm(x, groups, w, b), None, (2, 3, 2, 2), (3,), (3,))
    check_op(lambda x: group_norm(x, groups), None, (2, 3, 4))
    check_op(lambda x, w: group_norm(x, groups, w), None, (2, 3, 4), (3,))
    assert_no_graph(lambda x, w, b: group_norm(x, groups, w, b),
                    rng.normal(size=(2, 3, 2)), w, b)
    with dg.default_dtype(np.float32):
        layer = nn.GroupNorm(groups, 3)
    y = layer(dg.tensor(rng.normal(size=(2, 3, 2)).astype(np.float32)))
    assert y.dtype == np.float32


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by "
                                         r"num_groups \(3\)"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4, \*\), got \(2, 3\)"):
        nn.GroupNorm(2, 4)(dg.tensor(np.ones((2, 3))))
    with pytest.raises(ValueError, match="num_groups"):
        group_norm(dg.tensor(np.ones((2, 4))), 3)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        group_norm(dg.tensor(np.ones((2, 4))), 2, dg.tensor(np.ones(3)))
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True)"


# ----------------------------------------------------------------------- instance norm
IN_CASES = {
    "plain": dict(),
    "affine": dict(affine=True),
    "tracking": dict(track_running_stats=True, momentum=0.3),
    "affine_tracking": dict(affine=True, track_running_stats=True),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(IN_CASES))
@pytest.mark.parametrize("shape", [(2, 3, 2, 3), (3, 2, 2)])
def test_instance_norm_2d_matches_torch(shape, case, dtype):
    kw = IN_CASES[case]
    layer, tl, torch = _pair(lambda m: m.InstanceNorm2d(3, **kw),
                             lambda m: m.InstanceNorm2d(3, **kw), dtype)
    assert list(layer.state_dict()) == list(tl.state_dict())
    rng = np.random.default_rng(7)
    xs = [rng.normal(size=shape) * (i + 1) + i for i in range(2)]
    _run(layer, tl, torch, xs, dtype, "train")
    _run(layer, tl, torch, xs[:1], dtype, "eval")


def test_instance_norm_gradcheck_functional_and_errors():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    rm, rv = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    check_op(lambda x, w, b: instance_norm(x, None, None, w, b), None, (2, 3, 2, 2), (3,), (3,))
    check_op(lambda x, w, b: instance_norm(x, rm, rv, w, b, use_input_stats=False), None,
             (2, 3, 4), (3,), (3,))
    trm, trv = rm.copy(), rv.copy()
    x, w = rng.normal(size=(2, 3, 4)), rng.normal(size=3)
    torch_parity(lambda a, c: instance_norm(a, rm, rv, c, None, True, 0.2),
                 lambda a, c: torch.nn.functional.instance_norm(
                     a, torch.tensor(trm), torch.tensor(trv), c, None, True, 0.2),
                 [x, w], [True, True])
    with dg.default_dtype(np.float64):
        layer = nn.InstanceNorm2d(3, affine=True)
    gradcheck(lambda a, *p: layer(a), dg.tensor(rng.normal(size=(3, 2, 2)), requires_grad=True),
              layer.weight, layer.bias)
    assert_no_graph(lambda a: layer(a), rng.normal(size=(1, 3, 2, 2)))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        layer(dg.tensor(np.ones((2, 3, 1, 1))))
    with pytest.raises(ValueError, match=r"expected 3 channels, got input of shape"):
        layer(dg.tensor(np.ones((2, 4, 2, 2))))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(C, H, W\)"):
        layer(dg.tensor(np.ones((2, 3))))
    with pytest.warns(UserWarning, match="num_features is 3"):
        nn.InstanceNorm2d(3)(dg.tensor(np.ones((1, 4, 2, 2))))


def test_norm_layers_record_nothing_under_no_grad():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(4, 3, 2, 2))
    for layer in (nn.BatchNorm2d(3, momentum=None), nn.GroupNorm(3, 3), nn.LayerNorm(2, bias=False),
                  nn.InstanceNorm2d(3, affine=True, track_running_stats=True)):
        assert_no_graph(lambda a, m=layer: m(a), x)

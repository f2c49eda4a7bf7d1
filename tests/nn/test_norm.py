"""batch_norm and layer_norm: forward vs NumPy, float64 gradcheck (train and eval), running
statistics, float32, errors."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd.ops.norm import batch_norm, layer_norm
from deepgrad.testing import check_op, gradcheck

SHAPES = [(5, 3), (4, 3, 5), (3, 2, 4, 3)]


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _bshape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def ref_bn_train(x, w, b, eps=1e-5):
    ax = _axes(x)
    xhat = (x - x.mean(axis=ax, keepdims=True)) / np.sqrt(x.var(axis=ax, keepdims=True) + eps)
    return xhat * w.reshape(_bshape(x)) + b.reshape(_bshape(x))


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_train_forward_and_gradcheck(shape):
    c = shape[1]
    check_op(
        lambda x, w, b: batch_norm(x, None, None, w, b, training=True),
        ref_bn_train,
        shape,
        (c,),
        (c,),
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_eval_forward_and_gradcheck(shape):
    c = shape[1]
    rm, rv = np.linspace(-1, 1, c), np.linspace(0.5, 2, c)

    def ref(x, w, b):
        bs = _bshape(x)
        return (x - rm.reshape(bs)) / np.sqrt(rv.reshape(bs) + 1e-5) * w.reshape(bs) + b.reshape(bs)

    check_op(lambda x, w, b: batch_norm(x, rm, rv, w, b, training=False), ref, shape, (c,), (c,))


def test_batch_norm_without_affine():
    check_op(
        lambda x: batch_norm(x, None, None, training=True),
        lambda x: ref_bn_train(x, np.ones(3), np.zeros(3)),
        (4, 3, 2, 2),
    )


def test_batch_norm_running_stats_update_in_place():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 2, 2)) * 2 + 1
    rm, rv = np.zeros(3), np.ones(3)
    rm_id, rv_id = id(rm), id(rv)
    for _ in range(3):
        batch_norm(dg.Tensor(x), rm, rv, training=True, momentum=0.2)
    exp_m, exp_v = np.zeros(3), np.ones(3)
    for _ in range(3):
        exp_m = 0.8 * exp_m + 0.2 * x.mean(axis=(0, 2, 3))
        exp_v = 0.8 * exp_v + 0.2 * x.var(axis=(0, 2, 3), ddof=1)  # unbiased
    assert id(rm) == rm_id and id(rv) == rv_id
    np.testing.assert_allclose(rm, exp_m, rtol=1e-12)
    np.testing.assert_allclose(rv, exp_v, rtol=1e-12)
    y = batch_norm(dg.Tensor(x), rm, rv, training=False).numpy()  # eval uses them
    np.testing.assert_allclose(
        y, (x - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5)
    )
    np.testing.assert_allclose(rm, exp_m, rtol=1e-12)  # and eval leaves them alone


def test_batch_norm_float32_with_tensor_running_stats():
    rng = np.random.default_rng(1)
    x = dg.Tensor(rng.standard_normal((8, 4)).astype(np.float32), requires_grad=True)
    rm, rv = dg.Tensor(np.zeros(4, np.float32)), dg.Tensor(np.ones(4, np.float32))
    w = dg.Tensor(np.ones(4, np.float32), requires_grad=True)
    b = dg.Tensor(np.zeros(4, np.float32), requires_grad=True)
    y = batch_norm(x, rm, rv, w, b, training=True)
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == x.grad.dtype == w.grad.dtype == rm.dtype == rv.dtype == np.float32
    assert np.abs(rm.data).sum() > 0


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value"):
        batch_norm(dg.Tensor(np.ones((1, 3))), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean"):
        batch_norm(dg.Tensor(np.ones((2, 3))), None, None, training=False)
    with pytest.raises(ValueError, match="expected input"):
        batch_norm(dg.Tensor(np.ones(3)), None, None, training=True)
    with pytest.raises(ValueError, match="both"):
        batch_norm(dg.Tensor(np.ones((2, 3))), np.zeros(3), None, training=True)


def ref_ln(x, nd, w=None, b=None, eps=1e-5):
    ax = tuple(range(x.ndim - nd, x.ndim))
    y = (x - x.mean(axis=ax, keepdims=True)) / np.sqrt(x.var(axis=ax, keepdims=True) + eps)
    return y if w is None else y * w + b


@pytest.mark.parametrize("shape,ns", [((4, 5), 5), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4))])
def test_layer_norm_forward_and_gradcheck(shape, ns):
    nshape = (ns,) if isinstance(ns, int) else ns
    check_op(
        lambda x, w, b: layer_norm(x, ns, w, b),
        lambda x, w, b: ref_ln(x, len(nshape), w, b),
        shape,
        nshape,
        nshape,
    )
    check_op(lambda x: layer_norm(x, ns), lambda x: ref_ln(x, len(nshape)), shape)


def test_layer_norm_gradcheck_input_only():
    rng = np.random.default_rng(2)
    x = dg.Tensor(rng.standard_normal((3, 6)), requires_grad=True)
    w, b = dg.Tensor(rng.standard_normal(6)), dg.Tensor(rng.standard_normal(6))
    gradcheck(lambda x: layer_norm(x, 6, w, b), x)


def test_layer_norm_shape_error():
    with pytest.raises(ValueError, match="normalized_shape"):
        layer_norm(dg.Tensor(np.ones((2, 3))), 4)

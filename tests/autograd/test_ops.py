"""Every op: forward vs NumPy, float64 gradcheck (incl. broadcasting), float32 in/out,
nothing recorded under no_grad."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.testing import check_op

BCAST = [((3, 4), (3, 4)), ((3, 1, 4), (2, 1)), ((4,), (3, 4)), ((2, 3), ())]


@pytest.mark.parametrize("sa,sb", BCAST)
@pytest.mark.parametrize(
    "fn,ref",
    [
        (dg.add, np.add),
        (dg.sub, np.subtract),
        (dg.mul, np.multiply),
        (lambda a, b: a + b, np.add),
        (lambda a, b: a - b, np.subtract),
        (lambda a, b: a * b, np.multiply),
        (dg.maximum, np.maximum),
        (dg.minimum, np.minimum),
    ],
)
def test_binary(fn, ref, sa, sb):
    check_op(fn, ref, sa, sb)


@pytest.mark.parametrize("sa,sb", BCAST)
def test_div(sa, sb):
    check_op(dg.div, np.divide, sa, sb, low=0.5, high=2.0)
    check_op(lambda a, b: a / b, np.divide, sa, sb, low=0.5, high=2.0)


@pytest.mark.parametrize("sa,sb", BCAST)
def test_pow_tensor_exponent(sa, sb):
    check_op(dg.pow, np.power, sa, sb, low=0.5, high=2.0)


@pytest.mark.parametrize("c", [2, 3, 0.5, -1.5])
def test_pow_scalar(c):
    check_op(lambda x: x**c, lambda x: x**c, (3, 4), low=0.5, high=2.0)


def test_reflected_operators():
    check_op(lambda x: 2.0 - x, lambda x: 2.0 - x, (3,))
    check_op(lambda x: 2.0 / x, lambda x: 2.0 / x, (3,), low=0.5, high=2)
    check_op(lambda x: 3 * x + 1, lambda x: 3 * x + 1, (3,))
    check_op(lambda x: 2.0**x, lambda x: 2.0**x, (3,))
    check_op(lambda x: -x, np.negative, (2, 3))
    check_op(dg.neg, np.negative, (2, 3))
    a = np.arange(3.0)
    check_op(lambda x: a - x, lambda x: a - x, (3,))
    check_op(lambda x: a @ x, lambda x: a @ x, (3, 2))


@pytest.mark.parametrize(
    "sa,sb",
    [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)),
     ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,))],
)
def test_matmul(sa, sb):
    check_op(dg.matmul, np.matmul, sa, sb)
    check_op(lambda a, b: a @ b, np.matmul, sa, sb)


def test_matmul_shape_error():
    with pytest.raises(ValueError, match="don't align"):
        dg.matmul(dg.tensor(np.ones((2, 3))), dg.tensor(np.ones((4, 2))))


UNARY = [
    (dg.exp, np.exp, -2, 2),
    (dg.log, np.log, 0.5, 3),
    (dg.log1p, np.log1p, -0.5, 3),
    (dg.sqrt, np.sqrt, 0.5, 3),
    (dg.square, np.square, -2, 2),
    (dg.abs, np.abs, -2, 2),
    (dg.tanh, np.tanh, -3, 3),
    (dg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), -5, 5),
    (dg.relu, lambda x: np.maximum(x, 0), -2, 2),
    (lambda x: dg.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), -2, 2),
    (lambda x: dg.leaky_relu(x), lambda x: np.where(x > 0, x, 0.01 * x), -2, 2),
    (lambda x: dg.clip(x, -0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0), -2, 2),
    (lambda x: dg.clip(x, None, 1.0), lambda x: np.clip(x, None, 1.0), -2, 2),
    (lambda x: x.exp().log(), lambda x: x, -2, 2),
]


@pytest.mark.parametrize("fn,ref,lo,hi", UNARY)
def test_unary(fn, ref, lo, hi):
    check_op(fn, ref, (3, 4), low=lo, high=hi)


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax(axis):
    check_op(lambda x: dg.softmax(x, axis), lambda x: _np_softmax(x, axis), (3, 4, 2))
    check_op(
        lambda x: dg.log_softmax(x, axis=axis), lambda x: np.log(_np_softmax(x, axis)), (3, 4, 2)
    )
    check_op(lambda x: x.softmax(axis), lambda x: _np_softmax(x, axis), (3, 4, 2))


def test_where():
    cond = np.array([[True, False, True, False]] * 3)
    check_op(lambda x, y: dg.where(cond, x, y), lambda x, y: np.where(cond, x, y), (3, 4), (3, 4))
    check_op(lambda x, y: dg.where(cond, x, y), lambda x, y: np.where(cond, x, y), (3, 1), (4,))
    t = dg.tensor(np.array([1.0, -2.0, 3.0]))
    assert np.array_equal(dg.where(t > 0, t, 0.0).numpy(), [1.0, 0.0, 3.0])


AXES = [None, 0, 1, -1, (0, 2)]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize(
    "fn,ref",
    [
        (dg.sum, np.sum),
        (dg.mean, np.mean),
        (dg.max, np.max),
        (dg.min, np.min),
        (dg.var, np.var),
        (dg.std, np.std),
        (dg.logsumexp, lambda x, axis, keepdims: np.log(np.exp(x).sum(axis, keepdims=keepdims))),
    ],
)
def test_reductions(fn, ref, axis, keepdims):
    check_op(
        lambda x: fn(x, axis=axis, keepdims=keepdims),
        lambda x: ref(x, axis=axis, keepdims=keepdims),
        (2, 3, 4),
    )


def test_var_ddof_and_methods():
    check_op(lambda x: dg.var(x, axis=0, ddof=1), lambda x: np.var(x, axis=0, ddof=1), (4, 3))
    check_op(lambda x: x.var(1, True, 1), lambda x: np.var(x, 1, keepdims=True, ddof=1), (4, 3))
    check_op(lambda x: x.sum(axis=1), lambda x: x.sum(axis=1), (4, 3))
    check_op(lambda x: x.mean(), lambda x: x.mean(), (4, 3))
    check_op(lambda x: x.max(axis=0), lambda x: x.max(axis=0), (4, 3))


def test_max_ties_share_gradient():
    x = dg.tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    dg.max(x).backward()
    assert np.array_equal(x.grad, [0.0, 0.5, 0.5])


def test_shape_ops():
    check_op(lambda x: dg.reshape(x, (4, 6)), lambda x: x.reshape(4, 6), (2, 3, 4))
    check_op(lambda x: x.reshape(-1, 2), lambda x: x.reshape(-1, 2), (2, 3, 4))
    check_op(lambda x: dg.transpose(x), lambda x: x.T, (2, 3, 4))
    check_op(lambda x: x.T, lambda x: x.T, (2, 3))
    check_op(lambda x: dg.transpose(x, (1, 2, 0)), lambda x: x.transpose(1, 2, 0), (2, 3, 4))
    check_op(lambda x: x.transpose(2, 0, 1), lambda x: x.transpose(2, 0, 1), (2, 3, 4))
    check_op(lambda x: dg.permute(x, 2, 0, 1), lambda x: x.transpose(2, 0, 1), (2, 3, 4))
    check_op(lambda x: dg.swapaxes(x, 0, 2), lambda x: x.swapaxes(0, 2), (2, 3, 4))
    check_op(lambda x: dg.flatten(x), lambda x: x.flatten(), (2, 3, 4))
    check_op(lambda x: dg.flatten(x, 1), lambda x: x.reshape(2, 12), (2, 3, 4))
    check_op(lambda x: dg.expand_dims(x, 1), lambda x: np.expand_dims(x, 1), (2, 3))
    check_op(lambda x: dg.squeeze(x), lambda x: np.squeeze(x), (2, 1, 3))
    check_op(lambda x: dg.squeeze(x, 1), lambda x: np.squeeze(x, 1), (2, 1, 3))
    check_op(lambda x: dg.broadcast_to(x, (4, 2, 3)), lambda x: np.broadcast_to(x, (4, 2, 3)),
             (2, 1))


@pytest.mark.parametrize(
    "key",
    [
        1,
        (slice(None), 1),
        (slice(0, 2), slice(None, None, 2)),
        (Ellipsis, -1),
        np.array([0, 2, 2, 1]),
        (np.array([0, 2, 0]), np.array([1, 1, 1])),
        np.array([True, False, True]),
        (slice(None), None, 0),
    ],
)
def test_getitem(key):
    check_op(lambda x: x[key], lambda x: x[key], (3, 4))
    check_op(lambda x: dg.getitem(x, key), lambda x: x[key], (3, 4))


def test_getitem_bool_mask_2d_and_list():
    mask = np.array([[True, False], [False, True], [True, True]])
    check_op(lambda x: x[mask], lambda x: x[mask], (3, 2))
    check_op(lambda x: x[[0, 0, 2]], lambda x: x[[0, 0, 2]], (3, 2))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack(axis):
    check_op(
        lambda a, b, c: dg.concatenate([a, b, c], axis=axis),
        lambda a, b, c: np.concatenate([a, b, c], axis=axis),
        (2, 3), (2, 3), (2, 3),
    )
    check_op(
        lambda a, b: dg.stack([a, b], axis=axis),
        lambda a, b: np.stack([a, b], axis=axis),
        (2, 3), (2, 3),
    )


def test_concatenate_uneven_sizes_and_partial_grad():
    check_op(
        lambda a, b: dg.concatenate([a, b], axis=1),
        lambda a, b: np.concatenate([a, b], axis=1),
        (2, 1), (2, 3), grad_inputs=[1],
    )


@pytest.mark.parametrize("pw", [1, (1, 2), ((0, 1), (2, 0)), ((1, 1), (0, 0))])
def test_pad(pw):
    check_op(lambda x: dg.pad(x, pw), lambda x: np.pad(x, pw), (2, 3))
    check_op(lambda x: dg.pad(x, pw, value=-1.5), lambda x: np.pad(x, pw, constant_values=-1.5),
             (2, 3))


def test_pad_negative_crops():
    # negative widths crop, as torch.nn.functional.pad does (cropping past the end is refused)
    check_op(lambda x: dg.pad(x, (-1, 2)), lambda x: np.pad(x[1:], (0, 2)), (4,))
    with pytest.raises(ValueError, match="crop more"):
        dg.pad(dg.tensor(np.ones(3)), (-2, -2))


def test_cast_roundtrip_gradient_dtype():
    x = dg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32
    assert np.array_equal(x.grad, [2, 2, 2])


def test_comparisons_are_plain_arrays():
    x = dg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (x > 1, x >= 2, x < 2, x <= 1, x == 2, x != 2):
        assert isinstance(r, np.ndarray) and r.dtype == bool
    assert list(x > 1) == [False, True, True]
    assert x.argmax() == 2

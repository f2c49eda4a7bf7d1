"""PyTorch argument forms (issue 13): clamp with tensor bounds, pad modes and cropping,
softmax dtype=, div rounding_mode=, add/sub alpha=, squeeze of a non-1 axis, dim=/keepdim=
everywhere axis=/keepdims= is. Parity against torch (float64 1e-10, float32 1e-5),
float64 gradchecks, float32 in/out, nothing recorded under no_grad."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.nn import functional as F
from deepgrad.testing import check_op, gradcheck

from ._parity import torch_parity

torch = pytest.importorskip("torch")
DTYPES = [np.float64, np.float32]
RNG = np.random.default_rng(13)


def _r(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp_with_tensor_bounds(dtype):
    x, lo, hi = _r(3, 4), _r(4) - 0.5, _r(3, 1) + 0.5
    hi[0, 0] = lo.min() - 1  # a row where max < min: the output is max there
    torch_parity(lambda a, b, c: dg.clamp(a, b, c), torch.clamp, x, lo, hi, dtype=dtype)
    torch_parity(lambda a, b: dg.clamp(a, min=b), lambda a, b: torch.clamp(a, min=b), x, lo,
                 dtype=dtype)
    torch_parity(lambda a, c: dg.clip(a, None, c), lambda a, c: torch.clip(a, max=c), x, hi,
                 dtype=dtype)
    torch_parity(lambda a, b: a.clamp(b, 0.3), lambda a, b: a.clamp(b, torch.tensor(0.3,
                 dtype=a.dtype)), x, lo, dtype=dtype)
    torch_parity(lambda a: dg.clamp(a, 0.5, -0.5), lambda a: torch.clamp(a, 0.5, -0.5), x,
                 dtype=dtype)


def test_clamp_gradcheck_float32_and_no_grad():
    check_op(lambda a, b, c: dg.clamp(a, b, c), lambda a, b, c: np.minimum(np.maximum(a, b), c),
             (3, 4), (4,), (3, 1))
    with pytest.raises(ValueError, match="at least one"):
        dg.clamp(dg.tensor([1.0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 0, 1, 1), (-1, 2), (1, -2, -1, 2), (0, 0, 2, -1)])
def test_pad_modes_match_torch(mode, pad, dtype):
    x = _r(2, 3, 5) if len(pad) == 2 else _r(2, 3, 4, 5)  # torch's supported ranks
    kw = dict(value=1.5) if mode == "constant" else {}
    torch_parity(lambda a: F.pad(a, pad, mode=mode, **kw),
                 lambda a: torch.nn.functional.pad(a, pad, mode=mode, **kw), x, dtype=dtype)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes_numpy_form_gradcheck(mode):
    pw = [(0, 0), (2, -1), (1, 2)]
    check_op(lambda a: dg.pad(a, pw, mode=mode), None, (2, 4, 3))
    with pytest.raises(ValueError, match="reflect padding"):
        dg.pad(dg.tensor(np.ones((2, 3))), [(0, 0), (3, 0)], mode="reflect")
    with pytest.raises(ValueError, match="mode"):
        dg.pad(dg.tensor(np.ones(3)), 1, mode="mirror")


@pytest.mark.parametrize("fn,tfn", [(dg.softmax, torch.softmax),
                                    (dg.log_softmax, torch.log_softmax)])
def test_softmax_dtype_and_dim(fn, tfn):
    x = _r(3, 4)
    torch_parity(lambda a: fn(a, dim=0, dtype=np.float64),
                 lambda a: tfn(a, dim=0, dtype=torch.float64), x, dtype=np.float32)
    torch_parity(lambda a: fn(a, dim=0, dtype=np.float64).astype(np.float32),
                 lambda a: tfn(a, dim=0, dtype=torch.float64).float(), x, dtype=np.float32)
    torch_parity(lambda a: fn(a, dim=1), lambda a: tfn(a, dim=1), x)
    with pytest.raises(TypeError, match="both"):
        fn(dg.tensor(x), 0, dim=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_mode(mode, dtype):
    a, b = _r(3, 4) * 5, _r(4) + np.sign(_r(4)) * 0.5
    torch_parity(lambda x, y: dg.div(x, y, rounding_mode=mode),
                 lambda x, y: torch.div(x, y, rounding_mode=mode), a, b, dtype=dtype)
    ia, ib = np.array([7, -7, 7, -7, 0]), np.array([2, 2, -2, -2, 3])
    if mode is not None:  # integers keep their dtype when rounded, as in torch
        torch_parity(lambda x, y: dg.div(x, y, rounding_mode=mode),
                     lambda x, y: torch.div(x, y, rounding_mode=mode), ia, ib, grad_of=[])
    with pytest.raises(ValueError, match="rounding_mode"):
        dg.div(dg.tensor(a), 2.0, rounding_mode="round")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha", [1, 2.5, -0.5])
def test_add_sub_alpha(alpha, dtype):
    a, b = _r(3, 4), _r(4)
    torch_parity(lambda x, y: dg.add(x, y, alpha=alpha),
                 lambda x, y: torch.add(x, y, alpha=alpha), a, b, dtype=dtype)
    torch_parity(lambda x, y: dg.sub(x, y, alpha=alpha),
                 lambda x, y: torch.sub(x, y, alpha=alpha), a, b, dtype=dtype)
    check_op(lambda x, y: dg.add(x, y, alpha=alpha), lambda x, y: x + alpha * y, (3, 4), (4,))


def test_squeeze_of_a_non_1_axis_is_a_no_op():
    x = _r(2, 1, 3)
    torch_parity(lambda a: dg.squeeze(a, 0), lambda a: torch.squeeze(a, 0), x)
    torch_parity(lambda a: a.squeeze(dim=(0, 1)), lambda a: a.squeeze((0, 1)), x)
    torch_parity(lambda a: a.squeeze(-1), lambda a: a.squeeze(-1), x)


REDUCE_FORMS = [
    ("sum", lambda x, d, k: torch.sum(x, d, keepdim=k)),
    ("mean", lambda x, d, k: torch.mean(x, d, keepdim=k)),
    ("logsumexp", lambda x, d, k: torch.logsumexp(x, d, keepdim=k)),
    ("var", lambda x, d, k: torch.var(x, d, keepdim=k, correction=0)),
    ("std", lambda x, d, k: torch.std(x, d, keepdim=k, correction=0)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("dim", [1, -1, (0, 2)])
@pytest.mark.parametrize("name,tfn", REDUCE_FORMS)
def test_reductions_take_dim_and_keepdim(name, tfn, dim, keep, dtype):
    x = _r(2, 3, 4)
    fn = getattr(dg, name)
    torch_parity(lambda a: fn(a, dim=dim, keepdim=keep), lambda a: tfn(a, dim, keep), x,
                 dtype=dtype)
    torch_parity(lambda a: getattr(a, name)(dim=dim, keepdim=keep),
                 lambda a: tfn(a, dim, keep), x, dtype=dtype)
    with pytest.raises(TypeError, match="both"):
        fn(dg.tensor(x), axis=1, dim=1)


def test_var_std_correction_and_unbiased():
    x = _r(3, 4)
    torch_parity(lambda a: dg.var(a, dim=1, correction=1), lambda a: torch.var(a, 1), x)
    torch_parity(lambda a: dg.std(a, dim=0, unbiased=True), lambda a: torch.std(a, 0), x)
    with pytest.raises(TypeError, match="one of"):
        dg.var(dg.tensor(x), ddof=1, correction=1)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_with_dim_return_values_and_indices(name):
    x = _r(3, 4)
    x[1, 2] = x[1, 0] = 5.0  # a tie: torch and deepgrad both pick the first index
    for keep in (False, True):
        torch_parity(lambda a, k=keep: tuple(getattr(dg, name)(a, dim=1, keepdim=k)),
                     lambda a, k=keep: tuple(getattr(torch, name)(a, dim=1, keepdim=k)), x)
        ours = getattr(dg, name)(dg.tensor(x), dim=1, keepdim=keep)
        theirs = getattr(torch, name)(torch.tensor(x), dim=1, keepdim=keep)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    torch_parity(lambda a, b: getattr(dg, name)(a, b), getattr(torch, name), x, _r(4))
    torch_parity(lambda a: getattr(dg, name)(a, axis=(0, 1)),
                 lambda a: getattr(torch, "a" + name)(a, (0, 1)), _r(3, 4))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_forms(name):
    x = _r(3, 4, 2)
    for kw, tkw in [({}, {}), ({"dim": 1}, {"dim": 1}), ({"dim": -1, "keepdim": True},
                                                         {"dim": -1, "keepdim": True})]:
        ours = getattr(dg, name)(dg.tensor(x), **kw)
        theirs = getattr(torch, name)(torch.tensor(x), **tkw)
        assert ours.dtype == np.int64 and not ours.requires_grad
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        np.testing.assert_array_equal(getattr(dg.tensor(x), name)(**kw).numpy(),
                                      theirs.numpy())
    assert getattr(dg.tensor(x), name)(axis=0).shape == (4, 2)


def test_cat_stack_and_shape_ops_take_dim():
    a, b = _r(2, 3), _r(2, 3)
    torch_parity(lambda x, y: dg.cat([x, y], dim=1), lambda x, y: torch.cat([x, y], dim=1), a, b)
    torch_parity(lambda x, y: dg.cat([x, y], 1), lambda x, y: torch.cat([x, y], 1), a, b)
    torch_parity(lambda x, y: dg.concatenate([x, y], dim=-1),
                 lambda x, y: torch.concatenate([x, y], dim=-1), a, b)
    torch_parity(lambda x, y: dg.stack([x, y], dim=2), lambda x, y: torch.stack([x, y], dim=2),
                 a, b, dtype=np.float32)
    torch_parity(lambda x: dg.expand_dims(x, dim=-1), lambda x: x.unsqueeze(-1), a)
    torch_parity(lambda x: dg.flatten(x, start_dim=1), lambda x: torch.flatten(x, start_dim=1),
                 _r(2, 3, 4))
    torch_parity(lambda x: dg.transpose(x, 0, 2), lambda x: torch.transpose(x, 0, 2),
                 _r(2, 3, 4))
    torch_parity(lambda x: x.transpose(0, 1), lambda x: x.transpose(0, 1), a)
    with pytest.raises(TypeError, match="both"):
        dg.stack([dg.tensor(a)], axis=1, dim=0)
    with pytest.raises(TypeError, match="both"):
        dg.sum(dg.tensor(a), keepdims=True, keepdim=False)


def test_forms_record_nothing_under_no_grad():
    x = dg.tensor(_r(3, 4), requires_grad=True)
    lo = dg.tensor(_r(4), requires_grad=True)
    with dg.no_grad():
        outs = [dg.clamp(x, lo), F.pad(x, (1, 1), mode="reflect"), dg.softmax(x, dim=0),
                dg.div(x, 2.0, rounding_mode="floor"), dg.add(x, lo, alpha=2), dg.sum(x, dim=1),
                dg.max(x, dim=1).values]
    assert all(o.grad_fn is None and not o.requires_grad for o in outs)


def test_gradchecks_of_the_forms():
    x = dg.tensor(_r(3, 4), requires_grad=True)
    lo = dg.tensor(_r(4) - 0.3, requires_grad=True)
    hi = dg.tensor(_r(3, 1) + 0.3, requires_grad=True)
    gradcheck(lambda a, b, c: dg.clamp(a, b, c), x, lo, hi)
    gradcheck(lambda a: F.pad(a, (2, -1, 1, 1), mode="circular"), x)
    gradcheck(lambda a: dg.log_softmax(a, dim=0), x)
    gradcheck(lambda a, b: dg.sub(a, b, alpha=0.5), x, lo)
    gradcheck(lambda a: dg.std(a, dim=1, correction=1), x)

"""Loss argument forms against PyTorch: weight / pos_weight, label smoothing, ignore_index,
(N, C), (N, C, d1, ...) and unbatched (C,) inputs, probability targets, every reduction,
float64 and float32; the soft-target gradient bug; ``dim=``; empty batches; no_grad."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import losses as L
from deepgrad import nn
from deepgrad.testing import gradcheck

from .forms_helpers import assert_no_graph, torch_parity

REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [np.float64, np.float32]


def _t(a, grad=True):
    return dg.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


# ----------------------------------------------------------- bug 3: soft-target gradient
def test_soft_targets_not_summing_to_one_get_the_exact_gradient():
    # the repro: rows of q sum to 1.4 and 0.5; d loss / dx = (softmax Σq - q) / N
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    q = np.array([[0.2, 0.3, 0.9], [0.1, 0.0, 0.4]])
    a = _t(x)
    loss = L.cross_entropy(a, q, axis=1)
    loss.backward()
    sm = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    np.testing.assert_allclose(loss.data, -(q * np.log(sm)).sum() / 2, rtol=1e-13)
    np.testing.assert_allclose(a.grad, (sm * q.sum(1, keepdims=True) - q) / 2, rtol=1e-12)
    # PyTorch's numbers as quoted in the issue (the old, wrong gradient was -0.0124, ...)
    np.testing.assert_allclose(a.grad[0], [0.0227, -0.1226, 0.0999], atol=1e-4)
    gradcheck(lambda z: L.cross_entropy(z, q, axis=1), _t(x))
    gradcheck(lambda z, p: L.cross_entropy(z, p, 0.1, "none", dim=1), _t(x), _t(q))


def test_soft_target_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    q = np.array([[0.2, 0.3, 0.9], [0.1, 0.0, 0.4]])
    F = torch.nn.functional
    for dt in DTYPES:
        torch_parity(lambda a, b: L.cross_entropy(a, b, axis=1),
                     lambda a, b: F.cross_entropy(a, b), [x, q], [True, True], dt)


# ------------------------------------------------------------------- cross_entropy / nll
def _class_case(shape, rng, probs):
    c = shape[1] if len(shape) > 1 else shape[0]
    batch = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    if probs:  # rows that don't sum to 1, as mixup and smoothing make them
        return np.moveaxis(rng.uniform(0, 1, size=batch + (c,)), -1, 1 if batch else 0)
    y = rng.integers(0, c, size=batch)
    if y.ndim:
        y.flat[:2] = 1  # so that ignore_index=1 ignores some positions
    return y


def _ce_pair(torch, ax, w, ign, dtype, **kw):
    """deepgrad's and torch's functional cross-entropy with the same options."""
    tw = None if w is None else torch.tensor(w.astype(dtype))
    return (lambda a, b: L.cross_entropy(a, b, dim=ax, weight=w,
                                         ignore_index=None if ign < 0 else ign, **kw),
            lambda a, b: torch.nn.functional.cross_entropy(a, b, weight=tw, ignore_index=ign,
                                                           **kw))


def _nll_pair(torch, ax, w, reduction, dtype):
    tw = torch.tensor(w.astype(dtype))
    return (lambda a, b: L.nll_loss(a, b, reduction, axis=ax, weight=w, ignore_index=1),
            lambda a, b: torch.nn.functional.nll_loss(a, b, weight=tw, ignore_index=1,
                                                      reduction=reduction))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2), (3,)])
@pytest.mark.parametrize("probs", [False, True])
def test_functional_cross_entropy_and_nll_match_torch(shape, probs, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape) * 2
    t = _class_case(shape, rng, probs)
    ax = 1 if len(shape) > 1 else 0
    w = rng.uniform(0.5, 2.0, size=shape[ax])
    ign = 1 if (not probs and len(shape) > 1) else -100
    for reduction in REDUCTIONS:
        for ls in (0.0, 0.15):
            for weight in (None, w):
                ours, theirs = _ce_pair(torch, ax, weight, ign, dtype, label_smoothing=ls,
                                        reduction=reduction)
                torch_parity(ours, theirs, [x, t], [True, probs], dtype)
        if not probs:
            logp = torch.log_softmax(torch.tensor(x), dim=ax).numpy()
            torch_parity(*_nll_pair(torch, ax, w, reduction, dtype), [logp, t], [True, False],
                         dtype)


def test_dim_is_an_alias_of_axis():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2, 3, 4)), rng.integers(0, 3, size=(2, 4))
    for fn in (L.cross_entropy, L.nll_loss):
        a = fn(_t(x), y, dim=1, reduction="none").data
        np.testing.assert_array_equal(a, fn(_t(x), y, axis=1, reduction="none").data)
        assert a.shape == (2, 4)
        np.testing.assert_array_equal(fn(_t(x), y, axis=1, dim=1).data, fn(_t(x), y, dim=1).data)
        with pytest.raises(ValueError, match=r"axis= or dim=, not both \(got axis=-1, dim=1\)"):
            fn(_t(x), y, axis=-1, dim=1)
        with pytest.raises(ValueError, match="class axis 3 is out of range"):
            fn(_t(x), y, dim=3)


def test_empty_batch_like_torch():
    torch = pytest.importorskip("torch")
    x, y = np.zeros((0, 4)), np.zeros(0, dtype=np.int64)
    for reduction in ("sum", "none"):
        a = _t(x)
        out = L.cross_entropy(a, y, reduction=reduction)
        ref = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(y),
                                                reduction=reduction)
        assert out.shape == tuple(ref.shape)
        np.testing.assert_array_equal(out.data, ref.numpy())
        out.sum().backward()
        assert a.grad.shape == (0, 4)
    with np.errstate(invalid="ignore"):  # 0 / 0, NaN as in torch
        assert np.isnan(L.cross_entropy(_t(x), y).data)


# ---------------------------------------------------------------- binary cross-entropies
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropies_with_weights_match_torch(reduction, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x, t = rng.normal(size=(4, 3)) * 2, rng.uniform(0, 1, size=(4, 3))
    p = rng.uniform(0.05, 0.95, size=(4, 3))
    for w in (rng.uniform(0.5, 2, size=(4, 3)), rng.uniform(0.5, 2, size=(3,))):
        pw = rng.uniform(0.5, 3, size=3)
        torch_parity(lambda a, b, c: L.binary_cross_entropy(a, b, reduction, weight=c),
                     lambda a, b, c: F.binary_cross_entropy(a, b, weight=c, reduction=reduction),
                     [p, t, w], [True, False, False], dtype)
        torch_parity(
            lambda a, b, c, d: L.binary_cross_entropy_with_logits(a, b, reduction, d, weight=c),
            lambda a, b, c, d: F.binary_cross_entropy_with_logits(
                a, b, weight=c, pos_weight=d, reduction=reduction),
            [x, t, w, pw], [True, True, False, False], dtype)


def test_binary_weights_gradcheck_and_checks():
    rng = np.random.default_rng(4)
    x, t = rng.normal(size=(3, 2)), rng.uniform(0.1, 0.9, size=(3, 2))
    p = rng.uniform(0.1, 0.9, size=(3, 2))
    w, pw = rng.uniform(0.5, 2, size=2), rng.uniform(0.5, 2, size=2)
    gradcheck(lambda a, b, c, d: L.binary_cross_entropy_with_logits(a, b, "sum", d, weight=c),
              _t(x), _t(t), _t(w), _t(pw))
    gradcheck(lambda a, b, c: L.binary_cross_entropy(a, b, "mean", weight=c), _t(p), _t(t), _t(w))
    with pytest.raises(ValueError, match=r"weight of shape \(3,\) does not broadcast to the "
                                         r"input shape \(3, 2\)"):
        L.binary_cross_entropy(_t(p), t, weight=np.ones(3))
    with pytest.raises(ValueError, match="pos_weight of shape"):
        L.binary_cross_entropy_with_logits(_t(x), t, pos_weight=np.ones((2, 2)))


def test_binary_loss_modules_keep_weight_as_buffers():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, t = rng.normal(size=(4, 3)), rng.uniform(0, 1, size=(4, 3))
    w, pw = rng.uniform(0.5, 2, size=3), rng.uniform(0.5, 2, size=3)
    m = nn.BCEWithLogitsLoss(pos_weight=pw, weight=w)
    tm = torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(pw))
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight", "pos_weight"]
    torch_parity(m, tm, [x, t], [True, False])
    b = nn.BCELoss(weight=w, reduction="sum")
    assert list(b.state_dict()) == list(torch.nn.BCELoss(weight=torch.tensor(w)).state_dict())
    p = 1 / (1 + np.exp(-x))
    torch_parity(b, torch.nn.BCELoss(weight=torch.tensor(w), reduction="sum"), [p, t],
                 [True, False])
    assert nn.BCELoss(weight=w).get_config()["weight"] == w.tolist()
    assert nn.BCEWithLogitsLoss().get_config() == {"reduction": "mean", "pos_weight": None,
                                                   "weight": None}


# ---------------------------------------------------------------------------- no_grad
def test_losses_record_nothing_under_no_grad():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(3, 4)), np.array([0, 3, 1])
    q = rng.uniform(0, 1, size=(3, 4))
    t = rng.uniform(0, 1, size=(3, 4))
    assert_no_graph(lambda a: L.cross_entropy(a, y, 0.1, weight=np.ones(4)), x)
    assert_no_graph(lambda a, b: L.cross_entropy(a, b), x, q)
    assert_no_graph(lambda a: L.nll_loss(a, y, ignore_index=3), x)
    assert_no_graph(lambda a, b: L.binary_cross_entropy_with_logits(
        a, b, pos_weight=np.ones(4), weight=np.ones(4)), x, t)
    assert_no_graph(lambda a, b: L.binary_cross_entropy(a, b, weight=np.ones(4)), t, t)


def test_torch_style_positional_weight_gets_a_clear_error():
    x, y, w = _t(np.zeros((2, 3))), np.array([0, 2]), np.ones(3)
    with pytest.raises(TypeError, match=r"label_smoothing must be a number, got a ndarray "
                                        r"\(pass weight= by keyword\)"):
        L.cross_entropy(x, y, w)
    with pytest.raises(TypeError, match=r"nll_loss: reduction must be one of .* got a ndarray"):
        L.nll_loss(x, y, w)
    with pytest.raises(TypeError, match=r"CrossEntropyLoss: reduction .*\(pass weight= by"):
        nn.CrossEntropyLoss(w)


def test_binary_losses_on_empty_and_0d_inputs_like_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for shape in [(0, 3), ()]:
        x = np.full(shape, 0.3)
        for reduction in ("sum", "none"):
            torch_parity(lambda a, b, r=reduction: L.binary_cross_entropy_with_logits(a, b, r),
                         lambda a, b, r=reduction: F.binary_cross_entropy_with_logits(
                             a, b, reduction=r), [x, x], [True, True])
            torch_parity(lambda a, b, r=reduction: L.binary_cross_entropy(a, b, r),
                         lambda a, b, r=reduction: F.binary_cross_entropy(a, b, reduction=r),
                         [x, x], [True, False])

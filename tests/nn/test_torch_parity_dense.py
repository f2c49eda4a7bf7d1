"""Parity with PyTorch: Linear, every activation, every loss, dropout in eval mode."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deepgrad as dg  # noqa: E402
from deepgrad import losses as L  # noqa: E402
from deepgrad import nn  # noqa: E402
from deepgrad.nn.activation import Hardtanh  # noqa: E402

TF = torch.nn.functional
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
DTYPES = [np.float32, np.float64]


def _pair(a, dtype):
    a = np.asarray(a, dtype=dtype)
    return dg.tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)


def _close(ours, theirs, dtype):
    ours = ours.data if hasattr(ours, "requires_grad") and not isinstance(ours, np.ndarray) \
        else ours
    np.testing.assert_allclose(ours, theirs.detach().numpy(), **TOL[dtype])


def _check(ours_fn, torch_fn, arrays, dtype, grad_of=None, seed=0):
    """Forward and backward (random upstream gradient) against torch."""
    pairs = [_pair(a, dtype) for a in arrays]
    grad_of = range(len(arrays)) if grad_of is None else grad_of
    for i, (a, b) in enumerate(pairs):
        if i not in grad_of:
            a.requires_grad, b.requires_grad = False, False
    y = ours_fn(*[p[0] for p in pairs])
    yt = torch_fn(*[p[1] for p in pairs])
    assert y.dtype == dtype
    _close(y, yt, dtype)
    g = np.random.default_rng(seed).normal(size=y.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.tensor(g))
    for i in grad_of:
        assert pairs[i][0].grad.dtype == dtype
        _close(pairs[i][0].grad, pairs[i][1].grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_with_torch_state_dict(dtype):
    with dg.default_dtype(dtype):
        ours = nn.Linear(6, 4)
    ref = torch.nn.Linear(6, 4).to(torch.float64 if dtype == np.float64 else torch.float32)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    assert ours.weight.dtype == dtype
    x = np.random.default_rng(1).normal(size=(2, 3, 6))
    xa, xt = _pair(x, dtype)
    y, yt = ours(xa), ref(xt)
    _close(y, yt, dtype)
    g = np.random.default_rng(2).normal(size=y.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.tensor(g))
    _close(xa.grad, xt.grad, dtype)
    _close(ours.weight.grad, ref.weight.grad, dtype)
    _close(ours.bias.grad, ref.bias.grad, dtype)


ACTS = [
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
    (nn.Identity(), torch.nn.Identity()),
    (nn.Softmax(dim=-1), torch.nn.Softmax(dim=-1)),
    (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1)),
    (nn.ELU(), torch.nn.ELU()),
    (nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
    (nn.GELU(), torch.nn.GELU()),
    (nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
    (nn.SiLU(), torch.nn.SiLU()),
    (nn.Softplus(), torch.nn.Softplus()),
    (nn.Softplus(beta=2.0, threshold=5.0), torch.nn.Softplus(beta=2.0, threshold=5.0)),
    (Hardtanh(-2.0, 3.0), torch.nn.Hardtanh(-2.0, 3.0)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", range(len(ACTS)), ids=[repr(a[0]) for a in ACTS])
def test_activation(k, dtype):
    ours, ref = ACTS[k]
    x = np.random.default_rng(k).normal(size=(4, 7)) * 4
    x[0, :5] = [-30.0, -8.0, 0.5, 8.0, 30.0]
    _check(ours, ref, [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_eval_and_train_statistics(dtype):
    x = np.random.default_rng(0).normal(size=(3, 5))
    _check(nn.Dropout(0.3).eval(), torch.nn.Dropout(0.3).eval(), [x], dtype)
    # in training both keep the scaled survivors: y / x is 0 or 1/(1-p)
    y = nn.Dropout(0.3, rng=0)(dg.tensor(x.astype(dtype))).data / x.astype(dtype)
    yt = torch.nn.Dropout(0.3)(torch.tensor(x.astype(dtype))).numpy() / x.astype(dtype)
    for r in (y, yt):
        assert np.all(np.isclose(r, 0) | np.isclose(r, 1 / 0.7))


R = np.random.default_rng(5)
N, C = 6, 5
LOGITS = R.normal(size=(N, C)) * 3
LABELS = np.array([0, 4, 2, 2, 1, 3])
PROBS = R.dirichlet(np.ones(C), size=N)
X = R.normal(size=(N, 3))
T = R.normal(size=(N, 3))
P01 = R.uniform(0.02, 0.98, size=(N, 3))
Y01 = R.uniform(0, 1, size=(N, 3))


LOSSES = {
    "bce": (L.binary_cross_entropy, TF.binary_cross_entropy, P01, Y01),
    "bce_logits": (L.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                   X, Y01),
    "ce": (L.cross_entropy, TF.cross_entropy, LOGITS, LABELS),
    "ce_probs": (L.cross_entropy, TF.cross_entropy, LOGITS, PROBS),
    "ce_smooth": (lambda x, t, reduction: L.cross_entropy(x, t, 0.15, reduction),
                  lambda x, t, reduction: TF.cross_entropy(x, t, reduction=reduction,
                                                           label_smoothing=0.15),
                  LOGITS, LABELS),
    "ce_probs_smooth": (lambda x, t, reduction: L.cross_entropy(x, t, 0.15, reduction),
                        lambda x, t, reduction: TF.cross_entropy(x, t, reduction=reduction,
                                                                 label_smoothing=0.15),
                        LOGITS, PROBS),
    "nll": (L.nll_loss, TF.nll_loss, LOGITS, LABELS),
    "mse": (L.mse_loss, TF.mse_loss, X, T),
    "l1": (L.l1_loss, TF.l1_loss, X, T),
    "huber": (L.huber_loss, TF.huber_loss, X, T),
    "huber_delta": (lambda x, t, reduction: L.huber_loss(x, t, reduction, delta=0.4),
                    lambda x, t, reduction: TF.huber_loss(x, t, reduction=reduction, delta=0.4),
                    X, T),
    "L1": (L.L1, lambda x, t, reduction: TF.l1_loss(x, t, reduction=reduction), X, T),
    "L2": (L.L2, lambda x, t, reduction: TF.mse_loss(x, t, reduction=reduction), X, T),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss(name, dtype, reduction):
    ours, ref, x, t = LOSSES[name]
    if t.dtype.kind == "i":
        tt = torch.tensor(t)
        _check(lambda a: ours(a, t, reduction=reduction),
               lambda a: ref(a, tt, reduction=reduction), [x], dtype)
    else:
        # float targets: gradients of input and target both match torch's
        _check(lambda a, b: ours(a, b, reduction=reduction),
               lambda a, b: ref(a, b, reduction=reduction), [x, t], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_on_huge_logits(dtype):
    big = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    _check(lambda a: L.cross_entropy(a, np.array([1, 2])),
           lambda a: TF.cross_entropy(a, torch.tensor([1, 2])), [big], dtype)
    y = np.array([[0, 1, 1], [1, 1, 0]], dtype=float)
    _check(lambda a: L.binary_cross_entropy_with_logits(a, y),
           lambda a: TF.binary_cross_entropy_with_logits(a, torch.tensor(y.astype(dtype))),
           [big], dtype)


PW = np.array([0.5, 2.0, 3.0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_pos_weight(dtype, reduction):
    # gradients of the logits and the targets (torch has none for pos_weight)
    _check(lambda a, b, w: L.binary_cross_entropy_with_logits(a, b, reduction, pos_weight=w),
           lambda a, b, w: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction,
                                                               pos_weight=w),
           [X, Y01, PW], dtype, grad_of=[0, 1])
    big = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    _check(lambda a: nn.BCEWithLogitsLoss(reduction, pos_weight=PW)(a, Y01[:2]),
           lambda a: torch.nn.BCEWithLogitsLoss(
               reduction=reduction, pos_weight=torch.tensor(PW.astype(dtype)))(
                   a, torch.tensor(Y01[:2].astype(dtype))),
           [big], dtype)


@pytest.mark.parametrize("ls", [0.0, 0.15])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_spatial(dtype, reduction, ls):
    # torch's (N, C, d1, d2) layout is axis=1 here; labels (N, d1, d2) or probabilities
    x = R.normal(size=(2, 4, 3, 2)) * 3
    y = R.integers(0, 4, size=(2, 3, 2))
    q = np.moveaxis(R.dirichlet(np.ones(4), size=(2, 3, 2)), -1, 1)
    _check(lambda a: L.cross_entropy(a, y, ls, reduction, axis=1),
           lambda a: TF.cross_entropy(a, torch.tensor(y), reduction=reduction,
                                      label_smoothing=ls), [x], dtype)
    _check(lambda a, b: L.cross_entropy(a, b, ls, reduction, axis=1),
           lambda a, b: TF.cross_entropy(a, b, reduction=reduction, label_smoothing=ls),
           [x, q], dtype)

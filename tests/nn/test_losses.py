"""Losses: NumPy references, gradchecks, reductions, stability, dtype, target validation."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import losses as L
from deepgrad import nn
from deepgrad.testing import gradcheck

RNG = np.random.default_rng(0)
N, C = 5, 4
LOGITS = RNG.normal(size=(N, C)) * 2
LABELS = np.array([0, 3, 1, 1, 2])
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
X = RNG.normal(size=(N, 3))
T = RNG.normal(size=(N, 3))
P01 = RNG.uniform(0.05, 0.95, size=(N, 3))
Y01 = (RNG.random((N, 3)) > 0.5).astype(float)


def _t(a, grad=True, dtype=np.float64):
    return dg.tensor(np.array(a, dtype=dtype), requires_grad=grad)


def _logsm(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def _red(v, reduction):
    return {"mean": v.mean(), "sum": v.sum(), "none": v}[reduction]


def _huber(d, delta):
    a = np.abs(d)
    return np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))


CASES = {
    # name: (fn(input, target, reduction), input, target, per-element reference)
    "bce": (L.binary_cross_entropy, P01, Y01,
            lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p))),
    "bce_logits": (L.binary_cross_entropy_with_logits, X, Y01,
                   lambda x, t: np.log1p(np.exp(x)) - x * t),
    "ce_labels": (L.cross_entropy, LOGITS, LABELS,
                  lambda z, y: -_logsm(z)[np.arange(N), y]),
    "ce_probs": (L.cross_entropy, LOGITS, PROBS[::-1].copy(),
                 lambda z, q: -(q * _logsm(z)).sum(1)),
    "ce_smooth": (lambda x, t, reduction: L.cross_entropy(x, t, 0.1, reduction), LOGITS, LABELS,
                  lambda z, y: -(0.9 * _logsm(z)[np.arange(N), y] + 0.1 / C * _logsm(z).sum(1))),
    "nll": (L.nll_loss, _logsm(LOGITS), LABELS, lambda lp, y: -lp[np.arange(N), y]),
    "mse": (L.mse_loss, X, T, lambda x, t: (x - t) ** 2),
    "l1": (L.l1_loss, X, T, lambda x, t: np.abs(x - t)),
    "huber": (L.huber_loss, X, T, lambda x, t: _huber(x - t, 1.0)),
    "huber_delta": (lambda x, t, reduction: L.huber_loss(x, t, reduction, delta=0.5), X, T,
                    lambda x, t: _huber(x - t, 0.5)),
    "L1": (L.L1, X, T, lambda x, t: np.abs(t - x)),
    "L2": (L.L2, X, T, lambda x, t: (t - x) ** 2),
}
FLOAT_TARGETS = {"bce", "bce_logits", "ce_probs", "mse", "l1", "huber", "huber_delta", "L1",
                 "L2"}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_gradcheck(name, reduction):
    fn, x, t, ref = CASES[name]
    out = fn(_t(x), t, reduction=reduction)
    np.testing.assert_allclose(out.data, _red(ref(x, t), reduction), rtol=1e-12, atol=1e-14)
    gradcheck(lambda a: fn(a, t, reduction=reduction), _t(x))
    if name in FLOAT_TARGETS:
        # the target's gradient too (as torch gives it), and the input's with it
        soft = RNG.uniform(0.1, 0.9, size=t.shape) if name.startswith("bce") else t
        gradcheck(lambda a, b: fn(a, b, reduction=reduction), _t(x), _t(soft))


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_in_float32_out(name):
    fn, x, t, _ = CASES[name]
    a = _t(x, dtype=np.float32)
    tt = t.astype(np.float32) if name in FLOAT_TARGETS else t
    out = fn(a, tt, reduction="mean")
    assert out.dtype == np.float32
    out.backward()
    assert a.grad.dtype == np.float32


def test_loss_modules_match_functions():
    x, z = _t(X), _t(LOGITS)
    pairs = [
        (nn.BCELoss()(_t(P01), Y01), L.binary_cross_entropy(_t(P01), Y01)),
        (nn.BCEWithLogitsLoss(reduction="sum")(x, Y01),
         L.binary_cross_entropy_with_logits(x, Y01, "sum")),
        (nn.CrossEntropyLoss(label_smoothing=0.2)(z, LABELS),
         L.cross_entropy(z, LABELS, label_smoothing=0.2)),
        (nn.NLLLoss(reduction="none")(z, LABELS), L.nll_loss(z, LABELS, "none")),
        (nn.MSELoss()(x, T), L.mse_loss(x, T)),
        (nn.L1Loss()(x, T), L.l1_loss(x, T)),
        (nn.HuberLoss(delta=0.3)(x, T), L.huber_loss(x, T, delta=0.3)),
    ]
    for a, b in pairs:
        np.testing.assert_array_equal(a.data, b.data)
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss(reduction='mean')"
    x4 = _t(RNG.normal(size=(2, 3, 2, 2)))
    y4 = RNG.integers(0, 3, size=(2, 2, 2))
    np.testing.assert_array_equal(nn.CrossEntropyLoss(axis=1)(x4, y4).data,
                                  L.cross_entropy(x4, y4, axis=1).data)
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1, axis=1)) == \
        "CrossEntropyLoss(reduction='mean', label_smoothing=0.1, axis=1)"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_cross_entropy_backward_is_softmax_minus_onehot_over_n():
    z = _t(LOGITS)
    L.cross_entropy(z, LABELS).backward()
    onehot = np.eye(C)[LABELS]
    np.testing.assert_allclose(z.grad, (PROBS - onehot) / N, rtol=1e-12, atol=1e-15)
    z2 = _t(LOGITS)
    L.cross_entropy(z2, onehot).backward()  # one-hot targets give the same
    np.testing.assert_allclose(z2.grad, z.grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_for_huge_logits(dtype):
    big = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=dtype)
    for fn, t in [
        (L.cross_entropy, np.array([1, 0])),
        (L.binary_cross_entropy_with_logits, np.array([[0, 1, 1], [0, 1, 0]], dtype=dtype)),
        (L.nll_loss, np.array([2, 1])),
    ]:
        x = dg.tensor(big, requires_grad=True)
        loss = fn(x, t)
        loss.backward()
        assert np.isfinite(loss.data) and np.isfinite(x.grad).all(), fn.__name__
        assert loss.dtype == dtype
    # confident and right: zero loss; confident and wrong: a loss of the logit's size
    x = dg.tensor(big)
    assert float(L.binary_cross_entropy_with_logits(x[0:1, 0:1], np.ones((1, 1)))) == 0.0
    assert float(L.cross_entropy(x, np.array([0, 1]))) == 0.0
    assert float(L.cross_entropy(x[0:1], np.array([1]))) == pytest.approx(2e4, rel=1e-6)


def test_bce_clips_symmetrically():
    for dt in (np.float32, np.float64):
        eps = float(np.finfo(dt).eps)
        p = dg.tensor(np.array([0.0, 1.0, 1.0, 0.0], dt), requires_grad=True)
        loss = L.binary_cross_entropy(p, np.array([0, 1, 0, 1], dt), reduction="none")
        np.testing.assert_allclose(loss.data, [-np.log1p(-eps)] * 2 + [-np.log(eps)] * 2,
                                   rtol=1e-6)
        loss.sum().backward()
        assert np.isfinite(p.grad).all() and p.grad.dtype == dt


def test_target_validation_messages():
    z = _t(LOGITS)
    with pytest.raises(ValueError, match=r"label 4 at index 1 is outside \[0, 4\)"):
        L.cross_entropy(z, np.array([0, 4, 1, 1, 2]))
    with pytest.raises(ValueError, match=r"label -1 .* outside \[0, 4\)"):
        L.nll_loss(z, np.array([0, 1, -1, 1, 2]))
    with pytest.raises(ValueError, match="must be integers, got 1.5 at index 2"):
        L.cross_entropy(z, np.array([0, 1, 1.5, 1, 2]))
    with pytest.raises(ValueError, match=r"expected shape \(5,\)"):
        L.cross_entropy(z, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"target shape \(5, 3\) does not match .*\(5, 4\)"):
        L.cross_entropy(z, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"labels of shape \(1,\) .* expected shape \(\)$"):
        L.nll_loss(_t(np.zeros(4)), np.array([1]))  # one example (C,) takes a 0-d label
    with pytest.raises(ValueError, match=r"class axis 2 is out of range .* 2 dimensions"):
        L.cross_entropy(z, LABELS, axis=2)
    with pytest.raises(ValueError, match=r"label 7 at index \(1, 0\) is outside \[0, 3\)"):
        L.cross_entropy(_t(np.zeros((2, 3, 2))), np.array([[0, 1], [7, 2]]), axis=1)
    with pytest.raises(ValueError, match=r"expected shape \(2, 2\) \(or \(2, 3, 2\)"):
        L.cross_entropy(_t(np.zeros((2, 3, 2))), np.array([0, 1]), axis=1)
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) does not broadcast"):
        L.binary_cross_entropy_with_logits(_t(X), Y01, pos_weight=np.ones(2))
    with pytest.raises(ValueError, match=r"target values must be in \[0, 1\], got 2.0"):
        L.binary_cross_entropy_with_logits(_t(X), Y01 * 2)
    with pytest.raises(ValueError, match=r"input probabilities must be in \[0, 1\], got -0.5"):
        L.binary_cross_entropy(_t(np.array([0.5, -0.5])), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"target shape \(5, 2\) does not match .*\(5, 3\)"):
        L.mse_loss(_t(X), T[:, :2])
    with pytest.raises(ValueError, match="reduction"):
        L.l1_loss(_t(X), T, reduction="max")
    with pytest.raises(ValueError, match="label_smoothing"):
        L.cross_entropy(z, LABELS, label_smoothing=1.0)
    # labels given as integral floats (the course's Y arrays) are accepted
    np.testing.assert_allclose(L.cross_entropy(z, LABELS.astype(float)).data,
                               L.cross_entropy(z, LABELS).data)


def test_mean_is_the_course_cost():
    # J = (1/m) sum L
    p = _t(P01)
    j = L.binary_cross_entropy(p, Y01)
    assert float(j) == pytest.approx(float(L.binary_cross_entropy(p, Y01, "sum")) / Y01.size)


PW = np.array([0.5, 2.0, 3.0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_pos_weight(reduction):
    def ref(x, t):  # -[pw t log σ(x) + (1 - t) log(1 - σ(x))]
        s = 1 / (1 + np.exp(-x))
        return -(PW * t * np.log(s) + (1 - t) * np.log(1 - s))

    fn = L.binary_cross_entropy_with_logits
    out = fn(_t(X), Y01, reduction, pos_weight=PW)
    np.testing.assert_allclose(out.data, _red(ref(X, Y01), reduction), rtol=1e-12)
    soft = RNG.uniform(0.1, 0.9, size=X.shape)
    gradcheck(lambda a, b, w: fn(a, b, reduction, pos_weight=w), _t(X), _t(soft), _t(PW))
    # pos_weight of ones is the plain loss
    np.testing.assert_allclose(fn(_t(X), Y01, reduction, pos_weight=np.ones(3)).data,
                               fn(_t(X), Y01, reduction).data, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pos_weight_stable_and_dtype(dtype):
    x = dg.tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype), requires_grad=True)
    w = dg.tensor(np.array([2.0, 0.5, 1.0]), requires_grad=dtype == np.float64)
    loss = L.binary_cross_entropy_with_logits(x, np.array([[1, 0, 1], [1, 1, 0]], dtype),
                                              pos_weight=w)
    loss.backward()
    assert loss.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(loss.data) and np.isfinite(x.grad).all()
    # x = -1e4 with t = 1 costs pw * 1e4 (/ 6 elements)
    assert float(loss) == pytest.approx((2 * 1e4 + np.log(2) + 5 + np.log1p(np.exp(-5)))
                                        / 6, rel=1e-5)
    m = nn.BCEWithLogitsLoss(pos_weight=[2.0, 0.5, 1.0])
    assert list(m.state_dict()) == ["pos_weight"]
    np.testing.assert_allclose(m(x, np.ones((2, 3), dtype)).data,
                               L.binary_cross_entropy_with_logits(x, np.ones((2, 3), dtype),
                                                                  pos_weight=w).data,
                               rtol=1e-6)


def test_cross_entropy_integer_tensor_labels():
    z = _t(LOGITS)
    ref = L.cross_entropy(z, LABELS).data
    labels = dg.tensor(LABELS)
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(L.cross_entropy(z, labels).data, ref)
    np.testing.assert_array_equal(L.nll_loss(z, labels, "none").data,
                                  L.nll_loss(z, LABELS, "none").data)


@pytest.mark.parametrize("ls", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_class_axis(reduction, ls):
    # torch's (N, C, d) layout with axis=1 is the (N*d, C) problem with classes last
    x = RNG.normal(size=(2, 3, 4))
    y = RNG.integers(0, 3, size=(2, 4))
    q = RNG.dirichlet(np.ones(3), size=(2, 4)).transpose(0, 2, 1)  # (2, 3, 4), sums on 1
    flat_x = x.transpose(0, 2, 1).reshape(-1, 3)
    for t, flat_t in [(y, y.reshape(-1)), (q, q.transpose(0, 2, 1).reshape(-1, 3))]:
        out = L.cross_entropy(_t(x), t, ls, reduction, axis=1)
        ref = L.cross_entropy(_t(flat_x), flat_t, ls, reduction).data
        np.testing.assert_allclose(out.data, ref.reshape(2, 4) if reduction == "none" else ref,
                                   rtol=1e-13)
        gradcheck(lambda a, t=t: L.cross_entropy(a, t, ls, reduction, axis=1), _t(x))
    # one unbatched example: input (C,), label ()
    one = L.cross_entropy(_t(LOGITS[1]), np.array(LABELS[1]), reduction=reduction)
    assert one.shape == ()
    np.testing.assert_allclose(one.data, -_logsm(LOGITS)[1, LABELS[1]], rtol=1e-13)


# ------------------------------------------- nn.CrossEntropyLoss / NLLLoss: torch's layout
def test_loss_modules_take_classes_on_dim_1_like_torch():
    x = RNG.normal(size=(2, 5, 4, 3))  # (N, C, H, W)
    y = RNG.integers(0, 5, size=(2, 4, 3))
    for module, fn, inp in [(nn.CrossEntropyLoss(), L.cross_entropy, x),
                            (nn.NLLLoss(), L.nll_loss, _logsm(np.moveaxis(x, 1, -1).reshape(
                                -1, 5)).reshape(2, 4, 3, 5).transpose(0, 3, 1, 2))]:
        out = module(_t(inp), y)
        np.testing.assert_array_equal(out.data, fn(_t(inp), y, axis=1).data)
        assert type(module)(reduction="none")(_t(inp), y).shape == (2, 4, 3)
    # the classes-last layout stays available by asking for it
    xl = RNG.normal(size=(2, 3, 5))
    yl = RNG.integers(0, 5, size=(2, 3))
    np.testing.assert_array_equal(nn.CrossEntropyLoss(axis=-1)(_t(xl), yl).data,
                                  L.cross_entropy(_t(xl), yl).data)
    # the functional (Keras-named) losses keep the last axis by default
    np.testing.assert_array_equal(L.cross_entropy(_t(xl), yl).data,
                                  L.cross_entropy(_t(xl.reshape(6, 5)), yl.reshape(6)).data)


def test_class_weight_is_a_buffer_and_options_are_checked():
    w = np.array([1.0, 2.0, 0.5, 1.0])
    m = nn.CrossEntropyLoss(weight=w, ignore_index=3)
    np.testing.assert_array_equal(m.state_dict()["weight"], w)
    assert repr(m) == "CrossEntropyLoss(reduction='mean', ignore_index=3)"
    assert m.get_config()["weight"] == w.tolist()
    with pytest.raises(ValueError, match=r"weight must hold one value per class, shape \(4,\)"):
        nn.CrossEntropyLoss(weight=np.ones(3))(_t(LOGITS), LABELS)
    with pytest.raises(ValueError, match=r"label -1 .* and is not ignore_index \(-100\)"):
        nn.NLLLoss()(_t(LOGITS), np.array([0, 1, -1, 1, 2]))
    with pytest.raises(ValueError, match="ignore_index applies to class labels"):
        L.cross_entropy(_t(LOGITS), PROBS, ignore_index=0)


def _torch_pair(shape, rng, probs=False):
    c = 5 if len(shape) > 1 else shape[0]
    batch = shape[:1] + shape[2:] if len(shape) > 1 else ()
    if probs:
        q = rng.dirichlet(np.ones(c), size=batch if batch else None)
        return np.moveaxis(q, -1, 1) if len(shape) > 2 else q
    y = rng.integers(0, c, size=batch)
    if y.ndim:
        y.flat[:2] = 2  # so that ignore_index=2 ignores some positions
    return y


SHAPES = [(6, 5), (2, 5, 3, 4), (5,)]


def _parity(ours, theirs, x, target, torch, rng):
    a = dg.tensor(x.copy(), requires_grad=True)
    b = torch.tensor(x.copy(), requires_grad=True)
    tt = torch.tensor(target) if target.dtype.kind in "iu" else \
        torch.tensor(target.copy(), requires_grad=True)
    ta = target if target.dtype.kind in "iu" else dg.tensor(target.copy(), requires_grad=True)
    y, yt = ours(a, ta), theirs(b, tt)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.normal(size=y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)
    if target.dtype.kind == "f":
        np.testing.assert_allclose(ta.grad, tt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ignore", [None, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", SHAPES)
def test_cross_entropy_and_nll_modules_match_torch(shape, reduction, weighted, ignore):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.normal(size=shape) * 2
    y = _torch_pair(shape, rng)
    if shape == (5,) and ignore is not None:
        y = np.array(1)  # one example: an ignored label would make the mean 0/0
    w = rng.uniform(0.5, 2.0, size=5) if weighted else None
    kw = {"reduction": reduction, "ignore_index": -100 if ignore is None else ignore}
    tw = None if w is None else torch.tensor(w)
    for ls in (0.0, 0.2):
        _parity(nn.CrossEntropyLoss(label_smoothing=ls, weight=w, **kw),
                torch.nn.CrossEntropyLoss(weight=tw, label_smoothing=ls, **kw), x, y, torch,
                rng)
    logp = torch.log_softmax(torch.tensor(x), dim=1 if x.ndim > 1 else 0).numpy()
    _parity(nn.NLLLoss(weight=w, **kw), torch.nn.NLLLoss(weight=tw, **kw), logp, y, torch, rng)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", SHAPES)
def test_cross_entropy_module_probability_targets_match_torch(shape, reduction, weighted):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.normal(size=shape) * 2
    q = _torch_pair(shape, rng, probs=True)
    w = rng.uniform(0.5, 2.0, size=5) if weighted else None
    tw = None if w is None else torch.tensor(w)
    for ls in (0.0, 0.2):
        _parity(nn.CrossEntropyLoss(reduction, ls, weight=w),
                torch.nn.CrossEntropyLoss(weight=tw, reduction=reduction, label_smoothing=ls),
                x, q, torch, rng)

"""RNN / LSTM / GRU layers: parity with PyTorch (every argument combination), gradcheck of
inputs, states and parameters, float32, no_grad, variable lengths, bad inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.testing import gradcheck

torch = pytest.importorskip("torch")

KINDS = ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"]
T, N, I, H = 4, 3, 3, 4


def _make(kind, rng=0, **kw):
    """(ours, torch's) with the same weights."""
    if kind.startswith("rnn"):
        kw["nonlinearity"] = kind[4:]
        ours, ref = nn.RNN(I, H, rng=rng, **kw), torch.nn.RNN(I, H, **kw)
    elif kind.startswith("lstm"):
        p = 2 if kind == "lstm_proj" else 0
        ours, ref = nn.LSTM(I, H, proj_size=p, rng=rng, **kw), torch.nn.LSTM(I, H, proj_size=p,
                                                                              **kw)
    else:
        ours, ref = nn.GRU(I, H, rng=rng, **kw), torch.nn.GRU(I, H, **kw)
    ref = ref.double()
    ref.load_state_dict({k: torch.tensor(v.astype(np.float64)) for k, v in
                         ours.state_dict().items()})
    for p in ours.parameters():
        p.data = p.data.astype(np.float64)
    return ours, ref


def _states(ours, rng, batched=True):
    L, D = ours.num_layers, ours.num_directions
    Hout = ours.proj_size or H
    lead = (L * D, N) if batched else (L * D,)
    h = rng.normal(size=lead + (Hout,))
    if ours.mode == "LSTM":
        return (h, rng.normal(size=lead + (H,)))
    return h


def _flat(out):
    y, s = out
    return [y] + (list(s) if isinstance(s, tuple) else [s])


COMBOS = list(itertools.product(KINDS, [1, 2], [False, True], [False, True], [True, False],
                                 ["none", "hx", "lengths"]))


@pytest.mark.parametrize("kind,layers,bidir,batch_first,bias,extra", COMBOS)
def test_parity_with_torch(kind, layers, bidir, batch_first, bias, extra):
    rng = np.random.default_rng(layers + 2 * bidir)
    ours, ref = _make(kind, num_layers=layers, bidirectional=bidir, batch_first=batch_first,
                      bias=bias, dropout=0.3 if layers > 1 else 0.0)
    ours.eval(), ref.eval()
    x = rng.normal(size=(N, T, I) if batch_first else (T, N, I))
    xa, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hx = _states(ours, rng) if extra == "hx" else None
    if hx is None:
        ha = ht = None
    elif isinstance(hx, tuple):
        ha = tuple(dg.tensor(a, requires_grad=True) for a in hx)
        ht = tuple(torch.tensor(a, requires_grad=True) for a in hx)
    else:
        ha, ht = dg.tensor(hx, requires_grad=True), torch.tensor(hx, requires_grad=True)
    lengths = [T, 2, 1] if extra == "lengths" else None
    out = ours(xa, ha, lengths=lengths)
    if lengths is None:
        tout = ref(xt, ht)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths),
                                                         batch_first=batch_first,
                                                         enforce_sorted=False)
        ty, ts = ref(packed, ht)
        ty = torch.nn.utils.rnn.pad_packed_sequence(ty, batch_first=batch_first,
                                                    total_length=T)[0]
        tout = (ty, ts)
    ours_l, theirs_l = _flat(out), _flat(tout)
    gys = [rng.normal(size=o.shape) for o in ours_l]
    for a, b in zip(ours_l, theirs_l, strict=True):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum((a * g).sum() for a, g in zip(ours_l, gys, strict=True)).backward()
    sum((b * torch.tensor(g)).sum() for b, g in zip(theirs_l, gys, strict=True)).backward()
    np.testing.assert_allclose(xa.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if hx is not None:
        for a, b in zip(ha if isinstance(ha, tuple) else (ha,),
                        ht if isinstance(ht, tuple) else (ht,), strict=True):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)
    tp = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tp[name].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_packed_sequence_input_matches_torch(kind):
    rng = np.random.default_rng(5)
    ours, ref = _make(kind, bidirectional=True)
    lengths = [2, T, 3]
    x = rng.normal(size=(T, N, I))
    xa, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pa = nn.utils_rnn.pack_padded_sequence(xa, lengths, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths),
                                                 enforce_sorted=False)
    np.testing.assert_array_equal(pa.batch_sizes, pt.batch_sizes.numpy())
    ya, sa = ours(pa)
    yt, st = ref(pt)
    assert isinstance(ya, nn.utils_rnn.PackedSequence)
    np.testing.assert_allclose(ya.data.data, yt.data.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.normal(size=ya.data.shape)
    ha = sa[0] if isinstance(sa, tuple) else sa
    htt = st[0] if isinstance(st, tuple) else st
    np.testing.assert_allclose(ha.data, htt.detach().numpy(), rtol=1e-10, atol=1e-12)
    ((ya.data * g).sum() + ha.sum()).backward()
    ((yt.data * torch.tensor(g)).sum() + htt.sum()).backward()
    np.testing.assert_allclose(xa.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_inputs_states_parameters(kind):
    rng = np.random.default_rng(1)
    ours, _ = _make(kind, bidirectional=True, num_layers=2)
    x = dg.tensor(rng.normal(size=(3, 2, I)), requires_grad=True)
    hx = _states(ours, rng, batched=True)
    hx = tuple(a[:, :2] for a in hx) if isinstance(hx, tuple) else hx[:, :2]
    hs = [dg.tensor(a.copy(), requires_grad=True) for a in (hx if isinstance(hx, tuple)
                                                            else (hx,))]
    params = list(ours.parameters())

    def fn(x, *rest):
        states = tuple(rest[:len(hs)])
        y, s = ours(x, states if len(states) == 2 else states[0], lengths=[3, 2])
        return (y,) + (s if isinstance(s, tuple) else (s,))

    assert gradcheck(fn, x, *hs, *params, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_in_float32_out_and_no_grad(kind):
    layer = {"rnn_tanh": lambda: nn.RNN(I, H), "rnn_relu": lambda: nn.RNN(I, H,
                                                                           nonlinearity="relu"),
             "lstm": lambda: nn.LSTM(I, H), "lstm_proj": lambda: nn.LSTM(I, H, proj_size=2),
             "gru": lambda: nn.GRU(I, H)}[kind]()
    x = dg.tensor(np.random.default_rng(0).normal(size=(T, N, I)).astype(np.float32),
                  requires_grad=True)
    y, s = layer(x)
    states = s if isinstance(s, tuple) else (s,)
    assert y.dtype == np.float32 and all(t.dtype == np.float32 for t in states)
    (y.sum() + states[0].sum()).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())
    with dg.no_grad():
        y, s = layer(x)
    assert not y.requires_grad and y.grad_fn is None


def test_float32_gates_stable_for_large_inputs():
    layer = nn.LSTM(2, 3)
    x = dg.tensor(np.full((2, 1, 2), 1e4, dtype=np.float32))
    y, (h, c) = layer(x)
    assert np.isfinite(y.data).all() and np.isfinite(c.data).all()


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_unbatched_matches_batched(kind):
    ours, _ = _make(kind, num_layers=2)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(T, I))
    hx = _states(ours, rng, batched=False)
    y1, s1 = ours(dg.tensor(x), hx)
    hxb = tuple(a[:, None] for a in hx) if isinstance(hx, tuple) else hx[:, None]
    y2, s2 = ours(dg.tensor(x[:, None]), hxb)
    assert y1.shape == (T, H)
    np.testing.assert_allclose(y1.data, y2.data[:, 0])
    s1 = s1 if isinstance(s1, tuple) else (s1,)
    s2 = s2 if isinstance(s2, tuple) else (s2,)
    for a, b in zip(s1, s2, strict=True):
        np.testing.assert_allclose(a.data, b.data[:, 0])


def test_one_fused_node_per_layer_and_direction():
    layer = nn.GRU(I, H, num_layers=1)
    x = dg.tensor(np.zeros((50, 2, I), dtype=np.float32), requires_grad=True)
    y, h = layer(x)
    assert type(y.grad_fn).__name__ == "Recurrent"  # not one node per time step


def test_dropout_between_layers_only_in_training():
    layer = nn.LSTM(I, H, num_layers=2, dropout=0.5)
    x = dg.tensor(np.random.default_rng(0).normal(size=(T, N, I)))
    dg.manual_seed(0)
    y1 = layer(x)[0].data
    layer.eval()
    y2 = layer(x)[0].data
    y3 = layer(x)[0].data
    assert not np.allclose(y1, y2)
    np.testing.assert_array_equal(y2, y3)


def test_initialization_range_and_state_dict_keys():
    layer = nn.GRU(3, 5, num_layers=2, bidirectional=True, rng=0)
    ref = torch.nn.GRU(3, 5, num_layers=2, bidirectional=True)
    assert list(layer.state_dict()) == list(ref.state_dict())
    for k, v in layer.state_dict().items():
        assert v.shape == tuple(ref.state_dict()[k].shape)
        assert np.abs(v).max() <= 1 / np.sqrt(5)


@pytest.mark.parametrize("bad,match", [
    (dict(x=np.zeros((T, N, I + 1))), "input_size"),
    (dict(x=np.zeros((N, I))[None, None, None]), "3-D"),
    (dict(lengths=[T + 1, 1, 1]), "lengths"),
    (dict(lengths=[1, 1]), "lengths"),
    (dict(hx=np.zeros((2, N, H))), "shape"),
])
def test_bad_inputs(bad, match):
    layer = nn.RNN(I, H)
    x = bad.get("x", np.zeros((T, N, I), dtype=np.float32))
    with pytest.raises(ValueError, match=match):
        layer(dg.tensor(x, dtype=np.float32), bad.get("hx"), lengths=bad.get("lengths"))


@pytest.mark.parametrize("kw,match", [(dict(nonlinearity="sigmoid"), "nonlinearity"),
                                      (dict(dropout=1.5), "dropout"),
                                      (dict(num_layers=0), "num_layers")])
def test_bad_constructor_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        nn.RNN(I, H, **kw)
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(I, H, proj_size=H)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lengths", [None, [5, 3, 4]])
def test_backward_in_several_time_chunks_matches_torch(kind, lengths, monkeypatch):
    from deepgrad.autograd.ops.rnn import Recurrent

    monkeypatch.setattr(Recurrent, "CHUNK", 2)  # T = 5: chunks of 2, 2 and 1 steps
    rng = np.random.default_rng(7)
    ours, ref = _make(kind, bidirectional=True)
    x = rng.normal(size=(5, N, I))
    xa, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya = ours(xa, lengths=lengths)[0]
    if lengths is None:
        yt = ref(xt)[0]
    else:
        pt = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths),
                                                     enforce_sorted=False)
        yt = torch.nn.utils.rnn.pad_packed_sequence(ref(pt)[0], total_length=5)[0]
    g = rng.normal(size=ya.shape)
    (ya * g).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xa.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    tp = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tp[name].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_empty_batch_and_empty_sequence(kind):
    ours, ref = _make(kind, bidirectional=True, num_layers=2)
    x = dg.tensor(np.zeros((T, 0, I)), requires_grad=True)
    y, s = ours(x)
    yt, _ = ref(torch.zeros((T, 0, I), dtype=torch.float64))
    assert y.shape == tuple(yt.shape)
    y.sum().backward()
    assert x.grad.shape == (T, 0, I)
    assert all(p.grad is not None and not p.grad.any() for p in ours.parameters())
    with pytest.raises(ValueError, match="empty"):
        ours(dg.tensor(np.zeros((0, N, I))))

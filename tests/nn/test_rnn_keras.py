"""Keras-style SimpleRNN / LSTMLayer / GRULayer and Bidirectional: PyTorch parity through the
shared weight layout, go_backwards, return_state, gradcheck, float32, Sequential."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.testing import gradcheck

torch = pytest.importorskip("torch")

LAYERS = [(nn.SimpleRNN, torch.nn.RNN, {}), (nn.SimpleRNN, torch.nn.RNN, {"activation": "relu"}),
          (nn.LSTMLayer, torch.nn.LSTM, {}), (nn.GRULayer, torch.nn.GRU, {})]


def _torch_twin(layer, cls, bidirectional=False, backward=None):
    kw = {"nonlinearity": layer.activation} if cls is torch.nn.RNN else {}
    ref = cls(layer.input_dim, layer.units, batch_first=True, bidirectional=bidirectional,
              bias=layer.use_bias, **kw).double()
    sd = {}
    for sfx, src in [("_l0", layer)] + ([("_l0_reverse", backward)] if backward else []):
        for k, v in src.state_dict().items():
            sd[k + sfx] = torch.tensor(v.astype(np.float64))
    ref.load_state_dict(sd)
    return ref


@pytest.mark.parametrize("ours_cls,torch_cls,kw", LAYERS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_parity_with_torch(ours_cls, torch_cls, kw, go_backwards):
    with dg.default_dtype(np.float64):
        layer = ours_cls(4, return_sequences=True, return_state=True, go_backwards=go_backwards,
                         input_dim=3, rng=0, **kw)
    # torch's reverse direction (same weights in both) is Keras's go_backwards
    ref = _torch_twin(layer, torch_cls, go_backwards, layer if go_backwards else None)
    x = np.random.default_rng(0).normal(size=(2, 5, 3))
    xa, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, *states = layer(xa)
    yt, st = ref(xt)
    st = st if isinstance(st, tuple) else (st,)
    if go_backwards:
        yt = torch.flip(yt[..., 4:], dims=[1])  # Keras: outputs in processing order
        st = tuple(s[1] for s in st)
    else:
        st = tuple(s[0] for s in st)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(states, st, strict=True):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).normal(size=y.shape)
    ((y * g).sum() + states[0].sum()).backward()
    ((yt * torch.tensor(g)).sum() + st[0].sum()).backward()
    np.testing.assert_allclose(xa.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ours_cls,torch_cls,kw", LAYERS)
def test_bidirectional_matches_torch_bidirectional(ours_cls, torch_cls, kw):
    with dg.default_dtype(np.float64):
        bi = nn.Bidirectional(ours_cls(3, return_sequences=True, input_dim=2, rng=0, **kw),
                              rng=1)
    bi(dg.tensor(np.zeros((1, 2, 2))))
    ref = _torch_twin(bi.forward_layer, torch_cls, True, bi.backward_layer)
    x = np.random.default_rng(2).normal(size=(3, 4, 2))
    xa, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = bi(xa), ref(xt)[0]
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(3).normal(size=y.shape)
    (y * g).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xa.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave"])
def test_bidirectional_gradcheck_and_merge_modes(merge):
    with dg.default_dtype(np.float64):
        bi = nn.Bidirectional(nn.GRULayer(2, input_dim=2, rng=0), merge_mode=merge, rng=1)
    x = dg.tensor(np.random.default_rng(0).normal(size=(2, 3, 2)), requires_grad=True)
    assert bi(x).shape == ((2, 4) if merge == "concat" else (2, 2))
    assert gradcheck(lambda x, *p: bi(x, lengths=[3, 2]), x, *bi.parameters())


def test_initialization_is_keras():
    layer = nn.LSTMLayer(4, input_dim=3, rng=0)
    W = layer.weight_hh.data.reshape(4, 4, 4)
    for block in W:  # orthogonal per gate
        np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-5)
    np.testing.assert_array_equal(layer.bias_ih.data[4:8], 1)  # unit forget bias
    assert np.abs(layer.weight_ih.data).max() <= np.sqrt(6 / 7)


def test_float32_sequential_and_lazy_build():
    model = nn.Sequential(nn.Embedding(10, 4), nn.LSTMLayer(5, return_sequences=True),
                          nn.GRULayer(3), nn.Dense(2))
    y = model(np.array([[1, 2, 3], [4, 5, 0]]))
    assert y.shape == (2, 2) and y.dtype == np.float32
    y.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    with dg.no_grad():
        assert not model(np.array([[1, 2]])).requires_grad


def test_lengths_freeze_the_state():
    layer = nn.SimpleRNN(3, input_dim=2, rng=0)
    x = np.random.default_rng(0).normal(size=(1, 4, 2)).astype(np.float32)
    short = layer(x[:, :2])
    padded = layer(x, lengths=[2])
    np.testing.assert_allclose(short.data, padded.data, rtol=1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError, match="units"):
        nn.LSTMLayer(0)
    with pytest.raises(ValueError, match="activation"):
        nn.SimpleRNN(3, activation="sigmoid")
    with pytest.raises(ValueError, match="batch, time, features"):
        nn.GRULayer(3)(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="Bidirectional"):
        nn.Bidirectional(nn.Dense(3))
    with pytest.raises(ValueError, match="merge_mode"):
        nn.Bidirectional(nn.GRULayer(3), merge_mode="max")

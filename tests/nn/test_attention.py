"""Attention: F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch
(masks, kdim/vdim, batch_first, unbatched, weights), gradcheck, float32, no_grad;
AdditiveAttention against a NumPy reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import functional as F
from deepgrad.testing import gradcheck

torch = pytest.importorskip("torch")
TOL = dict(rtol=1e-10, atol=1e-12)


def _pairs(*arrays):
    return ([dg.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


SDPA_MASKS = ["none", "causal", "bool", "float", "scale"]


@pytest.mark.parametrize("kind", SDPA_MASKS)
def test_sdpa_parity_with_torch(kind):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)]]
    kw = {"none": {}, "causal": {"is_causal": True}, "scale": {"scale": 0.3},
          "bool": {"attn_mask": rng.random((4, 6)) > 0.3},
          "float": {"attn_mask": rng.normal(size=(2, 1, 4, 6))}}[kind]
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    a, t = _pairs(*arrays)
    y = F.scaled_dot_product_attention(*a, **kw)
    yt = torch.nn.functional.scaled_dot_product_attention(*t, **tkw)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **TOL)
    g = rng.normal(size=y.shape)
    (y * g).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    for x, z in zip(a, t, strict=True):
        np.testing.assert_allclose(x.grad, z.grad.numpy(), **TOL)


def test_sdpa_gradcheck_float32_no_grad_and_fully_masked_rows():
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)]]
    xs = [dg.tensor(a, requires_grad=True) for a in arrays]
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False  # query 1 sees nothing: zeros, as PyTorch's safe softmax
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask), *xs)
    y = F.scaled_dot_product_attention(*xs, attn_mask=mask)
    np.testing.assert_array_equal(y.data[:, 1], 0)
    x32 = [dg.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    y32 = F.scaled_dot_product_attention(*x32, is_causal=True)
    assert y32.dtype == np.float32
    y32.sum().backward()
    assert all(x.grad.dtype == np.float32 for x in x32)
    with dg.no_grad():
        assert F.scaled_dot_product_attention(*x32).grad_fn is None


def test_sdpa_dropout_and_bad_inputs():
    q = dg.tensor(np.ones((1, 4, 2)))
    y1 = F.scaled_dot_product_attention(q, q, dg.tensor(np.eye(4)[None]), dropout_p=0.5, rng=0)
    y0 = F.scaled_dot_product_attention(q, q, dg.tensor(np.eye(4)[None]))
    assert not np.allclose(y1.data, y0.data)
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((4, 4), bool), is_causal=True)
    with pytest.raises(ValueError, match="key"):
        F.scaled_dot_product_attention(q, dg.tensor(np.ones((1, 4, 3))), q)
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, q, q, dropout_p=1.0)


def _mha_pair(E=6, H=2, **kw):
    with dg.default_dtype(np.float64):
        ours = nn.MultiheadAttention(E, H, rng=0, **kw)
    ref = torch.nn.MultiheadAttention(E, H, **kw).double()
    ref.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, ref


MHA_COMBOS = list(itertools.product([False, True], [None, 4], [True, False],
                                    ["none", "kpm", "bool2d", "float3d", "causal"],
                                    [True, False]))


@pytest.mark.parametrize("batch_first,kdim,bias,mask,average", MHA_COMBOS)
def test_multihead_attention_parity_with_torch(batch_first, kdim, bias, mask, average):
    ours, ref = _mha_pair(kdim=kdim, vdim=kdim and 5, bias=bias, batch_first=batch_first)
    assert list(ours.state_dict()) == list(ref.state_dict())
    rng = np.random.default_rng(2)
    L, S, N, E = 3, 4, 2, 6
    kd, vd = (kdim or E), (5 if kdim else E)
    shp = (lambda T, d: (N, T, d)) if batch_first else (lambda T, d: (T, N, d))
    arrays = [rng.normal(size=shp(L, E)), rng.normal(size=shp(S, kd)),
              rng.normal(size=shp(S, vd))]
    kw = {}
    if mask == "kpm":
        kw["key_padding_mask"] = np.array([[False, False, True, True], [False] * 4])
    elif mask == "bool2d":
        kw["attn_mask"] = np.array([[False, True, False, False]] * L)
    elif mask == "float3d":
        kw["attn_mask"] = rng.normal(size=(N * 2, L, S))
    elif mask == "causal":
        kw["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
        kw["is_causal"] = True
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    a, t = _pairs(*arrays)
    y, w = ours(*a, average_attn_weights=average, **kw)
    yt, wt = ref(*t, average_attn_weights=average, **tkw)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **TOL)
    np.testing.assert_allclose(w.data, wt.detach().numpy(), **TOL)
    g, gw = rng.normal(size=y.shape), rng.normal(size=w.shape)
    ((y * g).sum() + (w * gw).sum()).backward()
    ((yt * torch.tensor(g)).sum() + (wt * torch.tensor(gw)).sum()).backward()
    for x, z in zip(a, t, strict=True):
        np.testing.assert_allclose(x.grad, z.grad.numpy(), **TOL)
    tp = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tp[name].grad.numpy(), err_msg=name, **TOL)


def test_multihead_attention_unbatched_and_no_weights():
    ours, ref = _mha_pair()
    rng = np.random.default_rng(3)
    q, k = rng.normal(size=(3, 6)), rng.normal(size=(5, 6))
    y, w = ours(q, k, k, key_padding_mask=np.array([False, False, True, False, False]))
    yt, wt = ref(torch.tensor(q), torch.tensor(k), torch.tensor(k),
                 key_padding_mask=torch.tensor([False, False, True, False, False]))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **TOL)
    np.testing.assert_allclose(w.data, wt.detach().numpy(), **TOL)
    assert ours(q, k, k, need_weights=False)[1] is None


def test_multihead_attention_gradcheck_float32_dropout():
    with dg.default_dtype(np.float64):
        mha = nn.MultiheadAttention(4, 2, kdim=3, vdim=2, rng=0)
    rng = np.random.default_rng(4)
    xs = [dg.tensor(rng.normal(size=s), requires_grad=True)
          for s in [(2, 1, 4), (3, 1, 3), (3, 1, 2)]]
    assert gradcheck(lambda q, k, v, *p: mha(q, k, v), *xs, *mha.parameters())
    m32 = nn.MultiheadAttention(4, 2, dropout=0.5)
    x = dg.tensor(np.ones((3, 2, 4), dtype=np.float32))
    y, w = m32(x, x, x)
    assert y.dtype == np.float32 and w.dtype == np.float32
    m32.eval()
    with dg.no_grad():
        y2, _ = m32(x, x, x)
    assert y2.grad_fn is None
    with pytest.raises(ValueError, match="multiple of num_heads"):
        nn.MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match="key_padding_mask"):
        m32(x, x, x, key_padding_mask=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="attn_mask"):
        m32(x, x, x, attn_mask=np.zeros((2, 2), bool))


def _additive_reference(att, q, k, v, mask):
    Wq, Wk = att.query_proj.weight.data, att.key_proj.weight.data
    bk, vv = att.key_proj.bias.data, att.v.data
    s = np.tanh((q @ Wq.T)[:, :, None] + (k @ Wk.T + bk)[:, None]) @ vv  # (N, L, S)
    s = np.where(mask[:, None], s, -np.inf)
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return w @ v, w


def test_additive_attention_reference_gradcheck_and_mask():
    with dg.default_dtype(np.float64):
        att = nn.AdditiveAttention(3, 4, hidden_dim=5, rng=0)
    rng = np.random.default_rng(5)
    q, k, v = rng.normal(size=(2, 2, 3)), rng.normal(size=(2, 4, 4)), rng.normal(size=(2, 4, 2))
    mask = np.array([[True, True, False, True], [True] * 4])
    ctx, w = att(q, k, v, mask=mask)
    ref_ctx, ref_w = _additive_reference(att, q, k, v, mask)
    np.testing.assert_allclose(ctx.data, ref_ctx, rtol=1e-12)
    np.testing.assert_allclose(w.data, ref_w, rtol=1e-12, atol=1e-15)
    assert w.data[0, :, 2].max() == 0
    xs = [dg.tensor(a, requires_grad=True) for a in (q, k, v)]
    assert gradcheck(lambda q, k, v, *p: att(q, k, v, mask=mask), *xs, *att.parameters())
    c1, w1 = att(q[:, 0], k)  # one query per example, values = keys
    assert c1.shape == (2, 4) and w1.shape == (2, 4)
    a32 = nn.AdditiveAttention(3, 4)
    c32, _ = a32(q.astype(np.float32), k.astype(np.float32))
    assert c32.dtype == np.float32
    with pytest.raises(ValueError, match="mask"):
        att(q, k, v, mask=np.ones((2, 3), bool))

"""RNNCell / LSTMCell / GRUCell: PyTorch parity, gradcheck, float32, unbatched; and the
sequence utilities (pack/pad) against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import utils_rnn as U
from deepgrad.testing import gradcheck

torch = pytest.importorskip("torch")

CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {}), ("GRUCell", {"bias": False})]


def _pair(name, kw):
    ours = getattr(nn, name)(3, 4, rng=0, **kw)
    for p in ours.parameters():
        p.data = p.data.astype(np.float64)
    ref = getattr(torch.nn, name)(3, 4, **kw).double()
    ref.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, ref


def _tuple(s):
    return s if isinstance(s, tuple) else (s,)


@pytest.mark.parametrize("name,kw", CELLS)
@pytest.mark.parametrize("batched", [True, False])
def test_cell_parity_with_torch(name, kw, batched):
    ours, ref = _pair(name, kw)
    rng = np.random.default_rng(0)
    lead = (2,) if batched else ()
    x = rng.normal(size=lead + (3,))
    hs = [rng.normal(size=lead + (4,)) for _ in range(2 if name == "LSTMCell" else 1)]
    xa, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ha = [dg.tensor(h, requires_grad=True) for h in hs]
    ht = [torch.tensor(h, requires_grad=True) for h in hs]
    oa = _tuple(ours(xa, tuple(ha) if len(ha) == 2 else ha[0]))
    ot = _tuple(ref(xt, tuple(ht) if len(ht) == 2 else ht[0]))
    gys = [rng.normal(size=o.shape) for o in oa]
    for a, b in zip(oa, ot, strict=True):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum((a * g).sum() for a, g in zip(oa, gys, strict=True)).backward()
    sum((b * torch.tensor(g)).sum() for b, g in zip(ot, gys, strict=True)).backward()
    for a, b in zip([xa] + ha, [xt] + ht, strict=True):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)
    tp = dict(ref.named_parameters())
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tp[k].grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kw", CELLS)
def test_cell_gradcheck_and_float32(name, kw):
    ours, _ = _pair(name, kw)
    rng = np.random.default_rng(1)
    x = dg.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    hs = [dg.tensor(rng.normal(size=(2, 4)), requires_grad=True)
          for _ in range(2 if name == "LSTMCell" else 1)]

    def fn(x, *rest):
        return _tuple(ours(x, tuple(rest[:2]) if len(hs) == 2 else rest[0]))

    assert gradcheck(fn, x, *hs, *ours.parameters())
    cell32 = getattr(nn, name)(3, 4, **kw)
    out = _tuple(cell32(dg.tensor(np.ones((2, 3), dtype=np.float32))))
    assert all(o.dtype == np.float32 for o in out)
    with dg.no_grad():
        assert not _tuple(cell32(np.ones((2, 3), dtype=np.float32)))[0].requires_grad


def test_cell_rejects_bad_shapes():
    with pytest.raises(ValueError, match="input"):
        nn.GRUCell(3, 4)(dg.tensor(np.ones((2, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match="shape"):
        nn.LSTMCell(3, 4)(dg.tensor(np.ones((2, 3), dtype=np.float32)),
                          (np.zeros((2, 4), np.float32), np.zeros((2, 5), np.float32)))


@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_match_torch_and_carry_gradients(batch_first):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 2)) if batch_first else rng.normal(size=(4, 3, 2))
    lengths = [2, 4, 1]
    xa, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pa = U.pack_padded_sequence(xa, lengths, batch_first=batch_first, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths),
                                                 batch_first=batch_first, enforce_sorted=False)
    np.testing.assert_array_equal(pa.data.data, pt.data.detach().numpy())
    np.testing.assert_array_equal(pa.sorted_indices, pt.sorted_indices.numpy())
    np.testing.assert_array_equal(pa.unsorted_indices, pt.unsorted_indices.numpy())
    ya, la = U.pad_packed_sequence(pa, batch_first=batch_first, padding_value=-1.0)
    yt, lt = torch.nn.utils.rnn.pad_packed_sequence(pt, batch_first=batch_first,
                                                    padding_value=-1.0)
    np.testing.assert_array_equal(ya.data, yt.detach().numpy())
    np.testing.assert_array_equal(la, lt.numpy())
    g = rng.normal(size=ya.shape)
    (ya * g).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(xa.grad, xt.grad.numpy())


def test_pad_sequence_and_pack_sequence():
    seqs = [np.arange(3.0)[:, None], np.arange(1.0)[:, None], np.arange(2.0)[:, None]]
    ya = U.pad_sequence([dg.tensor(s) for s in seqs], batch_first=True, padding_value=9)
    yt = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True,
                                         padding_value=9)
    np.testing.assert_array_equal(ya.data, yt.numpy())
    p = U.pack_sequence([dg.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(p.batch_sizes, [3, 2, 1])


def test_pack_rejects_bad_lengths():
    x = dg.tensor(np.zeros((3, 2, 1)))
    with pytest.raises(ValueError, match="decreasing"):
        U.pack_padded_sequence(x, [1, 3])
    with pytest.raises(ValueError, match="lengths"):
        U.pack_padded_sequence(x, [0, 3], enforce_sorted=False)
    with pytest.raises(ValueError, match="total_length"):
        U.pad_packed_sequence(U.pack_padded_sequence(x, [3, 1]), total_length=2)

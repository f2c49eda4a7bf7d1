"""Embedding: forward, gradient (scatter-add, padding row), PyTorch parity, max_norm."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import functional as F
from deepgrad.testing import gradcheck

torch = pytest.importorskip("torch")


def test_forward_is_a_row_lookup():
    emb = nn.Embedding(5, 3, rng=0)
    idx = np.array([[0, 4, 4], [2, 1, 0]])
    y = emb(idx)
    assert y.shape == (2, 3, 3)
    np.testing.assert_array_equal(y.data, emb.weight.data[idx])


@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_parity_with_torch_and_gradcheck(padding_idx):
    emb = nn.Embedding(6, 4, padding_idx=padding_idx, rng=1)
    emb.weight.data = emb.weight.data.astype(np.float64)
    ref = torch.nn.Embedding(6, 4, padding_idx=padding_idx).double()
    ref.load_state_dict({"weight": torch.tensor(emb.weight.data)})
    idx = np.array([[1, 2, 2, 5], [0, 1, 5, 5]])  # repeats accumulate
    g = np.random.default_rng(0).normal(size=(2, 4, 4))
    y, yt = emb(idx), ref(torch.tensor(idx))
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    (y * g).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(emb.weight.grad, ref.weight.grad.numpy(), rtol=1e-12)
    if padding_idx is None:  # the padding row's gradient is zero on purpose
        assert gradcheck(lambda w: F.embedding(idx, w),
                         dg.tensor(emb.weight.data.copy(), requires_grad=True))
    else:
        np.testing.assert_array_equal(emb.weight.grad[padding_idx], 0)


def test_padding_row_initialized_to_zero():
    emb = nn.Embedding(4, 3, padding_idx=2)
    np.testing.assert_array_equal(emb.weight.data[2], 0)
    assert np.abs(emb.weight.data[[0, 1, 3]]).sum() > 0


def test_float32_scalar_and_empty_index_and_no_grad():
    emb = nn.Embedding(4, 3)
    assert emb(np.int64(2)).shape == (3,)
    assert emb(np.zeros((0,), dtype=np.int64)).shape == (0, 3)
    y = emb(np.array([1, 2]))
    assert y.dtype == np.float32
    y.sum().backward()
    assert emb.weight.grad.dtype == np.float32
    with dg.no_grad():
        assert not emb(np.array([1])).requires_grad


def test_max_norm_renormalizes_looked_up_rows_like_torch():
    w = np.random.default_rng(3).normal(size=(5, 4)) * 3
    emb = nn.Embedding.from_pretrained(w, freeze=False, max_norm=1.0)
    ref = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=False, max_norm=1.0)
    idx = np.array([0, 2, 2])
    np.testing.assert_allclose(emb(idx).data, ref(torch.tensor(idx)).detach().numpy())
    np.testing.assert_allclose(emb.weight.data, ref.weight.detach().numpy())


def test_from_pretrained_freezes():
    emb = nn.Embedding.from_pretrained(np.eye(3))
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(np.array([1])).data, [[0, 1, 0]])


@pytest.mark.parametrize("idx,err,match", [
    (np.array([5]), ValueError, r"\[0, 4\]"),
    (np.array([-1]), ValueError, "indices"),
    (np.array([0.5]), TypeError, "integers"),
])
def test_bad_indices(idx, err, match):
    with pytest.raises(err, match=match):
        nn.Embedding(5, 2)(idx)


def test_bad_constructor():
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(ValueError, match="embedding_dim"):
        nn.Embedding(3, 0)

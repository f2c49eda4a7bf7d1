"""Tensor methods with PyTorch's semantics: view, unsqueeze, squeeze, permute, flatten,
chunk, split, expand, repeat, masked_fill, argmax/argmin, item, tolist; dg.where forms."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.testing import check_op

from ._parity import torch_parity

MASK = np.array([[True, False, False, True], [False, False, True, False], [True] * 4])

# (deepgrad, torch) pairs of the same call, applied to a (3, 4) tensor (or (3, 1, 4))
METHODS = [
    (lambda x: x.view(4, 3), lambda x: x.view(4, 3)),
    (lambda x: x.view(-1), lambda x: x.view(-1)),
    (lambda x: x.view((2, 6)), lambda x: x.view((2, 6))),
    (lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1)),
    (lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1)),
    (lambda x: x.permute(1, 0), lambda x: x.permute(1, 0)),
    (lambda x: x.permute((1, 0)), lambda x: x.permute((1, 0))),
    (lambda x: x.flatten(), lambda x: x.flatten()),
    (lambda x: dg.flatten(x.view(3, 2, 2), 1), lambda x: torch_mod().flatten(x.view(3, 2, 2), 1)),
    (lambda x: x.chunk(2), lambda x: x.chunk(2)),
    (lambda x: x.chunk(3, dim=1), lambda x: x.chunk(3, dim=1)),
    (lambda x: x.chunk(4, 1), lambda x: x.chunk(4, 1)),
    (lambda x: x.split(2), lambda x: x.split(2)),
    (lambda x: x.split([1, 3], dim=1), lambda x: x.split([1, 3], dim=1)),
    (lambda x: dg.split(x, 3, 1), lambda x: torch_mod().split(x, 3, 1)),
    (lambda x: x[:, :1].expand(3, 5), lambda x: x[:, :1].expand(3, 5)),
    (lambda x: x[:1].expand(2, -1, -1), lambda x: x[:1].expand(2, -1, -1)),
    (lambda x: x.expand((2, 3, 4)), lambda x: x.expand((2, 3, 4))),
    (lambda x: x.repeat(2, 1), lambda x: x.repeat(2, 1)),
    (lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3)),
    (lambda x: x.repeat((1, 2)), lambda x: x.repeat((1, 2))),
    (lambda x: x.masked_fill(dg.tensor(MASK), -1.5),
     lambda x: x.masked_fill(torch_mod().tensor(MASK), -1.5)),
    (lambda x: x.masked_fill(MASK[0], 2.0), lambda x: x.masked_fill(torch_mod().tensor(MASK[0]),
                                                                     2.0)),
    (lambda x: x.transpose(1, 0), lambda x: x.transpose(1, 0)),
    (lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5)),
]


def torch_mod():
    import torch

    return torch


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", range(len(METHODS)))
def test_methods_match_torch(k, dtype):
    pytest.importorskip("torch")
    ours, theirs = METHODS[k]
    torch_parity(ours, theirs, np.random.default_rng(k).standard_normal((3, 4)), dtype=dtype)


@pytest.mark.parametrize("k", range(len(METHODS)))
def test_methods_gradcheck_float32_no_grad(k):
    ours = METHODS[k][0]

    def joined(x):
        out = ours(x)
        return dg.cat([dg.reshape(o, (-1,)) for o in out]) if isinstance(out, tuple) else out

    check_op(joined, None, (3, 4))


def test_split_chunk_edges_match_torch():
    torch = pytest.importorskip("torch")
    for n, chunks in [(5, 3), (6, 4), (0, 3), (1, 2)]:
        ours = dg.chunk(dg.tensor(np.zeros(n)), chunks)
        theirs = torch.chunk(torch.zeros(n), chunks)
        assert [o.shape for o in ours] == [tuple(t.shape) for t in theirs]
    for size in (2, 5, 7):
        ours = dg.split(dg.tensor(np.zeros(5)), size)
        assert [o.shape for o in ours] == [tuple(t.shape) for t in torch.split(torch.zeros(5),
                                                                              size)]
    with pytest.raises(ValueError, match="sum to"):
        dg.split(dg.tensor(np.zeros(5)), [2, 2])
    with pytest.raises(ValueError, match="0-d"):
        dg.chunk(dg.tensor(1.0), 1)
    with pytest.raises(ValueError, match="positive"):
        dg.chunk(dg.tensor(np.zeros(3)), 0)


def test_split_gradient_of_unused_pieces_is_zero():
    x = dg.tensor(np.arange(6.0), requires_grad=True)
    a, b, c = x.split(2)
    (b * 3.0).sum().backward()
    assert x.grad.tolist() == [0, 0, 3, 3, 0, 0]


def test_expand_repeat_masked_fill_errors():
    x = dg.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="cannot expand"):
        x.expand(2, 4)
    with pytest.raises(ValueError, match="-1"):
        x.expand(-1, 2, 3)
    with pytest.raises(ValueError, match="at least as many"):
        x.repeat(2)
    with pytest.raises(TypeError, match="boolean"):
        x.masked_fill(np.ones((2, 3)), 0.0)
    with pytest.raises(ValueError, match="broadcast"):
        x.masked_fill(np.ones((3, 3), bool), 0.0)
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0)


def test_masked_fill_with_a_0d_tensor_value_gets_its_gradient():
    torch = pytest.importorskip("torch")
    torch_parity(lambda x, v: x.masked_fill(MASK, v),
                 lambda x, v: x.masked_fill(torch.tensor(MASK), v),
                 np.random.default_rng(0).standard_normal((3, 4)), np.array(0.25))


def test_item_tolist_argmax():
    x = dg.tensor([[1.0, 5.0], [7.0, 2.0]])
    assert x[1, 0].item() == 7.0 and isinstance(x.sum().item(), float)
    assert x.tolist() == [[1.0, 5.0], [7.0, 2.0]]
    assert x.argmax().item() == 2 and x.argmax(dim=1).tolist() == [1, 0]
    assert x.argmin(0, keepdims=True).tolist() == [[0, 1]]
    with pytest.raises(ValueError, match="one element"):
        x.item()


def test_where_forms_match_torch():
    torch = pytest.importorskip("torch")
    c = MASK
    rng = np.random.default_rng(3)
    torch_parity(lambda x, y: dg.where(dg.tensor(c), x, y),
                 lambda x, y: torch.where(torch.tensor(c), x, y),
                 rng.standard_normal((3, 4)), rng.standard_normal(4))
    torch_parity(lambda x: dg.where(dg.tensor(c), x, 0.0),
                 lambda x: torch.where(torch.tensor(c), x, 0.0), rng.standard_normal((3, 4)),
                 dtype=np.float32)
    torch_parity(lambda x: dg.where(dg.tensor(c), 1.5, x),
                 lambda x: torch.where(torch.tensor(c), 1.5, x), rng.standard_normal((3, 4)))
    ours, theirs = dg.where(dg.tensor(c)), torch.where(torch.tensor(c))
    assert len(ours) == len(theirs) == 2
    for o, t in zip(ours, theirs, strict=True):
        assert o.dtype == np.int64
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    with pytest.raises(TypeError, match="boolean"):
        dg.where(np.ones(3), dg.tensor(np.ones(3)), 0.0)

"""Property test over ranks 0-4, size-0 axes included: every reduction and shape op agrees
with PyTorch in value, shape, dtype and gradient (or both refuse the input)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg

from ._parity import torch_parity

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)
shapes = st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple)


def _array(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _axis(data, nd):
    """None, one axis (negative too), or a tuple of distinct axes; 0-d has axes 0 and -1."""
    span = max(nd, 1)
    kind = data.draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return data.draw(st.integers(-span, span - 1))
    axes = data.draw(st.lists(st.integers(0, span - 1), unique=True, min_size=1,
                              max_size=span))
    return tuple(a - span if data.draw(st.booleans()) else a for a in axes)


def _dims(axis, nd):
    return tuple(range(nd)) if axis is None else axis


TORCH_REDUCE = {
    "sum": lambda t, d, k: torch.sum(t, d, keepdim=k),
    "mean": lambda t, d, k: torch.mean(t, d, keepdim=k),
    "max": lambda t, d, k: torch.amax(t, d, keepdim=k),
    "min": lambda t, d, k: torch.amin(t, d, keepdim=k),
    "logsumexp": lambda t, d, k: torch.logsumexp(t, d if d != () else 0, keepdim=k),
    "var": lambda t, d, k: torch.var(t, d, keepdim=k, correction=0),
    "std": lambda t, d, k: torch.std(t, d, keepdim=k, correction=0),
}


def _both_or_neither(ours, theirs, *arrays, dtype=np.float64):
    """Parity, or both raise (ours with a ValueError/IndexError naming the problem)."""
    try:
        expect = [theirs(*[torch.tensor(a) for a in arrays])]
    except (RuntimeError, IndexError, ValueError):
        expect = None
    if expect is None:
        with pytest.raises((ValueError, IndexError)):
            ours(*[dg.tensor(a) for a in arrays])
        return
    torch_parity(ours, theirs, *arrays, dtype=dtype)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", sorted(TORCH_REDUCE))
@SETTINGS
@given(shape=shapes, data=st.data())
def test_reductions(name, shape, data):
    nd = len(shape)
    axis = _axis(data, nd)
    keep = data.draw(st.booleans())
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    fn, tfn = getattr(dg, name), TORCH_REDUCE[name]
    _both_or_neither(lambda t: fn(t, axis=axis, keepdims=keep),
                     lambda t: tfn(t, _dims(axis, nd), keep), _array(shape, 0), dtype=dtype)


def _shape_case(data, shape):
    """One shape op applied to a tensor of ``shape``, as (deepgrad fn, torch fn)."""
    nd, span = len(shape), max(len(shape), 1)
    op = data.draw(st.sampled_from([
        "reshape", "permute", "swapaxes", "squeeze", "unsqueeze", "flatten", "expand",
        "repeat", "split", "chunk", "cat", "stack", "slice", "sum_keep_then_squeeze",
    ]))
    ax = data.draw(st.integers(-span, span - 1))
    if op == "reshape":
        new = tuple(reversed(shape)) if data.draw(st.booleans()) else (-1,)
        return (lambda t: t.reshape(new)), (lambda t: t.reshape(new))
    if op == "permute":
        perm = tuple(data.draw(st.permutations(range(nd))))
        return (lambda t: t.permute(*perm)), (lambda t: torch.permute(t, perm))
    if op == "swapaxes":
        b = data.draw(st.integers(-span, span - 1))
        return (lambda t: dg.swapaxes(t, ax, b)), (lambda t: torch.swapaxes(t, ax, b))
    if op == "squeeze":
        return (lambda t: t.squeeze(ax)), (lambda t: t.squeeze(ax))
    if op == "unsqueeze":
        pos = data.draw(st.integers(-(nd + 1), nd))
        return (lambda t: t.unsqueeze(pos)), (lambda t: t.unsqueeze(pos))
    if op == "flatten":
        b = data.draw(st.integers(-span, span - 1))
        return (lambda t: dg.flatten(t, ax, b)), (lambda t: torch.flatten(t, ax, b))
    if op == "expand":
        sizes = (2,) + tuple(3 if n == 1 else -1 for n in shape)
        return (lambda t: t.expand(*sizes)), (lambda t: t.expand(*sizes))
    if op == "repeat":
        reps = tuple(data.draw(st.lists(st.integers(0, 2), min_size=nd, max_size=nd + 1)))
        return (lambda t: t.repeat(*reps)), (lambda t: t.repeat(reps))
    if op == "split":
        size = data.draw(st.integers(1, 3))
        return (lambda t: t.split(size, ax)), (lambda t: t.split(size, ax))
    if op == "chunk":
        n = data.draw(st.integers(1, 3))
        return (lambda t: t.chunk(n, ax)), (lambda t: t.chunk(n, ax))
    if op == "cat":
        return (lambda t: dg.cat([t, t * 2.0], ax)), (lambda t: torch.cat([t, t * 2.0], ax))
    if op == "stack":
        pos = data.draw(st.integers(-(nd + 1), nd))
        return (lambda t: dg.stack([t, t * 2.0], pos)), (lambda t: torch.stack([t, t * 2.0],
                                                                                pos))
    if op == "slice":
        key = tuple(slice(1, None) if i % 2 else slice(None, None, 2) for i in range(nd))
        return (lambda t: t[key]), (lambda t: t[key])
    return (lambda t: dg.squeeze(dg.sum(t, axis=ax, keepdims=True), ax)), (
        lambda t: torch.squeeze(torch.sum(t, ax, keepdim=True), ax))


@SETTINGS
@given(shape=shapes, data=st.data())
def test_shape_ops(shape, data):
    ours, theirs = _shape_case(data, shape)
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    _both_or_neither(ours, theirs, _array(shape, 1), dtype=dtype)


@pytest.mark.parametrize("fn,tfn", [(dg.softmax, torch.softmax),
                                    (dg.log_softmax, torch.log_softmax)])
@SETTINGS
@given(shape=shapes, data=st.data())
def test_softmax(fn, tfn, shape, data):
    span = max(len(shape), 1)
    ax = data.draw(st.integers(-span, span - 1))
    _both_or_neither(lambda t: fn(t, dim=ax), lambda t: tfn(t, ax), _array(shape, 2))

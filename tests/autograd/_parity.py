"""Forward/backward comparison with PyTorch for the autograd tests (torch imported lazily)."""

from __future__ import annotations

import numpy as np

import deepgrad as dg

TOL = {np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6),
       np.dtype(np.float64): dict(rtol=1e-10, atol=1e-12)}


def _flat(out):
    return list(out) if isinstance(out, tuple | list) else [out]


def torch_parity(ours, theirs, *arrays, dtype=np.float64, grad_of=None, seed=0):
    """Run ``ours`` on deepgrad tensors and ``theirs`` on torch tensors made from the same
    arrays (float ones cast to ``dtype``); compare outputs, dtypes, and the gradients of the
    inputs in ``grad_of`` (default: every float input) for a random upstream gradient."""
    import torch

    dtype = np.dtype(dtype)
    arrs = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
            for a in arrays]
    floats = [i for i, a in enumerate(arrs) if a.dtype.kind == "f"]
    grad_of = floats if grad_of is None else list(grad_of)
    xs = [dg.tensor(a.copy(), requires_grad=i in grad_of) for i, a in enumerate(arrs)]
    ts = [torch.tensor(a.copy(), requires_grad=i in grad_of) for i, a in enumerate(arrs)]
    ys, yts = _flat(ours(*xs)), _flat(theirs(*ts))
    assert len(ys) == len(yts)
    rng = np.random.default_rng(seed)
    gys = []
    for y, yt in zip(ys, yts, strict=True):
        ref = yt.detach().numpy()
        assert y.shape == tuple(ref.shape), (y.shape, ref.shape)
        assert y.dtype == ref.dtype, f"{y.dtype} output, torch's is {ref.dtype}"
        np.testing.assert_allclose(y.numpy(), ref, **TOL[dtype])
        gys.append(rng.standard_normal(y.shape).astype(y.dtype if y.dtype.kind == "f" else dtype))
    if not grad_of:
        return
    pairs = [(y, yt, g) for y, yt, g in zip(ys, yts, gys, strict=True) if yt.requires_grad]
    if not pairs:
        return
    loss = dg.sum(dg.stack([dg.sum(y * g) for y, _, g in pairs]))
    loss.backward()
    torch.stack([(yt * torch.tensor(g)).sum() for _, yt, g in pairs]).sum().backward()
    for i in grad_of:
        expected = ts[i].grad
        got = xs[i].grad
        if expected is None:
            assert got is None or not np.any(got), f"input {i}: torch has no gradient"
            continue
        assert got is not None, f"input {i}: no gradient"
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected.numpy(), **TOL[dtype],
                                   err_msg=f"gradient of input {i}")

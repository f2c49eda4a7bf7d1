"""Shared checks for the PyTorch-form tests: parity of forward and gradients with torch,
and "nothing recorded under no_grad"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import deepgrad as dg

TOL = {np.float64: (1e-10, 1e-12), np.float32: (1e-5, 1e-6)}


def torch_parity(ours: Callable[..., Any], theirs: Callable[..., Any], arrays: Sequence[Any],
                 grads: Sequence[bool], dtype: Any = np.float64, seed: int = 0,
                 grad_rtol: float | None = None) -> None:
    """Run ``ours`` on deepgrad tensors and ``theirs`` on torch tensors made from the same
    ``arrays`` (float arrays cast to ``dtype``, integer ones kept), then compare the outputs
    (1e-10 relative in float64, 1e-5 in float32), the output dtype, and, after a backward
    pass with the same random upstream gradient, the gradients of the inputs flagged in
    ``grads`` (to ``grad_rtol`` if given)."""
    import torch

    rtol, atol = TOL[np.dtype(dtype).type]
    cast = [a.astype(dtype) if np.asarray(a).dtype.kind == "f" else a for a in arrays]
    pairs = list(zip(cast, grads, strict=True))
    xs = [dg.tensor(np.array(a, copy=True), requires_grad=g) for a, g in pairs]
    ts = [torch.tensor(np.array(a, copy=True), requires_grad=g) for a, g in pairs]
    y, yt = ours(*xs), theirs(*ts)
    assert y.shape == tuple(yt.shape), (y.shape, tuple(yt.shape))
    assert y.dtype == dtype, f"{y.dtype} output for {np.dtype(dtype)} inputs"
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=rtol, atol=atol)
    if not any(grads):
        return
    gy = np.random.default_rng(seed).normal(size=y.shape).astype(dtype)
    y.backward(gy)
    yt.backward(torch.tensor(gy))
    for i, (x, t, g) in enumerate(zip(xs, ts, grads, strict=True)):
        if g:
            assert x.grad is not None and x.grad.dtype == dtype, f"input {i}"
            ref = np.zeros(x.shape, dtype) if t.grad is None else t.grad.numpy()
            np.testing.assert_allclose(x.grad, ref, rtol=grad_rtol or rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")


def assert_no_graph(fn: Callable[..., Any], *arrays: Any) -> None:
    """``fn`` on tensors that require grad records nothing under ``deepgrad.no_grad()``."""
    xs = [dg.tensor(np.array(a, copy=True), requires_grad=np.asarray(a).dtype.kind == "f")
          for a in arrays]
    with dg.no_grad():
        y = fn(*xs)
    assert not y.requires_grad and y.grad_fn is None

"""Shared checks of the convolution, pooling and resizing form tests: PyTorch parity of
outputs and of every input's gradient (and integer index outputs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import deepgrad as dg

DTYPES = [np.float64, np.float32]


def close(a: Any, b: Any, dtype: Any) -> None:
    """Within 1e-10 (float64) / 1e-5 (float32) of the largest magnitude, and of ``dtype``."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == dtype, f"{a.dtype} for {np.dtype(dtype)}"
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(float(np.abs(b).max()) if b.size else 0.0, 1.0)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale)


def parity(ours: Callable[..., Any], theirs: Callable[..., Any], arrays: Sequence[Any],
           dtype: Any = np.float64, seed: int = 0, indices: bool = False) -> None:
    """Run ``ours`` on deepgrad leaves and ``theirs`` on torch leaves holding the same
    float arrays; compare the outputs and, after a backward pass with one random upstream
    gradient, every input's gradient. With ``indices`` both return (values, int64 indices)
    and the indices must agree exactly."""
    import torch

    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    xs = [dg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    y, yt = ours(*xs), theirs(*ts)
    if indices:
        (y, idx), (yt, idx_t) = y, yt
        assert idx.dtype == np.int64 and not idx.requires_grad
        np.testing.assert_array_equal(idx.numpy(), idx_t.numpy())
    close(y.numpy(), yt.detach().numpy(), dtype)
    gy = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    yt.backward(torch.tensor(gy))
    for x, t in zip(xs, ts, strict=True):
        close(x.grad, t.grad.numpy(), dtype)


def module_parity(layer: Any, tlayer: Any, x: np.ndarray, dtype: Any, seed: int = 0) -> None:
    """A deepgrad layer holding a torch layer's parameters: same output, input gradient and
    parameter gradients."""
    import torch

    sd = {k: v.detach().numpy() for k, v in tlayer.state_dict().items()}
    layer.load_state_dict(sd)
    xd = dg.Tensor(x.astype(dtype), requires_grad=True)
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    y, yt = layer(xd), tlayer(xt)
    close(y.numpy(), yt.detach().numpy(), dtype)
    gy = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    yt.backward(torch.tensor(gy))
    close(xd.grad, xt.grad.numpy(), dtype)
    tparams = dict(tlayer.named_parameters())
    names = [n for n, _ in layer.named_parameters()]
    assert names == list(tparams), (names, list(tparams))
    for name, p in layer.named_parameters():
        close(p.grad, tparams[name].grad.numpy(), dtype)


def torch_dtype(dtype: Any) -> Any:
    import torch

    return torch.float32 if dtype == np.float32 else torch.float64

"""Scaled dot-product attention as one fused op (PyTorch's ``F.scaled_dot_product_attention``).

Forward: ``S = Q Kᵀ · scale + M``, ``P = softmax(S)`` (max-shifted), ``P' = dropout(P)``,
``out = P' V``. Backward, with ``G = dP' ∘ keep / (1 - p)``:
``dV = P'ᵀ g``, ``dS = P ∘ (G - Σ_j G P)``, ``dQ = dS K · scale``, ``dK = dSᵀ Q · scale``.
A row whose keys are all masked gives zeros (PyTorch's "safe softmax"), not NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._random import as_generator
from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from .dropout import _uniform

__all__ = ["scaled_dot_product_attention", "attention_weights_op"]


def _swap(a: Any) -> Any:
    return a.swapaxes(-1, -2)


class ScaledDotProductAttention(Function):
    """Inputs q (..., L, E), k (..., S, E), v (..., S, Ev); outputs (out, weights)."""

    def __init__(self, mask: Any, scale: float, p: float, rng: Any) -> None:
        self.mask, self.scale, self.p, self.rng = mask, scale, p, rng

    def forward(self, q: Any, k: Any, v: Any) -> tuple[Any, Any]:
        xp = get_array_module(q)
        s = q @ _swap(k)
        s *= q.dtype.type(self.scale)
        if self.mask is not None:
            s = s + self.mask  # additive float mask, -inf where masked
        m = s.max(axis=-1, keepdims=True)
        dead = ~xp.isfinite(m)  # rows with every key masked
        m = xp.where(dead, 0, m)
        e = xp.exp(s - m)
        z = e.sum(axis=-1, keepdims=True)
        P = e / xp.where(z == 0, 1, z)
        keep = None
        if self.p > 0:
            keep = (_uniform(xp, self.rng, P.shape, P.dtype) >= self.p).astype(P.dtype)
            keep *= P.dtype.type(1.0 / (1.0 - self.p))
        Pd = P * keep if keep is not None else P
        if self.requires_grad:
            self.q, self.k, self.v, self.P, self.Pd, self.keep = q, k, v, P, Pd, keep
        return Pd @ v, Pd

    def backward(self, gy: Any, gw: Any) -> tuple[Any, Any, Any]:
        q, k, v, P, Pd = self.q, self.k, self.v, self.P, self.Pd
        need = self.needs_input_grad
        # out = P' v: dP' = gy vᵀ (+ the weights' own gradient), dv = P'ᵀ gy
        gv = _swap(Pd) @ gy if need[2] else None
        G = gy @ _swap(v) + gw
        if self.keep is not None:
            G *= self.keep
        # d softmax: dS = P (G - sum(G P))
        dS = P * (G - (G * P).sum(axis=-1, keepdims=True))
        dS *= q.dtype.type(self.scale)
        gq = dS @ k if need[0] else None
        gk = _swap(dS) @ q if need[1] else None
        return _unbroadcast(gq, q), _unbroadcast(gk, k), _unbroadcast(gv, v)


def _unbroadcast(g: Any, x: Any) -> Any:
    if g is None or g.shape == x.shape:
        return g
    lead = g.ndim - x.ndim
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(x.shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _float_mask(attn_mask: Any, is_causal: bool, L: int, S: int, dtype: Any, xp: Any) -> Any:
    """One additive mask (0 where allowed, -inf where not) from a bool/float mask or
    ``is_causal``; None when there is nothing to mask."""
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, "
                             "not both")
        attn_mask = xp.asarray(np.tril(np.ones((L, S), dtype=bool)))
    if attn_mask is None:
        return None
    m = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
    if m.dtype == bool:
        return xp.where(m, 0, -np.inf).astype(dtype)
    if m.dtype.kind != "f":
        raise TypeError(f"scaled_dot_product_attention: attn_mask must be bool or float, got "
                        f"{m.dtype}")
    return m.astype(dtype, copy=False)


def attention_weights_op(q: Any, k: Any, v: Any, mask: Any = None, scale: float | None = None,
                         dropout_p: float = 0.0, rng: Any = None) -> tuple[Tensor, Tensor]:
    """The fused op with an additive float ``mask`` (array or None): (output, weights)."""
    E = q.shape[-1]
    sc = 1.0 / math.sqrt(E) if scale is None else float(scale)
    return ScaledDotProductAttention(mask, sc, float(dropout_p), as_generator(rng))(q, k, v)


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, rng: Any = None) -> Tensor:
    """``softmax(Q Kᵀ · scale + mask) V`` as one fused op (PyTorch's argument order).

    Args:
        query, key, value: tensors with the same leading (batch, head) axes.
        attn_mask: bool (True: may attend, as PyTorch's SDPA) or float (added to the
            scores), broadcastable to (..., L, S).
        dropout_p: dropout on the attention weights (pass 0 at evaluation).
        is_causal: mask the keys after each query (a lower-triangular (L, S) mask).
        scale: defaults to 1/√E.
        rng: a numpy Generator or seed for the dropout mask.

    Shape:
        query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev).
    """
    q, k, v = (t if isinstance(t, Tensor) else Tensor(t) for t in (query, key, value))
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError(f"scaled_dot_product_attention: query, key and value need the same "
                         f"number (>= 2) of axes, got shapes {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: need query (..., L, E), key (..., S, E)"
                         f", value (..., S, Ev); got {q.shape}, {k.shape}, {v.shape}")
    if not 0.0 <= float(dropout_p) < 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got "
                         f"{dropout_p}")
    xp = get_array_module(q.data)
    mask = _float_mask(attn_mask, is_causal, q.shape[-2], k.shape[-2], q.dtype, xp)
    return attention_weights_op(q, k, v, mask, scale, dropout_p, rng)[0]

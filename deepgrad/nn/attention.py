"""Attention layers: MultiheadAttention (PyTorch's API) and AdditiveAttention (Bahdanau's
``vᵀ tanh(W_q q + W_k k)`` score, as the course's sequence-to-sequence lessons use)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._random import as_generator
from ..autograd.ops.attention import _float_mask, attention_weights_op
from ..autograd.ops.linear import linear
from ..autograd.ops.math import softmax, tanh, where
from ..autograd.ops.reduce import mean
from ..autograd.ops.shape import expand_dims, getitem, reshape, squeeze, swapaxes, transpose
from ..autograd.tensor import Tensor
from ..backend import get_array_module, get_default_dtype
from . import init as _init
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention", "AdditiveAttention"]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class MultiheadAttention(Module):
    """Multi-head attention (PyTorch's nn.MultiheadAttention, parameters and masks included).

    ``head_i = softmax(Q W_qᵢ (K W_kᵢ)ᵀ / √d + mask) V W_vᵢ``, concatenated and projected by
    ``out_proj``; each head's scores and softmax run as one fused op.

    Args:
        embed_dim: model size E (split into ``num_heads`` heads of E / num_heads).
        num_heads: number of heads (must divide embed_dim).
        dropout: dropout on the attention weights (training only).
        bias: biases on the input and output projections.
        add_bias_kv, add_zero_attn: PyTorch's options, not supported (must be False).
        kdim, vdim: key and value sizes (default E); when they differ from E the projections
            are ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` instead of one
            ``in_proj_weight`` (3E, E).
        batch_first: inputs and outputs are (N, L, E) instead of (L, N, E).
        rng: a numpy Generator or int seed.

    Shape:
        query (L, N, E), key (S, N, kdim), value (S, N, vdim) -> output (L, N, E) and
        weights (N, L, S) averaged over heads, or (N, H, L, S); unbatched without N.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 rng: Any = None) -> None:
        super().__init__()
        if int(embed_dim) < 1 or int(num_heads) < 1 or int(embed_dim) % int(num_heads):
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive "
                             f"multiple of num_heads ({num_heads})")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        if add_bias_kv or add_zero_attn:
            raise ValueError("MultiheadAttention: add_bias_kv and add_zero_attn are not "
                             "supported")
        E = self.embed_dim = int(embed_dim)
        self.num_heads, self.head_dim = int(num_heads), E // int(num_heads)
        self.kdim, self.vdim = int(kdim or E), int(vdim or E)
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
        dt = get_default_dtype()
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(_init.empty((3 * E, E), dt))
        else:
            self.q_proj_weight = Parameter(_init.empty((E, E), dt))
            self.k_proj_weight = Parameter(_init.empty((E, self.kdim), dt))
            self.v_proj_weight = Parameter(_init.empty((E, self.vdim), dt))
        if bias:
            self.in_proj_bias = Parameter(_init.empty(3 * E, dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias)
        self.reset_parameters(rng)

    def reset_parameters(self, rng: Any = None) -> None:
        """PyTorch's: Xavier-uniform projections, zero biases, out_proj as nn.Linear."""
        gen = as_generator(rng)
        names = (["in_proj_weight"] if self._qkv_same_embed_dim
                 else ["q_proj_weight", "k_proj_weight", "v_proj_weight"])
        for n in names:
            _init.xavier_uniform_(self._parameters[n], rng=gen)
        self.out_proj.reset_parameters(gen)
        for b in (self.in_proj_bias, self.out_proj.bias):
            if b is not None:
                _init.zeros_(b)

    def _project(self, x: Tensor, k: int) -> Tensor:
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            W = getitem(self.in_proj_weight, slice(k * E, (k + 1) * E))
        else:
            W = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)[k]
        b = None if self.in_proj_bias is None else getitem(self.in_proj_bias,
                                                           slice(k * E, (k + 1) * E))
        return linear(x, W, b)

    def _heads(self, x: Tensor) -> Tensor:
        """(T, N, E) -> (N, H, T, head_dim)."""
        T, N, _ = x.shape
        return transpose(reshape(x, T, N, self.num_heads, self.head_dim), (1, 2, 0, 3))

    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False
                ) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value``.

        Args:
            key_padding_mask: (N, S): bool True marks keys to ignore (padding), or float
                added to the scores.
            need_weights: also return the attention weights.
            attn_mask: (L, S) or (N·num_heads, L, S): bool True marks pairs NOT allowed
                (PyTorch's MultiheadAttention convention), or float added.
            average_attn_weights: average the returned weights over the heads.
            is_causal: without ``attn_mask``, mask the keys after each query.

        Returns:
            (output, weights or None).
        """
        q, k, v = _t(query), _t(key), _t(value)
        batched = q.ndim == 3
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ValueError(f"MultiheadAttention: query, key and value must all be 3-D "
                             f"(batched) or 2-D, got {q.shape}, {k.shape}, {v.shape}")
        if not batched:
            q, k, v = (expand_dims(t, 1) for t in (q, k, v))
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(getattr(key_padding_mask, "data",
                                                      key_padding_mask))[None]
        elif self.batch_first:
            q, k, v = (swapaxes(t, 0, 1) for t in (q, k, v))
        L, N, E = q.shape
        S = k.shape[0]
        if E != self.embed_dim or k.shape[2] != self.kdim or v.shape[2] != self.vdim \
                or k.shape[:2] != (S, N) or tuple(v.shape[:2]) != (S, N):
            raise ValueError(f"MultiheadAttention: expected query (L, N, {self.embed_dim}), "
                             f"key (S, N, {self.kdim}), value (S, N, {self.vdim}); got "
                             f"{q.shape}, {k.shape}, {v.shape} (time-major)")
        mask = self._mask(key_padding_mask, attn_mask, is_causal, N, L, S, q)
        qh, kh, vh = (self._heads(self._project(t, i)) for i, t in enumerate((q, k, v)))
        p = self.dropout if self.training else 0.0
        out, w = attention_weights_op(qh, kh, vh, mask, None, p)
        out = reshape(transpose(out, (2, 0, 1, 3)), L, N, E)  # (N, H, L, d) -> (L, N, E)
        out = self.out_proj(out)
        if not batched:
            out, w = squeeze(out, 1), squeeze(w, 0)
        elif self.batch_first:
            out = swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        return out, (mean(w, axis=-3) if average_attn_weights else w)

    def _mask(self, kpm: Any, attn_mask: Any, is_causal: bool, N: int, L: int, S: int,
              q: Tensor) -> Any:
        """One additive float mask broadcastable to (N, H, L, S), or None."""
        xp, dt, H = get_array_module(q.data), q.dtype, self.num_heads
        mask = None
        if attn_mask is not None:
            a = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
            if a.shape not in ((L, S), (N * H, L, S)):
                raise ValueError(f"MultiheadAttention: attn_mask must be ({L}, {S}) or "
                                 f"({N * H}, {L}, {S}), got {a.shape}")
            mask = _float_mask(~a if a.dtype == bool else a, False, L, S, dt, xp)
            mask = mask.reshape(N, H, L, S) if mask.ndim == 3 else mask
        elif is_causal:
            mask = _float_mask(None, True, L, S, dt, xp)
        if kpm is not None:
            m = kpm.data if isinstance(kpm, Tensor) else xp.asarray(kpm)
            if m.shape != (N, S):
                raise ValueError(f"MultiheadAttention: key_padding_mask must be ({N}, {S}), "
                                 f"got {m.shape}")
            m = _float_mask(~m if m.dtype == bool else m, False, L, S, dt, xp)[:, None, None]
            mask = m if mask is None else mask + m
        return mask

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


class AdditiveAttention(Module):
    """Bahdanau's additive attention: ``score(q, k_j) = vᵀ tanh(W_q q + W_k k_j)``,
    ``weights = softmax_j(score)``, ``context = Σ_j weights_j · value_j``.

    Args:
        query_dim: size of each query (e.g. the decoder state).
        key_dim: size of each key (e.g. an encoder output).
        hidden_dim: size of the hidden scoring layer (default key_dim).
        rng: a numpy Generator or int seed.

    Shape:
        query (N, Dq) or (N, L, Dq), keys (N, S, Dk), values (N, S, Dv) (default: keys),
        mask (N, S) bool, True on valid keys (at least one per example) -> context
        (N, [L,] Dv), weights (N, [L,] S).
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int | None = None,
                 rng: Any = None) -> None:
        super().__init__()
        hidden = int(hidden_dim or key_dim)
        if min(int(query_dim), int(key_dim), hidden) < 1:
            raise ValueError("AdditiveAttention: query_dim, key_dim and hidden_dim must be >= 1")
        gen = as_generator(rng)
        self.query_dim, self.key_dim, self.hidden_dim = int(query_dim), int(key_dim), hidden
        self.query_proj = Linear(self.query_dim, hidden, bias=False, rng=gen)
        self.key_proj = Linear(self.key_dim, hidden, rng=gen)
        self.v = Parameter(_init.empty(hidden, get_default_dtype()))
        _init.uniform_(self.v, -1 / math.sqrt(hidden), 1 / math.sqrt(hidden), rng=gen)

    def forward(self, query: Any, keys: Any, values: Any = None,
                mask: Any = None) -> tuple[Tensor, Tensor]:
        q, k = _t(query), _t(keys)
        v = k if values is None else _t(values)
        single = q.ndim == 2
        if q.ndim not in (2, 3) or k.ndim != 3 or v.ndim != 3 or q.shape[0] != k.shape[0] \
                or v.shape[:2] != k.shape[:2] or q.shape[-1] != self.query_dim \
                or k.shape[-1] != self.key_dim:
            raise ValueError(f"AdditiveAttention: expected query (N, [L,] {self.query_dim}), "
                             f"keys (N, S, {self.key_dim}), values (N, S, Dv); got {q.shape}, "
                             f"{k.shape}, {v.shape}")
        if single:
            q = expand_dims(q, 1)
        hq = expand_dims(self.query_proj(q), 2)  # (N, L, 1, H)
        hk = expand_dims(self.key_proj(k), 1)  # (N, 1, S, H)
        scores = linear(tanh(hq + hk), expand_dims(self.v, 0))[..., 0]  # (N, L, S)
        if mask is not None:
            m = np.asarray(getattr(mask, "data", mask), dtype=bool)
            if m.shape != (k.shape[0], k.shape[1]):
                raise ValueError(f"AdditiveAttention: mask must be {(k.shape[0], k.shape[1])}, "
                                 f"got {m.shape}")
            xp = get_array_module(k.data)
            scores = where(xp.asarray(m[:, None, :]), scores, -np.inf)
        weights = softmax(scores, axis=-1)
        context = weights @ v  # (N, L, S) @ (N, S, Dv)
        if single:
            return squeeze(context, 1), squeeze(weights, 1)
        return context, weights

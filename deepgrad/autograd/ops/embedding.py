"""Embedding lookup as one fused op: a row gather with a scatter-add backward."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._config import no_grad
from ...backend import get_array_module, scatter_add
from ..function import Function
from ..tensor import Tensor

__all__ = ["embedding"]


class Embedding(Function):
    def __init__(self, indices: Any, padding_idx: int | None) -> None:
        self.indices = indices
        self.padding_idx = padding_idx

    def forward(self, weight: Any) -> Any:
        if self.requires_grad:
            self.shape = weight.shape
        return weight[self.indices]

    def backward(self, gy: Any) -> Any:
        # y = W[idx]  =>  gW[k] = sum of gy over the positions where idx == k
        xp = get_array_module(gy)
        gW = xp.zeros(self.shape, dtype=gy.dtype)
        scatter_add(gW, self.indices.reshape(-1), gy.reshape(-1, self.shape[1]))
        if self.padding_idx is not None:
            gW[self.padding_idx] = 0
        return gW


def _check_indices(indices: Any, num_embeddings: int) -> Any:
    idx = indices.data if isinstance(indices, Tensor) else indices
    xp = get_array_module(idx)
    idx = xp.asarray(idx)
    if idx.dtype.kind not in "iu":
        if idx.dtype.kind == "f" and idx.size and bool(xp.all(idx == xp.round(idx))):
            idx = idx.astype(np.int64)
        elif idx.size:
            raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
        else:
            idx = idx.astype(np.int64)
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= num_embeddings:
            raise ValueError(f"embedding: indices must be in [0, {num_embeddings - 1}] "
                             f"(num_embeddings={num_embeddings}), got values in [{lo}, {hi}]")
    return idx


def _renorm_(weight: Tensor, idx: Any, max_norm: float, norm_type: float) -> None:
    """Scale the referenced rows whose norm exceeds max_norm down to max_norm, in place."""
    xp = get_array_module(weight.data)
    rows = xp.unique(idx.reshape(-1))
    w = weight.data[rows]
    norms = xp.linalg.norm(w, ord=norm_type, axis=1) if norm_type != 2 else \
        xp.sqrt((w * w).sum(axis=1))
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    weight.data[rows] = w * scale[:, None]


def embedding(input: Any, weight: Any, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0) -> Tensor:
    """Look up rows of ``weight`` (PyTorch's ``F.embedding``, argument order included).

    Args:
        input: integer indices (a Tensor or array), any shape.
        weight: the embedding matrix (num_embeddings, embedding_dim).
        padding_idx: a row that receives no gradient (negative counts from the end).
        max_norm: if given, the rows looked up are first renormalized in place to at most
            this ``norm_type``-norm (as PyTorch; this modifies ``weight``).
        norm_type: the p of the p-norm for ``max_norm``.

    Shape:
        input (*) -> output (*, embedding_dim).
    """
    if not isinstance(weight, Tensor):
        weight = Tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {weight.shape}")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= int(padding_idx) < num:
            raise ValueError(f"embedding: padding_idx must be in [-{num}, {num - 1}], "
                             f"got {padding_idx}")
        padding_idx = int(padding_idx) % num
    idx = get_array_module(weight.data).asarray(_check_indices(input, num))  # weight's device
    if max_norm is not None:
        with no_grad():
            _renorm_(weight, idx, float(max_norm), float(norm_type))
    return Embedding(idx, padding_idx)(weight)

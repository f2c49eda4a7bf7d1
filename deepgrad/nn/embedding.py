"""Embedding: a lookup table of learned vectors, one per token index (PyTorch's API)."""

from __future__ import annotations

from typing import Any

from .._random import as_generator
from ..autograd.ops.embedding import embedding
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from . import init as _init
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, indexed by integers.

    Initialized from N(0, 1) as PyTorch, with the ``padding_idx`` row (if any) set to zero;
    that row then receives no gradient.

    Args:
        num_embeddings: vocabulary size.
        embedding_dim: size of each vector.
        padding_idx: index of the padding token (negative counts from the end), or None.
        max_norm: renormalize looked-up rows to at most this norm (in place, as PyTorch).
        norm_type: p of the p-norm for ``max_norm``.
        rng: a numpy Generator or int seed for the initialization.

    Shape:
        input (*) integer indices -> output (*, embedding_dim); ``weight``
        (num_embeddings, embedding_dim).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 rng: Any = None) -> None:
        super().__init__()
        if int(num_embeddings) < 1 or int(embedding_dim) < 1:
            raise ValueError(f"Embedding: num_embeddings and embedding_dim must be >= 1, got "
                             f"{num_embeddings}, {embedding_dim}")
        n = int(num_embeddings)
        if padding_idx is not None:
            if not -n <= int(padding_idx) < n:
                raise ValueError(f"Embedding: padding_idx must be in [-{n}, {n - 1}], "
                                 f"got {padding_idx}")
            padding_idx = int(padding_idx) % n
        if max_norm is not None and not float(max_norm) > 0:
            raise ValueError(f"Embedding: max_norm must be positive, got {max_norm}")
        self.num_embeddings, self.embedding_dim = n, int(embedding_dim)
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.weight = Parameter(_init.empty((n, self.embedding_dim), get_default_dtype()))
        self.reset_parameters(rng)

    def reset_parameters(self, rng: Any = None) -> None:
        """Draw the weight from N(0, 1) and zero the padding row."""
        _init.normal_(self.weight, rng=as_generator(rng))
        if self.padding_idx is not None and not _init.is_placeholder(self.weight.data):
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0) -> Embedding:
        """An Embedding holding a copy of ``embeddings`` (2-D); frozen unless ``freeze=False``."""
        data = embeddings.data if isinstance(embeddings, Tensor) else embeddings
        if getattr(data, "ndim", 0) != 2:
            raise ValueError("Embedding.from_pretrained: embeddings must be 2-D")
        layer = cls(data.shape[0], data.shape[1], padding_idx, max_norm, norm_type)
        layer.weight.data = data.copy().astype(layer.weight.dtype) if data.dtype.kind != "f" \
            else data.copy()
        layer.weight.requires_grad = not freeze
        return layer

    def forward(self, input: Any) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s

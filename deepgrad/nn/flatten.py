"""Flatten: merge the feature axes of a batch into one."""

from __future__ import annotations

from ..autograd.ops.shape import flatten
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Flatten axes ``start_dim..end_dim`` (by default all but the batch axis).

    Shape:
        input (N, d1, d2, ...) -> output (N, d1·d2·...)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim <= self.start_dim:
            raise ValueError(f"{self!r}: expected input with more than {self.start_dim} "
                             f"dimensions, got shape {tuple(x.shape)}")
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

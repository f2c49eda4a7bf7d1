"""Flatten and Unflatten: merge axes of a batch into one, or split one into several."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd.ops.shape import flatten, reshape
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["Flatten", "Unflatten"]


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


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (the inverse of ``Flatten``), as
    ``torch.nn.Unflatten``; one size may be -1 (inferred).

    Args:
        dim: the dimension to split (negative counts from the end).
        unflattened_size: the new sizes, whose product is the size of ``dim``.

    Shape:
        input (*, S, *) with S at ``dim`` -> output (*, *unflattened_size, *)
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if isinstance(unflattened_size, int) or not all(
                isinstance(s, int | np.integer) for s in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple or list of ints, "
                            f"got {unflattened_size!r}")
        sizes = tuple(int(s) for s in unflattened_size)
        if not sizes or sum(s == -1 for s in sizes) > 1 or any(s < -1 for s in sizes):
            raise ValueError(f"Unflatten: unflattened_size must be non-empty, sizes >= 0 with "
                             f"at most one -1, got {unflattened_size!r}")
        self.dim = int(dim)
        self.unflattened_size = sizes

    def forward(self, x: Tensor) -> Tensor:
        shape = tuple(x.shape)
        if not -len(shape) <= self.dim < len(shape):
            raise ValueError(f"{self!r}: dim {self.dim} is out of range for input of shape "
                             f"{shape}")
        d = self.dim % len(shape)
        sizes, n = self.unflattened_size, shape[d]
        known = int(np.prod([s for s in sizes if s != -1]))
        if -1 in sizes:
            if known == 0 or n % known:
                raise ValueError(f"{self!r}: cannot split size {n} of dimension {d} of input "
                                 f"shape {shape} into {sizes}")
            sizes = tuple(n // known if s == -1 else s for s in sizes)
        elif known != n:
            raise ValueError(f"{self!r}: unflattened_size {sizes} has {known} elements but "
                             f"dimension {d} of input shape {shape} has size {n}")
        return reshape(x, shape[:d] + sizes + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

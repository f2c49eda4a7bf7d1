"""Dropout layers (inverted dropout, identity in eval mode): elementwise and per channel."""

from __future__ import annotations

from typing import Any

from .._random import as_generator
from ..autograd.ops.dropout import dropout, dropout2d
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class Dropout(Module):
    """Zero each input element with probability ``p`` during training and scale the rest
    by 1/(1 - p) (the course's inverted dropout); the identity in eval mode.

    Args:
        p: drop probability in [0, 1] (the course's ``1 - keep_prob``).
        rng: a numpy Generator or int seed giving the masks; None draws from the default
            generator at each call, so ``deepgrad.manual_seed(n)`` makes a run repeat.

    Shape:
        input (*) -> output (*), same shape.
    """

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        super().__init__()
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        object.__setattr__(self, "_rng", None if rng is None else as_generator(rng))

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training, self._rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Module):
    """Zero whole channels with probability ``p`` during training (one draw per example and
    channel) and scale the rest by 1/(1 - p); the identity in eval mode. For convolutional
    features, whose neighbouring positions are correlated (PyTorch's ``nn.Dropout2d``).

    Args:
        p: drop probability in [0, 1].
        rng: a numpy Generator or int seed giving the masks; None draws from the default
            generator at each call.

    Shape:
        (N, C, H, W) or unbatched (C, H, W) -> same shape.
    """

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        super().__init__()
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: p must be in [0, 1], got {p}")
        self.p = p
        object.__setattr__(self, "_rng", None if rng is None else as_generator(rng))

    def forward(self, x: Tensor) -> Tensor:
        return dropout2d(x, self.p, self.training, self._rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"

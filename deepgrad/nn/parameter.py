"""Parameter: a tensor a Module owns and an optimizer updates."""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True``, registered by the Module it is set on.

    Example:
        >>> self.weight = Parameter(np.zeros((3, 4), np.float32))
    """

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

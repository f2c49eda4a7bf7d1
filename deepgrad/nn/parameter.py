"""Parameter: a tensor a Module owns and an optimizer updates."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from .init import init_skipped, is_placeholder, placeholder

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True``, registered by the Module it is set on.

    Inside ``deepgrad.nn.init.skip_init()`` an array given as ``data`` is replaced by a
    placeholder of its shape and dtype (no memory), whatever the layer allocated.

    Example:
        >>> self.weight = Parameter(np.zeros((3, 4), np.float32))
    """

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        arr = data.data if isinstance(data, Tensor) else data
        if init_skipped() and isinstance(arr, np.ndarray) and not is_placeholder(arr):
            data = placeholder(arr.shape, arr.dtype if dtype is None else dtype)
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

"""The autograd engine: Tensor, Function, and the differentiable operations."""

from __future__ import annotations

from . import ops
from .function import Function
from .ops import *  # noqa: F403
from .ops import __all__ as _ops_all
from .tensor import Tensor, tensor

__all__ = ["Tensor", "tensor", "Function", "ops", *_ops_all]

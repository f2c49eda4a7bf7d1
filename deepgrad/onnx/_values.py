"""Values flowing through an imported ONNX graph, and the attributes of its nodes.

A value is a deepgrad ``Tensor`` (data that may carry gradients) or a NumPy array (a
constant: initializers that feed shapes, shape arithmetic, indices). An operator whose
inputs are all constants returns a constant, so shape computations fold at import time and
stay constants at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor

__all__ = ["Attrs", "is_const", "data", "ints", "as_tensor", "lift"]


class Attrs:
    """A node's attributes with the operator's defaults, and the model's opset version."""

    def __init__(self, values: dict[str, Any], opset: int, op_type: str = "") -> None:
        self.values = values
        self.opset = opset
        self.op_type = op_type

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self.values


def is_const(v: Any) -> bool:
    """True for a constant (a NumPy array), False for a Tensor."""
    return isinstance(v, np.ndarray)


def data(v: Any) -> Any:
    """The raw array of a value."""
    return v.data if isinstance(v, Tensor) else v


def ints(v: Any) -> list[int]:
    """A 0-d or 1-d integer value as Python ints (shapes, axes, indices)."""
    a = np.asarray(data(v)) if not hasattr(data(v), "get") else data(v).get()
    return [int(i) for i in np.asarray(a).reshape(-1)]


def as_tensor(v: Any) -> Tensor:
    return v if isinstance(v, Tensor) else Tensor(v)


def lift(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` on tensors; if every input was a constant, return constants again."""

    def run(*vs: Any) -> Any:
        out = fn(*[as_tensor(v) if v is not None else None for v in vs])
        if all(v is None or is_const(v) for v in vs):
            return tuple(np.asarray(o.data) for o in out) if isinstance(out, tuple) \
                else np.asarray(out.data)
        return out

    return run

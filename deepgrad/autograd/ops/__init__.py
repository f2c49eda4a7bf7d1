"""Differentiable operations, one module per theme, and the Tensor methods built on them."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .arith import add, div, mul, neg, pow, sub
from .creation import (
    arange,
    empty,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    zeros,
    zeros_like,
)
from .index import argmax, argmin, masked_fill
from .linalg import matmul
from .math import (
    abs,
    cast,
    clamp,
    clip,
    exp,
    leaky_relu,
    log,
    log1p,
    log_softmax,
    maximum,
    minimum,
    relu,
    sigmoid,
    softmax,
    sqrt,
    square,
    tanh,
    where,
)
from .reduce import logsumexp, max, mean, min, std, sum, var
from .shape import (
    broadcast_to,
    cat,
    concatenate,
    expand_dims,
    flatten,
    getitem,
    pad,
    permute,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
    view,
)
from .tiling import chunk, expand, repeat, split

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul",
    "exp", "log", "log1p", "sqrt", "square", "abs", "maximum", "minimum", "clip", "where",
    "tanh", "sigmoid", "relu", "leaky_relu", "softmax", "log_softmax", "cast",
    "sum", "mean", "max", "min", "var", "std", "logsumexp",
    "reshape", "transpose", "swapaxes", "permute", "flatten", "getitem", "concatenate",
    "stack", "pad", "broadcast_to", "expand_dims", "squeeze",
    "clamp", "cat", "view", "unsqueeze", "split", "chunk", "expand", "repeat", "masked_fill",
    "argmax", "argmin", "zeros", "ones", "full", "empty", "arange", "linspace", "eye", "rand",
    "randn", "randint", "zeros_like", "ones_like", "full_like",
]


def _install_tensor_methods() -> None:
    """Give Tensor its operators and NumPy-style methods (done once, at import)."""

    def rsub(self: Tensor, other: Any) -> Tensor:
        return sub(other, self)

    def rdiv(self: Tensor, other: Any) -> Tensor:
        return div(other, self)

    def rpow(self: Tensor, other: Any) -> Tensor:
        return pow(other, self)

    def rmatmul(self: Tensor, other: Any) -> Tensor:
        return matmul(other, self)

    def t_reshape(self: Tensor, *shape: Any) -> Tensor:
        return reshape(self, *shape)

    def t_transpose(self: Tensor, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        if len(axes) == 2:  # x.transpose(dim0, dim1) swaps two axes, as in PyTorch
            return swapaxes(self, *axes)
        return transpose(self, axes if axes else None)

    def t_view(self: Tensor, *shape: Any) -> Tensor:
        return view(self, *shape)

    def t_expand(self: Tensor, *sizes: Any) -> Tensor:
        return expand(self, *sizes)

    def t_repeat(self: Tensor, *sizes: Any) -> Tensor:
        return repeat(self, *sizes)

    ops: dict[str, Any] = {
        "__add__": add,
        "__radd__": lambda self, o: add(o, self),
        "__sub__": sub,
        "__rsub__": rsub,
        "__mul__": mul,
        "__rmul__": lambda self, o: mul(o, self),
        "__truediv__": div,
        "__rtruediv__": rdiv,
        "__pow__": pow,
        "__rpow__": rpow,
        "__neg__": neg,
        "__pos__": lambda self: self,
        "__abs__": abs,
        "__matmul__": matmul,
        "__rmatmul__": rmatmul,
        "__getitem__": getitem,
        "reshape": t_reshape,
        "transpose": t_transpose,
        "permute": permute,
        "swapaxes": swapaxes,
        "flatten": flatten,
        "broadcast_to": broadcast_to,
        "expand_dims": expand_dims,
        "squeeze": squeeze,
        "sum": sum,
        "mean": mean,
        "max": max,
        "min": min,
        "var": var,
        "std": std,
        "logsumexp": logsumexp,
        "exp": exp,
        "log": log,
        "log1p": log1p,
        "sqrt": sqrt,
        "square": square,
        "abs": abs,
        "clip": clip,
        "tanh": tanh,
        "sigmoid": sigmoid,
        "relu": relu,
        "leaky_relu": leaky_relu,
        "softmax": softmax,
        "log_softmax": log_softmax,
        "matmul": matmul,
        "view": t_view,
        "unsqueeze": unsqueeze,
        "expand": t_expand,
        "repeat": t_repeat,
        "split": split,
        "chunk": chunk,
        "masked_fill": masked_fill,
        "argmax": argmax,
        "argmin": argmin,
        "clamp": clamp,
    }
    for name, fn in ops.items():
        setattr(Tensor, name, fn)


_install_tensor_methods()

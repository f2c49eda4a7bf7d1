"""deepgrad: a small, fast deep learning framework on NumPy (CuPy on a GPU).

Importing deepgrad imports NumPy and nothing optional, and has no side effects.
"""

from __future__ import annotations

from . import backend, callbacks, data, io, losses, metrics, nn, onnx, optim, train  # noqa: I001
from ._config import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ._random import manual_seed
from ._threads import get_num_threads, set_num_threads
from .autograd import Function, Tensor, tensor
from .autograd.ops import (
    abs,
    add,
    arange,
    argmax,
    argmin,
    broadcast_to,
    cast,
    cat,
    chunk,
    clamp,
    clip,
    concatenate,
    div,
    empty,
    exp,
    expand,
    expand_dims,
    eye,
    flatten,
    full,
    full_like,
    getitem,
    leaky_relu,
    linspace,
    log,
    log1p,
    log_softmax,
    logsumexp,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    ones,
    ones_like,
    pad,
    permute,
    pow,
    rand,
    randint,
    randn,
    relu,
    repeat,
    reshape,
    sigmoid,
    softmax,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    tanh,
    transpose,
    unsqueeze,
    var,
    view,
    where,
    zeros,
    zeros_like,
)
from .backend import default_dtype, get_default_dtype, set_default_dtype
from .io import load, save
from .nn.symbolic import Input
from .testing import gradcheck, gradcheck_directional
from .train import Model, compile_step

__version__ = "0.1.0"

__all__ = [
    "Function", "Tensor", "tensor", "backend", "testing",
    "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
    "get_default_dtype", "set_default_dtype", "default_dtype",
    "gradcheck", "gradcheck_directional", "manual_seed", "set_num_threads", "get_num_threads",
    "nn", "onnx", "optim", "losses", "data", "metrics", "callbacks", "io", "train", "save", "load",
    "Model", "Input", "compile_step",
    "add", "sub", "mul", "div", "neg", "pow", "matmul",
    "exp", "log", "log1p", "sqrt", "square", "abs", "maximum", "minimum", "clip", "where",
    "tanh", "sigmoid", "relu", "leaky_relu", "softmax", "log_softmax", "cast",
    "sum", "mean", "max", "min", "var", "std", "logsumexp",
    "reshape", "transpose", "swapaxes", "permute", "flatten", "getitem", "concatenate",
    "stack", "pad", "broadcast_to", "expand_dims", "squeeze",
    "inference_mode", "clamp", "cat", "view", "unsqueeze", "split", "chunk", "expand", "repeat",
    "masked_fill", "argmax", "argmin", "zeros", "ones", "full", "empty", "arange", "linspace",
    "eye", "rand", "randn", "randint", "zeros_like", "ones_like", "full_like",
]

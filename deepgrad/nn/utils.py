"""PyTorch's ``torch.nn.utils`` helpers: gradient clipping and flat parameter vectors.

``clip_grad_norm_`` and ``clip_grad_value_`` share their arithmetic with
``deepgrad.optim`` (whose ``clip_grad_norm_`` returns a float; this one returns a 0-d
tensor, as PyTorch's does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import grad_clip
from ..autograd.ops.shape import concatenate, reshape
from ..autograd.tensor import Tensor
from ..backend import get_array_module, get_default_dtype
from . import utils_rnn as rnn  # torch.nn.utils.rnn: pack_padded_sequence, ... (issue 17)

__all__ = [
    "clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters",
    "rnn",
]


def _as_list(parameters: Any) -> list[Any]:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients in place so that their total norm is at most ``max_norm``.

    Every gradient is multiplied by ``min(1, max_norm / (total_norm + 1e-6))``, as in
    PyTorch; parameters whose ``grad`` is None are skipped.

    Args:
        parameters: a tensor or an iterable of tensors (e.g. ``model.parameters()``).
        max_norm: the largest total norm allowed.
        norm_type: the p of the p-norm (``float('inf')`` for the max norm).
        error_if_nonfinite: raise RuntimeError when the total norm is nan or inf.

    Returns:
        The total norm of the gradients before clipping, as a 0-d tensor (in the
        gradients' dtype; the default dtype when there are none).
    """
    params = _as_list(parameters)
    grads = grad_clip.grad_arrays(params)
    total = grad_clip.clip_grad_norm_(params, max_norm, norm_type, error_if_nonfinite)
    dtype = grads[0].dtype if grads else get_default_dtype()
    xp = get_array_module(*grads) if grads else np
    return Tensor._wrap(xp.asarray(total, dtype=dtype))


def clip_grad_value_(parameters: Any, clip_value: float) -> None:
    """Clip every gradient in place to ``[-clip_value, clip_value]``.

    Args:
        parameters: a tensor or an iterable of tensors.
        clip_value: the largest absolute value a gradient element may keep.
    """
    grad_clip.clip_grad_value_(_as_list(parameters), clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one vector (differentiable).

    Args:
        parameters: an iterable of tensors (e.g. ``model.parameters()``).

    Shape:
        output: (total number of elements,).
    """
    params = _as_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters_to_vector: item {i} is a {type(p).__name__}, "
                            f"expected a tensor")
    return concatenate([reshape(p, (-1,)) for p in params], axis=0)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, in place (each keeps its
    dtype and its array, so optimizers holding it see the new values).

    Args:
        vec: a 1-d tensor with as many elements as all parameters together.
        parameters: an iterable of tensors.

    Shape:
        vec: (total number of elements,).
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: vec must be a Tensor, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-d, got shape {vec.shape}")
    params = _as_list(parameters)
    total = sum(p.size for p in params)
    if total != vec.size:
        raise ValueError(f"vector_to_parameters: vec has {vec.size} elements, the parameters "
                         f"{total}")
    data = vec.data
    pos = 0
    for p in params:
        n = p.size
        p.data[...] = data[pos:pos + n].reshape(p.shape).astype(p.dtype, copy=False)
        pos += n

"""Activation layers (modules around the activation functions) and ``get_activation``.

The functional forms are in ``deepgrad.nn.functional`` (``relu``, ``gelu``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.ops.activations import elu, gelu, hardtanh, silu, softplus
from ..autograd.ops.activations_extra import hardsigmoid, hardswish, mish, prelu, relu6
from ..autograd.ops.math import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from .module import Module
from .parameter import Parameter

__all__ = [
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Identity", "Softmax", "LogSoftmax", "ELU",
    "GELU", "SiLU", "Softplus", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Mish",
    "PReLU", "get_activation", "ACTIVATIONS",
]


class Sigmoid(Module):
    """Elementwise logistic function 1 / (1 + e^-x), stable for any finite x.

    Shape:
        input (*) -> output (*), same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return sigmoid(x)


class Tanh(Module):
    """Elementwise hyperbolic tangent.

    Shape:
        input (*) -> output (*), same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


class ReLU(Module):
    """Elementwise max(x, 0).

    Shape:
        input (*) -> output (*), same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return relu(x)


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope`` · x otherwise.

    Shape:
        input (*) -> output (*), same shape.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Identity(Module):
    """Returns its input unchanged (the course's "linear" activation).

    Shape:
        input (*) -> output (*), same tensor.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class _AxisActivation(Module):
    _fn: Callable[..., Tensor]

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = int(dim)

    def forward(self, x: Tensor) -> Tensor:
        if not -x.ndim <= self.dim < max(x.ndim, 1):
            raise ValueError(f"{self!r}: dim {self.dim} is out of range for input of shape "
                             f"{tuple(x.shape)}")
        return type(self)._fn(x, axis=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AxisActivation):
    """exp(x) / Σ exp(x) along ``dim`` (max-shifted, never overflows).

    Shape:
        input (*) -> output (*), summing to 1 along ``dim``.
    """

    _fn = staticmethod(softmax)


class LogSoftmax(_AxisActivation):
    """log(softmax(x)) along ``dim``, computed as x - logsumexp(x).

    Shape:
        input (*) -> output (*), same shape.
    """

    _fn = staticmethod(log_softmax)


class ELU(Module):
    """x for x > 0, ``alpha`` (e^x - 1) otherwise.

    Shape:
        input (*) -> output (*), same shape.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: Tensor) -> Tensor:
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """x Φ(x) with Φ the standard normal CDF (exact, erf-based), or the tanh
    approximation with ``approximate="tanh"``.

    Shape:
        input (*) -> output (*), same shape.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x · sigmoid(x) (swish).

    Shape:
        input (*) -> output (*), same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return silu(x)


class Softplus(Module):
    """(1/beta) log(1 + e^(beta x)), linear where beta x > threshold.

    Shape:
        input (*) -> output (*), same shape.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        if beta <= 0:
            raise ValueError(f"Softplus: beta must be > 0, got {beta}")
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, x: Tensor) -> Tensor:
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clipped to [min_val, max_val].

    Shape:
        input (*) -> output (*), same shape.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        if not min_val < max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must be < max_val ({max_val})")
        self.min_val, self.max_val = float(min_val), float(max_val)

    def forward(self, x: Tensor) -> Tensor:
        return hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Module):
    """Elementwise min(max(x, 0), 6) (MobileNet's).

    Shape:
        input (*) -> output (*), same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return relu6(x)


class Hardsigmoid(Module):
    """Elementwise relu6(x + 3) / 6, a piecewise-linear sigmoid.

    Shape:
        input (*) -> output (*), same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return hardsigmoid(x)


class Hardswish(Module):
    """Elementwise x · relu6(x + 3) / 6 (MobileNetV3's).

    Shape:
        input (*) -> output (*), same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return hardswish(x)


class Mish(Module):
    """Elementwise x · tanh(softplus(x)).

    Shape:
        input (*) -> output (*), same shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return mish(x)


class PReLU(Module):
    """max(0, x) + a · min(0, x) with a learned slope ``a`` (``weight``), one for all
    channels or one per channel (dimension 1), as ``torch.nn.PReLU``.

    Args:
        num_parameters: 1, or C to learn a slope per channel.
        init: the initial slope.

    Shape:
        input (N, C, *) (or any shape with ``num_parameters=1``) -> output, same shape;
        weight: (num_parameters,).
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        if int(num_parameters) < 1:
            raise ValueError(f"PReLU: num_parameters must be >= 1, got {num_parameters}")
        self.num_parameters = int(num_parameters)
        self.init = float(init)
        self.weight = Parameter(np.full(self.num_parameters, self.init, get_default_dtype()))

    def reset_parameters(self, rng: Any = None) -> None:
        """Every slope back to ``init``."""
        self.weight.data[...] = self.init

    def forward(self, x: Tensor) -> Tensor:
        return prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


ACTIVATIONS: dict[str, type[Module]] = {
    "linear": Identity, "identity": Identity, "none": Identity,
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU,
    "softmax": Softmax, "log_softmax": LogSoftmax, "elu": ELU, "gelu": GELU,
    "silu": SiLU, "swish": SiLU, "softplus": Softplus, "hardtanh": Hardtanh,
    "relu6": ReLU6, "hard_sigmoid": Hardsigmoid, "hardsigmoid": Hardsigmoid,
    "hard_swish": Hardswish, "hardswish": Hardswish, "mish": Mish, "prelu": PReLU,
}


def get_activation(spec: Any) -> Module | Callable[[Tensor], Tensor]:
    """An activation from a name ("relu", "sigmoid", "linear", ...), None (identity), a
    Module class or instance, or any callable on tensors (returned as is).

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if spec is None:
        return Identity()
    if isinstance(spec, str):
        key = spec.lower()
        if key not in ACTIVATIONS:
            raise ValueError(f"unknown activation {spec!r}; valid names: "
                             + ", ".join(sorted(ACTIVATIONS)))
        return ACTIVATIONS[key]()
    if isinstance(spec, type) and issubclass(spec, Module):
        return spec()
    if callable(spec):
        return spec
    raise TypeError(f"activation must be a name, a Module or a callable, got {spec!r}")

"""Dense layers: Linear (PyTorch) and Dense (Keras / the course, input size inferred)."""

from __future__ import annotations

from typing import Any

from .._random import as_generator
from ..autograd.ops.linear import linear
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from . import init as _init
from .module import Module
from .parameter import Parameter

__all__ = ["Linear", "Dense"]


def _check_features(layer: Module, x: Any, expected: int) -> None:
    shape = tuple(x.shape)
    if len(shape) < 1 or shape[-1] != expected:
        raise ValueError(
            f"{layer!r}: expected input with last dimension {expected}, got shape {shape}"
        )


class Linear(Module):
    """Fully connected layer ``y = x Wᵀ + b`` (the course's ``Z = W A + b``, batch first).

    Args:
        in_features: size of each input example (the course's n[l-1]).
        out_features: number of units (n[l]).
        bias: whether to learn ``b``.
        init: None for PyTorch's default (weight ``kaiming_uniform_(a=√5)``, i.e.
            U(±1/√in), and bias U(±1/√in)); or an initializer name ("he_normal",
            "xavier_uniform", "small_random", ...) or callable ``fn(weight, rng=...)`` for
            the weight, with the bias then set to zero.
        rng: a numpy Generator or int seed for the initialization.

    Shape:
        input (..., in_features) -> output (..., out_features); ``weight`` is
        (out_features, in_features) — the course's W[l] — and ``bias`` (out_features,).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: Any = None, rng: Any = None) -> None:
        super().__init__()
        if int(in_features) < 1 or int(out_features) < 1:
            raise ValueError(f"Linear: in_features and out_features must be >= 1, got "
                             f"{in_features}, {out_features}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = init
        dt = get_default_dtype()
        self.weight = Parameter(_init.empty((self.out_features, self.in_features), dt))
        if bias:
            self.bias = Parameter(_init.empty(self.out_features, dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng: Any = None) -> None:
        """(Re)initialize weight and bias from ``rng`` (see ``init``)."""
        _init.reset_layer_(self.weight, self.bias, self.init, rng)

    def forward(self, x: Tensor) -> Tensor:
        _check_features(self, x, self.in_features)
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Dense(Module):
    """Keras-style dense layer: ``activation(x Wᵀ + b)``; the input size may be inferred.

    The parameters exist once the input size is known: at construction when
    ``input_dim`` is given, else at the first call. Build the model (call it once, or
    ``summary``) before giving its parameters to an optimizer; ``fit`` does this itself.

    Args:
        units: number of units (n[l]).
        activation: None/"linear", "relu", "tanh", "sigmoid", "softmax", "leaky_relu", ...
        use_bias: whether to learn a bias.
        input_dim: size of each input example, if known.
        kernel_initializer: "glorot_uniform" (Keras's default), "he_normal",
            "small_random" (the course's randn·0.01), "lecun_normal", ... or a callable.
        bias_initializer: "zeros" (default) or another initializer name.
        rng: a numpy Generator or int seed.

    Shape:
        input (..., input_dim) -> output (..., units); ``weight`` (units, input_dim).
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 input_dim: int | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", rng: Any = None) -> None:
        super().__init__()
        from .activation import get_activation

        if int(units) < 1:
            raise ValueError(f"Dense: units must be >= 1, got {units}")
        self.units = int(units)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        act = get_activation(activation)
        object.__setattr__(self, "_act", act)
        self.activation_name = (activation if isinstance(activation, str) or activation is None
                                else type(activation).__name__.lower())
        self._rng = rng
        self._dtype_at_init = get_default_dtype()
        self.in_features: int | None = None
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        if input_dim is not None:
            self.build(int(input_dim))

    def build(self, in_features: int) -> None:
        """Create the parameters for inputs of size ``in_features``."""
        if in_features < 1:
            raise ValueError(f"Dense: input size must be >= 1, got {in_features}")
        self.in_features = in_features
        dt = self._dtype_at_init
        gen = as_generator(self._rng)
        self.weight = Parameter(_init.empty((self.units, in_features), dt))
        _init.get_initializer(self.kernel_initializer)(self.weight, rng=gen)
        if self.use_bias:
            self.bias = Parameter(_init.empty(self.units, dt))
            _init.get_initializer(self.bias_initializer)(self.bias, rng=gen)

    def get_config(self) -> dict[str, Any]:
        act = self.activation_name
        return {"units": self.units, "activation": act, "use_bias": self.use_bias,
                "input_dim": self.in_features}

    def forward_pre_activation(self, x: Tensor) -> Tensor:
        """``x Wᵀ + b`` without the activation (the logits, for fused losses)."""
        if self.in_features is None:
            if not x.shape:
                raise ValueError(f"{self!r}: expected input with a feature axis, got a scalar")
            self.build(int(x.shape[-1]))
        _check_features(self, x, self.in_features)  # type: ignore[arg-type]
        return linear(x, self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self._act(self.forward_pre_activation(x))

    def extra_repr(self) -> str:
        ind = self.in_features if self.in_features is not None else "?"
        return f"units={self.units}, input_dim={ind}, activation={self.activation_name}"

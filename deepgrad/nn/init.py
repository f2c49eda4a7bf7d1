"""Weight initializers, in place on a tensor's data, drawing from a numpy Generator.

Names and formulas follow ``torch.nn.init``; the course's ``small_random_`` (randn * 0.01)
and Keras's names ("glorot_uniform", "he_normal", ...) are available through
:func:`get_initializer`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .._random import as_generator
from ..autograd.tensor import Tensor
from ..backend import get_array_module, get_default_dtype

__all__ = [
    "calculate_gain", "zeros_", "ones_", "constant_", "uniform_", "normal_", "small_random_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "lecun_uniform_", "lecun_normal_", "get_initializer", "INITIALIZERS", "reset_layer_",
    "skip_init", "init_skipped", "placeholder", "is_placeholder", "empty", "zeros", "ones",
]

_SKIP: contextvars.ContextVar[bool] = contextvars.ContextVar("deepgrad_skip_init", default=False)
# the one-element arrays behind the placeholders, by id (entries vanish with the arrays)
_PLACEHOLDER_BASES: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


@contextlib.contextmanager
def skip_init(enabled: bool = True) -> Iterator[None]:
    """Build layers without allocating or initializing their parameters (a "meta" build).

    Inside the block, the parameters and buffers that layers create (through
    :func:`empty`, :func:`zeros`, :func:`ones`, ``Parameter(array)`` or ``register_buffer``)
    are placeholders of the right shape and dtype that take no memory, and this module's
    initializers do nothing. ``deepgrad.load`` builds a file's architecture this way to
    check it against the stored arrays before allocating; it then gives each placeholder
    its storage by assigning ``tensor.data``. ``skip_init(False)`` allocates again inside
    an outer block.

    Example:
        >>> with skip_init():
        ...     layer = Linear(20000, 60000)  # no memory used, no random numbers drawn
        >>> layer.weight.shape, is_placeholder(layer.weight)
        ((60000, 20000), True)
    """
    token = _SKIP.set(bool(enabled))
    try:
        yield
    finally:
        _SKIP.reset(token)


def init_skipped() -> bool:
    """Whether the calling code runs inside :func:`skip_init`."""
    return _SKIP.get()


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    return tuple(int(n) for n in shape)


def placeholder(shape: int | Sequence[int], dtype: Any = None) -> np.ndarray:
    """An array of ``shape`` whose elements all share one value in memory (zero strides).

    It stands for a parameter not yet allocated: it takes ``itemsize`` bytes whatever its
    shape, and writes to it go to that one element.
    """
    one = np.zeros(1, dtype=get_default_dtype() if dtype is None else dtype)
    shape = _shape(shape)
    out = np.ndarray(shape, dtype=one.dtype, buffer=one, strides=(0,) * len(shape))
    _PLACEHOLDER_BASES[id(one)] = one
    return out


def is_placeholder(x: Any) -> bool:
    """Whether ``x`` (an array or a Tensor) is, or is a view of, a :func:`placeholder`."""
    a = x.data if isinstance(x, Tensor) else x
    while isinstance(a, np.ndarray):
        if _PLACEHOLDER_BASES.get(id(a)) is a:
            return True
        a = a.base
    return False


def empty(shape: int | Sequence[int], dtype: Any = None) -> np.ndarray:
    """``np.empty`` for a new parameter or buffer: a placeholder inside :func:`skip_init`."""
    if _SKIP.get():
        return placeholder(shape, dtype)
    return np.empty(_shape(shape), dtype=get_default_dtype() if dtype is None else dtype)


def zeros(shape: int | Sequence[int], dtype: Any = None) -> np.ndarray:
    """``np.zeros`` for a new parameter or buffer: a placeholder inside :func:`skip_init`."""
    if _SKIP.get():
        return placeholder(shape, dtype)
    return np.zeros(_shape(shape), dtype=get_default_dtype() if dtype is None else dtype)


def ones(shape: int | Sequence[int], dtype: Any = None) -> np.ndarray:
    """``np.ones`` for a new parameter or buffer: a placeholder inside :func:`skip_init`."""
    if _SKIP.get():
        return placeholder(shape, dtype)
    return np.ones(_shape(shape), dtype=get_default_dtype() if dtype is None else dtype)


def _skippable(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Make an in-place initializer do nothing inside :func:`skip_init`."""

    @functools.wraps(fn)
    def wrapper(tensor: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return tensor if _SKIP.get() else fn(tensor, *args, **kwargs)

    return wrapper


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    xp = get_array_module(tensor.data)
    tensor.data[...] = xp.asarray(values.astype(tensor.dtype, copy=False))
    return tensor


def _fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """PyTorch's fans: (in * receptive field, out * receptive field) of a weight tensor."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan in/out needs a tensor with at least 2 dimensions, got {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


_calculate_fan_in_and_fan_out = _fan_in_and_fan_out  # PyTorch's name


def _fan(tensor: Tensor, mode: str) -> int:
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table): 1 for linear/sigmoid,
    5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu, 3/4 for selu."""
    if nonlinearity in ("linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


@_skippable
def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0 (the course's bias initialization)."""
    tensor.data[...] = 0
    return tensor


@_skippable
def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    tensor.data[...] = 1
    return tensor


@_skippable
def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    tensor.data[...] = float(val)
    return tensor


@_skippable
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, rng: Any = None) -> Tensor:
    """Draw from U(a, b)."""
    return _fill(tensor, as_generator(rng).uniform(a, b, size=tensor.shape))


@_skippable
def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, rng: Any = None) -> Tensor:
    """Draw from N(mean, std²)."""
    return _fill(tensor, as_generator(rng).normal(mean, std, size=tensor.shape))


@_skippable
def small_random_(tensor: Tensor, scale: float = 0.01, rng: Any = None) -> Tensor:
    """The course's initialization: ``randn(shape) * scale`` (scale 0.01)."""
    return _fill(tensor, as_generator(rng).standard_normal(tensor.shape) * scale)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, rng: Any = None) -> Tensor:
    """Glorot uniform: U(±gain·√(6 / (fan_in + fan_out)))."""
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, rng: Any = None) -> Tensor:
    """Glorot normal: N(0, gain²·2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng: Any = None) -> Tensor:
    """He uniform: U(±gain·√(3 / fan)), gain from :func:`calculate_gain` (``a`` is the
    leaky_relu slope). PyTorch's Linear/Conv default is ``a=√5``."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, rng)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng: Any = None) -> Tensor:
    """He normal: N(0, gain² / fan); with relu, std = √(2 / fan_in)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, rng)


def lecun_normal_(tensor: Tensor, rng: Any = None) -> Tensor:
    """N(0, 1 / fan_in): the course's deep-network "xavier" (randn / √n[l-1])."""
    return normal_(tensor, 0.0, 1.0 / math.sqrt(_fan(tensor, "fan_in")), rng)


def lecun_uniform_(tensor: Tensor, rng: Any = None) -> Tensor:
    """U(±√(3 / fan_in))."""
    bound = math.sqrt(3.0 / _fan(tensor, "fan_in"))
    return uniform_(tensor, -bound, bound, rng)


def reset_layer_(weight: Tensor, bias: Tensor | None, init: Any = None,
                 rng: Any = None) -> None:
    """Initialize a dense or convolution layer's weight and bias.

    ``init=None`` is PyTorch's default for Linear and Conv2d: weight
    ``kaiming_uniform_(a=√5)`` (U(±1/√fan_in)) and bias U(±1/√fan_in). Otherwise ``init``
    (a name or callable, see :func:`get_initializer`) fills the weight and the bias is 0.
    """
    gen = as_generator(rng)
    if init is None:
        kaiming_uniform_(weight, a=math.sqrt(5), rng=gen)
        if bias is not None:
            bound = 1.0 / math.sqrt(_fan_in_and_fan_out(weight)[0])
            uniform_(bias, -bound, bound, rng=gen)
    else:
        get_initializer(init)(weight, rng=gen)
        if bias is not None:
            zeros_(bias)


def _he_normal_relu(t: Tensor, rng: Any = None) -> Tensor:
    return kaiming_normal_(t, nonlinearity="relu", rng=rng)


def _he_uniform_relu(t: Tensor, rng: Any = None) -> Tensor:
    return kaiming_uniform_(t, nonlinearity="relu", rng=rng)


INITIALIZERS: dict[str, Callable[..., Tensor]] = {
    "zeros": lambda t, rng=None: zeros_(t),
    "ones": lambda t, rng=None: ones_(t),
    "normal": normal_,
    "uniform": uniform_,
    "small_random": small_random_,
    "random_normal": small_random_,
    "xavier_uniform": xavier_uniform_,
    "glorot_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "glorot_normal": xavier_normal_,
    "kaiming_uniform": _he_uniform_relu,
    "he_uniform": _he_uniform_relu,
    "kaiming_normal": _he_normal_relu,
    "he_normal": _he_normal_relu,
    "he": _he_normal_relu,
    "lecun_normal": lecun_normal_,
    "lecun_uniform": lecun_uniform_,
}


def get_initializer(init: str | Callable[..., Any]) -> Callable[..., Any]:
    """An initializer ``fn(tensor, rng=None)`` from a name (PyTorch or Keras style) or a
    callable (returned as is). He ("kaiming", "he_normal") uses the relu gain."""
    if callable(init):
        return init
    fn = INITIALIZERS.get(str(init).lower())
    if fn is None:
        raise ValueError(f"unknown initializer {init!r}; valid names: "
                         f"{', '.join(sorted(INITIALIZERS))}")
    return fn

"""One-step recurrent cells with PyTorch's API: RNNCell, LSTMCell, GRUCell.

A cell step is the fused layer op run over a single time step, so cells and layers share
one implementation of the gate math and its gradient.
"""

from __future__ import annotations

import math
from typing import Any

from .._random import as_generator
from ..autograd.ops.rnn import GATES, rnn_layer
from ..autograd.ops.shape import expand_dims, squeeze
from ..autograd.tensor import Tensor
from ..backend import get_array_module, get_default_dtype
from . import init as _init
from .module import Module
from .parameter import Parameter
from .rnn import _mode, _positive

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNCellBase(Module):
    """Shared machinery of the cells: parameters ``weight_ih`` (G·hidden, input_size),
    ``weight_hh`` (G·hidden, hidden), ``bias_ih``, ``bias_hh`` (G·hidden,), all from
    U(-1/√hidden, 1/√hidden)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True,
                 rng: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.mode = mode
        self.input_size = _positive(name, "input_size", input_size)
        self.hidden_size = _positive(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        dt, G, H = get_default_dtype(), GATES[mode], self.hidden_size
        self.weight_ih = Parameter(_init.empty((G * H, self.input_size), dt))
        self.weight_hh = Parameter(_init.empty((G * H, H), dt))
        if self.bias:
            self.bias_ih = Parameter(_init.empty(G * H, dt))
            self.bias_hh = Parameter(_init.empty(G * H, dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng: Any = None) -> None:
        """Every weight and bias from U(-1/√hidden_size, 1/√hidden_size), as PyTorch."""
        gen = as_generator(rng)
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            _init.uniform_(p, -k, k, rng=gen)

    def _state(self, s: Any, x: Tensor, what: str) -> Tensor:
        want = tuple(x.shape[:-1]) + (self.hidden_size,)
        if s is None:
            xp = get_array_module(x.data)
            return Tensor(xp.zeros(want, dtype=x.dtype))
        s = s if isinstance(s, Tensor) else Tensor(s)
        if tuple(s.shape) != want:
            raise ValueError(f"{type(self).__name__}: expected {what} of shape {want}, "
                             f"got {s.shape}")
        if s.dtype != x.dtype:
            raise TypeError(f"{type(self).__name__}: {what} is {s.dtype} but the input is "
                            f"{x.dtype}")
        return s

    def _step(self, input: Any, hx: Any) -> tuple[Tensor, ...]:
        name = type(self).__name__
        x = input if isinstance(input, Tensor) else Tensor(input)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input (N, {self.input_size}) or "
                             f"({self.input_size},), got shape {x.shape}")
        if x.dtype.kind != "f":
            raise TypeError(f"{name}: input must be floating point, got {x.dtype}")
        lstm = self.mode == "LSTM"
        if lstm and hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise ValueError(f"{name}: hx must be a tuple (h_0, c_0)")
        h0 = self._state(hx[0] if lstm and hx is not None else hx, x, "h")
        c0 = self._state(hx[1] if hx is not None else None, x, "c") if lstm else None
        unbatched = x.ndim == 1
        if unbatched:
            x, h0 = expand_dims(x, 0), expand_dims(h0, 0)
            c0 = expand_dims(c0, 0) if lstm else None
        res = rnn_layer(self.mode, expand_dims(x, 0), h0, c0, self.weight_ih, self.weight_hh,
                        self.bias_ih, self.bias_hh)
        states = res[1:]
        return tuple(squeeze(s, 0) for s in states) if unbatched else tuple(states)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """One Elman step ``h' = act(W_ih x + b_ih + W_hh h + b_hh)`` (PyTorch's nn.RNNCell).

    Args:
        input_size, hidden_size, bias: as ``nn.RNN``.
        nonlinearity: 'tanh' or 'relu'.
        rng: a numpy Generator or int seed.

    Shape:
        input (N, input_size) or (input_size,), hx (N, hidden) -> h' (N, hidden).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", rng: Any = None) -> None:
        super().__init__(_mode("RNNCell", nonlinearity), input_size, hidden_size, bias, rng)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (PyTorch's nn.LSTMCell, gates i, f, g, o).

    Shape:
        input (N, input_size), (h, c) each (N, hidden) -> (h', c'); unbatched without N.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 rng: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, rng)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        h, c = self._step(input, hx)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step (PyTorch's nn.GRUCell, gates r, z, n).

    Shape:
        input (N, input_size), hx (N, hidden) -> h' (N, hidden); unbatched without N.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 rng: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, rng)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        return self._step(input, hx)[0]

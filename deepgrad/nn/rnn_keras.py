"""Keras-style recurrent layers for ``Sequential`` and configs: SimpleRNN, LSTMLayer,
GRULayer (``units``, ``return_sequences``, ``return_state``, ``go_backwards``; input
(N, T, features) as Keras) and the Bidirectional wrapper.

They run the same fused op as ``nn.RNN``/``nn.LSTM``/``nn.GRU`` with PyTorch's weight layout
and parameter names (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``), and Keras's
initialization: Glorot-uniform input weights, orthogonal recurrent weights, zero biases
(LSTM: forget-gate bias 1, Keras's ``unit_forget_bias``). The GRU is Keras's
``reset_after=True`` form, which is PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._random import as_generator
from ..autograd.ops.rnn import GATES, rnn_layer
from ..autograd.ops.shape import concatenate, getitem, swapaxes
from ..autograd.tensor import Tensor
from ..backend import get_array_module, get_default_dtype
from . import init as _init
from .module import Module
from .parameter import Parameter
from .utils_rnn import lengths_array

__all__ = ["SimpleRNN", "LSTMLayer", "GRULayer", "Bidirectional"]


def _orthogonal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Stacked orthogonal blocks (Keras's recurrent initializer), one per gate."""
    rows, cols = shape
    blocks = []
    for _ in range(rows // cols):
        q, r = np.linalg.qr(rng.standard_normal((cols, cols)))
        blocks.append(q * np.sign(np.diag(r)))
    return np.concatenate(blocks, axis=0)


class _KerasRecurrent(Module):
    mode = ""

    def __init__(self, units: int, activation: str = "tanh", use_bias: bool = True,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, input_dim: int | None = None,
                 rng: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(units, bool) or int(units) != units or int(units) < 1:
            raise ValueError(f"{name}: units must be a positive integer, got {units!r}")
        if self.mode.startswith("RNN") and activation not in ("tanh", "relu"):
            raise ValueError(f"{name}: activation must be 'tanh' or 'relu', got {activation!r}")
        self.units, self.activation, self.use_bias = int(units), activation, bool(use_bias)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)
        self._rng, self._dtype_at_init = rng, get_default_dtype()
        self.input_dim: int | None = None
        for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            self.register_parameter(k, None)
        if input_dim is not None:
            self.build(int(input_dim))

    @property
    def _op_mode(self) -> str:
        return "RNN_" + self.activation.upper() if self.mode == "RNN" else self.mode

    def build(self, input_dim: int) -> None:
        """Create the parameters for inputs with ``input_dim`` features."""
        if input_dim < 1:
            raise ValueError(f"{type(self).__name__}: input size must be >= 1, got {input_dim}")
        self.input_dim = input_dim
        G, H, dt = GATES[self._op_mode], self.units, self._dtype_at_init
        self.weight_ih = Parameter(_init.empty((G * H, input_dim), dt))
        self.weight_hh = Parameter(_init.empty((G * H, H), dt))
        if self.use_bias:
            self.bias_ih = Parameter(_init.zeros(G * H, dt))
            self.bias_hh = Parameter(_init.zeros(G * H, dt))
        self.reset_parameters(self._rng)

    def reset_parameters(self, rng: Any = None) -> None:
        """Glorot-uniform ``weight_ih`` (per gate), orthogonal ``weight_hh``, zero biases
        (forget gate 1 for the LSTM)."""
        if self.weight_ih is None or _init.init_skipped():
            return
        gen, H = as_generator(rng), self.units
        G = GATES[self._op_mode]
        limit = np.sqrt(6.0 / (self.input_dim + H))
        dt = self.weight_ih.dtype
        self.weight_ih.data[...] = gen.uniform(-limit, limit, (G * H, self.input_dim)).astype(dt)
        self.weight_hh.data[...] = _orthogonal((G * H, H), gen).astype(dt)
        if self.use_bias:
            self.bias_ih.data[...] = 0
            self.bias_hh.data[...] = 0
            if self.mode == "LSTM":
                self.bias_ih.data[H:2 * H] = 1

    def get_config(self) -> dict[str, Any]:
        cfg = {"units": self.units, "use_bias": self.use_bias,
               "return_sequences": self.return_sequences, "return_state": self.return_state,
               "go_backwards": self.go_backwards, "input_dim": self.input_dim}
        if self.mode == "RNN":
            cfg["activation"] = self.activation
        return cfg

    def forward(self, x: Any, initial_state: Any = None, lengths: Any = None) -> Any:
        """Run over (N, T, features).

        Args:
            x: input (N, T, features).
            initial_state: h (N, units), or [h, c] for the LSTM; zeros when None.
            lengths: valid length of each sequence (padded steps are skipped).

        Returns:
            (N, T, units) with ``return_sequences`` (in processing order: reversed with
            ``go_backwards``, as Keras) else the last output (N, units); with
            ``return_state`` a list [output, h] ([output, h, c] for the LSTM).
        """
        name = type(self).__name__
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 3:
            raise ValueError(f"{name}: expected input (batch, time, features), got shape "
                             f"{x.shape}")
        if self.weight_ih is None:
            self.build(int(x.shape[2]))
        N, T, F = x.shape
        if F != self.input_dim:
            raise ValueError(f"{name}: expected {self.input_dim} features, got shape {x.shape}")
        if T == 0:
            raise ValueError(f"{name}: the input sequence is empty (0 time steps)")
        xp = get_array_module(x.data)
        mask = None
        if lengths is not None:
            ls = lengths_array(lengths, N, T)
            if ls.min() < T:
                mask = xp.asarray(np.arange(T)[:, None] < ls[None, :])
        lstm = self.mode == "LSTM"
        states = self._initial(initial_state, N, x, xp, lstm)
        res = rnn_layer(self._op_mode, swapaxes(x, 0, 1), states[0],
                        states[1] if lstm else None, self.weight_ih, self.weight_hh,
                        self.bias_ih, self.bias_hh, reverse=self.go_backwards, mask=mask)
        if self.return_sequences:
            y = swapaxes(res[0], 0, 1)
            out = getitem(y, (slice(None), slice(None, None, -1))) if self.go_backwards else y
        else:
            out = res[1]  # the last processed step's output is the final state
        return [out, *res[1:]] if self.return_state else out

    def _initial(self, s: Any, N: int, x: Tensor, xp: Any, lstm: bool) -> list[Tensor]:
        name, want = type(self).__name__, (N, self.units)
        if s is None:
            return [Tensor(xp.zeros(want, dtype=x.dtype)) for _ in range(2 if lstm else 1)]
        s = list(s) if isinstance(s, tuple | list) else [s]
        if len(s) != (2 if lstm else 1):
            raise ValueError(f"{name}: initial_state must be {'[h, c]' if lstm else 'h'}")
        out = []
        for t in s:
            t = t if isinstance(t, Tensor) else Tensor(t)
            if tuple(t.shape) != want or t.dtype != x.dtype:
                raise ValueError(f"{name}: expected initial states {want} of {x.dtype}, got "
                                 f"{t.shape} of {t.dtype}")
            out.append(t)
        return out

    def extra_repr(self) -> str:
        ind = self.input_dim if self.input_dim is not None else "?"
        s = f"units={self.units}, input_dim={ind}"
        for k in ("return_sequences", "return_state", "go_backwards"):
            if getattr(self, k):
                s += f", {k}=True"
        return s


class SimpleRNN(_KerasRecurrent):
    """Keras's SimpleRNN: ``h' = activation(W_ih x + W_hh h + b)`` over (N, T, features).

    Args:
        units: size of the state.
        activation: 'tanh' (default) or 'relu'.
        use_bias: learn biases.
        return_sequences: return every step (N, T, units) instead of the last (N, units).
        return_state: also return the final state(s), as a list.
        go_backwards: process the sequence from the end.
        input_dim: features per step, if known (else inferred at the first call).
        rng: a numpy Generator or int seed.

    Shape:
        (N, T, input_dim) -> (N, units) or (N, T, units).
    """

    mode = "RNN"


class LSTMLayer(_KerasRecurrent):
    """Keras's LSTM over (N, T, features) (arguments as SimpleRNN, without activation);
    ``return_state`` gives [output, h, c]."""

    mode = "LSTM"

    def __init__(self, units: int, use_bias: bool = True, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 input_dim: int | None = None, rng: Any = None) -> None:
        super().__init__(units, "tanh", use_bias, return_sequences, return_state,
                         go_backwards, input_dim, rng)


class GRULayer(_KerasRecurrent):
    """Keras's GRU (``reset_after=True``) over (N, T, features) (arguments as SimpleRNN,
    without activation)."""

    mode = "GRU"

    def __init__(self, units: int, use_bias: bool = True, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 input_dim: int | None = None, rng: Any = None) -> None:
        super().__init__(units, "tanh", use_bias, return_sequences, return_state,
                         go_backwards, input_dim, rng)


_MERGES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Module):
    """Keras's Bidirectional wrapper: the layer forward and a copy backward, merged.

    Args:
        layer: a SimpleRNN, LSTMLayer or GRULayer (the forward direction).
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None for a list
            [forward, backward].
        rng: seed for the backward copy's initialization.

    Shape:
        (N, T, F) -> (N, [T,] 2·units) with 'concat', else (N, [T,] units). With
        ``return_sequences`` the backward outputs are re-aligned to the input's time order.
        With ``return_state``: [output, *forward states, *backward states].
    """

    def __init__(self, layer: Module, merge_mode: str | None = "concat",
                 rng: Any = None) -> None:
        super().__init__()
        if not isinstance(layer, _KerasRecurrent):
            raise TypeError(f"Bidirectional: expected a SimpleRNN, LSTMLayer or GRULayer, got "
                            f"{type(layer).__name__}")
        if merge_mode not in _MERGES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {_MERGES}, got "
                             f"{merge_mode!r}")
        self.merge_mode = merge_mode
        cfg = layer.get_config()
        cfg["go_backwards"] = not layer.go_backwards
        self.forward_layer = layer
        self.backward_layer = type(layer)(**cfg, rng=rng)

    def forward(self, x: Any, lengths: Any = None) -> Any:
        fw = self.forward_layer(x, lengths=lengths)
        bw = self.backward_layer(x, lengths=lengths)
        states: list[Tensor] = []
        if self.forward_layer.return_state:
            fw, *fs = fw
            bw, *bs = bw
            states = fs + bs
        if self.forward_layer.return_sequences:  # undo the backward layer's reversal
            bw = getitem(bw, (slice(None), slice(None, None, -1)))
        if self.merge_mode == "concat":
            out: Any = concatenate([fw, bw], axis=-1)
        elif self.merge_mode == "sum":
            out = fw + bw
        elif self.merge_mode == "mul":
            out = fw * bw
        elif self.merge_mode == "ave":
            out = (fw + bw) * 0.5
        else:
            out = [fw, bw]
        if states:
            return ([*out] if isinstance(out, list) else [out]) + states
        return out

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}"

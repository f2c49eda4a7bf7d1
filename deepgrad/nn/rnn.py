"""Recurrent layers with PyTorch's API: RNN, LSTM, GRU and their cells.

Each layer and direction runs as one fused op (``deepgrad.autograd.ops.rnn``); parameter
names, shapes, gate order and initialization are PyTorch's, so a PyTorch state_dict
loads as is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._random import as_generator
from ..autograd.ops.dropout import dropout as _dropout
from ..autograd.ops.rnn import GATES, rnn_layer
from ..autograd.ops.shape import concatenate, expand_dims, getitem, squeeze, stack, swapaxes
from ..autograd.tensor import Tensor
from ..backend import get_array_module, get_default_dtype
from . import init as _init
from .module import Module
from .parameter import Parameter
from .utils_rnn import PackedSequence, _pack, lengths_array, pad_packed_sequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU"]


def _positive(name: str, what: str, v: Any) -> int:
    if isinstance(v, bool) or int(v) != v or int(v) < 1:
        raise ValueError(f"{name}: {what} must be a positive integer, got {v!r}")
    return int(v)


def _mode(name: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return "RNN_" + nonlinearity.upper()


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU (see those classes for the arguments)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, rng: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.mode = mode
        self.input_size = _positive(name, "input_size", input_size)
        self.hidden_size = _positive(name, "hidden_size", hidden_size)
        self.num_layers = _positive(name, "num_layers", num_layers)
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout!r}")
        if int(proj_size) < 0 or (proj_size and mode != "LSTM"):
            raise ValueError(f"{name}: proj_size must be 0 (LSTM only: >= 0), got {proj_size}")
        if proj_size and int(proj_size) >= self.hidden_size:
            raise ValueError(f"{name}: proj_size must be smaller than hidden_size "
                             f"({self.hidden_size}), got {proj_size}")
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.proj_size = int(proj_size)
        dt = get_default_dtype()
        G, H = GATES[mode], self.hidden_size
        Hout = self.proj_size or H
        for layer in range(self.num_layers):
            size_in = self.input_size if layer == 0 else Hout * self.num_directions
            for sfx in self._suffixes(layer):
                setattr(self, f"weight_ih{sfx}", Parameter(_init.empty((G * H, size_in), dt)))
                setattr(self, f"weight_hh{sfx}", Parameter(_init.empty((G * H, Hout), dt)))
                if self.bias:
                    setattr(self, f"bias_ih{sfx}", Parameter(_init.empty(G * H, dt)))
                    setattr(self, f"bias_hh{sfx}", Parameter(_init.empty(G * H, dt)))
                if self.proj_size:
                    setattr(self, f"weight_hr{sfx}", Parameter(_init.empty((Hout, H), dt)))
        self.reset_parameters(rng)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def reset_parameters(self, rng: Any = None) -> None:
        """Every weight and bias from U(-1/√hidden_size, 1/√hidden_size), as PyTorch."""
        gen = as_generator(rng)
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            _init.uniform_(p, -k, k, rng=gen)

    def _weights(self, sfx: str) -> tuple[Any, ...]:
        p = self._parameters
        return (p[f"weight_ih{sfx}"], p[f"weight_hh{sfx}"], p.get(f"bias_ih{sfx}"),
                p.get(f"bias_hh{sfx}"), p.get(f"weight_hr{sfx}"))

    def _initial(self, hx: Any, N: int, dtype: Any, xp: Any, batched: bool) -> tuple[Any, Any]:
        """(h0, c0) as (L·D, N, ·) tensors; zeros when ``hx`` is None."""
        name, LD = type(self).__name__, self.num_layers * self.num_directions
        Hout = self.proj_size or self.hidden_size
        lstm = self.mode == "LSTM"
        if hx is None:
            h0 = Tensor(xp.zeros((LD, N, Hout), dtype=dtype))
            c0 = Tensor(xp.zeros((LD, N, self.hidden_size), dtype=dtype)) if lstm else None
            return h0, c0
        if lstm:
            if not isinstance(hx, tuple | list) or len(hx) != 2:
                raise ValueError(f"{name}: hx must be a tuple (h_0, c_0)")
            parts = [(hx[0], Hout, "h_0"), (hx[1], self.hidden_size, "c_0")]
        else:
            parts = [(hx, Hout, "hx")]
        out = []
        for t, size, what in parts:
            t = t if isinstance(t, Tensor) else Tensor(t)
            want = (LD, N, size) if batched else (LD, size)
            if tuple(t.shape) != want:
                raise ValueError(f"{name}: expected {what} of shape {want}, got {t.shape}")
            if t.dtype != dtype:
                raise TypeError(f"{name}: {what} is {t.dtype} but the input is {dtype}")
            out.append(t if batched else expand_dims(t, 1))
        return out[0], (out[1] if lstm else None)

    def forward(self, input: Any, hx: Any = None, lengths: Any = None) -> tuple[Any, Any]:
        """Run the layer over a sequence.

        Args:
            input: (T, N, input_size), (N, T, input_size) with ``batch_first``, unbatched
                (T, input_size), or a PackedSequence.
            hx: initial state: h_0 (num_layers·D, N, Hout) or, for LSTM, (h_0, c_0); zeros
                when None (unbatched: without the N axis).
            lengths: valid length of each sequence of a padded batch; padded steps leave
                the state unchanged, give zero outputs and receive no gradient.

        Returns:
            (output, h_n) or, for LSTM, (output, (h_n, c_n)); output is a PackedSequence
            when the input is one.
        """
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError(f"{name}: give lengths or a PackedSequence, not both")
            x, lens = pad_packed_sequence(input)
            batched = True
        else:
            x = input if isinstance(input, Tensor) else Tensor(input)
            if x.ndim not in (2, 3):
                raise ValueError(f"{name}: expected a 2-D (unbatched) or 3-D input, got shape "
                                 f"{x.shape}")
            batched = x.ndim == 3
            if not batched:
                x = expand_dims(x, 1)
            elif self.batch_first:
                x = swapaxes(x, 0, 1)
            lens = None
        T, N, F = x.shape
        if F != self.input_size:
            raise ValueError(f"{name}: expected input_size {self.input_size}, got inputs with "
                             f"{F} features (shape {tuple(x.shape)})")
        if x.dtype.kind != "f":
            raise TypeError(f"{name}: input must be floating point, got {x.dtype}")
        if T == 0:
            raise ValueError(f"{name}: the input sequence is empty (0 time steps)")
        if lengths is not None:
            if not batched:
                raise ValueError(f"{name}: lengths needs a batched (3-D) input")
            lens = lengths_array(lengths, N, T)
        xp = get_array_module(x.data)
        mask = None
        if lens is not None and int(lens.min()) < T:
            mask = xp.asarray(np.arange(T)[:, None] < lens[None, :])
        h0, c0 = self._initial(hx, N, x.dtype, xp, batched)
        y, h_n, c_n = self._run(x, h0, c0, mask)
        return self._outputs(y, h_n, c_n, packed, input, lens, batched)

    def _run(self, x: Tensor, h0: Tensor, c0: Any, mask: Any) -> tuple[Any, Any, Any]:
        """All layers and directions; returns (output (T, N, D·Hout), [h_n...], [c_n...])."""
        hs, cs = [], []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = _dropout(x, self.dropout, True)
            outs = []
            for d, sfx in enumerate(self._suffixes(layer)):
                k = layer * self.num_directions + d
                c_k = getitem(c0, k) if c0 is not None else None
                res = rnn_layer(self.mode, x, getitem(h0, k), c_k, *self._weights(sfx),
                                reverse=d == 1, mask=mask)
                outs.append(res[0])
                hs.append(res[1])
                if c0 is not None:
                    cs.append(res[2])
            x = outs[0] if len(outs) == 1 else concatenate(outs, axis=2)
        return x, hs, cs

    def _outputs(self, y: Tensor, hs: list[Tensor], cs: list[Tensor], packed: bool,
                 input: Any, lens: Any, batched: bool) -> tuple[Any, Any]:
        h_n = stack(hs, axis=0)
        c_n = stack(cs, axis=0) if cs else None
        if packed:
            order = (input.sorted_indices if input.sorted_indices is not None
                     else np.arange(lens.size))
            y = PackedSequence(_pack(y, lens, np.asarray(order)), input.batch_sizes,
                               input.sorted_indices, input.unsorted_indices)
        elif not batched:
            y, h_n = squeeze(y, 1), squeeze(h_n, 1)
            c_n = squeeze(c_n, 1) if c_n is not None else None
        elif self.batch_first:
            y = swapaxes(y, 0, 1)
        return (y, (h_n, c_n)) if self.mode == "LSTM" else (y, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.mode.startswith("RNN_"):
            s += f", nonlinearity={self.mode[4:].lower()!r}"
        for k, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                           ("dropout", 0.0), ("bidirectional", False), ("proj_size", 0)):
            if getattr(self, k) != default:
                s += f", {k}={getattr(self, k)}"
        return s


_ARGS = """
    Args:
        input_size: features per step.
        hidden_size: size of the hidden state.
        num_layers: stacked layers (each layer's output feeds the next).
        {extra}bias: learn ``bias_ih`` and ``bias_hh``.
        batch_first: input and output are (N, T, F) instead of (T, N, F) (not the states).
        dropout: dropout probability on each layer's output except the last (training only).
        bidirectional: add a reverse direction; outputs are concatenated on the last axis.
        rng: a numpy Generator or int seed for the initialization.

    Shape:
        input (T, N, input_size), h_0 (num_layers·D, N, Hout) -> output (T, N, D·Hout),
        h_n (num_layers·D, N, Hout); D = 2 if bidirectional else 1, Hout = hidden_size
        {shape_extra}. Parameters ``weight_ih_l{{k}}`` (G·hidden, in), ``weight_hh_l{{k}}``
        (G·hidden, Hout), ``bias_ih_l{{k}}``, ``bias_hh_l{{k}}`` (G·hidden,), with
        ``_reverse`` for the reverse direction.
"""


class RNN(RNNBase):
    __doc__ = ("Elman RNN, ``h' = act(W_ih x + b_ih + W_hh h + b_hh)`` (PyTorch's nn.RNN)."
               + _ARGS.format(extra="nonlinearity: 'tanh' or 'relu'.\n        ",
                              shape_extra="(G = 1)"))

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, rng: Any = None) -> None:
        super().__init__(_mode("RNN", nonlinearity), input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, rng=rng)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    __doc__ = ("Long short-term memory (PyTorch's nn.LSTM, gates i, f, g, o); returns "
               "``(output, (h_n, c_n))``." + _ARGS.format(
                   extra="proj_size: if > 0, project h with ``weight_hr`` (proj_size, hidden)."
                   "\n        ",
                   shape_extra="or proj_size; c_0, c_n (num_layers·D, N, hidden) (G = 4)"))

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, rng: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, rng)


class GRU(RNNBase):
    __doc__ = ("Gated recurrent unit (PyTorch's nn.GRU, gates r, z, n)."
               + _ARGS.format(extra="", shape_extra="(G = 3)"))

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, rng: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, rng=rng)

"""ONNX's RNN, LSTM and GRU operators on deepgrad's fused recurrent op, and the layer an
imported recurrent node becomes (``nn.RNN``/``nn.LSTM``/``nn.GRU`` inside, ONNX's outputs
outside).

Gate orders differ: ONNX stacks LSTM gates as i, o, f, c and GRU gates as z, r, h; PyTorch
(and deepgrad) as i, f, g, o and r, z, n. ONNX's bias ``B`` is ``[Wb; Rb]`` per direction.
deepgrad's GRU is ONNX's ``linear_before_reset=1`` form.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..autograd.ops.rnn import GATES, rnn_layer
from ..autograd.ops.shape import concatenate, getitem, reshape, stack, swapaxes, transpose
from ..autograd.tensor import Tensor
from ..io.config import register_module
from ..nn.module import Module
from ._values import Attrs, as_tensor, data, is_const

__all__ = ["RNN_OPS", "RNN_LAYERS", "OnnxRecurrent", "TO_ONNX", "FROM_ONNX", "reorder"]

# ONNX gate block k is PyTorch's block TO_ONNX[op][k], and the other way round.
TO_ONNX = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN": [0]}
FROM_ONNX = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}
_DEFAULT_ACTS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"]}
_LAYER_CLASS = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}


def reorder(a: np.ndarray, perm: list[int]) -> np.ndarray:
    """The gate blocks (stacked along axis 0) of ``a`` in the order ``perm``."""
    blocks = a.reshape((len(perm), -1) + a.shape[1:])
    return np.ascontiguousarray(blocks[perm].reshape(a.shape))


def _reorder_t(t: Tensor, perm: list[int]) -> Tensor:
    h = t.shape[0] // len(perm)
    parts = [getitem(t, slice(k * h, (k + 1) * h)) for k in perm]
    return parts[0] if len(parts) == 1 else concatenate(parts, axis=0)


def _mode(op: str, a: Attrs) -> str:
    """deepgrad's mode for the node, or ValueError for a form deepgrad has no op for."""
    direction = a.get("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise ValueError(f"{op}: unknown direction {direction!r}")
    if a.get("clip") is not None:
        raise ValueError(f"{op}: the clip attribute (cell clipping) is not supported")
    if a.get("activation_alpha") or a.get("activation_beta"):
        raise ValueError(f"{op}: activation_alpha/activation_beta are not supported")
    if int(a.get("layout", 0)) not in (0, 1):
        raise ValueError(f"{op}: layout must be 0 or 1, got {a.get('layout')}")
    d = 2 if direction == "bidirectional" else 1
    acts = [s.lower() for s in a.get("activations", [])]
    if op == "RNN":
        acts = acts or ["tanh"] * d
        if len(set(acts)) != 1 or acts[0] not in ("tanh", "relu"):
            raise ValueError(f"{op}: activations {a.get('activations')} are not supported "
                             "(Tanh or Relu, the same for both directions)")
        return "RNN_" + acts[0].upper()
    if acts and acts != _DEFAULT_ACTS[op] * d:
        raise ValueError(f"{op}: activations {a.get('activations')} are not supported (only "
                         f"the defaults {_DEFAULT_ACTS[op]})")
    if op == "LSTM" and int(a.get("input_forget", 0)):
        raise ValueError("LSTM: input_forget=1 (coupled input and forget gates) is not supported")
    if op == "GRU" and not int(a.get("linear_before_reset", 0)):
        raise ValueError("GRU: linear_before_reset=0 is not supported (deepgrad's GRU, like "
                         "PyTorch's, is the linear_before_reset=1 form)")
    return op


def _check_inputs(op: str, x: Any, seq: Any, peep: Any, layout: int) -> None:
    T = data(x).shape[1 if layout else 0]
    if seq is not None:
        if not is_const(seq):
            raise ValueError(f"{op}: a computed sequence_lens input is not supported (only a "
                             "constant one equal to the sequence length)")
        if np.any(np.asarray(seq) != T):
            raise ValueError(f"{op}: sequence_lens {np.asarray(seq).tolist()} differ from the "
                             f"sequence length {T}; variable lengths are not supported")
    if peep is not None and (not is_const(peep) or np.any(np.asarray(peep))):
        raise ValueError("LSTM: peephole weights (input P) are not supported")


def _recurrent(op: str) -> Any:
    def run(a: Attrs, x: Any, W: Any, R: Any, B: Any = None, seq: Any = None, h0: Any = None,
            c0: Any = None, P: Any = None) -> tuple[Any, ...]:
        mode = _mode(op, a)
        layout = int(a.get("layout", 0))
        _check_inputs(op, x, seq, P, layout)
        consts = all(v is None or is_const(v) for v in (x, W, R, B, h0, c0))
        xt = as_tensor(x)
        if layout:
            xt = swapaxes(xt, 0, 1)
            h0 = swapaxes(as_tensor(h0), 0, 1) if h0 is not None else None
            c0 = swapaxes(as_tensor(c0), 0, 1) if c0 is not None else None
        T, N, _ = xt.shape
        Wt, Rt = as_tensor(W), as_tensor(R)
        D, GH = Wt.shape[0], Wt.shape[1]
        H = int(a.get("hidden_size", GH // GATES[mode]))
        perm = FROM_ONNX[op]
        reverse = a.get("direction", "forward") == "reverse"
        ys, hs, cs = [], [], []
        for d in range(D):
            b_ih = b_hh = None
            if B is not None:
                b = getitem(as_tensor(B), d)
                b_ih = _reorder_t(getitem(b, slice(0, GH)), perm)
                b_hh = _reorder_t(getitem(b, slice(GH, 2 * GH)), perm)
            zeros = np.zeros((N, H), dtype=xt.dtype)
            h = getitem(as_tensor(h0), d) if h0 is not None else Tensor(zeros)
            c = None
            if op == "LSTM":
                c = getitem(as_tensor(c0), d) if c0 is not None else Tensor(zeros.copy())
            res = rnn_layer(mode, xt, h, c, _reorder_t(getitem(Wt, d), perm),
                            _reorder_t(getitem(Rt, d), perm), b_ih, b_hh,
                            reverse=reverse or d == 1)
            ys.append(res[0])
            hs.append(res[1])
            if op == "LSTM":
                cs.append(res[2])
        outs = [stack(ys, axis=1), stack(hs, axis=0)] + ([stack(cs, axis=0)] if cs else [])
        if layout:  # Y (N, T, D, H); states (N, D, H)
            outs = [transpose(outs[0], (2, 0, 1, 3))] + [swapaxes(s, 0, 1) for s in outs[1:]]
        return tuple(np.asarray(o.data) for o in outs) if consts else tuple(outs)

    return run


RNN_OPS = {op: _recurrent(op) for op in ("RNN", "LSTM", "GRU")}


@register_module
class OnnxRecurrent(Module):
    """An imported ONNX RNN/LSTM/GRU node: deepgrad's ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (one
    layer, as ``self.rnn``, PyTorch's parameter names) with the ONNX operator's outputs.

    Args:
        op_type: "RNN", "LSTM" or "GRU".
        input_size, hidden_size: features per step, size of the state.
        direction: "forward", "reverse" or "bidirectional".
        bias: the node has biases.
        nonlinearity: "tanh" or "relu" (RNN only).
        layout: ONNX's layout: 0 for (T, N, F) inputs, 1 for (N, T, F).
        states: the initial states the layer is called with after ``x``, in order: a
            subset of ``["h", "c"]``; states not given start at zero.

    Shape:
        x (T, N, input_size) -> ``output=0``: Y (T, D, N, hidden); ``output=1``: Y_h
        (D, N, hidden); ``output=2`` (LSTM): Y_c (D, N, hidden). With ``layout=1``: x
        (N, T, input_size), Y (N, T, D, hidden), Y_h and Y_c (N, D, hidden).
    """

    def __init__(self, op_type: str, input_size: int, hidden_size: int,
                 direction: str = "forward", bias: bool = True, nonlinearity: str = "tanh",
                 layout: int = 0, states: list[str] | None = None) -> None:
        super().__init__()
        if op_type not in _LAYER_CLASS:
            raise ValueError(f"OnnxRecurrent: op_type must be RNN, LSTM or GRU, got {op_type!r}")
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ValueError(f"OnnxRecurrent: unknown direction {direction!r}")
        self.op_type, self.direction, self.layout = op_type, direction, int(layout)
        self.states = list(states or [])
        kw = {"nonlinearity": nonlinearity} if op_type == "RNN" else {}
        self.rnn = _LAYER_CLASS[op_type](int(input_size), int(hidden_size), bias=bool(bias),
                                         batch_first=bool(self.layout),
                                         bidirectional=direction == "bidirectional", **kw)

    def get_config(self) -> dict[str, Any]:
        r = self.rnn
        return {"op_type": self.op_type, "input_size": r.input_size,
                "hidden_size": r.hidden_size, "direction": self.direction, "bias": r.bias,
                "nonlinearity": getattr(r, "nonlinearity", "tanh"), "layout": self.layout,
                "states": self.states}

    def _hx(self, given: dict[str, Any], x: Tensor) -> Any:
        if not given:
            return None
        r, axis = self.rnn, 1 if self.layout else 0
        N = x.shape[0 if self.layout else 1]
        zeros = Tensor(np.zeros((r.num_directions, N, r.hidden_size), dtype=x.dtype))
        hc = [given.get(k) for k in ("h", "c")]
        hc = [zeros if s is None else (swapaxes(as_tensor(s), 0, 1) if axis else as_tensor(s))
              for s in hc]
        return (hc[0], hc[1]) if self.op_type == "LSTM" else hc[0]

    def forward(self, x: Any, *states: Any, output: int = 0) -> Tensor:
        x = as_tensor(x)
        t_axis = 1 if self.layout else 0
        flip = (slice(None), slice(None, None, -1)) if self.layout else slice(None, None, -1)
        if self.direction == "reverse":
            x = getitem(x, flip)
        y, hn = self.rnn(x, self._hx(dict(zip(self.states, states, strict=True)), x))
        if self.op_type == "LSTM":
            hn, cn = hn
            hn = cn if output == 2 else hn
        if output == 0:
            if self.direction == "reverse":
                y = getitem(y, flip)
            D, H = self.rnn.num_directions, self.rnn.hidden_size
            y = reshape(y, (y.shape[0], y.shape[1], D, H))
            return y if t_axis else transpose(y, (0, 2, 1, 3))
        return swapaxes(hn, 0, 1) if self.layout else hn

    def extra_repr(self) -> str:
        return f"{self.op_type}, direction={self.direction!r}"


def _recurrent_layer(op: str) -> Any:
    def build(node: Any, a: Attrs, ins: list[Any], dynamic: list[str]) -> Module | None:
        """``dynamic``: the node's input names computed from the graph's inputs (the layer's
        call arguments, in order); the others are constants."""
        names = list(node.input) + [""] * (8 - len(node.input))
        W, R = ins[1], ins[2]
        B = ins[3] if len(ins) > 3 else None
        if any(n in dynamic for n in names[1:4]) or not all(
                isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in (W, R, B)
                if v is not None):
            return None
        if names[4] in dynamic:  # computed sequence lengths: the generic operator refuses
            return None
        states = []
        for key, name, v in (("h", names[5], ins[5] if len(ins) > 5 else None),
                             ("c", names[6], ins[6] if len(ins) > 6 else None)):
            if not name:
                continue
            if name in dynamic:
                states.append(key)
            elif np.any(np.asarray(data(v))):  # a non-zero constant start: keep the operator
                return None
        mode = _mode(op, a)
        D, GH = W.shape[0], W.shape[1]
        H = int(a.get("hidden_size", GH // GATES[mode]))
        layer = OnnxRecurrent(op, W.shape[2], H, a.get("direction", "forward"), B is not None,
                              "relu" if mode == "RNN_RELU" else "tanh", int(a.get("layout", 0)),
                              states)
        perm = FROM_ONNX[op]
        for d, sfx in enumerate(["_l0", "_l0_reverse"][:D]):
            vals = {"weight_ih": W[d], "weight_hh": R[d]}
            if B is not None:
                vals.update(bias_ih=B[d][:GH], bias_hh=B[d][GH:])
            for k, v in vals.items():
                getattr(layer.rnn, k + sfx).data = reorder(np.array(v, copy=True), perm)
        return layer

    return build


RNN_LAYERS = {op: _recurrent_layer(op) for op in ("RNN", "LSTM", "GRU")}

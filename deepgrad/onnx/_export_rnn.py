"""Export table, recurrent layers: ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (one ONNX RNN/LSTM/GRU
node per layer), the Keras-style ``SimpleRNN``/``LSTMLayer``/``GRULayer`` and
``Bidirectional``, and imported recurrent nodes (``OnnxRecurrent``) written back.

Weights are stacked per direction in ONNX's gate order (LSTM i, o, f, c; GRU z, r, h with
``linear_before_reset=1``, PyTorch's GRU); ``B`` is ``[b_ih; b_hh]``. ONNX's Y is
(T, D, N, H); PyTorch's output (T, N, D·H) is a Transpose and a Reshape away.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._emit import Emitter
from ._rnn import TO_ONNX, reorder

__all__ = ["RNN_EXPORTERS"]


def _np(t: Any) -> np.ndarray:
    a = t.data
    return np.asarray(a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a)


def _op_of(mode: str) -> str:
    return "RNN" if mode.startswith("RNN") else mode


def _node(em: Emitter, mode: str, x: str, params: list[tuple[Any, ...]], hidden: int,
          direction: str, path: str, states: tuple[str, str] = ("", "")) -> list[str]:
    """One ONNX recurrent node on ``x`` (T, N, F); ``params`` holds (W_ih, W_hh, b_ih, b_hh)
    per direction, PyTorch's layout. Returns the names of Y, Y_h[, Y_c]."""
    op = _op_of(mode)
    perm = TO_ONNX[op]
    w = em.const(np.stack([reorder(_np(p[0]), perm) for p in params]), f"{path}.W")
    r = em.const(np.stack([reorder(_np(p[1]), perm) for p in params]), f"{path}.R")
    inputs = [x, w, r]
    if params[0][2] is not None:
        inputs.append(em.const(np.stack([np.concatenate([reorder(_np(p[2]), perm),
                                                         reorder(_np(p[3]), perm)])
                                         for p in params]), f"{path}.B"))
    if any(states):  # X, W, R, B, sequence_lens, initial_h[, initial_c]
        inputs += [""] * (5 - len(inputs)) + list(states if op == "LSTM" else states[:1])
    while inputs and inputs[-1] == "":
        inputs.pop()
    attrs: dict[str, Any] = {"hidden_size": int(hidden), "direction": direction}
    if mode == "RNN_RELU":
        attrs["activations"] = ["Relu"] * len(params)
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    outs = [em.fresh(f"{path}_{k}") for k in (["Y", "Y_h", "Y_c"] if op == "LSTM"
                                               else ["Y", "Y_h"])]
    em.node(op, inputs, name=f"{path}.{op.lower()}", outputs=outs, **attrs)
    return outs


def _ints(em: Emitter, values: list[int], hint: str) -> str:
    return em.const(np.asarray(values, np.int64), hint)


def _merge_directions(em: Emitter, y: str, path: str) -> str:
    """Y (T, D, N, H) -> (T, N, D·H)."""
    y = em.node("Transpose", [y], name=f"{path}.transpose_y", perm=[0, 2, 1, 3])
    return em.node("Reshape", [y, _ints(em, [0, 0, -1], f"{path}.shape")],
                   name=f"{path}.reshape_y")


def _torch_rnn(em: Emitter, m: Any, ins: list[str], path: str) -> list[str]:
    """nn.RNN / nn.LSTM / nn.GRU -> [output, h_n] or [output, h_n, c_n]."""
    if m.proj_size:
        raise ValueError(f"ONNX export: layer {path!r}: LSTM(proj_size > 0) has no ONNX form")
    if len(ins) > 1:
        raise ValueError(f"ONNX export: layer {path!r}: initial states (hx) are not exported; "
                         "call the layer on the input alone")
    if len(em.shapes[ins[0]]) != 3:
        raise ValueError(f"ONNX export: layer {path!r}: only batched (3-D) inputs are exported")
    x = ins[0]
    if m.batch_first:
        x = em.node("Transpose", [x], name=f"{path}.to_time_major", perm=[1, 0, 2])
    direction = "bidirectional" if m.bidirectional else "forward"
    hs, cs = [], []
    for layer in range(m.num_layers):
        params = [m._weights(sfx)[:4] for sfx in m._suffixes(layer)]
        lpath = f"{path}.l{layer}" if m.num_layers > 1 else path
        outs = _node(em, m.mode, x, params, m.hidden_size, direction, lpath)
        x = _merge_directions(em, outs[0], lpath)
        hs.append(outs[1])
        if m.mode == "LSTM":
            cs.append(outs[2])
    if m.batch_first:
        x = em.node("Transpose", [x], name=f"{path}.to_batch_first", perm=[1, 0, 2])
    return [x] + [s[0] if len(s) == 1 else em.node("Concat", s, name=f"{path}.{k}", axis=0)
                  for k, s in (("h_n", hs), ("c_n", cs)) if s]


def _keras_params(m: Any) -> tuple[Any, ...]:
    return (m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)


def _keras_check(m: Any, path: str) -> None:
    if m.weight_ih is None:
        raise ValueError(f"ONNX export: layer {path!r} ({type(m).__name__}) is not built yet "
                         "(call the model once first)")
    if m.return_state:
        raise ValueError(f"ONNX export: layer {path!r}: return_state=True (a list output) is "
                         "not exported")


def _reverse_time(em: Emitter, y: str, path: str) -> str:
    """Reverse axis 1 of y: Slice with step -1."""
    return em.node("Slice", [y, _ints(em, [-1], f"{path}.start"),
                             _ints(em, [np.iinfo(np.int64).min], f"{path}.end"),
                             _ints(em, [1], f"{path}.axis"), _ints(em, [-1], f"{path}.step")],
                   name=f"{path}.reverse")


def _keras_rnn(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    """SimpleRNN / LSTMLayer / GRULayer on (N, T, F)."""
    _keras_check(m, path)
    x = em.node("Transpose", [ins[0]], name=f"{path}.to_time_major", perm=[1, 0, 2])
    outs = _node(em, m._op_mode, x, [_keras_params(m)], m.units,
                 "reverse" if m.go_backwards else "forward", path)
    if not m.return_sequences:  # the final state (1, N, H) -> (N, H)
        return em.node("Squeeze", [outs[1], _ints(em, [0], f"{path}.axes")],
                       name=f"{path}.last")
    y = em.node("Transpose", [outs[0]], name=f"{path}.to_batch_first", perm=[2, 0, 1, 3])
    y = em.node("Reshape", [y, _ints(em, [0, 0, -1], f"{path}.shape")], name=f"{path}.reshape")
    return _reverse_time(em, y, path) if m.go_backwards else y  # Keras: processing order


def _bidirectional(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    fw, bw = m.forward_layer, m.backward_layer
    _keras_check(fw, path)
    if fw.go_backwards or m.merge_mode is None:
        raise ValueError(f"ONNX export: layer {path!r}: Bidirectional with a go_backwards "
                         "forward layer or merge_mode=None is not exported")
    x = em.node("Transpose", [ins[0]], name=f"{path}.to_time_major", perm=[1, 0, 2])
    outs = _node(em, fw._op_mode, x, [_keras_params(fw), _keras_params(bw)], fw.units,
                 "bidirectional", path)
    if fw.return_sequences:  # (T, 2, N, H) -> (N, T, 2, H)
        y, axis = em.node("Transpose", [outs[0]], name=f"{path}.to_batch_first",
                          perm=[2, 0, 1, 3]), 2
    else:  # (2, N, H) -> (N, 2, H)
        y, axis = em.node("Transpose", [outs[1]], name=f"{path}.to_batch_first",
                          perm=[1, 0, 2]), 1
    if m.merge_mode == "concat":
        return em.node("Reshape", [y, _ints(em, [0] * axis + [-1], f"{path}.shape")],
                       name=f"{path}.concat")
    f, b = (em.node("Squeeze", [em.node("Gather", [y, _ints(em, [d], f"{path}.{k}")],
                                        axis=axis), _ints(em, [axis], f"{path}.{k}_axis")],
                    name=f"{path}.{k}") for d, k in ((0, "forward"), (1, "backward")))
    if m.merge_mode == "mul":
        return em.node("Mul", [f, b], name=f"{path}.mul")
    s = em.node("Add", [f, b], name=f"{path}.sum")
    if m.merge_mode == "sum":
        return s
    half = em.const(np.asarray(0.5, _np(fw.weight_ih).dtype), f"{path}.half")
    return em.node("Mul", [s, half], name=f"{path}.ave")


def _onnx_recurrent(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    """An imported ONNX recurrent node written back (the output the call asked for)."""
    r = m.rnn
    params = [r._weights(sfx)[:4] for sfx in r._suffixes(0)]
    x, given = ins[0], dict(zip(m.states, ins[1:], strict=True))
    if m.layout:  # batch-major: written with Transposes (ONNX Runtime runs layout=0 only)
        x = em.node("Transpose", [x], name=f"{path}.to_time_major", perm=[1, 0, 2])
        given = {k: em.node("Transpose", [v], name=f"{path}.{k}0", perm=[1, 0, 2])
                 for k, v in given.items()}
    outs = _node(em, r.mode, x, params, r.hidden_size, m.direction, path,
                 (given.get("h", ""), given.get("c", "")))
    k = int(em.call_kwargs.get("output", 0))
    if not m.layout:
        return outs[k]
    return em.node("Transpose", [outs[k]], name=f"{path}.to_batch_major",
                   perm=[2, 0, 1, 3] if k == 0 else [1, 0, 2])


RNN_EXPORTERS = {
    "RNN": _torch_rnn, "LSTM": _torch_rnn, "GRU": _torch_rnn,
    "SimpleRNN": _keras_rnn, "LSTMLayer": _keras_rnn, "GRULayer": _keras_rnn,
    "Bidirectional": _bidirectional, "OnnxRecurrent": _onnx_recurrent,
}

"""Sequence layers in configs: ``embedding``, ``rnn``, ``lstm``, ``gru``, ``bidirectional``.

Keras's vocabulary: ``embedding: {input_dim: vocabulary size, output_dim: vector size,
padding_idx}``; ``lstm: {units, return_sequences, go_backwards, use_bias}`` (``rnn`` adds
``activation``: tanh or relu); ``bidirectional: {layer: {lstm: {...}}, merge_mode}``.
Recurrent layers take per-example input (time, features); an embedding takes (time,)
integer token ids.
"""

from __future__ import annotations

from typing import Any

from .. import nn
from .errors import ConfigError
from .schema import as_bool, as_choice, as_int, as_mapping, join_path, show

__all__ = ["SEQUENCE_KINDS", "validate_sequence_layer", "make_sequence_layers"]

_RECURRENT = ("units", "return_sequences", "go_backwards", "use_bias")
SEQUENCE_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str | None]] = {
    "embedding": (("input_dim", "output_dim", "padding_idx"), ("input_dim", "output_dim"),
                  None),
    "rnn": (_RECURRENT + ("activation",), ("units",), "units"),
    "lstm": (_RECURRENT, ("units",), "units"),
    "gru": (_RECURRENT, ("units",), "units"),
    "bidirectional": (("layer", "merge_mode"), ("layer",), "layer"),
}
_CLASSES = {"rnn": nn.SimpleRNN, "lstm": nn.LSTMLayer, "gru": nn.GRULayer}
_MERGES = ("concat", "sum", "mul", "ave")


def validate_sequence_layer(kind: str, a: dict[str, Any], p: str) -> dict[str, Any]:
    """Check one sequence layer's settings (keys already checked); returns them with
    defaults."""
    f = lambda k: join_path(p, k)  # noqa: E731
    if kind == "embedding":
        out: dict[str, Any] = {"input_dim": as_int(a["input_dim"], f("input_dim")),
                               "output_dim": as_int(a["output_dim"], f("output_dim"))}
        pad = a.get("padding_idx")
        if pad is not None:
            pad = as_int(pad, f("padding_idx"), 0)
            if pad >= out["input_dim"]:
                raise ConfigError(f("padding_idx"), f"must be below input_dim "
                                  f"({out['input_dim']}), got {pad}")
        out["padding_idx"] = pad
        return out
    if kind == "bidirectional":
        from .layers import validate_layer  # noqa: PLC0415 - layers imports us

        inner = validate_layer(a["layer"], f("layer"))
        inner_kind = next(iter(inner))
        if inner_kind not in _CLASSES:
            raise ConfigError(f("layer"), f"expected a recurrent layer (rnn, lstm or gru), "
                              f"got {show(inner_kind)}")
        merge = as_choice(a.get("merge_mode", "concat"), f("merge_mode"), _MERGES, "merge_mode")
        return {"layer": inner, "merge_mode": merge}
    out = {"units": as_int(a["units"], f("units")),
           "return_sequences": as_bool(a.get("return_sequences", False), f("return_sequences")),
           "go_backwards": as_bool(a.get("go_backwards", False), f("go_backwards")),
           "use_bias": as_bool(a.get("use_bias", True), f("use_bias"))}
    if kind == "rnn":
        out["activation"] = as_choice(a.get("activation", "tanh"), f("activation"),
                                      ("tanh", "relu"), "activation")
    return out


def make_sequence_layers(kind: str, a: dict[str, Any], shape: tuple[int, ...],
                         p: str) -> list[nn.Module]:
    """The module for one validated sequence layer, given the per-example input shape."""
    if kind == "embedding":
        if len(shape) != 1:
            raise ConfigError(p, f"needs a sequence of token ids (time,), but its input has "
                              f"shape {shape}")
        return [nn.Embedding(a["input_dim"], a["output_dim"], padding_idx=a["padding_idx"])]
    if len(shape) != 2:
        raise ConfigError(p, f"needs sequence input (time, features), but its input has shape "
                          f"{shape}; put an embedding before it, or give the data that shape")
    if kind == "bidirectional":
        inner_kind, inner = next(iter(a["layer"].items()))
        layer = _CLASSES[inner_kind](**as_mapping(inner, p), input_dim=shape[1])
        return [nn.Bidirectional(layer, merge_mode=a["merge_mode"])]
    return [_CLASSES[kind](**a, input_dim=shape[1])]

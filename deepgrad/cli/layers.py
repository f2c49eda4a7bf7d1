"""The ``model:`` section of a config: a list of layers (or a graph, see
:mod:`deepgrad.cli.graph_config`), validated entry by entry and built with each layer's
input shape inferred from the data (no sizes to repeat).

Vocabulary: layer settings use Keras's names (``units``, ``filters``, ``kernel_size``,
``strides``, ``use_bias``, ``kernel_initializer``, ``pool_size``, ``rate``, ``epsilon``);
PyTorch's names are accepted as aliases (``stride``, ``bias``, ``eps``, ``p``,
``out_features``, ``out_channels``, and ``kernel_size`` for pools). Keys of earlier
deepgrad versions (``init``, an activation layer's ``name``) still work and print a
deprecation warning once. Default initialization, one rule for every layer with weights:
Keras's, kernel ``glorot_uniform`` and bias ``zeros``; ``kernel_initializer: pytorch``
gives PyTorch's (kaiming_uniform(a=√5) weights, U(±1/√fan_in) biases).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from .. import nn
from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from ..nn import init as _init
from ..nn.activation import ACTIVATIONS
from ..nn.init import INITIALIZERS
from .errors import ConfigError
from .layers_seq import SEQUENCE_KINDS, make_sequence_layers, validate_sequence_layer
from .schema import (
    as_bool,
    as_choice,
    as_float,
    as_int,
    as_mapping,
    as_pair,
    as_str,
    check_keys,
    join_path,
    show,
)

__all__ = ["LAYER_KINDS", "KEY_ALIASES", "DEPRECATED_KEYS", "validate_model", "build_model",
           "validate_layer", "make_layers", "warn_once"]

# kind -> (valid keys, required keys, key a scalar value stands for). Keras's key names.
# Other parts add kinds here; _layer validates known kinds' values, make_layers builds them.
LAYER_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str | None]] = {
    "dense": (("units", "activation", "use_bias", "kernel_initializer", "bias_initializer"),
              ("units",), "units"),
    "conv2d": (("filters", "kernel_size", "strides", "padding", "activation", "use_bias",
                "kernel_initializer", "bias_initializer"), ("filters", "kernel_size"), None),
    "maxpool2d": (("pool_size", "strides", "padding"), (), "pool_size"),
    "avgpool2d": (("pool_size", "strides", "padding"), (), "pool_size"),
    "globalavgpool2d": ((), (), None),
    "flatten": ((), (), None),
    "dropout": (("rate",), (), "rate"),
    "batchnorm": (("momentum", "epsilon"), (), None),
    "layernorm": (("epsilon",), (), None),
    "activation": (("activation",), ("activation",), "activation"),
    **SEQUENCE_KINDS,  # embedding, rnn, lstm, gru, bidirectional (layers_seq.py)
}

# PyTorch's name -> Keras's; used where the kind knows the Keras key and not the alias.
KEY_ALIASES: dict[str, str] = {
    "stride": "strides", "bias": "use_bias", "eps": "epsilon", "p": "rate",
    "out_features": "units", "hidden_size": "units", "out_channels": "filters",
    "kernel_size": "pool_size",
}
# keys of earlier deepgrad versions -> Keras's: accepted with a deprecation warning
DEPRECATED_KEYS: dict[str, str] = {"init": "kernel_initializer", "name": "activation"}

PYTORCH_INIT = "pytorch"
_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Print ``deepgrad: warning: message`` on stderr, once per ``key`` per process."""
    if key not in _warned:
        _warned.add(key)
        print(f"deepgrad: warning: {message}", file=sys.stderr)


def _canonical_keys(kind: str, args: dict[str, Any], path: str) -> dict[str, Any]:
    """Rename PyTorch aliases and deprecated keys to this kind's Keras names."""
    valid = LAYER_KINDS[kind][0]
    out: dict[str, Any] = {}
    given: dict[str, str] = {}  # canonical key -> the key it was given as
    for k, v in args.items():
        new = k
        if k not in valid:
            if KEY_ALIASES.get(k) in valid:
                new = KEY_ALIASES[k]
            elif DEPRECATED_KEYS.get(k) in valid:
                new = DEPRECATED_KEYS[k]
                warn_once(f"{kind}.{k}", f"{join_path(path, k)}: '{k}' is deprecated in "
                          f"{kind} layers; use '{new}' (same values)")
        if new in out:
            a, b = sorted((given[new], k), key=lambda key: key != new)
            raise ConfigError(join_path(path, b), f"'{b}' and '{a}' name the same "
                              "setting; give one of them")
        out[new], given[new] = v, k
    return out


def _entry(entry: Any, path: str, graph: bool = False) -> tuple[str, dict[str, Any]]:
    """Normalize ``"flatten"``, ``{"dropout": 0.2}``, ``{"dense": {...}}`` to (kind, args)."""
    if isinstance(entry, str):
        key = entry.lower()
        if key in ACTIVATIONS:
            return "activation", {"activation": key}
        kind, args = key, None
    elif isinstance(entry, dict) and len(entry) == 1:
        kind, args = next(iter(entry.items()))
        if not isinstance(kind, str):
            raise ConfigError(path, f"expected a layer name as key, got {show(kind)}")
        kind = kind.lower()
    else:
        raise ConfigError(path, "expected a layer: a name (e.g. flatten, relu) or a mapping "
                          f"with one key (e.g. {{dense: {{units: 64}}}}), got {show(entry)}")
    return _kind_args(kind, args, path, graph)


def _kind_args(kind: str, args: Any, path: str, graph: bool = False
               ) -> tuple[str, dict[str, Any]]:
    if kind in ACTIVATIONS and args is None:
        return "activation", {"activation": kind}
    if kind not in LAYER_KINDS:
        from .graph_config import MERGE_KINDS  # noqa: PLC0415 - graph_config imports us

        if kind in MERGE_KINDS and not graph:
            raise ConfigError(path, f"{kind!r} merges several layers' outputs: declare the "
                              "model as a graph, a mapping with layers (each with a name "
                              "and inputs) and outputs")
        valid = sorted(LAYER_KINDS) + (sorted(MERGE_KINDS) if graph else []) + \
            ["<activation name>"]
        raise ConfigError(path, f"unknown layer {show(kind)}; valid layers: {', '.join(valid)}")
    _keys, _required, scalar = LAYER_KINDS[kind]
    if args is None:
        args = {}
    elif not isinstance(args, dict):
        if scalar is None:
            raise ConfigError(join_path(path, kind),
                              f"expected a mapping of settings, got {show(args)}")
        args = {scalar: args}
    return kind, dict(args)


def _activation(v: Any, path: str) -> str | None:
    if v is None:
        return None
    return as_choice(v, path, ACTIVATIONS, "activation")


def _initializers(a: dict[str, Any], f: Any) -> dict[str, Any]:
    kernel = as_choice(a.get("kernel_initializer", "glorot_uniform"), f("kernel_initializer"),
                       [*INITIALIZERS, PYTORCH_INIT], "initializer")
    default_bias = None if kernel == PYTORCH_INIT else "zeros"
    bias = a.get("bias_initializer", default_bias)
    if bias is not None:
        bias = as_choice(bias, f("bias_initializer"), INITIALIZERS, "initializer")
    return {"kernel_initializer": kernel, "bias_initializer": bias}


def _conv_or_dense(kind: str, a: dict[str, Any], f: Any) -> dict[str, Any]:
    if kind == "dense":
        out: dict[str, Any] = {"units": as_int(a["units"], f("units"))}
    else:
        pad = a.get("padding", 0)
        if isinstance(pad, str):
            pad = as_choice(pad, f("padding"), ("same", "valid"), "padding")
        else:
            pad = as_pair(pad, f("padding"), 0)
        out = {"filters": as_int(a["filters"], f("filters")),
               "kernel_size": as_pair(a["kernel_size"], f("kernel_size")),
               "strides": as_pair(a.get("strides", 1), f("strides")), "padding": pad}
        if pad == "same" and out["strides"] not in (1, (1, 1)):
            raise ConfigError(f("padding"), "'same' needs strides 1")
    out["activation"] = _activation(a.get("activation"), f("activation"))
    out["use_bias"] = as_bool(a.get("use_bias", True), f("use_bias"))
    out.update(_initializers(a, f))
    return out


def _layer(kind: str, a: dict[str, Any], p: str) -> dict[str, Any]:
    """Validate one layer's settings; returns them with defaults filled in."""
    keys, required, _ = LAYER_KINDS[kind]
    a = _canonical_keys(kind, a, p)
    check_keys(a, p, keys, required)
    f = lambda k: join_path(p, k)  # noqa: E731
    if kind in ("dense", "conv2d"):
        out = _conv_or_dense(kind, a, f)
    elif kind in ("maxpool2d", "avgpool2d"):
        out = {"pool_size": as_pair(a.get("pool_size", 2), f("pool_size")),
               "strides": None if a.get("strides") is None else as_pair(a["strides"],
                                                                        f("strides")),
               "padding": as_pair(a.get("padding", 0), f("padding"), 0)}
    elif kind == "dropout":
        out = {"rate": as_float(a.get("rate", 0.5), f("rate"), 0.0, 1.0, high_open=True)}
    elif kind == "batchnorm":
        out = {"momentum": as_float(a.get("momentum", 0.1), f("momentum"), 0.0, 1.0),
               "epsilon": as_float(a.get("epsilon", 1e-5), f("epsilon"), 0.0, low_open=True)}
        if out["momentum"] > 0.5:
            warn_once("batchnorm.momentum", f"{f('momentum')}: {out['momentum']:g} is the "
                      "weight of each new batch in the running statistics (PyTorch's "
                      "momentum, default 0.1); Keras's momentum m is 1 - m here (0.99 -> 0.01)")
    elif kind == "layernorm":
        out = {"epsilon": as_float(a.get("epsilon", 1e-5), f("epsilon"), 0.0, low_open=True)}
    elif kind == "activation":
        out = {"activation": as_choice(as_str(a["activation"], f("activation")),
                                       f("activation"), ACTIVATIONS, "activation")}
    elif kind in SEQUENCE_KINDS:
        out = validate_sequence_layer(kind, a, p)
    else:
        out = dict(a)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def validate_layer(entry: Any, path: str, graph: bool = False) -> dict[str, dict[str, Any]]:
    """One layer entry as ``{kind: {settings with defaults}}`` (ConfigError naming ``path``;
    ``graph``: the entry is a graph's node, so merge kinds are named among the valid)."""
    kind, args = _entry(entry, path, graph)
    return {kind: _layer(kind, as_mapping(args, join_path(path, kind)), join_path(path, kind))}


def validate_model(model: Any, path: str = "model") -> Any:
    """Check the ``model:`` section: a list of layers, returned as ``[{kind: {settings}}]``
    with defaults, or a graph (a mapping with ``layers:`` and ``outputs:``, see
    :func:`deepgrad.cli.graph_config.validate_graph`)."""
    if isinstance(model, dict) and "pretrained" in model:
        from .pretrained import validate_pretrained  # noqa: PLC0415 - it imports us

        return validate_pretrained(model, path)
    if isinstance(model, dict):
        from .graph_config import validate_graph  # noqa: PLC0415 - graph_config imports us

        return validate_graph(model, path)
    if not isinstance(model, list) or not model:
        raise ConfigError(path, f"expected a non-empty list of layers (or a graph: a mapping "
                          f"with layers and outputs), got {show(model)}")
    return [validate_layer(entry, join_path(path, i)) for i, entry in enumerate(model)]


def _tup(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _pytorch_bias(fan_in: int) -> Any:
    bound = 1.0 / math.sqrt(fan_in)
    return lambda t, rng=None: _init.uniform_(t, -bound, bound, rng=rng)


def _pytorch_weight(t: Tensor, rng: Any = None) -> Tensor:
    return _init.kaiming_uniform_(t, a=math.sqrt(5), rng=rng)


def _weighted(kind: str, a: dict[str, Any], shape: tuple[int, ...]) -> nn.Module:
    """A dense or conv2d layer with the configured initialization."""
    torch_init = a["kernel_initializer"] == PYTORCH_INIT
    if kind == "dense":
        bias_init = a["bias_initializer"] or _pytorch_bias(shape[0])
        return nn.Dense(a["units"], activation=a["activation"], use_bias=a["use_bias"],
                        input_dim=shape[0], bias_initializer=bias_init,
                        kernel_initializer=_pytorch_weight if torch_init
                        else a["kernel_initializer"])
    conv = nn.Conv2d(shape[0], a["filters"], _tup(a["kernel_size"]), stride=_tup(a["strides"]),
                     padding=_tup(a["padding"]), bias=a["use_bias"],
                     init=None if torch_init else a["kernel_initializer"])
    if conv.bias is not None and a["bias_initializer"] is not None:
        _init.get_initializer(a["bias_initializer"])(conv.bias)
    return conv


def make_layers(kind: str, a: dict[str, Any], shape: tuple[int, ...], p: str) -> list[nn.Module]:
    """The module(s) for one validated layer, given the per-example input ``shape``."""
    image = len(shape) == 3
    if kind in ("conv2d", "maxpool2d", "avgpool2d", "globalavgpool2d") and not image:
        raise ConfigError(p, f"needs image input (channels, height, width), but its input "
                          f"has shape {shape}; set data.preprocessing.layout: image")
    if kind == "dense":
        if len(shape) != 1:
            raise ConfigError(p, f"needs flat input, but its input has shape {shape}; add a "
                              "flatten layer before it (or data.preprocessing.layout: flat)")
        return [_weighted(kind, a, shape)]
    if kind == "conv2d":
        layers: list[nn.Module] = [_weighted(kind, a, shape)]
        if a["activation"] is not None:
            layers.append(ACTIVATIONS[a["activation"]]())
        return layers
    if kind in ("maxpool2d", "avgpool2d"):
        cls = nn.MaxPool2d if kind == "maxpool2d" else nn.AvgPool2d
        return [cls(_tup(a["pool_size"]), _tup(a["strides"]), _tup(a["padding"]))]
    if kind == "globalavgpool2d":
        return [nn.GlobalAvgPool2d()]
    if kind == "flatten":
        return [nn.Flatten()]
    if kind == "dropout":
        return [nn.Dropout(a["rate"])]
    if kind == "batchnorm":
        cls = nn.BatchNorm2d if image else nn.BatchNorm1d
        if len(shape) not in (1, 3):
            raise ConfigError(p, f"needs flat or image input, got shape {shape}")
        return [cls(shape[0], eps=a["epsilon"], momentum=a["momentum"])]
    if kind == "layernorm":
        return [nn.LayerNorm(shape, eps=a["epsilon"])]
    if kind == "activation":
        return [ACTIVATIONS[a["activation"]]()]
    if kind in SEQUENCE_KINDS:
        return make_sequence_layers(kind, a, shape, p)
    raise ConfigError(p, f"the layer kind {kind!r} has no builder")


def build_model(spec: Any, input_shape: tuple[int, ...], path: str = "model") -> nn.Module:
    """The model of a validated spec: a Sequential from a list (each layer's input size
    comes from running a zero example through the layers before it), a graph Model from a
    graph.

    Raises:
        ConfigError: naming the layer whose input doesn't fit.
    """
    if isinstance(spec, dict) and "pretrained" in spec:
        from .pretrained import build_pretrained  # noqa: PLC0415 - it imports us

        return build_pretrained(spec, input_shape, path)
    if isinstance(spec, dict):
        from .graph_config import build_graph  # noqa: PLC0415 - graph_config imports us

        return build_graph(spec, input_shape, path)
    layers: list[nn.Module] = []
    shape = tuple(int(s) for s in input_shape)
    for i, entry in enumerate(spec):
        kind, args = next(iter(entry.items()))
        p = join_path(join_path(path, i), kind)
        try:
            new = make_layers(kind, args, shape, p)
            x = Tensor(np.zeros((1, *shape), dtype=get_default_dtype()))
            with no_grad():
                for m in new:
                    m.eval()
                    x = m(x)
                    m.train()
        except ValueError as e:
            raise ConfigError(p, f"doesn't fit its input of shape {shape}: {e}") from None
        shape = tuple(int(s) for s in x.shape[1:])
        if 0 in shape:
            raise ConfigError(p, f"its output is empty (shape {shape}): the input is too "
                              "small for this kernel/stride")
        layers.extend(new)
    return nn.Sequential(*layers)

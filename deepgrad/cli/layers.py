"""The ``model:`` section of a config: a list of layers, validated entry by entry and
built with each layer's input shape inferred from the data (no sizes to repeat)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from ..nn.activation import ACTIVATIONS
from ..nn.init import INITIALIZERS
from .errors import ConfigError
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

__all__ = ["LAYER_KINDS", "validate_model", "build_model"]

# kind -> (valid keys, required keys, key a scalar value stands for)
LAYER_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str | None]] = {
    "dense": (("units", "activation", "use_bias", "kernel_initializer", "bias_initializer"),
              ("units",), "units"),
    "conv2d": (("filters", "kernel_size", "stride", "padding", "activation", "init", "bias"),
               ("filters", "kernel_size"), None),
    "maxpool2d": (("kernel_size", "stride", "padding"), (), "kernel_size"),
    "avgpool2d": (("kernel_size", "stride", "padding"), (), "kernel_size"),
    "globalavgpool2d": ((), (), None),
    "flatten": ((), (), None),
    "dropout": (("rate",), (), "rate"),
    "batchnorm": (("momentum", "eps"), (), None),
    "layernorm": (("eps",), (), None),
    "activation": (("name",), ("name",), "name"),
}


def _entry(entry: Any, path: str) -> tuple[str, dict[str, Any]]:
    """Normalize ``"flatten"``, ``{"dropout": 0.2}``, ``{"dense": {...}}`` to (kind, args)."""
    if isinstance(entry, str):
        key = entry.lower()
        if key in ACTIVATIONS:
            return "activation", {"name": key}
        kind, args = key, None
    elif isinstance(entry, dict) and len(entry) == 1:
        kind, args = next(iter(entry.items()))
        if not isinstance(kind, str):
            raise ConfigError(path, f"expected a layer name as key, got {show(kind)}")
        kind = kind.lower()
    else:
        raise ConfigError(path, "expected a layer: a name (e.g. flatten, relu) or a mapping "
                          f"with one key (e.g. {{dense: {{units: 64}}}}), got {show(entry)}")
    if kind in ACTIVATIONS and args is None:
        return "activation", {"name": kind}
    if kind not in LAYER_KINDS:
        valid = sorted(LAYER_KINDS) + ["<activation name>"]
        raise ConfigError(path, f"unknown layer {show(kind)}; valid layers: {', '.join(valid)}")
    keys, _required, scalar = LAYER_KINDS[kind]
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


def _layer(kind: str, a: dict[str, Any], p: str) -> dict[str, Any]:
    """Validate one layer's settings; returns them with defaults filled in."""
    keys, required, _ = LAYER_KINDS[kind]
    check_keys(a, p, keys, required)
    f = lambda k: join_path(p, k)  # noqa: E731
    if kind == "dense":
        out = {"units": as_int(a["units"], f("units")),
               "activation": _activation(a.get("activation"), f("activation")),
               "use_bias": as_bool(a.get("use_bias", True), f("use_bias")),
               "kernel_initializer": as_choice(a.get("kernel_initializer", "glorot_uniform"),
                                               f("kernel_initializer"), INITIALIZERS,
                                               "initializer"),
               "bias_initializer": as_choice(a.get("bias_initializer", "zeros"),
                                             f("bias_initializer"), INITIALIZERS,
                                             "initializer")}
    elif kind == "conv2d":
        pad = a.get("padding", 0)
        if isinstance(pad, str):
            pad = as_choice(pad, f("padding"), ("same", "valid"), "padding")
        else:
            pad = as_pair(pad, f("padding"), 0)
        out = {"filters": as_int(a["filters"], f("filters")),
               "kernel_size": as_pair(a["kernel_size"], f("kernel_size")),
               "stride": as_pair(a.get("stride", 1), f("stride")), "padding": pad,
               "activation": _activation(a.get("activation"), f("activation")),
               "init": None if a.get("init") is None else
               as_choice(a["init"], f("init"), INITIALIZERS, "initializer"),
               "bias": as_bool(a.get("bias", True), f("bias"))}
        if pad == "same" and out["stride"] not in (1, (1, 1)):
            raise ConfigError(f("padding"), "'same' needs stride 1")
    elif kind in ("maxpool2d", "avgpool2d"):
        out = {"kernel_size": as_pair(a.get("kernel_size", 2), f("kernel_size")),
               "stride": None if a.get("stride") is None else as_pair(a["stride"], f("stride")),
               "padding": as_pair(a.get("padding", 0), f("padding"), 0)}
    elif kind == "dropout":
        out = {"rate": as_float(a.get("rate", 0.5), f("rate"), 0.0, 1.0, high_open=True)}
    elif kind == "batchnorm":
        out = {"momentum": as_float(a.get("momentum", 0.1), f("momentum"), 0.0, 1.0),
               "eps": as_float(a.get("eps", 1e-5), f("eps"), 0.0, low_open=True)}
    elif kind == "layernorm":
        out = {"eps": as_float(a.get("eps", 1e-5), f("eps"), 0.0, low_open=True)}
    elif kind == "activation":
        out = {"name": as_choice(as_str(a["name"], f("name")), f("name"), ACTIVATIONS,
                                 "activation")}
    else:
        out = {}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def validate_model(model: Any, path: str = "model") -> list[dict[str, Any]]:
    """Check the ``model:`` list; returns it as ``[{kind: {settings}}, ...]`` with defaults."""
    if not isinstance(model, list) or not model:
        raise ConfigError(path, f"expected a non-empty list of layers, got {show(model)}")
    out = []
    for i, entry in enumerate(model):
        p = join_path(path, i)
        kind, args = _entry(entry, p)
        out.append({kind: _layer(kind, as_mapping(args, join_path(p, kind)),
                                 join_path(p, kind))})
    return out


def _tup(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _make(kind: str, a: dict[str, Any], shape: tuple[int, ...], p: str) -> list[nn.Module]:
    """The module(s) for one validated layer, given the per-example input ``shape``."""
    image = len(shape) == 3
    if kind in ("conv2d", "maxpool2d", "avgpool2d", "globalavgpool2d") and not image:
        raise ConfigError(p, f"needs image input (channels, height, width), but its input "
                          f"has shape {shape}; set data.preprocessing.layout: image")
    if kind == "dense":
        if len(shape) != 1:
            raise ConfigError(p, f"needs flat input, but its input has shape {shape}; add a "
                              "flatten layer before it (or data.preprocessing.layout: flat)")
        return [nn.Dense(a["units"], activation=a["activation"], use_bias=a["use_bias"],
                         input_dim=shape[0], kernel_initializer=a["kernel_initializer"],
                         bias_initializer=a["bias_initializer"])]
    if kind == "conv2d":
        layers: list[nn.Module] = [nn.Conv2d(shape[0], a["filters"], _tup(a["kernel_size"]),
                                             stride=_tup(a["stride"]),
                                             padding=_tup(a["padding"]), bias=a["bias"],
                                             init=a["init"])]
        if a["activation"] is not None:
            layers.append(ACTIVATIONS[a["activation"]]())
        return layers
    if kind in ("maxpool2d", "avgpool2d"):
        cls = nn.MaxPool2d if kind == "maxpool2d" else nn.AvgPool2d
        return [cls(_tup(a["kernel_size"]), _tup(a["stride"]), _tup(a["padding"]))]
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
        return [cls(shape[0], eps=a["eps"], momentum=a["momentum"])]
    if kind == "layernorm":
        return [nn.LayerNorm(shape, eps=a["eps"])]
    return [ACTIVATIONS[a["name"]]()]


def build_model(spec: list[dict[str, Any]], input_shape: tuple[int, ...],
                path: str = "model") -> nn.Sequential:
    """A Sequential from a validated spec; each layer's input size comes from running a
    zero example through the layers before it.

    Raises:
        ConfigError: naming the layer whose input doesn't fit.
    """
    layers: list[nn.Module] = []
    shape = tuple(int(s) for s in input_shape)
    for i, entry in enumerate(spec):
        kind, args = next(iter(entry.items()))
        p = join_path(join_path(path, i), kind)
        try:
            new = _make(kind, args, shape, p)
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

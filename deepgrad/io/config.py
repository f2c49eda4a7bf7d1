"""Model architecture <-> JSON config: each layer is its class name and the arguments it
was constructed with (recorded by ``Module`` at construction), nested for containers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn.graph import LAYER_CONFIG, Model
from ..nn.init import init_skipped, skip_init
from ..nn.module import Module

__all__ = ["register_module", "get_module_class", "module_to_config", "module_from_config"]

# Arguments that only affect initialization (the weights are stored anyway): dropped.
_INIT_ONLY = {"rng", "seed", "init", "kernel_initializer", "bias_initializer", "generator"}
_REGISTRY: dict[str, type[Module]] = {}


def register_module(cls: type[Module] | None = None, *, name: str | None = None) -> Any:
    """Register a custom layer class so saved models using it can be loaded.

    Use as ``@register_module`` or ``@register_module(name="MyBlock")``. Classes defined
    anywhere are also found by name when their module has been imported; registering
    makes the name explicit and stable.
    """

    def deco(c: type[Module]) -> type[Module]:
        if not (isinstance(c, type) and issubclass(c, Module)):
            raise TypeError(f"register_module expects a Module subclass, got {c!r}")
        key = name or c.__name__
        other = _REGISTRY.get(key)
        if other is not None and other is not c:
            raise ValueError(f"a layer class is already registered as {key!r}: {other!r}")
        _REGISTRY[key] = c
        return c

    return deco(cls) if cls is not None else deco


def _all_subclasses(cls: type) -> list[type]:
    out, todo = [], [cls]
    while todo:
        c = todo.pop()
        for s in c.__subclasses__():
            out.append(s)
            todo.append(s)
    return out


def _class_name(cls: type[Module]) -> str:
    for k, v in _REGISTRY.items():
        if v is cls:
            return k
    return cls.__name__


def get_module_class(name: str) -> type[Module]:
    """The layer class saved under ``name`` (registered, or any imported Module subclass)."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    found = {c for c in _all_subclasses(Module) if c.__name__ == name}
    if len(found) == 1:
        return found.pop()
    if not found:
        raise ValueError(
            f"unknown layer class {name!r}: import the module that defines it, or register "
            "it with deepgrad.io.register_module"
        )
    raise ValueError(f"several layer classes are named {name!r}: register one explicitly")


def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"__dtype__": np.dtype(value).name}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"{where}: dict arguments need string keys")
        return {"__dict__": {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, Module):
        return {"__module__": module_to_config(value)}
    raise ValueError(
        f"{where}: cannot save an argument of type {type(value).__name__} ({value!r}); "
        "pass numbers, strings or layers, or give the layer a get_config() method"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dtype__" in value:
            return np.dtype(value["__dtype__"])
        if "__dict__" in value:
            return {k: _decode(v) for k, v in value["__dict__"].items()}
        if "__module__" in value:
            return module_from_config(value["__module__"])
        raise ValueError(f"unrecognised config entry {value!r}")
    return value


def module_to_config(module: Module) -> dict[str, Any]:
    """``{"class": name, "args": [...], "kwargs": {...}}`` for ``module`` (JSON-able).

    A layer may define ``get_config() -> dict`` (its keyword arguments, and positional
    ones under ``"*args"``); otherwise the arguments recorded at construction are used.
    """
    cls = type(module)
    name = _class_name(cls)
    if isinstance(module, Model) and module.is_graph:  # Keras's functional model: the graph
        return {"class": name, "graph": module.get_config()}
    getter = getattr(module, "get_config", None)
    if isinstance(module, Model) and getter is not None and \
            getattr(cls, "get_config", None) is Model.get_config:
        getter = None  # a Model subclassed without a graph: its recorded arguments
    if callable(getter):
        kwargs = dict(getter())
        args: tuple[Any, ...] = tuple(kwargs.pop("*args", ()))
    else:
        rec = getattr(module, "_init_args", None)
        if rec is None:
            raise ValueError(f"{name}: its constructor arguments were not recorded")
        args, kwargs = rec
    kwargs = {k: v for k, v in kwargs.items() if k not in _INIT_ONLY}
    return {
        "class": name,
        "args": [_encode(a, f"{name} argument {i}") for i, a in enumerate(args)],
        "kwargs": {k: _encode(v, f"{name}({k}=...)") for k, v in kwargs.items()},
    }


def _construct(cls: type[Module], name: str, args: list[Any], kwargs: dict[str, Any]) -> Module:
    try:
        return cls(*args, **kwargs)
    except TypeError as e:
        raise ValueError(f"cannot rebuild layer {name} from its config: {e}") from e


def module_from_config(config: dict[str, Any]) -> Module:
    """Rebuild a layer (with fresh weights) from :func:`module_to_config`'s output.

    Inside ``deepgrad.nn.init.skip_init()`` the layers get placeholders instead of weights;
    a layer whose constructor fails so is then built normally (around the sub-layers
    already built), so only its own weights are allocated.
    """
    try:
        name = config["class"]
        args = config.get("args", [])
        kwargs = config.get("kwargs", {})
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"malformed layer config {config!r}") from e
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError(f"malformed layer config {config!r}")
    cls = get_module_class(name)
    if "graph" in config:
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise ValueError(f"malformed layer config: {name} is not a graph Model")
        return cls.from_config(config["graph"], layer_builder=module_from_config)
    args = [_decode(a) for a in args]
    kwargs = {k: _decode(v) for k, v in kwargs.items()}
    if init_skipped():
        try:
            return cls(*args, **kwargs)
        except Exception:  # retried below, where its real error shows
            pass
        with skip_init(False):
            return _construct(cls, name, args, kwargs)
    return _construct(cls, name, args, kwargs)


LAYER_CONFIG["to"] = module_to_config  # what graph models serialize their layers with
LAYER_CONFIG["from"] = module_from_config

"""Collecting the nodes and initializers of an ONNX graph being exported."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._proto import require_onnx

__all__ = ["Emitter", "pair", "param_dtype", "scalar"]


class Emitter:
    """Nodes and initializers of a graph being written, with unique value names.

    A parameter used twice (a layer called twice) becomes one initializer.
    """

    def __init__(self, opset: int, model: Any = None, dtype: Any = np.float32) -> None:
        self.opset = opset
        self.dtype = np.dtype(dtype)
        self.shapes: dict[str, tuple[int, ...]] = {}  # value name -> shape (example input)
        self.call_kwargs: dict[str, Any] = {}  # keyword arguments of the layer call emitted
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names: set[str] = set()
        self._params: dict[int, str] = {}
        self._param_names = {id(p): n for n, p in model.named_parameters()} if model else {}
        self._param_names.update({id(b): n for n, b in model.named_buffers()} if model else {})

    def fresh(self, hint: str) -> str:
        base = hint or "v"
        name, k = base, 1
        while name in self._names:
            name, k = f"{base}_{k}", k + 1
        self._names.add(name)
        return name

    def node(self, op: str, inputs: list[str], name: str | None = None,
             outputs: list[str] | None = None, **attrs: Any) -> str:
        """Add a node; returns its (first) output's name."""
        h = require_onnx().helper
        outs = outputs or [self.fresh(f"{name or op}_out")]
        for o in outs:
            self._names.add(o)
        clean = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(h.make_node(op, inputs, outs, name=self.fresh(name or op), **clean))
        return outs[0]

    def const(self, value: Any, hint: str, dtype: Any = None) -> str:
        """A new initializer holding ``value``."""
        numpy_helper = require_onnx().numpy_helper
        a = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.array(a, order="C"), name))
        return name

    def param(self, t: Any, hint: str, transform: Any = None) -> str:
        """The initializer of a parameter or buffer (one per tensor and transform)."""
        key = id(t) if transform is None else (id(t), transform.__name__)
        if key in self._params:
            return self._params[key]
        a = t.data
        if hasattr(a, "get") and not isinstance(a, np.ndarray):  # CuPy
            a = a.get()
        a = np.asarray(a)
        if transform is not None:
            a = transform(a)
        name = self.const(a, self._param_names.get(id(t), hint) if transform is None else hint)
        self._params[key] = name
        return name

    def rename_output(self, src: str, dst: str) -> None:
        """Make the value ``src`` a graph output named ``dst``: renamed where it is made when
        nothing else reads it, else copied by an Identity node."""
        producers = [n for n in self.nodes if src in n.output]
        readers = [n for n in self.nodes if src in n.input]
        if len(producers) == 1 and not readers and dst not in self._names:
            out = producers[0].output
            out[list(out).index(src)] = dst
            self._names.add(dst)
        else:
            self.node("Identity", [src], name=f"{dst}_identity", outputs=[dst])


def pair(v: Any) -> list[int]:
    return [int(v), int(v)] if isinstance(v, int) else [int(i) for i in v]


def scalar(em: Emitter, value: float, hint: str, dtype: Any = None) -> str:
    return em.const(np.asarray(value, dtype=em.dtype if dtype is None else dtype), hint)


def param_dtype(layer: Any, em: Emitter | None = None) -> Any:
    for p in layer.parameters():
        return p.data.dtype
    return em.dtype if em is not None else np.float32

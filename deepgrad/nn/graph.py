"""Model: a network declared as a graph of layer calls (Keras's functional API).

>>> inputs = Input(784)
>>> hidden = Dense(64, activation="relu")(inputs)
>>> outputs = Dense(10)(hidden)
>>> model = Model(inputs, outputs)

The model runs the recorded nodes in topological order; a layer called twice shares its
weights. ``Model`` subclassed without inputs and outputs is a plain :class:`Module`
(Keras's subclassing API).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd.ops.math import relu
from ..autograd.tensor import Tensor
from . import module as _module
from .container import relu_then_pool
from .module import Module
from .symbolic import Node, SymbolicTensor, layer_label

__all__ = ["Model"]

LAYER_CONFIG: dict[str, Callable[..., Any]] = {}
"""Layer <-> config functions, installed by ``deepgrad.io.config`` (nn cannot import io):
"to" (``module_to_config``) and "from" (``module_from_config``)."""


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s).lower()


def _flatten(spec: Any, what: str, model: str) -> tuple[list[SymbolicTensor], Any]:
    """(tensors, structure): structure is "single", a list length, or the dict's keys."""
    if isinstance(spec, SymbolicTensor):
        return [spec], "single"
    if isinstance(spec, dict):
        items = list(spec.items())
    elif isinstance(spec, list | tuple) and len(spec) > 0:
        items = list(enumerate(spec))
    else:
        raise ValueError(f"Model {model!r}: {what} must be a SymbolicTensor, a non-empty list "
                         f"or a dict of them, got {type(spec).__name__}")
    for k, t in items:
        if not isinstance(t, SymbolicTensor):
            raise ValueError(f"Model {model!r}: {what}[{k!r}] is a {type(t).__name__}, not a "
                             "SymbolicTensor (from deepgrad.Input or a layer called on one)")
    keys = [k for k, _ in items] if isinstance(spec, dict) else len(items)
    return [t for _, t in items], keys


#: how ``Model._run`` computes a node from its one input x (``simple`` in the program;
#: other nodes are general calls): layer(x), x itself (a ReLU whose only reader is the
#: max-pooling after it), relu(layer(x)) (that pooling)
_GENERAL, _SIMPLE, _DEFERRED, _POOL_RELU = 0, 1, 2, 3


def _swap_relu_pool(program: list[list[Any]], out_slots: list[int]) -> list[list[Any]]:
    """Mark each ReLU node read only by one max-pooling node (neither of them a model
    output) to run after the pooling, as ``Sequential`` does (see
    ``container.relu_then_pool``)."""
    readers: dict[int, int] = {}
    for e in program:
        for p in e[2]:
            readers[p] = readers.get(p, 0) + 1
    by_slot = {e[0]: e for e in program}
    for e in program:
        act = by_slot.get(e[2][0]) if e[5] == _SIMPLE else None
        if (act is not None and act[5] == _SIMPLE and relu_then_pool(act[1], e[1])
                and readers[act[0]] == 1 and act[0] not in out_slots
                and e[0] not in out_slots):  # an output may be computed by a special fn
            act[5], e[5] = _DEFERRED, _POOL_RELU
    return program


def _topological(outputs: list[SymbolicTensor], inputs: list[SymbolicTensor],
                 model: str) -> list[Node]:
    """The nodes the outputs depend on, parents first; ValueError if one needs a missing
    Input."""
    input_ids = {t.node.id for t in inputs}
    order: list[Node] = []
    done: set[int] = set()
    for k, out in enumerate(outputs):
        stack: list[tuple[Node, bool, Node | None]] = [(out.node, False, None)]
        while stack:
            node, expanded, user = stack.pop()
            if node.id in done:
                continue
            if expanded or node.id in input_ids:
                done.add(node.id)
                order.append(node)
                continue
            if node.layer is None:
                what = f"Input {node.input_name!r}" if node.input_name else "an Input"
                via = f", taken by {layer_label(user.layer)}" if user and user.layer else ""
                src = layer_label(out.node.layer) if out.node.layer else "an Input"
                raise ValueError(
                    f"Model {model!r}: output {k} (of {src}) is disconnected from the inputs: "
                    f"it needs {what} of shape {node.output.shape}{via}, which is not among "
                    "the model's inputs")
            stack.append((node, True, user))
            stack.extend((p.node, False, node) for p in reversed(node.parents)
                         if p.node.id not in done)
    return order


class Model(Module):
    """A network of layer calls from ``Input``s to outputs (Keras's functional ``Model``).

    Args:
        inputs: a SymbolicTensor from :func:`~deepgrad.nn.Input`, a list, or a dict by name.
        outputs: SymbolicTensors computed from them, as a tensor, list or dict; calling the
            model returns the same structure.
        name: the model's name (summary, saved files).

    Calling the model takes one array/tensor per input: ``model(x)``, ``model([a, b])``,
    ``model(a, b)`` or ``model({"a": a, "b": b})``. Without ``inputs`` and ``outputs``
    (a subclass with its own ``forward``) it is a plain Module.

    Attributes:
        nodes: every call, topologically sorted (Inputs first), each with ``name``,
            ``layer``, ``inputs`` (parent names) and ``output`` (its SymbolicTensor).
        layers: the distinct layers, in order of first use.
        inputs, outputs: lists of SymbolicTensors; ``input_names``, ``output_names``.
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None
                 ) -> None:
        super().__init__()
        object.__setattr__(self, "_graph", False)
        if name is not None:
            object.__setattr__(self, "name", name)
        if inputs is None and outputs is None:
            return
        label = name or "model"
        if inputs is None or outputs is None:
            raise ValueError(f"Model {label!r}: give both inputs and outputs (or neither, "
                             "to subclass Model with a forward method)")
        ins, in_keys = _flatten(inputs, "inputs", label)
        outs, out_keys = _flatten(outputs, "outputs", label)
        for i, t in enumerate(ins):
            if t.node.layer is not None:
                raise ValueError(f"Model {label!r}: inputs[{i}] comes from "
                                 f"{layer_label(t.node.layer)}, not from deepgrad.Input")
        if len({t.node.id for t in ins}) != len(ins):
            raise ValueError(f"Model {label!r}: the same Input is given twice")
        nodes = _topological(outs, ins, label)
        used = {n.id for n in nodes}
        nodes = [t.node for t in ins if t.node.id not in used] + nodes
        self._build(nodes, ins, in_keys, outs, out_keys)

    def _build(self, nodes: list[Node], ins: list[SymbolicTensor], in_keys: Any,
               outs: list[SymbolicTensor], out_keys: Any) -> None:
        names: set[str] = set()
        layers: list[Module] = []
        calls: dict[int, int] = {}
        counts: dict[str, int] = {}

        def fresh(base: str) -> str:
            k = counts.get(base, 0)
            while (cand := base if k == 0 else f"{base}_{k}") in names:
                k += 1
            counts[base] = k + 1
            return cand

        for n in nodes:  # user names first, so automatic ones avoid them
            given = n.input_name if n.layer is None else n.layer.__dict__.get("name")
            if given is not None and (n.layer is None or id(n.layer) not in calls):
                if given in names:
                    raise ValueError(f"Model: two layers/inputs are named {given!r}")
                names.add(given)
                if n.layer is not None:
                    calls[id(n.layer)] = 0
        calls.clear()
        for t in ins:  # inputs named in the model's order
            n = t.node
            n.name = n.input_name or fresh("input")
            n.input_name = n.name
            names.add(n.name)
        for n in nodes:
            layer = n.layer
            if layer is None:
                continue
            if id(layer) not in calls:
                if layer.__dict__.get("name") is None:
                    object.__setattr__(layer, "name", fresh(_snake(type(layer).__name__)))
                names.add(layer.name)
                calls[id(layer)] = 0
                layers.append(layer)
                n.name = layer.name
            else:
                calls[id(layer)] += 1
                n.name = f"{layer.name}:{calls[id(layer)]}"
        for layer in layers:
            if not layer.name or "." in layer.name or layer.name in ("name", "training"):
                raise ValueError(f"Model: invalid layer name {layer.name!r} ({layer_label(layer)}"
                                 "): names are the state_dict prefixes; use one without '.'")
            self.add_module(layer.name, layer)
        index = {n.id: i for i, n in enumerate(nodes)}
        object.__setattr__(self, "_graph", True)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "inputs", ins)
        object.__setattr__(self, "outputs", outs)
        object.__setattr__(self, "_in_keys", in_keys)
        object.__setattr__(self, "_out_keys", out_keys)
        object.__setattr__(self, "_in_slots", [index[t.node.id] for t in ins])
        object.__setattr__(self, "_out_slots", [index[t.node.id] for t in outs])
        program = [
            [index[n.id], n.layer, [index[p.node.id] for p in n.parents], n.args, n.kwargs,
             _SIMPLE if n.args == [0] and not n.kwargs else _GENERAL]
            for n in nodes if n.layer is not None]
        object.__setattr__(self, "_program", [tuple(e) for e in _swap_relu_pool(
            program, self.__dict__["_out_slots"])])

    # ----------------------------------------------------------------- introspection
    @property
    def input_names(self) -> list[str]:
        """The input nodes' names, in order."""
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """The output nodes' names, in order (loss/metric keys of fit)."""
        return [t.name for t in self.outputs]

    @property
    def output_keys(self) -> list[Any]:
        """Keys of outputs given as a dict, else the output names."""
        k = self._out_keys
        return list(k) if isinstance(k, list) else self.output_names

    def get_layer(self, name: str | None = None, index: int | None = None) -> Module:
        """The layer called ``name`` (or at position ``index`` of ``layers``)."""
        self._require_graph("get_layer")
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in model {self.name or 'model'!r}; "
                         f"layers: {', '.join(m.name for m in self.layers)}")

    def get_node(self, name: str) -> Node:
        """The node (a layer call or an Input) called ``name``."""
        self._require_graph("get_node")
        for n in self.nodes:
            if n.name == name:
                return n
        raise ValueError(f"no node named {name!r} in model {self.name or 'model'!r}")

    def _require_graph(self, what: str) -> None:
        if not self.__dict__.get("_graph"):
            raise TypeError(f"{type(self).__name__}.{what}: only for models built from "
                            "Input and outputs")

    @property
    def is_graph(self) -> bool:
        """Whether this model was built from inputs and outputs."""
        return bool(self.__dict__.get("_graph"))

    # ----------------------------------------------------------------- running
    def _bind(self, args: tuple[Any, ...]) -> list[Any]:
        n_in = len(self._in_slots)
        if len(args) == 1:
            a = args[0]
            if isinstance(a, dict):
                keys = self._in_keys if isinstance(self._in_keys, list) else self.input_names
                missing = [k for k in keys if k not in a]
                if missing:
                    raise ValueError(f"model {self.name!r}: missing input(s) {missing}; "
                                     f"expected keys {keys}")
                return [a[k] for k in keys]
            if isinstance(a, list | tuple) and n_in > 1:
                args = tuple(a)
        if len(args) != n_in:
            raise ValueError(f"model {self.name!r} takes {n_in} input(s) "
                             f"({', '.join(self.input_names)}), got {len(args)}")
        return [a if isinstance(a, Tensor) else Tensor(np.asarray(a)) for a in args]

    def _run(self, args: tuple[Any, ...],
             last: dict[int, Callable[..., Any]] | None = None) -> list[Any]:
        """The output values. ``last`` maps an output's index to a function
        ``fn(layer, *inputs)`` computing its node instead of the layer (fused losses call
        the final layer without its activation)."""
        values: list[Any] = [None] * len(self.nodes)
        for slot, x in zip(self._in_slots, self._bind(args), strict=True):
            values[slot] = x
        special = {self._out_slots[i]: f for i, f in last.items()} if last else {}
        plain = _module._recorder is not None  # summary() records each layer's own output
        for slot, layer, parents, structure, kwargs, simple in self._program:
            if simple and slot not in special:
                x = values[parents[0]]
                values[slot] = (layer(x) if simple == _SIMPLE or plain else
                                x if simple == _DEFERRED else relu(layer(x)))
                continue
            call_args = _fill(structure, [values[p] for p in parents])
            fn = special.get(slot)
            values[slot] = (layer(*call_args, **kwargs) if fn is None
                            else fn(layer, *call_args, **kwargs))
        return [values[s] for s in self._out_slots]

    def output_is_internal(self, i: int) -> bool:
        """Whether output ``i``'s node also feeds other nodes of the model."""
        slot = self._out_slots[i]
        return any(slot in parents for _, _, parents, *_ in self._program)

    def _pack(self, outs: list[Any]) -> Any:
        keys = self._out_keys
        if keys == "single":
            return outs[0]
        if isinstance(keys, list):
            return dict(zip(keys, outs, strict=True))
        return list(outs)

    def forward(self, *args: Any) -> Any:
        if not self.__dict__.get("_graph"):
            return super().forward(*args)
        return self._pack(self._run(args))

    def forward_list(self, *args: Any) -> list[Any]:
        """The outputs as a list, in ``outputs`` order, whatever their structure."""
        return self._run(args)

    def summary(self, input_shape: tuple[int, ...] | None = None, dtype: Any = None,
                print_fn: Callable[[str], Any] | None = print) -> str:
        """Print and return the layer table: for a graph model each node's name and type,
        output shape, parameter count and the nodes it is connected to, then total,
        trainable and non-trainable counts (``input_shape`` is not needed). A subclassed
        Model works as :meth:`Module.summary`."""
        if not self.__dict__.get("_graph"):
            if input_shape is None:
                raise ValueError(f"{type(self).__name__}.summary: give input_shape (the shape "
                                 "of one example) for a model without Input")
            return super().summary(input_shape, dtype, print_fn)
        from .graph_summary import graph_summary

        return graph_summary(self, print_fn)

    def extra_repr(self) -> str:
        if not self.__dict__.get("_graph"):
            return ""
        return f"name={self.name!r}, inputs={self.input_names}, outputs={self.output_names}"

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """The graph as JSON-able data (see :meth:`from_config`); layer configs by
        ``deepgrad.io.config.module_to_config``."""
        self._require_graph("get_config")
        module_to_config = LAYER_CONFIG["to"]

        def keyed(keys: Any, ts: list[SymbolicTensor]) -> Any:
            if keys == "single":
                return ts[0].name
            if isinstance(keys, list):
                return {str(k): t.name for k, t in zip(keys, ts, strict=True)}
            return [t.name for t in ts]

        nodes = []
        for n in self.nodes:
            shape = [int(d) for d in n.output.shape[1:]]
            if n.layer is None:
                nodes.append({"name": n.name, "input": {"shape": shape,
                                                        "dtype": n.output.dtype.name}})
            else:
                nodes.append({"name": n.name, "layer": n.layer.name,
                              "args": _fill(n.args, n.inputs), "kwargs": dict(n.kwargs),
                              "shape": shape, "dtype": n.output.dtype.name})
        return {"name": self.name, "layers": [{"name": m.name, "config": module_to_config(m)}
                                              for m in self.layers],
                "nodes": nodes, "inputs": keyed(self._in_keys, self.inputs),
                "outputs": keyed(self._out_keys, self.outputs)}

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    layer_builder: Callable[[dict[str, Any]], Module] | None = None) -> Model:
        """Rebuild a model from :meth:`get_config` (fresh weights; stored shapes trusted).

        Args:
            layer_builder: builds a layer from its config (default
                ``deepgrad.io.config.module_from_config``).
        """
        if layer_builder is None:
            layer_builder = LAYER_CONFIG["from"]
        try:
            layers = {}
            for entry in config["layers"]:
                layer = layer_builder(entry["config"])
                object.__setattr__(layer, "name", str(entry["name"]))
                layers[entry["name"]] = layer
            made: dict[str, SymbolicTensor] = {}
            for spec in config["nodes"]:
                name = spec["name"]
                if "input" in spec:
                    made[name] = _input(spec["input"], name)
                    continue
                parents: list[SymbolicTensor] = []
                structure = _restructure(spec["args"], made, parents, name)
                node = Node(layers[spec["layer"]], parents, structure,
                            dict(spec.get("kwargs", {})),
                            (None, *(int(d) for d in spec["shape"])), np.dtype(spec["dtype"]))
                layers[spec["layer"]].__dict__.setdefault("_nodes", []).append(node)
                made[name] = node.output

            def pick(v: Any) -> Any:
                if isinstance(v, str):
                    return made[v]
                if isinstance(v, dict):
                    return {k: made[x] for k, x in v.items()}
                return [made[x] for x in v]

            return cls(pick(config["inputs"]), pick(config["outputs"]), name=config.get("name"))
        except (KeyError, TypeError, IndexError) as e:
            raise ValueError(f"malformed graph model config: {type(e).__name__} {e}") from e


def _input(spec: dict[str, Any], name: str) -> SymbolicTensor:
    from .symbolic import Input

    return Input(tuple(int(d) for d in spec["shape"]), name=name, dtype=spec.get("dtype"))


def _restructure(args: Any, made: dict[str, SymbolicTensor], parents: list[SymbolicTensor],
                 node: str) -> Any:
    if isinstance(args, list):
        return [_restructure(a, made, parents, node) for a in args]
    if args not in made:
        raise ValueError(f"node {node!r}: unknown input {args!r} (nodes must come after "
                         "their inputs)")
    parents.append(made[args])
    return len(parents) - 1


def _fill(structure: Any, values: Sequence[Any]) -> Any:
    if isinstance(structure, list):
        return [_fill(s, values) for s in structure]
    return values[structure]

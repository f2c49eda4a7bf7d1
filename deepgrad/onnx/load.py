"""ONNX -> deepgrad: ``load(f)`` builds a graph ``Model`` from an ONNX file.

The steps: parse defensively (``_proto``), list every unsupported operator at once, fold
the nodes whose inputs are all constants (weights made by ConstantOfShape, shape
arithmetic), run the rest once on a zero input to learn each value's shape, and turn each
remaining node into a layer (``layers.py``) of a graph Model.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .._config import no_grad
from ..autograd.tensor import Tensor
from ..nn.graph import Model
from ..nn.module import Module
from ._build import build_layer
from ._proto import OnnxError, read_model, to_array
from ._values import Attrs, data
from .ops import SUPPORTED, run_op

__all__ = ["load", "UnsupportedOperatorError"]

_DEFAULT_DOMAINS = ("", "ai.onnx")


class UnsupportedOperatorError(OnnxError):
    """An ONNX graph with operators outside deepgrad's table (all of them are listed)."""


def _opset(model: Any) -> int:
    found = [o.version for o in model.opset_import if o.domain in _DEFAULT_DOMAINS]
    return int(found[0]) if found else 1


def _attributes(node: Any, base: str | None) -> dict[str, Any]:
    onnx = __import__("onnx")
    out: dict[str, Any] = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.TENSOR:
            out[a.name] = to_array(a.t, base, f"node {node.name!r} attribute {a.name}")
        elif a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS,
                        onnx.AttributeProto.SPARSE_TENSOR, onnx.AttributeProto.TENSORS):
            raise UnsupportedOperatorError(
                f"node {node.name or node.op_type!r} ({node.op_type}): attribute {a.name} of "
                f"type {onnx.AttributeProto.AttributeType.Name(a.type)} is not supported")
        else:
            v = onnx.helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            elif isinstance(v, list):
                v = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v]
            out[a.name] = v
    return out


def _check_supported(graph: Any, model: Any) -> None:
    bad: dict[str, list[str]] = {}
    for n in graph.node:
        if n.domain not in _DEFAULT_DOMAINS or n.op_type not in SUPPORTED:
            key = n.op_type if n.domain in _DEFAULT_DOMAINS else f"{n.domain}.{n.op_type}"
            bad.setdefault(key, []).append(n.name or (n.output[0] if n.output else "?"))
    if bad:
        listed = "; ".join(f"{op} (nodes {', '.join(names[:4])}"
                           f"{', ...' if len(names) > 4 else ''})" for op, names in
                           sorted(bad.items()))
        raise UnsupportedOperatorError(f"unsupported ONNX operators: {listed}")


def _input_shape(vi: Any) -> tuple[list[int], np.dtype]:
    from ._proto import np_dtype

    tt = vi.type.tensor_type
    if not vi.type.HasField("tensor_type"):
        raise OnnxError(f"graph input {vi.name!r}: only tensor inputs are supported")
    dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1
            for d in tt.shape.dim]
    return dims, np_dtype(tt.elem_type)


def _layer_name(raw: str, used: set[str], fallback: str) -> str:
    base = re.sub(r"[^0-9A-Za-z_]+", "_", raw).strip("_") or fallback
    if base[0].isdigit():
        base = f"n_{base}"
    name, k = base, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


class _Graph:
    """The state of an import: constant values, trial values, and the graph being built."""

    def __init__(self, model: Any, base: str | None) -> None:
        self.model, self.base, self.graph = model, base, model.graph
        self.opset = _opset(model)
        self.consts: dict[str, np.ndarray] = {}
        self.trial: dict[str, Any] = {}  # dynamic values on the zero input
        self.layers: list[dict[str, Any]] = []
        self.nodes: list[dict[str, Any]] = []
        self.made: dict[str, str] = {}  # ONNX value name -> graph node name
        self.used: set[str] = set()
        self.prebuilt: dict[str, Module] = {}

    def initializers(self) -> None:
        for t in self.graph.initializer:
            self.consts[t.name] = to_array(t, self.base, "initializer")

    def inputs(self) -> None:
        for vi in self.graph.input:
            if vi.name in self.consts:
                continue
            dims, dtype = _input_shape(vi)
            name = _layer_name(vi.name, self.used, "input")
            self.nodes.append({"name": name, "input": {"shape": dims[1:], "dtype": dtype.name}})
            self.made[vi.name] = name
            # integer inputs (sizes, indices) are tried as ones: a valid shape or index
            fill = np.ones if dtype.kind in "iu" else np.zeros
            self.trial[vi.name] = Tensor(fill(dims, dtype=dtype))
        if not self.made:
            raise OnnxError("the graph has no inputs (every input is an initializer)")

    def value(self, name: str, node: Any) -> Any:
        if name == "":
            return None
        if name in self.consts:
            return self.consts[name]
        if name in self.trial:
            return self.trial[name]
        raise OnnxError(f"node {node.name or node.op_type!r} ({node.op_type}) uses {name!r}, "
                        f"which nothing before it defines (a truncated or corrupt file?)")

    def add_node(self, node: Any, attrs: Attrs) -> None:
        ins = [self.value(n, node) for n in node.input]
        with no_grad(), np.errstate(all="ignore"):
            try:
                outs = run_op(node.op_type, attrs, ins)
            except OnnxError:
                raise
            except (ValueError, TypeError, IndexError) as e:
                raise OnnxError(f"node {node.name or node.op_type!r} ({node.op_type}): {e}"
                                ) from None
        dynamic = [n for n in node.input if n and n not in self.consts]
        if not dynamic:  # fold: a constant for good
            for name, v in zip(node.output, outs, strict=False):
                if name and v is not None:
                    self.consts[name] = np.asarray(data(v))
            return
        layer, call_args = build_layer(node, attrs, ins, self.consts)
        lname = _layer_name(node.name or node.output[0], self.used, node.op_type.lower())
        self.prebuilt[lname] = layer
        self.layers.append({"name": lname, "config": {"prebuilt": lname}})
        args = [self.made[n] for n in call_args]
        for i, (name, v) in enumerate(zip(node.output, outs, strict=False)):
            if not name or v is None:
                continue
            nname = lname if i == 0 else _layer_name(f"{lname}_out{i}", self.used, "out")
            arr = data(v)
            self.nodes.append({"name": nname, "layer": lname, "args": args,
                               "kwargs": {"output": i} if i else {},
                               "shape": list(arr.shape[1:]), "dtype": arr.dtype.name})
            self.made[name] = nname
            self.trial[name] = v

    def build(self) -> Model:
        outs = []
        for vi in self.graph.output:
            if vi.name not in self.made:
                if vi.name in self.consts:
                    raise OnnxError(f"graph output {vi.name!r} is a constant (it depends on "
                                    "no input); deepgrad graph models compute from inputs")
                raise OnnxError(f"graph output {vi.name!r} is never computed (a truncated "
                                "or corrupt file?)")
            outs.append(self.made[vi.name])
        ins = [self.made[vi.name] for vi in self.graph.input if vi.name in self.made]
        config = {"name": self.graph.name or "onnx_model", "layers": self.layers,
                  "nodes": self.nodes, "inputs": ins[0] if len(ins) == 1 else ins,
                  "outputs": outs[0] if len(outs) == 1 else outs}
        return Model.from_config(config, lambda c: self.prebuilt[c["prebuilt"]])


def load(f: Any) -> Model:
    """Build a deepgrad graph model from an ONNX file (a path or the file's bytes).

    Weights become Parameters (trainable, savable with ``deepgrad.save``, exportable again);
    initializers that feed shape computations stay constants. Layers are named after the
    ONNX nodes (characters other than letters, digits and ``_`` become ``_``).

    Raises:
        UnsupportedOperatorError: listing every operator outside the table, with node names.
        OnnxError (a ValueError): a corrupt or truncated file, a missing external-data file
            or one outside the model's directory, a tensor larger than its data.
        ImportError: the ``onnx`` package is missing (``pip install 'deepgrad[onnx]'``).
    """
    model, base = read_model(f)
    g = _Graph(model, base)
    _check_supported(model.graph, model)
    g.initializers()
    g.inputs()
    for node in model.graph.node:
        attrs = Attrs(_attributes(node, base), g.opset, node.op_type)
        attrs.values.setdefault("_outputs", len(node.output))
        g.add_node(node, attrs)
    return g.build()

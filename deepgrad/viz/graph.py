"""Drawing graphs: the autograd graph behind a tensor, and the layer graph of a model.

``plot_graph(J)`` draws every op that computed ``J`` (DeZero's ``plot_dot_graph``);
``plot_model(model)`` draws a graph ``Model``'s or a ``Sequential``'s layers with their
names, kinds and output shapes (Keras's ``plot_model``). Both return Graphviz DOT text;
given a path they write it (``.dot``/``.gv``) or draw it (``.png``/``.svg``/``.pdf``) with
Graphviz's ``dot`` when it is on PATH and with matplotlib (the ``[plot]`` extra, a layered
layout) otherwise.

Example (the course's computation graph)::

    a, b, c = (dg.tensor(v, requires_grad=True, name=n) for v, n in ((5., "a"), (3., "b"),
               (2., "c")))
    J = 3 * (a + b * c)
    J.name = "J"
    dg.viz.plot_graph(J, "graph_J.png")
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import to_numpy
from ..nn.container import Sequential
from ..nn.module import Module
from ..nn.parameter import Parameter
from ._draw import Graph, GraphNode, write_graph

__all__ = ["plot_graph", "plot_model", "autograd_graph", "model_graph"]

PathLike = str | os.PathLike[str]


def _shape_text(shape: Sequence[Any], dtype: Any = None) -> str:
    dims = ", ".join("None" if d is None else str(int(d)) for d in shape)
    if len(shape) == 1:
        dims += ","
    return f"({dims})" if dtype is None else f"({dims}) {np.dtype(dtype).name}"


def _tensor_lines(t: Tensor, name: str | None, show_shapes: bool,
                  show_values: bool = False) -> list[str]:
    lines = [name] if name else []
    if t.data.size == 1 and (show_values or (t.is_leaf and not t.requires_grad)):
        value = f"{to_numpy(t.data).reshape(()).item():g}"
        if lines:
            lines[0] += f" = {value}"
        else:
            lines.append(value)  # a constant: its value
    if show_shapes:
        lines.append(_shape_text(t.shape, t.dtype))
    return lines


def _style(t: Tensor) -> str:
    if isinstance(t, Parameter):
        return "param"
    if t.is_leaf:
        return "leaf" if t.requires_grad else "const"
    return "tensor"


def _functions(root: Tensor) -> list[Any]:
    """Every Function behind ``root``, by generation (inputs first)."""
    found: dict[int, Any] = {}
    stack = [root._creator] if root._creator is not None else []
    while stack:
        f = stack.pop()
        if id(f) in found:
            continue
        if f._freed:
            raise ValueError("plot_graph: the graph behind this tensor was freed by "
                             "backward(); draw it before backward, or call "
                             "backward(retain_graph=True)")
        found[id(f)] = f
        stack += [x._creator for x in f.inputs
                  if x._creator is not None and id(x._creator) not in found]
    return sorted(found.values(), key=lambda f: f.generation)


def autograd_graph(tensor: Tensor, show_shapes: bool = True,
                   names: Mapping[str, Tensor] | None = None,
                   show_values: bool = False) -> Graph:
    """The ops and tensors behind ``tensor`` as a drawable :class:`Graph`."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"plot_graph: expected a Tensor, got {type(tensor).__name__}")
    given = {id(t): n for n, t in (names or {}).items()}
    g = Graph(name=tensor.name or "graph")
    ids: dict[int, str] = {}

    def node_of(t: Tensor) -> str:
        if id(t) not in ids:
            ids[id(t)] = f"t{len(ids)}"
            lines = _tensor_lines(t, given.get(id(t)) or t.name, show_shapes, show_values)
            g.nodes.append(GraphNode(ids[id(t)], lines, _style(t)))
        return ids[id(t)]

    fns = _functions(tensor)
    if not fns:
        node_of(tensor)
    for k, f in enumerate(fns):
        srcs = [node_of(x) for x in f.inputs]
        op = f"f{k}"
        g.nodes.append(GraphNode(op, [type(f).__name__], "op"))
        g.edges += [(s, op) for s in srcs]
        for i, (ref, (shape, dtype)) in enumerate(zip(f.outputs, f.output_meta, strict=True)):
            out = ref()
            if out is not None:
                dst = node_of(out)
            else:  # an output nobody holds any more: drawn from the shape it had
                dst = f"{op}_{i}"
                g.nodes.append(GraphNode(dst, [_shape_text(shape, dtype)] if show_shapes
                                         else [], "tensor"))
            g.edges.append((op, dst))
    return g


def plot_graph(tensor: Tensor, path: PathLike | None = None, *, show_shapes: bool = True,
               show_values: bool = False, names: Mapping[str, Tensor] | None = None,
               engine: str = "auto", dpi: float = 150) -> str:
    """Draw the autograd graph behind ``tensor``: its ops, inputs and intermediate values.

    Tensors are ellipses labelled with their ``name`` (or a constant's value) and shape;
    ops are boxes labelled with the Function's class. Draw before ``backward()`` (which
    frees the graph) or use ``backward(retain_graph=True)``.

    Args:
        tensor: the result, e.g. a loss ``J``.
        path: where to write it: ``.dot``/``.gv`` (DOT text), ``.png``, ``.svg``, ``.pdf``
            (a picture); None writes nothing.
        show_shapes: add each tensor's shape and dtype.
        show_values: add the value of each one-element tensor (``u = 6``), as the course
            writes its forward pass.
        names: labels for tensors that have no ``name``, e.g.
            ``dict(model.named_parameters())``.
        engine: "auto" (Graphviz's ``dot`` when on PATH, else matplotlib), "dot" or
            "matplotlib".
        dpi: resolution of a PNG.

    Returns:
        The graph as Graphviz DOT text.

    Raises:
        ValueError: the graph was freed by backward, or ``path`` has an unknown suffix.
        ImportError: drawing a picture without Graphviz or matplotlib (``[plot]`` extra).
    """
    graph = autograd_graph(tensor, show_shapes, names, show_values)
    return write_graph(graph, path, engine, dpi)


def _dense_input(model: Module) -> tuple[int, ...] | None:
    """``(in_features,)`` when the first layer with weights is a dense one."""
    for m in model.modules():
        if m is not model and any(True for _ in m.parameters()):
            n = getattr(m, "in_features", None)
            return (n,) if isinstance(n, int) else None
    return None


def _sequential_shapes(model: Module, input_shape: Sequence[int]
                       ) -> list[tuple[int | None, ...]]:
    """Each child's output shape (batch axis None) from one zero example."""
    x = Tensor(np.zeros((1, *input_shape), dtype=model._dtype()))
    shapes: list[tuple[int | None, ...]] = []
    was = model.training
    model.eval()
    try:
        with no_grad():
            for m in model.children():
                x = m(x)
                shapes.append((None, *x.shape[1:]))
    except (ValueError, TypeError) as e:
        raise ValueError(f"plot_model: input_shape {tuple(input_shape)} does not fit the "
                         f"model: {e}") from None
    finally:
        model.train(was)
    return shapes


def _layer_lines(name: str, kind: str, shape: Any, dtype: Any, show_shapes: bool,
                 show_dtype: bool) -> list[str]:
    lines = [f"{name}: {kind}"]
    if show_shapes and shape is not None:
        lines.append(_shape_text(shape, dtype if show_dtype else None))
    return lines


_MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"}


def _is_graph_model(model: Any) -> bool:
    return getattr(model, "is_graph", False) is True


def model_graph(model: Module, show_shapes: bool = True,
                input_shape: Sequence[int] | None = None, show_dtype: bool = False) -> Graph:
    """The layer graph of a graph ``Model`` or a ``Sequential`` as a drawable Graph."""
    g = Graph(name=str(getattr(model, "name", None) or type(model).__name__))
    if _is_graph_model(model):
        for node in model.nodes:
            kind = "InputLayer" if node.layer is None else type(node.layer).__name__
            style = "input" if node.layer is None else (
                "merge" if kind in _MERGES else "layer")
            out = node.output
            g.nodes.append(GraphNode(node.name, _layer_lines(
                node.name, kind, out.shape, out.dtype, show_shapes, show_dtype), style))
            g.edges += [(p, node.name) for p in node.inputs]
        return g
    if not isinstance(model, Sequential):
        raise TypeError(f"plot_model draws a graph Model or a Sequential, got "
                        f"{type(model).__name__}; for any module, draw the ops it runs: "
                        "plot_graph(model(x))")
    dtype = model._dtype()
    shape_in = tuple(input_shape) if input_shape is not None else _dense_input(model)
    children = list(model.named_children())
    shapes: list[Any] = [None] * len(children)
    prev = None
    if show_shapes and shape_in is not None:
        shapes = _sequential_shapes(model, shape_in)
        prev = "input"
        g.nodes.append(GraphNode(prev, _layer_lines("input", "InputLayer", (None, *shape_in),
                                                    dtype, True, show_dtype), "input"))
    for (name, m), shape in zip(children, shapes, strict=True):
        g.nodes.append(GraphNode(name, _layer_lines(name, type(m).__name__, shape, dtype,
                                                    show_shapes, show_dtype), "layer"))
        if prev is not None:
            g.edges.append((prev, name))
        prev = name
    return g


def plot_model(model: Module, path: PathLike | None = None, show_shapes: bool = True, *,
               show_dtype: bool = False, input_shape: Sequence[int] | None = None,
               engine: str = "auto", dpi: float = 150) -> str:
    """Draw a model's layer graph: one box per layer with its name, kind and output shape.

    Works for a graph ``Model`` (every node, merges and shared layers included) and for a
    ``Sequential`` (a chain; its shapes come from running one zero example of
    ``input_shape``, or of the first dense layer's input size when it is left out).

    Args:
        model: a graph ``Model`` or a ``Sequential``.
        path: ``.dot``/``.gv`` (DOT text), ``.png``, ``.svg`` or ``.pdf``; None writes
            nothing.
        show_shapes: add each layer's output shape, batch axis first as None (Keras).
        show_dtype: add the output's dtype too.
        input_shape: one example's shape (no batch axis), for a Sequential.
        engine: "auto" (Graphviz's ``dot`` when on PATH, else matplotlib), "dot" or
            "matplotlib".
        dpi: resolution of a PNG.

    Returns:
        The graph as Graphviz DOT text.

    Raises:
        TypeError: for a model that is neither (use :func:`plot_graph` on its output).
        ValueError: ``input_shape`` doesn't fit, or ``path`` has an unknown suffix.
    """
    graph = model_graph(model, show_shapes, input_shape, show_dtype)
    return write_graph(graph, path, engine, dpi)

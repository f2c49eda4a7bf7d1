"""deepgrad -> ONNX: ``export(model, args, f)`` writes a model as an ONNX file.

The operator table read the other way: one small function per layer class (``_layers.py``)
emits that layer's ONNX nodes; containers (``Sequential``, graph ``Model``) are walked.
The model is exported in eval mode (dropout off, BatchNorm's running statistics).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._config import no_grad
from .._fileio import atomic_open
from ..autograd.tensor import Tensor
from ..nn.container import Sequential
from ..nn.graph import Model
from ..nn.module import Module
from ._emit import Emitter
from ._layers import EXPORTERS, export_error
from ._proto import onnx_dtype, require_onnx
from ._trace import trace_module

__all__ = ["export", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17


def _emit_module(em: Emitter, m: Module, ins: list[str], vals: list[Any], prefix: str,
                 kwargs: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """Emit ``m``'s nodes on the ONNX values ``ins`` (whose deepgrad values are ``vals``);
    returns the output name(s) and value(s). Running the layers alongside gives every
    exporter its inputs' shapes (``em.shapes``)."""
    if isinstance(m, Model) and m.is_graph:
        return _emit_graph(em, m, ins, vals, prefix)
    if isinstance(m, Sequential):
        x, v = ins[0], vals[0]
        for name, child in m.named_children():
            x, v = _emit_module(em, child, [x], [v], f"{prefix}{name}.")
        return x, v
    for cls in type(m).__mro__:
        fn = EXPORTERS.get(cls.__name__)
        if fn is not None and cls.__module__.startswith("deepgrad."):
            for n, v in zip(ins, vals, strict=True):
                em.shapes[n] = tuple(v.shape)
            kw = kwargs or {}
            y = m(vals, **kw) if _takes_list(m) else m(*vals, **kw)
            em.call_kwargs = kw
            out = fn(em, m, ins, prefix.rstrip(".") or type(m).__name__.lower())
            if isinstance(out, list):  # several outputs (nn.LSTM: output, (h_n, c_n))
                ys = _flat(y)
                for o, v in zip(out, ys, strict=True):
                    em.shapes[o] = tuple(v.shape)
                return out, ys
            em.shapes[out] = tuple(y.shape)
            return out, y
    if type(m).forward is not Module.forward and len(ins) == 1:
        # a Module subclass with its own forward: run it, recording its layers
        return trace_module(em, m, vals[0], ins[0],
                            lambda sub, i, v, p: _emit_module(em, sub, i, v, prefix + p),
                            _exportable)
    raise export_error(m, prefix)


def _exportable(m: Module) -> bool:
    """A layer the export table (or a container walk) handles as a whole."""
    if isinstance(m, Sequential) or (isinstance(m, Model) and m.is_graph):
        return True
    return any(EXPORTERS.get(c.__name__) is not None and c.__module__.startswith("deepgrad.")
               for c in type(m).__mro__)


def _flat(y: Any) -> list[Any]:
    """A layer's nested output tuple as a flat list of tensors."""
    if isinstance(y, tuple | list):
        return [t for v in y for t in _flat(v)]
    return [y]


def _takes_list(m: Module) -> bool:
    from ..nn import merge

    return isinstance(m, merge._Merge | merge.Concatenate)


def _emit_graph(em: Emitter, model: Model, ins: list[str], vals: list[Any], prefix: str
                ) -> tuple[Any, Any]:
    if len(model.output_names) != 1 and prefix:
        raise ValueError(f"ONNX export: nested model {prefix.rstrip('.')!r} has several "
                         "outputs; only a top-level model may")
    names: dict[str, str] = dict(zip(model.input_names, ins, strict=True))
    values: dict[str, Any] = dict(zip(model.input_names, vals, strict=True))
    for node in model.nodes:
        if node.layer is None:
            continue
        names[node.name], values[node.name] = _emit_module(
            em, node.layer, [names[p] for p in node.inputs], [values[p] for p in node.inputs],
            f"{prefix}{node.layer.name}.", node.kwargs)
    outs = [names[n] for n in model.output_names]
    ys = [values[n] for n in model.output_names]
    return (outs[0], ys[0]) if len(outs) == 1 else (outs, ys)


def _as_inputs(args: Any) -> list[np.ndarray]:
    items = list(args) if isinstance(args, tuple | list) else [args]
    out = []
    for a in items:
        a = a.data if isinstance(a, Tensor) else a
        if hasattr(a, "get") and not isinstance(a, np.ndarray):
            a = a.get()
        out.append(np.asarray(a))
    if not out:
        raise ValueError("ONNX export: args must be an example input array (or a tuple of them)")
    return out


def _names(given: Any, n: int, default: str) -> list[str]:
    if given is None:
        return [default] if n == 1 else [f"{default}_{i}" for i in range(n)]
    names = list(given)
    if len(names) != n or not all(isinstance(s, str) and s for s in names) \
            or len(set(names)) != n:
        raise ValueError(f"ONNX export: expected {n} distinct non-empty {default} name(s), "
                         f"got {given!r}")
    return names


def export(model: Module, args: Any, f: str | os.PathLike[str], opset_version: int | None = None,
           input_names: list[str] | None = None, output_names: list[str] | None = None,
           dynamic_batch: bool = True) -> None:
    """Write ``model`` as an ONNX file (PyTorch's ``torch.onnx.export`` argument order).

    Args:
        model: a ``Sequential``, a graph ``Model``, or one of deepgrad's layers; exported in
            eval mode (dropout off, BatchNorm's running statistics).
        args: an example input array, or a tuple of arrays for several inputs; it fixes the
            shapes (all but the batch axis when ``dynamic_batch``).
        f: the file to write (atomically).
        opset_version: the ONNX opset (default 17; 13 to 21 supported).
        input_names, output_names: the graph's value names (default ``input``/``output``,
            numbered when several).
        dynamic_batch: make the first axis of every input and output symbolic (``batch``).

    Raises:
        ValueError: naming the first layer (its path and class) that has no ONNX form.
        ImportError: the ``onnx`` package is missing (``pip install 'deepgrad[onnx]'``).
    """
    onnx = require_onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not 13 <= opset <= 21:
        raise ValueError(f"ONNX export: opset_version {opset} is not supported (13 to 21)")
    xs = _as_inputs(args)
    in_names = _names(input_names, len(xs), "input")
    was = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        dt = next((p.data.dtype for p in model.parameters()), xs[0].dtype)
        em = Emitter(opset, model, dt if np.dtype(dt).kind == "f" else np.float32)
        with no_grad():
            outs, refs = _emit_module(em, model, in_names, [Tensor(x) for x in xs], "")
    finally:
        for m, t in was:
            object.__setattr__(m, "training", t)
    outs = outs if isinstance(outs, list) else [outs]
    refs = refs if isinstance(refs, list) else [refs]
    out_names = _names(output_names, len(outs), "output")
    for src, dst in zip(outs, out_names, strict=True):
        em.rename_output(src, dst)
    h = onnx.helper

    def info(name: str, a: np.ndarray) -> Any:
        dims: list[Any] = list(a.shape)
        if dynamic_batch and dims:
            dims[0] = "batch"
        return h.make_tensor_value_info(name, onnx_dtype(a.dtype), dims)

    graph = h.make_graph(em.nodes, getattr(model, "name", None) or type(model).__name__,
                         [info(n, x) for n, x in zip(in_names, xs, strict=True)],
                         [info(n, np.asarray(r.data)) for n, r in
                          zip(out_names, refs, strict=True)],
                         initializer=em.initializers)
    proto = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)],
                         producer_name="deepgrad")
    proto.ir_version = min(proto.ir_version, 10 if opset >= 21 else 8)
    onnx.checker.check_model(proto, full_check=True)
    with atomic_open(f, "wb") as fh:
        fh.write(proto.SerializeToString())

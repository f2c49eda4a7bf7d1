"""Exporting a ``Module`` subclass with its own ``forward``: the forward is run once on the
example input with every layer of the export table recording its call; each call is
emitted by its exporter, and the operations written in ``forward`` between those layers
(``x + identity``, ``relu``, ``flatten``, ``cat``, ...) are read back from the autograd
graph they recorded and emitted from a small table of their own.

Only the operations in that table can appear in ``forward`` itself; anything else is one
clear error naming the operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._config import enable_grad
from ..autograd.tensor import Tensor
from ..nn.module import Module
from ._emit import Emitter

__all__ = ["trace_module"]


def _binary(op: str) -> Callable[..., str]:
    return lambda em, f, ins, path: em.node(op, ins, name=f"{path}.{op.lower()}")


def _unary(op: str) -> Callable[..., str]:
    return lambda em, f, ins, path: em.node(op, ins[:1], name=f"{path}.{op.lower()}")


def _reshape(em: Emitter, f: Any, ins: list[str], path: str) -> str:
    target = list(f.shape)
    if target and f.in_shape and target[0] == f.in_shape[0]:
        target[0] = 0  # the batch axis follows the input's (a dynamic batch)
    else:
        raise ValueError(f"ONNX export: {path}: a reshape of the batch axis "
                         f"({tuple(f.in_shape)} -> {tuple(f.shape)}) has no batch-independent "
                         "form; keep the batch axis first")
    return em.node("Reshape", [ins[0], em.const(np.asarray(target, np.int64), f"{path}.shape")],
                   name=f"{path}.reshape")


def _softmax(op: str) -> Callable[..., str]:
    return lambda em, f, ins, path: em.node(op, ins[:1], name=f"{path}.{op.lower()}",
                                            axis=int(f.axis))


def _global_avg(em: Emitter, f: Any, ins: list[str], path: str) -> str:
    y = em.node("GlobalAveragePool", ins[:1], name=f"{path}.gap")
    return y if f.keepdims else em.node("Flatten", [y], axis=1)


def _transpose(em: Emitter, f: Any, ins: list[str], path: str) -> str:
    if f.axes is None or f.axes[0] != 0:
        raise ValueError(f"ONNX export: {path}: a transpose that moves the batch axis")
    return em.node("Transpose", ins[:1], name=f"{path}.transpose", perm=list(f.axes))


def _concat(em: Emitter, f: Any, ins: list[str], path: str) -> str:
    return em.node("Concat", ins, name=f"{path}.concat", axis=int(f.axis))


OPS: dict[str, Callable[..., str]] = {
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Neg": _unary("Neg"), "Exp": _unary("Exp"), "Log": _unary("Log"), "Sqrt": _unary("Sqrt"),
    "Abs": _unary("Abs"), "ReLU": _unary("Relu"), "Sigmoid": _unary("Sigmoid"),
    "Tanh": _unary("Tanh"), "Reshape": _reshape, "Transpose": _transpose,
    "Concatenate": _concat, "GlobalAvgPool2d": _global_avg,
    "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
}


class _Tracer:
    """Names of tensors already emitted, and the walk back through glue operations."""

    def __init__(self, em: Emitter, root: Module, x: Tensor, in_name: str) -> None:
        self.em, self.root = em, root
        self.names: dict[int, str] = {id(x): in_name}
        self.keep: list[Any] = [x]  # keep every named tensor alive (ids stay unique)
        self.params = {id(p): n for n, p in root.named_parameters()}
        self.params.update({id(b): n for n, b in root.named_buffers()})
        self.count = 0

    def name_of(self, t: Any) -> str:
        """The ONNX value for tensor ``t``, emitting the glue operations that made it."""
        if not isinstance(t, Tensor):
            return self.em.const(np.asarray(t), "const")
        if id(t) in self.names:
            return self.names[id(t)]
        if id(t) in self.params:
            return self.em.param(t, self.params[id(t)])
        f = t._creator
        if f is None:  # a constant made in forward
            return self.em.const(np.asarray(t.data), "const")
        fn = OPS.get(type(f).__name__)
        if fn is None:
            raise ValueError(f"ONNX export: {type(self.root).__name__}.forward uses the "
                             f"operation {type(f).__name__}, which has no ONNX form here; "
                             f"use a layer for it (operations allowed in forward: "
                             f"{', '.join(sorted(OPS))})")
        ins = [self.name_of(i) for i in f.inputs]
        self.count += 1
        out = fn(self.em, f, ins, f"{type(self.root).__name__.lower()}.op{self.count}")
        self.names[id(t)] = out
        self.keep.append(t)
        return out


def trace_module(em: Emitter, m: Module, x: Any, in_name: str,
                 emit_layer: Callable[[Module, list[str], list[Any], str], tuple[Any, Any]],
                 is_layer: Callable[[Module], bool]) -> tuple[str, Any]:
    """Emit ``m`` by running its forward on ``x`` (a Tensor) and recording its layers."""
    x = Tensor(np.asarray(x.data), requires_grad=True)
    tracer = _Tracer(em, m, x, in_name)
    wrapped: list[Module] = []
    paths = {id(sub): name for name, sub in m.named_modules()}

    def recording(sub: Module, original: Callable[..., Any]) -> Callable[..., Any]:
        def forward(*args: Any, **kw: Any) -> Any:
            if kw:
                raise ValueError(f"ONNX export: layer {paths.get(id(sub))!r} is called with "
                                 f"keyword arguments {sorted(kw)}")
            ins = [tracer.name_of(a) for a in args]
            y = original(*args)
            sub.__dict__.pop("forward", None)  # the exporter runs the layer itself
            try:
                out, _ = emit_layer(sub, ins, list(args), paths.get(id(sub), "layer") + ".")
            finally:
                object.__setattr__(sub, "forward", forward)
            tracer.names[id(y)] = out
            tracer.keep.append(y)
            return y

        return forward

    for name, sub in m.named_modules():
        if sub is m or not is_layer(sub):
            continue
        if any(name.startswith(paths[id(w)] + ".") for w in wrapped):
            continue  # inside a layer already recorded as a whole
        object.__setattr__(sub, "forward", recording(sub, sub.forward))
        wrapped.append(sub)
    try:
        with enable_grad():
            y = m.forward(x)
        if not isinstance(y, Tensor):
            raise ValueError(f"ONNX export: {type(m).__name__}.forward must return one tensor")
        return tracer.name_of(y), y
    finally:
        for sub in wrapped:
            sub.__dict__.pop("forward", None)

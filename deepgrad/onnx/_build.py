"""Turning one ONNX node into a layer: a dedicated deepgrad layer where one exists and the
node's weights are constants, else an :class:`~deepgrad.onnx.layers.OnnxOp`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..nn.init import skip_init
from ..nn.module import Module
from ._ops_nn import conv_pads
from ._rnn import RNN_LAYERS
from ._values import Attrs, data
from .layers import SHAPE_INPUTS, OnnxOp

__all__ = ["build_layer"]


def _set(t: Any, value: np.ndarray) -> None:
    """Give ``t`` its own writable copy of ``value`` (in ``t``'s float dtype)."""
    dtype = t.data.dtype if value.dtype.kind == "f" else value.dtype
    t.data = np.array(value, dtype=dtype, order="C", copy=True)


def _float_weight(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind == "f"


def _conv(node: Any, a: Attrs, ins: list[Any]) -> Module | None:
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    if not _float_weight(w) or (b is not None and not _float_weight(b)):
        return None
    if len(data(x).shape) != 4 or w.ndim != 4:
        return None
    kernel = list(a.get("kernel_shape", w.shape[2:]))
    strides = list(a.get("strides", [1, 1]))
    dil = list(a.get("dilations", [1, 1]))
    pads = conv_pads(a, tuple(data(x).shape[2:]), kernel, strides, dil)
    if pads[:2] != pads[2:]:
        return None
    g = int(a.get("group", 1))
    layer = nn.Conv2d(w.shape[1] * g, w.shape[0], tuple(kernel), stride=tuple(strides),
                      padding=tuple(pads[:2]), dilation=tuple(dil), groups=g,
                      bias=b is not None)
    _set(layer.weight, w.astype(w.dtype, copy=False))
    if b is not None:
        _set(layer.bias, b)
    return _cast(layer, w.dtype)


def _cast(layer: Module, dtype: np.dtype) -> Module:
    for p in layer.parameters():
        if p.data.dtype != dtype:
            p.data = p.data.astype(dtype)
    return layer


def _gemm(node: Any, a: Attrs, ins: list[Any]) -> Module | None:
    x, w = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    if a.get("transA", 0) or not _float_weight(w) or w.ndim != 2 or len(data(x).shape) != 2:
        return None
    weight = w if a.get("transB", 0) else w.T
    n_out = weight.shape[0]
    if c is not None:
        if not _float_weight(c) or c.size not in (1, n_out) or c.ndim > 2:
            return None
        c = np.broadcast_to(c.reshape(-1), (n_out,)) * a.get("beta", 1.0)
    layer = nn.Linear(weight.shape[1], n_out, bias=c is not None)
    _set(layer.weight, weight * a.get("alpha", 1.0))
    if c is not None:
        _set(layer.bias, c)
    return _cast(layer, w.dtype)


def _matmul(node: Any, a: Attrs, ins: list[Any]) -> Module | None:
    x, w = ins
    if not _float_weight(w) or w.ndim != 2 or len(data(x).shape) < 2:
        return None
    layer = nn.Linear(w.shape[0], w.shape[1], bias=False)
    _set(layer.weight, w.T)
    return _cast(layer, w.dtype)


def _batch_norm(node: Any, a: Attrs, ins: list[Any]) -> Module | None:
    if a.get("training_mode", 0) or not all(_float_weight(v) for v in ins[1:5]):
        return None
    if len([o for o in node.output if o]) > 1:
        return None
    rank = len(data(ins[0]).shape)
    if rank not in (2, 3, 4):
        return None
    cls = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
    layer = cls(ins[1].shape[0], eps=float(a.get("epsilon", 1e-5)),
                momentum=1.0 - float(a.get("momentum", 0.9)))
    for t, v in ((layer.weight, ins[1]), (layer.bias, ins[2]), (layer.running_mean, ins[3]),
                 (layer.running_var, ins[4])):
        _set(t, v)
    return _cast(layer, ins[1].dtype)


def _dropout(node: Any, a: Attrs, ins: list[Any]) -> Module | None:
    if len([o for o in node.output if o]) > 1:
        return None
    ratio = a.get("ratio", 0.5) if a.opset < 12 else (
        0.5 if len(ins) < 2 or ins[1] is None else float(np.asarray(data(ins[1]))))
    return nn.Dropout(ratio)


_LAYERS = {
    "Conv": _conv, "Gemm": _gemm, "MatMul": _matmul, "BatchNormalization": _batch_norm,
    "Dropout": _dropout,
    "Relu": lambda n, a, i: nn.ReLU(), "Sigmoid": lambda n, a, i: nn.Sigmoid(),
    "Tanh": lambda n, a, i: nn.Tanh(), "Identity": lambda n, a, i: nn.Identity(),
    "LeakyRelu": lambda n, a, i: nn.LeakyReLU(a.get("alpha", 0.01)),
    "Flatten": lambda n, a, i: nn.Flatten() if a.get("axis", 1) == 1 and len(
        data(i[0]).shape) >= 2 else None,
}
_LAYERS.update(RNN_LAYERS)


def build_layer(node: Any, attrs: Attrs, ins: list[Any], consts: dict[str, np.ndarray]
                ) -> tuple[Module, list[str]]:
    """The layer for ``node`` and the names of the ONNX values it is called with."""
    dynamic = [n for n in node.input if n and n not in consts]
    special = _LAYERS.get(node.op_type)
    if special is not None and dynamic and node.input[0] == dynamic[0] and (
            len(dynamic) == 1 or node.op_type in RNN_LAYERS):  # initial states as inputs
        with skip_init():  # the weights come from the file: no random initialization
            layer = special(node, attrs, ins) if node.op_type not in RNN_LAYERS \
                else special(node, attrs, ins, dynamic)
        if layer is not None:
            return layer, dynamic
    specs: list[Any] = []
    values: dict[str, np.ndarray] = {}
    shape_inputs = SHAPE_INPUTS.get(node.op_type, set())
    for i, name in enumerate(node.input):
        if not name:
            specs.append(None)
        elif name not in consts:
            specs.append("x")
        else:
            v = consts[name]
            trainable = v.dtype.kind == "f" and i not in shape_inputs
            cname = f"input{i}"
            specs.append([cname, list(v.shape), v.dtype.name, trainable])
            values[cname] = v
    with skip_init():
        layer = OnnxOp(node.op_type, dict(attrs.values), specs, attrs.opset)
    for cname, v in values.items():
        _set(getattr(layer, cname), v)
    return layer, dynamic

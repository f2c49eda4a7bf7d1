"""The layers an imported ONNX graph is made of.

Nodes with weights that deepgrad has a layer for become that layer, so that freezing,
``summary()`` and fine-tuning treat them as usual: Conv -> ``nn.Conv2d``, Gemm / MatMul by a
weight -> ``nn.Linear``, BatchNormalization -> ``nn.BatchNorm1d/2d``, Dropout ->
``nn.Dropout``. Every other node becomes an :class:`OnnxOp`: the operator from the table,
its attributes, and its constant inputs (float ones as trainable Parameters, integer ones
and those feeding shapes as buffers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..io.config import register_module
from ..nn import init as _init
from ..nn.module import Module
from ..nn.parameter import Parameter
from ._values import Attrs

__all__ = ["OnnxOp", "SHAPE_INPUTS"]

# Inputs (by position) that are shapes, axes, indices or scalars, never weights: constants
# there stay constants ("initializers that feed shape computations stay constants").
SHAPE_INPUTS: dict[str, set[int]] = {
    "Reshape": {1}, "Expand": {1}, "Squeeze": {1}, "Unsqueeze": {1}, "Slice": {1, 2, 3, 4},
    "Split": {1}, "Gather": {1}, "Pad": {1, 2, 3}, "ConstantOfShape": {0}, "Tile": {1},
    "ReduceMean": {1}, "ReduceSum": {1}, "ReduceMax": {1}, "ReduceMin": {1},
    "Resize": {1, 2, 3}, "Upsample": {1}, "Clip": {1, 2}, "Dropout": {1, 2}, "Where": {0},
    "Pow": {1},
}


def _attr_json(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return {"__array__": v.tolist(), "dtype": v.dtype.name}
    if isinstance(v, list | tuple):
        return [_attr_json(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _attr_value(v: Any) -> Any:
    if isinstance(v, dict) and "__array__" in v:
        return np.asarray(v["__array__"], dtype=v["dtype"])
    if isinstance(v, list):
        return [_attr_value(x) for x in v]
    return v


@register_module
class OnnxOp(Module):
    """One ONNX operator as a layer (what ``deepgrad.onnx.load`` builds for nodes that
    have no dedicated deepgrad layer).

    Args:
        op_type: the ONNX operator name (a key of ``deepgrad.onnx.ops.OPS``).
        attrs: its attributes, JSON-able (arrays as ``{"__array__": ..., "dtype": ...}``).
        inputs: one entry per operator input: ``"x"`` for a value the layer is called with
            (in order), None for an absent optional input, or ``[name, shape, dtype,
            trainable]`` for a constant held by the layer (a Parameter when trainable,
            else a buffer).
        opset: the model's opset version (operators changed their forms between opsets).
    """

    def __init__(self, op_type: str, attrs: dict[str, Any], inputs: list[Any],
                 opset: int) -> None:
        super().__init__()
        from .ops import OPS

        if op_type not in OPS:
            raise ValueError(f"OnnxOp: unsupported ONNX operator {op_type!r}")
        self.op_type, self.opset = op_type, int(opset)
        self.attrs = {k: _attr_json(v) for k, v in attrs.items()}
        self.inputs = [list(s) if isinstance(s, list | tuple) else s for s in inputs]
        self._attrs = Attrs({k: _attr_value(v) for k, v in self.attrs.items()}, self.opset,
                            op_type)
        for spec in self.inputs:
            if isinstance(spec, list):
                name, shp, dtype, trainable = spec
                arr = _init.zeros(tuple(shp), np.dtype(dtype))
                if trainable:
                    self.register_parameter(name, Parameter(arr))
                else:
                    self.register_buffer(name, arr)

    def get_config(self) -> dict[str, Any]:
        return {"op_type": self.op_type, "attrs": self.attrs, "inputs": self.inputs,
                "opset": self.opset}

    def forward(self, *xs: Any, output: int = 0) -> Any:
        from .ops import run_op

        values, it = [], iter(xs)
        for spec in self.inputs:
            if spec == "x":
                values.append(next(it))
            elif spec is None:
                values.append(None)
            else:
                t = getattr(self, spec[0])
                values.append(t if spec[3] else np.asarray(t.data))
        out = run_op(self.op_type, self._attrs, values)[output]
        return out if out is not None else Tensor(np.zeros(0, np.float32))

    def extra_repr(self) -> str:
        return self.op_type

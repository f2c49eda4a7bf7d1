"""ONNX in and out: ``export(model, args, f)`` writes a model as ONNX, ``load(f)`` builds a
graph ``Model`` from an ONNX file.

Needs the ``onnx`` package (``pip install 'deepgrad[onnx]'``), imported only when a
function here is called: ``import deepgrad`` and ``import deepgrad.onnx`` don't import it.
"""

from __future__ import annotations

from ._proto import OnnxError
from .export import DEFAULT_OPSET, export
from .layers import OnnxOp
from .load import UnsupportedOperatorError, load
from .ops import SUPPORTED

__all__ = ["export", "load", "OnnxError", "UnsupportedOperatorError", "OnnxOp", "SUPPORTED",
           "DEFAULT_OPSET"]

"""Training: compile / fit / evaluate / predict on any Module (Keras's API).

Importing this package gives every ``deepgrad.nn.Module`` the methods ``compile``, ``fit``,
``evaluate``, ``predict`` and ``predict_classes`` (``import deepgrad`` does it). nn cannot
import train (the dependency direction), so train attaches them, as autograd attaches the
Tensor operators.
"""

from __future__ import annotations

from ..nn.graph import Model as _GraphModel
from ..nn.module import Module
from .compile import (
    LOSS_NAMES,
    OPTIMIZER_NAMES,
    LossSpec,
    NotCompiledError,
    resolve_loss,
    resolve_optimizer,
)
from .compiled import CompiledStep, NonFiniteLoss, compile_step
from .evaluation import evaluate, predict, predict_classes
from .trainer import compile, fit

__all__ = [
    "compile", "fit", "evaluate", "predict", "predict_classes", "NotCompiledError",
    "LossSpec", "resolve_loss", "resolve_optimizer", "LOSS_NAMES", "OPTIMIZER_NAMES",
    "Model", "CompiledStep", "compile_step", "NonFiniteLoss",
]

Model = _GraphModel
"""``deepgrad.Model`` is :class:`deepgrad.nn.Model`: a graph model built from ``Input`` and
outputs, or, subclassed without them, a plain Module. Every Module has the training
methods attached."""

for _name, _fn in {"compile": compile, "fit": fit, "evaluate": evaluate, "predict": predict,
                   "predict_classes": predict_classes}.items():
    setattr(Module, _name, _fn)

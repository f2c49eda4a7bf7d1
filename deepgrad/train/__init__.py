"""Training: compile / fit / evaluate / predict on any Module (Keras's API).

Importing this package gives every ``deepgrad.nn.Module`` the methods ``compile``, ``fit``,
``evaluate``, ``predict`` and ``predict_classes`` (``import deepgrad`` does it). nn cannot
import train (the dependency direction), so train attaches them, as autograd attaches the
Tensor operators.
"""

from __future__ import annotations

from ..nn.module import Module
from .compile import (
    LOSS_NAMES,
    OPTIMIZER_NAMES,
    LossSpec,
    NotCompiledError,
    resolve_loss,
    resolve_optimizer,
)
from .evaluation import evaluate, predict, predict_classes
from .trainer import compile, fit

__all__ = [
    "compile", "fit", "evaluate", "predict", "predict_classes", "NotCompiledError",
    "LossSpec", "resolve_loss", "resolve_optimizer", "LOSS_NAMES", "OPTIMIZER_NAMES",
    "Model",
]

Model = Module
"""Any module is a model: ``deepgrad.Model`` is ``deepgrad.nn.Module``, with the
training methods attached."""

for _name, _fn in {"compile": compile, "fit": fit, "evaluate": evaluate, "predict": predict,
                   "predict_classes": predict_classes}.items():
    setattr(Module, _name, _fn)

"""Optimizers, gradient clipping and learning-rate schedulers (PyTorch's names and rules).

Example:
    >>> opt = deepgrad.optim.Adam(model.parameters(), lr=1e-3)
    >>> sched = deepgrad.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    >>> for epoch in range(epochs):
    ...     for x, y in loader:
    ...         opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    ...     sched.step()
"""

from . import functional, lr_scheduler
from .adaptive import Adadelta, Adagrad, Adam, AdamW, RMSprop
from .clip import clip_grad_norm_, clip_grad_value_, get_total_norm
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeDecay,
    LambdaLR,
    LRScheduler,
    MultiStepLR,
    ReduceLROnPlateau,
    StepLR,
)
from .optimizer import HookHandle, Optimizer
from .sgd import SGD

__all__ = [
    "Optimizer",
    "HookHandle",
    "SGD",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "Adam",
    "AdamW",
    "clip_grad_norm_",
    "clip_grad_value_",
    "get_total_norm",
    "functional",
    "lr_scheduler",
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "InverseTimeDecay",
    "ReduceLROnPlateau",
]

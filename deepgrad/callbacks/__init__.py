"""Callbacks for ``fit``, with Keras's hook names: early stopping, checkpoints, learning-rate
schedules, CSV logging, NaN detection and the progress display."""

from __future__ import annotations

from .base import (
    Callback,
    CallbackList,
    History,
    NonFiniteLossError,
    TerminateOnNaN,
    divergence_error,
)
from .monitors import (
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from .progress import LoopProgress, ProgressBar

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "CSVLogger",
    "TerminateOnNaN",
    "NonFiniteLossError",
    "divergence_error",
    "ProgressBar",
    "LoopProgress",
]

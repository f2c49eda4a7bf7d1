"""Layers, containers, losses and initializers to compose into networks."""

from __future__ import annotations

from . import (
    functional,  # noqa: E402,I001  (after the layers it re-exports from)
    init,
)
from .activation import (
    ELU,
    GELU,
    Hardtanh,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    get_activation,
)
from .container import ModuleList, Sequential
from .conv import Conv2d
from .dropout import Dropout
from .flatten import Flatten
from .linear import Dense, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from .module import Module, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool2d, MaxPool2d

__all__ = [
    "Module", "Parameter", "StateDictError", "Sequential", "ModuleList", "init", "functional",
    "Linear", "Dense", "Flatten", "Dropout",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Hardtanh", "Identity", "Softmax", "LogSoftmax",
    "ELU", "GELU", "SiLU", "Softplus", "get_activation",
    "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "GlobalAvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm",
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss",
    "HuberLoss",
]

"""Layers, containers, losses and initializers to compose into networks."""

from __future__ import annotations

from . import (
    functional,  # noqa: E402,I001  (after the layers it re-exports from)
    init,
    utils,
)
from .activation import (
    ELU,
    GELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Identity,
    LeakyReLU,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    get_activation,
)
from .attention import AdditiveAttention, MultiheadAttention
from .container import ModuleDict, ModuleList, ParameterList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .graph import Model
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
from .merge import (
    Activation,
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Permute,
    Reshape,
    Subtract,
)
from .module import Module, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .parameter import Parameter
from .pooling import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    GlobalAvgPool2d,
    MaxPool1d,
    MaxPool2d,
    MaxUnpool1d,
    MaxUnpool2d,
)
from .rnn import GRU, LSTM, RNN, RNNBase
from .rnn_cell import GRUCell, LSTMCell, RNNCell, RNNCellBase
from .rnn_keras import Bidirectional, GRULayer, LSTMLayer, SimpleRNN
from .symbolic import Input, SymbolicTensor
from .upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "Input", "Model", "SymbolicTensor", "Add", "Subtract", "Multiply", "Average", "Maximum",
    "Minimum", "Concatenate", "Reshape", "Permute", "Activation",
    "Module", "Parameter", "StateDictError", "Sequential", "ModuleList", "init", "functional",
    "utils",
    "Linear", "Dense", "Flatten", "Dropout",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Hardtanh", "Identity", "Softmax", "LogSoftmax",
    "ELU", "GELU", "SiLU", "Softplus", "get_activation",
    "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "GlobalAvgPool2d",
    "Conv1d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "AvgPool1d",
    "AdaptiveMaxPool2d", "MaxUnpool1d", "MaxUnpool2d", "Upsample", "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d",
    "ReLU6", "PReLU", "Mish", "Hardswish", "Hardsigmoid", "Dropout2d", "Unflatten",
    "ModuleDict", "ParameterList",
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss",
    "HuberLoss",
    "Embedding", "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell",
    "GRUCell", "SimpleRNN", "LSTMLayer", "GRULayer", "Bidirectional",
    "MultiheadAttention", "AdditiveAttention",
]

"""Functional forms of the layers and losses (PyTorch's ``torch.nn.functional``)."""

from __future__ import annotations

from ..autograd.ops.activations import elu, gelu, hardtanh, silu, softplus
from ..autograd.ops.activations_extra import hardsigmoid, hardswish, mish, prelu, relu6
from ..autograd.ops.attention import scaled_dot_product_attention
from ..autograd.ops.conv import conv1d, conv2d
from ..autograd.ops.conv_transpose import conv_transpose1d, conv_transpose2d
from ..autograd.ops.dropout import dropout, dropout2d
from ..autograd.ops.embedding import embedding
from ..autograd.ops.linear import linear
from ..autograd.ops.math import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from ..autograd.ops.norm import batch_norm, layer_norm
from ..autograd.ops.norm_group import group_norm, instance_norm
from ..autograd.ops.padding import torch_pad as pad
from ..autograd.ops.pool import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    global_avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from ..autograd.ops.upsample import interpolate, upsample
from ..losses import (
    L1,
    L2,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)

__all__ = [
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d",
    "batch_norm", "layer_norm", "dropout",
    "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "gelu", "hardtanh",
    "silu", "softplus",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
    "mse_loss", "l1_loss", "huber_loss", "L1", "L2",
    "embedding", "scaled_dot_product_attention",
    "pad",
    "conv1d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "avg_pool1d",
    "adaptive_max_pool2d", "max_unpool1d", "max_unpool2d", "interpolate", "upsample",
    "group_norm", "instance_norm", "relu6", "hardsigmoid", "hardswish", "mish", "prelu",
    "dropout2d",
]

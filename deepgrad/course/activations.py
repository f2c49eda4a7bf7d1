"""The course's activation functions for the deep network, forward and backward.

A forward returns ``(A, cache)`` with ``cache = Z``; a backward takes ``(dA, Z)`` and
returns dZ = dA * g'(Z).
"""

from __future__ import annotations

import numpy as np

from .numpy_basics import sigmoid as _sigmoid

__all__ = [
    "LEAKY_SLOPE", "sigmoid", "relu", "tanh", "leaky_relu", "linear",
    "sigmoid_backward", "relu_backward", "tanh_backward", "leaky_relu_backward",
    "linear_backward_activation", "ACTIVATIONS",
]

LEAKY_SLOPE = 0.01


# --- activations: forward returns (A, cache = Z); backward takes (dA, Z), returns dZ -------

def sigmoid(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = sigma(Z) = 1 / (1 + e^-Z). Shape: Z any; A and cache (= Z) same as Z."""
    return _sigmoid(Z), Z


def relu(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = max(0, Z). Shape: Z any; A and cache (= Z) same as Z."""
    return np.maximum(0, Z), Z


def tanh(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = tanh(Z). Shape: Z any; A and cache (= Z) same as Z."""
    return np.tanh(Z), Z


def leaky_relu(Z: np.ndarray, alpha: float = LEAKY_SLOPE) -> tuple[np.ndarray, np.ndarray]:
    """A = Z where Z > 0, alpha Z elsewhere (alpha = 0.01). Shape: A, cache same as Z."""
    return np.where(Z > 0, Z, alpha * Z), Z


def linear(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = Z (identity). Shape: A, cache same as Z."""
    return Z, Z


def sigmoid_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ = dA * s (1 - s), s = sigma(Z). Shape: dA, cache (= Z), dZ all the same."""
    s = _sigmoid(cache)
    dZ = dA * s * (1 - s)
    return dZ


def relu_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ = dA where Z > 0, 0 where Z <= 0. Shape: dA, cache (= Z), dZ all the same."""
    dZ = np.array(dA, copy=True)
    dZ[cache <= 0] = 0
    return dZ


def tanh_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ = dA * (1 - tanh(Z)^2). Shape: dA, cache (= Z), dZ all the same."""
    return dA * (1 - np.power(np.tanh(cache), 2))


def leaky_relu_backward(dA: np.ndarray, cache: np.ndarray, alpha: float = LEAKY_SLOPE
                        ) -> np.ndarray:
    """dZ = dA where Z > 0, alpha dA elsewhere. Shape: dA, cache (= Z), dZ all the same."""
    return np.where(cache > 0, dA, alpha * dA)


def linear_backward_activation(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ = dA (identity activation). Shape: dA, dZ the same."""
    return np.array(dA, copy=True)


#: activation name -> (forward, backward)
ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_backward),
    "relu": (relu, relu_backward),
    "tanh": (tanh, tanh_backward),
    "leaky_relu": (leaky_relu, leaky_relu_backward),
    "linear": (linear, linear_backward_activation),
}


def _activation(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]

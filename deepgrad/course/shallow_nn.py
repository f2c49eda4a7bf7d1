"""The course's one-hidden-layer network (planar data): tanh hidden layer, sigmoid output.

Notation: X is (n_x, m), Y is (1, m), W1 (n_h, n_x), b1 (n_h, 1), W2 (n_y, n_h), b2 (n_y, 1).
The hidden activation is tanh as in the course; ``activation=`` (keyword only) selects one of
the others of ``deep_nn.ACTIVATIONS`` for experiments and cross-checks.
"""

from __future__ import annotations

import copy

import numpy as np

from .deep_nn import ACTIVATIONS
from .deep_nn import initialize_parameters as _two_layer_initialization
from .numpy_basics import _as_float_labels, _safe_log, sigmoid

__all__ = ["layer_sizes", "initialize_parameters", "forward_propagation", "compute_cost",
           "backward_propagation", "update_parameters", "nn_model", "predict"]


def layer_sizes(X: np.ndarray, Y: np.ndarray) -> tuple[int, int, int]:
    """Sizes of the layers: n_x = X.shape[0], n_h = 4, n_y = Y.shape[0].

    Shape:
        X: (n_x, m); Y: (n_y, m).
    """
    n_x = X.shape[0]
    n_h = 4
    n_y = Y.shape[0]
    return n_x, n_h, n_y


def initialize_parameters(n_x: int, n_h: int, n_y: int, seed: int | None = 2) -> dict:
    """W = randn * 0.01, b = 0, after ``np.random.seed(seed)`` unless seed is None.

    Returns:
        ``{"W1", "b1", "W2", "b2"}``.

    Shape:
        W1: (n_h, n_x); b1: (n_h, 1); W2: (n_y, n_h); b2: (n_y, 1).
    """
    # the two-layer initialization of deep_nn, with this assignment's seed (2, not 1)
    return _two_layer_initialization(n_x, n_h, n_y, seed)


def forward_propagation(X: np.ndarray, parameters: dict, *, activation: str = "tanh"
                        ) -> tuple[np.ndarray, dict]:
    """Z1 = W1 X + b1, A1 = tanh(Z1), Z2 = W2 A1 + b2, A2 = sigma(Z2).

    Args:
        X: data.
        parameters: ``{"W1", "b1", "W2", "b2"}``.
        activation: the hidden activation (the course's is "tanh").

    Returns:
        (A2, cache) with cache ``{"Z1", "A1", "Z2", "A2"}``.

    Shape:
        X: (n_x, m); Z1, A1: (n_h, m); Z2, A2: (n_y, m).
    """
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    Z1 = np.dot(W1, X) + b1
    A1 = np.tanh(Z1) if activation == "tanh" else ACTIVATIONS[activation][0](Z1)[0]
    Z2 = np.dot(W2, A1) + b2
    A2 = sigmoid(Z2)
    cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
    return A2, cache


def compute_cost(A2: np.ndarray, Y: np.ndarray) -> float:
    """Cross-entropy: J = -(1/m) sum_i [y_i log a2_i + (1 - y_i) log(1 - a2_i)].

    Y may be boolean. Guard: where A2 is exactly 0 or 1, the argument of the log that would
    be 0 is replaced by ``finfo.eps``; nothing else changes, nothing is clipped.

    Returns:
        cost, a Python float.

    Shape:
        A2: (1, m); Y: (1, m).
    """
    Y = _as_float_labels(Y)
    m = Y.shape[1]
    logprobs = np.multiply(_safe_log(A2), Y) + np.multiply(_safe_log(1 - A2), 1 - Y)
    cost = -np.sum(logprobs) / m
    return float(np.squeeze(cost))


def backward_propagation(parameters: dict, cache: dict, X: np.ndarray, Y: np.ndarray, *,
                         activation: str = "tanh") -> dict:
    """Gradients of the cross-entropy cost.

    dZ2 = A2 - Y, dW2 = (1/m) dZ2 A1ᵀ, db2 = (1/m) sum dZ2,
    dZ1 = W2ᵀ dZ2 * (1 - A1²) (tanh), dW1 = (1/m) dZ1 Xᵀ, db1 = (1/m) sum dZ1.

    Args:
        parameters: ``{"W1", "b1", "W2", "b2"}``.
        cache: ``{"Z1", "A1", "Z2", "A2"}`` from ``forward_propagation``.
        X: data. Y: labels.
        activation: the hidden activation used in the forward pass.

    Returns:
        ``{"dW1", "db1", "dW2", "db2"}``.

    Shape:
        dW1: (n_h, n_x); db1: (n_h, 1); dW2: (n_y, n_h); db2: (n_y, 1).
    """
    Y = _as_float_labels(Y)
    m = X.shape[1]
    W2 = parameters["W2"]
    A1, A2 = cache["A1"], cache["A2"]
    dZ2 = A2 - Y
    dW2 = (1 / m) * np.dot(dZ2, A1.T)
    db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
    if activation == "tanh":
        dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))
    else:
        dZ1 = ACTIVATIONS[activation][1](np.dot(W2.T, dZ2), cache["Z1"])
    dW1 = (1 / m) * np.dot(dZ1, X.T)
    db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def update_parameters(parameters: dict, grads: dict, learning_rate: float = 1.2) -> dict:
    """Gradient descent: theta := theta - alpha d theta for W1, b1, W2, b2.

    Returns a new dict; the given arrays are not modified.

    Shape:
        as in ``initialize_parameters``.
    """
    parameters = copy.deepcopy(parameters)
    for key in ("W1", "b1", "W2", "b2"):
        parameters[key] = parameters[key] - learning_rate * grads["d" + key]
    return parameters


def nn_model(X: np.ndarray, Y: np.ndarray, n_h: int, num_iterations: int = 10000,
             print_cost: bool = False) -> dict:
    """Train the network by gradient descent (learning rate 1.2).

    As in the course: ``np.random.seed(3)``, then ``initialize_parameters(n_x, n_h, n_y)``
    (which reseeds with 2), then forward, cost, backward and update each iteration; the cost
    is printed every 1000 iterations when ``print_cost``.

    Returns:
        the learnt parameters ``{"W1", "b1", "W2", "b2"}``.

    Shape:
        X: (n_x, m); Y: (n_y, m).
    """
    np.random.seed(3)
    n_x = layer_sizes(X, Y)[0]
    n_y = layer_sizes(X, Y)[2]
    parameters = initialize_parameters(n_x, n_h, n_y)
    for i in range(num_iterations):
        A2, cache = forward_propagation(X, parameters)
        cost = compute_cost(A2, Y)
        grads = backward_propagation(parameters, cache, X, Y)
        parameters = update_parameters(parameters, grads)
        if print_cost and i % 1000 == 0:
            print(f"Cost after iteration {i}: {cost:f}")
    return parameters


def predict(parameters: dict, X: np.ndarray) -> np.ndarray:
    """Predictions: 1 where A2 > 0.5, else 0.

    Returns:
        predictions, integers 0/1.

    Shape:
        X: (n_x, m); predictions: (1, m).
    """
    A2, _ = forward_propagation(X, parameters)
    predictions = (A2 > 0.5).astype(int)
    return predictions

"""The L-layer network of the course, block by block: ReLU hidden layers, a sigmoid output.

Notation: X is (n_x, m) = A[0], W[l] is (n[l], n[l-1]), b[l] is (n[l], 1),
Z[l] = W[l] A[l-1] + b[l], A[l] = g[l](Z[l]). A layer's cache is
``((A_prev, W, b), Z)``: the linear cache, then the activation cache.
"""

from __future__ import annotations

import numpy as np

from .activations import (  # re-exported: part of deep_nn's API
    ACTIVATIONS,
    LEAKY_SLOPE,
    _activation,
    leaky_relu,
    leaky_relu_backward,
    linear,
    linear_backward_activation,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    tanh,
    tanh_backward,
)
from .numpy_basics import _as_float_labels, _safe_log

__all__ = [
    "sigmoid", "relu", "tanh", "leaky_relu", "linear",
    "sigmoid_backward", "relu_backward", "tanh_backward", "leaky_relu_backward",
    "linear_backward_activation", "ACTIVATIONS", "LEAKY_SLOPE",
    "initialize_parameters", "initialize_parameters_deep", "linear_forward",
    "linear_activation_forward", "L_model_forward", "compute_cost", "linear_backward",
    "linear_activation_backward", "L_model_backward", "update_parameters",
    "two_layer_model", "L_layer_model", "predict",
]

# --- initialization ----------------------------------------------------------------------

def initialize_parameters(n_x: int, n_h: int, n_y: int, seed: int | None = 1) -> dict:
    """Two-layer initialization: W = randn * 0.01, b = 0.

    ``np.random.seed(seed)`` is called first unless seed is None (the course's value is 1).

    Args:
        n_x: input size. n_h: hidden size. n_y: output size.
        seed: seed of NumPy's legacy global generator, or None to leave it alone.

    Returns:
        ``{"W1", "b1", "W2", "b2"}``.

    Shape:
        W1: (n_h, n_x); b1: (n_h, 1); W2: (n_y, n_h); b2: (n_y, 1).
    """
    if seed is not None:
        np.random.seed(seed)
    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def initialize_parameters_deep(layer_dims, seed: int | None = 3, init: str = "small") -> dict:
    """L-layer initialization, b[l] = 0 and W[l] = randn(n[l], n[l-1]) scaled by ``init``.

    - ``"small"``: W * 0.01 (the step-by-step notebook, seed 3);
    - ``"xavier"``: W / sqrt(n[l-1]) (the application notebook, seed 1);
    - ``"he"``: W * sqrt(2 / n[l-1]).

    Args:
        layer_dims: [n[0], n[1], ..., n[L]].
        seed: seed of NumPy's legacy global generator, or None to leave it alone.
        init: "small", "xavier" or "he".

    Returns:
        ``{"W1", "b1", ..., "WL", "bL"}``.

    Shape:
        W[l]: (n[l], n[l-1]); b[l]: (n[l], 1).
    """
    if init not in ("small", "xavier", "he"):
        raise ValueError(f"init must be 'small', 'xavier' or 'he', got {init!r}")
    if seed is not None:
        np.random.seed(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):
        W = np.random.randn(layer_dims[l], layer_dims[l - 1])
        if init == "small":
            W = W * 0.01
        elif init == "xavier":
            W = W / np.sqrt(layer_dims[l - 1])
        else:
            W = W * np.sqrt(2.0 / layer_dims[l - 1])
        parameters["W" + str(l)] = W
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


# --- forward -------------------------------------------------------------------------------

def linear_forward(A: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Linear part of a layer: Z = W A + b.

    Returns:
        (Z, cache) with cache = (A, W, b).

    Shape:
        A: (n[l-1], m); W: (n[l], n[l-1]); b: (n[l], 1); Z: (n[l], m).
    """
    Z = np.dot(W, A) + b
    cache = (A, W, b)
    return Z, cache


def linear_activation_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray,
                              activation: str) -> tuple[np.ndarray, tuple]:
    """One layer: A = g(W A_prev + b).

    Args:
        A_prev: activations of the previous layer.
        W: weights. b: bias.
        activation: "sigmoid", "relu", "tanh", "leaky_relu" or "linear".

    Returns:
        (A, cache) with cache = ((A_prev, W, b), Z).

    Shape:
        A_prev: (n[l-1], m); W: (n[l], n[l-1]); b: (n[l], 1); A: (n[l], m).
    """
    forward, _ = _activation(activation)
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = forward(Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X: np.ndarray, parameters: dict, *, hidden_activation: str = "relu"
                    ) -> tuple[np.ndarray, list]:
    """[LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID.

    A[0] = X, A[l] = relu(W[l] A[l-1] + b[l]) for l < L, AL = sigma(W[L] A[L-1] + b[L]).

    Args:
        X: data.
        parameters: ``{"W1", "b1", ..., "WL", "bL"}``.
        hidden_activation: the hidden layers' activation (the course's is "relu").

    Returns:
        (AL, caches): the output and the L caches ``((A_prev, W, b), Z)``, layer 1 first.

    Shape:
        X: (n[0], m); AL: (n[L], m).
    """
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A_prev = A
        A, cache = linear_activation_forward(A_prev, parameters["W" + str(l)],
                                             parameters["b" + str(l)], hidden_activation)
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters["W" + str(L)],
                                          parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Cross-entropy: J = -(1/m) [Y log(AL)ᵀ + (1 - Y) log(1 - AL)ᵀ].

    Guard: where AL is exactly 0 or 1, the argument of the log that would be 0 is replaced by
    ``finfo.eps`` (J stays finite); no other value changes, nothing is clipped.

    Returns:
        cost, a 0-d array (``np.squeeze`` of the (1, 1) product).

    Shape:
        AL: (1, m); Y: (1, m) (0/1 or booleans); cost: ().
    """
    Y = _as_float_labels(Y)
    m = Y.shape[1]
    cost = (-1 / m) * (np.dot(Y, _safe_log(AL).T) + np.dot(1 - Y, _safe_log(1 - AL).T))
    cost = np.squeeze(cost)
    return cost


# --- backward ------------------------------------------------------------------------------

def linear_backward(dZ: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear part of a layer's backward pass.

    dW = (1/m) dZ A_prevᵀ,  db = (1/m) sum over examples of dZ,  dA_prev = Wᵀ dZ.

    Args:
        dZ: gradient of the cost with respect to Z.
        cache: (A_prev, W, b) from ``linear_forward``.

    Returns:
        (dA_prev, dW, db).

    Shape:
        dZ: (n[l], m); dA_prev: (n[l-1], m); dW: (n[l], n[l-1]); db: (n[l], 1).
    """
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1.0 / m * np.dot(dZ, A_prev.T)
    db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def linear_activation_backward(dA: np.ndarray, cache: tuple, activation: str
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One layer's backward pass: dZ = dA * g'(Z), then ``linear_backward``.

    Args:
        dA: gradient of the cost with respect to this layer's output A.
        cache: ((A_prev, W, b), Z) from ``linear_activation_forward``.
        activation: "sigmoid", "relu", "tanh", "leaky_relu" or "linear".

    Returns:
        (dA_prev, dW, db).

    Shape:
        dA: (n[l], m); dA_prev: (n[l-1], m); dW: (n[l], n[l-1]); db: (n[l], 1).
    """
    _, backward = _activation(activation)
    linear_cache, activation_cache = cache
    dZ = backward(dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def _dAL(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The course's dAL = -(Y / AL - (1 - Y) / (1 - AL)), guarded.

    Guard: entries of AL exactly 0 become eps and exactly 1 become 1 - eps
    (eps = ``finfo(AL.dtype).eps``), so that dAL stays finite; the sigmoid's backward then
    gives dZ = dAL * s (1 - s) = 0 there (s is exactly 0 or 1) instead of NaN. Every other
    entry is left exactly as it is: nothing is clipped (AL may even lie outside [0, 1]).
    """
    AL = np.asarray(AL)
    dtype = AL.dtype if np.issubdtype(AL.dtype, np.floating) else np.dtype(np.float64)
    eps = np.finfo(dtype).eps
    AL = np.where(AL == 0, eps, np.where(AL == 1, 1 - eps, AL))
    return -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))


def L_model_backward(AL: np.ndarray, Y: np.ndarray, caches: list, *,
                     hidden_activation: str = "relu") -> dict:
    """Backward pass of [LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID.

    Starts from the course's dAL = -(Y / AL - (1 - Y) / (1 - AL)) (guarded: AL exactly 0 or 1
    is replaced by eps or 1 - eps, see ``_dAL``; no clipping), then for l = L, ..., 1:
    dZ[l] = dA[l] * g'(Z[l]), dW[l] = (1/m) dZ[l] A[l-1]ᵀ, db[l] = (1/m) sum dZ[l],
    dA[l-1] = W[l]ᵀ dZ[l].

    Args:
        AL: output of ``L_model_forward``.
        Y: labels (reshaped to AL's shape).
        caches: the caches from ``L_model_forward``.
        hidden_activation: the hidden layers' activation (the course's is "relu").

    Returns:
        grads with ``"dA" + str(l)`` (gradient w.r.t. A[l], l = 0..L-1), ``"dW" + str(l)``,
        ``"db" + str(l)`` (l = 1..L).

    Shape:
        AL: (1, m); Y: (1, m); grads["dA0"]: (n[0], m); grads["dWl"]: (n[l], n[l-1]);
        grads["dbl"]: (n[l], 1).
    """
    grads = {}
    L = len(caches)
    Y = _as_float_labels(Y).reshape(AL.shape)
    dAL = _dAL(AL, Y)
    dA_prev, dW, db = linear_activation_backward(dAL, caches[L - 1], "sigmoid")
    grads["dA" + str(L - 1)] = dA_prev
    grads["dW" + str(L)] = dW
    grads["db" + str(L)] = db
    for l in reversed(range(L - 1)):
        dA_prev, dW, db = linear_activation_backward(grads["dA" + str(l + 1)], caches[l],
                                                     hidden_activation)
        grads["dA" + str(l)] = dA_prev
        grads["dW" + str(l + 1)] = dW
        grads["db" + str(l + 1)] = db
    return grads


def update_parameters(params: dict, grads: dict, learning_rate: float) -> dict:
    """Gradient descent: W[l] := W[l] - alpha dW[l], b[l] := b[l] - alpha db[l].

    Returns a new dict; the arrays of ``params`` are not modified.

    Shape:
        each W[l], dW[l]: (n[l], n[l-1]); each b[l], db[l]: (n[l], 1).
    """
    parameters = params.copy()
    L = len(parameters) // 2
    for l in range(1, L + 1):
        parameters["W" + str(l)] = parameters["W" + str(l)] - learning_rate * grads["dW" + str(l)]
        parameters["b" + str(l)] = parameters["b" + str(l)] - learning_rate * grads["db" + str(l)]
    return parameters


# --- models --------------------------------------------------------------------------------

def two_layer_model(X: np.ndarray, Y: np.ndarray, layers_dims, learning_rate: float = 0.0075,
                    num_iterations: int = 3000, print_cost: bool = False,
                    seed: int | None = 1) -> tuple[dict, list]:
    """LINEAR -> RELU -> LINEAR -> SIGMOID trained by batch gradient descent.

    Initialised by ``initialize_parameters(n_x, n_h, n_y, seed)``; each iteration runs the
    forward pass, J, dA2 = -(Y / A2 - (1 - Y) / (1 - A2)) (guarded as in ``L_model_backward``),
    the two backward blocks and the update. ``costs`` holds J at every i % 100 == 0 (before
    that iteration's update); with ``print_cost`` those and the last iteration are printed.

    Args:
        X: data. Y: labels.
        layers_dims: (n_x, n_h, n_y).
        learning_rate: alpha. num_iterations: number of updates.
        print_cost: print "Cost after iteration i: J".
        seed: seed of NumPy's legacy global generator, or None to leave it alone.

    Returns:
        (parameters, costs).

    Shape:
        X: (n_x, m); Y: (1, m).
    """
    n_x, n_h, n_y = layers_dims
    if seed is not None:
        np.random.seed(seed)
    parameters = initialize_parameters(n_x, n_h, n_y, seed=seed)
    Yf = _as_float_labels(Y)
    costs = []
    for i in range(num_iterations):
        A1, cache1 = linear_activation_forward(X, parameters["W1"], parameters["b1"], "relu")
        A2, cache2 = linear_activation_forward(A1, parameters["W2"], parameters["b2"], "sigmoid")
        cost = compute_cost(A2, Yf)
        dA2 = _dAL(A2, Yf)
        dA1, dW2, db2 = linear_activation_backward(dA2, cache2, "sigmoid")
        dA0, dW1, db1 = linear_activation_backward(dA1, cache1, "relu")
        grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
        parameters = update_parameters(parameters, grads, learning_rate)
        _record(costs, cost, i, num_iterations, print_cost)
    return parameters, costs


def _record(costs: list, cost, i: int, num_iterations: int, print_cost: bool) -> None:
    if print_cost and (i % 100 == 0 or i == num_iterations - 1):
        print(f"Cost after iteration {i}: {np.squeeze(cost)}")
    if i % 100 == 0:
        costs.append(cost)


def L_layer_model(X: np.ndarray, Y: np.ndarray, layers_dims, learning_rate: float = 0.0075,
                  num_iterations: int = 3000, print_cost: bool = False, seed: int | None = 1,
                  init: str = "xavier") -> tuple[dict, list]:
    """[LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID trained by batch gradient descent.

    Initialised by ``initialize_parameters_deep(layers_dims, seed, init)`` (the application
    notebook: seed 1, W / sqrt(n[l-1])); each iteration: ``L_model_forward``,
    ``compute_cost``, ``L_model_backward``, ``update_parameters``. ``costs`` holds J at every
    i % 100 == 0 (before that iteration's update); with ``print_cost`` those and the last
    iteration are printed.

    Args:
        X: data. Y: labels.
        layers_dims: [n[0], ..., n[L]].
        learning_rate: alpha. num_iterations: number of updates.
        print_cost: print "Cost after iteration i: J".
        seed: seed of NumPy's legacy global generator, or None to leave it alone.
        init: "small", "xavier" or "he".

    Returns:
        (parameters, costs).

    Shape:
        X: (n[0], m); Y: (1, m).
    """
    if seed is not None:
        np.random.seed(seed)
    parameters = initialize_parameters_deep(layers_dims, seed=seed, init=init)
    costs = []
    for i in range(num_iterations):
        AL, caches = L_model_forward(X, parameters)
        cost = compute_cost(AL, Y)
        grads = L_model_backward(AL, Y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
        _record(costs, cost, i, num_iterations, print_cost)
    return parameters, costs


def predict(X: np.ndarray, y: np.ndarray, parameters: dict) -> np.ndarray:
    """Predictions of the L-layer network: p = 1 where AL > 0.5, else 0.

    Prints "Accuracy: " and the fraction of predictions equal to y.

    Returns:
        p, floats 0.0/1.0.

    Shape:
        X: (n[0], m); y: (1, m); p: (1, m).
    """
    m = X.shape[1]
    probas, _ = L_model_forward(X, parameters)
    p = np.where(probas > 0.5, 1.0, 0.0)
    print("Accuracy: " + str(np.sum((p == y) / m)))
    return p

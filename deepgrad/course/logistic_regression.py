"""Logistic regression as a one-neuron network, in the course's notation.

Examples are columns: X is (n_x, m), Y is (1, m), w is (n_x, 1) and b a scalar.
"""

from __future__ import annotations

import copy

import numpy as np

from .numpy_basics import _as_float_labels, _safe_log, sigmoid

__all__ = ["initialize_with_zeros", "propagate", "optimize", "predict", "model"]


def initialize_with_zeros(dim: int) -> tuple[np.ndarray, float]:
    """Zero weights and bias: w = 0 (a column), b = 0.

    Args:
        dim: n_x, the number of input features.

    Returns:
        (w, b): w a zero column vector, b the float 0.0.

    Shape:
        w: (dim, 1); b: scalar.
    """
    w = np.zeros((dim, 1))
    b = 0.0
    return w, b


def propagate(w: np.ndarray, b: float, X: np.ndarray, Y: np.ndarray
              ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Forward and backward pass: the cost and its gradient.

    A = sigma(wᵀX + b),
    J = -(1/m) sum_i [y_i log a_i + (1 - y_i) log(1 - a_i)],
    dw = (1/m) X (A - Y)ᵀ,  db = (1/m) sum_i (a_i - y_i).

    Guard: where A is exactly 0 or 1 (saturated), the argument of the log that would be 0 is
    replaced by ``finfo.eps``, so J stays finite; no other value changes and nothing is clipped.

    Args:
        w: weights.
        b: bias.
        X: data, one example per column.
        Y: labels 0/1 (or booleans).

    Returns:
        (grads, cost): grads ``{"dw": dw, "db": db}``, cost a 0-d array (``np.squeeze``).

    Shape:
        w: (n_x, 1); X: (n_x, m); Y: (1, m); dw: (n_x, 1); db: scalar; cost: ().
    """
    Y = _as_float_labels(Y)
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -1 / m * np.sum(Y * _safe_log(A) + (1 - Y) * _safe_log(1 - A))
    dw = 1 / m * np.dot(X, (A - Y).T)
    db = 1 / m * np.sum(A - Y)
    cost = np.squeeze(np.array(cost))
    grads = {"dw": dw, "db": db}
    return grads, cost


def optimize(w: np.ndarray, b: float, X: np.ndarray, Y: np.ndarray, num_iterations: int = 100,
             learning_rate: float = 0.009, print_cost: bool = False
             ) -> tuple[dict, dict, list]:
    """Gradient descent: w := w - alpha dw, b := b - alpha db, num_iterations times.

    The cost is recorded (and printed when ``print_cost``) every 100 iterations, i % 100 == 0,
    as computed before that iteration's update. w and b are copied, not modified.

    Args:
        w: initial weights.
        b: initial bias.
        X: data.
        Y: labels.
        num_iterations: number of updates.
        learning_rate: alpha.
        print_cost: print "Cost after iteration i: J" every 100 iterations.

    Returns:
        (params, grads, costs): params ``{"w", "b"}`` after the last update, grads
        ``{"dw", "db"}`` of the last iteration, costs the recorded costs.

    Shape:
        w: (n_x, 1); X: (n_x, m); Y: (1, m); costs: ceil(num_iterations / 100) scalars.
    """
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    dw, db = None, None
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        dw = grads["dw"]
        db = grads["db"]
        w = w - learning_rate * dw
        b = b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
            if print_cost:
                print(f"Cost after iteration {i}: {float(cost):f}")
    params = {"w": w, "b": b}
    grads = {"dw": dw, "db": db}
    return params, grads, costs


def predict(w: np.ndarray, b: float, X: np.ndarray) -> np.ndarray:
    """Predicted labels: y_hat = 1 where sigma(wᵀX + b) > 0.5, else 0.

    Args:
        w: weights (reshaped to a column).
        b: bias.
        X: data.

    Returns:
        Y_prediction, floats 0.0/1.0.

    Shape:
        w: (n_x, 1) or (n_x,); X: (n_x, m); Y_prediction: (1, m).
    """
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w.T, X) + b)
    Y_prediction = np.where(A > 0.5, 1.0, 0.0)
    return Y_prediction


def model(X_train: np.ndarray, Y_train: np.ndarray, X_test: np.ndarray, Y_test: np.ndarray,
          num_iterations: int = 2000, learning_rate: float = 0.5, print_cost: bool = False
          ) -> dict:
    """The whole logistic-regression model: zero init, ``optimize``, ``predict``.

    Accuracy = 100 - mean(|Y_prediction - Y|) * 100, printed for train and test when
    ``print_cost``.

    Args:
        X_train: training data.
        Y_train: training labels.
        X_test: test data.
        Y_test: test labels.
        num_iterations: gradient-descent steps.
        learning_rate: alpha.
        print_cost: print the cost every 100 iterations and the accuracies.

    Returns:
        A dict with keys ``costs, Y_prediction_test, Y_prediction_train, w, b,
        learning_rate, num_iterations``.

    Shape:
        X_train: (n_x, m_train); Y_train: (1, m_train); X_test: (n_x, m_test);
        Y_test: (1, m_test); w: (n_x, 1).
    """
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate,
                                    print_cost)
    w = params["w"]
    b = params["b"]
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_train)
    if print_cost:
        train_accuracy = 100 - np.mean(np.abs(Y_prediction_train - Y_train)) * 100
        test_accuracy = 100 - np.mean(np.abs(Y_prediction_test - Y_test)) * 100
        print(f"train accuracy: {train_accuracy} %")
        print(f"test accuracy: {test_accuracy} %")
    return {"costs": costs,
            "Y_prediction_test": Y_prediction_test,
            "Y_prediction_train": Y_prediction_train,
            "w": w,
            "b": b,
            "learning_rate": learning_rate,
            "num_iterations": num_iterations}

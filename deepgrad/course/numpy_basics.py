"""The course's NumPy warm-up: sigmoid, its derivative, reshaping, row norms, softmax, L1/L2.

Every function is written with the course's own formula, so that the course's exercise inputs
give the course's printed outputs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "sigmoid_derivative", "image2vector", "normalize_rows", "softmax",
           "L1", "L2"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Elementwise logistic function, the course's ``s = 1 / (1 + np.exp(-x))``.

    sigma(x) = 1 / (1 + e^(-x)).  For x < -709 ``np.exp(-x)`` overflows to inf and the result
    is exactly 0, which is the correct limit; the overflow warning is silenced, nothing else
    changes.

    Args:
        x: a scalar or array of any shape.

    Returns:
        s, sigma(x) elementwise.

    Shape:
        x: any; s: same as x.
    """
    with np.errstate(over="ignore"):
        s = 1 / (1 + np.exp(-x))
    return s


def sigmoid_derivative(x: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid at x: sigma'(x) = sigma(x) (1 - sigma(x)).

    Args:
        x: a scalar or array.

    Returns:
        ds, the derivative elementwise.

    Shape:
        x: any; ds: same as x.
    """
    s = sigmoid(x)
    ds = s * (1 - s)
    return ds


def image2vector(image: np.ndarray) -> np.ndarray:
    """Unroll an image (length, height, depth) into a column vector.

    v = image.reshape(length * height * depth, 1), in row-major (C) order.

    Args:
        image: an array of three dimensions.

    Returns:
        v, a column vector.

    Shape:
        image: (length, height, depth); v: (length * height * depth, 1).
    """
    v = image.reshape(image.shape[0] * image.shape[1] * image.shape[2], 1)
    return v


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Divide each row of x by its Euclidean norm: x / ||x||, ||x|| = sqrt(sum_j x_ij^2).

    Args:
        x: a matrix.

    Returns:
        The row-normalised matrix (a new array; x is not modified).

    Shape:
        x: (n, m); result: (n, m). The norm, (n, 1), broadcasts over the columns.
    """
    x_norm = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / x_norm
    return x


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax: s_ij = exp(x_ij) / sum_k exp(x_ik).

    The course's formula, without subtracting the row maximum: entries above ~709 overflow.
    The engine's ``deepgrad.softmax`` is the stable version for training.

    Args:
        x: a matrix, one row per example.

    Returns:
        s, each row summing to 1.

    Shape:
        x: (m, n); s: (m, n).
    """
    x_exp = np.exp(x)
    x_sum = np.sum(x_exp, axis=1, keepdims=True)
    s = x_exp / x_sum
    return s


def L1(yhat: np.ndarray, y: np.ndarray) -> float:
    """L1 loss: L1(yhat, y) = sum_i |y_i - yhat_i|.

    Args:
        yhat: predicted labels.
        y: true labels.

    Returns:
        loss, a scalar.

    Shape:
        yhat: (m,); y: (m,); loss: scalar.
    """
    loss = np.sum(np.abs(y - yhat))
    return loss


def L2(yhat: np.ndarray, y: np.ndarray) -> float:
    """L2 loss: L2(yhat, y) = sum_i (y_i - yhat_i)^2.

    Args:
        yhat: predicted labels.
        y: true labels.

    Returns:
        loss, a scalar.

    Shape:
        yhat: (m,); y: (m,); loss: scalar.
    """
    loss = np.sum(np.square(y - yhat))
    return loss


def _safe_log(p: np.ndarray) -> np.ndarray:
    """``np.log(p)`` with entries exactly 0 replaced by ``finfo(p.dtype).eps`` first.

    The guard the course's costs use for a saturated output (A exactly 0 or 1, so that
    log(A) or log(1 - A) would be -inf and 0 * -inf would be NaN). Only exact zeros change:
    every other entry is logged as is, nothing is clipped.

    Shape:
        p: any; result: same as p.
    """
    p = np.asarray(p)
    dtype = p.dtype if np.issubdtype(p.dtype, np.floating) else np.dtype(np.float64)
    return np.log(np.where(p == 0, np.finfo(dtype).eps, p))


def _as_float_labels(Y: np.ndarray) -> np.ndarray:
    """Boolean labels as float64 (``1 - Y`` is not defined for booleans); others unchanged."""
    Y = np.asarray(Y)
    return Y.astype(np.float64) if Y.dtype == bool else Y

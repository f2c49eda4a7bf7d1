"""Gradient checking of the L-layer network by two-sided finite differences.

The parameters are unrolled into one column theta = [W1; b1; W2; b2; ...] (each array
flattened in row-major order), and each component's derivative is approximated by
(J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps), J being ``deep_nn.compute_cost`` of
``deep_nn.L_model_forward``.
"""

from __future__ import annotations

import numpy as np

from .deep_nn import L_model_forward, compute_cost

__all__ = ["dictionary_to_vector", "vector_to_dictionary", "gradients_to_vector",
           "gradient_check_n"]


def _num_layers(dictionary: dict, prefix: str) -> int:
    L = 0
    while prefix + "W" + str(L + 1) in dictionary:
        L += 1
    return L


def dictionary_to_vector(parameters: dict) -> tuple[np.ndarray, list]:
    """Unroll ``{"W1", "b1", ..., "WL", "bL"}`` into one column theta.

    Returns:
        (theta, keys): keys[i] names the parameter that theta[i] comes from.

    Shape:
        theta: (sum_l n[l] (n[l-1] + 1), 1); keys: that many strings.
    """
    keys, vectors = [], []
    for l in range(1, _num_layers(parameters, "") + 1):
        for key in ("W" + str(l), "b" + str(l)):
            new_vector = np.reshape(parameters[key], (-1, 1))
            keys = keys + [key] * new_vector.shape[0]
            vectors.append(new_vector)
    theta = np.concatenate(vectors, axis=0)
    return theta, keys


def vector_to_dictionary(theta: np.ndarray, layer_dims=(4, 5, 3, 1)) -> dict:
    """Inverse of ``dictionary_to_vector`` for a network of sizes ``layer_dims``.

    The default, (4, 5, 3, 1), is the course's gradient-checking network
    (W1 (5, 4), W2 (3, 5), W3 (1, 3)).

    Shape:
        theta: (sum_l n[l] (n[l-1] + 1), 1); W[l]: (n[l], n[l-1]); b[l]: (n[l], 1).
    """
    parameters = {}
    start = 0
    for l in range(1, len(layer_dims)):
        for key, shape in (("W" + str(l), (layer_dims[l], layer_dims[l - 1])),
                           ("b" + str(l), (layer_dims[l], 1))):
            size = shape[0] * shape[1]
            parameters[key] = theta[start:start + size].reshape(shape)
            start += size
    if start != theta.shape[0]:
        raise ValueError(f"theta has {theta.shape[0]} entries, layer_dims {tuple(layer_dims)} "
                         f"need {start}")
    return parameters


def gradients_to_vector(gradients: dict) -> np.ndarray:
    """Unroll ``{"dW1", "db1", ..., "dWL", "dbL"}`` (other keys, e.g. dA, are ignored).

    Shape:
        result: (sum_l n[l] (n[l-1] + 1), 1), aligned with ``dictionary_to_vector``.
    """
    vectors = []
    for l in range(1, _num_layers(gradients, "d") + 1):
        for key in ("dW" + str(l), "db" + str(l)):
            vectors.append(np.reshape(gradients[key], (-1, 1)))
    return np.concatenate(vectors, axis=0)


def gradient_check_n(parameters: dict, gradients: dict, X: np.ndarray, Y: np.ndarray,
                     epsilon: float = 1e-7, print_msg: bool = False, *,
                     hidden_activation: str = "relu") -> float:
    """Compare backprop's gradients with two-sided finite differences of the cost.

    gradapprox_i = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps),
    difference = ||grad - gradapprox||_2 / (||grad||_2 + ||gradapprox||_2).

    Args:
        parameters: ``{"W1", "b1", ..., "WL", "bL"}``.
        gradients: ``L_model_backward``'s output for those parameters on X, Y.
        X: data. Y: labels.
        epsilon: the shift eps.
        print_msg: print whether the difference is below 2e-7.
        hidden_activation: the hidden activation of ``L_model_forward``.

    Returns:
        difference, a float (below ~1e-7 for a correct backward pass).

    Shape:
        X: (n[0], m); Y: (1, m).
    """
    layer_dims = [parameters["W1"].shape[1]] + [
        parameters["W" + str(l)].shape[0] for l in range(1, _num_layers(parameters, "") + 1)]
    parameters_values, _ = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients)
    num_parameters = parameters_values.shape[0]
    gradapprox = np.zeros((num_parameters, 1))

    def J(theta: np.ndarray) -> float:
        AL, _ = L_model_forward(X, vector_to_dictionary(theta, layer_dims),
                                hidden_activation=hidden_activation)
        return float(compute_cost(AL, Y))

    for i in range(num_parameters):
        theta_plus = np.copy(parameters_values)
        theta_plus[i][0] = theta_plus[i][0] + epsilon
        theta_minus = np.copy(parameters_values)
        theta_minus[i][0] = theta_minus[i][0] - epsilon
        gradapprox[i] = (J(theta_plus) - J(theta_minus)) / (2 * epsilon)

    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = float(numerator / denominator)
    if print_msg:
        if difference > 2e-7:
            print("There is a mistake in the backward propagation! difference = "
                  + str(difference))
        else:
            print("Your backward propagation works perfectly fine! difference = "
                  + str(difference))
    return difference

"""deepgrad.course.shallow_nn against small examples worked by hand."""

import numpy as np
import pytest

from deepgrad.course.datasets import load_planar_dataset
from deepgrad.course.shallow_nn import (
    backward_propagation,
    compute_cost,
    forward_propagation,
    initialize_parameters,
    layer_sizes,
    nn_model,
    predict,
    update_parameters,
)

LN3 = np.log(3.0)


def _hand_network():
    # n_x = n_h = n_y = 1, two examples.
    # example 1: x = ln3 / 2 -> z1 = ln3 / 2, a1 = tanh(ln3 / 2) = (3 - 1)/(3 + 1) = 0.5,
    #            z2 = 2 ln3 * 0.5 = ln 3, a2 = 0.75, y = 1
    # example 2: x = 0 -> z1 = 0, a1 = 0, z2 = 0, a2 = 0.5, y = 0
    parameters = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]]),
                  "W2": np.array([[2 * LN3]]), "b2": np.array([[0.0]])}
    X = np.array([[LN3 / 2, 0.0]])
    Y = np.array([[1, 0]])
    return parameters, X, Y


def test_layer_sizes():
    assert layer_sizes(np.zeros((5, 3)), np.zeros((2, 3))) == (5, 4, 2)


def test_initialize_parameters_seed_and_shapes():
    p = initialize_parameters(2, 4, 1)
    np.random.seed(2)
    np.testing.assert_array_equal(p["W1"], np.random.randn(4, 2) * 0.01)
    np.testing.assert_array_equal(p["W2"], np.random.randn(1, 4) * 0.01)
    assert p["b1"].shape == (4, 1) and p["b2"].shape == (1, 1)
    assert not p["b1"].any() and not p["b2"].any()
    # the course's printed W1[0] for seed 2
    np.testing.assert_allclose(p["W1"][0], [-0.00416758, -0.00056267], atol=1e-8)
    # seed=None leaves the global generator alone
    np.random.seed(0)
    p = initialize_parameters(2, 4, 1, seed=None)
    np.random.seed(0)
    np.testing.assert_array_equal(p["W1"], np.random.randn(4, 2) * 0.01)


def test_forward_propagation_by_hand():
    parameters, X, _ = _hand_network()
    A2, cache = forward_propagation(X, parameters)
    assert set(cache) == {"Z1", "A1", "Z2", "A2"}
    np.testing.assert_allclose(cache["Z1"], [[LN3 / 2, 0.0]])
    np.testing.assert_allclose(cache["A1"], [[0.5, 0.0]], atol=1e-15)
    np.testing.assert_allclose(cache["Z2"], [[LN3, 0.0]], atol=1e-15)
    np.testing.assert_allclose(A2, [[0.75, 0.5]], rtol=1e-15)
    assert A2 is cache["A2"]


def test_compute_cost_by_hand_and_boolean_labels():
    # J = -(1/2)(1 * ln 0.75 + 1 * ln(1 - 0.5)) = -(ln 0.75 + ln 0.5) / 2
    A2 = np.array([[0.75, 0.5]])
    expected = -(np.log(0.75) + np.log(0.5)) / 2
    assert compute_cost(A2, np.array([[1, 0]])) == pytest.approx(expected, rel=1e-15)
    assert compute_cost(A2, np.array([[True, False]])) == pytest.approx(expected, rel=1e-15)
    assert isinstance(compute_cost(A2, np.array([[1, 0]])), float)


def test_compute_cost_saturated_guard():
    # A2 exactly 1 and 0: right labels give 0; wrong labels give -ln(eps) per example.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert compute_cost(np.array([[1.0, 0.0]]), np.array([[1, 0]])) == 0.0
        cost = compute_cost(np.array([[1.0, 0.0]]), np.array([[0, 1]]))
    assert cost == pytest.approx(-np.log(np.finfo(np.float64).eps))


def test_backward_propagation_by_hand():
    # dZ2 = A2 - Y = [-0.25, 0.5]
    # dW2 = (1/2)(-0.25 * 0.5 + 0.5 * 0) = -0.0625;  db2 = (1/2)(-0.25 + 0.5) = 0.125
    # dZ1 = W2 dZ2 (1 - A1^2) = [2ln3 * -0.25 * 0.75, 2ln3 * 0.5 * 1] = [-0.375 ln3, ln3]
    # dW1 = (1/2)(-0.375 ln3 * ln3/2 + ln3 * 0) = -0.09375 ln3^2
    # db1 = (1/2)(-0.375 ln3 + ln3) = 0.3125 ln3
    parameters, X, Y = _hand_network()
    _, cache = forward_propagation(X, parameters)
    grads = backward_propagation(parameters, cache, X, Y)
    np.testing.assert_allclose(grads["dW2"], [[-0.0625]], rtol=1e-14)
    np.testing.assert_allclose(grads["db2"], [[0.125]], rtol=1e-14)
    np.testing.assert_allclose(grads["dW1"], [[-0.09375 * LN3**2]], rtol=1e-14)
    np.testing.assert_allclose(grads["db1"], [[0.3125 * LN3]], rtol=1e-14)


def test_backward_propagation_other_activation_by_hand():
    # relu hidden: A1 = [ln3/2, 0], Z2 = [ln3^2, 0]; only dZ1 changes: relu'(z1) = [1, 0]
    # dZ2 = [sigma(ln3^2) - 1, 0.5]; dZ1 = [2ln3 dZ2[0], 0]
    # dW1 = (1/2) dZ1[0] * ln3/2;  db1 = (1/2) dZ1[0]
    parameters, X, Y = _hand_network()
    A2, cache = forward_propagation(X, parameters, activation="relu")
    np.testing.assert_allclose(cache["A1"], [[LN3 / 2, 0.0]])
    grads = backward_propagation(parameters, cache, X, Y, activation="relu")
    dz1 = 2 * LN3 * (1 / (1 + np.exp(-LN3**2)) - 1)
    np.testing.assert_allclose(grads["dW1"], [[0.5 * dz1 * LN3 / 2]], rtol=1e-13)
    np.testing.assert_allclose(grads["db1"], [[0.5 * dz1]], rtol=1e-13)


def test_update_parameters_by_hand():
    # W1 = 1 - 1.2 * 0.5 = 0.4;  b1 = 0 - 1.2 * -1 = 1.2;  W2 = 2 - 1.2 * 0 = 2; b2 = 0
    parameters = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]]),
                  "W2": np.array([[2.0]]), "b2": np.array([[0.0]])}
    grads = {"dW1": np.array([[0.5]]), "db1": np.array([[-1.0]]),
             "dW2": np.array([[0.0]]), "db2": np.array([[0.0]])}
    new = update_parameters(parameters, grads)
    np.testing.assert_allclose(new["W1"], [[0.4]])
    np.testing.assert_allclose(new["b1"], [[1.2]])
    np.testing.assert_allclose(new["W2"], [[2.0]])
    assert parameters["W1"][0, 0] == 1.0  # input unchanged


def test_predict_by_hand():
    # A2 = [0.75, 0.5] -> [1, 0] (0.5 is not > 0.5)
    parameters, X, _ = _hand_network()
    np.testing.assert_array_equal(predict(parameters, X), [[1, 0]])


def test_nn_model_decreases_cost_and_is_deterministic(capsys):
    X, Y = load_planar_dataset()
    p1 = nn_model(X, Y, 4, num_iterations=1001, print_cost=True)
    out = capsys.readouterr().out
    assert "Cost after iteration 0: 0.69" in out and "Cost after iteration 1000:" in out
    p2 = nn_model(X, Y, 4, num_iterations=1001)
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
    A2, _ = forward_propagation(X, p1)
    assert compute_cost(A2, Y) < 0.5

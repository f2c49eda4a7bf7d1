"""deepgrad.course.logistic_regression against small examples worked by hand."""

import numpy as np
import pytest

from deepgrad.course.logistic_regression import (
    initialize_with_zeros,
    model,
    optimize,
    predict,
    propagate,
)

EPS = np.finfo(np.float64).eps


def test_initialize_with_zeros():
    w, b = initialize_with_zeros(3)
    assert w.shape == (3, 1) and not w.any()
    assert b == 0.0 and isinstance(b, float)


def test_propagate_zero_weights_by_hand():
    # w = 0, b = 0 -> A = sigma(0) = [0.5, 0.5]
    # J = -(1/2)(1 * ln 0.5 + 1 * ln 0.5) = ln 2
    # A - Y = [-0.5, 0.5]; dw = (1/2) X (A - Y)^T = (1/2)[1*-.5 + 2*.5, 3*-.5 + 4*.5] = [.25, .25]
    # db = (1/2)(-0.5 + 0.5) = 0
    w, b = initialize_with_zeros(2)
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    Y = np.array([[1, 0]])
    grads, cost = propagate(w, b, X, Y)
    assert float(cost) == pytest.approx(np.log(2.0), rel=1e-15)
    np.testing.assert_allclose(grads["dw"], [[0.25], [0.25]], rtol=1e-15)
    assert grads["db"] == 0.0
    assert np.ndim(cost) == 0


def test_propagate_one_example_by_hand():
    # z = ln3 * 1 + 0 * 5 = ln 3 -> a = 0.75; J = -ln 0.75
    # dw = x (a - y) = [1, 5] * -0.25 = [-0.25, -1.25]; db = -0.25
    w = np.array([[np.log(3.0)], [0.0]])
    X = np.array([[1.0], [5.0]])
    grads, cost = propagate(w, 0.0, X, np.array([[1]]))
    assert float(cost) == pytest.approx(-np.log(0.75), rel=1e-14)
    np.testing.assert_allclose(grads["dw"], [[-0.25], [-1.25]], rtol=1e-14)
    assert grads["db"] == pytest.approx(-0.25, rel=1e-14)


def test_propagate_course_example():
    # the course's own test case and printed figures
    w, b = np.array([[1.0], [2.0]]), 2.0
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    grads, cost = propagate(w, b, X, np.array([[1, 0, 1]]))
    np.testing.assert_allclose(grads["dw"], [[0.99845601], [2.39507239]], rtol=1e-8)
    assert grads["db"] == pytest.approx(0.00145557813678, rel=1e-9)
    assert float(cost) == pytest.approx(5.801545319394553, rel=1e-14)


def test_propagate_saturated_guard():
    # z = +-1000 -> A = [1, 0] exactly. Right labels: 1*ln 1 + 0*ln(eps) = 0 per example, J = 0.
    # Wrong labels: each example gives ln(eps) in place of ln 0 -> J = -ln(eps) (finite).
    w, X = np.array([[1000.0]]), np.array([[1.0, -1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        _, cost = propagate(w, 0.0, X, np.array([[1, 0]]))
        assert float(cost) == 0.0
        grads, cost = propagate(w, 0.0, X, np.array([[0, 1]]))
    assert float(cost) == pytest.approx(-np.log(EPS))
    # dw = (1/2)[1 * (1 - 0) + -1 * (0 - 1)] = 1; db = (1/2)(1 - 1) = 0
    np.testing.assert_allclose(grads["dw"], [[1.0]])
    assert grads["db"] == 0.0


def test_optimize_one_step_by_hand():
    # from w = 0: dw = [.25, .25], db = 0 (see above) -> w = -0.1 * .25 = -0.025, b = 0
    w, b = initialize_with_zeros(2)
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    params, grads, costs = optimize(w, b, X, np.array([[1, 0]]), num_iterations=1,
                                    learning_rate=0.1)
    np.testing.assert_allclose(params["w"], [[-0.025], [-0.025]], rtol=1e-15)
    assert params["b"] == 0.0
    np.testing.assert_allclose(grads["dw"], [[0.25], [0.25]])
    assert len(costs) == 1 and float(costs[0]) == pytest.approx(np.log(2.0))
    assert not w.any()  # the input is not modified


def test_optimize_course_example_and_cost_record(capsys):
    w, b = np.array([[1.0], [2.0]]), 2.0
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    Y = np.array([[1, 0, 1]])
    params, grads, costs = optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009)
    np.testing.assert_allclose(params["w"], [[0.19033591], [0.12259159]], rtol=1e-7)
    assert params["b"] == pytest.approx(1.92535983008, rel=1e-10)
    np.testing.assert_allclose(grads["dw"], [[0.67752042], [1.41625495]], rtol=1e-7)
    assert grads["db"] == pytest.approx(0.219194504541, rel=1e-10)
    # costs at i = 0, 100, 200: before that iteration's update
    _, _, costs = optimize(w, b, X, Y, num_iterations=201, learning_rate=0.009, print_cost=True)
    assert len(costs) == 3
    assert float(costs[0]) == pytest.approx(5.801545319394553)
    assert "Cost after iteration 200:" in capsys.readouterr().out


def test_predict_by_hand():
    # z = wᵀx = [2 - 1, 1 - 2, 0] = [1, -1, 0] -> a = [.73, .27, .5] -> [1, 0, 0] (0.5 is not > 0.5)
    w = np.array([[1.0], [-1.0]])
    X = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(predict(w, 0.0, X), [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(predict(w.ravel(), 0.0, X), [[1.0, 0.0, 0.0]])


def test_model_keys_and_accuracy(capsys):
    # a separable set: label = 1 iff x0 > 0
    X = np.array([[-2.0, -1.0, 1.0, 2.0]])
    Y = np.array([[0, 0, 1, 1]])
    d = model(X, Y, X, Y, num_iterations=150, learning_rate=0.5, print_cost=True)
    assert set(d) == {"costs", "Y_prediction_test", "Y_prediction_train", "w", "b",
                      "learning_rate", "num_iterations"}
    np.testing.assert_array_equal(d["Y_prediction_train"], Y)
    assert len(d["costs"]) == 2 and d["num_iterations"] == 150 and d["learning_rate"] == 0.5
    out = capsys.readouterr().out
    assert "train accuracy: 100.0 %" in out and "test accuracy: 100.0 %" in out

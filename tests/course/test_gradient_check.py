"""deepgrad.course.gradient_check: unrolling by hand, and checking the deep network."""

import numpy as np
import pytest

from deepgrad.course import deep_nn as dn
from deepgrad.course.gradient_check import (
    dictionary_to_vector,
    gradient_check_n,
    gradients_to_vector,
    vector_to_dictionary,
)


def _small_params():
    return {"W1": np.array([[1.0, 2.0], [3.0, 4.0]]), "b1": np.array([[5.0], [6.0]]),
            "W2": np.array([[7.0, 8.0]]), "b2": np.array([[9.0]])}


def test_dictionary_to_vector_by_hand():
    # [W1 row-major; b1; W2; b2] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    theta, keys = dictionary_to_vector(_small_params())
    assert theta.shape == (9, 1)
    np.testing.assert_array_equal(theta[:, 0], np.arange(1.0, 10.0))
    assert keys == ["W1"] * 4 + ["b1"] * 2 + ["W2"] * 2 + ["b2"]


def test_vector_to_dictionary_roundtrip_and_course_default():
    theta, _ = dictionary_to_vector(_small_params())
    back = vector_to_dictionary(theta, (2, 2, 1))
    for key, value in _small_params().items():
        np.testing.assert_array_equal(back[key], value)
    # the course's network: 5*4 + 5 + 3*5 + 3 + 1*3 + 1 = 47 parameters
    p = vector_to_dictionary(np.arange(47.0).reshape(-1, 1))
    assert [p[k].shape for k in ("W1", "b1", "W2", "b2", "W3", "b3")] == [
        (5, 4), (5, 1), (3, 5), (3, 1), (1, 3), (1, 1)]
    assert p["b1"][0, 0] == 20.0
    with pytest.raises(ValueError):
        vector_to_dictionary(np.zeros((10, 1)), (2, 2, 1))


def test_gradients_to_vector_ignores_dA():
    grads = {"dW1": np.array([[1.0, 2.0]]), "db1": np.array([[3.0]]), "dA0": np.ones((2, 4)),
             "dA1": np.ones((1, 4))}
    np.testing.assert_array_equal(gradients_to_vector(grads)[:, 0], [1.0, 2.0, 3.0])


def _course_like_case():
    # the course's 4-5-3-1 relu-relu-sigmoid network, weights of unit scale
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, 6))
    Y = np.array([[1, 1, 0, 1, 0, 0]])
    parameters = {}
    for l, (n, n_prev) in enumerate([(5, 4), (3, 5), (1, 3)], start=1):
        parameters["W" + str(l)] = rng.standard_normal((n, n_prev))
        parameters["b" + str(l)] = rng.standard_normal((n, 1))
    return parameters, X, Y


def test_gradient_check_n_correct_backward(capsys):
    parameters, X, Y = _course_like_case()
    AL, caches = dn.L_model_forward(X, parameters)
    grads = dn.L_model_backward(AL, Y, caches)
    difference = gradient_check_n(parameters, grads, X, Y, print_msg=True)
    assert difference < 1e-7
    assert "works perfectly fine" in capsys.readouterr().out


def test_gradient_check_n_corrupted_gradient(capsys):
    parameters, X, Y = _course_like_case()
    AL, caches = dn.L_model_forward(X, parameters)
    grads = dn.L_model_backward(AL, Y, caches)
    grads["dW2"] = grads["dW2"] * 2     # the kind of slip the course plants: a factor of 2
    grads["db1"] = grads["db1"] + 0.1
    difference = gradient_check_n(parameters, grads, X, Y, print_msg=True)
    assert difference > 1e-3
    assert "mistake" in capsys.readouterr().out


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "leaky_relu", "linear"])
def test_gradient_check_n_other_hidden_activations(activation):
    parameters, X, Y = _course_like_case()
    AL, caches = dn.L_model_forward(X, parameters, hidden_activation=activation)
    grads = dn.L_model_backward(AL, Y, caches, hidden_activation=activation)
    assert gradient_check_n(parameters, grads, X, Y, hidden_activation=activation) < 1e-7

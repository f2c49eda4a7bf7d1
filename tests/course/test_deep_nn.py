"""deepgrad.course.deep_nn against small examples worked by hand."""

import numpy as np
import pytest

from deepgrad.course import deep_nn as dn

LN3 = np.log(3.0)
EPS = np.finfo(np.float64).eps
RAISE = {"over": "raise", "divide": "raise", "invalid": "raise"}


def _hand_network():
    # X = [1, 2]ᵀ (one example); W1 = [[1, 1], [1, -1]], b1 = 0
    #   Z1 = [1 + 2, 1 - 2] = [3, -1] -> A1 = relu = [3, 0]
    # W2 = [[ln3 / 3, 5]], b2 = 0 -> Z2 = ln3/3 * 3 + 5 * 0 = ln 3 -> AL = 0.75
    parameters = {"W1": np.array([[1.0, 1.0], [1.0, -1.0]]), "b1": np.zeros((2, 1)),
                  "W2": np.array([[LN3 / 3, 5.0]]), "b2": np.zeros((1, 1))}
    return parameters, np.array([[1.0], [2.0]])


def test_initialize_parameters_seed_1():
    p = dn.initialize_parameters(3, 2, 1)
    np.random.seed(1)
    np.testing.assert_array_equal(p["W1"], np.random.randn(2, 3) * 0.01)
    np.testing.assert_array_equal(p["W2"], np.random.randn(1, 2) * 0.01)
    assert p["b1"].shape == (2, 1) and p["b2"].shape == (1, 1)


@pytest.mark.parametrize("init, scale", [
    ("small", lambda n: 0.01), ("xavier", lambda n: 1 / np.sqrt(n)),
    ("he", lambda n: np.sqrt(2.0 / n))])
def test_initialize_parameters_deep(init, scale):
    p = dn.initialize_parameters_deep([5, 4, 3], init=init)
    np.random.seed(3)  # the default seed
    W1, W2 = np.random.randn(4, 5), np.random.randn(3, 4)
    np.testing.assert_allclose(p["W1"], W1 * scale(5), rtol=1e-15)
    np.testing.assert_allclose(p["W2"], W2 * scale(4), rtol=1e-15)
    assert p["b1"].shape == (4, 1) and p["b2"].shape == (3, 1)
    assert not p["b1"].any() and not p["b2"].any()


def test_initialize_parameters_deep_course_values_and_errors():
    p = dn.initialize_parameters_deep([5, 4, 3])
    # the step-by-step notebook's printed W1[0] (seed 3, * 0.01)
    np.testing.assert_allclose(p["W1"][0], [0.01788628, 0.0043651, 0.00096497, -0.01863493,
                                            -0.00277388], atol=1e-8)
    with pytest.raises(ValueError):
        dn.initialize_parameters_deep([5, 4], init="glorot")


def test_linear_forward_by_hand():
    # Z = W A + b = [1*1 - 1*3 + .5, 1*2 - 1*4 + .5] = [-1.5, -1.5]
    A, W, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, -1.0]]), np.array([[0.5]])
    Z, cache = dn.linear_forward(A, W, b)
    np.testing.assert_array_equal(Z, [[-1.5, -1.5]])
    assert cache[0] is A and cache[1] is W and cache[2] is b


@pytest.mark.parametrize("activation, expected", [
    # Z = [-2, 0, ln 3]
    ("relu", [0.0, 0.0, LN3]),                   # max(0, z)
    ("leaky_relu", [-0.02, 0.0, LN3]),           # 0.01 * -2 = -0.02
    ("linear", [-2.0, 0.0, LN3]),                # z
    ("sigmoid", [1 / (1 + np.e**2), 0.5, 0.75]),  # 1 / (1 + e^2), 1/2, 1 / (1 + 1/3)
    ("tanh", [np.tanh(-2.0), 0.0, 0.8]),         # tanh(ln 3) = (9 - 1) / (9 + 1) = 0.8
])
def test_linear_activation_forward_by_hand(activation, expected):
    A_prev = np.array([[-2.0, 0.0, LN3]])
    A, cache = dn.linear_activation_forward(A_prev, np.array([[1.0]]), np.array([[0.0]]),
                                            activation)
    np.testing.assert_allclose(A, [expected], rtol=1e-14, atol=1e-16)
    (cached_A_prev, _, _), Z = cache
    assert cached_A_prev is A_prev
    np.testing.assert_array_equal(Z, A_prev)


def test_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        dn.linear_activation_forward(np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), "elu")


def test_L_model_forward_by_hand():
    parameters, X = _hand_network()
    AL, caches = dn.L_model_forward(X, parameters)
    np.testing.assert_allclose(AL, [[0.75]], rtol=1e-15)
    assert len(caches) == 2
    (A0, W1, _), Z1 = caches[0]
    assert A0 is X and W1 is parameters["W1"]
    np.testing.assert_array_equal(Z1, [[3.0], [-1.0]])
    np.testing.assert_array_equal(caches[1][0][0], [[3.0], [0.0]])  # A1 = relu(Z1)


def test_compute_cost_by_hand_and_guard():
    # J = -(1/2)(1 * ln 0.75 + (1 - 0) * ln(1 - 0.5)) = -(ln 0.75 + ln 0.5) / 2
    cost = dn.compute_cost(np.array([[0.75, 0.5]]), np.array([[1, 0]]))
    assert float(cost) == pytest.approx(-(np.log(0.75) + np.log(0.5)) / 2, rel=1e-15)
    assert np.ndim(cost) == 0
    with np.errstate(**RAISE):
        # saturated and right: 1 * ln 1 + 0 * ln(eps) = 0; saturated and wrong: -ln(eps)
        assert float(dn.compute_cost(np.array([[1.0, 0.0]]), np.array([[1, 0]]))) == 0.0
        wrong = dn.compute_cost(np.array([[1.0, 0.0]]), np.array([[False, True]]))
    assert float(wrong) == pytest.approx(-np.log(EPS))


def test_linear_backward_by_hand():
    # m = 2; dW = (1/2) dZ A_prevᵀ = (1/2)[1*1 - 1*2, 1*3 - 1*4] = [-0.5, -0.5]
    # db = (1/2)(1 - 1) = 0;  dA_prev = Wᵀ dZ = [[2*1, 2*-1], [3*1, 3*-1]]
    dZ = np.array([[1.0, -1.0]])
    cache = (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[2.0, 3.0]]), np.array([[0.0]]))
    dA_prev, dW, db = dn.linear_backward(dZ, cache)
    np.testing.assert_array_equal(dW, [[-0.5, -0.5]])
    np.testing.assert_array_equal(db, [[0.0]])
    np.testing.assert_array_equal(dA_prev, [[2.0, -2.0], [3.0, -3.0]])


@pytest.mark.parametrize("activation, dZ", [
    # Z = [-1, 0, 2], dA = [5, 7, 9]
    ("relu", [0.0, 0.0, 9.0]),              # 0 where Z <= 0
    ("leaky_relu", [0.05, 0.07, 9.0]),      # 0.01 * dA where Z <= 0
    ("linear", [5.0, 7.0, 9.0]),
    ("sigmoid", [5 * np.exp(-1) / (1 + np.exp(-1)) ** 2, 7 * 0.25,
                 9 * np.exp(-2) / (1 + np.exp(-2)) ** 2]),   # dA s(1 - s)
    ("tanh", [5 * (1 - np.tanh(1.0) ** 2), 7.0, 9 * (1 - np.tanh(2.0) ** 2)]),
])
def test_linear_activation_backward_by_hand(activation, dZ):
    # with A_prev = [[1, 1, 1]] and W = [[2]]: dW = (1/3) sum dZ, db = (1/3) sum dZ,
    # dA_prev = 2 dZ
    Z = np.array([[-1.0, 0.0, 2.0]])
    cache = ((np.ones((1, 3)), np.array([[2.0]]), np.zeros((1, 1))), Z)
    dA = np.array([[5.0, 7.0, 9.0]])
    dA_prev, dW, db = dn.linear_activation_backward(dA, cache, activation)
    np.testing.assert_allclose(dA_prev, 2 * np.array([dZ]), rtol=1e-14)
    np.testing.assert_allclose(dW, [[sum(dZ) / 3]], rtol=1e-14)
    np.testing.assert_allclose(db, [[sum(dZ) / 3]], rtol=1e-14)
    np.testing.assert_array_equal(dA, [[5.0, 7.0, 9.0]])  # not modified


def test_L_model_backward_by_hand():
    # AL = 0.75, Y = 1: dAL = -(1 / 0.75) = -4/3; dZ2 = dAL * 0.75 * 0.25 = -0.25 (= AL - Y)
    # dW2 = dZ2 A1ᵀ = -0.25 [3, 0] = [-0.75, 0];  db2 = -0.25
    # dA1 = W2ᵀ dZ2 = [ln3/3 * -0.25, 5 * -0.25] = [-ln3/12, -1.25]
    # dZ1 = dA1 * (Z1 > 0) = [-ln3/12, 0];  dW1 = dZ1 Xᵀ = [[-ln3/12, -ln3/6], [0, 0]]
    # db1 = [-ln3/12, 0];  dA0 = W1ᵀ dZ1 = [-ln3/12, -ln3/12]
    parameters, X = _hand_network()
    AL, caches = dn.L_model_forward(X, parameters)
    grads = dn.L_model_backward(AL, np.array([[1]]), caches)
    assert set(grads) == {"dA0", "dA1", "dW1", "db1", "dW2", "db2"}
    np.testing.assert_allclose(grads["dW2"], [[-0.75, 0.0]], rtol=1e-14)
    np.testing.assert_allclose(grads["db2"], [[-0.25]], rtol=1e-14)
    np.testing.assert_allclose(grads["dA1"], [[-LN3 / 12], [-1.25]], rtol=1e-14)
    np.testing.assert_allclose(grads["dW1"], [[-LN3 / 12, -LN3 / 6], [0.0, 0.0]], rtol=1e-14)
    np.testing.assert_allclose(grads["db1"], [[-LN3 / 12], [0.0]], rtol=1e-14)
    np.testing.assert_allclose(grads["dA0"], [[-LN3 / 12], [-LN3 / 12]], rtol=1e-14)


def test_L_model_backward_course_case_not_clipped():
    # the course's own test: AL drawn from randn (1.79 > 1), caches unrelated to AL
    np.random.seed(3)
    AL, Y = np.random.randn(1, 2), np.array([[1, 0]])
    A1, W1, b1, Z1 = (np.random.randn(4, 2), np.random.randn(3, 4), np.random.randn(3, 1),
                      np.random.randn(3, 2))
    A2, W2, b2, Z2 = (np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1),
                      np.random.randn(1, 2))
    grads = dn.L_model_backward(AL, Y, [((A1, W1, b1), Z1), ((A2, W2, b2), Z2)])
    np.testing.assert_allclose(grads["dW1"], [[0.41010002, 0.07807203, 0.13798444, 0.10502167],
                                              [0, 0, 0, 0],
                                              [0.05283652, 0.01005865, 0.01777766, 0.0135308]],
                               atol=1e-8)
    np.testing.assert_allclose(grads["db1"], [[-0.22007063], [0], [-0.02835349]], atol=1e-8)
    np.testing.assert_allclose(grads["dA1"], [[0.12913162, -0.44014127],
                                              [-0.14175655, 0.48317296],
                                              [0.01663708, -0.05670698]], atol=1e-8)


def test_L_model_backward_saturated_is_finite():
    # Z2 = +-800 -> AL exactly [1, 0]. Unguarded, dAL = -(1/1 - 0/0) = NaN for a right
    # answer and inf for a wrong one. Guarded: AL -> 1 - eps / eps, dAL finite, and
    # dZ = dAL * s(1 - s) = 0 there because s is exactly 0 or 1.
    parameters = {"W1": np.array([[800.0]]), "b1": np.zeros((1, 1))}
    X = np.array([[1.0, -1.0]])
    with np.errstate(**RAISE):
        AL, caches = dn.L_model_forward(X, parameters, hidden_activation="relu")
        np.testing.assert_array_equal(AL, [[1.0, 0.0]])
        for Y in (np.array([[1, 0]]), np.array([[0, 1]])):
            grads = dn.L_model_backward(AL, Y, caches)
            assert all(np.isfinite(g).all() for g in grads.values())


def test_update_parameters_by_hand():
    # W1 = 1 - 0.1 * 2 = 0.8;  b1 = 0 - 0.1 * -3 = 0.3
    params = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    grads = {"dW1": np.array([[2.0]]), "db1": np.array([[-3.0]]), "dA0": np.array([[9.0]])}
    new = dn.update_parameters(params, grads, 0.1)
    np.testing.assert_allclose(new["W1"], [[0.8]])
    np.testing.assert_allclose(new["b1"], [[0.3]])
    assert params["W1"][0, 0] == 1.0


def _toy_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 20))
    Y = (X[0:1] + X[1:2] > 0).astype(int)
    return X, Y


def test_two_layer_model_costs_and_seed(capsys):
    X, Y = _toy_data()
    params, costs = dn.two_layer_model(X, Y, (3, 4, 1), learning_rate=0.5, num_iterations=201,
                                       print_cost=True)
    assert len(costs) == 3  # i = 0, 100, 200
    init = dn.initialize_parameters(3, 4, 1, seed=1)
    AL, _ = dn.L_model_forward(X, init)
    assert float(costs[0]) == pytest.approx(float(dn.compute_cost(AL, Y)), rel=1e-15)
    assert float(costs[-1]) < float(costs[0])
    out = capsys.readouterr().out
    assert "Cost after iteration 0:" in out and "Cost after iteration 200:" in out
    again, _ = dn.two_layer_model(X, Y, (3, 4, 1), learning_rate=0.5, num_iterations=201)
    np.testing.assert_array_equal(params["W1"], again["W1"])
    _, costs = dn.two_layer_model(X, Y, (3, 4, 1), num_iterations=100)
    assert len(costs) == 1


def test_L_layer_model_costs_seed_and_predict(capsys):
    X, Y = _toy_data()
    params, costs = dn.L_layer_model(X, Y, [3, 5, 4, 1], learning_rate=0.1,
                                     num_iterations=150, print_cost=True)
    assert len(costs) == 2
    init = dn.initialize_parameters_deep([3, 5, 4, 1], seed=1, init="xavier")
    AL, _ = dn.L_model_forward(X, init)
    assert float(costs[0]) == pytest.approx(float(dn.compute_cost(AL, Y)), rel=1e-15)
    assert "Cost after iteration 149:" in capsys.readouterr().out
    p = dn.predict(X, Y, params)
    assert p.shape == (1, 20) and set(np.unique(p)) <= {0.0, 1.0}
    assert "Accuracy: " in capsys.readouterr().out
    # seed=None leaves NumPy's global generator alone
    np.random.seed(5)
    a, _ = dn.L_layer_model(X, Y, [3, 2, 1], num_iterations=1, seed=None)
    np.random.seed(5)
    b, _ = dn.L_layer_model(X, Y, [3, 2, 1], num_iterations=1, seed=None)
    np.testing.assert_array_equal(a["W1"], b["W1"])


def test_predict_by_hand(capsys):
    # AL = 0.75 > 0.5 -> 1; y = 0 -> accuracy 0
    parameters, X = _hand_network()
    p = dn.predict(X, np.array([[0]]), parameters)
    np.testing.assert_array_equal(p, [[1.0]])
    assert capsys.readouterr().out.strip() == "Accuracy: 0.0"

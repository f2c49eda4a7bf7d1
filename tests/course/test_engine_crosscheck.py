"""The course's functions against deepgrad's autograd engine on the same weights (float64).

The course keeps examples as columns (X is (n_x, m)); the engine is batch-first, so the data
goes in transposed (x = Xᵀ, (m, n_x)) and a layer computes x Wᵀ + b with the course's W[l]
(n[l], n[l-1]) and b[l] flattened to (n[l],). The engine's cost is
J = -mean(y log a + (1 - y) log(1 - a)); its gradients must equal the course's dW, db.
The course's dA[l] carries no 1/m (dZ[L] = AL - Y), so dA0 = m * (dJ/dx)ᵀ.
"""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.course import deep_nn, logistic_regression, shallow_nn

TOL = {"rtol": 1e-10, "atol": 1e-10}
HIDDEN = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]
ENGINE_ACTIVATION = {
    "relu": dg.relu,
    "tanh": dg.tanh,
    "sigmoid": dg.sigmoid,
    "leaky_relu": lambda z: dg.leaky_relu(z, deep_nn.LEAKY_SLOPE),
    "linear": lambda z: z,
}


def _data(n_x, m, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    Y = (rng.random((1, m)) > 0.5).astype(np.float64)
    Y[0, :2] = [0.0, 1.0]  # both classes present
    return X, Y


def _random_parameters(layer_dims, seed):
    rng = np.random.default_rng(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters["W" + str(l)] = rng.standard_normal((layer_dims[l], layer_dims[l - 1]))
        parameters["b" + str(l)] = rng.standard_normal((layer_dims[l], 1))
    return parameters


def _engine_network(X, Y, parameters, hidden_activation):
    """Forward and backward through the engine; returns x, [(W, b)], activations, J."""
    x = dg.tensor(X.T.copy(), requires_grad=True)
    L = len(parameters) // 2
    layers, activations = [], []
    a = x
    for l in range(1, L + 1):
        W = dg.tensor(parameters["W" + str(l)].copy(), requires_grad=True)
        b = dg.tensor(parameters["b" + str(l)].ravel().copy(), requires_grad=True)
        z = a @ W.T + b
        a = dg.sigmoid(z) if l == L else ENGINE_ACTIVATION[hidden_activation](z)
        layers.append((W, b))
        activations.append(a)
    y = Y.T.astype(np.float64)
    J = -dg.mean(y * dg.log(a) + (1 - y) * dg.log(1 - a))
    J.backward()
    return x, layers, activations, J


@pytest.mark.parametrize("hidden_activation", HIDDEN)
def test_deep_network_matches_engine(hidden_activation):
    layer_dims = [4, 6, 5, 3, 1]
    X, Y = _data(4, 8, seed=0)
    parameters = _random_parameters(layer_dims, seed=1)
    AL, caches = deep_nn.L_model_forward(X, parameters, hidden_activation=hidden_activation)
    grads = deep_nn.L_model_backward(AL, Y, caches, hidden_activation=hidden_activation)
    x, layers, activations, J = _engine_network(X, Y, parameters, hidden_activation)

    # forward: A[l] is the A_prev of layer l + 1's cache; AL is the last activation
    for l in range(1, len(layer_dims) - 1):
        np.testing.assert_allclose(activations[l - 1].data.T, caches[l][0][0], **TOL)
    np.testing.assert_allclose(activations[-1].data.T, AL, **TOL)
    assert float(J.data) == pytest.approx(float(deep_nn.compute_cost(AL, Y)), rel=1e-12)

    # backward
    for l, (W, b) in enumerate(layers, start=1):
        np.testing.assert_allclose(W.grad, grads["dW" + str(l)], **TOL)
        np.testing.assert_allclose(b.grad, grads["db" + str(l)].ravel(), **TOL)
    m = X.shape[1]
    np.testing.assert_allclose(m * x.grad.T, grads["dA0"], **TOL)


@pytest.mark.parametrize("hidden_activation", HIDDEN)
def test_shallow_network_matches_engine(hidden_activation):
    X, Y = _data(3, 7, seed=2)
    parameters = _random_parameters([3, 5, 1], seed=3)
    A2, cache = shallow_nn.forward_propagation(X, parameters, activation=hidden_activation)
    grads = shallow_nn.backward_propagation(parameters, cache, X, Y,
                                            activation=hidden_activation)
    _, layers, activations, J = _engine_network(X, Y, parameters, hidden_activation)

    np.testing.assert_allclose(activations[0].data.T, cache["A1"], **TOL)
    np.testing.assert_allclose(activations[1].data.T, A2, **TOL)
    assert float(J.data) == pytest.approx(shallow_nn.compute_cost(A2, Y), rel=1e-12)
    for l, (W, b) in enumerate(layers, start=1):
        np.testing.assert_allclose(W.grad, grads["dW" + str(l)], **TOL)
        np.testing.assert_allclose(b.grad, grads["db" + str(l)].ravel(), **TOL)


def test_two_layer_network_dA1_is_W2T_dZ2():
    # grads["dA1"] of a 2-layer net is W2ᵀ dZ2 = W2ᵀ (A2 - Y), the course's dA[1]
    X, Y = _data(3, 6, seed=4)
    parameters = _random_parameters([3, 4, 1], seed=5)
    AL, caches = deep_nn.L_model_forward(X, parameters)
    grads = deep_nn.L_model_backward(AL, Y, caches)
    np.testing.assert_allclose(grads["dA1"], parameters["W2"].T @ (AL - Y), **TOL)


def test_logistic_regression_matches_engine():
    X, Y = _data(4, 9, seed=6)
    w = np.random.default_rng(7).standard_normal((4, 1))
    b = 0.3
    grads, cost = logistic_regression.propagate(w, b, X, Y)
    wt = dg.tensor(w.copy(), requires_grad=True)
    bt = dg.tensor(np.array([b]), requires_grad=True)
    a = dg.sigmoid(dg.tensor(X.T.copy()) @ wt + bt)
    y = Y.T
    J = -dg.mean(y * dg.log(a) + (1 - y) * dg.log(1 - a))
    J.backward()
    assert float(J.data) == pytest.approx(float(cost), rel=1e-12)
    np.testing.assert_allclose(wt.grad, grads["dw"], **TOL)
    np.testing.assert_allclose(bt.grad, [grads["db"]], **TOL)

"""The course's deep network against deepgrad's nn layers on the same weights (float64).

The same parameters go into nn.Linear layers (weight = W[l], bias = b[l] flattened), the
hidden activation modules and a Sigmoid output; the engine's cost (the fused binary
cross-entropy on logits, and the plain one on probabilities) and its gradients must equal
the course's L_model_forward / compute_cost / L_model_backward to 1e-10.
"""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.course import deep_nn, shallow_nn
from deepgrad.losses import binary_cross_entropy, binary_cross_entropy_with_logits

MODULES = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": lambda: nn.LeakyReLU(deep_nn.LEAKY_SLOPE),
    "linear": nn.Identity,
}


def _setup(layer_dims, hidden, seed=0, m=7):
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1])) * 0.7
        params[f"b{l}"] = rng.standard_normal((layer_dims[l], 1)) * 0.3
    X = rng.standard_normal((layer_dims[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(np.float64)
    layers = []
    with dg.default_dtype(np.float64):
        for l in range(1, len(layer_dims)):
            lin = nn.Linear(layer_dims[l - 1], layer_dims[l])
            lin.weight.data[...] = params[f"W{l}"]
            lin.bias.data[...] = params[f"b{l}"].ravel()
            layers += [lin, MODULES[hidden]() if l < len(layer_dims) - 1 else nn.Sigmoid()]
    return params, X, Y, nn.Sequential(*layers)


@pytest.mark.parametrize("hidden", sorted(MODULES))
@pytest.mark.parametrize("fused", [True, False])
def test_deep_network_through_layers(hidden, fused):
    dims = [5, 4, 3, 1]
    params, X, Y, model = _setup(dims, hidden)
    AL, caches = deep_nn.L_model_forward(X, params, hidden_activation=hidden)
    cost = deep_nn.compute_cost(AL, Y)
    grads = deep_nn.L_model_backward(AL, Y, caches, hidden_activation=hidden)

    x = dg.tensor(X.T.copy())
    y = Y.T.copy()
    acts = []
    a = x
    for layer in model:
        a = layer(a)
        acts.append(a)
    if fused:
        J = binary_cross_entropy_with_logits(acts[-2], y)  # the logits, before Sigmoid
    else:
        J = binary_cross_entropy(acts[-1], y)
    J.backward()
    np.testing.assert_allclose(acts[-1].numpy().T, AL, rtol=1e-10, atol=1e-12)
    for l in range(1, len(dims) - 1):  # hidden activations A[l]
        np.testing.assert_allclose(acts[2 * l - 1].numpy().T, caches[l][0][0], rtol=1e-10,
                                   atol=1e-12)
    np.testing.assert_allclose(J.item(), float(np.squeeze(cost)), rtol=1e-10)
    for l in range(1, len(dims)):
        lin = model[2 * (l - 1)]
        np.testing.assert_allclose(lin.weight.grad, grads[f"dW{l}"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(lin.bias.grad, grads[f"db{l}"].ravel(), rtol=1e-9,
                                   atol=1e-12)


@pytest.mark.parametrize("hidden", ["tanh", "relu", "sigmoid"])
def test_shallow_network_through_layers(hidden):
    params, X, Y, model = _setup([2, 4, 1], hidden, seed=3, m=9)
    A2, cache = shallow_nn.forward_propagation(X, params, activation=hidden)
    grads = shallow_nn.backward_propagation(params, cache, X, Y, activation=hidden)
    out = model(dg.tensor(X.T.copy()))
    np.testing.assert_allclose(out.numpy().T, A2, rtol=1e-10)
    binary_cross_entropy(out, Y.T.copy()).backward()
    np.testing.assert_allclose(model[0].weight.grad, grads["dW1"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model[2].bias.grad, grads["db2"].ravel(), rtol=1e-9, atol=1e-12)

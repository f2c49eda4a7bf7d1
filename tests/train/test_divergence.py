"""A diverging run stops with the epoch and batch (before metrics or the optimizer see the
non-finite loss); non-finite weights are named in evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from deepgrad import callbacks as cb
from deepgrad import nn
from deepgrad.callbacks import NonFiniteLossError

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 3)).astype(np.float32)
Y_REG = X.sum(1)
Y_CLS = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)


class WeightsAtBatchBegin(cb.Callback):
    """Keeps a copy of the weights as each training step begins."""

    def on_train_batch_begin(self, batch, logs=None):
        self.weights = self.model.state_dict()


def _regressor(metrics):
    m = nn.Sequential(nn.Linear(3, 8, rng=0), nn.ReLU(), nn.Linear(8, 1, rng=1))
    return m.compile({"name": "sgd", "lr": 1e6}, "mse", metrics=metrics)


def _classifier(metrics):
    m = nn.Sequential(nn.Linear(3, 16, rng=0), nn.ReLU(), nn.Linear(16, 3, rng=2),
                      nn.Softmax(-1))
    return m.compile({"name": "sgd", "lr": 1e6}, "sparse_categorical_crossentropy",
                     metrics=metrics)


@pytest.mark.parametrize("make, y, metrics", [
    (_regressor, Y_REG, ["mae"]), (_regressor, Y_REG, []),
    (_classifier, Y_CLS, ["accuracy"]), (_classifier, Y_CLS, []),
])
def test_divergence_names_epoch_and_batch_before_metrics_and_step(make, y, metrics):
    model = make(metrics)
    spy = WeightsAtBatchBegin()
    with pytest.raises(NonFiniteLossError, match=r"training diverged: the loss is (nan|inf) at "
                       r"epoch \d+, batch \d+; lower the learning rate"):
        model.fit(X, y, epochs=20, callbacks=[spy], verbose=0)
    # the step that met the non-finite loss was not applied: the weights are the last ones
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, spy.weights[k])


def test_divergence_message_is_terminate_on_nans():
    t = cb.TerminateOnNaN()
    t.on_epoch_begin(1)
    with pytest.raises(NonFiniteLossError) as caught:
        t.on_train_batch_end(2, {"loss": float("inf")})
    assert str(caught.value) == str(cb.divergence_error(float("inf"), 1, 2))


def _poisoned(metrics):
    m = nn.Sequential(nn.Linear(3, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1))
    m.compile("adam", "sparse_categorical_crossentropy", metrics=metrics)
    m.fit(X, Y_CLS, epochs=1, verbose=0)
    m[2].weight.data[1, 4] = np.nan
    return m


@pytest.mark.parametrize("metrics", [["accuracy"], []])
def test_evaluate_with_non_finite_weights_names_the_parameter(metrics):
    model = _poisoned(metrics)
    with pytest.raises(NonFiniteLossError, match=r"evaluate: the loss is nan because the "
                       r"model's weights are not finite \(first: parameter '2.weight'\)"):
        model.evaluate(X, Y_CLS)


class PoisonAtEpochEnd(cb.Callback):
    """Makes a weight NaN after the last batch of the epoch, as an overflowing update would."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.params["steps"] - 1:
            self.model[0].bias.data[3] = np.inf


@pytest.mark.parametrize("metrics", [["accuracy"], []])
def test_non_finite_validation_loss_blames_the_weights(metrics):
    model = nn.Sequential(nn.Linear(3, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=metrics)
    with pytest.raises(NonFiniteLossError, match=r"validation after epoch 1: the loss is nan "
                       r"because the model's weights are not finite \(first: parameter "
                       r"'0.bias'\)"):
        model.fit(X[:48], Y_CLS[:48], epochs=1, validation_data=(X[48:], Y_CLS[48:]),
                  callbacks=[PoisonAtEpochEnd()], verbose=0)


def test_non_finite_weights_before_training_are_reported():
    model = _regressor([])
    model[0].weight.data[0, 0] = np.nan
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch 1.*weights were already "
                       r"not finite \(first: '0.weight'\)"):
        model.fit(X, Y_REG, verbose=0)

"""The course's printed figures, reproduced (the long runs live in examples/course/)."""

import os
from pathlib import Path

import numpy as np
import pytest

from deepgrad.course import deep_nn, logistic_regression, shallow_nn
from deepgrad.course.datasets import load_cat_dataset, load_planar_dataset


def _real_cat_dir() -> Path:
    """$DEEPGRAD_DATA/catvnoncat, else ../shared/data/catvnoncat next to the repository."""
    if os.environ.get("DEEPGRAD_DATA"):
        return Path(os.environ["DEEPGRAD_DATA"]) / "catvnoncat"
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "catvnoncat"


REAL_CAT = _real_cat_dir()

needs_cat = pytest.mark.skipif(not REAL_CAT.is_dir(), reason="cat vs non-cat files not present")


@pytest.fixture(scope="module")
def cat():
    train_x_orig, train_y, test_x_orig, test_y, _ = load_cat_dataset(REAL_CAT)
    train_x = train_x_orig.reshape(train_x_orig.shape[0], -1).T / 255
    test_x = test_x_orig.reshape(test_x_orig.shape[0], -1).T / 255
    return train_x, train_y, test_x, test_y


def test_planar_n_h_4_reaches_90_percent():
    # course: cost after iteration 0 0.693048, 1000 0.288083; accuracy "90%" (printed with %d)
    X, Y = load_planar_dataset()
    A2, _ = shallow_nn.forward_propagation(X, shallow_nn.initialize_parameters(2, 4, 1))
    assert shallow_nn.compute_cost(A2, Y) == pytest.approx(0.693048, abs=5e-7)
    parameters = shallow_nn.nn_model(X, Y, 4, num_iterations=10000)
    accuracy = np.mean(shallow_nn.predict(parameters, X) == Y) * 100
    assert 90 <= accuracy < 91


@needs_cat
def test_cat_logistic_regression(cat):
    # course: cost after iteration 100 0.584508; train 99.04306220095694 %, test 70.0 %
    train_x, train_y, test_x, test_y = cat
    d = logistic_regression.model(train_x, train_y, test_x, test_y, num_iterations=2000,
                                  learning_rate=0.005)
    assert float(d["costs"][1]) == pytest.approx(0.584508, abs=5e-7)
    assert 100 - np.mean(np.abs(d["Y_prediction_train"] - train_y)) * 100 == pytest.approx(
        99.04306220095694)
    assert 100 - np.mean(np.abs(d["Y_prediction_test"] - test_y)) * 100 == pytest.approx(70.0)


@needs_cat
def test_cat_first_costs(cat):
    # course: two-layer 0.6930497356599888, L-layer [12288, 20, 7, 5, 1] 0.7717493284237686
    train_x, train_y, _, _ = cat
    _, costs = deep_nn.two_layer_model(train_x, train_y, (12288, 7, 1), num_iterations=1)
    assert float(costs[0]) == pytest.approx(0.6930497356599888, rel=1e-12)
    _, costs = deep_nn.L_layer_model(train_x, train_y, [12288, 20, 7, 5, 1], num_iterations=1)
    assert float(costs[0]) == pytest.approx(0.7717493284237686, rel=1e-12)

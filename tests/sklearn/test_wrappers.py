"""NeuralNetClassifier / NeuralNetRegressor, and all four estimators inside Pipeline,
GridSearchCV and cross_val_score."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from deepgrad import nn  # noqa: E402
from deepgrad.callbacks import EarlyStopping  # noqa: E402
from deepgrad.sklearn import (  # noqa: E402
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,
    NeuralNetRegressor,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _blobs(n=120, d=5, k=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (k, d))
    y = rng.integers(0, k, n)
    return (centers[y] + rng.normal(0, 1, (n, d))) * scale, y


def builder(n_features_in, n_outputs, units=8, depth=1):
    layers, n = [], n_features_in
    for _ in range(depth):
        layers += [nn.Linear(n, units), nn.Tanh()]
        n = units
    return nn.Sequential(*layers, nn.Linear(n, n_outputs))


def test_builder_gets_sizes_and_routed_arguments():
    X, y = _blobs()
    clf = NeuralNetClassifier(builder, model__units=5, model__depth=2, epochs=3,
                              random_state=0).fit(X, y)
    assert clf.n_outputs_ == 3 and clf.module_[0].weight.shape == (5, 5)
    assert len(clf.module_) == 5
    params = clf.get_params()
    assert params["model__units"] == 5 and params["model"] is builder
    clf.set_params(model__units=4, optimizer__lr=0.05)
    assert clone(clf).get_params()["model__units"] == 4
    clf.fit(X, y)
    assert clf.module_[0].weight.shape == (4, 5)
    assert clf.optimizer_.param_groups[0]["lr"] == 0.05
    with pytest.raises(TypeError, match="unexpected argument 'unit'"):
        NeuralNetClassifier(builder, unit=3).fit(X, y)


def test_module_is_copied_never_modified_and_final_softmax_skipped():
    X, y = _blobs()
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3), nn.Softmax(dim=-1))
    w0 = model[0].weight.data.copy()
    clf = NeuralNetClassifier(model, epochs=30, batch_size=16, optimizer__lr=0.01,
                              random_state=0).fit(X, y)
    np.testing.assert_array_equal(model[0].weight.data, w0)
    assert clf.module_ is not model and clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    with pytest.raises(ValueError, match="outputs 3 values per example; this problem needs 1"):
        NeuralNetClassifier(model, epochs=1).fit(X, y == 0)


def test_layer_list_and_string_labels():
    X, y = _blobs()
    names = np.array(["a", "b", "c"])[y]
    clf = NeuralNetClassifier([{"dense": {"units": 12, "activation": "relu"}},
                               {"dropout": 0.1}], epochs=20, random_state=0).fit(X, names)
    assert clf.score(X, names) > 0.9 and clf.predict(X[:3]).dtype.kind == "U"
    with pytest.raises(ValueError, match="model"):
        NeuralNetClassifier([{"dense": {"unitz": 3}}], epochs=1).fit(X, names)


def test_binary_cross_entropy_choice_and_multilabel():
    X, y = _blobs()
    yb = y == 2
    a = NeuralNetClassifier(epochs=5, random_state=0).fit(X, yb)
    b = NeuralNetClassifier(loss="cross_entropy", epochs=5, random_state=0).fit(X, yb)
    assert (a.n_outputs_, a.head_) == (1, "logistic")
    assert (b.n_outputs_, b.head_) == (2, "softmax")
    for clf in (a, b):
        d = clf.decision_function(X)
        assert d.shape == (120,) and ((d > 0) == clf.predict(X)).all()
    Y = np.c_[y == 0, y == 1].astype(int)
    m = NeuralNetClassifier(epochs=20, random_state=0).fit(X, Y)
    assert m.predict(X).shape == (120, 2) and (m.predict(X) == Y).mean() > 0.9
    with pytest.raises(ValueError, match="multilabel"):
        NeuralNetClassifier(loss="cross_entropy", epochs=1).fit(X, Y)


def test_regressor_losses_weights_and_callbacks():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    Y = np.c_[X @ [1.0, -2.0, 0.5, 0.0], X[:, 0] * X[:, 1]]
    reg = NeuralNetRegressor(model__hidden=(32,), epochs=60, optimizer__lr=0.01,
                             validation_split=0.2, random_state=0,
                             callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
    reg.fit(X, Y)
    assert reg.predict(X).shape == (200, 2) and reg.score(X, Y) > 0.8
    assert set(reg.history_) == {"loss", "val_loss", "lr"} and reg.n_iter_ <= 60
    assert reg.callbacks[0] is not reg.callbacks_[0]  # the parameter stays untouched
    for loss in ("mae", "huber"):
        r = NeuralNetRegressor(loss=loss, epochs=2, random_state=0).fit(X, Y[:, 0])
        assert r.predict(X).shape == (200,)
    w = np.r_[np.ones(100), np.zeros(100)]
    kw = dict(epochs=3, batch_size=None, shuffle=False, random_state=0, dtype="float64")
    a = NeuralNetRegressor(**kw).fit(X, Y, sample_weight=w)
    b = NeuralNetRegressor(**kw).fit(X[:100], Y[:100])
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-10)

    def per_example(out, t):  # a user loss: one value per example
        return ((out - t) ** 2).sum(axis=1)

    c = NeuralNetRegressor(loss=per_example, epochs=2, random_state=0).fit(X, Y, w)
    assert np.isfinite(c.history_["loss"]).all()


def test_partial_fit_pickle_and_determinism():
    X, y = _blobs()
    clf = NeuralNetClassifier(model__dropout=0.3, random_state=4)
    clf.partial_fit(X, y, classes=np.array([0, 1, 2]))
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.history_["loss"]) == 2
    other = NeuralNetClassifier(model__dropout=0.3, random_state=4)
    other.partial_fit(X, y, classes=np.array([0, 1, 2]))
    other.partial_fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), other.predict_proba(X))
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_pipeline_gridsearch_and_cross_val_score():
    X, y = _blobs(n=90, scale=100.0)  # unscaled features: the pipeline scales them
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=30, random_state=0,
                                                         learning_rate_init=0.02))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    grid = GridSearchCV(make_pipeline(StandardScaler(), NeuralNetClassifier(
        builder, epochs=10, random_state=0)),
        {"neuralnetclassifier__model__units": [2, 8],
         "neuralnetclassifier__optimizer__lr": [0.001, 0.03]}, cv=2)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"neuralnetclassifier__model__units",
                                      "neuralnetclassifier__optimizer__lr"}
    assert grid.best_score_ > 0.85
    reg = GridSearchCV(MLPRegressor(max_iter=20, random_state=0),
                       {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-2]}, cv=2)
    reg.fit(X / 100, X[:, 0] / 100 - X[:, 1] / 100)
    assert len(reg.cv_results_["params"]) == 4


def test_bad_arguments_raise_clear_errors():
    X, y = _blobs(n=30)
    with pytest.raises(TypeError, match="optimizer must be a name"):
        NeuralNetClassifier(optimizer=3, epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        NeuralNetClassifier(loss="hinge", epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        NeuralNetRegressor(epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="routed model arguments need a builder"):
        NeuralNetRegressor(nn.Linear(5, 1), model__units=3).fit(X, y)

    def mean_loss(out, t):  # a scalar: fine alone, but cannot weight examples
        return ((out - t) ** 2).mean()

    NeuralNetRegressor(loss=mean_loss, epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="one value per example"):
        NeuralNetRegressor(loss=mean_loss, epochs=1).fit(X, y, sample_weight=np.ones(30))


def test_verbose_progress(capsys):
    X, y = _blobs(n=40)
    NeuralNetRegressor(epochs=2, verbose=2, validation_split=0.25).fit(X, y.astype(float))
    MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "val_loss" in out  # deepgrad's progress lines
    assert "Iteration 2, loss = " in out  # scikit-learn's lines, for the MLPs

"""compile / fit / evaluate / predict: the course's algorithms and Keras's behaviour."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.callbacks import NonFiniteLossError
from deepgrad.data import make_planar


def planar():
    X, y = make_planar()
    return X, y


def test_course_planar_network_full_batch():
    X, y = planar()
    dg.manual_seed(2)
    model = nn.Sequential(nn.Linear(2, 4, init="small_random"), nn.Tanh(),
                          nn.Linear(4, 1, init="small_random"), nn.Sigmoid())
    model.compile(optimizer={"name": "sgd", "lr": 1.2}, loss="binary_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(X, y, epochs=1500, batch_size=None, verbose=0)
    assert len(h.batch_losses) == 1500  # one iteration per epoch: full-batch GD
    assert h.history["accuracy"][-1] > 0.85
    assert h.history["loss"][-1] < h.history["loss"][0]
    p = model.predict(X)
    assert p.shape == (400, 1) and p.min() >= 0 and p.max() <= 1
    cls = model.predict_classes(X)
    assert cls.shape == (400,) and set(np.unique(cls)) <= {0, 1}
    assert abs(np.mean(cls == y) - model.evaluate(X, y)["accuracy"]) < 1e-9
    assert "fused with the final sigmoid" in model.summary((2,), print_fn=None)


def test_history_keys_and_val_loss_is_whole_set_eval_loss():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3)).astype(np.float32)
    y = (X.sum(1) > 0).astype(int)
    model = nn.Sequential(nn.Linear(3, 8, rng=0), nn.ReLU(), nn.Dropout(0.5, rng=1),
                          nn.Linear(8, 1, rng=2))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    h = model.fit(X[:70], y[:70], epochs=3, batch_size=16, validation_data=(X[70:], y[70:]),
                  verbose=0, seed=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 3 for v in h.history.values())
    ev = model.evaluate(X[70:], y[70:], batch_size=7)
    assert abs(ev["loss"] - h.history["val_loss"][-1]) < 1e-6
    assert len(h.batch_losses) == 3 * 5
    assert model.training  # fit restores the mode the model had


def test_validation_split_takes_the_tail():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.float32)
    model = nn.Sequential(nn.Linear(2, 1))
    model.compile("sgd", "mse")
    h = model.fit(X, y, epochs=1, batch_size=None, validation_split=0.3, verbose=0)
    assert "val_loss" in h.history
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(X, y, validation_split=1.5, verbose=0)


def test_stochastic_gradient_descent_batch_size_one():
    X = np.random.default_rng(0).standard_normal((12, 2)).astype(np.float32)
    y = X @ np.array([[1.0], [-2.0]], np.float32)
    model = nn.Sequential(nn.Linear(2, 1))
    model.compile({"name": "sgd", "lr": 0.05}, "mse")
    h = model.fit(X, y, epochs=30, batch_size=1, verbose=0, seed=0)
    assert len(h.batch_losses) == 12 * 30
    assert h.history["loss"][-1] < 1e-3


def test_multiclass_softmax_and_logits_and_categorical():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    for head in (True, False):
        layers = [nn.Linear(2, 16, rng=0), nn.ReLU(), nn.Linear(16, 3, rng=1)]
        model = nn.Sequential(*layers, *( [nn.Softmax(-1)] if head else []))
        model.compile({"name": "adam", "lr": 0.05}, "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        h = model.fit(X, y, epochs=40, batch_size=32, verbose=0, seed=0)
        assert h.history["accuracy"][-1] > 0.9
        p = model.predict(X)
        np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)
    onehot = dg.data.one_hot(y, 3)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    ev = model.evaluate(X, onehot)
    assert ev["accuracy"] > 0.9


def test_prediction_is_eval_mode_no_graph_and_restores_mode():
    model = nn.Sequential(nn.Linear(3, 50), nn.Dropout(0.9), nn.Linear(50, 1))
    X = np.ones((10, 3), np.float32)
    model.train()
    a, b = model.predict(X), model.predict(X)
    np.testing.assert_array_equal(a, b)  # dropout off
    assert model.training
    created = []
    orig = dg.Function.__call__

    def spy(self, *xs):
        out = orig(self, *xs)
        created.append(self.requires_grad)
        return out

    dg.Function.__call__ = spy
    try:
        model.predict(X)
    finally:
        dg.Function.__call__ = orig
    assert created and not any(created)


def test_input_validation_errors():
    model = nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())
    model.compile("sgd", "binary_crossentropy")
    X = np.ones((4, 3), np.float32)
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="different lengths: X has 4 samples.*y has 3"):
        model.fit(X, y[:3], verbose=0)
    with pytest.raises(ValueError, match=r"X \(shape \(4, 5\)\) doesn't fit the model.*"
                                         r"last dimension 3"):
        model.fit(np.ones((4, 5)), y, verbose=0)
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"X: contains 1 NaN.*\(2, 1\)"):
        model.fit(Xn, y, verbose=0)
    with pytest.raises(ValueError, match=r"y: label 2 is outside \[0, 1\]"):
        model.fit(X, np.array([0, 1, 2, 1]), verbose=0)
    with pytest.raises(ValueError, match="X: non-numeric data"):
        model.fit(np.array([["a", "b", "c"]] * 4), y, verbose=0)
    with pytest.raises(ValueError, match="X: empty"):
        model.predict(np.ones((0, 3)))
    with pytest.raises(ValueError, match="y: contains"):
        model.evaluate(X, np.array([0, np.inf, 0, 1]))
    mc = nn.Sequential(nn.Linear(3, 10))
    mc.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"label 10 is outside \[0, 10\) for a model with 10"):
        mc.fit(X, np.array([0, 10, 3, 1]), verbose=0)
    with pytest.raises(ValueError, match="non-integer class label 1.5"):
        mc.fit(X, np.array([0, 1.5, 3, 1]), verbose=0)
    with pytest.raises(ValueError, match="one-hot targets"):
        mc.compile("adam", "categorical_crossentropy")
        mc.fit(X, np.array([0, 1, 3, 1]), verbose=0)


def test_unknown_names_list_valid_ones_and_not_compiled():
    model = nn.Sequential(nn.Linear(2, 1))
    with pytest.raises(ValueError, match="unknown loss 'crossentropy'.*binary_crossentropy"):
        model.compile("adam", "crossentropy")
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'.*adam"):
        model.compile("adamm", "mse")
        model.fit(np.ones((2, 2)), np.ones(2), verbose=0)
    with pytest.raises(ValueError, match="valid"):
        model.compile("adam", "mse", metrics=["acuracy"])
    fresh = nn.Sequential(nn.Linear(2, 1))
    with pytest.raises(RuntimeError, match="not compiled"):
        fresh.fit(np.ones((2, 2)), np.ones(2))


def test_divergence_stops_with_epoch_and_batch():
    X = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32) * 100
    y = X.sum(1, keepdims=True) ** 3
    model = nn.Sequential(nn.Linear(2, 1))
    model.compile({"name": "sgd", "lr": 10.0}, "mse")
    with pytest.raises(NonFiniteLossError, match=r"epoch \d+, batch \d+"):
        model.fit(X, y, epochs=50, batch_size=16, verbose=0)


def test_lazy_dense_model_and_custom_loss():
    X = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    y = X[:, :1] * 2
    model = nn.Sequential(nn.Dense(8, activation="relu", rng=0), nn.Dense(1, rng=1))
    model.compile("adam", loss=lambda out, t: dg.mean((out - t) ** 2), metrics=["mae"])
    h = model.fit(X, y, epochs=5, verbose=0)
    assert "mae" in h.history and len(list(model.parameters())) == 4


def test_explicit_loop_with_dataloader():
    X, y = planar()
    loader = dg.data.DataLoader(dg.data.ArrayDataset(X, y), batch_size=64, shuffle=True, seed=0)
    model = nn.Sequential(nn.Linear(2, 16, rng=0), nn.Tanh(), nn.Linear(16, 1, rng=1))
    opt = dg.optim.Adam(model.parameters(), lr=0.05)
    first = last = None
    for _ in range(60):
        total = 0.0
        for xb, yb in loader:
            loss = dg.losses.binary_cross_entropy_with_logits(
                model(dg.tensor(xb)), yb.reshape(-1, 1).astype(np.float32))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        first = first if first is not None else total
        last = total
    assert last < 0.6 * first


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_finite_check_sees_every_nan_and_inf_and_passes_huge_finite_values(dtype):
    from deepgrad.train.validation import check_finite

    big = np.finfo(dtype).max
    check_finite(np.full((4, 3), big, dtype), "X")  # the sum overflows; the values are fine
    check_finite(np.array([[big], [-big]], dtype)[:, ::-1], "X")  # non-contiguous too
    for bad, kind in ((np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")):
        for filler in (0.0, big):  # a finite sum, or one that overflows first
            x = np.full((5, 4), filler, dtype)
            x[3, 2] = bad
            with pytest.raises(ValueError, match=rf"X: contains 1 .*{kind} at index \(3, 2\)"):
                check_finite(x, "X")
    x = np.zeros(6, dtype)
    x[[1, 4]] = (np.inf, -np.inf)  # +inf and -inf: the sum is NaN
    with pytest.raises(ValueError, match=r"contains 2 .*index \(1,\)"):
        check_finite(x, "X")

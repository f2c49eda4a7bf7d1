"""compile / fit / evaluate / predict / summary / save-load for graph models."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import Input, Model
from deepgrad.nn import Add, BatchNorm1d, Concatenate, Dense


@pytest.fixture(autouse=True)
def _seed() -> None:
    dg.manual_seed(0)


def _blobs(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 4)).astype(np.float32) + 3.0 * y[:, None]
    return X, y


def test_lecture_model_trains_with_fit() -> None:
    from deepgrad import Input, Model
    from deepgrad.nn import Dense

    m, d1 = 4, 8
    inputs = Input(m)
    hidden = Dense(d1)(inputs)
    outputs = Dense(2)(hidden)
    model = Model(inputs, outputs)
    X, y = _blobs()
    model.compile(optimizer={"name": "adam", "lr": 0.01},
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(X, y, epochs=15, batch_size=16, verbose=0, seed=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert h.history["accuracy"][-1] > 0.9
    p = model.predict(X, verbose=0)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)


def test_softmax_head_is_fused_for_a_graph_output() -> None:
    x = Input(4)
    out = Dense(2, activation="softmax")(Dense(8, activation="relu")(x))
    model = Model(x, out)
    model.compile("adam", "sparse_categorical_crossentropy")
    assert model._loss_spec.from_logits and model._loss_spec.head == "softmax"
    X, y = _blobs()
    model.fit(X, y, epochs=2, verbose=0)
    text = model.summary(print_fn=None)
    assert "fused with the final softmax" in text


def _two_in_two_out() -> Model:
    a, b = Input(4, name="a"), Input(3, name="b")
    h = Dense(16, activation="relu", name="trunk")(Concatenate()([a, b]))
    cls = Dense(2, name="cls")(h)
    reg = Dense(1, name="reg")(h)
    return Model([a, b], [cls, reg])


def _two_data(n: int = 96) -> tuple[list[np.ndarray], list[np.ndarray]]:
    A, y = _blobs(n)
    B = np.random.default_rng(1).normal(size=(n, 3)).astype(np.float32)
    return [A, B], [y, (A[:, :1] + B[:, :1]).astype(np.float32)]


def test_multi_input_multi_output_fit_per_output_losses() -> None:
    model = _two_in_two_out()
    model.compile({"name": "adam", "lr": 0.01},
                  loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"]})
    X, Y = _two_data()
    h = model.fit({"a": X[0], "b": X[1]}, {"cls": Y[0], "reg": Y[1]}, epochs=12,
                  batch_size=16, verbose=0, seed=0, validation_split=0.25)
    assert set(h.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy", "val_loss",
                              "val_cls_loss", "val_reg_loss", "val_cls_accuracy", "lr"}
    hist = h.history
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["reg_loss"][-1] < hist["reg_loss"][0]
    np.testing.assert_allclose(hist["loss"][-1],
                               hist["cls_loss"][-1] + 0.5 * hist["reg_loss"][-1], rtol=1e-4)
    res = model.evaluate(X, Y, verbose=0)
    assert set(res) == {"loss", "cls_loss", "reg_loss", "cls_accuracy"}
    assert res["cls_accuracy"] > 0.8
    probs, reg = model.predict(X, verbose=0)
    assert probs.shape == (96, 2) and reg.shape == (96, 1)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_zero_loss_weight_leaves_that_head_untouched() -> None:
    model = _two_in_two_out()
    model.compile("sgd", loss=["sparse_categorical_crossentropy", "mse"],
                  loss_weights=[1.0, 0.0])
    before = model.get_layer("reg").weight.data.copy()
    X, Y = _two_data()
    model.fit(X, Y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_layer("reg").weight.grad, 0)
    np.testing.assert_array_equal(model.get_layer("reg").weight.data, before)


def test_multi_io_errors_name_the_argument() -> None:
    model = _two_in_two_out()
    with pytest.raises(ValueError, match=r"unknown output name\(s\) \['nope'\]"):
        model.compile("adam", loss={"nope": "mse"})
    model.compile("adam", loss="mse")
    X, Y = _two_data()
    with pytest.raises(ValueError, match=r"X\['b'\]: examples of shape \(4,\)"):
        model.fit([X[0], X[0]], Y, verbose=0)
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        model.fit({"a": X[0]}, Y, verbose=0)
    with pytest.raises(ValueError, match=r"y\['cls'\]"):
        model.fit(X, [Y[0][:10], Y[1]], verbose=0)


def test_summary_has_connected_to_and_counts() -> None:
    model = _two_in_two_out()
    text = model.summary(print_fn=None)
    assert "Connected to" in text
    assert "trunk (Dense)" in text and "concatenate (Concatenate)" in text
    assert "a, b" in text
    total = 7 * 16 + 16 + 16 * 2 + 2 + 16 + 1
    assert f"Total params: {total:,}" in text and f"Trainable params: {total:,}" in text


def _residual() -> Model:
    x = Input(4, name="x")
    h = Dense(8, activation="relu", name="h")(x)
    b = BatchNorm1d(8, name="bn")(Dense(8, name="d")(h))
    y = Dense(2, activation="softmax", name="out")(Add()([h, b]))
    return Model(x, y, name="resnet_mlp")


def test_save_load_bit_identical_also_in_a_fresh_interpreter(tmp_path: Path) -> None:
    model = _residual()
    model.compile("adam", "sparse_categorical_crossentropy")
    X, y = _blobs()
    model.fit(X, y, epochs=2, verbose=0)
    path = tmp_path / "res.dg"
    dg.save(model, path)
    want = model.predict(X, verbose=0)
    loaded = dg.load(path)
    assert isinstance(loaded, Model) and loaded.is_graph and loaded.name == "resnet_mlp"
    assert [n.name for n in loaded.nodes] == [n.name for n in model.nodes]
    loaded.compile("adam", "sparse_categorical_crossentropy")
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), want)
    np.save(tmp_path / "X.npy", X)
    code = textwrap.dedent(f"""
        import numpy as np, deepgrad as dg
        m = dg.load({str(path)!r})
        m.compile("adam", "sparse_categorical_crossentropy")
        np.save({str(tmp_path / "p.npy")!r}, m.predict(np.load({str(tmp_path / "X.npy")!r}),
                                                      verbose=0))
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), want)


def test_saved_manifest_holds_the_graph_as_json_not_pickle(tmp_path: Path) -> None:
    import json
    import zipfile

    path = tmp_path / "m.dg"
    dg.save(_residual(), path)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        manifest = json.loads(z.read(next(n for n in names if n.endswith(".json"))))
    graph = manifest["architecture"]["graph"]
    assert [n["name"] for n in graph["nodes"]] == ["x", "h", "d", "bn", "add", "out"]
    assert graph["nodes"][4]["args"] == [["h", "bn"]]
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)


def test_graph_model_to_device_and_fit_on_it() -> None:
    model = _residual()
    assert model.to("cpu") is model
    model.compile("adam", "sparse_categorical_crossentropy")
    X, y = _blobs(16)
    model.fit(X, y, epochs=1, verbose=0, device="cpu")
    assert all(p.device == "cpu" for p in model.parameters())
    assert model.predict(X, verbose=0).shape == (16, 2)


def test_single_input_model_takes_dicts_by_name() -> None:
    x = Input(4, name="features")
    model = Model(x, Dense(2, name="logits")(x))
    model.compile({"name": "adam", "lr": 0.05}, "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    X, y = _blobs()
    h = model.fit({"features": X}, {"logits": y}, epochs=5, verbose=0)
    assert h.history["accuracy"][-1] > 0.9
    np.testing.assert_array_equal(model.predict({"features": X}, verbose=0),
                                  model.predict(X, verbose=0))
    with pytest.raises(ValueError, match=r"missing \['features'\]"):
        model.predict({"x": X}, verbose=0)


def test_output_that_also_feeds_another_layer_keeps_its_activation() -> None:
    x = Input(4)
    probs = Dense(2, activation="softmax", name="probs")(x)
    refined = Dense(2, name="refined")(probs)  # uses the probabilities, not the logits
    model = Model(x, [probs, refined])
    model.compile("adam", loss=["sparse_categorical_crossentropy", "mse"])
    first = model._multi_spec[0].spec  # the loss is on the probabilities other layers use
    assert first.head is None and not first.from_logits
    assert "on probabilities" in first.describe()
    X, y = _blobs(32)
    model.fit(X, [y, np.zeros((32, 2), np.float32)], epochs=1, verbose=0)
    p, _ = model.predict(X, verbose=0)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)


def test_two_inputs_one_output_predict_classes() -> None:
    a, b = Input(4, name="a"), Input(3, name="b")
    model = Model([a, b], Dense(2)(Concatenate()([a, b])))
    model.compile({"name": "adam", "lr": 0.05}, "sparse_categorical_crossentropy")
    X, Y = _two_data(64)
    h = model.fit(X, Y[0], epochs=8, verbose=0)
    assert set(h.history) == {"loss", "lr"}
    assert (model.predict_classes(X, verbose=0) == Y[0]).mean() > 0.9
    with pytest.raises(ValueError, match="several outputs"):
        _two_in_two_out().predict_classes(X, verbose=0)


def test_multi_io_fit_and_evaluate_from_loaders() -> None:
    from deepgrad.data import ArrayDataset, DataLoader

    model = _two_in_two_out()
    model.compile({"name": "adam", "lr": 0.01},
                  loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"})
    X, Y = _two_data()
    flat = DataLoader(ArrayDataset(X[0], X[1], Y[0], Y[1]), batch_size=16, shuffle=True,
                      seed=0)  # the inputs' then the outputs' arrays
    pairs = [({"a": X[0][i:i + 32], "b": X[1][i:i + 32]}, [Y[0][i:i + 32], Y[1][i:i + 32]])
             for i in range(0, 96, 32)]
    h = model.fit(flat, epochs=6, verbose=0, validation_data=pairs)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert {"val_cls_loss", "val_reg_loss"} <= set(h.history)
    by_arrays = model.evaluate(X, Y, verbose=0)
    by_batches = model.evaluate(pairs, verbose=0)
    for k in by_arrays:
        np.testing.assert_allclose(by_batches[k], by_arrays[k], rtol=1e-5)
    h = model.fit(flat, epochs=2, steps_per_epoch=3, verbose=0)
    assert len(h.history["loss"]) == 2
    with pytest.raises(ValueError, match=r"batch 1\) x\['b'\]: examples of shape"):
        model.fit([((X[0], X[0]), Y)], verbose=0)
    with pytest.raises(ValueError, match="validation_split needs arrays"):
        model.fit(flat, validation_split=0.2, verbose=0)

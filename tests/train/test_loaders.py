"""fit / evaluate / predict on a DataLoader or any iterable of (x, y) batches (Keras's
datasets), with each batch checked as arrays are."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import callbacks as cb
from deepgrad import nn
from deepgrad.data import ArrayDataset, Compose, DataLoader, RandomCrop, RandomHorizontalFlip

RNG = np.random.default_rng(0)
X = RNG.standard_normal((96, 4)).astype(np.float32)
Y = (X[:, 0] - X[:, 1] > 0).astype(int)


def _model(lazy=False):
    first = nn.Dense(8, activation="relu", rng=0) if lazy else nn.Linear(4, 8, rng=0)
    m = nn.Sequential(first, nn.Linear(8, 2, rng=1))
    return m.compile({"name": "adam", "lr": 0.05}, "sparse_categorical_crossentropy",
                     metrics=["accuracy"])


class Params(cb.Callback):
    def on_train_begin(self, logs=None):
        self.seen = dict(self.params)


def test_fit_evaluate_predict_on_a_dataloader_match_arrays():
    loader = DataLoader(ArrayDataset(X, Y), batch_size=16)
    a, b = _model(), _model()
    ha = a.fit(X, Y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    params = Params()
    hb = b.fit(loader, epochs=3, callbacks=[params], verbose=0,
               validation_data=DataLoader((X[:40], Y[:40]), batch_size=7))
    np.testing.assert_allclose(hb.history["loss"], ha.history["loss"], rtol=1e-6)
    assert params.seen["steps"] == len(loader) == 6 and len(hb.batch_losses) == 18
    assert "val_accuracy" in hb.history
    ev = b.evaluate(loader)
    assert ev == pytest.approx(b.evaluate(X, Y))
    np.testing.assert_allclose(b.predict(loader), b.predict(X), rtol=1e-6)
    # predict takes batches of x, (x,) or (x, y)
    np.testing.assert_allclose(b.predict([(X[:50],), (X[50:],)]), b.predict(X), rtol=1e-6)
    np.testing.assert_allclose(b.predict(iter([X[:50], X[50:]])), b.predict(X), rtol=1e-6)


def test_list_of_batches_and_lazy_layers_built_from_the_first_batch():
    batches = [(X[i:i + 32], Y[i:i + 32]) for i in range(0, 96, 32)]
    model = _model(lazy=True)
    h = model.fit(batches, epochs=4, verbose=0)  # a list is iterated again each epoch
    assert len(h.batch_losses) == 12 and h.history["loss"][-1] < h.history["loss"][0]


def test_one_shot_generator_needs_steps_per_epoch():
    def gen():
        for i in range(0, 96, 32):
            yield X[i:i + 32], Y[i:i + 32]

    model = _model()
    assert len(model.fit(gen(), epochs=1, verbose=0).batch_losses) == 3
    with pytest.raises(ValueError, match="one-shot iterator .* steps_per_epoch"):
        model.fit(gen(), epochs=2, verbose=0)

    def endless():
        while True:
            yield from gen()

    h = model.fit(endless(), epochs=3, steps_per_epoch=2, verbose=0)
    assert len(h.batch_losses) == 6
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(gen(), epochs=3, steps_per_epoch=2, verbose=0)
    assert len(h.epoch) == 2 and len(h.batch_losses) == 3


def test_steps_per_epoch_continues_through_a_dataloader():
    loader = DataLoader((X, Y), batch_size=32)  # 3 batches a pass
    model = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = model.fit(loader, epochs=4, steps_per_epoch=2, verbose=0)
    assert len(h.batch_losses) == 8 and len(h.epoch) == 4
    h = model.fit(X, Y, batch_size=32, epochs=2, steps_per_epoch=2, verbose=0)  # arrays too
    assert len(h.batch_losses) == 4


def test_loader_errors_name_the_batch():
    model = _model()
    with pytest.raises(ValueError, match="y must be None when x is a DataLoader"):
        model.fit(DataLoader((X, Y)), Y, verbose=0)
    with pytest.raises(ValueError, match="validation_split needs arrays"):
        model.fit(DataLoader((X, Y)), validation_split=0.2, verbose=0)
    bad = Y.copy()
    bad[70] = 2
    with pytest.raises(ValueError, match=r"y \(batch 3\): label 2 is outside \[0, 2\)"):
        model.fit(DataLoader((X, bad), batch_size=32), verbose=0)
    Xn = X.copy()
    Xn[40, 1] = np.nan
    with pytest.raises(ValueError, match=r"x \(batch 2\): contains 1 NaN.*\(8, 1\)"):
        model.evaluate(DataLoader((Xn, Y), batch_size=32))
    with pytest.raises(ValueError, match=r"x \(batch 1\) \(shape \(32, 3\)\) doesn't fit"):
        model.fit(DataLoader((X[:, :3], Y), batch_size=32), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data y \(batch 1\): label 5"):
        model.fit(X, Y, validation_data=[(X[:8], np.full(8, 5))], verbose=0)
    with pytest.raises(ValueError, match="batch 1 has 3 fields.*sample weights"):
        model.fit([(X, Y, np.ones(96))], verbose=0)
    with pytest.raises(ValueError, match="x yielded no batches"):
        model.fit(iter([]), verbose=0)


def test_fit_with_augmentation_through_the_loader():
    imgs = RNG.random((40, 1, 8, 8)).astype(np.float32)
    labels = (imgs[:, 0, :, :4].mean((1, 2)) > imgs[:, 0, :, 4:].mean((1, 2))).astype(int)
    seen = []

    def spy(x):
        seen.append(x.shape)
        return x

    aug = Compose([RandomHorizontalFlip(seed=0), RandomCrop(8, padding=1, seed=1), spy])
    loader = DataLoader(ArrayDataset(imgs, labels), batch_size=16, shuffle=True, seed=0,
                        transform=aug)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2, rng=0))
    model.compile("adam", "sparse_categorical_crossentropy")
    h = model.fit(loader, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3
    assert seen.count((16, 1, 8, 8)) == 6 and seen.count((8, 1, 8, 8)) == 3
    assert np.isfinite(model.evaluate(imgs, labels)["loss"])


def test_array_path_slices_without_copies(monkeypatch):
    # the arrays are checked once, then every batch is a view of them
    model = _model()
    seen = []
    orig = dg.train.trainer._train_step

    def spy(model, spec, xt, yt, epoch, b):
        seen.append(xt.data)
        return orig(model, spec, xt, yt, epoch, b)

    monkeypatch.setattr(dg.train.trainer, "_train_step", spy)
    model.fit(X, Y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert len(seen) == 3 and all(np.shares_memory(s, X) for s in seen)

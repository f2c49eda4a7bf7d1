"""Callbacks: early stopping, checkpoints, schedules, CSV, NaN, progress display."""

from __future__ import annotations

import io

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import callbacks as cb
from deepgrad import nn


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    return X, y


def _model():
    m = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 1, rng=1))
    m.compile({"name": "adam", "lr": 0.05}, "binary_crossentropy", metrics=["accuracy"])
    return m


class Scripted(cb.Callback):
    """Replaces val_loss with a scripted sequence, and records the weights each epoch."""

    def __init__(self, seq):
        super().__init__()
        self.seq = seq
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.seq[epoch]
        self.weights.append(self.model.state_dict())


def test_early_stopping_restores_best_weights():
    X, y = _data()
    model = _model()
    script = Scripted([1.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99])
    es = cb.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = model.fit(X, y, epochs=7, batch_size=16, callbacks=[script, es], verbose=0)
    assert len(h.history["loss"]) == 4  # stopped after 2 epochs without improvement
    assert es.stopped_epoch == 3 and es.best_epoch == 1
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, script.weights[1][k])


def test_early_stopping_min_delta_and_mode():
    es = cb.EarlyStopping(monitor="val_accuracy", patience=0, min_delta=0.1)
    es.set_model(_model())
    es.on_train_begin()
    es.on_epoch_end(0, {"val_accuracy": 0.5})
    es.on_epoch_end(1, {"val_accuracy": 0.55})  # not > 0.5 + 0.1
    assert es.model.stop_training


def test_model_checkpoint_writes_only_on_improvement(tmp_path):
    X, y = _data()
    model = _model()
    path = tmp_path / "best-{epoch}.dg"
    ck = cb.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    script = Scripted([1.0, 0.5, 0.7, 0.4, 0.6])
    model.fit(X, y, epochs=5, callbacks=[script, ck], verbose=0)
    assert [p.rsplit("-", 1)[1] for p in ck.saved] == ["1.dg", "2.dg", "4.dg"]
    loaded = dg.io.load_checkpoint(ck.saved[-1])
    for k, v in loaded["model"].state_dict().items():
        np.testing.assert_array_equal(v, script.weights[3][k])
    assert loaded["epoch"] == 4 and loaded["optimizer_state"] is not None


def test_learning_rate_scheduler_function_and_object():
    X, y = _data()
    model = _model()
    h = model.fit(X, y, epochs=3, callbacks=[cb.LearningRateScheduler(lambda e, lr: 0.1 / (e + 1))],
                  verbose=0)
    np.testing.assert_allclose(h.history["lr"], [0.1, 0.05, 0.1 / 3])
    model = _model()
    model.fit(X, y, epochs=1, verbose=0)
    sched = dg.optim.lr_scheduler.StepLR(model.optimizer, step_size=1, gamma=0.5)
    h = model.fit(X, y, epochs=3, callbacks=[cb.LearningRateScheduler(sched)], verbose=0)
    # history records the rate each epoch trained with; the scheduler steps at epoch end
    np.testing.assert_allclose(h.history["lr"], [0.05, 0.025, 0.0125])
    assert model.optimizer.param_groups[0]["lr"] == 0.00625


def test_reduce_lr_on_plateau_callback():
    X, y = _data()
    model = _model()
    script = Scripted([1.0, 1.0, 1.0, 1.0, 1.0])
    r = cb.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    h = model.fit(X, y, epochs=5, callbacks=[script, r], verbose=0)
    assert model.optimizer.param_groups[0]["lr"] < 0.05
    assert h.history["lr"][0] == 0.05


def test_csv_logger(tmp_path):
    X, y = _data()
    path = tmp_path / "log.csv"
    _model().fit(X, y, epochs=2, callbacks=[cb.CSVLogger(path)], verbose=0)
    lines = path.read_text().strip().splitlines()
    assert lines[0] == "epoch,accuracy,loss,lr" and len(lines) == 3


def test_terminate_on_nan_names_epoch_and_batch():
    t = cb.TerminateOnNaN()
    t.on_epoch_begin(2)
    with pytest.raises(cb.NonFiniteLossError, match="epoch 3, batch 5"):
        t.on_train_batch_end(4, {"loss": float("nan")})


def test_progress_non_terminal_one_line_per_epoch():
    X, y = _data()
    out = io.StringIO()
    _model().fit(X, y, epochs=2, batch_size=16,
                 callbacks=[cb.ProgressBar(1, stream=out, force_terminal=False)], verbose=0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2") and "loss:" in lines[0]
    assert "samples/s" in lines[0] and "accuracy:" in lines[1]


def test_progress_terminal_bar():
    X, y = _data()
    out = io.StringIO()
    _model().fit(X, y, epochs=1, batch_size=16,
                 callbacks=[cb.ProgressBar(1, stream=out, force_terminal=True)], verbose=0)
    text = out.getvalue()
    assert "Epoch 1/1" in text and "5/5" in text and "loss" in text and "\r" in text


def test_verbose_zero_prints_nothing(capsys):
    X, y = _data()
    _model().fit(X, y, epochs=2, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_one_off_terminal_prints_lines(capsys):
    X, y = _data()
    _model().fit(X, y, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 2

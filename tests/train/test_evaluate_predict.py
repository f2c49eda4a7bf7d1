"""evaluate / predict take Keras's verbose, batch_size=None and steps."""

from __future__ import annotations

import io

import numpy as np
import pytest

from deepgrad import nn
from deepgrad.callbacks import LoopProgress
from deepgrad.data import DataLoader

RNG = np.random.default_rng(1)
X = RNG.standard_normal((300, 3)).astype(np.float32)
Y = (X[:, 0] > 0).astype(int)


def _model():
    m = nn.Sequential(nn.Linear(3, 1, rng=0))
    return m.compile("adam", "binary_crossentropy", metrics=["accuracy"])


def test_default_verbose_prints_nothing_off_a_terminal(capsys):
    model = _model()
    model.evaluate(X, Y)
    model.predict(X)
    model.predict_classes(X)
    model.evaluate(X, Y, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_one_line_off_a_terminal(capsys, verbose):
    model = _model()
    res = model.evaluate(X, Y, verbose=verbose)
    p = model.predict(X, verbose=verbose)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and p.shape == (300, 1)
    assert out[0].startswith("evaluate: 300 samples in 2 batches") and \
        f"loss: {res['loss']:.4f}" in out[0] and "accuracy:" in out[0]
    assert out[1].startswith("predict: 300 samples in 2 batches")


def test_progress_bar_on_a_terminal():
    out = io.StringIO()
    bar = LoopProgress("auto", "evaluate", total=3, stream=out, force_terminal=True)
    for _ in range(3):
        bar.update(10, {"loss": 0.5})
    bar.close({"loss": 0.5, "accuracy": 1.0})
    text = out.getvalue()
    assert "evaluate" in text and "3/3" in text and "accuracy: 1.0000" in text
    quiet = io.StringIO()
    bar = LoopProgress("auto", "evaluate", total=3, stream=quiet, force_terminal=False)
    bar.update(10)
    bar.close({"loss": 0.5})
    assert quiet.getvalue() == ""


def test_batch_size_none_and_steps():
    model = _model()
    full = model.evaluate(X, Y, batch_size=None)
    assert full == pytest.approx(model.evaluate(X, Y, batch_size=7))
    assert model.predict(X, batch_size=None).shape == (300, 1)
    part = model.evaluate(X, Y, batch_size=100, steps=1)
    assert part == pytest.approx(model.evaluate(X[:100], Y[:100]))
    assert model.predict(X, batch_size=50, steps=2).shape == (100, 1)
    assert model.predict(DataLoader((X, Y), batch_size=40), steps=3).shape == (120, 1)
    assert model.predict_classes(X, None, 0.5, 0, 1).shape == (256,)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        model.evaluate(X, Y, steps=0)
    with pytest.raises(ValueError, match="verbose must be 0, 1, 2 or 'auto'"):
        model.predict(X, verbose=3)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.evaluate(X, Y, batch_size=0)

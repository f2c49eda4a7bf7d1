"""Freezing for fine-tuning: Keras's ``trainable = False`` and PyTorch's
``requires_grad_(False)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import Input, Model
from deepgrad.nn import BatchNorm1d, Dense, Linear, ReLU, Sequential


@pytest.fixture(autouse=True)
def _seed() -> None:
    dg.manual_seed(0)


def _data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4)).astype(np.float32) * 3 + 1
    return X, (X[:, 0] > 1).astype(np.int64)


def _transfer() -> tuple[Model, Model]:
    """A pretrained-style base (Dense + BN) and a model with a new head on top."""
    x = Input(4)
    h = BatchNorm1d(8, name="bn")(Dense(8, activation="relu", name="feat")(x))
    base = Model(x, h, name="base")
    z = Input(4)
    full = Model(z, Dense(2, name="head")(base(z)), name="full")
    return base, full


def _snapshot(m: dg.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in m.state_dict().items()}


def test_trainable_false_freezes_weights_and_bn_statistics() -> None:
    base, full = _transfer()
    base.trainable = False
    before = _snapshot(full)
    full.compile("sgd", "sparse_categorical_crossentropy")
    X, y = _data()
    full.fit(X, y, epochs=2, batch_size=16, verbose=0)
    after = full.state_dict()
    for k in before:
        if k.startswith("base."):  # weights AND running statistics: bitwise unchanged
            np.testing.assert_array_equal(after[k], before[k], err_msg=k)
        else:
            assert not np.array_equal(after[k], before[k]), k
    assert base.get_layer("feat").weight.grad is None
    assert full.training and not base.get_layer("bn").training  # mode restored by fit


def test_frozen_layers_stay_in_inference_mode_in_train() -> None:
    base, full = _transfer()
    base.trainable = False
    full.train()
    assert full.training and not base.get_layer("bn").training
    assert base.get_layer("feat").training  # only layers with running statistics
    base.trainable = True
    full.train()
    assert base.get_layer("bn").training


def test_requires_grad_false_is_pytorch_style() -> None:
    net = Sequential(Linear(4, 8), BatchNorm1d(8), ReLU(), Linear(8, 2))
    net[0].requires_grad_(False)
    net[1].requires_grad_(False)
    before = _snapshot(net)
    net.compile("sgd", "sparse_categorical_crossentropy")
    X, y = _data()
    net.fit(X, y, epochs=1, verbose=0)
    after = net.state_dict()
    np.testing.assert_array_equal(after["0.weight"], before["0.weight"])
    np.testing.assert_array_equal(after["1.weight"], before["1.weight"])
    assert not np.array_equal(after["3.weight"], before["3.weight"])
    # PyTorch's rule: batch norm still updates its statistics unless put in eval mode
    assert not np.array_equal(after["1.running_mean"], before["1.running_mean"])
    net[1].eval()
    before = _snapshot(net)
    for _ in range(2):  # a manual loop keeps the mode (fit calls train())
        loss = dg.losses.cross_entropy(net(dg.Tensor(X)), y)
        net.zero_grad()
        loss.backward()
    np.testing.assert_array_equal(net.state_dict()["1.running_mean"], before["1.running_mean"])


def test_backward_does_not_descend_into_a_frozen_prefix() -> None:
    base, full = _transfer()
    base.trainable = False
    X, _ = _data(8)
    feats = base(dg.Tensor(X))
    assert not feats.requires_grad and feats._creator is None  # nothing recorded
    out = full(dg.Tensor(X))
    out.sum().backward()
    assert all(p.grad is None for p in base.parameters())
    assert full.get_layer("head").weight.grad is not None


def test_optimizer_gets_only_trainable_parameters_and_unfreezing_works() -> None:
    base, full = _transfer()
    base.trainable = False
    full.compile("sgd", "sparse_categorical_crossentropy")
    X, y = _data()
    full.fit(X, y, epochs=1, verbose=0)
    params = [p for g in full.optimizer.param_groups for p in g["params"]]
    assert len(params) == 2  # the head's weight and bias
    frozen = base.get_layer("feat").weight.data.copy()
    base.trainable = True  # phase 2 of Keras's fine-tuning: unfreeze, re-compile
    full.compile("sgd", "sparse_categorical_crossentropy")
    full.fit(X, y, epochs=1, verbose=0)
    assert not np.array_equal(base.get_layer("feat").weight.data, frozen)
    assert len([p for g in full.optimizer.param_groups for p in g["params"]]) == 6


def test_summary_counts_frozen_as_non_trainable() -> None:
    base, full = _transfer()
    base.trainable = False
    text = full.summary(print_fn=None)
    frozen = 4 * 8 + 8 + 8 + 8
    assert f"Total params: {frozen + 18:,}" in text
    assert "Trainable params: 18" in text and f"Non-trainable params: {frozen}" in text
    seq = Sequential(Linear(4, 3), Linear(3, 1))
    seq[0].requires_grad_(False)
    assert "Non-trainable params: 15" in seq.summary((4,), print_fn=None)


def test_freezing_survives_save_and_load(tmp_path: Path) -> None:
    base, full = _transfer()
    base.trainable = False
    dg.save(full, tmp_path / "f.dg")
    loaded = dg.load(tmp_path / "f.dg")
    lb = loaded.get_layer("base")
    assert not lb.trainable and not lb.get_layer("bn").trainable
    assert not any(p.requires_grad for p in lb.parameters())
    assert all(p.requires_grad for p in loaded.get_layer("head").parameters())
    seq = Sequential(Linear(4, 3), Linear(3, 1))
    seq[0].requires_grad_(False)
    dg.save(seq, tmp_path / "s.dg")
    s2 = dg.load(tmp_path / "s.dg")
    assert [p.requires_grad for p in s2.parameters()] == [False, False, True, True]


def test_optimizer_skips_a_frozen_parameter_with_a_stale_gradient() -> None:
    lin = Linear(3, 2)
    opt = dg.optim.SGD(lin.parameters(), lr=0.1)
    lin(dg.Tensor(np.ones((2, 3), np.float32))).sum().backward()
    lin.weight.requires_grad_(False)  # frozen after backward: its grad is stale
    w, b = lin.weight.data.copy(), lin.bias.data.copy()
    opt.step()
    np.testing.assert_array_equal(lin.weight.data, w)
    assert not np.array_equal(lin.bias.data, b)

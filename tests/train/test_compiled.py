"""The compiled training step (deepgrad.compile_step, compile(jit=True)): the eager loop's
numbers bit for bit, nothing allocated after a shape's first step, and a correct fallback."""

from __future__ import annotations

import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import _accel, nn
from deepgrad.losses import cross_entropy
from deepgrad.train.compile import forward_logits
from deepgrad.train.compiled import CompiledStep, NonFiniteLoss


def _data(n: int = 300, d: int = 20, c: int = 5, dtype: Any = np.float32, seed: int = 0,
          shape: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, *(shape or (d,)))).astype(dtype)
    return X, rng.integers(0, c, n)


def _mlp(seed: int = 0, d: int = 20, c: int = 5) -> nn.Module:
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(d, 64, init="he_uniform", rng=rng), nn.ReLU(),
                         nn.Linear(64, 32, rng=rng), nn.ReLU(), nn.Linear(32, c, rng=rng))


def _every_layer(seed: int = 0, d: int = 20, c: int = 5) -> nn.Module:
    """Each lowered kind: Flatten, Dense activations, Tanh/Sigmoid/Identity, Dropout (its
    own seeded generator), a nested Sequential and a final Softmax fused into the loss."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Dense(48, activation="relu", input_dim=d, rng=seed),
        nn.Dropout(0.25, rng=np.random.default_rng(seed + 7)),
        nn.Sequential(nn.Linear(48, 32, rng=rng), nn.Tanh(), nn.Identity()),
        nn.Dense(24, activation="sigmoid", input_dim=32, rng=seed + 1),
        nn.Linear(24, c, rng=rng), nn.Softmax())


def _eager_step(model: nn.Module, opt: Any) -> Callable[[np.ndarray, np.ndarray], float]:
    head = "softmax" if isinstance(model[len(model) - 1], nn.Softmax) else None

    def step(x: np.ndarray, y: np.ndarray) -> float:
        loss = cross_entropy(forward_logits(model, dg.tensor(x), head), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    return step


def _states_equal(a: nn.Module, b: nn.Module) -> None:
    for (k, u), v in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert np.array_equal(u, v), f"{k}: largest difference {np.abs(u - v).max()}"


OPTIMIZERS = {
    "adam": lambda ps: dg.optim.Adam(ps, lr=3e-3),
    "adam_unfused": lambda ps: dg.optim.Adam(ps, lr=3e-3, fused=False),
    "sgd_momentum": lambda ps: dg.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                            weight_decay=1e-4),
    "rmsprop": lambda ps: dg.optim.RMSprop(ps, lr=1e-3),
}


@pytest.mark.parametrize("build", [_mlp, _every_layer], ids=["mlp", "every_layer"])
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_to_the_eager_loop_over_50_steps(build: Any, opt_name: str,
                                                       dtype: Any) -> None:
    with dg.default_dtype(dtype):
        a, b = build(), build()
    X, Y = _data(dtype=dtype)
    oa, ob = OPTIMIZERS[opt_name](a.parameters()), OPTIMIZERS[opt_name](b.parameters())
    eager, step = _eager_step(a, oa), dg.compile_step(b, ob)
    assert step.lowered and step.reason is None
    n = 0
    while n < 50:
        for i in range(0, len(X), 32):  # 300 = 9 x 32 + 12: two batch shapes
            assert eager(X[i:i + 32], Y[i:i + 32]) == step(X[i:i + 32], Y[i:i + 32])
            assert step.compiled, step.reason
            n += 1
    _states_equal(a, b)
    assert len(step._plans) == 2


def test_frozen_layers_keep_their_weights_and_match_eager() -> None:
    a, b = _mlp(), _mlp()
    for m in (a, b):
        m[0].requires_grad_(False)
    X, Y = _data()
    oa = dg.optim.Adam([p for p in a.parameters() if p.requires_grad], lr=1e-2)
    ob = dg.optim.Adam([p for p in b.parameters() if p.requires_grad], lr=1e-2)
    before = b[0].weight.data.copy()
    eager, step = _eager_step(a, oa), dg.compile_step(b, ob)
    for i in range(0, 256, 32):
        assert eager(X[i:i + 32], Y[i:i + 32]) == step(X[i:i + 32], Y[i:i + 32])
    _states_equal(a, b)
    assert np.array_equal(b[0].weight.data, before) and b[0].weight.grad is None
    for m in (a, b):  # unfreezing after some steps: a new plan, still the eager numbers
        m[0].requires_grad_(True)
    oa.add_param_group({"params": list(a[0].parameters())})
    ob.add_param_group({"params": list(b[0].parameters())})
    for i in range(0, 256, 32):
        assert eager(X[i:i + 32], Y[i:i + 32]) == step(X[i:i + 32], Y[i:i + 32])
    assert step.compiled
    _states_equal(a, b)
    assert not np.array_equal(b[0].weight.data, before)


@pytest.mark.skipif(not _accel.available(), reason="numba is not installed")
def test_no_array_is_allocated_after_the_first_step() -> None:
    model = _every_layer(d=784, c=10)
    X, Y = _data(n=256, d=784, c=10)
    step = dg.compile_step(model, dg.optim.Adam(model.parameters()))
    for _ in range(3):  # the first step allocates the buffers (and numba compiles)
        step(X[:128], Y[:128])
    assert step.compiled
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(5):
            step(X[128:], Y[128:])
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    numpy_domain = tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)
    grown = [s for s in after.filter_traces([numpy_domain]).compare_to(
        before.filter_traces([numpy_domain]), "lineno") if s.size_diff > 0 or s.count_diff > 0]
    assert not grown, grown[:5]
    # and the eager step does allocate (so the check above can fail)
    eager = _eager_step(model, step.optimizer)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        eager(X[128:], Y[128:])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak > 128 * 48 * 4


def test_a_model_that_does_not_lower_runs_the_eager_step() -> None:
    conv = nn.Sequential(nn.Conv2d(1, 4, 3, rng=0), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3, rng=1))
    twin = nn.Sequential(nn.Conv2d(1, 4, 3, rng=0), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3, rng=1))
    X, Y = _data(n=64, c=3, shape=(1, 6, 6))
    step = dg.compile_step(conv, dg.optim.Adam(conv.parameters()))
    eager = _eager_step(twin, dg.optim.Adam(twin.parameters()))
    assert not step.lowered and "Conv2d has no compiled form" in step.reason
    for i in range(0, 64, 16):
        assert step(X[i:i + 16], Y[i:i + 16]) == eager(X[i:i + 16], Y[i:i + 16])
        assert not step.compiled
    _states_equal(conv, twin)
    assert "eager" in repr(step)


class _Custom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(20, 5, rng=0)

    def forward(self, x: dg.Tensor) -> dg.Tensor:
        return self.fc(x) * 2


@pytest.mark.parametrize("model, why", [
    (_Custom(), "_Custom is not a Sequential"),
    (nn.Sequential(nn.Linear(20, 5, rng=0), nn.LeakyReLU()), "LeakyReLU has no compiled"),
    (nn.Sequential(nn.Dense(5, activation="elu", input_dim=20)), "activation 'elu'"),
    (nn.Sequential(nn.Dense(5)), "not built yet"),
    (nn.Sequential(nn.ReLU()), "no Linear/Dense layer"),
])
def test_the_reason_names_what_does_not_lower(model: nn.Module, why: str) -> None:
    step = dg.compile_step(model, dg.optim.SGD(list(model.parameters()) or
                                               [nn.Parameter(np.zeros(1))], lr=0.1))
    assert not step.lowered and why in step.reason


def test_batches_of_another_kind_fall_back_per_call() -> None:
    a, b = _mlp(), _mlp()
    X, Y = _data()
    eager = _eager_step(a, dg.optim.SGD(a.parameters(), lr=0.1))
    step = dg.compile_step(b, dg.optim.SGD(b.parameters(), lr=0.1))
    assert step(X[:32], Y[:32]) == eager(X[:32], Y[:32]) and step.compiled
    # float64 input to a float32 model: whatever the eager engine does, then compiled again
    x64 = X[32:64].astype(np.float64)
    assert step(x64, Y[32:64]) == eager(x64, Y[32:64])
    assert not step.compiled and "dtype" in step.reason
    assert step(X[64:96], Y[64:96]) == eager(X[64:96], Y[64:96]) and step.compiled
    # wrong feature count: the eager layer's own error
    with pytest.raises(ValueError, match="20"):
        step(np.zeros((8, 7), np.float32), Y[:8])
    assert not step.compiled and "expects 20 features" in step.reason
    _states_equal(a, b)


def test_bad_labels_raise_before_any_update() -> None:
    model = _mlp()
    step = dg.compile_step(model, dg.optim.SGD(model.parameters(), lr=0.1))
    X, Y = _data(n=32)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="label 5 is outside"):
        step(X, np.where(np.arange(32) == 3, 5, Y))
    with pytest.raises(ValueError, match="label -1 is outside"):
        step(X, np.where(np.arange(32) == 3, -1, Y))
    for k, v in model.state_dict().items():
        assert np.array_equal(v, before[k])


def test_a_non_finite_loss_raises_and_updates_nothing() -> None:
    model = _mlp()
    step = dg.compile_step(model, dg.optim.SGD(model.parameters(), lr=0.1))
    X, Y = _data(n=32)
    X[4, 2] = np.nan
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(NonFiniteLoss) as e:
        step(X, Y)
    assert np.isnan(e.value.value)
    for k, v in model.state_dict().items():
        assert np.array_equal(v, before[k])


def test_dropout_in_eval_mode_is_the_identity_as_in_eager() -> None:
    a, b = _every_layer(), _every_layer()
    a.eval()
    b.eval()
    X, Y = _data(n=64)
    eager = _eager_step(a, dg.optim.SGD(a.parameters(), lr=0.1))
    step = dg.compile_step(b, dg.optim.SGD(b.parameters(), lr=0.1))
    for i in range(0, 64, 16):
        assert step(X[i:i + 16], Y[i:i + 16]) == eager(X[i:i + 16], Y[i:i + 16])
    _states_equal(a, b)


@pytest.mark.parametrize("metrics", [None, ["accuracy"]])
def test_fit_with_jit_gives_the_same_history_and_weights(metrics: Any,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    calls = []
    real = CompiledStep._compiled
    monkeypatch.setattr(CompiledStep, "_compiled",
                        lambda self, *a: calls.append(1) or real(self, *a))
    X, Y = _data(n=250)
    runs = []
    for jit in (False, True):
        model = _mlp()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=metrics, jit=jit)
        hist = model.fit(X, Y, epochs=3, batch_size=32, seed=0, verbose=0,
                         validation_data=(X[:50], Y[:50]))
        runs.append((model, hist.history))
    (a, ha), (b, hb) = runs
    assert len(calls) == 3 * 8  # every step of the jit run was compiled
    assert ha == hb
    _states_equal(a, b)


def test_fit_with_jit_warns_when_the_model_trains_eagerly() -> None:
    model = nn.Sequential(nn.Linear(20, 8, rng=0), nn.ELU(), nn.Linear(8, 5, rng=1))
    model.compile(optimizer="sgd", loss="cross_entropy", jit=True)
    X, Y = _data(n=64)
    with pytest.warns(UserWarning, match="trains eagerly: layer ELU"):
        model.fit(X, Y, epochs=1, batch_size=32, verbose=0)


def test_fit_with_jit_reports_divergence_with_epoch_and_batch() -> None:
    model = _mlp()
    model.compile(optimizer={"name": "sgd", "lr": 1e6}, loss="cross_entropy", jit=True)
    X, Y = _data(n=256)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the model lowers: no warning
        with pytest.raises(dg.callbacks.NonFiniteLossError, match="epoch"):
            model.fit(X * 1e3, Y, epochs=5, batch_size=32, verbose=0)


def test_compile_with_jit_warns_for_a_loss_it_does_not_compile() -> None:
    model = _mlp(c=1)
    with pytest.warns(UserWarning, match="run eagerly .loss: mse"):
        model.compile(optimizer="sgd", loss="mse", jit=True)
    assert not model._jit

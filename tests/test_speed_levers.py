"""Guards of the speed levers (structural, not timing-based).

* A float32 training step (MLP and CNN, cross-entropy, Adam) keeps everything float32:
  every op output, every array an op saves for backward, every gradient an op returns,
  the parameters' gradients and the optimizer's state. A float64 temporary that escapes
  into any of these (a NumPy-2 float64 scalar, an ``np.zeros`` without a dtype) fails.
* After its first step, Adam allocates no new state or scratch arrays.
* ``predict``, ``evaluate`` and a forward under ``no_grad`` build no graph: no op records
  inputs, no output gets a creator, and no op keeps arrays for a backward.
* With numba installed, a training step takes the compiled Adam, ReLU and 2x2 max-pool
  backward kernels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import _accel, nn
from deepgrad.autograd.function import Function
from deepgrad.losses import cross_entropy


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(12, 16, rng=0), nn.ReLU(), nn.Linear(16, 8, rng=1),
                         nn.ReLU(), nn.Linear(8, 3, rng=2))


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1, rng=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(6 * 2 * 2, 8, rng=2), nn.ReLU(), nn.Linear(8, 3, rng=3))


def _batch(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = (5, 12) if kind == "mlp" else (5, 1, 8, 8)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 3, 5)


def _arrays(obj: Any) -> list[np.ndarray]:
    """The NumPy arrays held by an op (directly, or in a tuple/list attribute)."""
    found = []
    for v in vars(obj).values():
        items = v if isinstance(v, (tuple, list)) else (v,)
        found += [a for a in items if isinstance(a, np.ndarray)]
    return found


class Spy:
    """Wraps ``Function.__call__``: records each op and checks its arrays' dtypes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ops: list[Function] = []
        self.outputs: list[Any] = []
        self.float64: list[str] = []
        original = Function.__call__
        spy = self

        def call(f: Function, *inputs: Any) -> Any:
            out = original(f, *inputs)
            spy.ops.append(f)
            outs = out if isinstance(out, tuple) else (out,)
            spy.outputs += list(outs)
            for o in outs:
                spy._check(f, "output", o.data)
            for a in _arrays(f):
                spy._check(f, "saved array", a)
            if f.requires_grad:
                spy._wrap_backward(f)
            return out

        monkeypatch.setattr(Function, "__call__", call)

    def _check(self, f: Function, what: str, a: Any) -> None:
        if getattr(a, "dtype", None) == np.float64:
            self.float64.append(f"{type(f).__name__} {what} {a.shape}")

    def _wrap_backward(self, f: Function) -> None:
        backward = f.backward

        def checked(*gys: Any) -> Any:
            gxs = backward(*gys)
            for g in gxs if isinstance(gxs, tuple) else (gxs,):
                if g is not None:
                    self._check(f, "gradient", g)
            return gxs

        f.backward = checked  # type: ignore[method-assign]


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_float32_training_step_has_no_float64(kind: str, monkeypatch: pytest.MonkeyPatch):
    model = _mlp() if kind == "mlp" else _cnn()
    opt = dg.optim.Adam(model.parameters(), lr=1e-3)
    X, y = _batch(kind)
    spy = Spy(monkeypatch)
    for _ in range(2):
        loss = cross_entropy(model(dg.tensor(X)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert spy.ops, "the spy saw no op"
    assert spy.float64 == []
    assert loss.dtype == np.float32
    for name, p in model.named_parameters():
        assert p.data.dtype == np.float32, name
        assert p.grad is not None and p.grad.dtype == np.float32, name
    for states in opt.state:
        for st in states:
            for key, v in st.items():
                for a in v if isinstance(v, list) else [v]:
                    if isinstance(a, np.ndarray):
                        assert a.dtype == np.float32, key


def test_adam_allocates_no_state_after_the_first_step():
    model = _mlp()
    opt = dg.optim.Adam(model.parameters(), lr=1e-3)
    X, y = _batch("mlp")

    def step() -> list[int]:
        loss = cross_entropy(model(dg.tensor(X)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return [id(a) for states in opt.state for st in states for v in st.values()
                for a in (v if isinstance(v, list) else [v]) if isinstance(a, np.ndarray)]

    first = step()
    assert first == step() == step()


# ops that still cache an array under no_grad (reported to the lead: ReLU and Softmax in
# deepgrad/autograd/ops/math.py keep their mask / output whether or not a graph is
# recorded; predict's softmax goes through Softmax)
_KNOWN_CACHES: set[str] = set()


def _assert_no_graph(spy: Spy, allow: set[str] = _KNOWN_CACHES) -> None:
    assert spy.ops, "the spy saw no op"
    recorded = [type(f).__name__ for f in spy.ops if f.requires_grad or "inputs" in vars(f)]
    assert recorded == []
    assert all(o._creator is None and not o.requires_grad for o in spy.outputs)
    kept = [(type(f).__name__, a.shape) for f in spy.ops for a in _arrays(f)
            if a.dtype.kind in "fb" and a.size > 1 and type(f).__name__ not in allow]
    assert kept == []  # no op cached activations for a backward that will never come


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_no_grad_forward_builds_no_graph(kind: str, monkeypatch: pytest.MonkeyPatch):
    model = _mlp() if kind == "mlp" else _cnn()
    X, _ = _batch(kind)
    model.eval()
    spy = Spy(monkeypatch)
    with dg.no_grad():
        model(dg.tensor(X))
    _assert_no_graph(spy)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_predict_and_evaluate_build_no_graph(kind: str, monkeypatch: pytest.MonkeyPatch):
    model = _mlp() if kind == "mlp" else _cnn()
    X, y = _batch(kind)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    spy = Spy(monkeypatch)
    p = model.predict(X)
    model.evaluate(X, y)
    assert p.dtype == np.float32
    _assert_no_graph(spy)


def test_no_op_caches_anything_under_no_grad(monkeypatch: pytest.MonkeyPatch):
    model = _cnn()
    X, _ = _batch("cnn")
    spy = Spy(monkeypatch)
    with dg.no_grad():
        model(dg.tensor(X))
    _assert_no_graph(spy, allow=set())



@pytest.mark.skipif(not _accel.available(), reason="numba is not installed")
def test_training_step_takes_the_compiled_kernels(monkeypatch: pytest.MonkeyPatch):
    """With numba installed, a float32 MLP step updates every parameter through the one-pass
    Adam kernel, all six in one group call, and runs ReLU through its kernels (nothing
    falls back to the ufuncs, e.g. because a gradient came out non-contiguous or in
    another dtype)."""
    calls: dict[str, int] = {"adam_step": 0, "adam_group_step": 0, "relu_forward": 0,
                             "relu_backward": 0}
    for name in calls:
        original = getattr(_accel, name)

        def counting(*a: Any, _f: Any = original, _n: str = name, **k: Any) -> Any:
            calls[_n] += len(a[0]) if _n == "adam_group_step" else 1
            return _f(*a, **k)

        monkeypatch.setattr(_accel, name, counting)
    model = nn.Sequential(nn.Linear(64, 128, rng=0), nn.ReLU(), nn.Linear(128, 32, rng=1),
                          nn.ReLU(), nn.Linear(32, 3, rng=2))
    opt = dg.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 64)).astype(np.float32), rng.integers(0, 3, 32)
    loss = cross_entropy(model(dg.tensor(X)), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert calls["adam_group_step"] == len(list(model.parameters())) == 6
    assert calls["adam_step"] == 0
    assert calls["relu_forward"] == calls["relu_backward"] == 1  # 32x128; 32x32 is too small


@pytest.mark.skipif(not _accel.available(), reason="numba is not installed")
def test_cnn_step_takes_the_compiled_maxpool_backward(monkeypatch: pytest.MonkeyPatch):
    calls = []
    original = _accel.maxpool2x2_backward
    monkeypatch.setattr(_accel, "maxpool2x2_backward",
                        lambda gy, idx: calls.append(gy.shape) or original(gy, idx))
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 16 * 16, 3, rng=1))
    X = np.random.default_rng(0).standard_normal((8, 1, 32, 32)).astype(np.float32)
    cross_entropy(model(dg.tensor(X)), np.arange(8) % 3).backward()
    assert calls == [(8, 4, 16, 16)]

"""Sequential and graph models run ReLU followed by max-pooling as max-pooling then ReLU:
the same values
and gradients bit for bit (relu(max) = max(relu); the gradient reaches the same element or
is zero), on a quarter of the data for 2x2 windows. Checked against the layers applied one
by one, which is what the fused order must equal."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import container


def _spy_relu(monkeypatch, *modules) -> list[tuple[int, ...]]:
    """The shapes the swapped ReLU runs on, recorded from ``modules``' ``relu``."""
    calls: list[tuple[int, ...]] = []
    for mod in modules:
        real = mod.relu
        monkeypatch.setattr(mod, "relu", lambda x, _r=real: (calls.append(x.shape), _r(x))[1])
    return calls


def _one_by_one(model: nn.Sequential, x: dg.Tensor) -> dg.Tensor:
    for m in model:
        x = m(x)
    return x


def _grads(model: nn.Sequential, x: np.ndarray, run) -> tuple[np.ndarray, list[np.ndarray]]:
    for p in model.parameters():
        p.grad = None
    t = dg.tensor(x, requires_grad=True)
    out = run(model, t)
    # a weighted sum, so every output element's gradient differs
    w = np.linspace(-1.0, 2.0, out.size).reshape(out.shape).astype(x.dtype)
    (out * dg.tensor(w)).sum().backward()
    return out.numpy(), [np.asarray(t.grad)] + [np.asarray(p.grad) for p in model.parameters()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", [
    lambda: nn.MaxPool2d(2),
    lambda: nn.MaxPool2d(3, stride=2, padding=1),           # -inf padding
    lambda: nn.MaxPool2d(2, ceil_mode=True),                 # partial windows
    lambda: nn.MaxPool2d((2, 3), stride=1, dilation=(1, 2)),
])
def test_relu_then_max_pool2d_matches_the_layers_one_by_one(dtype, pool):
    rng = np.random.default_rng(0)
    with dg.default_dtype(dtype):
        model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), pool())
    x = rng.normal(size=(3, 2, 7, 9)).astype(dtype)
    x[0, :, :3] = -5.0  # whole windows below zero: ties at 0 after the ReLU
    out_f, g_f = _grads(model, x, lambda m, t: m(t))
    out_r, g_r = _grads(model, x, _one_by_one)
    assert out_f.dtype == dtype and np.array_equal(out_f, out_r)
    assert (out_f == 0).any() and (out_f > 0).any()
    for a, b in zip(g_f, g_r, strict=True):
        assert np.array_equal(a, b)


def test_nan_and_infinities_give_the_same_values_and_gradients():
    x = np.array([[[[np.nan, -1.0, 2.0, -np.inf], [-3.0, -2.0, np.inf, 1.0],
                    [-1.0, -2.0, 0.0, -0.0], [-4.0, -5.0, 3.0, 3.0]]]])
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
    out_f, g_f = _grads(model, x, lambda m, t: m(t))
    out_r, g_r = _grads(model, x, _one_by_one)
    np.testing.assert_array_equal(out_f, out_r)
    np.testing.assert_array_equal(g_f[0], g_r[0])


def test_relu_then_max_pool1d_and_unbatched_inputs():
    rng = np.random.default_rng(1)
    with dg.default_dtype(np.float64):
        seq1 = nn.Sequential(nn.Conv1d(2, 3, 3, rng=rng), nn.ReLU(), nn.MaxPool1d(2))
        seq2 = nn.Sequential(nn.Conv2d(2, 3, 3, rng=rng), nn.ReLU(), nn.MaxPool2d(2))
    for model, x in ((seq1, rng.normal(size=(4, 2, 11))), (seq2, rng.normal(size=(2, 6, 6)))):
        out_f, g_f = _grads(model, x, lambda m, t: m(t))
        out_r, g_r = _grads(model, x, _one_by_one)
        assert np.array_equal(out_f, out_r)
        for a, b in zip(g_f, g_r, strict=True):
            assert np.array_equal(a, b)


def test_the_swap_happens_only_for_plain_relu_and_max_pooling(monkeypatch):
    calls = _spy_relu(monkeypatch, container)
    x = dg.tensor(np.random.default_rng(2).normal(size=(2, 3, 6, 6)))
    nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))(x)
    assert calls == [(2, 3, 3, 3)]  # the ReLU ran on the pooled output

    class MyReLU(nn.ReLU):  # a subclass may do anything in forward: left alone
        def forward(self, x):
            return super().forward(x) * 2.0

    calls.clear()
    for model in (nn.Sequential(MyReLU(), nn.MaxPool2d(2)),
                  nn.Sequential(nn.LeakyReLU(0.1), nn.MaxPool2d(2)),
                  nn.Sequential(nn.ReLU(), nn.AvgPool2d(2)),
                  nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True))):
        model(x)
    assert calls == []
    out, idx = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True))(x)
    assert out.shape == idx.shape == (2, 3, 3, 3) and (out.numpy() >= 0).all()


def test_summary_still_shows_the_relu_output_shape():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    text = model.summary((1, 8, 8), print_fn=None)
    relu_line = next(line for line in text.splitlines() if "ReLU" in line)
    assert "6, 6" in relu_line


# ------------------------------------------------------------------------ graph models
def _graph(shared_relu: bool, relu_is_output: bool, pool_is_output: bool = False):
    rng = np.random.default_rng(3)
    with dg.default_dtype(np.float64):
        conv, relu, pool = nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2)
        inp = dg.Input((2, 6, 6))
        r = relu(conv(inp))
        out = pool(r) if pool_is_output else nn.Identity()(pool(r))
        outputs = [out]
        if shared_relu:  # the ReLU's output also read by another node
            outputs = [nn.Add()([out, nn.AvgPool2d(2)(r)])]
        if relu_is_output:
            outputs.append(r)
        return dg.Model(inp, outputs), (conv, relu, pool)


@pytest.mark.parametrize("shared_relu, relu_is_output, pool_is_output, swapped", [
    (False, False, False, True), (True, False, False, False), (False, True, False, False),
    (False, False, True, False)])
def test_graph_models_swap_a_relu_read_only_by_max_pooling(monkeypatch, shared_relu,
                                                           relu_is_output, pool_is_output,
                                                           swapped):
    calls = _spy_relu(monkeypatch, dg.nn.graph)
    model, (conv, relu, pool) = _graph(shared_relu, relu_is_output, pool_is_output)
    x = np.random.default_rng(4).normal(size=(3, 2, 6, 6))
    x[0] = -3.0
    t = dg.tensor(x, requires_grad=True)
    outs = model(t)
    assert calls == ([(3, 3, 3, 3)] if swapped else [])
    # against the layers one by one
    t2 = dg.tensor(x, requires_grad=True)
    r = relu(conv(t2))
    ref = pool(r)
    if shared_relu:
        ref = ref + nn.AvgPool2d(2)(r)
    assert np.array_equal(outs[0].numpy(), ref.numpy())
    if relu_is_output:
        assert np.array_equal(outs[1].numpy(), r.numpy())
    grads = []
    for out, inp in ((outs[0], t), (ref, t2)):
        for p in model.parameters():
            p.grad = None
        w = dg.tensor(np.linspace(-1, 2, out.size).reshape(out.shape))
        (out * w).sum().backward()
        grads.append([np.asarray(inp.grad)] + [np.asarray(p.grad) for p in model.parameters()])
    for a, b in zip(*grads, strict=True):
        assert np.array_equal(a, b)


def test_summary_of_a_graph_model_inside_a_module_lists_its_relu():
    with dg.default_dtype(np.float64):
        inp = dg.Input((2, 6, 6))
        out = nn.MaxPool2d(2)(nn.ReLU()(nn.Conv2d(2, 3, 3, padding=1, rng=0)(inp)))
        outer = nn.Sequential(dg.Model(inp, out), nn.Flatten())
    text = outer.summary((2, 6, 6), dtype=np.float64, print_fn=None)
    assert any("ReLU" in line and "6, 6" in line for line in text.splitlines())
    assert any("MaxPool2d" in line and "3, 3" in line for line in text.splitlines())


def test_fit_with_a_softmax_head_still_swaps(monkeypatch):
    """``fit`` with a softmax output and a cross-entropy loss runs the model without its
    head (Sequential layer by layer, graph models with the last node special-cased): the
    swap must survive both."""
    calls = _spy_relu(monkeypatch, container, dg.nn.graph)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(8, 1, 6, 6)).astype(np.float32)
    y = np.arange(8) % 3
    seq = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(18, 3, rng=1), nn.Softmax())
    inp = dg.Input((1, 6, 6))
    h = nn.MaxPool2d(2)(nn.ReLU()(nn.Conv2d(1, 2, 3, padding=1, rng=0)(inp)))
    graph = dg.Model(inp, nn.Softmax()(nn.Linear(18, 3, rng=1)(nn.Flatten()(h))))
    for model in (seq, graph):
        calls.clear()
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(X, y, epochs=1, batch_size=8, verbose=0)
        assert (8, 2, 3, 3) in calls and all(c[1:] == (2, 3, 3) for c in calls)

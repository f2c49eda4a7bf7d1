"""Every op and layer on each array backend (``xp`` fixture): forward and backward agree
with NumPy (1e-5 relative in float32, 1e-10 in float64), and training on a device matches
training on the CPU. On a machine without CuPy only the NumPy case runs."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.backend import to_numpy

TOL = {np.float32: 1e-5, np.float64: 1e-10}

OPS = {
    "add_bcast": (lambda a, b: a + b, [(3, 1, 4), (2, 1)]),
    "mul_scalar": (lambda a: a * 3.0 - 1, [(3, 4)]),
    "div": (lambda a, b: a / (b * b + 1), [(3, 4), (4,)]),
    "matmul": (lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    "exp_log": (lambda a: dg.log(dg.exp(a) + 1.0), [(3, 4)]),
    "tanh_sigmoid": (lambda a: dg.tanh(a) * dg.sigmoid(a), [(3, 4)]),
    "relu_leaky": (lambda a: dg.relu(a) + dg.leaky_relu(a, 0.1), [(3, 4)]),
    "softmax": (lambda a: dg.softmax(a, axis=1) + dg.log_softmax(a, axis=0), [(3, 4)]),
    "reductions": (lambda a: dg.var(a, axis=1) + dg.max(a, axis=1) + a.mean(axis=1), [(3, 4)]),
    "shape": (lambda a: dg.concatenate([a.T, a.T], axis=0)[1:5].reshape(2, 6), [(3, 4)]),
    "getitem": (lambda a: a[np.array([0, 2, 2])] + a[:, 1:2], [(3, 4)]),
    "pad_stack": (lambda a: dg.stack([dg.pad(a, 1), dg.pad(a, 1)], axis=0), [(2, 3)]),
    "where_clip": (lambda a: dg.where(a > 0, dg.clip(a, -0.5, 0.5), a * 2.0), [(3, 4)]),
}


def _run(fn, arrays, device, dtype):
    xs = [dg.tensor(a.astype(dtype), requires_grad=True).to(device) for a in arrays]
    xs = [x.requires_grad_() for x in xs]
    out = fn(*xs)
    gy = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    out.backward(dg.tensor(gy).to(device).data)
    return to_numpy(out.data), [to_numpy(x.grad) for x in xs]


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ops_match_numpy(name, dtype, device):
    fn, shapes = OPS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-2, 2, s) for s in shapes]
    ref_out, ref_grads = _run(fn, arrays, "cpu", dtype)
    out, grads = _run(fn, arrays, device, dtype)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref_out, rtol=TOL[dtype], atol=TOL[dtype])
    for g, r in zip(grads, ref_grads, strict=True):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, r, rtol=TOL[dtype], atol=TOL[dtype])


def _layers():
    return {
        "linear": (lambda: nn.Linear(6, 4), (5, 6)),
        "conv": (lambda: nn.Conv2d(2, 3, 3, stride=1, padding=1), (2, 2, 6, 6)),
        "conv_strided": (lambda: nn.Conv2d(2, 3, (3, 2), stride=2, dilation=1), (2, 2, 7, 7)),
        "maxpool": (lambda: nn.Sequential(nn.Conv2d(1, 2, 1), nn.MaxPool2d(2)), (2, 1, 6, 6)),
        "avgpool": (lambda: nn.Sequential(nn.Conv2d(1, 2, 1), nn.AvgPool2d(2)), (2, 1, 6, 6)),
        "batchnorm2d": (lambda: nn.BatchNorm2d(3), (4, 3, 3, 3)),
        "batchnorm1d": (lambda: nn.BatchNorm1d(5), (6, 5)),
        "layernorm": (lambda: nn.LayerNorm(5), (3, 5)),
        "activations": (lambda: nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.ELU(), nn.SiLU(),
                                              nn.Softplus()), (3, 4)),
    }


@pytest.mark.parametrize("name", sorted(_layers()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_match_numpy(name, dtype, device):
    make, shape = _layers()[name]
    x = np.random.default_rng(0).standard_normal(shape)
    results = []
    for dev in ("cpu", device):
        dg.manual_seed(0)
        with dg.default_dtype(dtype):
            layer = make()
        layer.to(dev)
        out, grads = _run(lambda t, layer=layer: layer(t), [x], dev, dtype)
        pgrads = [to_numpy(p.grad) for p in layer.parameters()]
        buffers = [to_numpy(b.data) for b in layer.buffers()]
        results.append((out, grads + pgrads, buffers))
    (o1, g1, b1), (o2, g2, b2) = results
    np.testing.assert_allclose(o2, o1, rtol=TOL[dtype], atol=TOL[dtype])
    for a, b in zip(g2 + b2, g1 + b1, strict=True):
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])


def test_losses_match_numpy(device):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    out = []
    for dev in ("cpu", device):
        z = dg.tensor(logits).to(dev).requires_grad_()
        loss = dg.losses.cross_entropy(z, labels) + dg.losses.mse_loss(z, dg.tensor(logits * 0.5)
                                                                       .to(dev))
        loss.backward()
        out.append((loss.item(), to_numpy(z.grad)))
    assert abs(out[0][0] - out[1][0]) < 1e-10
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-10, atol=1e-12)


def test_training_on_device_matches_cpu(device):
    """The same seeded model trained 50 steps on the CPU and on ``device``."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 10)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    finals = []
    for dev in ("cpu", device):
        dg.manual_seed(0)
        model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3)).to(dev)
        opt = dg.optim.Adam(model.parameters(), lr=1e-2)
        for i in range(50):
            sl = slice((i * 16) % 64, (i * 16) % 64 + 16)
            loss = dg.losses.cross_entropy(model(dg.tensor(X[sl]).to(dev)), y[sl])
            opt.zero_grad()
            loss.backward()
            opt.step()
        finals.append([p.numpy().copy() for p in model.parameters()])
    for a, b in zip(finals[0], finals[1], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_fit_on_device_and_save_load_on_cpu(device, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=3, verbose=0, device=device)
    assert all(p.device.startswith(device) for p in model.parameters())
    p_dev = model.predict(X)
    dg.save(model, tmp_path / "m.dg")
    loaded = dg.load(tmp_path / "m.dg")
    assert all(p.device == "cpu" for p in loaded.parameters())
    np.testing.assert_allclose(loaded.predict(X), p_dev, rtol=1e-5, atol=1e-6)

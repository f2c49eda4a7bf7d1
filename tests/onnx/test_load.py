"""ONNX -> deepgrad: the ONNX project's own test data, the light model zoo, networks that
PyTorch exports, and what an imported model can do (train, save, cut, export again)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg

from .conftest import onnx, rand, run_ort

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))
import onnx_cases  # noqa: E402  (docs/onnx_cases.py: the runner behind docs/onnx_cases.md)

DATA = onnx_cases.data_root()
CASES = onnx_cases.cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_onnx_backend_case(case):
    status, detail = onnx_cases.run_case(case)
    if status == "unsupported":
        pytest.skip(f"operators outside the table: {detail}")
    assert status == "pass", detail


def test_every_supported_backend_case_passes_in_the_table():
    table = (ROOT / "docs" / "onnx_cases.md").read_text()  # kept current by the script
    assert table.count("| pass |") >= 124 and "| fail |" not in table


def randomized_light_model(name: str, seed: int = 0) -> bytes:
    """A light zoo model with its constant (ConstantOfShape) weights made random."""
    from onnx import numpy_helper

    m = onnx.load(str(DATA / "light" / f"light_{name}.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    rng = np.random.default_rng(seed)
    keep, new_inits = [], []
    for node in m.graph.node:
        if node.op_type == "ConstantOfShape":
            shape = tuple(int(d) for d in inits[node.input[0]])
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            a = rng.standard_normal(shape) / np.sqrt(fan_in)
            if len(shape) == 1:  # batch-norm statistics and biases
                a = np.abs(a) + 0.5
            new_inits.append(numpy_helper.from_array(a.astype(np.float32), node.output[0]))
        else:
            keep.append(node)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    m.graph.initializer.extend(new_inits)
    return m.SerializeToString()


@pytest.mark.parametrize("name", ["squeezenet", "shufflenet"])
def test_light_zoo_models_match_onnxruntime_with_random_weights(name, tmp_path, ort):
    data = randomized_light_model(name)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(data)
    model = dg.onnx.load(path)
    model.eval()
    x = rand((1, 3, 224, 224), seed=1)
    with dg.no_grad():
        got = model(x).data
    want = run_ort(ort, path, x)[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_light_resnet50_imports_as_layers():
    model = dg.onnx.load(DATA / "light" / "light_resnet50.onnx")
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds.count("Conv2d") == 53 and kinds.count("BatchNorm2d") == 53
    assert kinds.count("Linear") == 1
    assert all(p.requires_grad for p in model.parameters())


def _torch_models():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class Basic(tnn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = tnn.BatchNorm2d(cout)
            self.c2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = tnn.BatchNorm2d(cout)
            self.down = None if stride == 1 and cin == cout else tnn.Sequential(
                tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            return torch.relu(y + (x if self.down is None else self.down(x)))

    resnet = tnn.Sequential(
        tnn.Conv2d(3, 8, 7, 2, 3, bias=False), tnn.BatchNorm2d(8), tnn.ReLU(),
        tnn.MaxPool2d(3, 2, 1), Basic(8, 8, 1), Basic(8, 16, 2),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(16, 10))

    class Inverted(tnn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            h = cin * expand
            self.use_res = stride == 1 and cin == cout
            self.body = tnn.Sequential(
                tnn.Conv2d(cin, h, 1, bias=False), tnn.BatchNorm2d(h), tnn.ReLU6(),
                tnn.Conv2d(h, h, 3, stride, 1, groups=h, bias=False), tnn.BatchNorm2d(h),
                tnn.ReLU6(), tnn.Conv2d(h, cout, 1, bias=False), tnn.BatchNorm2d(cout))

        def forward(self, x):
            return x + self.body(x) if self.use_res else self.body(x)

    mobilenet = tnn.Sequential(
        tnn.Conv2d(3, 8, 3, 2, 1, bias=False), tnn.BatchNorm2d(8), tnn.ReLU6(),
        Inverted(8, 8, 1, 3), Inverted(8, 12, 2, 4), Inverted(12, 12, 1, 4),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Dropout(0.2), tnn.Linear(12, 5))
    return torch, {"resnet18_style": resnet, "mobilenet_v2_style": mobilenet}


@pytest.mark.parametrize("which", ["resnet18_style", "mobilenet_v2_style"])
def test_networks_exported_by_pytorch_import_and_match(which):
    torch, models = _torch_models()
    torch.manual_seed(0)
    net = models[which]
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_()
                mod.running_var.uniform_(0.5, 2.0)
    net.eval()
    x = torch.randn(2, 3, 32, 32)
    buf = io.BytesIO()
    torch.onnx.export(net, (x,), buf, dynamo=False, opset_version=17, input_names=["x"],
                      dynamic_axes={"x": {0: "n"}})
    model = dg.onnx.load(buf.getvalue())
    model.eval()
    for n in (2, 5):
        xb = torch.randn(n, 3, 32, 32)
        with torch.no_grad():
            want = net(xb).numpy()
        with dg.no_grad():
            got = model(xb.numpy()).data
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def _small_cnn_file(tmp_path):
    dg.manual_seed(0)
    net = dg.nn.Sequential(dg.nn.Conv2d(1, 4, 3, padding=1), dg.nn.BatchNorm2d(4),
                           dg.nn.ReLU(), dg.nn.MaxPool2d(2), dg.nn.Flatten(),
                           dg.nn.Linear(16, 3))
    path = tmp_path / "cnn.onnx"
    dg.onnx.export(net, rand((2, 1, 4, 4)), path)
    return net, path


def test_an_imported_model_trains_saves_and_exports_again(tmp_path):
    _, path = _small_cnn_file(tmp_path)
    model = dg.onnx.load(path)
    x, y = rand((16, 1, 4, 4), seed=2), np.arange(16) % 3
    before = {k: v.copy() for k, v in model.state_dict().items()}
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = model.state_dict()
    assert any(not np.array_equal(before[k], after[k]) for k in before if "weight" in k)
    model.eval()
    dg.save(model, tmp_path / "m.dg")
    with dg.no_grad():
        want = model(x).data
    code = ("import sys, numpy as np, deepgrad as dg; m = dg.load(sys.argv[1]); m.eval();"
            "x = np.load(sys.argv[2]); np.save(sys.argv[3], m(x).data)")
    np.save(tmp_path / "x.npy", x)
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.dg"), str(tmp_path / "x.npy"),
                    str(tmp_path / "y.npy")], check=True, env={**os.environ})
    assert np.array_equal(np.load(tmp_path / "y.npy"), want)
    dg.onnx.export(model, x[:2], tmp_path / "again.onnx")
    again = dg.onnx.load(tmp_path / "again.onnx")
    again.eval()
    with dg.no_grad():
        assert np.array_equal(again(x).data, want)


def test_cut_before_the_head_shares_weights(tmp_path):
    _, path = _small_cnn_file(tmp_path)
    model = dg.onnx.load(path)
    flatten = next(n for n in model.nodes if n.kind == "Flatten")
    features = dg.Model(model.inputs, model.get_layer(flatten.layer.name).output)
    model.eval()
    features.eval()
    with dg.no_grad():
        f = features(rand((3, 1, 4, 4))).data
    assert f.shape == (3, 16)
    conv = next(m for m in model.layers if type(m).__name__ == "Conv2d")
    assert any(p is conv.weight for p in features.parameters())

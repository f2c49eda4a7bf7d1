"""deepgrad -> ONNX: checked by onnx's full checker and by ONNX Runtime, batch 1 and 7."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn

from .conftest import onnx, rand, run_ort


def _randomize_buffers(model, seed=3):
    rng = np.random.default_rng(seed)
    for name, b in model.named_buffers():
        if "running_var" in name:
            b.data[...] = rng.uniform(0.5, 2.0, b.data.shape)
        elif "running_mean" in name:
            b.data[...] = rng.standard_normal(b.data.shape)


def _check(tmp_path, ort, model, example, **kw):
    path = tmp_path / "m.onnx"
    model.eval()
    dg.onnx.export(model, example, path, **kw)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    for b in (1, 7):
        xs = [rand((b, *e.shape[1:]), seed=b + i) for i, e in enumerate(
            example if isinstance(example, tuple) else (example,))]
        with dg.no_grad():
            want = model(*[dg.tensor(x) for x in xs])
        want = want if isinstance(want, list) else [want]
        got = run_ort(ort, path, xs)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w.data, rtol=1e-4, atol=1e-5)
    return path


def test_mlp_with_dropout_and_softmax(tmp_path, ort):
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 4),
                          nn.Softmax(dim=1))
    _check(tmp_path, ort, model, rand((3, 8)))


def test_cnn_with_batchnorm_pooling_and_dense_activations(tmp_path, ort):
    dg.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, bias=False), nn.Tanh(), nn.AvgPool2d(2, stride=1),
        nn.Flatten(), nn.Dense(5, activation="gelu"), nn.LeakyReLU(0.2), nn.Dense(3),
        nn.LogSoftmax(dim=1))
    x = rand((2, 2, 12, 12))
    model(dg.tensor(x))  # builds the lazy Dense layers
    _randomize_buffers(model)
    _check(tmp_path, ort, model, x)


def test_activation_layers(tmp_path, ort):
    dg.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 6), nn.ELU(0.7), nn.Linear(6, 6), nn.SiLU(),
                          nn.Linear(6, 6), nn.Softplus(), nn.Linear(6, 6), nn.Hardtanh(),
                          nn.Linear(6, 6), nn.Sigmoid(), nn.GELU(approximate="tanh"))
    _check(tmp_path, ort, model, rand((2, 6)))


def test_float64_model_exports_float64(tmp_path, ort):
    with dg.default_dtype("float64"):
        dg.manual_seed(3)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    path = tmp_path / "m.onnx"
    x = rand((5, 3), dtype=np.float64)
    dg.onnx.export(model, x, path)
    got = run_ort(ort, path, x)[0]
    assert got.dtype == np.float64
    with dg.no_grad():
        np.testing.assert_allclose(got, model(dg.tensor(x)).data, rtol=1e-12, atol=1e-12)


def test_graph_model_with_residual_and_concatenate(tmp_path, ort):
    dg.manual_seed(4)
    x_in = dg.Input((3, 8, 8), name="image")
    h = nn.Conv2d(3, 4, 3, padding=1)(x_in)
    h = nn.BatchNorm2d(4)(h)
    skip = nn.Conv2d(3, 4, 1)(x_in)
    h = nn.Add()([nn.ReLU()(h), skip])
    pooled = nn.GlobalAvgPool2d()(h)
    other = dg.Input(5, name="extra")
    joined = nn.Concatenate()([pooled, nn.Dense(3)(other)])
    out = nn.Dense(2)(joined)
    model = dg.Model([x_in, other], out)
    _randomize_buffers(model)
    path = _check(tmp_path, ort, model, (rand((2, 3, 8, 8)), rand((2, 5))),
                  input_names=["image", "extra"])
    names = [i.name for i in onnx.load(str(path)).graph.input]
    assert names == ["image", "extra"]


def test_multi_output_graph_and_shared_layer(tmp_path, ort):
    dg.manual_seed(5)
    a = dg.Input(4)
    shared = nn.Dense(4, activation="relu")
    h = shared(shared(a))  # one set of weights, used twice
    model = dg.Model(a, [nn.Dense(2)(h), nn.Dense(1, activation="sigmoid")(h)])
    path = _check(tmp_path, ort, model, rand((3, 4)))
    proto = onnx.load(str(path))
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1"]
    weights = [i for i in proto.graph.initializer if tuple(i.dims) == (4, 4)]
    assert len(weights) == 1  # the shared layer's weight is stored once


def test_dynamic_batch_can_be_turned_off(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2))
    dg.onnx.export(model, rand((3, 2)), tmp_path / "a.onnx", dynamic_batch=False)
    dim = onnx.load(str(tmp_path / "a.onnx")).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_value == 3
    dg.onnx.export(model, rand((3, 2)), tmp_path / "b.onnx")
    dim = onnx.load(str(tmp_path / "b.onnx")).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "batch"


def test_export_keeps_training_mode_and_writes_atomically(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.train()
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")
    dg.onnx.export(model, rand((1, 2)), path)
    assert model.training and all(m.training for m in model.modules())
    assert onnx.load(str(path)).graph.node
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


class Custom(nn.Module):
    def forward(self, x):
        return x ** 3


def test_a_layer_without_onnx_form_is_named(tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=r"Custom.forward uses the operation PowScalar"):
        dg.onnx.export(nn.Sequential(nn.Linear(2, 2), Custom()), rand((1, 2)), path)
    with pytest.raises(ValueError, match=r"layer '1': AdaptiveAvgPool2d to 2 has no ONNX form"):
        dg.onnx.export(nn.Sequential(nn.Conv2d(1, 1, 1), nn.AdaptiveAvgPool2d(2)),
                       rand((1, 1, 4, 4)), path)
    assert not path.exists()


@pytest.mark.parametrize("kw, message", [
    ({"opset_version": 9}, "opset_version 9"),
    ({"input_names": ["a", "b"]}, "input name"),
    ({"output_names": [""]}, "output name"),
])
def test_bad_arguments(tmp_path, kw, message):
    with pytest.raises(ValueError, match=message):
        dg.onnx.export(nn.Sequential(nn.Linear(2, 2)), rand((1, 2)), tmp_path / "m.onnx", **kw)


def test_round_trip_is_bit_identical(tmp_path):
    dg.manual_seed(6)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 5), nn.Tanh(),
                          nn.Linear(5, 2))
    _randomize_buffers(model)
    model.eval()
    x = rand((4, 1, 4, 4))
    dg.onnx.export(model, x, tmp_path / "m.onnx")
    back = dg.onnx.load(tmp_path / "m.onnx")
    back.eval()
    with dg.no_grad():
        assert np.array_equal(back(x).data, model(dg.tensor(x)).data)
    kinds = [type(m).__name__ for m in back.layers]
    assert kinds.count("Conv2d") == 1 and kinds.count("Linear") == 2
    assert "BatchNorm2d" in kinds


def _layer_cases():
    return {
        "conv1d_pools": (lambda: nn.Sequential(nn.Conv1d(3, 4, 3, padding=1, groups=1),
                                               nn.MaxPool1d(2), nn.Conv1d(4, 4, 3, groups=2),
                                               nn.AvgPool1d(2, ceil_mode=True)), (2, 3, 11)),
        "grouped_dilated_padding_modes": (
            lambda: nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=4,
                                            padding_mode="reflect"),
                                  nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2,
                                            padding_mode="replicate")), (2, 4, 9, 8)),
        "pool_options": (lambda: nn.Sequential(
            nn.MaxPool2d(3, 2, padding=1, dilation=1, ceil_mode=True),
            nn.AvgPool2d(2, 1, padding=1, count_include_pad=False)), (2, 3, 10, 9)),
        "conv_transpose": (lambda: nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1,
                                                                    output_padding=1)),
                           (2, 3, 5, 4)),
        "upsample_nearest_bilinear": (lambda: nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Upsample(size=(9, 11), mode="bilinear", align_corners=False),
            nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True)), (2, 3, 4, 5)),
        "group_instance_norm": (lambda: nn.Sequential(nn.Conv2d(3, 6, 1), nn.GroupNorm(3, 6),
                                                      nn.InstanceNorm2d(6, affine=True)),
                                (2, 3, 5, 5)),
        "new_activations": (lambda: nn.Sequential(nn.Linear(5, 5), nn.ReLU6(), nn.Linear(5, 5),
                                                  nn.Hardswish(), nn.Linear(5, 5), nn.Mish(),
                                                  nn.Linear(5, 5), nn.Hardsigmoid()), (3, 5)),
        "prelu_unflatten_dropout2d": (lambda: nn.Sequential(
            nn.Conv2d(2, 3, 3), nn.PReLU(3), nn.Dropout2d(0.3), nn.Flatten(),
            nn.Unflatten(1, (3, -1)), nn.Flatten(), nn.Linear(27, 2)), (2, 2, 5, 5)),
        "layernorm_adaptive": (lambda: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                                     nn.LayerNorm(3)), (2, 3, 6, 6)),
    }


@pytest.mark.parametrize("name", sorted(_layer_cases()))
def test_layers_match_onnxruntime(name, tmp_path, ort):
    dg.manual_seed(7)
    build, shape = _layer_cases()[name]
    model = build()
    _check(tmp_path, ort, model, rand(shape))


class _Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return dg.relu(self.c2(dg.relu(self.b1(self.c1(x)))) + x)


def test_a_module_subclass_is_traced_through_its_forward(tmp_path, ort):
    dg.manual_seed(8)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3, padding=1)
            self.block = _Block(4)  # a nested subclass: its forward is traced too
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 6 * 6, 3))

        def forward(self, x):
            h = self.block(dg.relu(self.stem(x)))
            h = dg.concatenate([h, dg.tanh(h) * 2.0 - h], axis=1)
            return dg.log_softmax(self.head(h), axis=1)

    net = Net()
    _randomize_buffers(net)
    path = _check(tmp_path, ort, net, rand((2, 1, 6, 6)))
    back = dg.onnx.load(path)
    back.eval()
    x = rand((3, 1, 6, 6), seed=9)
    with dg.no_grad():
        assert np.array_equal(back(x).data, net(dg.tensor(x)).data)
    assert net.block.c1.forward.__func__ is nn.Conv2d.forward  # nothing left patched


def test_an_operation_outside_the_trace_table_is_named(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(x) ** 3

    with pytest.raises(ValueError, match=r"Net.forward uses the operation PowScalar"):
        dg.onnx.export(Net(), rand((2, 3)), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()

"""Graph models (Keras's functional API): building, running, weight sharing, truncation,
merge layers, construction errors and the JSON config."""

from __future__ import annotations

import json

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import Input, Model
from deepgrad.nn import (
    Activation,
    Add,
    Average,
    BatchNorm1d,
    Concatenate,
    Dense,
    Linear,
    Maximum,
    Minimum,
    Multiply,
    Permute,
    ReLU,
    Reshape,
    Subtract,
)
from deepgrad.testing import gradcheck


def _x(*shape: int, seed: int = 0, dtype: str = "float32") -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def test_lecture_five_lines_build_and_run() -> None:
    m, d1 = 5, 7
    inputs = Input(m)
    hidden = Dense(d1)(inputs)
    outputs = Dense(2)(hidden)
    model = Model(inputs, outputs)
    assert inputs.shape == (None, 5) and hidden.shape == (None, 7) and outputs.shape == (None, 2)
    assert dg.nn.Model is Model and dg.nn.Input is Input
    y = model(_x(3, 5))
    assert y.shape == (3, 2) and y.dtype == np.float32
    assert [n.name for n in model.nodes] == ["input", "dense", "dense_1"]
    assert [n.inputs for n in model.nodes] == [[], ["input"], ["dense"]]
    assert model.input_names == ["input"] and model.output_names == ["dense_1"]
    assert list(model.state_dict()) == ["dense.weight", "dense.bias", "dense_1.weight",
                                        "dense_1.bias"]


def test_matches_the_same_layers_run_by_hand() -> None:
    x = Input(4)
    d1, d2 = Dense(6, activation="tanh"), Dense(3)
    y = d2(d1(x))
    model = Model(x, y)
    data = _x(5, 4)
    ref = d2(d1(dg.Tensor(data)))
    np.testing.assert_array_equal(model(data).data, ref.data)


def test_residual_graph_gradcheck_float64() -> None:
    with dg.default_dtype(np.float64):
        x = Input(3)
        h = Dense(3, activation="tanh", rng=0)(x)
        s = Add()([x, h])
        c = Concatenate()([s, Multiply()([x, h])])
        y = Dense(2, rng=1)(c)
        model = Model(x, y)
    xt = dg.tensor(_x(4, 3, dtype="float64"), requires_grad=True)
    params = list(model.parameters())
    assert all(p.dtype == np.float64 for p in params)
    assert gradcheck(lambda xx, *ps: model(xx), xt, *params)


def test_layer_called_twice_shares_weights_and_sums_gradients() -> None:
    x = Input(3)
    shared = Dense(3, name="shared", rng=0)
    y = shared(shared(x))
    model = Model(x, y)
    assert len(list(model.parameters())) == 2
    assert [n.name for n in model.nodes] == ["input", "shared", "shared:1"]
    data = dg.Tensor(_x(4, 3, dtype="float64").astype(np.float32))
    model(data).sum().backward()
    g_graph = shared.weight.grad.copy()
    shared.zero_grad()
    # by hand: W used twice, the gradient is the sum of both uses
    w = shared.weight
    h = data @ w.T + shared.bias
    (h @ w.T + shared.bias).sum().backward()
    np.testing.assert_allclose(g_graph, w.grad, rtol=1e-6)


def test_truncated_feature_extractor_shares_weights() -> None:
    x = Input(4)
    h = Dense(8, activation="relu", name="features")(x)
    y = Dense(2, name="head")(h)
    base = Model(x, y)
    extractor = Model(base.inputs, base.get_layer("features").output)
    assert extractor.get_layer("features") is base.get_layer("features")
    data = _x(3, 4)
    np.testing.assert_array_equal(extractor(data).data,
                                  base.get_layer("features")(dg.Tensor(data)).data)
    base.get_layer("features").weight.data[...] = 0.5
    assert np.all(extractor.get_layer("features").weight.data == 0.5)
    assert list(extractor.state_dict()) == ["features.weight", "features.bias"]


def test_several_inputs_and_outputs_list_and_dict() -> None:
    a, b = Input(3, name="a"), Input(2, name="b")
    h = Concatenate()([a, b])
    o1, o2 = Dense(1, name="o1")(h), Dense(4, name="o2")(h)
    model = Model({"a": a, "b": b}, {"score": o1, "probs": o2})
    A, B = _x(5, 3), _x(5, 2, seed=1)
    out = model({"a": A, "b": B})
    assert set(out) == {"score", "probs"} and out["probs"].shape == (5, 4)
    listed = Model([a, b], [o1, o2])
    r = listed(A, B)
    np.testing.assert_array_equal(r[0].data, out["score"].data)
    np.testing.assert_array_equal(listed([A, B])[1].data, out["probs"].data)
    with pytest.raises(ValueError, match="takes 2 input"):
        listed(A)


def test_nested_model_as_a_layer() -> None:
    x = Input(3)
    inner = Model(x, Dense(2, name="inner_dense")(x), name="inner")
    z = Input(3)
    outer = Model(z, Dense(1)(inner(z)))
    assert outer(_x(2, 3)).shape == (2, 1)
    assert "inner.inner_dense.weight" in outer.state_dict()


@pytest.mark.parametrize("cls,fn", [
    (Add, lambda a, b: a + b), (Subtract, lambda a, b: a - b), (Multiply, lambda a, b: a * b),
    (Average, lambda a, b: (a + b) / 2), (Maximum, np.maximum), (Minimum, np.minimum),
])
def test_merge_layers_keras_broadcasting(cls: type, fn: object) -> None:
    a, b = Input((2, 3)), Input(3)  # rank 2 and rank 1: b gets an axis after the batch
    out = cls()([a, b])
    assert out.shape == (None, 2, 3)
    model = Model([a, b], out)
    A, B = _x(4, 2, 3), _x(4, 3, seed=1)
    got = model(A, B).data
    np.testing.assert_allclose(got, fn(A, B[:, None, :]), rtol=1e-6)
    assert got.dtype == np.float32


def test_merge_layer_torch_parity_gradients() -> None:
    torch = pytest.importorskip("torch")
    A, B = _x(3, 4, dtype="float64"), _x(3, 4, seed=2, dtype="float64")
    for layer, tfn in [(Maximum(), torch.maximum), (Average(), lambda a, b: (a + b) / 2),
                       (Subtract(), torch.sub), (Add(), torch.add), (Multiply(), torch.mul),
                       (Minimum(), torch.minimum),
                       (Concatenate(), lambda a, b: torch.cat([a, b], -1))]:
        a, b = dg.tensor(A, requires_grad=True), dg.tensor(B, requires_grad=True)
        g = _x(3, 8 if isinstance(layer, Concatenate) else 4, seed=3, dtype="float64")
        (layer([a, b]) * g).sum().backward()
        ta, tb = torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)
        (tfn(ta, tb) * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(layer([dg.tensor(A), dg.tensor(B)]).data,
                                   tfn(torch.tensor(A), torch.tensor(B)).numpy(), atol=1e-10)
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(b.grad, tb.grad.numpy(), atol=1e-10)


def test_concatenate_reshape_permute_activation() -> None:
    a, b = Input((2, 3)), Input((2, 5))
    c = Concatenate(axis=-1)([a, b])
    assert c.shape == (None, 2, 8)
    assert Concatenate(axis=1)([a, a]).shape == (None, 4, 3)
    r = Reshape((4, -1))(c)
    assert r.shape == (None, 4, 4)
    p = Permute((2, 1))(r)
    assert p.shape == (None, 4, 4)
    act = Activation("relu")(Reshape((16,))(p))
    model = Model([a, b], act)
    A, B = _x(2, 2, 3), _x(2, 2, 5, seed=1)
    want = np.maximum(np.concatenate([A, B], -1).reshape(2, 4, 4).transpose(0, 2, 1)
                      .reshape(2, 16), 0)
    np.testing.assert_array_equal(model(A, B).data, want)


def test_construction_errors_name_the_layer() -> None:
    x = Input(4)
    with pytest.raises(ValueError, match=r"'bad' \(Dense\).*\(None, 4\).*last dimension 3"):
        Dense(2, input_dim=3, name="bad")(x)
    with pytest.raises(ValueError, match=r"Add.*\(None, 4\), \(None, 3\)"):
        Add(name="sum")([x, Input(3)])
    with pytest.raises(ValueError, match=r"'cat' \(Concatenate\)"):
        Concatenate(axis=1, name="cat")([x, Input((2, 2))])
    other = Input(4, name="other")
    y = Add(name="join")([x, Dense(4, name="d")(other)])
    with pytest.raises(ValueError, match=r"'join' \(Add\)\) is disconnected.*Input 'other'"
                       r".*'d' \(Dense\)"):
        Model(x, y)
    with pytest.raises(ValueError, match="not a SymbolicTensor"):
        Model(x, [y, np.zeros(3)])
    with pytest.raises(ValueError, match=r"'mid' \(Dense\), not from deepgrad.Input"):
        Model(Dense(3, name="mid")(x), y)
    with pytest.raises(ValueError, match=r"'lin' \(Linear\).*mix a SymbolicTensor"):
        Linear(4, 2, name="lin")([x, np.zeros((1, 4))])
    with pytest.raises(ValueError, match="two layers/inputs are named 'same'"):
        Model(x, Dense(2, name="same")(Dense(2, name="same")(x)))
    with pytest.raises(ValueError, match=r"invalid layer name 'a.b' \(layer 'a.b' \(Dense"):
        Model(x, Dense(2, name="a.b")(x))
    with pytest.raises(ValueError, match="shape must be"):
        Input((3, -1))
    with pytest.raises(TypeError, match="not with operators"):
        _ = x + x


def test_unused_input_is_kept_and_names_are_unique() -> None:
    a, b = Input(2), Input(3)
    model = Model([a, b], Dense(1)(a))
    assert model.input_names == ["input", "input_1"]
    assert model(_x(2, 2), _x(2, 3)).shape == (2, 1)


def test_config_round_trip_json() -> None:
    x = Input(3, name="x")
    h = Dense(4, activation="relu", name="h")(x)
    bn = BatchNorm1d(4)(h)
    y = Dense(2, name="y")(Add()([h, bn]))
    model = Model(x, y, name="res")
    cfg = json.loads(json.dumps(model.get_config()))
    again = Model.from_config(cfg)
    assert [n.name for n in again.nodes] == [n.name for n in model.nodes]
    assert [n.output.shape for n in again.nodes] == [n.output.shape for n in model.nodes]
    again.load_state_dict(model.state_dict())
    model.eval()
    again.eval()
    data = _x(3, 3)
    np.testing.assert_array_equal(again(data).data, model(data).data)
    assert again.name == "res"


def test_subclassing_model_is_a_plain_module(tmp_path: object) -> None:
    class SubclassedGraphTestNet(dg.Model):
        def __init__(self) -> None:
            super().__init__()
            self.fc = Linear(3, 2)
            self.act = ReLU()

        def forward(self, x: dg.Tensor) -> dg.Tensor:
            return self.act(self.fc(x))

    net = SubclassedGraphTestNet()
    assert net(_x(2, 3)).shape == (2, 2) and not net.is_graph
    assert list(net.state_dict()) == ["fc.weight", "fc.bias"]
    net.compile("sgd", "mse")
    net.fit(_x(8, 3), _x(8, 2), epochs=1, verbose=0)
    path = str(tmp_path) + "/net.dg"
    dg.save(net, path)
    loaded = dg.load(path)
    np.testing.assert_array_equal(loaded(_x(2, 3)).data, net.eval()(_x(2, 3)).data)


def test_eager_call_path_unaffected_by_symbolic_hook() -> None:
    d = Dense(2, input_dim=3)
    out = d(dg.Tensor(_x(1, 3)))
    assert isinstance(out, dg.Tensor)
    assert "_nodes" not in d.__dict__


@pytest.mark.parametrize("layer", [Add(), Subtract(), Multiply(), Average(), Maximum(),
                                   Minimum(), Concatenate(axis=1)])
def test_merge_layers_gradcheck_float64_and_no_graph_under_no_grad(layer: object) -> None:
    a = dg.tensor(_x(3, 2, 4, dtype="float64"), requires_grad=True)
    b = dg.tensor(_x(3, 2, 4, seed=5, dtype="float64"), requires_grad=True)
    assert gradcheck(lambda u, v: layer([u, v]), a, b)
    with dg.no_grad():
        out = layer([a, b])
    assert not out.requires_grad
    empty = layer([dg.Tensor(np.zeros((0, 2, 4), np.float32))] * 2)
    assert empty.shape[0] == 0 and empty.dtype == np.float32


def test_reshape_permute_gradcheck_and_errors() -> None:
    x = dg.tensor(_x(2, 3, 4, dtype="float64"), requires_grad=True)
    assert gradcheck(lambda t: Permute((2, 1))(Reshape((4, 3))(t)), x)
    with pytest.raises(ValueError, match="Reshape"):
        Reshape((5,))(x)
    with pytest.raises(ValueError, match="permutation of 1..2"):
        Permute((0, 1))
    with pytest.raises(ValueError, match="Subtract takes exactly 2"):
        Subtract()([x, x, x])
    with pytest.raises(ValueError, match="Add must be called on a list"):
        Add()(x)
    with pytest.raises(ValueError, match="unknown activation"):
        Activation("nope")

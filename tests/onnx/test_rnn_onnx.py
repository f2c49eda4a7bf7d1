"""Recurrent layers and ONNX: export against ONNX Runtime, round trips, and PyTorch-exported
RNN/LSTM/GRU imported and compared with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.onnx._rnn import FROM_ONNX, TO_ONNX, OnnxRecurrent, reorder

from .conftest import onnx, rand, run_ort

TOL = dict(rtol=1e-4, atol=1e-5)


def _flat(y):
    if isinstance(y, tuple | list):
        return [t for v in y for t in _flat(v)]
    return [y]


def _ort_matches(path, ort, model, shapes):
    """ONNX Runtime's outputs equal the model's, every output, for each input shape."""
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    for i, shape in enumerate(shapes):
        x = rand(shape, seed=i)
        with dg.no_grad():
            want = _flat(model(dg.tensor(x)))
        got = run_ort(ort, path, x)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w.data, **TOL)


def test_gate_orders_are_inverse():
    a = np.arange(24.0).reshape(12, 2)
    for op in ("LSTM", "GRU", "RNN"):
        assert np.array_equal(reorder(reorder(a, TO_ONNX[op]), FROM_ONNX[op]), a)
    lstm = reorder(np.repeat(np.arange(4.0), 3)[:, None], TO_ONNX["LSTM"])  # i f g o -> i o f c
    assert lstm[::3, 0].tolist() == [0, 3, 1, 2]


@pytest.mark.parametrize("cls,layers,bidir,batch_first", [
    (nn.LSTM, 1, False, True), (nn.LSTM, 2, True, False), (nn.LSTM, 2, False, True),
    (nn.GRU, 1, True, True), (nn.GRU, 2, False, False),
    (nn.RNN, 1, False, False), (nn.RNN, 2, True, True),
])
def test_pytorch_style_layers_match_onnxruntime(tmp_path, ort, cls, layers, bidir, batch_first):
    dg.manual_seed(1)
    kw = {"nonlinearity": "relu"} if cls is nn.RNN and bidir else {}
    model = nn.Sequential(cls(3, 4, num_layers=layers, bidirectional=bidir,
                              batch_first=batch_first, **kw))
    path = tmp_path / "m.onnx"
    example = rand((2, 5, 3) if batch_first else (5, 2, 3))
    dg.onnx.export(model, example, path)
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count(cls.__name__) == layers
    # the dynamic first axis: the batch with batch_first, else the sequence length
    shapes = [(1, 5, 3), (7, 5, 3)] if batch_first else [(5, 2, 3), (3, 2, 3), (1, 2, 3)]
    _ort_matches(path, ort, model, shapes)


def test_a_single_layer_exports_all_its_outputs(tmp_path, ort):
    dg.manual_seed(2)
    lstm = nn.LSTM(3, 4, batch_first=True)
    path = tmp_path / "m.onnx"
    dg.onnx.export(lstm, rand((2, 6, 3)), path, output_names=["y", "h_n", "c_n"])
    assert [o.name for o in onnx.load(str(path)).graph.output] == ["y", "h_n", "c_n"]
    _ort_matches(path, ort, lstm, [(1, 6, 3), (7, 6, 3)])


@pytest.mark.parametrize("opset", [13, 21])
def test_keras_style_layers_in_sequential_and_graph(tmp_path, ort, opset):
    dg.manual_seed(3)
    seq = nn.Sequential(
        nn.SimpleRNN(4, activation="relu", return_sequences=True, go_backwards=True,
                     input_dim=3),
        nn.Bidirectional(nn.LSTMLayer(3, return_sequences=True, input_dim=4)),
        nn.Bidirectional(nn.GRULayer(2, input_dim=6), merge_mode="ave"),
        nn.Dense(2))
    path = tmp_path / "seq.onnx"
    dg.onnx.export(seq, rand((2, 5, 3)), path, opset_version=opset)
    _ort_matches(path, ort, seq, [(1, 5, 3), (7, 5, 3)])
    x = dg.nn.Input((5, 3))
    h = nn.GRULayer(4, return_sequences=True, go_backwards=True)(x)
    a = nn.Bidirectional(nn.SimpleRNN(3), merge_mode="sum")(h)
    b = nn.Bidirectional(nn.LSTMLayer(3), merge_mode="mul")(h)
    graph = dg.Model(x, nn.Concatenate()([a, b, nn.LSTMLayer(2)(x)]))
    path = tmp_path / "graph.onnx"
    dg.onnx.export(graph, rand((2, 5, 3)), path, opset_version=opset)
    _ort_matches(path, ort, graph, [(1, 5, 3), (7, 5, 3)])


def _round_trip(tmp_path, model, x):
    path = tmp_path / "m.onnx"
    dg.onnx.export(model, x, path)
    back = dg.onnx.load(path)
    with dg.no_grad():
        want, got = _flat(model(dg.tensor(x))), _flat(back.forward_list(x))
    for g, w in zip(got, want, strict=True):  # bit-identical: the same fused op, same math
        np.testing.assert_array_equal(g.data, w.data)
    return back


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_round_trip_builds_deepgrad_layers(tmp_path, ort, cls):
    dg.manual_seed(4)
    model = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    back = _round_trip(tmp_path, model, rand((3, 5, 3)))
    rec = [m for m in back.layers if isinstance(m, OnnxRecurrent)]
    assert len(rec) == 2 and all(isinstance(m.rnn, cls) for m in rec)
    assert all(p.requires_grad for m in rec for p in m.parameters())
    # the first layer's weights are the original's (gates back in PyTorch's order)
    np.testing.assert_array_equal(rec[0].rnn.weight_ih_l0_reverse.data,
                                  model.weight_ih_l0_reverse.data)
    # and written out again, ONNX Runtime agrees
    path2 = tmp_path / "again.onnx"
    dg.onnx.export(back, rand((3, 5, 3)), path2)
    _ort_matches(path2, ort, back, [(1, 5, 3), (7, 5, 3)])


def test_round_trip_keras_layers_trains_and_saves(tmp_path):
    dg.manual_seed(5)
    model = nn.Sequential(nn.Bidirectional(nn.LSTMLayer(3, return_sequences=True, input_dim=2)),
                          nn.GRULayer(2, go_backwards=True))
    x = rand((4, 6, 2))
    back = _round_trip(tmp_path, model, x)
    loss = (back(x) ** 2).sum()
    loss.backward()
    rec = [m for m in back.layers if isinstance(m, OnnxRecurrent)]
    assert [m.direction for m in rec] == ["bidirectional", "reverse"]
    assert all(p.grad is not None and np.any(p.grad.data) for m in rec
               for p in m.parameters())
    dg.save(back, tmp_path / "m.dg")
    again = dg.load(tmp_path / "m.dg")
    with dg.no_grad():
        np.testing.assert_array_equal(again(x).data, back(x).data)


def _torch_export(torch, module, x, path, dynamic=True, **kw):
    torch.onnx.export(module, torch.from_numpy(x), str(path), dynamo=False, opset_version=17,
                      input_names=["x"], dynamic_axes={"x": {0: "n"}} if dynamic else None,
                      **kw)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("kind,kw", [
    ("LSTM", dict(num_layers=2, bidirectional=True)), ("LSTM", dict(bias=False)),
    ("GRU", dict(num_layers=2, bidirectional=True)), ("RNN", dict(nonlinearity="relu")),
])
def test_pytorch_exported_networks_import_and_match(tmp_path, kind, kw):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(torch.nn, kind)(3, 4, batch_first=True, **kw)
            self.head = torch.nn.Linear(4 * (2 if kw.get("bidirectional") else 1), 2)

        def forward(self, x):
            y, h = self.rnn(x)
            return self.head(y[:, -1])

    net = Net().eval()
    _torch_export(torch, net, rand((2, 5, 3)), tmp_path / "t.onnx")
    model = dg.onnx.load(tmp_path / "t.onnx")
    rec = [m for m in model.layers if isinstance(m, OnnxRecurrent)]
    assert rec and all(type(m.rnn).__name__ == kind for m in rec)
    for b in (1, 7):
        x = rand((b, 5, 3), seed=b)
        with torch.no_grad():
            want = net(torch.from_numpy(x)).numpy()
        with dg.no_grad():
            np.testing.assert_allclose(model(x).data, want, **TOL)


@pytest.mark.filterwarnings("ignore")
def test_pytorch_exported_states_and_initial_state_inputs(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(3, 4).eval()
    x, h0, c0 = rand((5, 2, 3)), rand((1, 2, 4), seed=1), rand((1, 2, 4), seed=2)
    torch.onnx.export(lstm, (torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0))),
                      str(tmp_path / "t.onnx"), dynamo=False, opset_version=17,
                      input_names=["x", "h0", "c0"], output_names=["y", "h", "c"])
    model = dg.onnx.load(tmp_path / "t.onnx")
    with torch.no_grad():
        y, (h, c) = lstm(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
    with dg.no_grad():
        got = model.forward_list(x, h0, c0)
    for g, w in zip(got, [y, h, c], strict=True):
        np.testing.assert_allclose(g.data, w.numpy(), **TOL)


def _save(graph, path):
    h = onnx.helper
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    model.ir_version = 8  # what ONNX Runtime reads
    onnx.save(model, str(path))


def _lstm_model(tmp_path, **attrs):
    h = onnx.helper
    W = rand((1, 16, 3))
    R = rand((1, 16, 4), seed=1)
    node = h.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=4, **attrs)
    graph = h.make_graph([node], "g", [h.make_tensor_value_info("x", 1, [5, 2, 3])],
                         [h.make_tensor_value_info("y", 1, None)],
                         initializer=[onnx.numpy_helper.from_array(W, "W"),
                                      onnx.numpy_helper.from_array(R, "R")])
    path = tmp_path / "m.onnx"
    _save(graph, path)
    return path


def _gru_file(path, layout):
    h = onnx.helper
    W, R, B = rand((2, 9, 3)), rand((2, 9, 3), seed=1), rand((2, 18), seed=2)
    node = h.make_node("GRU", ["x", "W", "R", "B"], ["y", "yh"], hidden_size=3,
                       direction="bidirectional", linear_before_reset=1, layout=layout)
    shape = ["n", 4, 3] if layout else [4, "n", 3]
    graph = h.make_graph([node], "g", [h.make_tensor_value_info("x", 1, shape)],
                         [h.make_tensor_value_info("y", 1, None),
                          h.make_tensor_value_info("yh", 1, None)],
                         initializer=[onnx.numpy_helper.from_array(a, k)
                                      for a, k in ((W, "W"), (R, "R"), (B, "B"))])
    _save(graph, path)
    return path


def test_handwritten_batch_major_node_matches_onnxruntime(tmp_path, ort):
    # ONNX Runtime runs layout=0 only: the same node time-major is the reference
    x = rand((7, 4, 3), seed=3)
    y, yh = run_ort(ort, _gru_file(tmp_path / "t.onnx", 0), x.transpose(1, 0, 2))
    model = dg.onnx.load(_gru_file(tmp_path / "b.onnx", 1))
    with dg.no_grad():
        got = model.forward_list(x)
    np.testing.assert_allclose(got[0].data, y.transpose(2, 0, 1, 3), **TOL)
    np.testing.assert_allclose(got[1].data, yh.transpose(1, 0, 2), **TOL)
    path = tmp_path / "again.onnx"  # written back with Transposes, which ONNX Runtime runs
    dg.onnx.export(model, x, path)
    for g, w in zip(run_ort(ort, path, x), got, strict=True):
        np.testing.assert_allclose(g, w.data, **TOL)


@pytest.mark.parametrize("attrs,message", [
    (dict(clip=1.0), "clip"), (dict(input_forget=1), "input_forget"),
    (dict(activations=["Sigmoid", "Relu", "Tanh"]), "activations"),
])
def test_unsupported_forms_are_refused_clearly(tmp_path, attrs, message):
    with pytest.raises(ValueError, match=message):
        dg.onnx.load(_lstm_model(tmp_path, **attrs))


def test_gru_without_linear_before_reset_is_refused(tmp_path):
    h = onnx.helper
    node = h.make_node("GRU", ["x", "W", "R"], ["y"], hidden_size=2)
    graph = h.make_graph([node], "g", [h.make_tensor_value_info("x", 1, [3, 1, 2])],
                         [h.make_tensor_value_info("y", 1, None)],
                         initializer=[onnx.numpy_helper.from_array(rand((1, 6, 2)), "W"),
                                      onnx.numpy_helper.from_array(rand((1, 6, 2)), "R")])
    path = tmp_path / "m.onnx"
    _save(graph, path)
    with pytest.raises(ValueError, match="linear_before_reset"):
        dg.onnx.load(path)


def test_layers_without_onnx_form_are_refused(tmp_path):
    with pytest.raises(ValueError, match="proj_size"):
        dg.onnx.export(nn.LSTM(3, 4, proj_size=2), rand((5, 2, 3)), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="return_state"):
        dg.onnx.export(nn.LSTMLayer(3, return_state=True, input_dim=2), rand((2, 4, 2)),
                       tmp_path / "m.onnx")


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_constant_initial_states_use_the_operator_table(tmp_path, ort, op):
    # a non-zero constant start has no nn layer form: the generic operator runs, its
    # weights trainable in ONNX's layout
    h = onnx.helper
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    inits = {"W": rand((1, 3 * G, 2)), "R": rand((1, 3 * G, 3), seed=1),
             "B": rand((1, 6 * G), seed=2), "h0": rand((1, 4, 3), seed=3)}
    names = ["x", "W", "R", "B", "", "h0"]
    if op == "LSTM":
        inits["c0"] = rand((1, 4, 3), seed=4)
        names.append("c0")
    attrs = {"linear_before_reset": 1} if op == "GRU" else {}
    node = h.make_node(op, names, ["y", "yh"], hidden_size=3, direction="reverse", **attrs)
    graph = h.make_graph([node], "g", [h.make_tensor_value_info("x", 1, [5, 4, 2])],
                         [h.make_tensor_value_info("y", 1, None),
                          h.make_tensor_value_info("yh", 1, None)],
                         initializer=[onnx.numpy_helper.from_array(a, k)
                                      for k, a in inits.items()])
    path = tmp_path / "m.onnx"
    _save(graph, path)
    model = dg.onnx.load(path)
    assert not any(isinstance(m, OnnxRecurrent) for m in model.layers)
    x = rand((5, 4, 2), seed=5)
    got = model.forward_list(x)
    for g, w in zip(got, run_ort(ort, path, x), strict=True):
        np.testing.assert_allclose(g.data, w, **TOL)
    (got[0] ** 2).sum().backward()
    assert all(p.grad is not None and np.any(p.grad.data) for p in model.parameters())

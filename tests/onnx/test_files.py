"""Bad ONNX files: each gives one clear error, before anything large is allocated, and
nothing in a file ever runs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.onnx import OnnxError, UnsupportedOperatorError

from .conftest import onnx

helper, TP = onnx.helper, onnx.TensorProto


def _model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape, t=TP.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def _gemm_model(w):
    return _model([helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)],
                  [_vi("x", [1, 2])], [_vi("y", [1, 2])], [w])


def test_unsupported_operators_are_all_listed_with_node_names():
    m = _model([helper.make_node("Relu", ["x"], ["a"]),
                helper.make_node("Hardmax", ["a"], ["b"], name="hm"),
                helper.make_node("Det", ["b"], ["c"], name="det1"),
                helper.make_node("Det", ["c"], ["y"], name="det2")],
               [_vi("x", [2, 2])], [_vi("y", [])])
    with pytest.raises(UnsupportedOperatorError) as e:
        dg.onnx.load(m.SerializeToString())
    assert "Det (nodes det1, det2)" in str(e.value) and "Hardmax (nodes hm)" in str(e.value)


def test_custom_domains_are_unsupported_operators():
    m = _model([helper.make_node("Relu", ["x"], ["y"], domain="com.example")],
               [_vi("x", [2])], [_vi("y", [2])])
    with pytest.raises(UnsupportedOperatorError, match="com.example.Relu"):
        dg.onnx.load(m.SerializeToString())


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"\xff\xff\xff\xff not a protobuf", "not an ONNX model"),
    (b"\x08\x07", "no graph"),
])
def test_garbage_is_refused(tmp_path, data, message):
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    with pytest.raises(OnnxError, match=message) as e:
        dg.onnx.load(path)
    assert str(path) in str(e.value)


def test_a_truncated_file_is_refused():
    w = onnx.numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    data = _gemm_model(w).SerializeToString()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 5):
        with pytest.raises(OnnxError):
            dg.onnx.load(data[:cut])


def test_a_tensor_larger_than_its_data_is_refused_before_allocation():
    w = TP(name="w", data_type=TP.FLOAT, dims=[1 << 20, 1 << 20])
    w.float_data.extend([1.0, 2.0])
    with pytest.raises(OnnxError, match="too large to be real"):
        dg.onnx.load(_gemm_model(w).SerializeToString())
    w = TP(name="w", data_type=TP.FLOAT, dims=[1 << 30, 4], raw_data=b"\0" * 16)
    with pytest.raises(OnnxError, match="holds 16 bytes"):
        dg.onnx.load(_gemm_model(w).SerializeToString())


def _external(tmp_path, location, length=16):
    w = TP(name="w", data_type=TP.FLOAT, dims=[2, 2])
    w.data_location = TP.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(length))):
        e = w.external_data.add()
        e.key, e.value = k, v
    path = tmp_path / "model" / "m.onnx"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(_gemm_model(w).SerializeToString())
    return path


def test_external_data_inside_the_directory_loads(tmp_path):
    path = _external(tmp_path, "weights.bin")
    (path.parent / "weights.bin").write_bytes(np.eye(2, dtype="<f4").tobytes())
    model = dg.onnx.load(path)
    with dg.no_grad():
        y = model(np.array([[1.0, 2.0]], np.float32)).data
    np.testing.assert_array_equal(y, [[1.0, 2.0]])


@pytest.mark.parametrize("location, message", [
    ("../secret.bin", "outside the model's directory"),
    ("/etc/passwd", "absolute"),
    ("missing.bin", "missing"),
])
def test_bad_external_data_paths(tmp_path, location, message):
    (tmp_path / "secret.bin").write_bytes(b"\0" * 16)
    path = _external(tmp_path, location)
    with pytest.raises(OnnxError, match=message):
        dg.onnx.load(path)


def test_truncated_external_data(tmp_path):
    path = _external(tmp_path, "weights.bin")
    (path.parent / "weights.bin").write_bytes(b"\0" * 8)
    with pytest.raises(OnnxError, match="truncated"):
        dg.onnx.load(path)


def test_external_data_from_bytes_is_refused(tmp_path):
    path = _external(tmp_path, "weights.bin")
    with pytest.raises(OnnxError, match="not read from a file"):
        dg.onnx.load(path.read_bytes())


def test_a_value_used_before_it_is_defined():
    m = _model([helper.make_node("Relu", ["ghost"], ["y"], name="r")],
               [_vi("x", [2])], [_vi("y", [2])])
    with pytest.raises(OnnxError, match="'ghost', which nothing before it defines"):
        dg.onnx.load(m.SerializeToString())


def test_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.onnx"):
        dg.onnx.load(tmp_path / "nothere.onnx")


def test_importing_deepgrad_and_deepgrad_onnx_does_not_import_onnx():
    code = ("import sys, deepgrad, deepgrad.onnx; "
            "print('onnx' in sys.modules, 'onnxruntime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_opset_11_forms_import_and_export_again(tmp_path):
    # opset 11: Squeeze/Unsqueeze axes and ReduceSum axes are attributes
    m = _model([helper.make_node("Unsqueeze", ["x"], ["a"], axes=[1]),
                helper.make_node("ReduceSum", ["a"], ["b"], axes=[2], keepdims=1),
                helper.make_node("Squeeze", ["b"], ["y"], axes=[1, 2])],
               [_vi("x", [3, 4])], [_vi("y", [3])], opset=11)
    model = dg.onnx.load(m.SerializeToString())
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    with dg.no_grad():
        y = model(x).data
    np.testing.assert_array_equal(y, x.sum(1))
    dg.onnx.export(model, x, tmp_path / "b.onnx")
    again = dg.onnx.load(tmp_path / "b.onnx")
    with dg.no_grad():
        np.testing.assert_array_equal(again(x).data, y)

"""Each operator of the import table on its own, against ONNX Runtime: the attribute forms
the ONNX test data leave out (asymmetric pads, auto_pad, ceil_mode, resize modes, ...)."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg

from .conftest import onnx, rand

helper, TP = onnx.helper, onnx.TensorProto


def _run(node, inputs, inits=None, opset=17, out_rank=None):
    """(deepgrad's output, ONNX Runtime's) for a one-node model; inputs: name -> array,
    inits: name -> array (initializers)."""
    ort = pytest.importorskip("onnxruntime")
    inits = inits or {}
    vis = [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
           for k, v in inputs.items()]
    out = helper.make_tensor_value_info(node.output[0], TP.FLOAT, None)
    g = helper.make_graph([node], "g", vis, [out],
                          initializer=[onnx.numpy_helper.from_array(v, k)
                                       for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    data = m.SerializeToString()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    want = sess.run(None, inputs)[0]
    model = dg.onnx.load(data)
    with dg.no_grad():
        got = model(*inputs.values())
    return np.asarray(got.data if hasattr(got, "data") else got), want


X4 = rand((2, 3, 7, 6), seed=1)
W4 = rand((4, 3, 3, 3), seed=2)

CASES = {
    "conv_asymmetric_pads": (helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 1, 2, 1]),
                             {"x": X4}, {"w": W4}),
    "conv_same_upper_strided": (helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2],
                                                 auto_pad="SAME_UPPER"), {"x": X4}, {"w": W4}),
    "conv_same_lower": (helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 1],
                                         auto_pad="SAME_LOWER"), {"x": X4}, {"w": W4}),
    "conv_dilated": (helper.make_node("Conv", ["x", "w"], ["y"], dilations=[2, 1],
                                      pads=[2, 1, 1, 0]), {"x": X4}, {"w": W4}),
    "conv_grouped": (helper.make_node("Conv", ["x", "w"], ["y"], group=3, pads=[1, 1, 1, 1]),
                     {"x": X4}, {"w": rand((6, 1, 3, 3), seed=3)}),
    "conv_1d": (helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 2]),
                {"x": rand((2, 3, 9))}, {"w": rand((4, 3, 3)), "b": rand((4,))}),
    "conv_weight_as_input": (helper.make_node("Conv", ["x", "w"], ["y"]),
                             {"x": X4, "w": W4}, None),
    "conv_transpose": (helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2],
                                        pads=[1, 0, 1, 0], output_padding=[1, 0]),
                       {"x": X4}, {"w": rand((3, 2, 3, 3)), "b": rand((2,))}),
    "maxpool_ceil_pads": (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3],
                                           strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
                          {"x": X4}, None),
    "maxpool_asymmetric": (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 3],
                                            pads=[0, 0, 1, 2]), {"x": X4}, None),
    "maxpool_same_upper": (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3],
                                            strides=[2, 2], auto_pad="SAME_UPPER"),
                           {"x": X4}, None),
    "avgpool_exclude_pad": (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                                             pads=[1, 1, 1, 1]), {"x": X4}, None),
    "avgpool_include_pad": (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                                             pads=[1, 1, 1, 1], count_include_pad=1),
                            {"x": X4}, None),
    "avgpool_asymmetric_exclude": (helper.make_node("AveragePool", ["x"], ["y"],
                                                    kernel_shape=[2, 2], pads=[0, 1, 1, 0]),
                                   {"x": X4}, None),
    "global_max": (helper.make_node("GlobalMaxPool", ["x"], ["y"]), {"x": X4}, None),
    "lrn": (helper.make_node("LRN", ["x"], ["y"], size=3, alpha=1e-3, beta=0.6, bias=2.0),
            {"x": X4}, None),
    "instance_norm": (helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"],
                                       epsilon=1e-3),
                      {"x": X4}, {"s": rand((3,), 4), "b": rand((3,), 5)}),
    "layer_norm": (helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-2),
                   {"x": X4}, {"s": rand((7, 6), 4), "b": rand((7, 6), 5)}),
    "resize_nearest_half_pixel": (helper.make_node("Resize", ["x", "", "s"], ["y"],
                                                   mode="nearest"),
                                  {"x": X4}, {"s": np.array([1, 1, 1.5, 2], np.float32)}),
    "resize_linear_sizes": (helper.make_node("Resize", ["x", "", "", "z"], ["y"], mode="linear"),
                            {"x": X4}, {"z": np.array([2, 3, 11, 4], np.int64)}),
    "resize_align_corners": (helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear",
                                              coordinate_transformation_mode="align_corners"),
                             {"x": X4}, {"s": np.array([1, 1, 2, 2], np.float32)}),
    "pad_reflect": (helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect"),
                    {"x": X4}, {"p": np.array([0, 0, 2, 1, 0, 0, 1, 3], np.int64)}),
    "pad_edge_crop": (helper.make_node("Pad", ["x", "p"], ["y"], mode="edge"),
                      {"x": X4}, {"p": np.array([0, 0, -1, 2, 0, 0, 1, -2], np.int64)}),
    "pad_constant": (helper.make_node("Pad", ["x", "p", "v"], ["y"]),
                     {"x": X4}, {"p": np.array([0, 1, 0, 0, 0, 0, 2, 1], np.int64),
                                 "v": np.array(1.5, np.float32)}),
    "hardswish": (helper.make_node("HardSwish", ["x"], ["y"]), {"x": X4 * 4}, None),
    "hardsigmoid": (helper.make_node("HardSigmoid", ["x"], ["y"], alpha=0.3), {"x": X4}, None),
    "selu": (helper.make_node("Selu", ["x"], ["y"]), {"x": X4}, None),
    "prelu": (helper.make_node("PRelu", ["x", "s"], ["y"]), {"x": X4},
              {"s": rand((3, 1, 1), 6)}),
    "clip_inputs": (helper.make_node("Clip", ["x", "lo", "hi"], ["y"]), {"x": X4},
                    {"lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)}),
    "gemm_trans_alpha_beta": (helper.make_node("Gemm", ["a", "b", "c"], ["y"], transA=1,
                                               alpha=0.5, beta=2.0),
                              {"a": rand((5, 3))}, {"b": rand((5, 4)), "c": rand((3, 4))}),
    "softmax_axis1_opset11": (helper.make_node("Softmax", ["x"], ["y"]), {"x": X4}, None),
    "reduce_max_keepdims0": (helper.make_node("ReduceMax", ["x"], ["y"], axes=[1, 3],
                                              keepdims=0), {"x": X4}, None),
    "tile": (helper.make_node("Tile", ["x", "r"], ["y"]), {"x": rand((2, 3))},
             {"r": np.array([2, 3], np.int64)}),
    "expand": (helper.make_node("Expand", ["x", "s"], ["y"]), {"x": rand((3, 1))},
               {"s": np.array([2, 1, 4], np.int64)}),
    "gather_negative": (helper.make_node("Gather", ["x", "i"], ["y"], axis=1), {"x": X4},
                        {"i": np.array([[0, -1], [2, 1]], np.int64)}),
    "slice_steps": (helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"]), {"x": X4},
                    {"s": np.array([5, 0], np.int64), "e": np.array([-100, 9], np.int64),
                     "a": np.array([2, 3], np.int64), "t": np.array([-2, 2], np.int64)}),
    "split_sizes": (helper.make_node("Split", ["x", "s"], ["y", "z"], axis=3), {"x": X4},
                    {"s": np.array([2, 4], np.int64)}),
    "conv3d_grouped_strided": (helper.make_node("Conv", ["x", "w", "b"], ["y"], group=2,
                                                strides=[2, 1, 2], pads=[1, 0, 1, 0, 2, 1],
                                                dilations=[1, 2, 1]),
                               {"x": rand((2, 4, 5, 6, 7), 3)},
                               {"w": rand((6, 2, 2, 3, 2), 4), "b": rand((6,), 5)}),
    "maxpool3d_ceil_pads": (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 3, 2],
                                             strides=[2, 2, 2], pads=[1, 1, 0, 0, 1, 1],
                                             ceil_mode=1), {"x": rand((2, 3, 5, 6, 7), 6)},
                            None),
    "avgpool3d_include_pad": (helper.make_node("AveragePool", ["x"], ["y"],
                                               kernel_shape=[3, 3, 3], pads=[1] * 6,
                                               count_include_pad=1),
                              {"x": rand((1, 2, 4, 5, 6), 7)}, None),
    "avgpool3d_exclude_pad": (helper.make_node("AveragePool", ["x"], ["y"],
                                               kernel_shape=[2, 3, 2], strides=[1, 2, 2],
                                               pads=[0, 1, 1, 1, 0, 1]),
                              {"x": rand((1, 2, 4, 5, 6), 8)}, None),
}
OPSETS = {"softmax_axis1_opset11": 11, "reduce_max_keepdims0": 13}


@pytest.mark.parametrize("name", sorted(CASES))
def test_operator_matches_onnxruntime(name):
    node, inputs, inits = CASES[name]
    got, want = _run(node, inputs, inits, opset=OPSETS.get(name, 17))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _conv_pad_model(weight_as_input: bool) -> bytes:
    w = rand((3, 2, 3, 3), 1, np.float64)
    nodes = [helper.make_node("Conv", ["x0", "w"], ["x"], pads=[0, 1, 2, 1]),
             helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect")]
    inputs = [helper.make_tensor_value_info("x0", TP.DOUBLE, [1, 2, 5, 5])]
    inits = [onnx.numpy_helper.from_array(np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64), "p")]
    if weight_as_input:
        inputs.append(helper.make_tensor_value_info("w", TP.DOUBLE, [3, 2, 3, 3]))
    else:
        inits.append(onnx.numpy_helper.from_array(w, "w"))
    g = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", TP.DOUBLE,
                                                                             None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_imported_operators_carry_gradients():
    """Fine-tuning needs gradients through the generic operator layers too: float64
    finite differences through an asymmetric-pad Conv and a reflect Pad, for the input and
    the weight; an initializer weight becomes a Parameter that receives its gradient."""
    model = dg.onnx.load(_conv_pad_model(weight_as_input=True))
    x = dg.tensor(rand((1, 2, 5, 5), 2, np.float64), requires_grad=True)
    w = dg.tensor(rand((3, 2, 3, 3), 3, np.float64), requires_grad=True)
    assert dg.gradcheck(lambda a, b: model(a, b), x, w)
    model = dg.onnx.load(_conv_pad_model(weight_as_input=False))
    (param,) = list(model.parameters())
    model(x.data).sum().backward()
    assert param.grad is not None and np.abs(param.grad).sum() > 0


def test_3d_convolution_and_pooling_carry_gradients():
    """The 3-D forms are built from the 2-D fused ops: float64 finite differences."""
    from deepgrad.onnx._ops_3d import conv3d, pool3d

    x = dg.tensor(rand((1, 2, 4, 4, 3), 1, np.float64), requires_grad=True)
    w = dg.tensor(rand((2, 1, 2, 2, 2), 2, np.float64), requires_grad=True)
    assert dg.gradcheck(lambda a, b: conv3d(a, b, None, [1, 2, 1], [1, 1, 1], [1, 0, 1, 0, 1, 0],
                                            2), x, w)
    assert dg.gradcheck(lambda a: pool3d("avg", a, [2, 2, 2], [1, 1, 1], [1, 1, 1],
                                         [1, 0, 0, 0, 1, 1], True, False), x)

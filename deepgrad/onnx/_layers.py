"""Export table: deepgrad layer class name -> a function emitting its ONNX nodes.

Each function is ``fn(emitter, layer, input_names, path) -> output_name``; ``path`` is the
layer's dotted name in the model (node names and error messages use it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._emit import Emitter, pair, param_dtype, scalar
from ._export_extra import EXTRA_EXPORTERS

__all__ = ["EXPORTERS", "export_error", "emit_activation"]

Exporter = Callable[[Emitter, Any, list[str], str], str]


def export_error(layer: Any, path: str) -> ValueError:
    where = f"layer {path.rstrip('.')!r} " if path else "the model "
    return ValueError(f"ONNX export: {where}({type(layer).__name__}) has no ONNX form; "
                      f"layers that do: {', '.join(sorted(EXPORTERS))}")


def _linear(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    if m.weight is None:
        raise ValueError(f"ONNX export: layer {path!r} ({type(m).__name__}) is not built yet "
                         "(call the model once first)")
    b = em.param(m.bias, f"{path}.bias") if m.bias is not None else None
    if len(em.shapes.get(ins[0], ())) == 2:  # Gemm: imported back as one Linear layer
        inputs = [ins[0], em.param(m.weight, f"{path}.weight")] + ([b] if b else [])
        return em.node("Gemm", inputs, name=f"{path}.gemm", transB=1)
    # other ranks: MatMul by the transposed weight, then Add, as deepgrad's linear does
    wt = em.param(m.weight, f"{path}.weight_t", transform=_transposed)
    y = em.node("MatMul", [ins[0], wt], name=f"{path}.matmul")
    if b is not None:
        y = em.node("Add", [y, b], name=f"{path}.add")
    return y


def _transposed(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.T)


def _dense(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    y = _linear(em, m, ins, path)
    return emit_activation(em, m.activation_name, [y], f"{path}.activation", m)


def _conv_common(em: Emitter, m: Any, ins: list[str], path: str, nd: int) -> str:
    x = ins[0]
    k = list(m.weight.shape[2:])
    stride = list(m.stride) if nd == 2 else [int(np.ravel(m.stride)[0])]
    dil = list(m.dilation) if nd == 2 else [int(np.ravel(m.dilation)[0])]
    pad = m.padding
    attrs: dict[str, Any] = {}
    if isinstance(pad, str):
        if pad == "same":
            total = [d * (kk - 1) for d, kk in zip(dil, k, strict=True)]
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        else:
            pads = [0] * 2 * nd
    else:
        p = list(pad) if nd == 2 else [int(np.ravel(pad)[-1])]
        pads = p + p
    mode = getattr(m, "padding_mode", "zeros")
    if mode != "zeros" and any(pads):
        onnx_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
        if onnx_mode == "wrap" and em.opset < 19:
            raise ValueError(f"ONNX export: layer {path!r}: padding_mode='circular' needs "
                             "opset_version >= 19")
        full = [0, 0] + pads[:nd] + [0, 0] + pads[nd:]
        x = em.node("Pad", [x, em.const(np.asarray(full, np.int64), f"{path}.pads")],
                    name=f"{path}.pad", mode=onnx_mode)
        pads = [0] * 2 * nd
    attrs = dict(kernel_shape=k, strides=stride, dilations=dil, pads=pads,
                 group=int(getattr(m, "groups", 1)))
    inputs = [x, em.param(m.weight, f"{path}.weight")]
    if m.bias is not None:
        inputs.append(em.param(m.bias, f"{path}.bias"))
    return em.node("Conv", inputs, name=f"{path}.conv", **attrs)


def _conv2d(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    return _conv_common(em, m, ins, path, 2)


def _conv1d(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    return _conv_common(em, m, ins, path, 1)


def _conv_transpose2d(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    p = pair(m.padding)
    inputs = [ins[0], em.param(m.weight, f"{path}.weight")]
    if m.bias is not None:
        inputs.append(em.param(m.bias, f"{path}.bias"))
    return em.node("ConvTranspose", inputs, name=f"{path}.conv_transpose",
                   kernel_shape=list(m.weight.shape[2:]), strides=pair(m.stride),
                   dilations=pair(getattr(m, "dilation", 1)), pads=p + p,
                   output_padding=pair(getattr(m, "output_padding", 0)),
                   group=int(getattr(m, "groups", 1)))


def _pool_attrs(m: Any) -> dict[str, Any]:
    p = pair(m.padding)
    return dict(kernel_shape=pair(m.kernel_size), strides=pair(m.stride), pads=p + p,
                ceil_mode=int(bool(getattr(m, "ceil_mode", False))))


def _max_pool(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    if getattr(m, "return_indices", False):
        raise ValueError(f"ONNX export: layer {path!r}: MaxPool2d(return_indices=True) has no "
                         "ONNX form here")
    dil = pair(getattr(m, "dilation", 1))
    return em.node("MaxPool", [ins[0]], name=f"{path}.maxpool", **_pool_attrs(m),
                   dilations=dil if dil != [1, 1] else None)


def _avg_pool(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    if getattr(m, "divisor_override", None):
        raise ValueError(f"ONNX export: layer {path!r}: AvgPool2d(divisor_override=...) has "
                         "no ONNX form")
    return em.node("AveragePool", [ins[0]], name=f"{path}.avgpool", **_pool_attrs(m),
                   count_include_pad=int(bool(getattr(m, "count_include_pad", True))))


def _global_avg(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    y = em.node("GlobalAveragePool", [ins[0]], name=f"{path}.gap")
    if type(m).__name__ == "GlobalAvgPool2d":  # (N, C, 1, 1) -> (N, C)
        y = em.node("Flatten", [y], name=f"{path}.flatten", axis=1)
    return y


def _adaptive_avg(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    if pair(m.output_size) != [1, 1]:
        raise ValueError(f"ONNX export: layer {path!r}: AdaptiveAvgPool2d to "
                         f"{m.output_size} has no ONNX form (output size 1 does)")
    return _global_avg(em, m, ins, path)


def _hardsigmoid(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    return em.node("HardSigmoid", [ins[0]], name=f"{path}.hardsigmoid", alpha=1 / 6, beta=0.5)


def _adaptive_max(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    if pair(m.output_size) != [1, 1] or getattr(m, "return_indices", False):
        raise ValueError(f"ONNX export: layer {path!r}: AdaptiveMaxPool2d to "
                         f"{m.output_size} has no ONNX form (output size 1 does)")
    return em.node("GlobalMaxPool", [ins[0]], name=f"{path}.gmp")


def _flatten(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    if getattr(m, "start_dim", 1) != 1 or getattr(m, "end_dim", -1) != -1:
        raise ValueError(f"ONNX export: layer {path!r}: only Flatten(start_dim=1, end_dim=-1) "
                         "is exported")
    return em.node("Flatten", [ins[0]], name=f"{path}.flatten", axis=1)


def _identity(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    return em.node("Identity", [ins[0]], name=path)


def _aligned(em: Emitter, ins: list[str], path: str) -> list[str]:
    """Keras's merge broadcasting: a lower-rank input gets 1s right after the batch axis."""
    rank = max(len(em.shapes.get(x, ())) for x in ins)
    out = []
    for i, x in enumerate(ins):
        r = len(em.shapes.get(x, ()))
        if 0 < r < rank:
            axes = np.arange(1, 1 + rank - r, dtype=np.int64)
            x = em.node("Unsqueeze", [x, em.const(axes, f"{path}.axes{i}")],
                        name=f"{path}.unsqueeze{i}")
        out.append(x)
    return out


def _merge(op: str) -> Exporter:
    def run(em: Emitter, m: Any, ins: list[str], path: str) -> str:
        if len(ins) == 1:
            return ins[0]
        ins = _aligned(em, ins, path)
        out = ins[0]
        for i, x in enumerate(ins[1:]):
            out = em.node(op, [out, x], name=f"{path}.{op.lower()}{i or ''}")
        return out

    return run


def _average(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    s = _merge("Add")(em, m, ins, path)
    return em.node("Div", [s, scalar(em, len(ins), f"{path}.n")], name=f"{path}.div")


def _concatenate(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    return em.node("Concat", ins, name=f"{path}.concat", axis=int(m.axis))


def _reshape(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    target = np.asarray([0, *m.target_shape], np.int64)  # 0: keep the batch size
    return em.node("Reshape", [ins[0], em.const(target, f"{path}.shape")], name=f"{path}.reshape")


def _permute(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    return em.node("Transpose", [ins[0]], name=f"{path}.transpose",
                   perm=[0, *[int(d) for d in m.dims]])


def _activation_layer(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    name = getattr(m, "activation_name", None) or getattr(m, "activation", None)
    return emit_activation(em, name if isinstance(name, str) else type(name).__name__.lower(),
                           ins, path, m)


def _softmax_like(op: str) -> Exporter:
    def run(em: Emitter, m: Any, ins: list[str], path: str) -> str:
        return em.node(op, [ins[0]], name=f"{path}.{op.lower()}", axis=int(m.dim))

    return run


def _gelu(em: Emitter, x: str, path: str, approximate: str) -> str:
    if em.opset >= 20:
        return em.node("Gelu", [x], name=f"{path}.gelu", approximate=approximate)
    half = scalar(em, 0.5, f"{path}.half")
    one = scalar(em, 1.0, f"{path}.one")
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = em.node("Mul", [x, em.node("Mul", [x, x])])
        inner = em.node("Add", [x, em.node("Mul", [cube, scalar(em, 0.044715, f"{path}.c")])])
        t = em.node("Tanh", [em.node("Mul", [inner, scalar(em, math.sqrt(2 / math.pi),
                                                            f"{path}.k")])])
    else:  # 0.5 x (1 + erf(x / sqrt 2))
        t = em.node("Erf", [em.node("Div", [x, scalar(em, math.sqrt(2.0), f"{path}.sqrt2")])])
    return em.node("Mul", [em.node("Mul", [x, half]), em.node("Add", [t, one])],
                   name=f"{path}.gelu")


def emit_activation(em: Emitter, name: str | None, ins: list[str], path: str,
                    layer: Any = None) -> str:
    """The nodes of a named activation (Dense's ``activation=``, ``Activation(name)``)."""
    x = ins[0]
    key = (name or "linear").lower()
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "elu": "Elu", "selu": "Selu", "hard_sigmoid": "HardSigmoid"}
    if key in ("linear", "none", "identity"):
        return x
    if key in simple:
        return em.node(simple[key], [x], name=f"{path}.{key}")
    if key in ("softmax", "log_softmax", "logsoftmax"):
        op = "Softmax" if key == "softmax" else "LogSoftmax"
        return em.node(op, [x], name=f"{path}.{key}", axis=-1)
    if key in ("leaky_relu", "leakyrelu"):
        return em.node("LeakyRelu", [x], name=f"{path}.leaky_relu",
                       alpha=float(getattr(layer, "negative_slope", 0.01)))
    if key in ("silu", "swish"):
        return em.node("Mul", [x, em.node("Sigmoid", [x])], name=f"{path}.silu")
    if key == "gelu":
        return _gelu(em, x, path, getattr(layer, "approximate", "none"))
    raise ValueError(f"ONNX export: layer {path!r}: activation {name!r} has no ONNX form here")


def _act(name: str) -> Exporter:
    return lambda em, m, ins, path: emit_activation(em, name, ins, path, m)


def _clip(lo: float, hi: float) -> Exporter:
    def run(em: Emitter, m: Any, ins: list[str], path: str) -> str:
        dt = param_dtype(m, em)
        lo_ = getattr(m, "min_val", lo)
        hi_ = getattr(m, "max_val", hi)
        return em.node("Clip", [ins[0], scalar(em, lo_, f"{path}.min", dt),
                                scalar(em, hi_, f"{path}.max", dt)], name=f"{path}.clip")

    return run


def _elu(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    return em.node("Elu", [ins[0]], name=f"{path}.elu", alpha=float(m.alpha))


def _softplus(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    if getattr(m, "beta", 1.0) != 1.0:
        raise ValueError(f"ONNX export: layer {path!r}: Softplus(beta != 1) has no ONNX form")
    return em.node("Softplus", [ins[0]], name=f"{path}.softplus")


def _prelu(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    w = m.weight
    slope = em.param(w, f"{path}.weight", transform=_channel_slope)
    return em.node("PRelu", [ins[0], slope], name=f"{path}.prelu")


def _channel_slope(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, 1, 1) if a.size > 1 else a.reshape(1)


def _hardswish(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    if em.opset >= 14:
        return em.node("HardSwish", [ins[0]], name=f"{path}.hardswish")
    hs = em.node("HardSigmoid", [ins[0]], alpha=1 / 6, beta=0.5)
    return em.node("Mul", [ins[0], hs], name=f"{path}.hardswish")


def _mish(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    t = em.node("Tanh", [em.node("Softplus", [ins[0]])])
    return em.node("Mul", [ins[0], t], name=f"{path}.mish")


EXPORTERS: dict[str, Exporter] = {
    "Linear": _linear, "Dense": _dense, "Conv2d": _conv2d, "Conv1d": _conv1d,
    "ConvTranspose2d": _conv_transpose2d, "ConvTranspose1d": _conv_transpose2d,
    "Hardsigmoid": _hardsigmoid, "AdaptiveMaxPool2d": _adaptive_max,
    "MaxPool2d": _max_pool, "AvgPool2d": _avg_pool, "AdaptiveAvgPool2d": _adaptive_avg,
    "GlobalAvgPool2d": _global_avg,
    "Dropout": _identity, "Dropout2d": _identity, "Identity": _identity, "Flatten": _flatten,
    "ReLU": _act("relu"), "Sigmoid": _act("sigmoid"), "Tanh": _act("tanh"),
    "LeakyReLU": _act("leaky_relu"), "SiLU": _act("silu"), "GELU": _act("gelu"),
    "ELU": _elu, "Softplus": _softplus, "Hardtanh": _clip(-1.0, 1.0), "ReLU6": _clip(0.0, 6.0),
    "PReLU": _prelu, "Hardswish": _hardswish, "Mish": _mish,
    "Softmax": _softmax_like("Softmax"), "LogSoftmax": _softmax_like("LogSoftmax"),
    "Add": _merge("Add"), "Subtract": _merge("Sub"), "Multiply": _merge("Mul"),
    "Maximum": _merge("Max"), "Minimum": _merge("Min"), "Average": _average,
    "Concatenate": _concatenate, "Reshape": _reshape, "Permute": _permute,
    "Activation": _activation_layer,
    **EXTRA_EXPORTERS,
}

"""Export table, continued: normalization layers, resizing, reshaping, and imported ONNX
operators written back (with attributes moved to inputs where the target opset wants)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._emit import Emitter, param_dtype
from ._export_rnn import RNN_EXPORTERS

__all__ = ["EXTRA_EXPORTERS"]


def _batch_norm(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    if m.running_mean is None:
        raise ValueError(f"ONNX export: layer {path!r}: BatchNorm without running statistics "
                         "(track_running_stats=False) has no inference form")
    c, dt = m.num_features, m.running_mean.data.dtype
    scale = em.param(m.weight, f"{path}.weight") if getattr(m, "weight", None) is not None \
        else em.const(np.ones(c, dt), f"{path}.scale")
    bias = em.param(m.bias, f"{path}.bias") if getattr(m, "bias", None) is not None \
        else em.const(np.zeros(c, dt), f"{path}.shift")
    return em.node("BatchNormalization", [ins[0], scale, bias,
                                          em.param(m.running_mean, f"{path}.running_mean"),
                                          em.param(m.running_var, f"{path}.running_var")],
                   name=f"{path}.batchnorm", epsilon=float(m.eps))


def _layer_norm(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    shape = tuple(m.normalized_shape)
    dt = param_dtype(m, em)
    w = em.param(m.weight, f"{path}.weight") if getattr(m, "weight", None) is not None \
        else em.const(np.ones(shape, dt), f"{path}.scale")
    inputs = [ins[0], w]
    if getattr(m, "bias", None) is not None:
        inputs.append(em.param(m.bias, f"{path}.bias"))
    return em.node("LayerNormalization", inputs, name=f"{path}.layernorm",
                   axis=-len(shape), epsilon=float(m.eps))


def _upsample(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    mode = m.mode
    if mode == "nearest":
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                     nearest_mode="floor")
    elif mode in ("bilinear", "linear"):
        how = "align_corners" if m.align_corners else "pytorch_half_pixel"
        attrs = dict(mode="linear", coordinate_transformation_mode=how)
    else:
        raise ValueError(f"ONNX export: layer {path!r}: Upsample mode {mode!r} has no ONNX "
                         "form here (nearest, linear, bilinear do)")
    shape = em.shapes[ins[0]]
    nd = len(shape) - 2
    if m.size is None and not getattr(m, "recompute_scale_factor", False):
        sf = m.scale_factor if isinstance(m.scale_factor, tuple) else (m.scale_factor,) * nd
        scales = em.const(np.asarray([1.0, 1.0, *sf], np.float32), f"{path}.scales")
        return em.node("Resize", [ins[0], "", scales], name=f"{path}.resize", **attrs)
    out = tuple(m(_zeros(shape, em)).shape)
    lead = em.node("Slice", [em.node("Shape", [ins[0]]),
                             em.const(np.asarray([0], np.int64), f"{path}.start"),
                             em.const(np.asarray([2], np.int64), f"{path}.end")])
    sizes = em.node("Concat", [lead, em.const(np.asarray(out[2:], np.int64), f"{path}.hw")],
                    axis=0)
    return em.node("Resize", [ins[0], "", "", sizes], name=f"{path}.resize", **attrs)


def _zeros(shape: tuple[int, ...], em: Emitter) -> Any:
    from ..autograd.tensor import Tensor

    return Tensor(np.zeros(shape, dtype=em.dtype))


def _group_norm(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    g, dt = m.num_groups, param_dtype(m, em)
    grouped = em.node("Reshape", [ins[0], em.const(np.asarray([0, g, -1], np.int64),
                                                   f"{path}.groups")])
    normed = em.node("InstanceNormalization",
                     [grouped, em.const(np.ones(g, dt), f"{path}.one"),
                      em.const(np.zeros(g, dt), f"{path}.zero")], epsilon=float(m.eps))
    y = em.node("Reshape", [normed, em.node("Shape", [ins[0]])], name=f"{path}.groupnorm")
    if getattr(m, "weight", None) is None:
        return y
    nd = len(em.shapes[ins[0]])
    y = em.node("Mul", [y, em.param(m.weight, f"{path}.weight", transform=_per_channel(nd))])
    return em.node("Add", [y, em.param(m.bias, f"{path}.bias", transform=_per_channel(nd))])


def _per_channel(nd: int) -> Callable[[np.ndarray], np.ndarray]:
    def per_channel(a: np.ndarray) -> np.ndarray:
        return a.reshape((-1,) + (1,) * (nd - 2))

    per_channel.__name__ = f"per_channel{nd}"
    return per_channel


def _instance_norm(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    c, dt = m.num_features, param_dtype(m, em)
    if getattr(m, "running_mean", None) is not None:  # eval with running statistics
        return _batch_norm(em, m, ins, path)
    scale = em.param(m.weight, f"{path}.weight") if getattr(m, "weight", None) is not None \
        else em.const(np.ones(c, dt), f"{path}.scale")
    bias = em.param(m.bias, f"{path}.bias") if getattr(m, "bias", None) is not None \
        else em.const(np.zeros(c, dt), f"{path}.shift")
    return em.node("InstanceNormalization", [ins[0], scale, bias], name=f"{path}.instnorm",
                   epsilon=float(m.eps))


def _unflatten(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    shape = list(em.shapes[ins[0]])
    d = m.dim % len(shape)
    if d == 0:
        raise ValueError(f"ONNX export: layer {path!r}: Unflatten of the batch axis has no "
                         "batch-independent form")
    target = [0, *shape[1:d], *m.unflattened_size, *shape[d + 1:]]
    return em.node("Reshape", [ins[0], em.const(np.asarray(target, np.int64), f"{path}.shape")],
                   name=f"{path}.unflatten")




# Attributes that later opsets take as inputs: (op, attribute, first opset with the input,
# input position, dtype).
_MOVED = {
    ("Squeeze", "axes"): (13, 1, np.int64), ("Unsqueeze", "axes"): (13, 1, np.int64),
    ("ReduceSum", "axes"): (13, 1, np.int64), ("ReduceMean", "axes"): (18, 1, np.int64),
    ("ReduceMax", "axes"): (18, 1, np.int64), ("ReduceMin", "axes"): (18, 1, np.int64),
    ("Split", "split"): (13, 1, np.int64), ("Pad", "pads"): (11, 1, np.int64),
    ("Pad", "value"): (11, 2, None), ("Clip", "min"): (11, 1, None),
    ("Clip", "max"): (11, 2, None), ("Slice", "starts"): (10, 1, np.int64),
    ("Slice", "ends"): (10, 2, np.int64), ("Slice", "axes"): (10, 3, np.int64),
}


def _onnx_op(em: Emitter, m: Any, ins: list[str], path: str) -> str:
    """An imported operator written back, its attributes moved to inputs where the target
    opset wants them."""
    op = m.op_type
    if m.opset < 13 and op in ("Softmax", "LogSoftmax") and \
            m._attrs.get("axis", 1) % max(len(em.shapes.get(ins[0], ())), 1) != \
            len(em.shapes.get(ins[0], ())) - 1:
        raise ValueError(f"ONNX export: layer {path!r}: {op} from opset {m.opset} normalizes "
                         "a flattened 2-D view; it has no opset >= 13 form here")
    if op == "Upsample":
        raise ValueError(f"ONNX export: layer {path!r}: Upsample (deprecated) is not exported")
    values, it = [], iter(ins)
    for spec in m.inputs:
        if spec == "x":
            values.append(next(it))
        elif spec is None:
            values.append("")
        else:
            t = getattr(m, spec[0])
            values.append(em.param(t, f"{path}.{spec[0]}"))
    attrs = {k: v for k, v in m._attrs.values.items() if not k.startswith("_")}
    for (op_, key), (since, pos, dt) in _MOVED.items():
        if op_ == op and key in attrs and m.opset < since <= em.opset:
            v = attrs.pop(key)
            while len(values) <= pos:
                values.append("")
            values[pos] = em.const(np.asarray(v, dtype=dt if dt else em.dtype), f"{path}.{key}")
    if op == "Dropout":
        return em.node("Identity", [ins[0]], name=f"{path}.identity")
    while values and values[-1] == "":
        values.pop()
    n_out = int(m._attrs.get("_outputs", 1))
    outs = [em.fresh(f"{path}_out{i}") for i in range(n_out)]
    em.node(op, values, name=path, outputs=outs, **attrs)
    return outs[int(em.call_kwargs.get("output", 0))]


EXTRA_EXPORTERS = {
    "BatchNorm1d": _batch_norm, "BatchNorm2d": _batch_norm, "SyncBatchNorm": _batch_norm,
    "LayerNorm": _layer_norm, "GroupNorm": _group_norm, "InstanceNorm2d": _instance_norm,
    "Upsample": _upsample, "Unflatten": _unflatten, "OnnxOp": _onnx_op,
    **RNN_EXPORTERS,
}

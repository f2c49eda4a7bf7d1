"""The network operators of the table: convolutions, pooling, normalization, LRN, resizing.

ONNX allows what PyTorch's functions don't (asymmetric pads, ``auto_pad``, 1-D inputs);
those cases are rewritten to explicit padding or cropping around deepgrad's fused ops.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.ops import arith, reduce, shape
from ..autograd.ops import conv as C
from ..autograd.ops import math as M
from ..autograd.ops import pool as P
from ._ops_3d import conv3d, pool3d
from ._proto import OnnxError
from ._values import Attrs, data, ints, lift

__all__ = ["NN_OPS", "conv_pads", "spatial_2d"]


def spatial_2d(op: str, x: Any) -> int:
    """The number of spatial axes of ``x`` (1 or 2); 3-D operators are not supported."""
    k = len(data(x).shape) - 2
    if k not in (1, 2):
        raise OnnxError(f"{op}: {k}-D spatial inputs are not supported (1-D, 2-D and, for Conv "
                        "and pooling, 3-D are)")
    return k


def _to_2d(x: Any, k: int) -> Any:
    return x if k == 2 else shape.reshape(x, (*x.shape[:2], 1, x.shape[2]))


def _from_2d(y: Any, k: int) -> Any:
    return y if k == 2 else shape.reshape(y, (*y.shape[:2], y.shape[3]))


def _pair(values: list[int], k: int, fill: int) -> tuple[int, int]:
    return (fill, values[0]) if k == 1 else (values[0], values[1])


def conv_pads(a: Attrs, spatial: tuple[int, ...], kernel: list[int], strides: list[int],
              dilations: list[int]) -> list[int]:
    """ONNX's pads ``[b1, b2, ..., e1, e2, ...]`` after resolving ``auto_pad``."""
    nd = len(spatial)
    auto = a.get("auto_pad", "NOTSET")
    if isinstance(auto, bytes):
        auto = auto.decode()
    if auto in ("NOTSET", ""):
        return list(a.get("pads", [0] * 2 * nd))
    if auto == "VALID":
        return [0] * 2 * nd
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise OnnxError(f"{a.op_type}: unknown auto_pad {auto!r}")
    begin, end = [], []
    for n, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
        out = -(-n // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
        small, big = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else big)
        end.append(big if auto == "SAME_UPPER" else small)
    return begin + end


def _geometry(a: Attrs, x: Any, kernel: list[int]) -> tuple[list[int], list[int], list[int]]:
    k = len(kernel)
    strides = list(a.get("strides", [1] * k))
    dilations = list(a.get("dilations", [1] * k))
    pads = conv_pads(a, tuple(data(x).shape[2:]), kernel, strides, dilations)
    return strides, dilations, pads


def _explicit_pad(x: Any, pads: list[int], value: float) -> Any:
    k = len(pads) // 2
    width = [(0, 0), (0, 0)] + [(pads[i], pads[i + k]) for i in range(k)]
    return shape.pad(x, width, value)


def _conv(a: Attrs, x: Any, w: Any, b: Any = None) -> Any:
    kernel = list(a.get("kernel_shape", data(w).shape[2:]))
    strides, dilations, pads = _geometry(a, x, kernel)
    if len(data(x).shape) == 5:
        g = a.get("group", 1)
        return (lift(lambda t, u, v: conv3d(t, u, v, strides, dilations, pads, g))(x, w, b)
                if b is not None else
                lift(lambda t, u: conv3d(t, u, None, strides, dilations, pads, g))(x, w))
    k = spatial_2d("Conv", x)

    def f(t: Any, u: Any, v: Any = None) -> Any:
        sym = pads[:k] == pads[k:]
        if not sym:
            t = _explicit_pad(t, pads, 0.0)
        t, u = _to_2d(t, k), _to_2d(u, k)
        y = C.conv2d(t, u, v, stride=_pair(strides, k, 1), dilation=_pair(dilations, k, 1),
                     padding=_pair(pads[:k], k, 0) if sym else 0, groups=a.get("group", 1))
        return _from_2d(y, k)

    return lift(f)(x, w, b) if b is not None else lift(f)(x, w)


def _conv_transpose(a: Attrs, x: Any, w: Any, b: Any = None) -> Any:
    from ..autograd.ops import conv_transpose as CT

    k = spatial_2d("ConvTranspose", x)
    kernel = list(a.get("kernel_shape", data(w).shape[2:]))
    strides = list(a.get("strides", [1] * k))
    dil = list(a.get("dilations", [1] * k))
    outpad = list(a.get("output_padding", [0] * k))
    n_in = data(x).shape[2:]
    full = [s * (n - 1) + op + (kk - 1) * d + 1
            for n, s, op, kk, d in zip(n_in, strides, outpad, kernel, dil, strict=True)]
    auto = a.get("auto_pad", "NOTSET")
    if "output_shape" in a or auto in ("SAME_UPPER", "SAME_LOWER"):
        target = list(a.get("output_shape", [n * s for n, s in zip(n_in, strides, strict=True)]))
        target = target[-k:]
        total = [f_ - t for f_, t in zip(full, target, strict=True)]
        lower = auto == "SAME_LOWER"
        begin = [(t - t // 2) if lower else t // 2 for t in total]
        pads = begin + [t - bb for t, bb in zip(total, begin, strict=True)]
    elif auto == "VALID":
        pads = [0] * 2 * k
    else:
        pads = list(a.get("pads", [0] * 2 * k))

    def f(t: Any, u: Any, v: Any = None) -> Any:
        t, u = _to_2d(t, k), _to_2d(u, k)
        y = CT.conv_transpose2d(t, u, v, stride=_pair(strides, k, 1),
                                output_padding=_pair(outpad, k, 0),
                                groups=a.get("group", 1), dilation=_pair(dil, k, 1))
        y = _from_2d(y, k)
        key = (slice(None), slice(None)) + tuple(
            slice(pads[i], y.shape[2 + i] - pads[i + k]) for i in range(k))
        return shape.getitem(y, key) if any(pads) else y

    return lift(f)(x, w, b) if b is not None else lift(f)(x, w)


def _pool(kind: str) -> Any:
    def run(a: Attrs, x: Any) -> Any:
        op = "MaxPool" if kind == "max" else "AveragePool"
        kernel = list(a.get("kernel_shape"))
        strides, dil, pads = _geometry(a, x, kernel)
        ceil = bool(a.get("ceil_mode", 0))
        if len(data(x).shape) == 5:
            include = bool(a.get("count_include_pad", 0))
            return lift(lambda t: pool3d(kind, t, kernel, strides, dil, pads, ceil,
                                         include))(x), None
        k = spatial_2d(op, x)
        sym = pads[:k] == pads[k:] and all(
            p <= kk // 2 for p, kk in zip(pads[:k], kernel, strict=True))

        def f(t: Any) -> Any:
            kw = dict(kernel_size=_pair(kernel, k, 1), stride=_pair(strides, k, 1),
                      ceil_mode=ceil)
            if kind == "max":
                if not sym:
                    t = _explicit_pad(t, pads, -np.inf)
                t = _to_2d(t, k)
                y = P.max_pool2d(t, padding=_pair(pads[:k], k, 0) if sym else 0,
                                 dilation=_pair(dil, k, 1), **kw)
                return _from_2d(y, k)
            if any(d != 1 for d in dil):
                raise OnnxError("AveragePool: dilations other than 1 are not supported")
            include = bool(a.get("count_include_pad", 0))
            if sym:
                y = P.avg_pool2d(_to_2d(t, k), padding=_pair(pads[:k], k, 0),
                                 count_include_pad=include, **kw)
                return _from_2d(y, k)
            tp = _to_2d(_explicit_pad(t, pads, 0.0), k)
            y = P.avg_pool2d(tp, padding=0, count_include_pad=True, **kw)
            if not include:  # divide by the valid elements of each window, not the window
                ones = np.ones((1, 1, *data(t).shape[2:]), dtype=data(t).dtype)
                mask = _to_2d(_explicit_pad(shape.reshape(ones, ones.shape), pads, 0.0), k)
                y = arith.div(y, P.avg_pool2d(mask, padding=0, count_include_pad=True, **kw))
            return _from_2d(y, k)

        if kind == "max" and a.get("storage_order", 0):
            raise OnnxError("MaxPool: storage_order=1 is not supported")
        return lift(f)(x), None

    return run


def _global(kind: str) -> Any:
    def run(a: Attrs, x: Any) -> Any:
        axes = tuple(range(2, len(data(x).shape)))
        fn = reduce.mean if kind == "avg" else reduce.max
        return lift(lambda t: fn(t, axis=axes, keepdims=True))(x)

    return run


def _lrn(a: Attrs, x: Any) -> Any:
    size = int(a.get("size"))
    alpha, beta, bias = a.get("alpha", 1e-4), a.get("beta", 0.75), a.get("bias", 1.0)
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2

    def f(t: Any) -> Any:
        dt = t.dtype
        sq = arith.mul(t, t)
        width = [(0, 0), (lo, hi)] + [(0, 0)] * (len(t.shape) - 2)
        sq = shape.pad(sq, width, 0.0)
        c = t.shape[1]
        total = None
        for i in range(size):  # a loop over the window's few offsets, not over data
            part = shape.getitem(sq, (slice(None), slice(i, i + c)))
            total = part if total is None else arith.add(total, part)
        den = arith.add(arith.mul(total, np.asarray(alpha / size, dt)), np.asarray(bias, dt))
        return arith.div(t, arith.pow(den, np.asarray(beta, dt)))

    return lift(f)(x)


def _channel(v: Any, nd: int) -> Any:
    return shape.reshape(v, (1, -1) + (1,) * (nd - 2))


def _batch_norm(a: Attrs, x: Any, scale: Any, b: Any, mean: Any, var: Any) -> Any:
    if a.get("training_mode", 0):
        raise OnnxError("BatchNormalization: training_mode=1 is not supported (import the "
                        "inference graph; deepgrad's BatchNorm layers train by themselves)")
    eps = a.get("epsilon", 1e-5)

    def f(t: Any, g: Any, h: Any, mu: Any, v: Any) -> Any:
        nd = len(t.shape)
        inv = M.sqrt(arith.add(v, np.asarray(eps, v.dtype)))
        y = arith.div(arith.sub(t, _channel(mu, nd)), _channel(inv, nd))
        return arith.add(arith.mul(y, _channel(g, nd)), _channel(h, nd))

    return lift(f)(x, scale, b, mean, var)


def _normalize(t: Any, axes: tuple[int, ...], eps: float) -> Any:
    mu = reduce.mean(t, axis=axes, keepdims=True)
    d = arith.sub(t, mu)
    var = reduce.mean(arith.mul(d, d), axis=axes, keepdims=True)
    return arith.div(d, M.sqrt(arith.add(var, np.asarray(eps, t.dtype))))


def _instance_norm(a: Attrs, x: Any, scale: Any, b: Any) -> Any:
    eps = a.get("epsilon", 1e-5)

    def f(t: Any, g: Any, h: Any) -> Any:
        nd = len(t.shape)
        y = _normalize(t, tuple(range(2, nd)), eps)
        return arith.add(arith.mul(y, _channel(g, nd)), _channel(h, nd))

    return lift(f)(x, scale, b)


def _layer_norm(a: Attrs, x: Any, scale: Any, b: Any = None) -> Any:
    nd = len(data(x).shape)
    axis = a.get("axis", -1) % nd
    eps = a.get("epsilon", 1e-5)

    def f(t: Any, g: Any, h: Any = None) -> Any:
        y = arith.mul(_normalize(t, tuple(range(axis, nd)), eps), g)
        return y if h is None else arith.add(y, h)

    return (lift(f)(x, scale, b) if b is not None else lift(f)(x, scale)), None, None


def _source_index(a: Attrs, mode: str, n_in: int, n_out: int, scale: float) -> np.ndarray:
    """Where each output position samples the input, ONNX's coordinate transformation."""
    x = np.arange(n_out, dtype=np.float64)
    how = a.get("coordinate_transformation_mode", "half_pixel" if a.opset >= 11 else
                "asymmetric")
    if a.op_type == "Upsample":
        how = "asymmetric"
    if how == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if how == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if n_out > 1 else np.zeros_like(x)
    if how == "align_corners":
        return x * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros_like(x)
    if how == "asymmetric":
        return x / scale
    if how == "tf_half_pixel_for_nn":
        return (x + 0.5) / scale
    raise OnnxError(f"{a.op_type}: coordinate_transformation_mode {how!r} is not supported")


def _nearest(a: Attrs, src: np.ndarray, n_in: int) -> np.ndarray:
    rule = "floor" if a.op_type == "Upsample" else a.get("nearest_mode", "round_prefer_floor")
    if rule == "round_prefer_floor":
        i = np.ceil(src - 0.5)
    elif rule == "round_prefer_ceil":
        i = np.floor(src + 0.5)
    elif rule == "floor":
        i = np.floor(src)
    elif rule == "ceil":
        i = np.ceil(src)
    else:
        raise OnnxError(f"Resize: nearest_mode {rule!r} is not supported")
    return np.clip(i, 0, n_in - 1).astype(np.int64)


def _resize(a: Attrs, x: Any, *rest: Any) -> Any:
    in_shape = data(x).shape
    nd = len(in_shape)
    if a.op_type == "Upsample":
        scales = a.get("scales") if a.opset < 9 else np.asarray(data(rest[0])).tolist()
        sizes = None
    elif a.opset == 10:
        scales, sizes = np.asarray(data(rest[0])).tolist(), None
    else:
        sc = rest[1] if len(rest) > 1 else None
        sz = rest[2] if len(rest) > 2 else None
        scales = None if sc is None or np.asarray(data(sc)).size == 0 else \
            np.asarray(data(sc)).tolist()
        sizes = None if sz is None or np.asarray(data(sz)).size == 0 else ints(sz)
    if sizes is not None:
        scales = [o / i if i else 1.0 for o, i in zip(sizes, in_shape, strict=True)]
    if scales is None or len(scales) != nd:
        raise OnnxError(f"{a.op_type}: needs one scale or size per axis")
    out = sizes or [int(math.floor(n * s)) for n, s in zip(in_shape, scales, strict=True)]
    mode = a.get("mode", "nearest")
    if mode not in ("nearest", "linear", "bilinear"):
        raise OnnxError(f"{a.op_type}: mode {mode!r} is not supported (nearest and linear are)")

    def f(t: Any) -> Any:
        for axis in range(nd):
            n_in, n_out = in_shape[axis], out[axis]
            if n_in == n_out and scales[axis] == 1.0:
                continue
            src = _source_index(a, mode, n_in, n_out, scales[axis])
            lead = (slice(None),) * axis
            if mode == "nearest":
                t = shape.getitem(t, (*lead, _nearest(a, src, n_in)))
                continue
            src = np.clip(src, 0, n_in - 1)
            i0 = np.floor(src).astype(np.int64)
            i1 = np.minimum(i0 + 1, n_in - 1)
            w = (src - i0).astype(t.dtype).reshape((-1,) + (1,) * (nd - axis - 1))
            lo_, hi_ = shape.getitem(t, (*lead, i0)), shape.getitem(t, (*lead, i1))
            t = arith.add(lo_, arith.mul(arith.sub(hi_, lo_), w))
        return t

    return lift(f)(x)


NN_OPS = {
    "Conv": _conv, "ConvTranspose": _conv_transpose,
    "MaxPool": _pool("max"), "AveragePool": _pool("avg"),
    "GlobalAveragePool": _global("avg"), "GlobalMaxPool": _global("max"),
    "LRN": _lrn, "BatchNormalization": _batch_norm, "InstanceNormalization": _instance_norm,
    "LayerNormalization": _layer_norm, "Upsample": _resize, "Resize": _resize,
}

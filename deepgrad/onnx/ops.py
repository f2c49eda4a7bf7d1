"""The operator table: ONNX operator name -> a small function on values (Tensors or constant
NumPy arrays) built from deepgrad's own ops, each with its attributes' defaults from the
ONNX specification (opsets 7 to 21). Import runs these (and folds them on constants);
layers with weights (Conv, Gemm, BatchNormalization, ...) are built by ``layers.py``.

Each function is ``fn(attrs, *inputs) -> value`` (a tuple for several outputs); a missing
optional input is None.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import autograd as _ag  # noqa: F401  (installs the Tensor operators)
from ..autograd.ops import activations as A
from ..autograd.ops import arith, linalg, reduce, shape
from ..autograd.ops import math as M
from ._ops_nn import NN_OPS
from ._proto import OnnxError, np_dtype
from ._rnn import RNN_OPS
from ._values import Attrs, as_tensor, data, ints, is_const, lift

__all__ = ["OPS", "run_op", "SUPPORTED"]

Op = Callable[..., Any]


def _unary(fn: Callable[[Any], Any]) -> Op:
    return lambda a, x: lift(fn)(x)


def _binary(fn: Callable[[Any, Any], Any]) -> Op:
    def run(a: Attrs, x: Any, y: Any) -> Any:
        if a.opset < 7 and a.get("broadcast", 0) and "axis" in a:  # legacy broadcasting
            y = _legacy_broadcast(x, y, a.get("axis"))
        return lift(fn)(x, y)

    return run


def _legacy_broadcast(x: Any, y: Any, axis: int) -> Any:
    nd, yd = len(data(x).shape), len(data(y).shape)
    return lift(lambda t: shape.reshape(t, t.shape + (1,) * (nd - axis % nd - yd)))(y)


def _div(a: Attrs, x: Any, y: Any) -> Any:
    if is_const(x) and is_const(y) and x.dtype.kind in "iu":  # C's truncating division
        q = np.abs(x) // np.abs(y)
        return (q * np.sign(x) * np.sign(y)).astype(x.dtype)
    return lift(arith.div)(x, y)


def _pow(a: Attrs, x: Any, y: Any) -> Any:
    if is_const(y) and y.dtype != data(x).dtype:
        y = y.astype(data(x).dtype)
    return lift(arith.pow)(x, y)


def _variadic(fn: Callable[[Any, Any], Any], mean: bool = False) -> Op:
    def run(a: Attrs, *xs: Any) -> Any:
        out = xs[0]
        for x in xs[1:]:
            out = lift(fn)(out, x)
        if mean:
            n = np.asarray(len(xs), dtype=data(out).dtype)
            out = lift(arith.div)(out, n)
        return out

    return run


def _reciprocal(a: Attrs, x: Any) -> Any:
    return lift(lambda t: arith.div(np.ones((), t.dtype), t))(x)


def _leaky(a: Attrs, x: Any) -> Any:
    return lift(lambda t: M.leaky_relu(t, a.get("alpha", 0.01)))(x)


def _elu(a: Attrs, x: Any) -> Any:
    return lift(lambda t: A.elu(t, a.get("alpha", 1.0)))(x)


def _selu(a: Attrs, x: Any) -> Any:
    alpha = a.get("alpha", 1.67326319217681884765625)
    gamma = a.get("gamma", 1.05070102214813232421875)
    return lift(lambda t: arith.mul(A.elu(t, alpha), np.asarray(gamma, t.dtype)))(x)


def _hard_sigmoid_t(t: Any, alpha: float, beta: float) -> Any:
    z = arith.add(arith.mul(t, np.asarray(alpha, t.dtype)), np.asarray(beta, t.dtype))
    return M.minimum(M.maximum(z, np.zeros((), t.dtype)), np.ones((), t.dtype))


def _hard_sigmoid(a: Attrs, x: Any) -> Any:
    return lift(lambda t: _hard_sigmoid_t(t, a.get("alpha", 0.2), a.get("beta", 0.5)))(x)


def _hard_swish(a: Attrs, x: Any) -> Any:
    return lift(lambda t: arith.mul(t, _hard_sigmoid_t(t, 1.0 / 6.0, 0.5)))(x)


def _prelu(a: Attrs, x: Any, slope: Any) -> Any:
    xs, ss = data(x).shape, data(slope).shape
    if len(ss) == 1 and len(xs) > 2 and ss[0] == xs[1] != xs[-1]:  # opset <= 6: per channel
        slope = lift(lambda s: shape.reshape(s, (ss[0],) + (1,) * (len(xs) - 2)))(slope)

    def f(t: Any, s: Any) -> Any:
        return arith.add(M.relu(t), arith.mul(s, arith.neg(M.relu(arith.neg(t)))))

    return lift(f)(x, slope)


def _gelu(a: Attrs, x: Any) -> Any:
    return lift(lambda t: A.gelu(t, approximate=a.get("approximate", "none")))(x)


def _softmax(fn: Callable[..., Any]) -> Op:
    def run(a: Attrs, x: Any) -> Any:
        if a.opset >= 13:
            return lift(lambda t: fn(t, axis=a.get("axis", -1)))(x)
        axis = a.get("axis", 1)

        def coerced(t: Any) -> Any:  # opset < 13: softmax of the 2-D coercion at axis
            s = t.shape
            k = axis % len(s) if s else 0
            flat = shape.reshape(t, (math.prod(s[:k]), math.prod(s[k:])))
            return shape.reshape(fn(flat, axis=1), s)

        return lift(coerced)(x)

    return run


def _clip(a: Attrs, x: Any, lo: Any = None, hi: Any = None) -> Any:
    if a.opset < 11:
        lo, hi = a.get("min", None), a.get("max", None)
        lo = None if lo is None else np.asarray(lo)
        hi = None if hi is None else np.asarray(hi)
    dt = data(x).dtype

    def f(t: Any) -> Any:
        if lo is not None:
            t = M.maximum(t, np.asarray(data(lo), dt))
        if hi is not None:
            t = M.minimum(t, np.asarray(data(hi), dt))
        return t

    return lift(f)(x)


def _cast(a: Attrs, x: Any) -> Any:
    dt = np_dtype(a.get("to"))
    if is_const(x):
        return x.astype(dt)
    if dt.kind != "f":
        return np.asarray(data(x)).astype(dt)  # integers carry no gradient: a constant
    return M.cast(x, dt)


def _gemm(a: Attrs, x: Any, w: Any, c: Any = None) -> Any:
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)

    def f(t: Any, u: Any, v: Any = None) -> Any:
        if a.get("transA", 0):
            t = shape.transpose(t)
        if a.get("transB", 0):
            u = shape.transpose(u)
        y = linalg.matmul(t, u)
        if alpha != 1.0:
            y = arith.mul(y, np.asarray(alpha, y.dtype))
        if v is not None:
            y = arith.add(y, v if beta == 1.0 else arith.mul(v, np.asarray(beta, y.dtype)))
        return y

    return lift(f)(x, w, c) if c is not None else lift(f)(x, w)


def _matmul(a: Attrs, x: Any, y: Any) -> Any:
    return lift(linalg.matmul)(x, y)


def _axes_arg(a: Attrs, axes_input: Any, first_opset_with_input: int) -> list[int] | None:
    if a.opset >= first_opset_with_input:
        return None if axes_input is None else ints(axes_input)
    axes = a.get("axes", None)
    return None if axes is None else list(axes)


def _reduce(fn: Callable[..., Any], input_opset: int) -> Op:
    def run(a: Attrs, x: Any, axes_input: Any = None) -> Any:
        axes = _axes_arg(a, axes_input, input_opset)
        keep = bool(a.get("keepdims", 1))
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(len(data(x).shape)))
        return lift(lambda t: fn(t, axis=tuple(axes), keepdims=keep))(x)

    return run


def _reshape(a: Attrs, x: Any, target: Any = None) -> Any:
    dims = list(a.get("shape")) if a.opset < 5 else ints(target)
    src = data(x).shape
    if not a.get("allowzero", 0):
        dims = [src[i] if d == 0 else d for i, d in enumerate(dims)]
    return lift(lambda t: shape.reshape(t, tuple(dims)))(x)


def _flatten(a: Attrs, x: Any) -> Any:
    s = data(x).shape
    k = a.get("axis", 1) % (len(s) + 1) if s else 0
    return lift(lambda t: shape.reshape(t, (math.prod(s[:k]), math.prod(s[k:]))))(x)


def _transpose(a: Attrs, x: Any) -> Any:
    perm = a.get("perm", None)
    return lift(lambda t: shape.transpose(t, None if perm is None else tuple(perm)))(x)


def _squeeze(a: Attrs, x: Any, axes_input: Any = None) -> Any:
    s = data(x).shape
    axes = _axes_arg(a, axes_input, 13)
    drop = {i for i, n in enumerate(s) if n == 1} if axes is None else {i % len(s) for i in axes}
    for i in drop:
        if s[i] != 1:
            raise OnnxError(f"Squeeze: axis {i} has length {s[i]}, not 1")
    new = tuple(n for i, n in enumerate(s) if i not in drop)
    return lift(lambda t: shape.reshape(t, new))(x)


def _unsqueeze(a: Attrs, x: Any, axes_input: Any = None) -> Any:
    s = list(data(x).shape)
    axes = _axes_arg(a, axes_input, 13) or []
    rank = len(s) + len(axes)
    for i in sorted(k % rank for k in axes):
        s.insert(i, 1)
    return lift(lambda t: shape.reshape(t, tuple(s)))(x)


def _concat(a: Attrs, *xs: Any) -> Any:
    axis = a.get("axis", 1 if a.opset < 4 else None)
    xs = tuple(x for x in xs if x is not None)
    return lift(lambda *ts: shape.concatenate(list(ts), axis=axis))(*xs)


def _split(a: Attrs, x: Any, sizes: Any = None) -> Any:
    axis = a.get("axis", 0)
    n_dim = data(x).shape[axis]
    if a.opset < 13:
        sizes = a.get("split", None)
    elif sizes is not None:
        sizes = ints(sizes)
    if not sizes:
        n = a.get("num_outputs", a.get("_outputs", 1))
        step = -(-n_dim // n)
        sizes = [min(step, n_dim - i * step) for i in range(n)]
    bounds = np.cumsum([0, *sizes])
    if bounds[-1] != n_dim:
        raise OnnxError(f"Split: parts {list(sizes)} don't add up to the axis length {n_dim}")
    lead = (slice(None),) * (axis % len(data(x).shape))
    parts = [lift(lambda t, i=i: shape.getitem(t, (*lead, slice(bounds[i], bounds[i + 1]))))(x)
             for i in range(len(sizes))]
    return tuple(parts)


def _slice(a: Attrs, x: Any, starts: Any = None, ends: Any = None, axes: Any = None,
           steps: Any = None) -> Any:
    nd = len(data(x).shape)
    if a.opset < 10:
        st, en, ax, sp = list(a.get("starts")), list(a.get("ends")), a.get("axes", None), None
    else:
        st, en = ints(starts), ints(ends)
        ax = None if axes is None else ints(axes)
        sp = None if steps is None else ints(steps)
    ax = list(range(len(st))) if ax is None else list(ax)
    sp = [1] * len(st) if sp is None else sp
    key = [slice(None)] * nd
    for s, e, k, p in zip(st, en, ax, sp, strict=True):
        if p == 0:
            raise OnnxError("Slice: a step of 0")
        key[k % nd] = slice(s, e, p)
    return lift(lambda t: shape.getitem(t, tuple(key)))(x)


def _gather(a: Attrs, x: Any, idx: Any) -> Any:
    axis = a.get("axis", 0) % len(data(x).shape)
    index = np.asarray(data(idx)).astype(np.int64)
    key = (slice(None),) * axis + (index,)
    if is_const(x):
        return np.take(x, index, axis=axis)
    return shape.getitem(x, key)


def _expand(a: Attrs, x: Any, target: Any) -> Any:
    out = np.broadcast_shapes(data(x).shape, tuple(ints(target)))
    return lift(lambda t: shape.broadcast_to(t, out))(x)


def _pad(a: Attrs, x: Any, pads: Any = None, value: Any = None, axes: Any = None) -> Any:
    nd = len(data(x).shape)
    if a.opset < 11:
        p = list(a.get("pads", a.get("paddings", [])))
        v = a.get("value", 0.0)
    else:
        p = ints(pads)
        v = 0.0 if value is None else float(np.asarray(data(value)).reshape(-1)[0])
    ax = list(range(nd)) if axes is None else [k % nd for k in ints(axes)]
    k = len(ax)
    width = [(0, 0)] * nd
    for i, axis in enumerate(ax):
        width[axis] = (p[i], p[i + k])
    return lift(lambda t: pad_array(t, width, a.get("mode", "constant"), v))(x)


def pad_array(t: Any, width: list[tuple[int, int]], mode: str, value: float = 0.0) -> Any:
    """Pad (or, with negative widths, crop) ``t``; ``mode`` is ONNX's constant, reflect,
    edge or wrap. Non-constant modes gather through an index array (differentiable)."""
    if any(b < 0 or e < 0 for b, e in width):
        key = tuple(slice(-b if b < 0 else 0, (t.shape[i] + e) if e < 0 else None)
                    for i, (b, e) in enumerate(width))
        t = shape.getitem(t, key)
        width = [(max(b, 0), max(e, 0)) for b, e in width]
    if not any(b or e for b, e in width):
        return t
    if mode == "constant":
        return shape.pad(t, width, value)
    np_mode = {"reflect": "reflect", "edge": "edge", "wrap": "wrap"}.get(mode)
    if np_mode is None:
        raise OnnxError(f"Pad: unknown mode {mode!r}")
    for axis, (b, e) in enumerate(width):
        if b or e:
            idx = np.pad(np.arange(t.shape[axis]), (b, e), mode=np_mode)
            t = shape.getitem(t, (slice(None),) * axis + (idx,))
    return t


def _shape(a: Attrs, x: Any) -> Any:
    s = np.asarray(data(x).shape, dtype=np.int64)
    start, end = a.get("start", 0), a.get("end", None)
    return s[start:end]


def _constant(a: Attrs) -> Any:
    for key, conv in (("value", None), ("value_float", np.float32), ("value_floats", np.float32),
                      ("value_int", np.int64), ("value_ints", np.int64)):
        if key in a:
            v = a.get(key)
            return np.asarray(v) if conv is None else np.asarray(v, dtype=conv)
    raise OnnxError("Constant: no supported value attribute (sparse and string constants "
                    "are not supported)")


def _constant_of_shape(a: Attrs, dims: Any) -> Any:
    value = a.get("value", np.zeros(1, np.float32))
    return np.full(tuple(ints(dims)), np.asarray(value).reshape(-1)[0], dtype=value.dtype)


def _identity(a: Attrs, x: Any) -> Any:
    return x


def _dropout(a: Attrs, x: Any, *rest: Any) -> Any:
    return x, np.ones(data(x).shape, dtype=bool)


def _tile(a: Attrs, x: Any, repeats: Any) -> Any:
    reps = ints(repeats)
    s = data(x).shape
    if len(reps) != len(s):
        raise OnnxError(f"Tile: {len(reps)} repeats for an input of rank {len(s)}")

    def f(t: Any) -> Any:  # (a, b) -> (1, a, 1, b) -> broadcast (r1, a, r2, b) -> reshape
        inter = tuple(v for n in s for v in (1, n))
        big = tuple(v for r, n in zip(reps, s, strict=True) for v in (r, n))
        out = shape.broadcast_to(shape.reshape(t, inter), big)
        return shape.reshape(out, tuple(r * n for r, n in zip(reps, s, strict=True)))

    return lift(f)(x)


def _sign(a: Attrs, x: Any) -> Any:
    y = np.sign(data(x))  # zero gradient almost everywhere: a constant
    return y if is_const(x) else as_tensor(y)


def _shrink(a: Attrs, x: Any) -> Any:
    lambd, bias = a.get("lambd", 0.5), a.get("bias", 0.0)
    v = np.asarray(data(x))
    hi, lo = (v > lambd), (v < -lambd)
    shift = (hi * -bias + lo * bias).astype(v.dtype)
    keep = (hi | lo).astype(v.dtype)
    return lift(lambda t: arith.mul(arith.add(t, shift), keep))(x)


def _where(a: Attrs, c: Any, x: Any, y: Any) -> Any:
    return lift(lambda u, v: M.where(np.asarray(data(c)).astype(bool), u, v))(x, y)


OPS: dict[str, Op] = {
    "Add": _binary(arith.add), "Sub": _binary(arith.sub), "Mul": _binary(arith.mul),
    "Div": lambda a, x, y: _div(a, x, y), "Pow": _pow,
    "Sum": _variadic(arith.add), "Mean": _variadic(arith.add, mean=True),
    "Max": _variadic(M.maximum), "Min": _variadic(M.minimum),
    "Sqrt": _unary(M.sqrt), "Exp": _unary(M.exp), "Log": _unary(M.log), "Neg": _unary(arith.neg),
    "Abs": _unary(M.abs), "Reciprocal": _reciprocal, "Erf": _unary(A.erf),
    "Relu": _unary(M.relu), "Sigmoid": _unary(M.sigmoid), "Tanh": _unary(M.tanh),
    "LeakyRelu": _leaky, "Elu": _elu, "Selu": _selu, "PRelu": _prelu, "Gelu": _gelu,
    "HardSigmoid": _hard_sigmoid, "HardSwish": _hard_swish, "Softplus": _unary(A.softplus),
    "Softmax": _softmax(M.softmax), "LogSoftmax": _softmax(M.log_softmax), "Clip": _clip,
    "Gemm": _gemm, "MatMul": _matmul, "Cast": _cast, "Where": _where,
    "ReduceMean": _reduce(reduce.mean, 18), "ReduceSum": _reduce(reduce.sum, 13),
    "ReduceMax": _reduce(reduce.max, 18), "ReduceMin": _reduce(reduce.min, 18),
    "Reshape": _reshape, "Flatten": _flatten, "Transpose": _transpose, "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze, "Concat": _concat, "Split": _split, "Slice": _slice,
    "Gather": _gather, "Expand": _expand, "Pad": _pad, "Shape": _shape,
    "Constant": _constant, "ConstantOfShape": _constant_of_shape, "Identity": _identity,
    "Dropout": _dropout, "Tile": _tile, "Sign": _sign, "Shrink": _shrink,
    **NN_OPS, **RNN_OPS,
}
SUPPORTED = frozenset(OPS)


def run_op(op_type: str, attrs: Attrs, inputs: list[Any]) -> tuple[Any, ...]:
    """Run one operator; always returns a tuple of outputs."""
    out = OPS[op_type](attrs, *inputs)
    return out if isinstance(out, tuple) else (out,)

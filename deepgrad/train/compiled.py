"""A compiled training step: forward, loss, backward and update of a layer chain as a flat
schedule of NumPy/BLAS calls into buffers allocated once, with the eager step's numbers.

``compile_step(model, optimizer)`` returns a :class:`CompiledStep`; ``step(x, y)`` trains on
one batch and returns the loss, like the eager loop

    loss = cross_entropy(model(dg.tensor(x)), y); opt.zero_grad(); loss.backward(); opt.step()

but without building a graph: no Tensor, Function or heap entry per op, no temporaries.
Every operation is the one the eager op performs (the same BLAS products, the same NumPy
ufuncs or numba kernels, in the same order), written into its buffer with ``out=``, so the
parameters after any number of steps are bit-identical to the eager loop's (a test).
After a batch shape's first step nothing is allocated (with numba installed; without it the
cross-entropy gradient's scatter allocates one small temporary).

What lowers: a ``Sequential`` (nested ones too) of ``Linear``, ``Dense`` (any activation
below), ``ReLU``, ``Tanh``, ``Sigmoid``, ``Flatten``, ``Dropout`` and ``Identity``, on NumPy
float32/float64 parameters, trained with softmax cross-entropy on integer labels (mean,
no weights or smoothing; a final ``Softmax`` is fused into it, as ``fit`` does). Anything
else (another layer or a subclass, a CuPy array, an input of another dtype) runs the eager
step instead, with the same numbers; ``step.compiled`` says which ran and ``step.reason``
why not. The optimizer is the model's own, called as usual, so schedulers, weight decay,
and the fused Adam (``[fast]``) work unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _accel
from .._config import no_grad
from .._random import as_generator
from ..autograd.tensor import Tensor
from ..losses import cross_entropy
from ..nn import activation as act
from ..nn.container import Sequential
from ..nn.dropout import Dropout
from ..nn.flatten import Flatten
from ..nn.linear import Dense, Linear
from ..nn.module import Module
from .compile import final_activation, forward_logits

__all__ = ["CompiledStep", "compile_step", "NonFiniteLoss"]

_MAX_PLANS = 4  # batch shapes kept (an epoch's last, partial batch is a second one)


class NonFiniteLoss(ArithmeticError):
    """The loss of a compiled step was not finite; nothing was updated.

    Attributes:
        value: the loss (inf or nan).
    """

    def __init__(self, value: float) -> None:
        super().__init__(f"the loss is {value}")
        self.value = value


# ------------------------------------------------------------------------------ lowering
def _leaves(model: Module) -> list[Module] | str:
    """The chain of leaf layers of a (nested) Sequential, or why it is not one."""
    if type(model) is not Sequential:
        return (f"{type(model).__name__} is not a Sequential (only layer chains are "
                "compiled)")
    out: list[Module] = []
    for m in model:
        if type(m) is Sequential:
            sub = _leaves(m)
            if isinstance(sub, str):
                return sub
            out.extend(sub)
        else:
            out.append(m)
    return out


_ACTS = {act.ReLU: "relu", act.Tanh: "tanh", act.Sigmoid: "sigmoid", act.Identity: None}
_DENSE_ACTS = {None: None, "linear": None, "relu": "relu", "tanh": "tanh",
               "sigmoid": "sigmoid"}


def _lower(model: Module) -> list[tuple[str, Any]] | str:
    """The schedule's layers as (kind, module) pairs, or why the model does not lower."""
    leaves = _leaves(model)
    if isinstance(leaves, str):
        return leaves
    if leaves and type(leaves[-1]) is act.Softmax and leaves[-1].dim in (-1, 1, None):
        leaves = leaves[:-1]  # fused into the cross-entropy, as fit does
    ops: list[tuple[str, Any]] = []
    for m in leaves:
        t = type(m)
        if t is Linear:
            ops.append(("dense", m))
        elif t is Dense:
            name = m.activation_name
            if name not in _DENSE_ACTS or m.weight is None:
                return (f"Dense with activation {name!r}" if m.weight is not None
                        else "a Dense layer that is not built yet (run one batch first)")
            ops.append(("dense", m))
            if _DENSE_ACTS[name]:
                ops.append((_DENSE_ACTS[name], m))
        elif t in _ACTS:
            if _ACTS[t]:
                ops.append((_ACTS[t], m))
        elif t is Flatten:
            if m.start_dim != 1 or m.end_dim != -1:
                return "Flatten with start_dim != 1 or end_dim != -1"
            ops.append(("flatten", m))
        elif t is Dropout:
            ops.append(("dropout", m))
        else:
            return f"layer {t.__name__} has no compiled form"
    if not any(k == "dense" for k, _ in ops):
        return "the model has no Linear/Dense layer"
    return ops


class _Plan:
    """Buffers and the schedule for one input shape and dtype."""

    def __init__(self, ops: list[tuple[str, Any]], shape: tuple[int, ...], dtype: Any
                 ) -> None:
        self.ops = ops
        self.inputs: list[Any] = [None] * len(ops)  # each op's input, set by the forward
        n = shape[0]
        self.n = n
        self.fwd: list[Any] = []  # per op: its output buffer (or None for views)
        self.aux: list[Any] = []  # per op: mask / saved output
        self.bwd: list[Any] = []  # per op: the buffer its input gradient goes to
        self.grads: list[tuple[Any, Any]] = []  # per dense op: (gW, gb) buffers
        cur = shape
        first_trainable = None
        for i, (kind, m) in enumerate(ops):
            if kind == "dense" and first_trainable is None and any(
                    p is not None and p.requires_grad for p in (m.weight, m.bias)):
                first_trainable = i
        self.first_trainable = first_trainable
        for i, (kind, m) in enumerate(ops):
            in_shape = cur
            if kind == "dense":
                if len(cur) != 2 or cur[1] != m.weight.shape[1]:
                    raise _NoPlan(f"{type(m).__name__} expects {m.weight.shape[1]} features, "
                                  f"gets input of shape {cur}")
                cur = (n, m.weight.shape[0])
                self.fwd.append(np.empty(cur, dtype))
                self.aux.append(None)
                gW = np.empty(m.weight.shape, dtype) if m.weight.requires_grad else None
                gb = (np.empty(m.bias.shape, dtype)
                      if m.bias is not None and m.bias.requires_grad else None)
                self.grads.append((gW, gb))
            elif kind == "flatten":
                cur = (n, int(np.prod(cur[1:], dtype=np.int64)))
                self.fwd.append(None)
                self.aux.append(None)
                self.grads.append((None, None))
            else:
                self.fwd.append(np.empty(cur, dtype))
                self.aux.append(np.empty(cur, np.bool_ if kind in ("relu", "dropout")
                                         else dtype))
                self.grads.append((None, None))
            needs_gx = first_trainable is not None and i > first_trainable
            self.bwd.append(np.empty(in_shape, dtype) if needs_gx and kind != "flatten"
                            else None)
            if kind == "dropout":  # the mask in the input's dtype and the uniform draw
                self.aux[-1] = (np.empty(cur, dtype), np.empty(cur, np.bool_),
                                np.empty(cur, dtype))
        if len(cur) != 2:
            raise _NoPlan(f"the model's output has shape {cur}, not (N, classes)")
        c = cur[1]
        self.logits_shape = cur
        f = dtype
        self.mx, self.s, self.log_s = (np.empty((n, 1), f) for _ in range(3))
        self.z, self.e, self.gx = (np.empty((n, c), f) for _ in range(3))
        self.rows, self.picked = np.empty(n, f), np.empty(n, f)
        self.flat_idx = np.empty(n, np.intp)
        self.row_start = np.arange(n, dtype=np.intp) * c
        self.labels = np.empty(n, np.intp)
        self.ar = np.arange(n, dtype=np.intp)


class _NoPlan(Exception):
    """The model or the batch does not lower; the message says why."""


# ------------------------------------------------------------------------------- the step
class CompiledStep:
    """One training step of ``model`` with ``optimizer`` (see the module's docstring).

    Call it as ``loss = step(x, y)``: ``x`` a NumPy batch (N, ...), ``y`` integer labels (N,).

    ``before_update``, if given, is called after the gradients are computed and before
    ``optimizer.step()`` (e.g. to add a penalty's gradient to ``p.grad`` in place).

    Attributes:
        compiled: whether the last call ran the compiled schedule (False: the eager step).
        reason: why the model (or the last batch) runs eagerly, or None.
        logits: the last batch's logits (N, classes), a buffer the next call overwrites.
    """

    def __init__(self, model: Module, optimizer: Any,
                 before_update: Callable[[], None] | None = None) -> None:
        self.model = model
        self.optimizer = optimizer
        self.before_update = before_update
        lowered = _lower(model)
        self._ops = None if isinstance(lowered, str) else lowered
        self.reason: str | None = lowered if isinstance(lowered, str) else None
        self.compiled = False
        self.logits: Any = None
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its buffers (they are made again at the next call)."""
        return {**self.__dict__, "_plans": {}, "logits": None}

    @property
    def lowered(self) -> bool:
        """Whether the model lowers at all (batches of another kind may still run eagerly)."""
        return self._ops is not None

    def __repr__(self) -> str:
        state = "compiled" if self._ops is not None else f"eager ({self.reason})"
        return f"CompiledStep({type(self.model).__name__}, {state})"

    # ----------------------------------------------------------------------------- entry
    def __call__(self, x: Any, y: Any) -> float:
        """Train on one batch; returns its mean loss (before the update).

        Raises:
            NonFiniteLoss: the loss is inf or nan (the parameters are left unchanged).
        """
        plan = self._plan(x, y)
        if plan is None:
            return self._eager(x, y)
        self.compiled = True
        return self._compiled(plan, x, y)

    def _plan(self, x: Any, y: Any) -> _Plan | None:
        if self._ops is None:
            return None
        ps = [p for kind, m in self._ops if kind == "dense" for p in (m.weight, m.bias)
              if p is not None]
        dtype = ps[0].data.dtype
        if type(x) is not np.ndarray or x.dtype != dtype or x.ndim < 2 or x.shape[0] == 0:
            self.reason = ("the batch is not a non-empty NumPy array of the parameters' dtype "
                           f"{dtype}")
            return None
        if any(type(p.data) is not np.ndarray or p.data.dtype != dtype for p in ps) \
                or dtype not in (np.float32, np.float64):
            self.reason = "the parameters are not NumPy float32/float64 arrays of one dtype"
            return None
        yv = y.data if isinstance(y, Tensor) else y
        if type(yv) is not np.ndarray or yv.shape != (x.shape[0],) or yv.dtype.kind not in "iu":
            self.reason = "the targets are not integer class labels of shape (N,)"
            return None
        key = (x.shape, dtype.str, tuple([p.requires_grad for p in ps]))  # freezing re-plans
        plan = self._plans.get(key)
        if plan is None:
            try:
                plan = _Plan(self._ops, x.shape, dtype)
            except _NoPlan as e:
                self.reason = str(e)
                return None
            if len(self._plans) >= _MAX_PLANS:
                self._plans.pop(next(iter(self._plans)))
            self._plans[key] = plan
        self.reason = None
        return plan

    def _eager(self, x: Any, y: Any) -> float:
        self.compiled = False
        model, opt = self.model, self.optimizer
        with np.errstate(over="ignore", invalid="ignore"):
            xt = x if isinstance(x, Tensor) else Tensor(x)
            out = forward_logits(model, xt, "softmax" if final_activation(model) == "softmax"
                                 else None)
            loss = cross_entropy(out, y)
            lv = float(loss.item())
            if not math.isfinite(lv):
                raise NonFiniteLoss(lv)
            opt.zero_grad()
            loss.backward()
            if self.before_update is not None:
                self.before_update()
            opt.step()
        self.logits = out.data
        return lv

    # -------------------------------------------------------------------------- compiled
    def _compiled(self, plan: _Plan, x: Any, y: Any) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            logits = self._forward(plan, x)
            lv = self._loss(plan, logits, y)
            if not math.isfinite(lv):
                raise NonFiniteLoss(lv)
            self._backward(plan, x)
            if self.before_update is not None:
                self.before_update()
        self.logits = logits
        with no_grad():
            self.optimizer.step()
        return lv

    def _forward(self, plan: _Plan, x: Any) -> Any:
        h = x
        for i, (kind, m) in enumerate(plan.ops):
            plan.inputs[i] = h
            out = plan.fwd[i]
            if kind == "dense":
                np.matmul(h, m.weight.data.T, out=out)  # Linear.forward: x W^T, then += b
                if m.bias is not None:
                    out += m.bias.data
            elif kind == "relu":
                mask = plan.aux[i]
                if _accel.takes(h):
                    _accel.relu_into(h, out, mask)
                else:
                    np.greater(h, 0, out=mask)
                    np.maximum(h, 0, out=out)
            elif kind == "tanh":
                np.tanh(h, out=out)
            elif kind == "sigmoid":  # ops.math._sigmoid: exp(-|x|), then 1/d or e/d
                e, d = plan.aux[i], out
                np.abs(h, out=e)
                np.negative(e, out=e)
                np.exp(e, out=e)
                np.add(e, 1, out=d)
                np.divide(e, d, out=e)        # e / d where x < 0
                np.divide(1, d, out=d)        # 1 / d where x >= 0
                np.copyto(d, e, where=h < 0)  # (the values np.where(x >= 0, ...) picks)
            elif kind == "flatten":
                out = h.reshape(h.shape[0], -1)
            elif kind == "dropout":
                out = self._dropout(plan, i, m, h, out)
            h = out
        return h

    def _dropout(self, plan: _Plan, i: int, m: Any, h: Any, out: Any) -> Any:
        p = m.p
        mask, keep, u = plan.aux[i]
        if not m.training or p == 0.0:
            mask[...] = 1
            np.copyto(out, h)
            return out
        dt = h.dtype
        if p >= 1.0:
            mask[...] = 0
        else:  # ops.dropout.Dropout.forward: uniform >= p, as the dtype, times 1/(1-p)
            as_generator(m._rng).random(out=u, dtype=dt)
            np.greater_equal(u, p, out=keep)
            np.copyto(mask, keep)
            mask *= dt.type(1.0 / (1.0 - p))
        np.multiply(h, mask, out=out)
        return out

    def _loss(self, plan: _Plan, x: Any, y: Any) -> float:
        # losses.categorical._CrossEntropy.forward, buffer by buffer
        labels = plan.labels
        yv = y.data if isinstance(y, Tensor) else y
        n, c = x.shape
        lo, hi = int(yv.min()), int(yv.max())
        if lo < 0 or hi >= c:
            bad = lo if lo < 0 else hi
            raise ValueError(f"cross_entropy: label {bad} is outside [0, {c}) (input has "
                             f"{c} classes)")
        np.copyto(labels, yv, casting="unsafe")
        np.max(x, axis=1, keepdims=True, out=plan.mx)
        z, e = plan.z, plan.e
        np.subtract(x, plan.mx, out=z)
        np.exp(z, out=e)
        np.sum(e, axis=1, keepdims=True, out=plan.s)
        np.log(plan.s, out=plan.log_s)
        np.add(plan.row_start, labels, out=plan.flat_idx)
        np.take(z.reshape(-1), plan.flat_idx, out=plan.picked, mode="clip")
        np.subtract(plan.log_s[:, 0], plan.picked, out=plan.rows)
        total = np.asarray(plan.rows.sum()) / n
        e /= plan.s  # the softmax, kept for the gradient
        return float(total)

    def _backward(self, plan: _Plan, x: Any) -> None:
        n = plan.n
        g = np.ones((), plan.e.dtype) / n  # loss.backward() seeds 1; the mean divides by n
        gy = plan.gx
        if _accel.auto_ready(gy.size):
            _accel.softmax_xent_grad(plan.e, plan.labels, g, gy)
        else:
            np.multiply(plan.e, g, out=gy)
            gy[plan.ar, plan.labels] -= g
        ops = plan.ops
        for i in range(len(ops) - 1, -1, -1):
            if plan.first_trainable is None or i < plan.first_trainable:
                break
            kind, m = ops[i]
            gx = plan.bwd[i]
            h_in = plan.inputs[i]
            if kind == "dense":
                gW, gb = plan.grads[i]
                if gW is not None:
                    np.matmul(gy.T, h_in, out=gW)
                    m.weight.grad = gW
                if gb is not None:
                    np.sum(gy, axis=0, out=gb)
                    m.bias.grad = gb
                if gx is not None:
                    np.matmul(gy, m.weight.data, out=gx)
            elif gx is None:
                pass
            elif kind == "relu":
                if _accel.takes(gy):
                    _accel.relu_backward_into(gy, plan.aux[i], gx)
                else:
                    np.multiply(gy, plan.aux[i], out=gx)
            elif kind == "tanh":  # gy * (1 - y * y)
                y = plan.fwd[i]
                np.multiply(y, y, out=gx)
                np.subtract(1, gx, out=gx)
                np.multiply(gy, gx, out=gx)
            elif kind == "sigmoid":  # gy * (y * (1 - y))
                y = plan.fwd[i]
                np.subtract(1, y, out=gx)
                np.multiply(y, gx, out=gx)
                np.multiply(gy, gx, out=gx)
            elif kind == "dropout":
                np.multiply(gy, plan.aux[i][0], out=gx)
            if kind == "flatten":
                gy = gy.reshape(h_in.shape)
            elif gx is not None:
                gy = gx


def compile_step(model: Module, optimizer: Any,
                 before_update: Callable[[], None] | None = None) -> CompiledStep:
    """A :class:`CompiledStep` training ``model`` with ``optimizer`` on softmax
    cross-entropy (integer labels): ``loss = step(x, y)``.

    Args:
        model: a Sequential of Linear/Dense, ReLU/Tanh/Sigmoid, Flatten, Dropout, Identity
            layers (anything else runs the eager step; ``step.reason`` says why).
        optimizer: any deepgrad optimizer over the model's parameters.
        before_update: called between the backward pass and ``optimizer.step()``.
    """
    return CompiledStep(model, optimizer, before_update)

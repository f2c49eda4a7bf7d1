"""Function: one differentiable operation, with forward and backward on raw arrays."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .._config import is_grad_enabled, is_inference_mode
from ..backend import get_default_dtype, is_cupy_array
from .tensor import Tensor

__all__ = ["Function", "as_tensor_like"]

_SCALARS = (int, float, bool, np.generic)


def _reference(inputs: tuple[Any, ...]) -> tuple[np.dtype | None, Any]:
    """The float dtype of the first floating tensor input, and a CuPy array among the
    tensor inputs (None when all are on the CPU)."""
    dtype = gpu = None
    for t in inputs:
        if isinstance(t, Tensor):
            d = t.data
            if dtype is None and d.dtype.kind == "f":
                dtype = d.dtype
            if gpu is None and is_cupy_array(d):
                gpu = d
    return dtype, gpu


def as_tensor_like(x: Any, dtype: np.dtype | None, like: Any = None) -> Tensor:
    """Wrap a non-tensor operand as a constant tensor.

    Python and NumPy scalars and float arrays are cast to ``dtype`` (the dtype of the
    op's tensor operands), so a NumPy-2 float64 scalar never upcasts a float32 tensor.
    Integer and boolean arrays (labels, masks) keep their dtype. When ``like`` is a CuPy
    array (a tensor operand on the GPU), the constant is put on its device too.
    """
    if isinstance(x, Tensor):
        return x
    if like is not None:
        from ..backend import get_array_module

        t = as_tensor_like(x, dtype)
        t.data = get_array_module(like).asarray(t.data)
        return t
    target = dtype if dtype is not None else get_default_dtype()
    if isinstance(x, bool | np.bool_):
        return Tensor._wrap(np.asarray(x))
    if isinstance(x, _SCALARS):
        return Tensor._wrap(np.asarray(x, dtype=target))
    if isinstance(x, np.ndarray) or is_cupy_array(x):
        if x.dtype.kind == "f" and x.dtype != target:
            x = x.astype(target)
        return Tensor._wrap(x)
    arr = np.asarray(x)
    if arr.dtype.kind in "fiu":
        arr = arr.astype(target)
    return Tensor._wrap(arr)


def _inference_error(f: Function, t: Tensor) -> str:
    return (
        f"{type(f).__name__}: an inference tensor (shape {t.shape}, made under "
        "inference_mode()) cannot be used in an operation that records a graph for "
        "backward; make a normal copy first, e.g. deepgrad.tensor(t.numpy().copy()), or "
        "run this under no_grad()"
    )


def _mark_inference(ys: Any) -> Any:
    """Wrap an op's outputs, computed under inference_mode(), as inference tensors."""
    outs = tuple([Tensor._wrap(y) for y in ys]) if type(ys) is tuple else (Tensor._wrap(ys),)
    for o in outs:
        o._inference = True
    return outs if type(ys) is tuple else outs[0]


class Function:
    """Base class of every differentiable operation.

    Subclasses implement ``forward(self, *xs)`` and ``backward(self, *gys)`` on raw
    arrays (NumPy or CuPy) and keep on ``self`` only what backward needs.
    ``self.needs_input_grad`` (a tuple of bools, one per input) lets backward skip
    gradients nobody asked for; ``self.requires_grad`` tells forward whether a graph
    is being recorded at all, so it can skip caching under ``no_grad``.

    Call an instance on tensors (or arrays/scalars) to run it: ``Exp()(x)``.
    """

    generation: int = 0
    needs_input_grad: tuple[bool, ...] = ()
    requires_grad: bool = False
    _freed: bool = False  # set by release(): the graph behind this op is gone

    def forward(self, *xs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, *gys: Any) -> Any:
        raise RuntimeError(f"{type(self).__name__} is not differentiable")

    def __call__(self, *inputs: Any) -> Any:
        tensors = inputs
        for x in inputs:  # wrap constants only when there are any (plain loops: hot path)
            if not isinstance(x, Tensor):
                ref, gpu = _reference(inputs)
                tensors = tuple([as_tensor_like(x, ref, gpu) for x in inputs])
                break
        needs = inference = False
        if is_grad_enabled():
            for t in tensors:
                if t.requires_grad:
                    needs = True
                    break
            if needs:
                for t in tensors:
                    if t._inference:
                        raise RuntimeError(_inference_error(self, t))
        else:
            inference = is_inference_mode()
        self.requires_grad = needs
        self.needs_input_grad = (tuple([t.requires_grad for t in tensors]) if needs
                                 else (False,) * len(tensors))
        ys = self.forward(*[t.data for t in tensors])
        if inference:
            return _mark_inference(ys)
        if type(ys) is not tuple:
            out = Tensor._wrap(ys)
            if needs:
                self._record(tensors, (out,), (ys,))
            return out
        outputs = tuple([Tensor._wrap(y) for y in ys])
        if needs:
            self._record(tensors, outputs, ys)
        return outputs

    def _record(self, tensors: tuple[Tensor, ...], outputs: tuple[Tensor, ...],
                ys: tuple[Any, ...]) -> None:
        """Link the outputs to this op and keep what backward needs to find its inputs."""
        gen = max([t._generation for t in tensors])
        self.generation = gen
        self.inputs = tensors
        self.outputs = [weakref.ref(o) for o in outputs]
        self.output_meta = [(y.shape, y.dtype) for y in ys]
        for o in outputs:
            o._creator = self
            o._generation = gen + 1
            o.requires_grad = True

    def release(self) -> None:
        """Drop inputs, outputs and saved arrays after backward (the graph is freed)."""
        self.__dict__.clear()
        self._freed = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

"""Tensor: an array with a gradient, and the reverse-mode engine that fills it."""

from __future__ import annotations

import heapq
import itertools
from typing import Any

import numpy as np

from .._config import is_inference_mode
from ..backend import (
    device_of,
    get_array_module,
    get_default_dtype,
    is_cupy_array,
    to_device,
    to_numpy,
)

__all__ = ["Tensor", "tensor"]


def _to_array(data: Any, dtype: Any = None) -> Any:
    """Convert user data to an array, following deepgrad's dtype rules."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) or is_cupy_array(data):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        if arr.dtype.kind in "fiu" and dtype is None:
            arr = arr.astype(get_default_dtype())
        elif arr.dtype.kind not in "fiub":
            raise TypeError(
                f"cannot make a tensor from data of type {type(data).__name__} "
                f"(array dtype {arr.dtype}): expected numbers"
            )
    if dtype is not None and arr.dtype != np.dtype(dtype):
        arr = arr.astype(dtype)
    return arr


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Args:
        data: array-like. A float32/float64 NumPy (or CuPy) array keeps its dtype and is
            not copied; Python numbers and lists get the default float dtype
            (``deepgrad.get_default_dtype()``, float32 unless changed).
        requires_grad: whether ``backward()`` should compute ``.grad`` for this tensor.
        dtype: optional dtype to cast to.

    Example:
        >>> a = deepgrad.tensor(2.0, requires_grad=True)
        >>> (a * a).backward(); a.grad
        array(4., dtype=float32)
    """

    __array_priority__ = 1000.0
    __array_ufunc__ = None  # make ndarray <op> Tensor defer to Tensor's reflected op
    __hash__ = object.__hash__
    _inference = False  # made under inference_mode(): may not enter a recorded graph

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        self.data = _to_array(data, dtype)
        self.grad: Any = None
        self._creator: Any = None
        self._generation = 0
        self._retain_grad = False
        self.name = name
        self.requires_grad = False
        if is_inference_mode():
            self._inference = True
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: Any) -> Tensor:
        """Wrap a raw array without any conversion (internal fast path)."""
        t = cls.__new__(cls)
        t.data = array
        t.grad = None
        t._creator = None
        t._generation = 0
        t._retain_grad = False
        t.name = None
        t.requires_grad = False
        return t

    # ----------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape."""
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        """The array's dtype."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    @property
    def device(self) -> str:
        """'cpu' or 'cuda:N'."""
        return device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for a tensor made by the user rather than by an operation."""
        return self._creator is None

    @property
    def grad_fn(self) -> Any:
        """The Function that produced this tensor, or None for a leaf."""
        return self._creator

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        """The transpose (all axes reversed)."""
        from .ops.shape import transpose

        return transpose(self)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return int(self.data.shape[0])

    def __repr__(self) -> str:
        body = np.array2string(to_numpy(self.data), separator=", ", prefix="tensor(")
        extra = f", dtype={self.dtype}"
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ------------------------------------------------------------- conversions
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU if needed; shares memory on CPU)."""
        return to_numpy(self.data)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        """The data as nested Python lists."""
        return to_numpy(self.data).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous"
            )
        return bool(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = to_numpy(self.data)
        return a if dtype is None else a.astype(dtype)

    def detach(self) -> Tensor:
        """A new leaf tensor sharing this tensor's data, with no graph and no grad."""
        t = Tensor._wrap(self.data)
        if self._inference:
            t._inference = True
        return t

    @property
    def is_inference(self) -> bool:
        """True for a tensor made under ``inference_mode()``."""
        return self._inference

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (floating tensors only); returns self."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require grad, this one is {self.dtype}")
        if requires_grad and self._inference and not is_inference_mode():
            raise RuntimeError(_INFERENCE_GRAD)
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor during backward."""
        self._retain_grad = True
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets ``.grad`` to None)."""
        self.grad = None

    def to(self, device: str) -> Tensor:
        """This tensor on ``device`` ('cpu', 'cuda', 'cuda:N'); self if already there.

        The copy is a new leaf that keeps ``requires_grad``.
        """
        target = str(device).lower()
        here = self.device
        if target == here or (target in ("cuda", "gpu") and here == "cuda:0"):
            return self
        moved = Tensor._wrap(to_device(self.data, device))
        moved.requires_grad = self.requires_grad
        if self.grad is not None:
            moved.grad = to_device(self.grad, device)
        return moved

    def cpu(self) -> Tensor:
        """Same as ``to("cpu")``."""
        return self.to("cpu")

    def cuda(self) -> Tensor:
        """Same as ``to("cuda")``."""
        return self.to("cuda")

    def astype(self, dtype: Any) -> Tensor:
        """A cast copy; differentiable (the gradient is cast back)."""
        from .ops.math import cast

        return cast(self, dtype)

    # ------------------------------------------------------- comparisons (no graph)
    def _raw(self, other: Any) -> Any:
        return other.data if isinstance(other, Tensor) else other

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self.data == self._raw(other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self.data != self._raw(other)

    def __lt__(self, other: Any) -> Any:
        return self.data < self._raw(other)

    def __le__(self, other: Any) -> Any:
        return self.data <= self._raw(other)

    def __gt__(self, other: Any) -> Any:
        return self.data > self._raw(other)

    def __ge__(self, other: Any) -> Any:
        return self.data >= self._raw(other)

    # ---------------------------------------------------------------- backward
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        Gradients accumulate into ``.grad`` of leaves (and of tensors that called
        ``retain_grad()``). The graph is walked iteratively in reverse topological order
        and freed afterwards unless ``retain_graph=True``.

        Args:
            grad: the upstream gradient, same shape as this tensor. May be omitted for a
                one-element tensor (it is then 1).
            retain_graph: keep the graph so backward can be called again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True (or it ran under no_grad())"
            )
        xp = get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a grad needs a one-element tensor, got shape "
                    f"{self.shape}; pass grad= of that shape"
                )
            g = xp.ones_like(self.data)
        else:
            g = grad.data if isinstance(grad, Tensor) else grad
            g = xp.asarray(g, dtype=self.data.dtype)
            if g.shape != self.data.shape:
                raise ValueError(
                    f"backward(grad) has shape {tuple(g.shape)}, expected {self.shape}"
                )
            g = g.copy()
        _run_backward(self, g, retain_graph)


def _accumulate_leaf(t: Tensor, g: Any, handed_out: set[int]) -> None:
    """Add ``g`` into ``t.grad`` without ever sharing an array between two tensors."""
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    if t.grad is None:
        if id(g) in handed_out or getattr(g, "base", None) is not None:
            g = g.copy()
        t.grad = g
        handed_out.add(id(g))
    else:
        t.grad = t.grad + g
        handed_out.add(id(t.grad))


def _run_backward(root: Tensor, g: Any, retain_graph: bool) -> None:
    handed_out: set[int] = set()
    if root._creator is None:
        _accumulate_leaf(root, g, handed_out)
        return
    if root._creator._freed:
        raise RuntimeError(_FREED)
    # Pending gradients of non-leaf tensors, keyed by the tensor's identity for the
    # duration of this one pass only (the tensors are alive: their creators hold them).
    pending: dict[int, tuple[Tensor, Any]] = {id(root): (root, g)}
    counter = itertools.count()
    heap: list[tuple[int, int, Any]] = [(-root._creator.generation, next(counter), root._creator)]
    queued = {id(root._creator)}
    heappop, heappush = heapq.heappop, heapq.heappush
    while heap:
        f = heappop(heap)[2]
        gys = []
        any_grad = False
        for ref, (shape, dtype) in zip(f.outputs, f.output_meta, strict=False):  # equal
            out = ref()
            entry = pending.pop(id(out), None) if out is not None else None
            if entry is None:
                xp = get_array_module(*[t.data for t in f.inputs])
                gys.append(xp.zeros(shape, dtype=dtype))
                continue
            any_grad = True
            gy = entry[1]
            if out._retain_grad:
                _accumulate_leaf(out, gy, handed_out)
            gys.append(gy)
        if any_grad:
            inputs = f.inputs
            gxs = f.backward(*gys)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            if len(gxs) != len(inputs):
                raise RuntimeError(
                    f"{type(f).__name__}.backward returned {len(gxs)} gradients "
                    f"for {len(inputs)} inputs"
                )
            for x, gx in zip(inputs, gxs, strict=False):  # lengths checked above
                if gx is None or not x.requires_grad:
                    continue
                data = x.data
                if gx.shape != data.shape:
                    raise RuntimeError(
                        f"{type(f).__name__}.backward gave a gradient of shape "
                        f"{tuple(gx.shape)} for an input of shape {x.shape}"
                    )
                creator = x._creator
                if creator is None:
                    _accumulate_leaf(x, gx, handed_out)
                    continue
                if creator._freed:
                    raise RuntimeError(_FREED)
                if gx.dtype != data.dtype:
                    gx = gx.astype(data.dtype)
                # keep x alive with its gradient: f.release() below drops f's reference
                key = id(x)
                prev = pending.get(key)
                pending[key] = (x, gx if prev is None else prev[1] + gx)
                key = id(creator)
                if key not in queued:
                    queued.add(key)
                    heappush(heap, (-creator.generation, next(counter), creator))
        if not retain_graph:
            f.release()


_INFERENCE_GRAD = (
    "requires_grad_() on an inference tensor (made under inference_mode()) outside "
    "inference mode is not allowed; make a normal copy first, e.g. "
    "deepgrad.tensor(t.numpy().copy())"
)

_FREED = (
    "trying to backward through a graph a second time (its saved arrays were freed by the "
    "first backward); call backward(retain_graph=True) the first time"
)


def tensor(
    data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
) -> Tensor:
    """Make a tensor (see :class:`Tensor` for the dtype rules).

    Example:
        >>> x = deepgrad.tensor([[1.0, 2.0]], requires_grad=True)   # float32
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)

"""What fit / evaluate / predict are given, turned into validated batches.

Arrays are checked once (feature shape, NaN/inf, labels for the loss) and then sliced
without copies. A :class:`~deepgrad.data.DataLoader`, or any iterable of ``(x, y)``
batches (a list, a generator: Keras's datasets), is checked batch by batch as it comes,
with the same checks; the model is probed only when the feature shape changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from collections.abc import Iterator as IteratorABC
from typing import Any

import numpy as np

from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype, to_device
from ..data import DataLoader
from ..nn.module import Module
from .compile import LossSpec
from .validation import as_numeric_array, check_finite, check_lengths, check_targets

__all__ = ["is_batches", "Batches", "BatchChecker", "prepare_xy", "probe_output",
           "array_batches", "param_dtype", "model_device"]


def param_dtype(model: Module) -> np.dtype:
    """The dtype of the model's parameters (the default dtype for a model without any)."""
    for p in model.parameters():
        return p.dtype
    return get_default_dtype()


def model_device(model: Module) -> str:
    """The device of the model's parameters ("cpu" for a model without any)."""
    for p in model.parameters():
        return p.device
    return "cpu"


def is_batches(x: Any) -> bool:
    """True for a DataLoader or another iterable of batches (a generator, an iterator, a
    list or tuple of ``(x, y)`` tuples of arrays); False for arrays, tensors, data frames
    and nested lists of numbers."""
    if isinstance(x, DataLoader):
        return True
    if x is None or isinstance(x, str | bytes | dict) or hasattr(x, "shape") \
            or hasattr(x, "__array__"):
        return False
    if isinstance(x, list | tuple):
        first = x[0] if len(x) else None
        return isinstance(first, list | tuple) and 0 < len(first) <= 3 \
            and hasattr(first[0], "shape")
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


class Batches:
    """The batches of a loader or iterable, epoch after epoch.

    Without ``steps`` each epoch is one pass: a re-iterable (DataLoader, list) starts a new
    pass, a one-shot iterator (a generator) gives nothing after its first. With ``steps``
    an epoch takes that many batches; with ``cycle`` (fit, as Keras) it continues where the
    last epoch stopped, starting a new pass when one ends, and ``exhausted`` is set when a
    one-shot iterator runs out; without (evaluate, predict) it stops at the pass's end.
    """

    def __init__(self, data: Iterable[Any], steps: int | None = None,
                 cycle: bool = False) -> None:
        self.data, self.steps, self.cycle = data, steps, cycle
        self.one_shot = isinstance(data, IteratorABC)
        self.exhausted = False
        self._it: Iterator[Any] | None = None
        self._started = False
        self._pending: list[Any] = []

    def length(self) -> int | None:
        """Batches per epoch if known (from ``steps`` and ``len(data)``), else None."""
        try:
            n: int | None = len(self.data)  # type: ignore[arg-type]
        except TypeError:  # a generator: unknown
            n = None
        if self.steps is None:
            return n
        return self.steps if self.cycle or n is None else min(self.steps, n)

    def peek(self) -> Any:
        """The next batch, kept to be yielded first by the next :meth:`epoch`."""
        if not self._pending:
            self._pending.append(next(self._iterator()))
        return self._pending[0]

    def _iterator(self) -> Iterator[Any]:
        if self._it is None:
            if self.one_shot and self._started:
                return iter(())
            self._it, self._started = iter(self.data), True
        return self._it

    def epoch(self) -> Iterator[Any]:
        """Yield the batches of one epoch."""
        taken, fresh = 0, self._it is None
        while self.steps is None or taken < self.steps:
            try:
                batch = self._pending.pop() if self._pending else next(self._iterator())
            except StopIteration:
                self._it = None
                if self.steps is not None and (self.one_shot or fresh):
                    self.exhausted = True
                if self.steps is None or not self.cycle or self.exhausted:
                    return
                fresh = True
                continue
            taken, fresh = taken + 1, False
            yield batch


def probe_output(model: Module, X: Any, name: str = "X") -> tuple[int, ...]:
    """Run the model on one example to check the input shape and learn the output shape."""
    was = model.training
    model.eval()
    try:
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):  # shapes only
            out = model(Tensor(to_device(X[:1], model_device(model))))
    except ValueError as e:
        raise ValueError(f"{name} (shape {tuple(X.shape)}) doesn't fit the model: {e}") from None
    finally:
        model.train(was)
    return tuple(out.shape)


def prepare_xy(model: Module, spec: LossSpec, X: Any, y: Any, xname: str = "X",
               yname: str = "y", probe: Callable[..., tuple[int, ...]] = probe_output
               ) -> tuple[Any, Any]:
    """``X, y`` checked and converted for ``spec``'s loss: floats of the model's dtype,
    finite, of equal length, inputs that fit the model, targets that fit its outputs."""
    dtype = param_dtype(model)
    Xa = as_numeric_array(X, xname, float_dtype=dtype)
    check_finite(Xa, xname)
    ya = as_numeric_array(y, yname)
    check_finite(ya, yname)
    check_lengths(Xa, ya, xname, yname)
    out_shape = probe(model, Xa, xname)
    n_out = int(np.prod(out_shape[1:])) if len(out_shape) > 1 else 1
    ya = check_targets(ya, spec.kind, n_out, spec.name, out_shape, yname)
    if ya.dtype.kind in "biu" and spec.kind in ("binary", "categorical", "regression"):
        ya = ya.astype(dtype)
    elif ya.dtype.kind == "f" and ya.dtype != dtype:
        ya = ya.astype(dtype)
    return Xa, ya


class BatchChecker:
    """Check and convert the batches of a loader as :func:`prepare_xy` does arrays.

    Args:
        model, spec: the compiled model and its loss.
        name: the data's name in messages ("x", "validation_data").
        targets: whether batches hold targets (``(x, y)``; predict takes ``x`` alone too).
    """

    def __init__(self, model: Module, spec: LossSpec | None, name: str = "x",
                 targets: bool = True) -> None:
        self.model, self.spec, self.name, self.targets = model, spec, name, targets
        self.dtype = param_dtype(model)
        self._out: dict[tuple[int, ...], tuple[int, ...]] = {}

    def _probe(self, model: Module, X: Any, name: str) -> tuple[int, ...]:
        key = tuple(X.shape[1:])
        if key not in self._out:
            self._out[key] = probe_output(model, X, name)
        return (len(X), *self._out[key][1:])

    def _split(self, batch: Any, b: int) -> tuple[Any, Any]:
        if not isinstance(batch, tuple | list):
            if self.targets:
                raise ValueError(f"{self.name}: batch {b + 1} is a {type(batch).__name__}; "
                                 "expected an (x, y) pair")
            return batch, None
        if len(batch) == 2 or (not self.targets and len(batch) == 1):
            return batch[0], batch[1] if len(batch) == 2 else None
        raise ValueError(f"{self.name}: batch {b + 1} has {len(batch)} fields; expected "
                         + ("(x, y)" if self.targets else "x, (x,) or (x, y)")
                         + (" (sample weights are not supported)" if len(batch) == 3 else ""))

    def __call__(self, batch: Any, b: int) -> tuple[Any, Any]:
        """The checked ``(x, y)`` of batch ``b`` (0-based; y is None without targets)."""
        x, y = self._split(batch, b)
        prefix = "" if self.name == "x" else f"{self.name} "
        xname, yname = f"{prefix}x (batch {b + 1})", f"{prefix}y (batch {b + 1})"
        if not self.targets:
            xa = as_numeric_array(x, xname, float_dtype=self.dtype)
            check_finite(xa, xname)
            self._probe(self.model, xa, xname)
            return xa, None
        assert self.spec is not None
        return prepare_xy(self.model, self.spec, x, y, xname, yname, self._probe)

    def map(self, batches: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Each batch of ``batches``, checked."""
        for b, batch in enumerate(batches):
            yield self(batch, b)


def array_batches(X: Any, y: Any, batch_size: int, steps: int | None = None
                  ) -> Iterator[tuple[Any, Any]]:
    """Consecutive slices (views, no copies) of checked arrays; at most ``steps``."""
    n = len(X) if steps is None else min(len(X), steps * batch_size)
    for i in range(0, n, batch_size):
        yield X[i : i + batch_size], None if y is None else y[i : i + batch_size]

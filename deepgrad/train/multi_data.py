"""What fit / evaluate / predict of a model with several inputs or outputs are given,
turned into checked arrays: per input and per output, as lists or dicts of arrays, or as a
loader / iterable of batches (each batch ``(x, y)`` with ``x`` and ``y`` lists or dicts, or
a flat tuple of the inputs' then the outputs' arrays, as ``DataLoader(ArrayDataset(a, b,
y1, y2))`` gives)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import DataLoader
from ..nn.graph import Model as GraphModel
from ..nn.module import Module
from .inputs import param_dtype
from .validation import as_numeric_array, check_finite, check_lengths, check_targets

if TYPE_CHECKING:
    from .multi import OutputSpec

__all__ = ["is_multi", "unwrap_single", "input_keys", "prepare_inputs", "prepare_targets",
           "array_batches_multi", "split_tail_multi", "is_multi_batches", "checked_batches"]


def is_multi(model: Module) -> bool:
    """Whether ``model`` is a graph model with several inputs or outputs."""
    return isinstance(model, GraphModel) and model.is_graph and (
        len(model.inputs) > 1 or len(model.outputs) > 1)


def _as_list(value: Any, keys: list[str], what: str) -> list[Any]:
    if isinstance(value, dict):
        missing = [k for k in keys if k not in value]
        if missing:
            raise ValueError(f"{what}: missing {missing}; expected keys {keys}")
        return [value[k] for k in keys]
    if isinstance(value, list | tuple) and len(keys) > 1:
        if len(value) != len(keys):
            raise ValueError(f"{what}: got {len(value)} arrays for {len(keys)} ({keys})")
        return list(value)
    if len(keys) == 1:
        return [value]
    raise ValueError(f"{what}: the model has {len(keys)} ({keys}): give a list or a dict")


def unwrap_single(model: Module, X: Any, y: Any = None) -> tuple[Any, Any]:
    """For a graph model with one input and one output, ``X`` and ``y`` given as dicts
    by name (Keras accepts them) become the arrays."""
    if isinstance(model, GraphModel) and model.is_graph and not is_multi(model):
        if isinstance(X, dict):
            X = _as_list(X, input_keys(model), "X")[0]
        if isinstance(y, dict):
            y = _as_list(y, [str(k) for k in model.output_keys], "y")[0]
    return X, y


def input_keys(model: GraphModel) -> list[str]:
    k = model._in_keys
    return [str(x) for x in k] if isinstance(k, list) else model.input_names


def prepare_inputs(model: GraphModel, X: Any, what: str = "X") -> list[np.ndarray]:
    """Each input as a checked array (shape per example, dtype, finite, equal lengths)."""
    keys = input_keys(model)
    dtype = param_dtype(model)
    xs = []
    for k, x, t in zip(keys, _as_list(X, keys, what), model.inputs, strict=True):
        name = f"{what}[{k!r}]"
        a = as_numeric_array(x, name, float_dtype=dtype if t.dtype.kind == "f" else None)
        check_finite(a, name)
        if tuple(a.shape[1:]) != tuple(t.shape[1:]):
            raise ValueError(f"{name}: examples of shape {tuple(a.shape[1:])}, but input "
                             f"{t.name!r} takes {tuple(t.shape[1:])}")
        if t.dtype.kind != "f":
            a = a.astype(t.dtype)
        xs.append(a)
    for k, a in zip(keys[1:], xs[1:], strict=True):
        check_lengths(xs[0], a, f"{what}[{keys[0]!r}]", f"{what}[{k!r}]")
    return xs


def prepare_targets(model: GraphModel, outs: list[OutputSpec], y: Any, n: int,
                    what: str = "y") -> list[Any]:
    """Each trained output's targets, checked for its loss (None for untrained ones)."""
    keys = [o.key for o in outs]
    ys = []
    dtype = param_dtype(model)
    for o, v, t in zip(outs, _as_list(y, keys, what), model.outputs, strict=True):
        if o.spec is None:
            ys.append(None)
            continue
        name = f"{what}[{o.key!r}]"
        a = as_numeric_array(v, name)
        check_finite(a, name)
        if len(a) != n:
            raise ValueError(f"{name} has {len(a)} samples, the inputs {n}")
        shape = (n, *t.shape[1:])
        units = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        a = check_targets(a, o.spec.kind, units, o.spec.name, shape, name)
        if a.dtype.kind in "biu" and o.spec.kind in ("binary", "categorical", "regression"):
            a = a.astype(dtype)
        elif a.dtype.kind == "f" and a.dtype != dtype:
            a = a.astype(dtype)
        ys.append(a)
    return ys


def array_batches_multi(xs: list[np.ndarray], ys: list[Any], batch_size: int | None,
                        order: np.ndarray | None) -> Iterator[tuple[list[Any], list[Any]]]:
    """Batches of the arrays: consecutive slices, or by ``order`` (shuffled indices)."""
    n = len(xs[0])
    bs = n if batch_size is None else batch_size
    for i in range(0, n, bs):
        idx = slice(i, i + bs) if order is None else order[i : i + bs]
        yield [x[idx] for x in xs], [None if y is None else y[idx] for y in ys]


def split_tail_multi(xs: list[np.ndarray], ys: list[Any], fraction: float
                     ) -> tuple[Any, Any, Any, Any]:
    """(train inputs, train targets, held-out inputs, held-out targets): the last
    ``fraction`` of the examples held out."""
    n = len(xs[0])
    n_val = int(math.floor(n * fraction))
    if n_val < 1 or n_val >= n:
        raise ValueError(f"validation_split={fraction} leaves no training or validation data "
                         f"for {n} samples")
    cut = n - n_val
    return ([x[:cut] for x in xs], [None if y is None else y[:cut] for y in ys],
            [x[cut:] for x in xs], [None if y is None else y[cut:] for y in ys])


def is_multi_batches(x: Any) -> bool:
    """A DataLoader, an iterator/generator, or a list of batch tuples (whose first
    entry is itself a list, tuple or dict of arrays): not arrays by input."""
    if isinstance(x, DataLoader) or isinstance(x, Iterator):
        return True
    if isinstance(x, list) and x and isinstance(x[0], tuple) and len(x[0]) >= 2:
        return isinstance(x[0][0], list | tuple | dict) or len(x[0]) > 2
    return False


def checked_batches(model: GraphModel, outs: list[OutputSpec], batches: Iterable[Any],
                    what: str) -> Iterator[tuple[list[np.ndarray], list[Any]]]:
    """Each batch as checked ``(inputs, targets)`` lists."""
    n_in, n_out = len(model.inputs), len(outs)
    for b, batch in enumerate(batches):
        where = f"{what} (batch {b + 1})"
        if not isinstance(batch, tuple | list):
            raise ValueError(f"{where}: a {type(batch).__name__}; expected (x, y)")
        if len(batch) == 2:
            xb, yb = batch
        elif len(batch) == n_in + n_out:
            xb, yb = list(batch[:n_in]), list(batch[n_in:])
        else:
            raise ValueError(f"{where}: {len(batch)} arrays; expected (x, y) or the "
                             f"{n_in} inputs' then the {n_out} outputs' arrays")
        xs = prepare_inputs(model, xb, f"{where} x")
        yield xs, prepare_targets(model, outs, yb, len(xs[0]), f"{where} y")

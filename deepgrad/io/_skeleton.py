"""Rebuilding a saved model: its architecture first as a skeleton that takes no memory,
checked against the stored arrays' headers, then filled with the arrays read from the file.

The skeleton is built inside ``deepgrad.nn.init.skip_init()``: parameters and buffers are
zero-memory placeholders and no initializer runs, so a file that declares a huge
architecture fails the shape check before anything is allocated, and loading a real model
allocates each weight once (read from the file) instead of initializing it randomly first.
A layer that cannot be built so is built normally (``module_from_config``'s fallback); a
model that keeps placeholders where loading cannot fill them (a view of a weight, a
non-persistent buffer) is rebuilt normally once its shapes have passed the check.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import default_dtype
from ..nn.init import is_placeholder, skip_init
from ..nn.module import Module
from ._archive import Archive, ArrayEntry
from .config import module_from_config

__all__ = ["build_model", "check_shapes"]


def _architecture(arc: Archive, skeleton: bool) -> Module:
    manifest = arc.manifest
    try:
        dtype = np.dtype(manifest.get("dtype") or "float32")
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"unsupported dtype {dtype}")
        with default_dtype(dtype), skip_init(skeleton):
            model = module_from_config(manifest["architecture"])
    except (KeyError, TypeError, ValueError, MemoryError, RecursionError) as e:
        raise ValueError(f"{arc.path}: cannot rebuild the architecture: {e}") from e
    return model


def check_shapes(model: Module, stored: dict[str, ArrayEntry], path: str) -> None:
    """ValueError naming the first parameter or buffer whose stored array doesn't match."""
    own = {k: tuple(t.shape) for k, t in model._state_items()}
    problems = []
    for k, shape in own.items():
        if k not in stored:
            problems.append(f"the architecture has {k}, which the file does not store")
        elif stored[k].shape != shape:
            problems.append(f"{k} is stored as {stored[k].shape} but the architecture "
                            f"declares {shape}")
    problems += [f"the file stores {k}, which the architecture does not have" for k in stored
                 if k not in own and not k.endswith("num_batches_tracked")]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValueError(f"{path}: weights don't match the architecture: {problems[0]}{more}")


def _fill(model: Module, stored: dict[str, ArrayEntry], arc: Archive) -> None:
    """Read each array into its parameter or buffer: a placeholder gets the array read,
    a real one is copied into in place (as ``load_state_dict`` does)."""
    for k, t in model._state_items():
        a = arc.read(stored[k])
        if is_placeholder(t):
            t.data = np.asarray(a, dtype=t.dtype, order="C")
        else:
            t.data[...] = np.asarray(a, dtype=t.dtype)


def _holds_placeholder(value: Any, allowed: set[int], seen: set[int], depth: int = 0) -> bool:
    """Whether a placeholder is reachable from ``value`` other than as a Tensor in
    ``allowed`` (the parameters and buffers that loading fills)."""
    if isinstance(value, np.ndarray | Tensor):
        return id(value) not in allowed and is_placeholder(value)
    if id(value) in seen or depth > 4:
        return False
    seen.add(id(value))
    if isinstance(value, Module):
        return any(_holds_placeholder(v, allowed, seen) for v in vars(value).values())
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list | tuple):
        return False
    return any(_holds_placeholder(v, allowed, seen, depth + 1) for v in value)


def build_model(arc: Archive, stored: dict[str, ArrayEntry]) -> Module:
    """The model of ``arc``'s manifest with the ``stored`` arrays (key -> header) as its
    parameters and buffers; ValueError before allocating if their shapes don't match."""
    model = _architecture(arc, skeleton=True)
    check_shapes(model, stored, arc.path)
    allowed = {id(t) for _, t in model._state_items()}
    if _holds_placeholder(model, allowed, set()):
        del model  # its shapes passed the check: now build it for real
        model = _architecture(arc, skeleton=False)
        check_shapes(model, stored, arc.path)
    _fill(model, stored, arc)
    return model

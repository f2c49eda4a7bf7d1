"""Collectives on arrays and models: allreduce, broadcast, and the start-of-training sync."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ..backend import get_array_module, to_numpy
from . import _world as W

__all__ = ["allreduce", "broadcast", "allgather_object", "broadcast_object",
           "broadcast_parameters", "broadcast_buffers", "broadcast_optimizer_state",
           "check_same_everywhere", "DistributedMismatchError"]

_OPS = ("mean", "sum", "max", "min")


class DistributedMismatchError(ValueError):
    """Ranks disagree on something that must be the same everywhere (raised on all ranks)."""


def _mpi_op(op: str) -> Any:
    from mpi4py import MPI  # noqa: PLC0415 - only reached under MPI

    return {"mean": MPI.SUM, "sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]


def _host(array: Any) -> tuple[np.ndarray, bool]:
    """A C-contiguous host array for MPI, and whether it is a copy."""
    a = to_numpy(array)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"array must be a NumPy/CuPy array, got {type(array).__name__}")
    if a.flags.c_contiguous and a is array:
        return a, False
    return np.ascontiguousarray(a), True


def allreduce(array: Any, op: str = "mean") -> Any:
    """Combine ``array`` over all ranks, **in place**, and return it.

    Args:
        array: a float or integer NumPy/CuPy array (or a Tensor: its data), same shape
            and dtype on every rank.
        op: "mean" (the sum divided by the world size; float arrays only), "sum", "max"
            or "min".

    Returns:
        ``array`` (the same object), holding the combined values on every rank.
    """
    if op not in _OPS:
        raise ValueError(f"op must be one of {list(_OPS)}, got {op!r}")
    arr = array.data if hasattr(array, "requires_grad") else array
    if not hasattr(arr, "dtype"):
        raise TypeError(f"array must be a NumPy/CuPy array or a Tensor, got "
                        f"{type(array).__name__}")
    if op == "mean" and arr.dtype.kind != "f":
        raise TypeError(f"op='mean' needs a float array, got {arr.dtype}")
    if W.world_size() == 1:
        return array
    from mpi4py import MPI  # noqa: PLC0415

    buf, copied = _host(arr)
    W.comm().Allreduce(MPI.IN_PLACE, buf, op=_mpi_op(op))
    if op == "mean":
        buf *= buf.dtype.type(1.0 / W.world_size())
    if copied:
        arr[...] = get_array_module(arr).asarray(buf)
    return array


def broadcast(array: Any, root: int = 0) -> Any:
    """Overwrite ``array`` in place with rank ``root``'s values; returns it."""
    arr = array.data if hasattr(array, "requires_grad") else array
    if not hasattr(arr, "dtype"):
        raise TypeError(f"array must be a NumPy/CuPy array or a Tensor, got "
                        f"{type(array).__name__}")
    _check_root(root)
    if W.world_size() == 1:
        return array
    buf, copied = _host(arr)
    W.comm().Bcast(buf, root=root)
    if copied:
        arr[...] = get_array_module(arr).asarray(buf)
    return array


def _check_root(root: int) -> None:
    if isinstance(root, bool) or not isinstance(root, int | np.integer) or not (
            0 <= root < W.world_size()):
        raise ValueError(f"root must be a rank in [0, {W.world_size()}), got {root!r}")


def allgather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (pickled), in rank order."""
    if W.world_size() == 1:
        return [obj]
    return W.comm().allgather(obj)


def broadcast_object(obj: Any, root: int = 0) -> Any:
    """Rank ``root``'s ``obj`` (pickled) on every rank."""
    _check_root(root)
    if W.world_size() == 1:
        return obj
    return W.comm().bcast(obj, root=root)


def broadcast_parameters(model: Any, root: int = 0) -> None:
    """Give every rank rank ``root``'s parameters and buffers (in place, by name).

    Args:
        model: a Module (its ``named_parameters`` and ``named_buffers``), or a dict of
            name -> array/Tensor.
    """
    items = (list(model.items()) if isinstance(model, dict)
             else [*model.named_parameters(), *model.named_buffers()])
    _check_root(root)
    if W.world_size() == 1:
        return
    check_same_everywhere(
        {"tensors": [(k, tuple(getattr(v, "shape", ())), str(getattr(v, "dtype", "?")))
                     for k, v in items]}, "the model's parameters and buffers")
    for _, v in items:
        if v is not None:
            broadcast(v, root)


def broadcast_buffers(model: Any, root: int = 0) -> None:
    """Give every rank rank ``root``'s buffers (BatchNorm's running statistics)."""
    if W.world_size() == 1:
        return
    for _, b in model.named_buffers():
        if b is not None:
            broadcast(b, root)


def broadcast_optimizer_state(optimizer: Any, root: int = 0) -> None:
    """Give every rank rank ``root``'s optimizer state and hyperparameters (for resuming).

    The state travels as one pickled ``state_dict()`` and is loaded with
    ``load_state_dict`` (which casts it to each parameter's dtype and device).
    """
    opt = getattr(optimizer, "optimizer", optimizer)  # a DistributedOptimizer's inner one
    _check_root(root)
    if W.world_size() == 1:
        return
    sd = opt.state_dict() if W.rank() == root else None
    sd = broadcast_object(_host_tree(sd), root)
    opt.load_state_dict(sd)


def _host_tree(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _host_tree(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_host_tree(v) for v in obj)
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        return to_numpy(obj)
    return obj


def check_same_everywhere(value: Any, what: str) -> None:
    """Raise DistributedMismatchError on every rank unless ``value`` (a small picklable
    description: shapes, lengths, config) is equal on all ranks. One collective."""
    if W.world_size() == 1:
        return
    digest = hashlib.sha256(repr(value).encode()).hexdigest()
    gathered = allgather_object((digest, repr(value)[:2000]))
    if len({d for d, _ in gathered}) == 1:
        return
    ref = gathered[0][1]
    lines = [f"rank {r}: {text}" for r, (_, text) in enumerate(gathered) if text != ref
             or r == 0]
    raise DistributedMismatchError(
        f"the ranks disagree on {what} (every rank must run the same script on the same "
        "setup):\n  " + "\n  ".join(lines))

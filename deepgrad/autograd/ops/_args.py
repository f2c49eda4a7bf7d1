"""Argument handling shared by the ops: NumPy's ``axis``/``keepdims`` and PyTorch's
``dim``/``keepdim`` spellings, and axis normalization that treats a 0-d tensor as PyTorch
does (``dim`` 0 and -1 name its one implicit axis)."""

from __future__ import annotations

import builtins
from typing import Any

Axis = int | tuple[int, ...] | list[int] | None


class AxisError(ValueError, IndexError):
    """An axis out of range (a ValueError as deepgrad's errors, an IndexError as
    PyTorch's and NumPy's ``AxisError``)."""


def pick_axis(axis: Any, dim: Any, op: str, default: Any = None) -> Any:
    """``axis`` or its PyTorch spelling ``dim`` (TypeError when both are given)."""
    if dim is not None:
        if axis is not None and axis is not default:
            raise TypeError(f"{op}: got both axis={axis!r} and dim={dim!r}; pass one of them")
        return dim
    return default if axis is None else axis


def pick_keepdims(keepdims: bool, keepdim: bool | None, op: str) -> bool:
    """``keepdims`` or its PyTorch spelling ``keepdim`` (TypeError when they disagree)."""
    if keepdim is None:
        return bool(keepdims)
    if keepdims and not keepdim:
        raise TypeError(f"{op}: got both keepdims={keepdims!r} and keepdim={keepdim!r}")
    return bool(keepdim)


def canon_axis(a: Any, ndim: int, op: str) -> int:
    """One axis index in ``[0, ndim)``; for a 0-d array 0 and -1 are accepted (PyTorch)."""
    if isinstance(a, bool) or not isinstance(a, int) and not hasattr(a, "__index__"):
        raise TypeError(f"{op}: an axis must be an int, got {a!r}")
    a = int(a)
    span = builtins.max(ndim, 1)
    if not -span <= a < span:
        raise AxisError(
            f"{op}: axis {a} is out of range for a tensor of {ndim} dimensions "
            f"(expected {-span}..{span - 1})"
        )
    return a % span


def norm_axes(axis: Axis, ndim: int, op: str = "reduction") -> tuple[int, ...]:
    """Sorted, unique, non-negative axes; ``None`` means all. A 0-d array has no axes, so
    ``axis=0`` or ``-1`` on it reduces nothing (and returns the value, as PyTorch)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if not isinstance(axis, tuple | list) else tuple(axis)
    out = [canon_axis(a, ndim, op) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} names the same axis more than once")
    return tuple(sorted(out)) if ndim else ()

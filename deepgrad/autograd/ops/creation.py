"""Tensor creation with PyTorch's names: zeros, ones, full, empty, arange, linspace, eye,
rand, randn, randint, zeros_like, ones_like, full_like.

Floating results get the default dtype (float32 unless changed) unless ``dtype=`` says
otherwise; random ones draw from ``generator=`` (a ``numpy.random.Generator`` or an int
seed) or from deepgrad's default generator (``deepgrad.manual_seed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._config import is_inference_mode
from ..._random import as_generator
from ...backend import get_default_dtype, to_device
from ..tensor import Tensor

__all__ = [
    "zeros", "ones", "full", "empty", "arange", "linspace", "eye", "rand", "randn", "randint",
    "zeros_like", "ones_like", "full_like",
]


def _size(size: Sequence[Any], op: str) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], tuple | list):
        size = tuple(size[0])
    out = []
    for n in size:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"{op}: sizes must be non-negative ints, got {tuple(size)}")
        out.append(int(n))
    return tuple(out)


def _float_dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def _make(arr: np.ndarray, requires_grad: bool, device: str | None) -> Tensor:
    """Wrap a fresh NumPy array, on ``device``, as a leaf tensor."""
    if device is not None and str(device).lower() != "cpu":
        arr = to_device(arr, device)
    t = Tensor._wrap(arr)
    if is_inference_mode():
        t._inference = True
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False,
          device: str | None = None) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``.

    Shape:
        output: ``size``.
    """
    return _make(np.zeros(_size(size, "zeros"), _float_dtype(dtype)), requires_grad, device)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False,
         device: str | None = None) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``.

    Shape:
        output: ``size``.
    """
    return _make(np.ones(_size(size, "ones"), _float_dtype(dtype)), requires_grad, device)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False,
          device: str | None = None) -> Tensor:
    """An uninitialized tensor (its values are arbitrary), as ``torch.empty``.

    Shape:
        output: ``size``.
    """
    return _make(np.empty(_size(size, "empty"), _float_dtype(dtype)), requires_grad, device)


def _fill_dtype(fill_value: Any, dtype: Any) -> np.dtype:
    """PyTorch's rule: bool -> bool, int -> int64, float -> the default float dtype."""
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(fill_value, bool | np.bool_):
        return np.dtype(bool)
    if isinstance(fill_value, int | np.integer):
        return np.dtype(np.int64)
    return get_default_dtype()


def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None,
         requires_grad: bool = False, device: str | None = None) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype from it unless given: bool, int64 or the
    default float).

    Shape:
        output: ``size``.
    """
    shape = _size((size,), "full")
    return _make(np.full(shape, fill_value, _fill_dtype(fill_value, dtype)), requires_grad,
                 device)


def _like(x: Any, dtype: Any) -> tuple[tuple[int, ...], np.dtype, str]:
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    dev = x.device if isinstance(x, Tensor) else "cpu"
    return tuple(data.shape), np.dtype(dtype) if dtype is not None else data.dtype, dev


def zeros_like(x: Any, *, dtype: Any = None, requires_grad: bool = False,
               device: str | None = None) -> Tensor:
    """Zeros with ``x``'s shape, dtype and device (unless given).

    Shape:
        output: x's shape.
    """
    shape, dt, dev = _like(x, dtype)
    return _make(np.zeros(shape, dt), requires_grad, device or dev)


def ones_like(x: Any, *, dtype: Any = None, requires_grad: bool = False,
              device: str | None = None) -> Tensor:
    """Ones with ``x``'s shape, dtype and device (unless given).

    Shape:
        output: x's shape.
    """
    shape, dt, dev = _like(x, dtype)
    return _make(np.ones(shape, dt), requires_grad, device or dev)


def full_like(x: Any, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False,
              device: str | None = None) -> Tensor:
    """``fill_value`` with ``x``'s shape, dtype and device (unless given).

    Shape:
        output: x's shape.
    """
    shape, dt, dev = _like(x, dtype)
    return _make(np.full(shape, fill_value, dt), requires_grad, device or dev)


def arange(start: float, end: float | None = None, step: float = 1, *, dtype: Any = None,
           requires_grad: bool = False, device: str | None = None) -> Tensor:
    """Values from ``start`` (0 when only one bound is given) up to, not including, ``end``
    in steps of ``step``: int64 when all three are ints, else the default float dtype.

    Shape:
        output: (ceil((end - start) / step),).
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    ints = all(isinstance(v, int | np.integer) and not isinstance(v, bool)
               for v in (start, end, step))
    dt = np.dtype(dtype) if dtype is not None else (
        np.dtype(np.int64) if ints else get_default_dtype())
    # computed in float64 (or int64) and cast, so a float32 result has float64-accurate values
    arr = np.arange(start, end, step, dtype=np.int64 if ints else np.float64).astype(dt)
    return _make(arr, requires_grad, device)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None,
             requires_grad: bool = False, device: str | None = None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included.

    Shape:
        output: (steps,).
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    arr = np.linspace(start, end, int(steps)).astype(_float_dtype(dtype))
    return _make(arr, requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype: Any = None, requires_grad: bool = False,
        device: str | None = None) -> Tensor:
    """The ``n x m`` identity matrix (square when ``m`` is None).

    Shape:
        output: (n, m).
    """
    rows, cols = _size((n, n if m is None else m), "eye")
    return _make(np.eye(rows, cols, dtype=_float_dtype(dtype)), requires_grad, device)


def _random_float(dtype: Any, op: str) -> np.dtype:
    dt = _float_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating dtype, got {dt}")
    return dt


def rand(*size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False,
         device: str | None = None) -> Tensor:
    """Uniform samples in [0, 1).

    Args:
        size: the shape, as ints or one tuple.
        generator: a ``numpy.random.Generator`` or an int seed; deepgrad's default
            generator (``deepgrad.manual_seed``) when None.

    Shape:
        output: ``size``.
    """
    dt = _random_float(dtype, "rand")
    g = as_generator(generator)
    arr = g.random(_size(size, "rand"), dtype=dt)
    return _make(arr, requires_grad, device)


def randn(*size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False,
          device: str | None = None) -> Tensor:
    """Standard normal samples (mean 0, variance 1); ``generator`` as in :func:`rand`.

    Shape:
        output: ``size``.
    """
    dt = _random_float(dtype, "randn")
    g = as_generator(generator)
    arr = g.standard_normal(_size(size, "randn"), dtype=dt)
    return _make(arr, requires_grad, device)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), *,
            generator: Any = None, dtype: Any = None, device: str | None = None) -> Tensor:
    """Integers drawn uniformly from ``[low, high)`` (``[0, low)`` when ``high`` is omitted,
    as ``torch.randint(high, size)``), int64 unless ``dtype`` says otherwise.

    Shape:
        output: ``size``.
    """
    if high is None:
        low, high = 0, low
    elif isinstance(high, tuple | list):  # randint(high, size)
        low, high, size = 0, low, high
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    g = as_generator(generator)
    size = (size,) if isinstance(size, int | np.integer) else tuple(size)
    arr = g.integers(low, high, size=_size((size,), "randint"), dtype=np.int64)
    if dtype is not None:
        arr = arr.astype(dtype)
    return _make(arr, False, device)

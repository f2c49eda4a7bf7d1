"""Array backend: NumPy on the CPU, CuPy on a CUDA device, and the default float dtype.

This is the only module that imports CuPy, and only when a CUDA device is asked for
or a CuPy array is seen. ``import deepgrad`` never touches it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "get_array_module",
    "to_numpy",
    "to_device",
    "device_of",
    "is_cupy_array",
    "cupy_available",
    "get_default_dtype",
    "set_default_dtype",
    "default_dtype",
    "sum_to",
    "scatter_add",
]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_default_dtype: np.dtype = np.dtype(np.float32)
_cupy: ModuleType | None = None


def _import_cupy() -> ModuleType:
    """Import CuPy or raise a clear error saying what is missing."""
    global _cupy
    if _cupy is not None:
        return _cupy
    try:
        import cupy  # noqa: PLC0415 - optional, imported only when a GPU is asked for
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            "device 'cuda' needs CuPy, which is not installed: "
            "pip install 'deepgrad[gpu]' (or cupy-cuda12x / cupy-cuda13x)"
        ) from e
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # pragma: no cover - depends on the machine
        raise RuntimeError(f"device 'cuda' is not usable: CuPy found no CUDA device ({e})") from e
    if n == 0:  # pragma: no cover
        raise RuntimeError("device 'cuda' is not usable: no CUDA device found")
    _cupy = cupy
    return cupy


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        _import_cupy()
    except RuntimeError:
        return False
    return True


def is_cupy_array(x: Any) -> bool:
    """True for a CuPy ndarray, decided without importing CuPy."""
    return type(x).__module__.startswith("cupy")


def get_array_module(*xs: Any) -> ModuleType:
    """The array module (numpy or cupy) for the given arrays or tensors.

    Tensors are looked through to their ``.data``. Anything that is not a CuPy
    array counts as NumPy.
    """
    for x in xs:
        d = getattr(x, "data", x) if not isinstance(x, np.ndarray) else x
        if is_cupy_array(d):
            return _import_cupy()
    return np


def to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` (a tensor, a CuPy or NumPy array, or a scalar) as a NumPy array."""
    d = x.data if hasattr(x, "requires_grad") else x
    if is_cupy_array(d):
        return d.get()
    return np.asarray(d)


def _parse_device(device: Any) -> tuple[str, int]:
    s = str(device).lower()
    if s == "cpu":
        return "cpu", 0
    if s == "cuda" or s == "gpu":
        return "cuda", 0
    if s.startswith("cuda:"):
        try:
            return "cuda", int(s[5:])
        except ValueError:
            pass
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def to_device(x: Any, device: str) -> Any:
    """Move an array to ``device`` ('cpu', 'cuda', 'cuda:N'); returns the same array if there."""
    kind, index = _parse_device(device)
    if kind == "cpu":
        return to_numpy(x)
    cp = _import_cupy()
    with cp.cuda.Device(index):
        return cp.asarray(x)


def device_of(x: Any) -> str:
    """'cpu' for a NumPy array, 'cuda:N' for a CuPy array."""
    if is_cupy_array(x):
        return f"cuda:{x.device.id}"
    return "cpu"


def get_default_dtype() -> np.dtype:
    """The float dtype new tensors and parameters get (float32 unless changed)."""
    return _default_dtype


def _check_float_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in _FLOAT_DTYPES:
        raise ValueError(f"default dtype must be float32 or float64, got {dt}")
    return dt


def set_default_dtype(dtype: Any) -> None:
    """Set the default float dtype: ``np.float32`` (the default) or ``np.float64``."""
    global _default_dtype
    _default_dtype = _check_float_dtype(dtype)


@contextlib.contextmanager
def default_dtype(dtype: Any) -> Iterator[np.dtype]:
    """Context manager that sets the default float dtype and restores it on exit."""
    global _default_dtype
    old = _default_dtype
    _default_dtype = _check_float_dtype(dtype)
    try:
        yield _default_dtype
    finally:
        _default_dtype = old


def sum_to(x: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``x`` down to ``shape``, undoing NumPy broadcasting (the backward of broadcast)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1
    )
    y = x.sum(axis=axes, keepdims=True)
    if lead:
        y = y.reshape(y.shape[lead:])
    return y


def scatter_add(a: Any, index: Any, b: Any) -> None:
    """``a[index] += b`` with repeated indices accumulating (np.add.at / cupyx.scatter_add)."""
    if is_cupy_array(a):  # pragma: no cover - GPU only
        import cupyx  # noqa: PLC0415

        cupyx.scatter_add(a, index, b)
    else:
        np.add.at(a, index, b)

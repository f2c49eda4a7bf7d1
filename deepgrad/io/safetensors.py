"""The safetensors format, read and written with NumPy alone.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON (the header:
for each tensor its dtype, shape and ``[begin, end)`` byte offsets into the data that
follows, plus an optional ``"__metadata__"`` map of strings), then the raw little-endian
tensor bytes, packed without gaps. It holds no code, so loading a file runs nothing from it.

Reading checks the whole header before it reads any tensor: the header's size, that every
entry has a known dtype, a shape whose byte size equals its offsets, and that the entries
tile the data exactly (no overlap, no hole, nothing past the end of the file).
"""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from typing import Any

import numpy as np

from .._fileio import atomic_open

__all__ = ["save_safetensors", "load_safetensors", "safetensors_metadata", "SafetensorsError"]

MAX_HEADER_BYTES = 100 << 20  # the reference implementation's own limit

# safetensors dtype name -> NumPy dtype (little-endian). BF16 has no NumPy dtype: it is
# read into float32 (exactly: bfloat16 is float32's top 16 bits) and never written.
_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"),
    "U32": np.dtype("<u4"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8"),
    "BF16": np.dtype("<u2"),
}



class SafetensorsError(ValueError):
    """A safetensors file that is corrupt, truncated or not safetensors at all."""


def _state_dict(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        return obj.state_dict()
    if isinstance(obj, dict):
        return obj
    raise TypeError(f"save_safetensors: expected a Module or a state dict (a dict of arrays), "
                    f"got {type(obj).__name__}")


def _dtype_name(dtype: np.dtype) -> str | None:
    """The safetensors name of a NumPy dtype (any byte order), None if it has none."""
    for name, ref in _DTYPES.items():
        if name != "BF16" and dtype.kind == ref.kind and dtype.itemsize == ref.itemsize:
            return name
    return None


def _as_array(name: Any, value: Any) -> np.ndarray:
    if not isinstance(name, str) or not name or name == "__metadata__":
        raise ValueError(f"save_safetensors: tensor names must be non-empty strings other than "
                         f"'__metadata__', got {name!r}")
    data = value if isinstance(value, np.ndarray) else getattr(value, "data", value)
    if hasattr(data, "get") and not isinstance(data, np.ndarray):  # a CuPy array
        data = data.get()
    a = np.asarray(data)
    if _dtype_name(a.dtype) is None:
        raise ValueError(f"save_safetensors: tensor {name!r} has dtype {a.dtype}, which "
                         f"safetensors can't hold (numbers and booleans only)")
    return a


def save_safetensors(model_or_state_dict: Any, path: str | os.PathLike[str],
                     metadata: dict[str, str] | None = None) -> None:
    """Write a module's ``state_dict()`` (or a dict of arrays) as a safetensors file.

    The names are the state dict's (PyTorch's, e.g. ``"0.weight"``), so the file loads into
    a PyTorch module of the same architecture with ``load_state_dict``. The file is
    written atomically: a failure leaves any previous file intact.

    Args:
        model_or_state_dict: a ``Module`` or a mapping from names to arrays or Tensors.
        path: the file to write.
        metadata: optional string-to-string map stored in the header's ``__metadata__``.

    Raises:
        TypeError / ValueError: for an object that is not a state dict, a name that is not
            a string, an array of a dtype safetensors can't hold, or non-string metadata.
    """
    state = _state_dict(model_or_state_dict)
    arrays = [(k, _as_array(k, v)) for k, v in state.items()]
    header: dict[str, Any] = {}
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("save_safetensors: metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    # Largest alignment first, then by name: every tensor starts aligned to its itemsize.
    arrays.sort(key=lambda kv: (-kv[1].dtype.itemsize, kv[0]))
    offset = 0
    for name, a in arrays:
        header[name] = {"dtype": _dtype_name(a.dtype), "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-byte aligned
    with atomic_open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for _, a in arrays:
            f.write(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes())


def _read_header(f: Any, path: str, size: int) -> tuple[dict[str, Any], int]:
    """The parsed header and where the data starts, after checking the header's size."""
    if size < 8:
        raise SafetensorsError(f"{path}: not a safetensors file (only {size} bytes)")
    n = int.from_bytes(f.read(8), "little")
    if n > MAX_HEADER_BYTES or n > size - 8:
        raise SafetensorsError(
            f"{path}: not a safetensors file, or truncated (its header claims {n} bytes, "
            f"the file has {size - 8} after the length)")
    raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise SafetensorsError(f"{path}: not a safetensors file (its header is not JSON: "
                               f"{e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: not a safetensors file (the header is not a JSON "
                               f"object)")
    return header, 8 + n


def _entry(path: str, name: str, e: Any) -> tuple[str, tuple[int, ...], int, int]:
    bad = f"{path}: tensor {name!r}: "
    if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
        raise SafetensorsError(bad + "expected exactly the keys dtype, shape, data_offsets")
    dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
    if dt not in _DTYPES:
        raise SafetensorsError(bad + f"unsupported dtype {dt!r} (supported: "
                               f"{', '.join(sorted(_DTYPES))})")
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        raise SafetensorsError(bad + f"the shape {shape!r} is not a list of sizes")
    if not (isinstance(offs, list) and len(offs) == 2
            and all(type(o) is int and o >= 0 for o in offs) and offs[0] <= offs[1]):
        raise SafetensorsError(bad + f"bad data_offsets {offs!r}")
    nbytes = math.prod(shape) * _DTYPES[dt].itemsize
    if offs[1] - offs[0] != nbytes:
        raise SafetensorsError(bad + f"shape {tuple(shape)} of {dt} needs {nbytes} bytes, "
                               f"its offsets span {offs[1] - offs[0]}")
    return dt, tuple(shape), offs[0], offs[1]


def _entries(path: str, header: dict[str, Any], data_bytes: int
             ) -> list[tuple[str, str, tuple[int, ...], int, int]]:
    """Every entry checked, in file order; they must tile the data exactly."""
    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in meta.items())):
        raise SafetensorsError(f"{path}: __metadata__ must map strings to strings")
    found = sorted(((*_entry(path, k, v), k) for k, v in header.items() if k != "__metadata__"),
                   key=lambda t: (t[2], t[3]))
    pos = 0
    for _dt, _shape, begin, end, name in found:
        if begin != pos:
            what = "overlaps the tensor before it" if begin < pos else "leaves a gap before it"
            raise SafetensorsError(f"{path}: tensor {name!r} {what} (starts at {begin}, "
                                   f"expected {pos})")
        pos = end
    if pos != data_bytes:
        raise SafetensorsError(
            f"{path}: truncated or padded: the tensors need {pos} bytes of data, the file "
            f"holds {data_bytes}")
    return [(name, dt, shape, begin, end) for dt, shape, begin, end, name in found]


def _decode(buf: bytes, dt: str, shape: tuple[int, ...]) -> np.ndarray:
    a = np.frombuffer(buf, dtype=_DTYPES[dt]).reshape(shape)
    if dt == "BF16":  # bfloat16 = the high half of a float32
        return (a.astype("<u4") << 16).view("<f4").astype(np.float32)
    return a.astype(_DTYPES[dt].newbyteorder("="), copy=True)


def load_safetensors(path: str | os.PathLike[str]) -> OrderedDict[str, np.ndarray]:
    """Read a safetensors file into a state dict of NumPy arrays (in the file's order).

    Load it into a model with ``model.load_state_dict(...)``. bfloat16 tensors are
    returned as float32 (exactly; NumPy has no bfloat16).

    Raises:
        FileNotFoundError: the file does not exist.
        SafetensorsError (a ValueError): the file is not safetensors, is truncated, or
            its header is inconsistent; nothing is allocated for tensors before the whole
            header has been checked against the file's size.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        header, start = _read_header(f, path, size)
        entries = _entries(path, header, size - start)
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, dt, shape, begin, end in entries:
            f.seek(start + begin)
            buf = f.read(end - begin)
            if len(buf) != end - begin:
                raise SafetensorsError(f"{path}: truncated while reading tensor {name!r}")
            out[name] = _decode(buf, dt, shape)
    return out


def safetensors_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``__metadata__`` string map of a safetensors file (empty when it has none)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        header, start = _read_header(f, path, size)
        _entries(path, header, size - start)
    return dict(header.get("__metadata__") or {})

"""Reading ONNX files defensively: the protobuf is parsed by the ``onnx`` package (no code in
a file ever runs), and every tensor's declared size is checked against the bytes that back
it (inline, or in an external-data file that must lie inside the model's directory) before
any array is allocated."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

__all__ = ["OnnxError", "require_onnx", "read_model", "to_array", "np_dtype", "onnx_dtype",
           "MAX_MODEL_BYTES"]

MAX_MODEL_BYTES = 2 << 30  # protobuf's own limit for one message


class OnnxError(ValueError):
    """An ONNX file that can't be read: corrupt, truncated, inconsistent or unsupported."""


def require_onnx() -> Any:
    """The ``onnx`` module, or an ImportError naming the extra that installs it."""
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - exercised by the import test
        raise ImportError(
            "deepgrad.onnx needs the 'onnx' package: pip install 'deepgrad[onnx]'") from e
    return onnx


def np_dtype(elem_type: int) -> np.dtype:
    """NumPy dtype of an ONNX TensorProto data type (OnnxError for strings and the like)."""
    onnx = require_onnx()
    if elem_type in (onnx.TensorProto.STRING, onnx.TensorProto.UNDEFINED):
        raise OnnxError(f"tensors of ONNX type {onnx.TensorProto.DataType.Name(elem_type)} "
                        f"are not supported")
    try:
        dt = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, ValueError, TypeError):
        raise OnnxError(f"unknown ONNX tensor type {elem_type}") from None
    if dt.kind not in "biuf":
        raise OnnxError(f"tensors of NumPy type {dt} are not supported")
    return dt


def onnx_dtype(dtype: Any) -> int:
    """ONNX TensorProto data type of a NumPy dtype."""
    onnx = require_onnx()
    return int(onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))


_TYPED_FIELDS = ("float_data", "int32_data", "int64_data", "double_data", "uint64_data")


def _external(t: Any, base: str, where: str) -> tuple[str, int, int | None]:
    info = {e.key: e.value for e in t.external_data}
    loc = info.get("location", "")
    if not loc:
        raise OnnxError(f"{where}: external data without a location")
    if os.path.isabs(loc) or loc.startswith(("/", "\\")):
        raise OnnxError(f"{where}: external data path {loc!r} is absolute; it must lie in the "
                        f"model's directory")
    root = os.path.realpath(base)
    path = os.path.realpath(os.path.join(root, loc))
    if os.path.commonpath([root, path]) != root:
        raise OnnxError(f"{where}: external data path {loc!r} points outside the model's "
                        f"directory {base}")
    if not os.path.isfile(path):
        raise OnnxError(f"{where}: external data file {loc!r} is missing (looked in {base})")
    try:
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else None
    except ValueError:
        raise OnnxError(f"{where}: external data offset/length are not numbers") from None
    return path, offset, length


def to_array(t: Any, base: str | None = None, where: str = "tensor") -> np.ndarray:
    """A TensorProto as a NumPy array, after checking that its data matches its dims.

    Args:
        t: the TensorProto.
        base: the model's directory (for external data); None when the model came from
            bytes, in which case external data is an error.
        where: how errors name the tensor.
    """
    onnx = require_onnx()
    where = f"{where} {t.name!r}" if t.name else where
    if any(d < 0 for d in t.dims):
        raise OnnxError(f"{where}: negative dimension in {list(t.dims)}")
    dt = np_dtype(t.data_type)
    count = math.prod(t.dims)
    if t.data_type == onnx.TensorProto.FLOAT16 or t.data_type == onnx.TensorProto.BFLOAT16:
        item = 2
    else:
        item = dt.itemsize
    need = count * item
    if t.data_location == onnx.TensorProto.EXTERNAL:
        if base is None:
            raise OnnxError(f"{where}: external data, but the model was not read from a file")
        path, offset, length = _external(t, base, where)
        size = os.path.getsize(path)
        if length is not None and length != need:
            raise OnnxError(f"{where}: declares {need} bytes for shape {list(t.dims)}, its "
                            f"external data holds {length}")
        if offset < 0 or offset + need > size:
            raise OnnxError(f"{where}: external data file {os.path.basename(path)} is "
                            f"truncated ({size} bytes; the tensor needs {need} from {offset})")
        with open(path, "rb") as f:
            f.seek(offset)
            raw = f.read(need)
        return np.frombuffer(raw, dtype=dt.newbyteorder("<")).astype(dt).reshape(tuple(t.dims))
    have = len(t.raw_data) if t.HasField("raw_data") else None
    if have is None:
        fields = [len(getattr(t, f)) for f in _TYPED_FIELDS if len(getattr(t, f))]
        stored = fields[0] if fields else 0
        # float16/bool/int8/... are packed into int32_data one element per entry
        if stored != count:
            raise OnnxError(f"{where}: declares shape {list(t.dims)} ({count} elements) but "
                            f"holds {stored}: a tensor too large to be real, or truncated")
    elif have != need:
        raise OnnxError(f"{where}: declares shape {list(t.dims)} ({need} bytes) but holds "
                        f"{have} bytes")
    try:
        a = onnx.numpy_helper.to_array(t)
    except Exception as e:  # noqa: BLE001 - onnx raises many kinds here
        raise OnnxError(f"{where}: unreadable tensor data ({e})") from None
    return np.asarray(a, dtype=dt).reshape(tuple(t.dims))


def read_model(f: Any) -> tuple[Any, str | None]:
    """Parse an ONNX file (a path or bytes) into a ModelProto, without external data.

    Returns the model and the directory external data is read from (None for bytes).
    """
    onnx = require_onnx()
    from google.protobuf.message import DecodeError

    if isinstance(f, bytes | bytearray | memoryview):
        data, base, name = bytes(f), None, "<bytes>"
    else:
        name = os.fspath(f)
        if os.path.isdir(name):
            raise OnnxError(f"{name}: is a directory, not an ONNX file")
        size = os.path.getsize(name)  # FileNotFoundError names the path
        if size > MAX_MODEL_BYTES:
            raise OnnxError(f"{name}: {size} bytes is past protobuf's 2 GB limit; store the "
                            f"weights as external data")
        with open(name, "rb") as fh:
            data = fh.read()
        base = os.path.dirname(os.path.abspath(name))
    if not data:
        raise OnnxError(f"{name}: empty file, not an ONNX model")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError, ValueError, UnicodeDecodeError) as e:
        raise OnnxError(f"{name}: not an ONNX model, or truncated ({type(e).__name__})") from None
    if not model.HasField("graph") or not model.graph.node and not model.graph.output:
        raise OnnxError(f"{name}: not an ONNX model (no graph)")
    return model, base

"""One-file model checkpoints: a JSON manifest and the weights as .npy arrays in a zip.

No pickle anywhere: loading a file never executes code. Files are written atomically
(a temporary file in the same directory, fsync, then rename), so a crash mid-save leaves
the previous file intact.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from .._fileio import atomic_open
from ..backend import default_dtype, get_default_dtype, to_numpy
from ..nn.module import Module
from .config import module_from_config, module_to_config

__all__ = ["save", "load", "load_checkpoint", "Checkpoint", "FORMAT_VERSION"]

FORMAT = "deepgrad-model"
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"


class Checkpoint(dict):
    """What :func:`load_checkpoint` returns: ``model``, ``optimizer_state`` (or None),
    ``epoch``, ``metadata`` and the raw ``manifest``."""


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def _encode_state_value(v: Any, name: str, arrays: dict[str, np.ndarray]) -> Any:
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        arrays[name] = to_numpy(v)
        return {"__array__": name}
    if isinstance(v, tuple):
        return {"__tuple__": [_encode_state_value(x, f"{name}.{i}", arrays)
                              for i, x in enumerate(v)]}
    if isinstance(v, list):
        return [_encode_state_value(x, f"{name}.{i}", arrays) for i, x in enumerate(v)]
    if isinstance(v, np.generic):
        return v.item()
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise ValueError(f"optimizer state entry {name} has unsupported type {type(v).__name__}")


def _decode_state_value(v: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(v, dict):
        if "__array__" in v:
            return arrays[v["__array__"]]
        if "__tuple__" in v:
            return tuple(_decode_state_value(x, arrays) for x in v["__tuple__"])
        return {k: _decode_state_value(x, arrays) for k, x in v.items()}
    if isinstance(v, list):
        return [_decode_state_value(x, arrays) for x in v]
    return v


def _atomic_write(path: str, payload: dict[str, bytes]) -> None:
    with atomic_open(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        for name, data in payload.items():
            z.writestr(name, data)


def save(
    model: Module,
    path: str | os.PathLike[str],
    *,
    optimizer: Any = None,
    epoch: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Save ``model`` (architecture and weights) to one file, atomically.

    Args:
        model: the model; its layers' constructor arguments are stored as JSON.
        path: the file to write (conventionally ``*.dg``); its directory is created.
        optimizer: optionally an optimizer whose state is stored for exact resume.
        epoch: optionally the number of epochs done (for ``fit(initial_epoch=...)``).
        metadata: JSON-able extras needed at predict time (class names, preprocessing).
            ``model.metadata`` (a dict, if present) is merged under it.
    """
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    state = model.state_dict()
    keys = []
    for k, v in state.items():
        arrays[f"weights/{k}"] = to_numpy(v)
        keys.append(k)
    meta = dict(getattr(model, "metadata", None) or {})
    meta.update(metadata or {})
    compiled = getattr(model, "_compile_config", None)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": module_to_config(model),
        "weights": keys,
        "dtype": str(next((p.dtype for p in model.parameters()), get_default_dtype())),
        "dtypes": {k: str(arrays[f"weights/{k}"].dtype) for k in keys},
        "metadata": meta,
        "compile": compiled,
        "epoch": epoch,
        "optimizer": None,
    }
    if optimizer is not None:
        sd = optimizer.state_dict()
        opt_arrays: dict[str, np.ndarray] = {}
        encoded = {
            "state": {str(i): {k: _encode_state_value(v, f"optimizer/{i}/{k}", opt_arrays)
                               for k, v in st.items()} for i, st in sd["state"].items()},
            "param_groups": [{k: _encode_state_value(v, f"optimizer/group{j}/{k}", opt_arrays)
                              for k, v in g.items()} for j, g in enumerate(sd["param_groups"])],
        }
        manifest["optimizer"] = {"class": type(optimizer).__name__, "state_dict": encoded}
        arrays.update(opt_arrays)
    try:
        text = json.dumps(manifest, indent=1, allow_nan=False)
    except ValueError as e:
        raise ValueError(f"cannot save {path}: metadata is not JSON-serializable ({e})") from e
    payload = {_MANIFEST: text.encode()}
    for name, a in arrays.items():
        if a.dtype == object:
            raise ValueError(f"cannot save {path}: array {name} has dtype object")
        payload[f"{name}.npy"] = _npy_bytes(a)
    _atomic_write(path, payload)


def _read(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if _MANIFEST not in names:
                raise ValueError(f"{path}: not a deepgrad model file (no manifest)")
            manifest = json.loads(z.read(_MANIFEST).decode())
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ValueError(f"{path}: not a deepgrad model file")
            version = manifest.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise ValueError(
                    f"{path}: format version {version} is newer than this deepgrad reads "
                    f"(up to {FORMAT_VERSION}); upgrade deepgrad"
                )
            arrays = {}
            for name in names - {_MANIFEST}:
                if not name.endswith(".npy"):
                    continue
                with z.open(name) as f:
                    arrays[name[:-4]] = np.lib.format.read_array(f, allow_pickle=False)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path}: not a deepgrad model file, or truncated/corrupt ({e})") from e
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: corrupt model file ({type(e).__name__}: {e})") from e
    except ValueError as e:
        if str(e).startswith(path):
            raise
        raise ValueError(f"{path}: corrupt model file ({e})") from e
    return manifest, arrays


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a file written by :func:`save`: rebuild the model and load its weights.

    Raises:
        ValueError: with the file's path and what is wrong, for a truncated or corrupt
            file, a file that is not a deepgrad model, a newer format version, or weights
            that do not match the architecture.
    """
    path = os.fspath(path)
    manifest, arrays = _read(path)
    try:
        dtype = np.dtype(manifest.get("dtype") or "float32")
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"unsupported dtype {dtype}")
        with default_dtype(dtype):
            model = module_from_config(manifest["architecture"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: cannot rebuild the architecture: {e}") from e
    keys = manifest.get("weights", [])
    missing = [k for k in keys if f"weights/{k}" not in arrays]
    if missing:
        raise ValueError(f"{path}: weights missing from the file: {missing}")
    state = {k: arrays[f"weights/{k}"] for k in keys}
    try:
        model.load_state_dict(state, strict=True)
    except (ValueError, RuntimeError, KeyError) as e:
        raise ValueError(f"{path}: weights don't match the architecture: {e}") from e
    model.eval()
    meta = manifest.get("metadata") or {}
    model.metadata = dict(meta)
    if manifest.get("compile"):
        model._saved_compile_config = manifest["compile"]
    opt = manifest.get("optimizer")
    opt_state = None
    if opt:
        sd = opt["state_dict"]
        opt_state = {
            "state": {int(i): _decode_state_value(st, arrays) for i, st in sd["state"].items()},
            "param_groups": [_decode_state_value(g, arrays) for g in sd["param_groups"]],
        }
        opt_state["class"] = opt.get("class")
    return Checkpoint(model=model, optimizer_state=opt_state, epoch=manifest.get("epoch"),
                      metadata=meta, manifest=manifest)


def load(path: str | os.PathLike[str]) -> Module:
    """Load a model saved with :func:`save`; it comes back in eval mode, on the CPU.

    Predictions are bit-identical to the saved model's.
    """
    return load_checkpoint(path)["model"]

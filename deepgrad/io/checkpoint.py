"""One-file checkpoints: a JSON manifest and the arrays as .npy entries in a zip.

A file holds a model (its architecture, weights and optionally optimizer state) or a
plain state dict. No pickle anywhere: loading a file never executes code. Files are
written atomically (a temporary file in the same directory, fsync, then rename), so a
crash mid-save leaves the previous file intact. Loading checks every size before it
allocates (see ``_archive.py`` and ``_skeleton.py``): a hostile or corrupt file fails in
a fraction of a second with one line naming the problem.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._fileio import atomic_open
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype, to_numpy
from ..nn.module import Module
from ._archive import FORMAT, FORMAT_VERSION, MANIFEST, Archive
from ._skeleton import build_model
from .config import module_to_config

__all__ = ["save", "load", "load_checkpoint", "Checkpoint", "FORMAT_VERSION"]

_MODEL_VERSION = 1  # model files are still version 1: older deepgrad reads them
_STATE_DICT_VERSION = 2  # the version that added state dicts


class Checkpoint(dict):
    """What :func:`load_checkpoint` returns: ``model``, ``optimizer_state`` (or None),
    ``epoch``, ``metadata`` and the raw ``manifest``."""


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(a, order="C"), allow_pickle=False)
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


def _write(path: str, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    try:
        text = json.dumps(manifest, indent=1, allow_nan=False)
    except ValueError as e:
        raise ValueError(f"cannot save {path}: metadata is not JSON-serializable ({e})") from e
    payload = {MANIFEST: text.encode()}
    for name, a in arrays.items():
        if a.dtype == object:
            raise ValueError(f"cannot save {path}: array {name} has dtype object")
        payload[f"{name}.npy"] = _npy_bytes(a)
    with atomic_open(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        for name, data in payload.items():
            z.writestr(name, data)


def _model_manifest(model: Module, optimizer: Any, epoch: int | None,
                    metadata: dict[str, Any] | None, arrays: dict[str, np.ndarray]
                    ) -> dict[str, Any]:
    keys = []
    for k, v in model.state_dict().items():
        arrays[f"weights/{k}"] = to_numpy(v)
        keys.append(k)
    meta = dict(getattr(model, "metadata", None) or {})
    meta.update(metadata or {})
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": _MODEL_VERSION,
        "kind": "model",
        "architecture": module_to_config(model),
        "weights": keys,
        "dtype": str(next((p.dtype for p in model.parameters()), get_default_dtype())),
        "dtypes": {k: str(arrays[f"weights/{k}"].dtype) for k in keys},
        "metadata": meta,
        "compile": getattr(model, "_compile_config", None),
        "epoch": epoch,
        "optimizer": None,
    }
    frozen = [n for n, m in model.named_modules() if not m.trainable]
    frozen_params = [n for n, p in model.named_parameters() if not p.requires_grad]
    if frozen or frozen_params:  # Keras's trainable=False / PyTorch's requires_grad_(False)
        manifest["frozen"] = {"modules": frozen, "parameters": frozen_params}
    if optimizer is not None:
        sd = optimizer.state_dict()
        encoded = {
            "state": {str(i): {k: _encode_state_value(v, f"optimizer/{i}/{k}", arrays)
                               for k, v in st.items()} for i, st in sd["state"].items()},
            "param_groups": [{k: _encode_state_value(v, f"optimizer/group{j}/{k}", arrays)
                              for k, v in g.items()} for j, g in enumerate(sd["param_groups"])],
        }
        manifest["optimizer"] = {"class": type(optimizer).__name__, "state_dict": encoded}
    return manifest


def _state_dict_arrays(state: Mapping[Any, Any], path: str) -> dict[str, np.ndarray]:
    """The state dict's arrays by key; ValueError naming the first bad key or value."""
    arrays = {}
    for k, v in state.items():
        problem = None
        if not isinstance(k, str):
            problem = f"key {k!r} is not a string"
        elif (not k or k[0] in "/\\" or "\0" in k
              or ".." in re.split(r"[/\\]", k)):
            problem = f"key {k!r} is not a usable name (empty, absolute, or with a '..' part)"
        elif not (isinstance(v, Tensor) or (hasattr(v, "shape") and hasattr(v, "dtype"))):
            problem = f"the value of {k!r} is a {type(v).__name__}, not an array or tensor"
        else:
            a = to_numpy(v)
            if a.dtype.hasobject or a.dtype.kind not in "biufc":
                problem = f"the value of {k!r} has dtype {a.dtype}, not numbers"
            arrays[k] = a
        if problem:
            raise ValueError(f"{path}: cannot save the state dict: {problem}")
    return arrays


def save(
    obj: Module | Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    optimizer: Any = None,
    epoch: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Save a model (architecture and weights), or a state dict, to one file, atomically.

    Args:
        obj: a model (its layers' constructor arguments are stored as JSON), or a state
            dict: a mapping of names to arrays, tensors or parameters, such as
            ``model.state_dict()``; :func:`load` gives it back as a dict of NumPy arrays.
        path: the file to write (conventionally ``*.dg``); its directory is created.
        optimizer: optionally an optimizer whose state is stored for exact resume.
        epoch: optionally the number of epochs done (for ``fit(initial_epoch=...)``).
        metadata: JSON-able extras needed at predict time (class names, preprocessing).
            ``model.metadata`` (a dict, if present) is merged under it.

    Raises:
        ValueError: for a state dict with a key that is not a plain name, a value that
            is not an array, or an array of objects; or for ``optimizer``, ``epoch`` or
            ``metadata`` given with a state dict (they belong to a model).
    """
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    if isinstance(obj, Module):
        manifest = _model_manifest(obj, optimizer, epoch, metadata, arrays)
    elif isinstance(obj, Mapping):
        if optimizer is not None or epoch is not None or metadata is not None:
            raise ValueError(f"{path}: optimizer, epoch and metadata are saved with a model, "
                             "not with a state dict")
        state = _state_dict_arrays(obj, path)
        arrays = {f"weights/{k}": a for k, a in state.items()}
        manifest = {"format": FORMAT, "format_version": _STATE_DICT_VERSION, "kind": "state_dict",
                    "weights": list(state), "dtypes": {k: str(a.dtype) for k, a in state.items()}}
    else:
        raise ValueError(f"{path}: cannot save a {type(obj).__name__}: deepgrad.save takes a "
                         "model (a Module) or a state dict (a mapping of names to arrays)")
    _write(path, manifest, arrays)


def _names(value: Any, path: str, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{path}: corrupt model file (its manifest's {what} is not a list "
                         "of names)")
    return value


def _array_refs(encoded: Any, out: list[str]) -> list[str]:
    """The names of the arrays an encoded optimizer state refers to, in order."""
    if isinstance(encoded, dict):
        if "__array__" in encoded:
            out.append(encoded["__array__"])
        for v in encoded.values():
            _array_refs(v, out)
    elif isinstance(encoded, list):
        for v in encoded:
            _array_refs(v, out)
    return out


def _refreeze(model: Module, frozen: Any, path: str) -> None:
    """Restore ``trainable = False`` modules and frozen parameters saved in the manifest."""
    if not frozen:
        return
    if not isinstance(frozen, dict):
        raise ValueError(f"{path}: corrupt model file (malformed 'frozen' entry)")
    modules = dict(model.named_modules())
    params = dict(model.named_parameters())
    for n in _names(frozen.get("modules", []), path, "frozen modules"):
        if n not in modules:
            raise ValueError(f"{path}: the frozen module {n!r} is not in the architecture")
        modules[n].trainable = False
    for n in _names(frozen.get("parameters", []), path, "frozen parameters"):
        if n not in params:
            raise ValueError(f"{path}: the frozen parameter {n!r} is not in the architecture")
        params[n].requires_grad_(False)


def _load_model(arc: Archive) -> Checkpoint:
    path, manifest = arc.path, arc.manifest
    keys = _names(manifest.get("weights", []), path, "weights")
    opt = manifest.get("optimizer")
    if opt is not None and not (isinstance(opt, dict) and isinstance(opt.get("state_dict"), dict)):
        raise ValueError(f"{path}: corrupt model file (malformed optimizer state)")
    refs = _names(_array_refs(opt["state_dict"], []) if opt else [], path, "optimizer state")
    # the headers of exactly the arrays the manifest names: nothing else is ever read
    entries = arc.headers([f"weights/{k}" for k in keys] + refs)
    missing = [k for k in keys if f"weights/{k}" not in entries]
    if missing:
        raise ValueError(f"{path}: weights missing from the file: {missing}")
    absent = [r for r in refs if r not in entries]
    if absent:
        raise ValueError(f"{path}: corrupt model file (the optimizer state refers to arrays "
                         f"it does not hold: {absent[:5]})")
    model = build_model(arc, {k: entries[f"weights/{k}"] for k in keys})
    _refreeze(model, manifest.get("frozen"), path)
    model.eval()
    meta = manifest.get("metadata") or {}
    model.metadata = dict(meta)
    if manifest.get("compile"):
        model._saved_compile_config = manifest["compile"]
    opt_state = None
    if opt:
        arrays = {r: arc.read(entries[r]) for r in dict.fromkeys(refs)}
        sd = opt["state_dict"]
        try:
            opt_state = {
                "state": {int(i): _decode_state_value(st, arrays)
                          for i, st in sd["state"].items()},
                "param_groups": [_decode_state_value(g, arrays) for g in sd["param_groups"]],
            }
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"{path}: corrupt model file (malformed optimizer state: "
                             f"{e!r})") from e
        opt_state["class"] = opt.get("class")
    return Checkpoint(model=model, optimizer_state=opt_state, epoch=manifest.get("epoch"),
                      metadata=meta, manifest=manifest)


def _load_state_dict(arc: Archive) -> dict[str, np.ndarray]:
    keys = _names(arc.manifest.get("weights", []), arc.path, "weights")
    entries = arc.headers(f"weights/{k}" for k in keys)
    missing = [k for k in keys if f"weights/{k}" not in entries]
    if missing:
        raise ValueError(f"{arc.path}: arrays missing from the file: {missing[:5]}")
    return {k: arc.read(entries[f"weights/{k}"]) for k in keys}


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a model file written by :func:`save`: rebuild the model and load its weights.

    The stored arrays' shapes are checked against the architecture (built without
    allocating, see ``deepgrad.nn.init.skip_init``) before any weight is allocated or read;
    only the arrays the manifest names are read.

    Raises:
        FileNotFoundError, IsADirectoryError: for a missing path or a directory.
        ValueError: with the file's path and what is wrong, for a truncated or corrupt
            file, a file that is not a deepgrad model (a state dict file included: load
            it with :func:`load`), a newer format version, or weights that do not match
            the architecture.
    """
    path = os.fspath(path)
    with Archive(path) as arc, arc.checking():
        if arc.kind == "state_dict":
            raise ValueError(f"{path}: is a state dict, not a model: read it with "
                             "deepgrad.load and pass it to model.load_state_dict")
        return _load_model(arc)


def load(path: str | os.PathLike[str]) -> Module | dict[str, np.ndarray]:
    """Load a file written by :func:`save`: a model, or a state dict.

    A model comes back in eval mode, on the CPU; its predictions are bit-identical to the
    saved model's. A state dict comes back as a dict of NumPy arrays in the saved order,
    ready for ``model.load_state_dict(deepgrad.load(path))``.

    Raises:
        FileNotFoundError, IsADirectoryError, ValueError: as :func:`load_checkpoint`.
    """
    path = os.fspath(path)
    with Archive(path) as arc, arc.checking():
        return _load_state_dict(arc) if arc.kind == "state_dict" else _load_model(arc)["model"]

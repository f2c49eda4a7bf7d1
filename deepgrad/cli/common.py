"""Helpers shared by the commands: reading model files, preparing data for a model,
turning labels into the model's class indices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..io import load_checkpoint
from ..nn.module import Module
from .datasource import load_reference
from .errors import CLIError
from .preprocess import Preprocessor

__all__ = ["load_model_file", "prepare_inputs", "labels_for_model", "output_units",
           "infer_task", "param_dtype"]


def _load_onnx(path: str) -> Module:
    from .. import onnx as dg_onnx

    try:
        return dg_onnx.load(path)
    except dg_onnx.OnnxError as e:
        raise CLIError(str(e)) from None


def load_model_file(path: str, need_finite: bool = True) -> tuple[Module, dict[str, Any]]:
    """``(model, metadata)`` from a ``.dg`` file (or an ``.onnx`` one, with no metadata);
    CLIError for a missing or corrupt file, and (with ``need_finite``) for weights that are
    NaN or infinite."""
    if not Path(path).exists():
        raise CLIError(f"{path}: no such model file")
    if Path(path).suffix.lower() == ".onnx":
        model = _load_onnx(path)
        if need_finite:
            _check_finite_weights(model, path)
        return model, {}
    try:
        ck = load_checkpoint(path)
    except (ValueError, OSError, KeyError, TypeError) as e:
        raise CLIError(str(e).splitlines()[0] if str(path) in str(e)
                       else f"{path}: cannot read the model file ({e})") from e
    if need_finite:
        _check_finite_weights(ck["model"], path)
    meta = dict(ck["metadata"] or {})
    compiled = ck["manifest"].get("compile") or {}
    meta.setdefault("loss", compiled.get("loss"))
    meta.setdefault("metrics", compiled.get("metrics") or [])
    return ck["model"], meta


def _check_finite_weights(model: Module, path: str) -> None:
    for name, v in model.state_dict().items():
        a = np.asarray(v)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = int(a.size - np.isfinite(a).sum())
            raise CLIError(f"{path}: the model's weights are not finite ({name} has {bad} "
                           f"NaN or infinite values of {a.size}); the run that wrote it "
                           "diverged: retrain it, e.g. with a lower learning rate")


def param_dtype(model: Module) -> np.dtype:
    """The dtype of the model's parameters (float32 by default)."""
    for p in model.parameters():
        return np.dtype(p.dtype)
    return np.dtype(np.float32)


def output_units(model: Module, input_shape: tuple[int, ...]) -> int:
    """Number of outputs per example, from a forward pass on one zero example."""
    from .._config import no_grad
    from ..autograd.tensor import Tensor

    was = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(np.zeros((1, *input_shape), dtype=param_dtype(model))))
    finally:
        model.train(was)
    return int(np.prod(out.shape[1:]))


def infer_task(y: np.ndarray, class_names: list[str] | None) -> str:
    """"classification" for integer labels (or named classes), else "regression"."""
    if class_names is not None or y.dtype.kind in "iub":
        return "classification"
    return "regression"


def prepare_inputs(model: Module, meta: dict[str, Any], ref: str, data_dir: str | None
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``(X for the model, labels or None, raw X)`` for a DATA reference."""
    X_raw, y, file_classes = load_reference(ref, meta, data_dir)
    if len(X_raw) == 0:
        raise CLIError(f"{ref}: the data has no examples (0 rows)")
    prep = Preprocessor.from_config(meta["preprocessing"]) if meta.get("preprocessing") \
        else Preprocessor()
    try:
        X = prep.transform(X_raw, param_dtype(model), name=ref)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if y is not None:
        y = labels_for_model(y, file_classes, meta.get("class_names"), ref)
    return X, y, X_raw


def labels_for_model(y: np.ndarray, file_classes: list[str] | None,
                     model_classes: list[str] | None, ref: str) -> np.ndarray:
    """Labels as the model's class indices (names in the file mapped by name)."""
    if file_classes is None or model_classes is None or list(file_classes) == \
            list(model_classes):
        return y
    index = {c: i for i, c in enumerate(model_classes)}
    names = np.asarray(file_classes)[np.asarray(y, dtype=np.int64)]
    unknown = sorted({str(n) for n in names if str(n) not in index})
    if unknown:
        raise CLIError(f"{ref}: labels {unknown} are not among the model's classes "
                       f"{list(model_classes)}")
    return np.array([index[str(n)] for n in names], dtype=np.int64)

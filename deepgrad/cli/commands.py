"""``deepgrad evaluate``, ``predict``, ``summary`` and ``datasets``."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import distributed as dist
from ..data import describe_datasets
from ..metrics import confusion_matrix
from ..nn.module import Module
from .common import load_model_file, prepare_inputs
from .datasource import __doc__ as DATA_SYNTAX
from .errors import CLIError
from .output import atomic_write_text, format_table

__all__ = ["run_evaluate", "run_predict", "run_summary", "run_datasets"]


def _compile_saved(model: Module, meta: dict[str, Any], path: str) -> None:
    loss = meta.get("loss")
    if not loss:
        raise CLIError(f"{path}: the model file records no loss (it was saved before "
                       "compile), so it cannot be evaluated; use deepgrad predict")
    try:
        model.compile(optimizer="sgd", loss=loss, metrics=meta.get("metrics") or [])
    except (ValueError, TypeError) as e:
        raise CLIError(f"{path}: cannot restore the loss {loss!r}: {e}") from None


def _confusion(pred: np.ndarray, y: np.ndarray, names: list[str]) -> str:
    k = max(len(names), int(y.max()) + 1, int(pred.max()) + 1)
    names = names + [str(i) for i in range(len(names), k)]
    cm = np.asarray(confusion_matrix(np.asarray(y).reshape(-1).astype(np.int64), pred,
                                     num_classes=k))
    rows = [[f"true {n}", *[int(c) for c in row]] for n, row in zip(names, cm, strict=True)]
    return "confusion matrix (rows: true class, columns: predicted class)\n" + \
        format_table(rows, ["", *names])


def run_evaluate(args: Any) -> int:
    """Print loss and metrics (and the confusion matrix of a classifier) on DATA."""
    if dist.world_size() > 1:  # under mpiexec -n N: each rank a shard, rank 0 reports
        from .parallel_io import run_evaluate_sharded  # noqa: PLC0415 - imports this module

        return run_evaluate_sharded(args)
    model, meta = load_model_file(args.model)
    _compile_saved(model, meta, args.model)
    X, y, _ = prepare_inputs(model, meta, args.data, args.data_dir)
    if y is None:
        raise CLIError(f"{args.data}: no labels/targets in the data; evaluate needs them "
                       "(use deepgrad predict for unlabelled data)")
    res = model.evaluate(X, y, batch_size=args.batch_size)
    _print_evaluation(args.data, len(X), res, meta, y,
                      lambda: model.predict_classes(X, batch_size=args.batch_size))
    return 0


def _shows_confusion(meta: dict[str, Any]) -> bool:
    """Whether evaluate prints a confusion matrix (a classifier's loss)."""
    return meta.get("task", "classification") == "classification" and \
        meta.get("loss") not in ("mse", "mae", "huber", "mean_squared_error",
                                 "mean_absolute_error", "huber_loss")


def _print_evaluation(data: str, n: int, res: dict[str, float], meta: dict[str, Any],
                      y: np.ndarray, classes: Callable[[], np.ndarray]) -> None:
    """evaluate's report; ``classes()`` gives the predicted classes, when needed."""
    print(f"{data}: {n:,} examples")
    print(format_table([[k, v] for k, v in res.items()], ["metric", "value"]))
    if _shows_confusion(meta):
        names = [str(c) for c in (meta.get("class_names") or [])]
        print(_confusion(classes(), y, names))


def _predictions_csv(p: np.ndarray, meta: dict[str, Any], is_classifier: bool) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    p = p.reshape(len(p), -1)
    if is_classifier:
        probs = np.concatenate([1 - p, p], axis=1) if p.shape[1] == 1 else p
        names = [str(c) for c in (meta.get("class_names") or [])]
        names += [str(i) for i in range(len(names), probs.shape[1])]
        cls = probs.argmax(axis=1)
        w.writerow(["index", "class", *(f"prob_{n}" for n in names[:probs.shape[1]])])
        for i, (c, row) in enumerate(zip(cls, probs, strict=True)):
            w.writerow([i, names[c], *(f"{v:.6g}" for v in row)])
    else:
        target = (meta.get("data") or {}).get("target") or "value"
        cols = [target] if p.shape[1] == 1 else [f"{target}_{j}" for j in range(p.shape[1])]
        w.writerow(["index", *cols])
        for i, row in enumerate(p):
            w.writerow([i, *(f"{v:.6g}" for v in row)])
    return buf.getvalue()


def run_predict(args: Any) -> int:
    """Write one row per example: class and probabilities, or predicted values."""
    if args.output not in (None, "-") and Path(args.output).is_dir():
        raise CLIError(f"-o {args.output}: is a directory; give a file name, e.g. "
                       f"{Path(args.output) / 'predictions.csv'}")
    if dist.world_size() > 1:  # under mpiexec -n N: each rank a shard, rank 0 writes
        from .parallel_io import run_predict_sharded  # noqa: PLC0415 - imports this module

        return run_predict_sharded(args)
    model, meta = load_model_file(args.model)
    X, _, _ = prepare_inputs(model, meta, args.data, args.data_dir)
    is_clf = _predict_setup(model, meta, args.model)
    text = _predictions_csv(np.asarray(model.predict(X, batch_size=args.batch_size)), meta,
                            is_clf)
    _write_predictions(args, text, len(X))
    return 0


def _predict_setup(model: Module, meta: dict[str, Any], path: str) -> bool:
    """Compile a saved model that records its loss; whether it is a classifier."""
    loss = str(meta.get("loss") or "")
    if loss:
        _compile_saved(model, meta, path)
    if "task" in meta:
        return meta["task"] == "classification"
    return "entropy" in loss or loss in ("bce", "cross_entropy")


def _write_predictions(args: Any, text: str, n: int) -> None:
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        atomic_write_text(args.output, text)
        print(f"wrote {n:,} predictions to {args.output}", file=sys.stderr)


def _input_shape(model: Module, meta: dict[str, Any]) -> tuple[int, ...] | None:
    shape = (meta.get("preprocessing") or {}).get("input_shape")
    if shape:
        return tuple(shape)
    for m in model.modules():
        n = getattr(m, "in_features", None)
        if isinstance(n, int):
            return (n,)
    return None


def run_summary(args: Any) -> int:
    """Layers, output shapes, parameter counts, and what the model file records."""
    if getattr(args, "plot", None):
        _check_plot_path(args.plot)
    model, meta = load_model_file(args.model, need_finite=False)
    shape = _input_shape(model, meta)
    if shape is not None:
        try:
            model.summary(shape)
        except ValueError:
            shape = None
    if shape is None:
        print(repr(model))
        print(f"Total params: {model.num_parameters():,}")
    prep = meta.get("preprocessing") or {}
    info = [("task", meta.get("task")), ("loss", meta.get("loss")),
            ("metrics", ", ".join(meta.get("metrics") or []) or None),
            ("classes", ", ".join(meta.get("class_names") or []) or None),
            ("trained on", (meta.get("data") or {}).get("source")),
            ("raw input", prep.get("raw_shape")),
            ("preprocessing", _describe_prep(prep) if prep else None)]
    for k, v in info:
        if v is not None:
            print(f"{k + ':':<15}{v}")
    if getattr(args, "plot", None):
        _plot(model, shape, args.plot)
    return 0


def _check_plot_path(path: str) -> None:
    from ..viz._draw import file_format  # noqa: PLC0415

    if Path(path).is_dir():
        raise CLIError(f"--plot {path}: is a directory; give a file name, e.g. "
                       f"{Path(path) / 'model.png'}")
    try:
        file_format(path)
    except ValueError:
        raise CLIError(f"--plot {path}: unknown format {Path(path).suffix!r}; expected "
                       ".png, .svg, .pdf, .dot or .gv") from None


def _plot(model: Module, shape: tuple[int, ...] | None, path: str) -> None:
    from ..viz.graph import plot_model  # noqa: PLC0415 - matplotlib only when drawing

    try:
        plot_model(model, path, input_shape=None if getattr(model, "is_graph", False)
                   else shape)
    except TypeError as e:
        raise CLIError(f"--plot: {e}") from None
    print(f"wrote the layer graph to {path}")


def _describe_prep(prep: dict[str, Any]) -> str:
    steps = []
    if prep.get("scale") is not None:
        steps.append(f"divide by {prep['scale']:g}")
    if prep.get("layout") == "flat":
        steps.append("flatten")
    elif prep.get("layout") == "image":
        steps.append("images to (channels, height, width)")
    if prep.get("standardizer"):
        steps.append("standardize (training mean/std)")
    return ", ".join(steps) or "none"


def run_datasets(args: Any) -> int:
    """List the built-in and file datasets and where each expects its files."""
    rows = [[r.name, r.kind, r.description, r.location] for r in describe_datasets()]
    print(format_table(rows, ["name", "kind", "description", "files"]))
    print()
    lines = (DATA_SYNTAX or "").strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("DATA syntax"))
    print("DATA for evaluate / predict:")
    print("\n".join(lines[start + 1:]))
    print("  (csv and npz also work in configs: data: {source: csv, path: ..., target: ...})")
    return 0

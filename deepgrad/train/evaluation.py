"""evaluate / predict (Keras's): eval mode, no graph, in batches, from arrays or loaders."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import to_device, to_numpy
from ..callbacks import LoopProgress, NonFiniteLossError
from ..callbacks.progress import check_verbose
from ..nn.module import Module
from .compile import LossSpec, compiled_spec, loss_and_outputs
from .inputs import (
    BatchChecker,
    Batches,
    array_batches,
    is_batches,
    model_device,
    param_dtype,
    prepare_xy,
    probe_output,
)
from .multi import evaluate_multi, is_multi, predict_multi, unwrap_single
from .validation import as_numeric_array, check_finite, first_nonfinite_parameter

__all__ = ["evaluate", "predict", "predict_classes", "evaluate_batches", "check_steps"]

DEFAULT_BATCH_SIZE = 256


def check_steps(steps: int | None, name: str = "steps") -> None:
    """Raise unless ``steps`` is None or a positive integer."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int | np.integer)
                              or steps < 1):
        raise ValueError(f"{name} must be a positive integer or None, got {steps!r}")


def _nonfinite_eval_error(model: Module, loss: float, what: str, batch: int
                          ) -> NonFiniteLossError:
    """The error for a non-finite loss in evaluation: the weights, or the outputs, to blame."""
    name = first_nonfinite_parameter(model)
    if name is not None:
        return NonFiniteLossError(
            f"{what}: the loss is {loss} because the model's weights are not finite (first: "
            f"parameter {name!r}); the model diverged in training: train it again with a "
            "lower learning rate, or load an earlier checkpoint")
    big, where = max(((float(np.abs(to_numpy(p.data)).max()), n)
                      for n, p in model.named_parameters() if p.size), default=(0.0, ""))
    return NonFiniteLossError(
        f"{what}: the loss is {loss} at batch {batch + 1} although the model's weights are "
        f"finite: its outputs overflow (largest weight {big:.3g}, in {where!r}); a huge "
        "weight means the model diverged in training (a lower learning rate), else "
        "check the inputs' scale")


def evaluate_batches(model: Module, spec: LossSpec, batches: Iterable[tuple[Any, Any]],
                     what: str, progress: LoopProgress | None = None) -> dict[str, float]:
    """Loss and metrics over checked ``(x, y)`` batches, in eval mode under no_grad."""
    was = model.training
    model.eval()
    device = model_device(model)
    streams = [m.streaming() for m in model._metric_fns]
    total, count = 0.0, 0
    try:
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):  # reported below
            for b, (xb, yb) in enumerate(batches):
                loss, out = loss_and_outputs(spec, model, Tensor(to_device(xb, device)),
                                             to_device(yb, device))
                lv = float(loss.item())
                if not math.isfinite(lv):  # before the metrics see non-finite outputs
                    raise _nonfinite_eval_error(model, lv, what, b)
                total += lv * len(xb)
                count += len(xb)
                if streams:
                    probs = to_numpy(spec.probabilities(out).data)
                    for s in streams:
                        s.update(yb, probs)
                if progress is not None:
                    progress.update(len(xb), {"loss": total / count})
    finally:
        model.train(was)
    if count == 0:
        raise ValueError(f"{what}: the data yielded no batches")
    res = {"loss": total / count}
    for m, s in zip(model._metric_fns, streams, strict=True):
        res[m.name] = float(s.result())
    return res


def _batch_size(batch_size: int | None) -> int:
    if batch_size is None:
        return DEFAULT_BATCH_SIZE
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    return int(batch_size)


def _n_batches(n: int, batch_size: int, steps: int | None) -> int:
    full = -(-n // batch_size)
    return full if steps is None else min(full, steps)


def _from_loader(model: Module, spec: LossSpec | None, x: Any, y: Any, steps: int | None,
                 targets: bool) -> tuple[Iterator[tuple[Any, Any]], int | None]:
    if y is not None:
        raise ValueError("y must be None when x is a DataLoader or an iterable of batches: "
                         "the targets come with each batch")
    src = Batches(x, steps)
    return BatchChecker(model, spec, "x", targets).map(src.epoch()), src.length()


def evaluate(model: Module, X: Any, y: Any = None, batch_size: int | None = None,
             verbose: int | str = "auto", steps: int | None = None) -> dict[str, float]:
    """Loss and metrics over the whole of ``X, y`` (eval mode, no graph); a dict.

    Args:
        X, y: arrays, or ``X`` a DataLoader / any iterable of ``(x, y)`` batches and
            ``y`` None (each batch is checked as arrays are).
        batch_size: examples per batch for arrays (None: 256); a loader's batches are
            used as they come.
        verbose: "auto" (a progress bar on a terminal, silent otherwise), 0 silent,
            1 a bar on a terminal (one line otherwise), 2 one line.
        steps: evaluate at most this many batches (None: all).
    """
    spec = compiled_spec(model)
    check_verbose(verbose)
    check_steps(steps)
    if getattr(model, "_multi_spec", None) is not None:
        return evaluate_multi(model, X, y, batch_size, verbose)
    X, y = unwrap_single(model, X, y)
    if is_batches(X):
        batches, total = _from_loader(model, spec, X, y, steps, True)
    else:
        bs = _batch_size(batch_size)
        Xa, ya = prepare_xy(model, spec, X, y)
        batches, total = array_batches(Xa, ya, bs, steps), _n_batches(len(Xa), bs, steps)
    progress = LoopProgress(verbose, "evaluate", total)
    res = evaluate_batches(model, spec, batches, "evaluate", progress)
    progress.close(res)
    return res


def _predict_batches(model: Module, spec: LossSpec | None, batches: Iterable[Any],
                     progress: LoopProgress) -> list[np.ndarray]:
    device = model_device(model)
    was = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            for xb, _ in batches:
                out = model(Tensor(to_device(xb, device)))
                if spec is not None and spec.head in (None, "log_softmax"):
                    out = spec.probabilities(out)  # logits or log-probabilities -> probs
                outs.append(to_numpy(out.data))
                progress.update(len(xb))
    finally:
        model.train(was)
    return outs


def predict(model: Module, X: Any, batch_size: int | None = None,
            verbose: int | str = "auto", steps: int | None = None) -> np.ndarray:
    """Outputs for ``X`` as a NumPy array, in eval mode, under no_grad, in batches.

    For a classifier compiled with a cross-entropy these are probabilities (the final
    sigmoid/softmax is applied when the model outputs logits). The model's mode is
    restored afterwards.

    Args:
        X: an array, or a DataLoader / any iterable of batches ``x``, ``(x,)`` or ``(x, y)``
            (y is ignored).
        batch_size: examples per batch for arrays (None: 256).
        verbose: "auto", 0, 1 or 2, as :func:`evaluate`.
        steps: predict at most this many batches (None: all).
    """
    check_verbose(verbose)
    check_steps(steps)
    spec = getattr(model, "_loss_spec", None)
    if is_multi(model):
        return predict_multi(model, X, batch_size, verbose)
    X, _ = unwrap_single(model, X)
    if is_batches(X):
        batches, total = _from_loader(model, spec, X, None, steps, False)
    else:
        bs = _batch_size(batch_size)
        Xa = as_numeric_array(X, "X", float_dtype=param_dtype(model))
        check_finite(Xa, "X")
        probe_output(model, Xa)
        batches, total = array_batches(Xa, None, bs, steps), _n_batches(len(Xa), bs, steps)
    progress = LoopProgress(verbose, "predict", total)
    outs = _predict_batches(model, spec, batches, progress)
    progress.close()
    if not outs:
        raise ValueError("predict: the data yielded no batches")
    return np.concatenate(outs, axis=0)


def predict_classes(model: Module, X: Any, batch_size: int | None = None,
                    threshold: float = 0.5, verbose: int | str = "auto",
                    steps: int | None = None) -> np.ndarray:
    """Predicted class indices: ``p > threshold`` for one output unit, argmax otherwise."""
    if is_multi(model) and len(model.outputs) > 1:
        raise ValueError("predict_classes: the model has several outputs "
                         f"({', '.join(model.output_names)}); use predict and take the "
                         "argmax of the one you want")
    p = predict(model, X, batch_size, verbose, steps)
    if p.ndim == 1 or p.shape[-1] == 1:
        return (p.reshape(len(p)) > threshold).astype(np.int64)
    return p.argmax(axis=-1)

"""compile / fit / evaluate / predict for graph models with several inputs or outputs
(Keras's functional models): a loss, a weight and metrics per output.

Inputs are given as a list (in ``model.inputs`` order) or a dict keyed by input name (or by
the keys of the dict the model was built with); targets likewise per output; or ``x`` is a
DataLoader / iterable of batches (see :mod:`.multi_data`). History keys
are Keras's: ``loss`` (the weighted total), ``<output>_loss`` and ``<output>_<metric>`` for
each output, and ``val_`` versions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import to_device, to_numpy
from ..callbacks import Callback, CallbackList, History, ProgressBar, divergence_error
from ..callbacks.progress import check_verbose
from ..data import DataLoader
from ..metrics import get_metric
from ..nn.graph import Model as GraphModel
from .compile import LossSpec, resolve_loss, strip_head
from .inputs import Batches, model_device
from .multi_data import (
    array_batches_multi,
    checked_batches,
    is_multi,
    is_multi_batches,
    prepare_inputs,
    prepare_targets,
    split_tail_multi,
    unwrap_single,
)

__all__ = ["is_multi", "unwrap_single", "compile_multi", "fit_multi", "evaluate_multi",
           "predict_multi"]


@dataclass
class OutputSpec:
    """The loss (None: the output is not trained), weight and metrics of one output."""

    key: str
    spec: LossSpec | None
    weight: float
    metrics: list[Any] = field(default_factory=list)


def _per_output(value: Any, keys: list[str], what: str, default: Any) -> list[Any]:
    """One entry per output from a single value (for all), a list, or a dict by key."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise ValueError(f"{what}: unknown output name(s) {unknown}; the model's outputs "
                             f"are {keys}")
        return [value.get(k, default) for k in keys]
    if isinstance(value, list | tuple) and what != "metrics":
        if len(value) != len(keys):
            raise ValueError(f"{what}: got {len(value)} entries for {len(keys)} outputs "
                             f"({keys})")
        return list(value)
    return [value for _ in keys]


def compile_multi(model: GraphModel, loss: Any, metrics: Any, from_logits: bool | None,
                  loss_weights: Any) -> list[OutputSpec]:
    """The per-output specs for ``compile``."""
    keys = [str(k) for k in model.output_keys]
    losses = _per_output(loss, keys, "loss", None)
    weights = _per_output(1.0 if loss_weights is None else loss_weights, keys,
                          "loss_weights", 1.0)
    if metrics is None or isinstance(metrics, dict):
        per_metrics = _per_output(metrics or {}, keys, "metrics", [])
    else:  # a list: every output gets each metric (Keras's rule)
        per_metrics = [list(metrics) for _ in keys]
    out = []
    for i, k in enumerate(keys):
        spec = None if losses[i] is None else resolve_loss(losses[i], model, from_logits,
                                                           output=i)
        ms = per_metrics[i]
        ms = [ms] if isinstance(ms, str) or callable(ms) else list(ms or [])
        out.append(OutputSpec(k, spec, float(weights[i]), [get_metric(m) for m in ms]))
    if all(o.spec is None for o in out):
        raise ValueError("compile: no output has a loss")
    return out


def _heads(outs: list[OutputSpec]) -> dict[int, Any]:
    return {i: strip_head for i, o in enumerate(outs)
            if o.spec is not None and o.spec.from_logits and o.spec.head}


def _losses(model: GraphModel, outs: list[OutputSpec], xb: list[Any], yb: list[Any]
            ) -> tuple[Any, list[float | None], list[Any]]:
    """(weighted total loss tensor, each output's loss value, the outputs)."""
    device = model_device(model)
    values = model._run(tuple(Tensor(to_device(x, device)) for x in xb), _heads(outs))
    total, each = None, []
    for o, out, y in zip(outs, values, yb, strict=True):
        if o.spec is None:
            each.append(None)
            continue
        li = o.spec.fn(out, to_device(y, device))
        each.append(li)
        term = li * o.weight if o.weight != 1.0 else li
        total = term if total is None else total + term
    return total, each, values


def _names(outs: list[OutputSpec]) -> tuple[list[str | None], list[list[str]]]:
    """Log keys: per-output loss keys and metric keys (unprefixed for one output)."""
    one = len(outs) == 1
    loss_keys = [None if one or o.spec is None else f"{o.key}_loss" for o in outs]
    metric_keys = [[m.name if one else f"{o.key}_{m.name}" for m in o.metrics] for o in outs]
    return loss_keys, metric_keys


class _Tally:
    """Example-weighted sums of the losses and streaming metrics over an epoch."""

    def __init__(self, outs: list[OutputSpec]) -> None:
        self.outs = outs
        self.loss_keys, self.metric_keys = _names(outs)
        self.streams = [[m.streaming() for m in o.metrics] for o in outs]
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, total: float, each: list[Any], values: list[Any], yb: list[Any],
            n: int) -> None:
        self.count += n
        self.sums["loss"] = self.sums.get("loss", 0.0) + total * n
        for k, li in zip(self.loss_keys, each, strict=True):
            if k is not None and li is not None:
                self.sums[k] = self.sums.get(k, 0.0) + float(li.item()) * n
        for o, streams, out, y in zip(self.outs, self.streams, values, yb, strict=True):
            if streams and o.spec is not None:
                with no_grad():
                    probs = to_numpy(o.spec.probabilities(out.detach()).data)
                for s in streams:
                    s.update(y, probs)

    def logs(self) -> dict[str, float]:
        res = {k: v / self.count for k, v in self.sums.items()}
        for keys, streams in zip(self.metric_keys, self.streams, strict=True):
            for k, s in zip(keys, streams, strict=True):
                res[k] = float(s.result())
        return res


def _evaluate(model: GraphModel, outs: list[OutputSpec], batches: Iterable[Any],
              what: str) -> dict[str, float]:
    """Losses and metrics over checked ``(inputs, targets)`` batches, eval mode, no graph."""
    was = model.training
    model.eval()
    tally = _Tally(outs)
    try:
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):
            for xb, yb in batches:
                total, each, values = _losses(model, outs, xb, yb)
                tally.add(float(total.item()), each, values, yb, len(xb[0]))
    finally:
        model.train(was)
    if tally.count == 0:
        raise ValueError(f"{what}: the data yielded no batches")
    return tally.logs()


def _train_source(model: GraphModel, outs: list[OutputSpec], X: Any, y: Any,
                  batch_size: int | None, validation_split: float, shuffle: bool,
                  seed: int | None, steps: int | None
                  ) -> tuple[Callable[[], Iterator[Any]], Any, int | None, int | None, Any]:
    """(a function giving one epoch's checked batches, the loader or None, steps per
    epoch, samples, the split-off validation arrays or None)."""
    if is_multi_batches(X):
        if y is not None:
            raise ValueError("y must be None when x is a loader or an iterable of batches: "
                             "the targets come with each batch")
        if validation_split > 0:
            raise ValueError("validation_split needs arrays; with a loader, pass "
                             "validation_data")
        train = Batches(X, steps, cycle=True)
        samples = len(X.dataset) if isinstance(X, DataLoader) else None
        return (lambda: checked_batches(model, outs, train.epoch(), "x"), train,
                train.length(), samples, None)
    if steps is not None:
        raise ValueError("steps_per_epoch needs a loader or an iterable of batches; with "
                         "arrays an epoch is one pass")
    xs = prepare_inputs(model, X)
    ys = prepare_targets(model, outs, y, len(xs[0]))
    val = None
    if validation_split > 0:
        xs, ys, vx, vy = split_tail_multi(xs, ys, validation_split)
        val = (vx, vy)
    rng = np.random.default_rng(seed)
    n = len(xs[0])
    bs = n if batch_size is None else batch_size

    def epoch() -> Iterator[Any]:
        return array_batches_multi(xs, ys, batch_size, rng.permutation(n) if shuffle else None)

    return epoch, None, -(-n // bs), n, val


def _validation(model: GraphModel, outs: list[OutputSpec], data: Any, split: Any,
                batch_size: int | None) -> Callable[[], Iterator[Any]] | None:
    if split is not None:
        return lambda: array_batches_multi(split[0], split[1], batch_size, None)
    if data is None:
        return None
    if is_multi_batches(data):
        src = Batches(data)
        return lambda: checked_batches(model, outs, src.epoch(), "validation_data")
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise ValueError("validation_data must be a pair (X_val, y_val), a DataLoader or an "
                         "iterable of batches")
    vx = prepare_inputs(model, data[0], "X_val")
    vy = prepare_targets(model, outs, data[1], len(vx[0]), "y_val")
    return lambda: array_batches_multi(vx, vy, batch_size, None)


def fit_multi(model: GraphModel, X: Any, y: Any, epochs: int, batch_size: int | None,
              validation_data: Any, validation_split: float, shuffle: bool, seed: int | None,
              callbacks: Sequence[Callback] | None, verbose: Any, initial_epoch: int,
              steps_per_epoch: int | None = None) -> History:
    """``fit`` for a multi-input/output graph model (arguments already checked by fit)."""
    outs: list[OutputSpec] = model._multi_spec
    epoch_batches, train, steps, samples, split = _train_source(
        model, outs, X, y, batch_size, validation_split, shuffle, seed, steps_per_epoch)
    val = _validation(model, outs, validation_data, split, batch_size)
    history = History()
    verbose = 1 if verbose == "auto" else verbose
    cbs = CallbackList([history, *(callbacks or []), ProgressBar(verbose)])
    cbs.set_model(model)
    loss_keys, metric_keys = _names(outs)
    cbs.set_params({"epochs": epochs, "steps": steps, "samples": samples,
                    "batch_size": batch_size, "verbose": verbose,
                    "metrics": [k for k in loss_keys if k] + sum(metric_keys, [])})
    model.stop_training = False
    model.history = history
    opt = model.optimizer
    was_training = model.training
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.train()
        cbs.on_epoch_begin(epoch)
        tally = _Tally(outs)
        for b, (xb, yb) in enumerate(epoch_batches()):
            cbs.on_train_batch_begin(b)
            with np.errstate(over="ignore", invalid="ignore"):
                total, each, values = _losses(model, outs, xb, yb)
                lv = float(total.item())
                if not math.isfinite(lv):
                    raise divergence_error(lv, epoch, b, "the model keeps its weights from "
                                           "before this batch")
                opt.zero_grad()
                total.backward()
                opt.step()
            tally.add(lv, each, values, yb, len(xb[0]))
            cbs.on_train_batch_end(b, {"loss": lv, "size": len(xb[0])})
            if model.stop_training:
                break
        if tally.count == 0:
            if train is not None and train.exhausted:
                break
            raise ValueError(f"x yielded no batches in epoch {epoch + 1}")
        logs = tally.logs()
        if val is not None:
            vl = _evaluate(model, outs, val(), f"validation after epoch {epoch + 1}")
            logs.update({f"val_{k}": v for k, v in vl.items()})
        logs["lr"] = float(opt.param_groups[0]["lr"])
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training or (train is not None and train.exhausted):
            break
    cbs.on_train_end()
    model.train(was_training)
    return history


def evaluate_multi(model: GraphModel, X: Any, y: Any, batch_size: int | None,
                   verbose: Any) -> dict[str, float]:
    """``evaluate`` for a multi-input/output graph model: total and per-output losses and
    metrics (Keras's names), from arrays or a loader / iterable of batches."""
    check_verbose(verbose)
    outs: list[OutputSpec] = model._multi_spec
    if is_multi_batches(X):
        if y is not None:
            raise ValueError("y must be None when x is a loader or an iterable of batches")
        return _evaluate(model, outs, checked_batches(model, outs, Batches(X).epoch(), "x"),
                         "evaluate")
    xs = prepare_inputs(model, X)
    ys = prepare_targets(model, outs, y, len(xs[0]))
    return _evaluate(model, outs, array_batches_multi(xs, ys, batch_size or 256, None),
                     "evaluate")


def predict_multi(model: GraphModel, X: Any, batch_size: int | None, verbose: Any) -> Any:
    """``predict`` for a multi-input/output graph model (arrays by input): NumPy arrays in
    the structure of the model's outputs (probabilities for outputs trained with a
    cross-entropy on logits)."""
    check_verbose(verbose)
    outs: list[OutputSpec] | None = getattr(model, "_multi_spec", None)
    if is_multi_batches(X):
        raise ValueError("predict: a model with several inputs or outputs takes arrays (a "
                         "list or a dict of them by input)")
    xs = prepare_inputs(model, X)
    device = model_device(model)
    was = model.training
    model.eval()
    chunks: list[list[np.ndarray]] = [[] for _ in model.outputs]
    try:
        with no_grad():
            for xb, _ in array_batches_multi(xs, [], batch_size or 256, None):
                values = model._run(tuple(Tensor(to_device(x, device)) for x in xb))
                for i, v in enumerate(values):
                    spec = outs[i].spec if outs else None
                    if spec is not None and spec.head in (None, "log_softmax"):
                        v = spec.probabilities(v)
                    chunks[i].append(to_numpy(v.data))
    finally:
        model.train(was)
    return model._pack([np.concatenate(c, axis=0) for c in chunks])

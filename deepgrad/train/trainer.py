"""compile / fit for any Module, the Keras way, on deepgrad's engine (evaluate and predict
are in :mod:`.evaluation`)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import to_device, to_numpy
from ..callbacks import Callback, CallbackList, History, ProgressBar, divergence_error
from ..callbacks.progress import check_verbose
from ..data import ArrayDataset, DataLoader
from ..metrics import get_metric
from ..nn.module import Module
from . import _parallel
from .compile import (
    LossSpec,
    NotCompiledError,
    compiled_spec,
    loss_and_outputs,
    resolve_loss,
    resolve_optimizer,
)
from .compiled import CompiledStep, NonFiniteLoss
from .evaluation import check_steps, evaluate, evaluate_batches, predict, predict_classes
from .inputs import BatchChecker, Batches, array_batches, is_batches, model_device, prepare_xy
from .multi import compile_multi, fit_multi, is_multi, unwrap_single
from .validation import first_nonfinite_parameter

__all__ = ["compile", "fit", "evaluate", "predict", "predict_classes", "NotCompiledError"]


def compile(  # noqa: A001 - Keras's name
    model: Module,
    optimizer: Any = "adam",
    loss: Any = "mse",
    metrics: Sequence[Any] | dict[str, Any] | None = None,
    from_logits: bool | None = None,
    loss_weights: Sequence[float] | dict[str, float] | None = None,
    jit: bool = False,
) -> Module:
    """Configure ``model`` for training (Keras's ``compile``); returns the model.

    Args:
        optimizer: a name ("adam", "sgd", "rmsprop", "adagrad", "adadelta", "adamw",
            "momentum"), a dict ``{"name": "sgd", "lr": 0.1}``, or an Optimizer.
        loss: "binary_crossentropy", "categorical_crossentropy",
            "sparse_categorical_crossentropy", "mse", "mae", "huber" (and PyTorch-style
            aliases), or a callable ``fn(outputs, y) -> scalar Tensor``.
        metrics: names ("accuracy", "mae", "f1", ...) or metric callables.
        from_logits: for the cross-entropies, whether the model outputs logits. By
            default a model ending in Sigmoid/Softmax is trained through the fused stable
            loss on its pre-activation outputs, and any other model is assumed to output
            logits. ``summary()`` says which form is used.
        loss_weights: for a graph model with several outputs, the weight of each output's
            loss in the total (a list, or a dict by output name; default 1 each). ``loss``
            and ``metrics`` may then also be given per output (a list or a dict).
        jit: let ``fit`` run each step compiled (:func:`deepgrad.compile_step`: no graph,
            buffers allocated once, the same numbers) where the model and loss allow it
            (a chain of dense layers trained with sparse softmax cross-entropy); any other
            model trains eagerly as usual.

    The optimizer is built from the parameters that are trainable when training starts:
    after freezing or unfreezing layers, compile again (Keras's rule).
    """
    if is_multi(model):
        outs = compile_multi(model, loss, metrics, from_logits, loss_weights)
        model._multi_spec = outs
        spec = next(o.spec for o in outs if o.spec is not None)
        metric_fns: list[Any] = []
        loss = {o.key: (o.spec.name if o.spec else None) for o in outs}
        metrics = {o.key: [m.name for m in o.metrics] for o in outs}
    else:
        if isinstance(loss, dict | list | tuple) and len(loss) == 1:  # one output's loss
            loss = next(iter(loss.values())) if isinstance(loss, dict) else loss[0]
        if isinstance(metrics, dict):
            metrics = [m for ms in metrics.values() for m in
                       ([ms] if isinstance(ms, str) or callable(ms) else ms)]
        model._multi_spec = None
        spec = resolve_loss(loss, model, from_logits)
        metric_fns = [get_metric(m) for m in (metrics or [])]
    model._loss_spec = spec
    model._metric_fns = metric_fns
    model._optimizer_arg = optimizer
    model.optimizer = None
    if not isinstance(optimizer, str | dict):
        model.optimizer = resolve_optimizer(optimizer, trainable_parameters(model))
    model._compile_config = {
        "optimizer": optimizer if isinstance(optimizer, str | dict) else
        type(optimizer).__name__,
        "loss": loss if isinstance(loss, str | dict) else spec.name,
        "metrics": metrics if isinstance(metrics, dict) else [m.name for m in metric_fns],
        "from_logits": spec.from_logits,
    }
    if loss_weights is not None:
        model._compile_config["loss_weights"] = (dict(loss_weights) if isinstance(
            loss_weights, dict) else [float(w) for w in loss_weights])
    model.stop_training = False
    model._jit = bool(jit) and model._multi_spec is None and spec.kind == "sparse" \
        and spec.from_logits
    if jit:
        model._compile_config["jit"] = True
        if not model._jit:
            warnings.warn("compile: jit=True compiles steps of one-output models trained "
                          "with sparse softmax cross-entropy on logits; this model's steps "
                          f"run eagerly ({spec.describe()})", stacklevel=2)
    return model


def trainable_parameters(model: Module) -> list[Any]:
    """The parameters to optimize: those not frozen (``requires_grad``)."""
    return [p for p in model.parameters() if p.requires_grad]


def _check_fit_args(epochs: int, initial_epoch: int, batch_size: int | None,
                    validation_split: float, steps_per_epoch: int | None, verbose: Any) -> None:
    if epochs < 1 or initial_epoch < 0:
        raise ValueError(f"epochs must be >= 1 and initial_epoch >= 0, got {epochs}, "
                         f"{initial_epoch}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    check_steps(steps_per_epoch, "steps_per_epoch")
    check_verbose(verbose)


def _split_tail(Xa: Any, ya: Any, validation_split: float) -> tuple[Any, Any, Any]:
    """(X_train, y_train, (X_val, y_val)): the last ``validation_split`` held out."""
    n_val = int(math.floor(len(Xa) * validation_split))
    if n_val < 1 or n_val >= len(Xa):
        raise ValueError(f"validation_split={validation_split} leaves no training or "
                         f"validation data for {len(Xa)} samples")
    return Xa[:-n_val], ya[:-n_val], (Xa[-n_val:], ya[-n_val:])


def _training_data(model: Module, spec: LossSpec, x: Any, y: Any, batch_size: int | None,
                   shuffle: bool, seed: int | None, validation_split: float,
                   steps: int | None, n_epochs: int) -> tuple[Batches, Any, int | None, Any]:
    """(batches, per-batch checker or None, samples, split-off validation arrays or None)."""
    if not is_batches(x):
        Xa, ya = prepare_xy(model, spec, x, y)
        val = None
        if validation_split > 0:
            Xa, ya, val = _split_tail(Xa, ya, validation_split)
        loader = _parallel.array_loader(ArrayDataset(Xa, ya), batch_size, shuffle, seed)
        return Batches(loader, steps, cycle=True), None, len(Xa), val
    if y is not None:
        raise ValueError("y must be None when x is a DataLoader or an iterable of (x, y) "
                         "batches: the targets come with each batch")
    if validation_split > 0:
        raise ValueError("validation_split needs arrays; with a loader, pass "
                         "validation_data (another loader, or (X_val, y_val))")
    train = Batches(x, steps, cycle=True)
    if train.one_shot and steps is None and n_epochs > 1:
        raise ValueError(
            f"x is a one-shot iterator (a generator): it would be used up by the first of "
            f"{n_epochs} epochs; pass a re-iterable (a DataLoader, a list of batches) or "
            "steps_per_epoch=... (each epoch then draws that many batches from it)")
    check = BatchChecker(model, spec, "x")
    try:  # builds lazy layers before the optimizer collects the parameters
        check(train.peek(), 0)
    except StopIteration:
        raise ValueError("x yielded no batches") from None
    samples = len(x.dataset) if isinstance(x, DataLoader) else None
    return train, check, samples, None


def _validation(model: Module, spec: LossSpec, data: Any, split: Any,
                batch_size: int | None, n_epochs: int
                ) -> Callable[[], Iterator[tuple[Any, Any]]] | None:
    """A function giving the checked batches of one validation pass, or None."""
    if data is None and split is None:
        return None
    if data is not None and is_batches(data):
        src = Batches(data)
        if src.one_shot and n_epochs > 1:
            raise ValueError("validation_data is a one-shot iterator (a generator): it would "
                             "be used up by the first epoch; pass a DataLoader or a list")
        check = BatchChecker(model, spec, "validation_data")
        return lambda: check.map(src.epoch())
    if split is None:
        if not isinstance(data, tuple | list) or len(data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val), a DataLoader "
                             "or an iterable of (x, y) batches")
        split = prepare_xy(model, spec, data[0], data[1], "X_val", "y_val")
    Xv, yv = split
    return lambda: array_batches(Xv, yv, batch_size or len(Xv))


def _weights_note(model: Module) -> str:
    name = first_nonfinite_parameter(model)
    if name is None:
        return "the model keeps its weights from before this batch, all finite"
    return (f"the weights were already not finite (first: {name!r}): an earlier update "
            "overflowed")


def _train_step(model: Module, spec: LossSpec, xt: Tensor, yt: Any, epoch: int,
                b: int) -> tuple[float, Tensor]:
    """One gradient step; a non-finite loss raises before the optimizer (or a metric) sees it."""
    opt = model.optimizer
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite loss is reported below
        loss, out = loss_and_outputs(spec, model, xt, yt)
        lv = float(loss.item())
        if not math.isfinite(lv):
            raise divergence_error(lv, epoch, b, _weights_note(model))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return lv, out


def _jit_step(step: CompiledStep, model: Module, xb: Any, yb: Any, epoch: int, b: int
              ) -> tuple[float, Tensor]:
    """One compiled step (:class:`CompiledStep`); the same checks as :func:`_train_step`."""
    try:
        lv = step(xb, yb)
    except NonFiniteLoss as e:
        raise divergence_error(e.value, epoch, b, _weights_note(model)) from None
    return lv, Tensor(step.logits)


def _train_epoch(model: Module, spec: LossSpec, batches: Iterator[tuple[Any, Any]],
                 cbs: CallbackList, epoch: int, streams: list[Any]) -> dict[str, float] | None:
    """Train one epoch; its logs (loss and metrics), or None if no batch came."""
    device = model_device(model)
    total, count = 0.0, 0
    jit = model.__dict__.get("_jit_step")
    for b, (xb, yb) in enumerate(batches):
        cbs.on_train_batch_begin(b)
        if jit is not None:
            lv, out = _jit_step(jit, model, xb, yb, epoch, b)
        else:
            lv, out = _train_step(model, spec, Tensor(to_device(xb, device)),
                                  to_device(yb, device), epoch, b)
        n = len(xb)
        total += lv * n
        count += n
        if streams:
            with no_grad():
                probs = to_numpy(spec.probabilities(out.detach()).data)
            for s in streams:
                s.update(yb, probs)
        # size: the global batch (under mpiexec every rank's is n: the sampler pads)
        cbs.on_train_batch_end(b, {"loss": lv, "size": n * _parallel.world()})
        if model.stop_training:
            break
    total, count = _parallel.global_sum(total, count)  # all ranks' examples (alone: as is)
    if count == 0:
        return None
    logs = {"loss": total / count}
    for m, s in zip(model._metric_fns, streams, strict=True):
        logs[m.name] = float(s.result())
    return logs


def _run_epoch(model: Module, spec: LossSpec, train: Batches, check: BatchChecker | None,
               cbs: CallbackList, epoch: int, streams: list[Any]) -> dict[str, float] | None:
    model.train()
    for s in streams:
        s.reset()
    cbs.on_epoch_begin(epoch)
    _parallel.set_epoch(train, epoch)
    batches = train.epoch() if check is None else check.map(train.epoch())
    logs = _train_epoch(model, spec, batches, cbs, epoch, streams)
    if train.exhausted:
        warnings.warn("fit: the input ran out of data; training stops. Make sure it can "
                      "give steps_per_epoch * epochs batches", stacklevel=4)
        model.stop_training = True
    elif logs is None:
        raise ValueError(f"x yielded no batches in epoch {epoch + 1}")
    return logs


def fit(
    model: Module,
    X: Any,
    y: Any = None,
    epochs: int = 1,
    batch_size: int | None = 32,
    validation_data: Any = None,
    validation_split: float = 0.0,
    shuffle: bool = True,
    seed: int | None = None,
    callbacks: Sequence[Callback] | None = None,
    verbose: int | str = 1,
    initial_epoch: int = 0,
    device: str | None = None,
    steps_per_epoch: int | None = None,
) -> History:
    """Train the compiled model (Keras's ``fit``); returns the History.

    Args:
        X, y: training inputs (batch first) and targets; or ``X`` a DataLoader, or any
            iterable of ``(x, y)`` batches (a list, a generator), and ``y`` None. Each
            batch is checked as arrays are; ``batch_size``, ``shuffle`` and ``seed`` then
            belong to the loader and are ignored here.
        epochs: index of the last epoch (training runs epochs ``initial_epoch..epochs-1``).
        batch_size: examples per gradient step; ``None`` is full-batch gradient descent
            (the course's algorithm), 1 is stochastic gradient descent.
        validation_data: ``(X_val, y_val)``, a DataLoader or an iterable of batches,
            evaluated in eval mode after each epoch.
        validation_split: fraction of the (unshuffled) training arrays, taken from the end,
            held out for validation.
        shuffle: reshuffle the training data each epoch (seeded by ``seed``).
        callbacks: Callback instances; History is always added.
        verbose: 0 silent, 1 or "auto" progress bar on a terminal (a line per epoch
            otherwise), 2 a line per epoch.
        initial_epoch: epoch to resume from (after loading a checkpoint).
        device: move the model there first ("cpu", "cuda"); batches follow the model.
        steps_per_epoch: batches per epoch (None: one pass). Each epoch continues where
            the last stopped; needed for a one-shot iterator over several epochs.

    A NaN or infinite batch loss raises NonFiniteLossError naming the epoch and batch
    before the optimizer step, so the model keeps the weights that produced it.

    Returns:
        History: ``history.history`` has ``loss`` and each metric, with ``val_``
        versions when validating; ``history.batch_losses`` the cost of every iteration.
    """
    spec = compiled_spec(model)
    if device is not None:
        model.to(device)
    _check_fit_args(epochs, initial_epoch, batch_size, validation_split, steps_per_epoch,
                    verbose)
    if getattr(model, "_multi_spec", None) is not None:
        if model.optimizer is None:
            model.optimizer = resolve_optimizer(model._optimizer_arg,
                                                trainable_parameters(model))
        _parallel.refuse("fit of a model with several inputs or outputs")
        return fit_multi(model, X, y, epochs, batch_size, validation_data, validation_split,
                         shuffle, seed, callbacks, verbose, initial_epoch, steps_per_epoch)
    X, y = unwrap_single(model, X, y)
    if isinstance(validation_data, tuple) and len(validation_data) == 2:
        validation_data = unwrap_single(model, *validation_data)
    n_epochs = epochs - initial_epoch
    train, check, samples, split = _training_data(model, spec, X, y, batch_size, shuffle,
                                                  seed, validation_split, steps_per_epoch,
                                                  n_epochs)
    val = _validation(model, spec, validation_data, split, batch_size, n_epochs)
    if model.optimizer is None:
        model.optimizer = resolve_optimizer(model._optimizer_arg, trainable_parameters(model))
    history = History()
    verbose = _parallel.verbose_for_rank(1 if verbose == "auto" else verbose)
    callbacks = _parallel.callbacks_for_rank(callbacks)  # data-parallel: writers on rank 0
    cbs = CallbackList([history, *(callbacks or []), ProgressBar(verbose)])
    cbs.set_model(model)
    cbs.set_params({"epochs": epochs, "steps": train.length(), "samples": samples,
                    "batch_size": batch_size, "verbose": verbose,
                    "metrics": [m.name for m in model._metric_fns]})
    model.stop_training = False
    model.history = history
    streams = _parallel.global_streams([m.streaming() for m in model._metric_fns])
    was_training = model.training
    averager = _parallel.begin(model, history.params, verbose)  # None alone
    jit = (CompiledStep(model, model.optimizer)
           if getattr(model, "_jit", False) and model_device(model) == "cpu" else None)
    if jit is not None and not jit.lowered:
        warnings.warn(f"fit: jit=True, but the model trains eagerly: {jit.reason}",
                      stacklevel=2)
        jit = None
    object.__setattr__(model, "_jit_step", jit)
    try:
        cbs.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            logs = _run_epoch(model, spec, train, check, cbs, epoch, streams)
            if logs is None:
                break
            _parallel.before_validation(model)
            if val is not None:
                vl = evaluate_batches(model, spec, val(), f"validation after epoch {epoch + 1}")
                logs.update({f"val_{k}": v for k, v in vl.items()})
            logs["lr"] = float(model.optimizer.param_groups[0]["lr"])
            logs = _parallel.agree(logs)
            cbs.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        cbs.on_train_end()
    finally:
        _parallel.end(model, averager)
        object.__setattr__(model, "_jit_step", None)
    model.train(was_training)
    return history

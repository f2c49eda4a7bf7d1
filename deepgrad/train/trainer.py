"""compile / fit / evaluate / predict for any Module, the Keras way, on deepgrad's engine."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype, to_device, to_numpy
from ..callbacks import Callback, CallbackList, History, ProgressBar, TerminateOnNaN
from ..data import ArrayDataset, DataLoader
from ..metrics import get_metric
from ..nn.module import Module
from .compile import LossSpec, forward_logits, resolve_loss, resolve_optimizer
from .validation import as_numeric_array, check_finite, check_lengths, check_targets

__all__ = ["compile", "fit", "evaluate", "predict", "predict_classes", "NotCompiledError"]


class NotCompiledError(RuntimeError):
    """fit/evaluate was called before compile()."""


def compile(  # noqa: A001 - Keras's name
    model: Module,
    optimizer: Any = "adam",
    loss: Any = "mse",
    metrics: Sequence[Any] | None = None,
    from_logits: bool | None = None,
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
    """
    spec = resolve_loss(loss, model, from_logits)
    metric_fns = [get_metric(m) for m in (metrics or [])]
    model._loss_spec = spec
    model._metric_fns = metric_fns
    model._optimizer_arg = optimizer
    model.optimizer = None
    if not isinstance(optimizer, str | dict):
        model.optimizer = resolve_optimizer(optimizer, list(model.parameters()))
    model._compile_config = {
        "optimizer": optimizer if isinstance(optimizer, str | dict) else
        type(optimizer).__name__,
        "loss": loss if isinstance(loss, str) else spec.name,
        "metrics": [m.name for m in metric_fns],
        "from_logits": spec.from_logits,
    }
    model.stop_training = False
    return model


def _spec(model: Module) -> LossSpec:
    spec = getattr(model, "_loss_spec", None)
    if spec is None:
        raise NotCompiledError(
            "the model is not compiled: call model.compile(optimizer=..., loss=...) first"
        )
    return spec


def _probe(model: Module, X: np.ndarray, name: str = "X") -> tuple[int, ...]:
    """Run the model on one example to check the input shape and learn the output shape."""
    was = model.training
    model.eval()
    device = _device(model)
    try:
        with no_grad():
            out = model(Tensor(to_device(X[:1], device)))
    except ValueError as e:
        raise ValueError(f"{name} (shape {X.shape}) doesn't fit the model: {e}") from None
    finally:
        model.train(was)
    return tuple(out.shape)


def _prepare(model: Module, X: Any, y: Any, spec: LossSpec, xname: str = "X",
             yname: str = "y") -> tuple[np.ndarray, np.ndarray]:
    dtype = _param_dtype(model)
    Xa = as_numeric_array(X, xname, float_dtype=dtype)
    check_finite(Xa, xname)
    ya = as_numeric_array(y, yname)
    check_finite(ya, yname)
    check_lengths(Xa, ya, xname, yname)
    out_shape = _probe(model, Xa, xname)
    n_out = int(np.prod(out_shape[1:])) if len(out_shape) > 1 else 1
    ya = check_targets(ya, spec.kind, n_out, spec.name, out_shape, yname)
    if ya.dtype.kind in "biu" and spec.kind in ("binary", "categorical", "regression"):
        ya = ya.astype(dtype)
    elif ya.dtype.kind == "f" and ya.dtype != dtype:
        ya = ya.astype(dtype)
    return Xa, ya


def _param_dtype(model: Module) -> np.dtype:
    for p in model.parameters():
        return p.dtype
    return get_default_dtype()


def _device(model: Module) -> str:
    for p in model.parameters():
        return p.device
    return "cpu"


def _loss_value(spec: LossSpec, model: Module, xb: Tensor, yb: Any) -> tuple[Tensor, Tensor]:
    out = forward_logits(model, xb, spec.head if spec.from_logits else None)
    return spec.fn(out, yb), out


def fit(
    model: Module,
    X: Any,
    y: Any = None,
    epochs: int = 1,
    batch_size: int | None = 32,
    validation_data: tuple[Any, Any] | None = None,
    validation_split: float = 0.0,
    shuffle: bool = True,
    seed: int | None = None,
    callbacks: Sequence[Callback] | None = None,
    verbose: int = 1,
    initial_epoch: int = 0,
    device: str | None = None,
) -> History:
    """Train the compiled model (Keras's ``fit``); returns the History.

    Args:
        X, y: training inputs (batch first) and targets.
        epochs: index of the last epoch (training runs epochs ``initial_epoch..epochs-1``).
        batch_size: examples per gradient step; ``None`` is full-batch gradient descent
            (the course's algorithm), 1 is stochastic gradient descent.
        validation_data: ``(X_val, y_val)``, evaluated in eval mode after each epoch.
        validation_split: fraction of the (unshuffled) training data, taken from the end,
            held out for validation.
        shuffle: reshuffle the training data each epoch (seeded by ``seed``).
        callbacks: Callback instances; History and TerminateOnNaN are always added.
        verbose: 0 silent, 1 progress bar on a terminal (a line per epoch otherwise),
            2 a line per epoch.
        initial_epoch: epoch to resume from (after loading a checkpoint).
        device: move the model there first ("cpu", "cuda"); batches follow the model.

    Returns:
        History: ``history.history`` has ``loss`` and each metric, with ``val_``
        versions when validating; ``history.batch_losses`` the cost of every iteration.
    """
    spec = _spec(model)
    if device is not None:
        model.to(device)
    if epochs < 1 or initial_epoch < 0:
        raise ValueError(f"epochs must be >= 1 and initial_epoch >= 0, got {epochs}, "
                         f"{initial_epoch}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    Xa, ya = _prepare(model, X, y, spec)
    val = None
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        val = _prepare(model, validation_data[0], validation_data[1], spec, "X_val", "y_val")
    elif validation_split > 0:
        n_val = int(math.floor(len(Xa) * validation_split))
        if n_val < 1 or n_val >= len(Xa):
            raise ValueError(f"validation_split={validation_split} leaves no training or "
                             f"validation data for {len(Xa)} samples")
        val = (Xa[-n_val:], ya[-n_val:])
        Xa, ya = Xa[:-n_val], ya[:-n_val]

    if model.optimizer is None:
        model.optimizer = resolve_optimizer(model._optimizer_arg, list(model.parameters()))
    opt = model.optimizer
    device = _device(model)
    loader = DataLoader(ArrayDataset(Xa, ya), batch_size=batch_size, shuffle=shuffle, seed=seed)
    history = History()
    cbs = CallbackList([history, TerminateOnNaN(), *(callbacks or []),
                        ProgressBar(verbose)])
    cbs.set_model(model)
    cbs.set_params({"epochs": epochs, "steps": len(loader), "samples": len(Xa),
                    "batch_size": batch_size, "verbose": verbose,
                    "metrics": [m.name for m in model._metric_fns]})
    model.stop_training = False
    model.history = history
    streams = [m.streaming() for m in model._metric_fns]
    was_training = model.training
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.train()
        for s in streams:
            s.reset()
        cbs.on_epoch_begin(epoch)
        total, count = 0.0, 0
        for b, (xb, yb) in enumerate(loader):
            cbs.on_train_batch_begin(b)
            xt = Tensor(to_device(xb, device))
            yt = to_device(yb, device)
            with np.errstate(over="ignore", invalid="ignore"):  # TerminateOnNaN reports it
                loss, out = _loss_value(spec, model, xt, yt)
                opt.zero_grad()
                loss.backward()
                opt.step()
            lv = float(loss.item())
            n = len(xb)
            total += lv * n
            count += n
            logs: dict[str, float] = {"loss": lv, "size": n}
            if streams:
                with no_grad():
                    probs = to_numpy(spec.probabilities(out.detach()).data)
                for s in streams:
                    s.update(yb, probs)
            cbs.on_train_batch_end(b, logs)
            if model.stop_training:
                break
        logs = {"loss": total / max(count, 1)}
        for m, s in zip(model._metric_fns, streams, strict=True):
            logs[m.name] = float(s.result())
        if val is not None:
            vl = _evaluate_arrays(model, spec, val[0], val[1], batch_size or len(val[0]))
            logs.update({f"val_{k}": v for k, v in vl.items()})
        logs["lr"] = float(opt.param_groups[0]["lr"])
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end()
    model.train(was_training)
    return history


def _evaluate_arrays(model: Module, spec: LossSpec, X: np.ndarray, y: np.ndarray,
                     batch_size: int) -> dict[str, float]:
    was = model.training
    model.eval()
    device = _device(model)
    streams = [m.streaming() for m in model._metric_fns]
    total, count = 0.0, 0
    try:
        with no_grad():
            for i in range(0, len(X), batch_size):
                xb, yb = X[i : i + batch_size], y[i : i + batch_size]
                xt = Tensor(to_device(xb, device))
                yt = to_device(yb, device)
                loss, out = _loss_value(spec, model, xt, yt)
                total += float(loss.item()) * len(xb)
                count += len(xb)
                if streams:
                    probs = to_numpy(spec.probabilities(out).data)
                    for s in streams:
                        s.update(yb, probs)
    finally:
        model.train(was)
    res = {"loss": total / count}
    for m, s in zip(model._metric_fns, streams, strict=True):
        res[m.name] = float(s.result())
    return res


def evaluate(model: Module, X: Any, y: Any, batch_size: int = 256) -> dict[str, float]:
    """Loss and metrics over the whole of ``X, y`` (eval mode, no graph); a dict."""
    spec = _spec(model)
    Xa, ya = _prepare(model, X, y, spec)
    return _evaluate_arrays(model, spec, Xa, ya, batch_size)


def predict(model: Module, X: Any, batch_size: int = 256) -> np.ndarray:
    """Outputs for ``X`` as a NumPy array, in eval mode, under no_grad, in batches.

    For a classifier compiled with a cross-entropy these are probabilities (the final
    sigmoid/softmax is applied when the model outputs logits). The model's mode is
    restored afterwards.
    """
    dtype = _param_dtype(model)
    Xa = as_numeric_array(X, "X", float_dtype=dtype)
    check_finite(Xa, "X")
    _probe(model, Xa)
    spec = getattr(model, "_loss_spec", None)
    device = _device(model)
    was = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            for i in range(0, len(Xa), batch_size):
                xb = Xa[i : i + batch_size]
                xt = Tensor(to_device(xb, device))
                out = model(xt)
                if spec is not None and spec.head in (None, "log_softmax"):
                    out = spec.probabilities(out)  # logits or log-probabilities -> probs
                outs.append(to_numpy(out.data))
    finally:
        model.train(was)
    return np.concatenate(outs, axis=0)


def predict_classes(model: Module, X: Any, batch_size: int = 256,
                    threshold: float = 0.5) -> np.ndarray:
    """Predicted class indices: ``p > threshold`` for one output unit, argmax otherwise."""
    p = predict(model, X, batch_size)
    if p.ndim == 1 or p.shape[-1] == 1:
        return (p.reshape(len(p)) > threshold).astype(np.int64)
    return p.argmax(axis=-1)

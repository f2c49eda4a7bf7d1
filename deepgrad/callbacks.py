"""Callbacks for ``fit``, with Keras's hook names: early stopping, checkpoints, learning-rate
schedules, CSV logging, NaN detection and the progress display."""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import numpy as np

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "CSVLogger",
    "TerminateOnNaN",
    "NonFiniteLossError",
    "ProgressBar",
]


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class Callback:
    """Base class: override any of the hooks. ``self.model`` and ``self.params`` are set
    by ``fit`` (params: epochs, steps, batch_size, samples, verbose, metrics)."""

    model: Any = None
    params: dict[str, Any]

    def __init__(self) -> None:
        self.params = {}

    def set_model(self, model: Any) -> None:
        """Called by fit with the model being trained."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Called by fit with the run's settings (epochs, steps, batch_size, ...)."""
        self.params = dict(params)

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Before the first epoch."""

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """After the last epoch (also after early stopping)."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """At the start of epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """After epoch ``epoch`` with its logs: loss, metrics, val_*, lr (may be edited)."""

    def on_train_batch_begin(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """Before training step ``batch`` of the current epoch."""

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """After training step ``batch``, with its ``loss`` and ``size``."""


class CallbackList(Callback):
    """Calls every hook on each callback in order."""

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        super().__init__()
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}")

    def _each(self, name: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, name)(*args)

    def set_model(self, model: Any) -> None:
        self._each("set_model", model)

    def set_params(self, params: dict[str, Any]) -> None:
        self._each("set_params", params)

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._each("on_train_begin", logs)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        self._each("on_train_end", logs)

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._each("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._each("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self._each("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self._each("on_train_batch_end", batch, logs)


class History(Callback):
    """Records epoch logs in ``history`` (Keras keys: loss, val_loss, accuracy,
    val_accuracy, ..., lr) and every batch loss in ``batch_losses`` (the course's
    cost per iteration)."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.batch_losses: list[float] = []

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        if logs and "loss" in logs:
            self.batch_losses.append(float(logs["loss"]))

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(float(v))


def _mode_and_best(monitor: str, mode: str) -> tuple[Callable[[float, float], bool], float]:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        higher = ("acc" in monitor or monitor.endswith(("f1", "precision", "recall", "r2"))
                  ) and "loss" not in monitor
        mode = "max" if higher else "min"
    if mode == "min":
        return (lambda a, b: a < b), math.inf
    return (lambda a, b: a > b), -math.inf


def _get_monitored(logs: dict[str, float] | None, monitor: str, who: str) -> float | None:
    logs = logs or {}
    if monitor not in logs:
        import warnings

        warnings.warn(
            f"{who}: metric {monitor!r} is not in the logs (available: {sorted(logs)})",
            stacklevel=3,
        )
        return None
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by ``min_delta`` for ``patience``
    epochs. With ``restore_best_weights=True`` the model ends with its best epoch's
    weights (as Keras 3)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        baseline: float | None = None,
        start_from_epoch: int = 0,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.baseline = baseline
        self.start_from_epoch = start_from_epoch
        self.verbose = verbose
        self._better, _ = _mode_and_best(monitor, mode)

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._better, self.best = _mode_and_best(self.monitor, self.mode)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def _improved(self, current: float, reference: float) -> bool:
        sign = 1.0 if self._better(1.0, 0.0) else -1.0
        return self._better(current - sign * self.min_delta, reference)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        current = _get_monitored(logs, self.monitor, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._improved(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of epoch {self.best_epoch + 1}.")
            self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (``deepgrad.save``, atomically) at the end of each epoch, or only
    when ``monitor`` improves with ``save_best_only=True``.

    ``filepath`` may contain ``{epoch}`` and log keys, e.g. ``"ckpt-{epoch:02d}.dg"``.
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        save_optimizer: bool = True,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.mode = mode
        self.save_optimizer = save_optimizer
        self.verbose = verbose
        self._better, self.best = _mode_and_best(monitor, mode)
        self.saved: list[str] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        from .io import save

        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = _get_monitored(logs, self.monitor, "ModelCheckpoint")
            if current is None or not self._better(current, self.best):
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        opt = getattr(self.model, "optimizer", None) if self.save_optimizer else None
        save(self.model, path, optimizer=opt, epoch=epoch + 1)
        self.saved.append(path)


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch.

    ``schedule`` is a function ``(epoch, lr) -> new_lr`` (Keras), or a deepgrad /
    PyTorch-style scheduler object with ``step()``, which is stepped at each epoch end.
    """

    def __init__(self, schedule: Any, verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if hasattr(self.schedule, "step"):
            return
        opt = self.model.optimizer
        lr = float(self.schedule(epoch, float(opt.param_groups[0]["lr"])))
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned lr={lr} at epoch {epoch}")
        for g in opt.param_groups:
            g["lr"] = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if hasattr(self.schedule, "step"):
            name = type(self.schedule).__name__
            if name == "ReduceLROnPlateau":
                self.schedule.step((logs or {}).get("val_loss", (logs or {}).get("loss")))
            else:
                self.schedule.step()


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving for
    ``patience`` epochs (Keras's callback)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.mode, self.min_delta, self.cooldown = mode, float(min_delta), int(cooldown)
        self.min_lr, self.verbose = float(min_lr), verbose

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._better, self.best = _mode_and_best(self.monitor, self.mode)
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        opt = self.model.optimizer
        current = _get_monitored(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        sign = 1.0 if self._better(1.0, 0.0) else -1.0
        if self._better(current - sign * self.min_delta, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                for g in opt.param_groups:
                    old = float(g["lr"])
                    new = max(old * self.factor, self.min_lr)
                    if old - new > 1e-12:
                        g["lr"] = new
                        if self.verbose:
                            print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning "
                                  f"rate to {new}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0


class CSVLogger(Callback):
    """Append each epoch's logs as a CSV row (header from the first epoch's keys)."""

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self._file: TextIO | None = None
        self._writer: Any = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        exists = self.append and os.path.exists(self.filename)
        self._file = open(self.filename, "a" if exists else "w", newline="")  # noqa: SIM115
        self._keys = None
        if exists:
            with open(self.filename) as f:
                first = f.readline().strip()
            self._keys = first.split(self.sep)[1:] if first else None

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        assert self._file is not None
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.writer(self._file, delimiter=self.sep)
            self._writer.writerow(["epoch", *self._keys])
        elif self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep)
        self._writer.writerow([epoch, *(logs.get(k, "") for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop with :class:`NonFiniteLossError` naming the epoch and batch when a batch loss
    is NaN or infinite. ``fit`` adds it by default."""

    def __init__(self) -> None:
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise NonFiniteLossError(
                f"training diverged: the loss is {loss} at epoch {self._epoch + 1}, batch "
                f"{batch + 1}; lower the learning rate, standardize the inputs, or check the "
                "data for NaN/inf"
            )


class ProgressBar(Callback):
    """The progress display: on a terminal a per-epoch bar (tqdm) with batches done, loss,
    metrics, samples/s and ETA; otherwise one line per epoch; nothing at verbose=0.

    Args:
        verbose: 0 silent, 1 bar on a terminal (one line per epoch otherwise), 2 one line
            per epoch.
        stream: where to write (default sys.stderr for the bar, sys.stdout for lines).
        force_terminal: treat ``stream`` as a terminal (for tests).
    """

    def __init__(self, verbose: int = 1, stream: TextIO | None = None,
                 force_terminal: bool | None = None) -> None:
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self.force_terminal = force_terminal
        self._bar: Any = None

    def _is_terminal(self) -> bool:
        if self.force_terminal is not None:
            return self.force_terminal
        s = self.stream or sys.stderr
        return bool(getattr(s, "isatty", lambda: False)())

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._use_bar = self.verbose == 1 and self._is_terminal()
        self._t_train = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._t0 = time.perf_counter()
        self._seen = 0
        self._epoch = epoch
        if self.verbose and self._use_bar:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # pragma: no cover - tqdm is a dependency
                tqdm = None
            desc = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}"
            if tqdm is not None:
                self._bar = tqdm(total=self.params.get("steps"), desc=desc, unit="batch",
                                 file=self.stream or sys.stderr, leave=True,
                                 dynamic_ncols=True)
            else:  # pragma: no cover
                self._bar = None

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        self._seen += int(logs.get("size", 0))
        if self._bar is not None:
            rate = self._seen / max(time.perf_counter() - self._t0, 1e-9)
            post = {k: f"{v:.4f}" for k, v in logs.items() if k not in ("size", "batch")}
            post["samples/s"] = f"{rate:.0f}"
            self._bar.set_postfix(post, refresh=False)
            self._bar.update(1)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if not self.verbose:
            return
        dt = time.perf_counter() - self._t0
        rate = self._seen / max(dt, 1e-9)
        shown = {k: v for k, v in (logs or {}).items() if k != "lr"}
        text = " - ".join(f"{k}: {v:.4f}" for k, v in shown.items())
        if self._bar is not None:
            self._bar.set_postfix_str(f"{text} - {rate:.0f} samples/s", refresh=True)
            self._bar.close()
            self._bar = None
            return
        out = self.stream or sys.stdout
        epochs = self.params.get("epochs", "?")
        out.write(f"Epoch {epoch + 1}/{epochs} - {dt:.2f}s - {rate:.0f} samples/s - {text}\n")
        out.flush()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

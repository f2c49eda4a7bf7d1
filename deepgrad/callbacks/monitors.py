"""Callbacks that watch a logged quantity: early stopping, checkpoints, learning-rate
schedules, and CSV logging."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

from ..io import save
from ..optim.plateau import ReduceLROnPlateau as _PlateauScheduler
from .base import Callback

__all__ = ["EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
           "CSVLogger"]


def _mode_and_best(monitor: str, mode: str
                   ) -> tuple[Callable[[float, float, float], bool], float]:
    """``improved(current, reference, min_delta=0)`` for ``mode`` and the initial best.

    "auto" watches accuracies, F1, precision, recall and R² upwards, anything else down.
    """
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        higher = ("acc" in monitor or monitor.endswith(("f1", "precision", "recall", "r2"))
                  ) and "loss" not in monitor
        mode = "max" if higher else "min"
    if mode == "min":
        return (lambda cur, ref, delta=0.0: cur < ref - delta), math.inf
    return (lambda cur, ref, delta=0.0: cur > ref + delta), -math.inf


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
        return self._better(current, reference, self.min_delta)

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
            if isinstance(self.schedule, _PlateauScheduler):
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
        if self._better(current, self.best, self.min_delta):
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

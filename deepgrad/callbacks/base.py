"""The Callback base class, the list that calls them, History and TerminateOnNaN."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = ["Callback", "CallbackList", "History", "TerminateOnNaN", "NonFiniteLossError",
           "divergence_error"]


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


class TerminateOnNaN(Callback):
    """Stop with :class:`NonFiniteLossError` naming the epoch and batch when a logged batch
    loss is NaN or infinite. ``fit`` makes the same check itself, before the metrics and
    the optimizer step see the loss; this callback serves loops that only call hooks."""

    def __init__(self) -> None:
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise divergence_error(loss, self._epoch, batch)


def divergence_error(loss: float, epoch: int, batch: int, detail: str = ""
                     ) -> NonFiniteLossError:
    """The error for a non-finite training loss at 0-based ``epoch`` and ``batch`` (raised by
    ``fit`` and :class:`TerminateOnNaN`); ``detail`` is appended (e.g. about the weights)."""
    return NonFiniteLossError(
        f"training diverged: the loss is {loss} at epoch {epoch + 1}, batch {batch + 1}; "
        "lower the learning rate, standardize the inputs, or check the data for NaN/inf"
        + (f"; {detail}" if detail else "")
    )

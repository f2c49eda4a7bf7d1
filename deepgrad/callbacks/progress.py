"""The progress display of fit: a bar on a terminal, one line per epoch otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from .base import Callback

__all__ = ["ProgressBar"]


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

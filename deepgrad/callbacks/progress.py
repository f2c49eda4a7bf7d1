"""The progress display of fit: a bar on a terminal, one line per epoch otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from .base import Callback

__all__ = ["ProgressBar", "LoopProgress", "check_verbose"]


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


def check_verbose(verbose: Any) -> None:
    """Raise unless ``verbose`` is 0, 1, 2 or "auto" (Keras's values)."""
    if verbose != "auto" and verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")


class LoopProgress:
    """The progress display of one pass of ``evaluate`` or ``predict``.

    verbose "auto" (the default there): a bar on a terminal, nothing otherwise (so scripts
    and captured output stay quiet); 1: a bar on a terminal, one line at the end otherwise;
    2: one line at the end; 0: nothing. The bar goes to ``stream`` or stderr, the line to
    ``stream`` or stdout.

    Args:
        verbose: 0, 1, 2 or "auto".
        desc: what runs ("evaluate", "predict").
        total: number of batches if known (the bar's length).
        stream: where to write.
        force_terminal: treat ``stream`` as a terminal (for tests).
    """

    def __init__(self, verbose: Any, desc: str, total: int | None = None,
                 stream: TextIO | None = None, force_terminal: bool | None = None) -> None:
        check_verbose(verbose)
        self.desc, self.stream = desc, stream
        terminal = force_terminal if force_terminal is not None else bool(
            getattr(stream or sys.stderr, "isatty", lambda: False)())
        self._bar: Any = None
        self._line = verbose == 2 or (verbose == 1 and not terminal)
        self._t0 = time.perf_counter()
        self.steps = self.samples = 0
        if verbose in (1, "auto") and terminal:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="batch", file=stream or sys.stderr,
                             leave=True, dynamic_ncols=True)

    def update(self, size: int, logs: dict[str, float] | None = None) -> None:
        """One batch of ``size`` examples done; ``logs`` (running loss, ...) for the bar."""
        self.steps += 1
        self.samples += int(size)
        if self._bar is not None:
            if logs:
                self._bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            self._bar.update(1)

    def close(self, logs: dict[str, float] | None = None) -> None:
        """End of the pass: close the bar, or write the one line with the final ``logs``."""
        dt = time.perf_counter() - self._t0
        text = "".join(f" - {k}: {v:.4f}" for k, v in (logs or {}).items())
        if self._bar is not None:
            if text:
                self._bar.set_postfix_str(text[3:], refresh=True)
            self._bar.close()
            self._bar = None
        elif self._line:
            out = self.stream or sys.stdout
            out.write(f"{self.desc}: {self.samples} samples in {self.steps} batches - "
                      f"{dt:.2f}s{text}\n")
            out.flush()

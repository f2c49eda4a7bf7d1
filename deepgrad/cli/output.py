"""Writing results: atomic text files, history CSV, plain-text tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._fileio import atomic_open

__all__ = ["atomic_write_text", "history_csv", "format_table", "fmt"]


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def history_csv(history: dict[str, list[float]], epochs: Sequence[int]) -> str:
    """The epoch logs as CSV text: ``epoch`` (1-based), then loss, metrics, val_*, lr."""
    keys = sorted(history, key=lambda k: (k == "lr", k.startswith("val_"), k != "loss", k))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", *keys])
    for i, e in enumerate(epochs):
        w.writerow([e + 1, *(repr(float(history[k][i])) if i < len(history[k]) else ""
                             for k in keys)])
    return buf.getvalue()


def fmt(v: Any) -> str:
    """A number for a table: 4 significant decimals, integers as is."""
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"
    return str(v)


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """Numbers right-aligned, text left-aligned, a rule under the header."""
    cells = [[fmt(c) for c in r] for r in rows]
    numeric = [all(isinstance(r[i], int | float) or r[i] is None for r in rows) and i > 0
               for i in range(len(cells[0]))] if rows else []
    if header is not None:
        cells.insert(0, list(header))
    width = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = []
    for k, r in enumerate(cells):
        parts = [c.rjust(w) if num else c.ljust(w)
                 for c, w, num in zip(r, width, numeric or [False] * len(r), strict=True)]
        lines.append("  ".join(parts).rstrip())
        if k == 0 and header is not None:
            lines.append("  ".join("-" * w for w in width))
    return "\n".join(lines)

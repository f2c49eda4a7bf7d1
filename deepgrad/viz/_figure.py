"""Figure creation and atomic saving, with matplotlib imported only when a plot is drawn.

Figures are ``matplotlib.figure.Figure`` objects attached to an Agg canvas: no pyplot, no
global backend switch, no window. ``import deepgrad.viz`` never imports matplotlib.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._fileio import atomic_open
from ..backend import to_numpy

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MISSING_MATPLOTLIB = "plotting needs matplotlib: pip install 'deepgrad[plot]'"


def require_matplotlib() -> Any:
    """Import and return the ``matplotlib`` module, or raise a clear ImportError."""
    try:
        import matplotlib  # noqa: F401 - optional dependency, imported on first plot
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError as e:
        raise ImportError(MISSING_MATPLOTLIB) from e
    return matplotlib


def new_figure(figsize: tuple[float, float], dpi: float = 100) -> Figure:
    """A new Figure on an Agg canvas with constrained layout (nothing global changes)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if dpi <= 0:
        raise ValueError(f"dpi must be positive, got {dpi}")
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Save ``fig`` at its own size and dpi, atomically (temp file + ``os.replace``).

    The parent directory is created. The format follows the suffix (``.png`` when the
    suffix is missing or unknown to matplotlib).
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in fig.canvas.get_supported_filetypes():
        fmt = "png"
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format=fmt, dpi=fig.dpi)
    return path


def finish(fig: Figure, path: str | os.PathLike[str] | None, title: str | None = None) -> Figure:
    """Add the optional suptitle, save when ``path`` is given, return the figure."""
    if title:
        fig.suptitle(title)
    if path is not None:
        save_figure(fig, path)
    return fig


def class_ids(values: Any, n: int, message: str) -> np.ndarray:
    """``n`` class labels as a flat array; one-hot or probability rows become their argmax.

    ``message`` is the error text when the count is wrong, formatted with ``n``, ``size``
    (the count found) and ``shape`` (the shape given).
    """
    v = to_numpy(values)
    shape = v.shape
    if v.ndim == 2 and v.shape[0] == n and v.shape[1] > 1:  # one-hot or probabilities
        v = v.argmax(axis=1)
    v = v.reshape(-1)
    if v.size != n:
        raise ValueError(message.format(n=n, size=v.size, shape=shape))
    return v

"""Learning curves, planar decision boundaries and confusion matrices.

Every function takes plain NumPy arrays (or tensors, lists, callables), returns a
``matplotlib.figure.Figure`` and, when ``path`` is given, saves it there atomically.
matplotlib is imported only when a function runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from deepgrad.backend import to_numpy
from deepgrad.viz._figure import class_ids, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PathLike = str | os.PathLike[str]

_SKIPPED_KEYS = {"lr", "learning_rate"}
_PER_NAMES = {10: "tens", 100: "hundreds", 1000: "thousands"}


# --------------------------------------------------------------------------- learning curve


def _costs(values: Any, what: str) -> np.ndarray:
    costs = np.asarray([float(np.squeeze(to_numpy(v))) for v in values], dtype=np.float64)
    if costs.size == 0:
        raise ValueError(f"{what} is empty: nothing to plot")
    return costs


def _epoch_series(hist: Mapping[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    """Group ``{"loss", "val_loss", "accuracy", ...}`` into panels ``{base: {"train", "val"}}``."""
    panels: dict[str, dict[str, np.ndarray]] = {}
    for key, values in hist.items():
        base = key[4:] if key.startswith("val_") else key
        if base in _SKIPPED_KEYS or values is None or len(values) == 0:
            continue
        panels.setdefault(base, {})["val" if key.startswith("val_") else "train"] = _costs(
            values, f"history[{key!r}]"
        )
    if "loss" in panels:  # the loss panel comes first
        panels = {"loss": panels.pop("loss"), **panels}
    return panels


def _iteration_label(every: int) -> str:
    if every == 1:
        return "iteration"
    return f"iterations (per {_PER_NAMES.get(every, every)})"


def plot_learning_curve(
    history: Any = None,
    path: PathLike | None = None,
    title: str | None = None,
    per_iteration: Sequence[float] | bool | None = None,
    every: int = 1,
    *,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> Figure:
    """Plot train/validation loss (and metrics) per epoch, or the cost per iteration.

    Epoch mode (the default): one panel for the loss and one for each other metric, each
    with its ``val_`` series when present. ``lr``/``learning_rate`` are not plotted.
    Iteration mode (the course's "cost per hundreds of iterations" figure): when
    ``per_iteration`` is a sequence, when it is True (use ``history.batch_losses``), when
    ``history`` itself is a list of costs, or when the history has no epoch series but has
    ``batch_losses``.

    Args:
        history: a dict like Keras's ``History.history`` ({"loss": [...], "val_loss": [...],
            "accuracy": [...], ...}), an object with ``.history`` (and optionally
            ``.batch_losses``), or a list of costs.
        path: where to save the PNG (directories are created), or None.
        title: figure title.
        per_iteration: costs recorded every ``every`` iterations, or True.
        every: iterations between two recorded costs; 100 labels the x axis
            "iterations (per hundreds)" like the course.
        figsize: figure size in inches (default 6x4 per panel).
        dpi: dots per inch of the figure and of the saved PNG.

    Shape:
        Each series is a 1-D sequence of floats (0-d arrays such as the course's
        ``np.squeeze(cost)`` are accepted).
    """
    if isinstance(every, bool) or not isinstance(every, int | np.integer) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    batch_losses = getattr(history, "batch_losses", None)
    if per_iteration is True:
        if batch_losses is None:
            raise ValueError("per_iteration=True needs a history with .batch_losses")
        return _plot_costs(_costs(batch_losses, "batch_losses"), every, path, title, figsize, dpi)
    if per_iteration is not None and per_iteration is not False:
        return _plot_costs(_costs(per_iteration, "per_iteration"), every, path, title, figsize,
                           dpi)
    hist = getattr(history, "history", history)
    if isinstance(hist, list | tuple | np.ndarray):
        return _plot_costs(_costs(hist, "history"), every, path, title, figsize, dpi)
    if not isinstance(hist, Mapping):
        raise TypeError(
            "history must be a dict of lists, an object with .history, or a list of costs; "
            f"got {type(history).__name__}"
        )
    panels = _epoch_series(hist)
    if not panels:
        if batch_losses:
            return _plot_costs(_costs(batch_losses, "batch_losses"), every, path, title,
                               figsize, dpi)
        raise ValueError("history has no series to plot (expected keys like 'loss')")
    return _plot_epochs(panels, path, title, figsize, dpi)


def _plot_costs(costs: np.ndarray, every: int, path: PathLike | None, title: str | None,
                figsize: tuple[float, float] | None, dpi: float) -> Figure:
    fig = new_figure(figsize or (6.0, 4.0), dpi)
    ax = fig.add_subplot()
    ax.plot(np.arange(costs.size), costs, color="tab:blue", marker="." if costs.size <= 50 else "")
    ax.set_xlabel(_iteration_label(int(every)))
    ax.set_ylabel("cost")
    ax.grid(True, alpha=0.3)
    return finish(fig, path, title)


def _plot_epochs(panels: dict[str, dict[str, np.ndarray]], path: PathLike | None,
                 title: str | None, figsize: tuple[float, float] | None, dpi: float) -> Figure:
    from matplotlib.ticker import MaxNLocator

    fig = new_figure(figsize or (5.0 * len(panels), 4.0), dpi)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    styles = {"train": ("train", "tab:blue", "-"), "val": ("validation", "tab:orange", "--")}
    for ax, (name, series) in zip(axes, panels.items(), strict=True):
        for kind, values in series.items():
            label, color, line = styles[kind]
            ax.plot(np.arange(1, values.size + 1), values, line, color=color, label=label,
                    marker="o" if values.size <= 30 else "", markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    return finish(fig, path, title)


# --------------------------------------------------------------------------- decision boundary


def _planar_X(X: Any) -> np.ndarray:
    X = to_numpy(X)
    if X.ndim == 2 and X.shape[1] == 2:
        pass
    elif X.ndim == 2 and X.shape[0] == 2:  # the course's (n_x, m) layout
        X = X.T
    else:
        raise ValueError(
            "plot_decision_boundary needs 2-D features: X of shape (m, 2) or the course's "
            f"(2, m), got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError("X has no examples")
    return X if np.issubdtype(X.dtype, np.floating) else X.astype(np.float64)


def _labels(y: Any, m: int) -> np.ndarray:
    return class_ids(y, m, "y must hold one label per example: expected {n}, got shape {shape}")


def _predicted_classes(out: Any, k: int) -> np.ndarray:
    """Turn ``predict_fn``'s output on ``k`` grid points into one class per point."""
    out = to_numpy(out)
    if out.ndim == 2 and out.shape[0] == k and out.shape[1] > 1:
        return out.argmax(axis=1)
    if out.ndim == 2 and out.shape[1] == k and out.shape[0] > 1:  # course's (classes, m)
        return out.argmax(axis=0)
    if out.size != k:
        raise ValueError(f"predict_fn returned shape {out.shape} for {k} grid points; expected "
                         f"({k},), ({k}, 1), (1, {k}) or ({k}, n_classes)")
    out = out.reshape(-1)
    if out.dtype == bool:
        return out.astype(np.int64)
    if np.issubdtype(out.dtype, np.floating) and not np.all(out == np.round(out)):
        if out.min() < 0 or out.max() > 1:
            raise ValueError("predict_fn returned non-integer values outside [0, 1]: return "
                             "labels or probabilities (apply a sigmoid to logits)")
        return (out > 0.5).astype(np.int64)
    return out


def plot_decision_boundary(
    predict_fn: Callable[[np.ndarray], Any],
    X: Any,
    y: Any,
    path: PathLike | None = None,
    title: str | None = None,
    resolution: int = 300,
    padding: float = 1.0,
    *,
    figsize: tuple[float, float] = (6.0, 5.0),
    dpi: float = 100,
) -> Figure:
    """The course's planar figure: predicted class over a grid, and the data points.

    Args:
        predict_fn: maps grid points of shape (k, 2) to labels (k,), probabilities of the
            positive class (k,)/(k, 1)/(1, k) (thresholded at 0.5) or class scores
            (k, n_classes) (argmax). For the course's ``predict(parameters, X)``, pass
            ``lambda x: predict(parameters, x.T)``.
        X: inputs, (m, 2) or the course's (2, m).
        y: labels, (m,), (m, 1), the course's (1, m), or one-hot (m, n_classes).
        path: where to save the PNG (directories are created), or None.
        title: axes title.
        resolution: grid points per axis.
        padding: margin around the data, in input units.
        figsize: figure size in inches.
        dpi: dots per inch of the figure and of the saved PNG.

    Shape:
        X: (m, 2) or (2, m); y: (m,) or (1, m); predict_fn: (k, 2) -> (k,) or (k, c).
    """
    X = _planar_X(X)
    y = _labels(y, X.shape[0])
    if isinstance(resolution, bool) or int(resolution) != resolution or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    hi = np.where(hi > lo, hi, lo + 1.0)  # a zero-width range still gets a grid
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], int(resolution), dtype=X.dtype),
                         np.linspace(lo[1], hi[1], int(resolution), dtype=X.dtype))
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
    Z = _predicted_classes(predict_fn(grid), grid.shape[0])
    if np.issubdtype(y.dtype, np.integer) and np.issubdtype(Z.dtype, np.floating):
        Z = Z.astype(y.dtype)  # integral float labels (1.0) read as the labels of y (1)
    classes = np.unique(np.concatenate([np.unique(y), np.unique(Z)]))
    Zi = np.searchsorted(classes, Z).reshape(xx.shape)
    yi = np.searchsorted(classes, y)

    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot()
    import matplotlib

    n = classes.size
    colors = matplotlib.colormaps["Spectral"](np.linspace(0.0, 1.0, n) if n > 1 else [0.0])
    ax.contourf(xx, yy, Zi, levels=np.arange(n + 1) - 0.5, colors=colors, alpha=0.45)
    size = 25 if X.shape[0] <= 1000 else 6
    for i, c in enumerate(classes):
        mask = yi == i
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], color=colors[i], edgecolors="k", linewidths=0.4,
                       s=size, label=str(c.item() if hasattr(c, "item") else c))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(title="label", loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return finish(fig, path)


# --------------------------------------------------------------------------- confusion matrix


def plot_confusion_matrix(
    cm: Any,
    class_names: Sequence[str] | None = None,
    path: PathLike | None = None,
    normalize: bool = False,
    title: str | None = None,
    *,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> Figure:
    """Heat map of a confusion matrix (rows: true label, columns: predicted label).

    Args:
        cm: counts, ``cm[i, j]`` = examples of class i predicted as class j (the layout of
            ``deepgrad.metrics.confusion_matrix`` and scikit-learn's).
        class_names: one name per class (default "0", "1", ...).
        path: where to save the PNG (directories are created), or None.
        normalize: show each row divided by its sum (recall per class); empty rows show 0.
        title: axes title.
        figsize: figure size in inches (default grows with the number of classes).
        dpi: dots per inch of the figure and of the saved PNG.

    Shape:
        cm: (n_classes, n_classes).
    """
    cm = to_numpy(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"confusion matrix must be square (n_classes, n_classes), got shape "
                         f"{cm.shape}")
    if not np.issubdtype(cm.dtype, np.number) or not np.all(np.isfinite(cm)) or (cm < 0).any():
        raise ValueError("confusion matrix must hold finite non-negative counts")
    n = cm.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"class_names has {len(names)} names for {n} classes")
    values = cm.astype(np.float64)
    if normalize:
        rows = values.sum(axis=1, keepdims=True)
        values = np.divide(values, rows, out=np.zeros_like(values), where=rows > 0)

    side = min(max(4.0, 0.6 * n + 2.0), 20.0)
    fig = new_figure(figsize or (side + 1.0, side), dpi)
    ax = fig.add_subplot()
    vmax = 1.0 if normalize else max(float(values.max()), 1.0)
    im = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(np.arange(n), labels=names, rotation=45 if n > 5 else 0, ha="right"
                  if n > 5 else "center")
    ax.set_yticks(np.arange(n), labels=names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    if n <= 30:  # cell texts stay readable up to about 30 classes
        integral = not normalize and np.all(values == np.round(values))
        for (i, j), v in np.ndenumerate(values):
            text = f"{v:.2f}" if normalize else (f"{int(v)}" if integral else f"{v:.3g}")
            ax.text(j, i, text, ha="center", va="center", fontsize="small",
                    color="white" if v > vmax / 2 else "black")
    if title:
        ax.set_title(title)
    return finish(fig, path)

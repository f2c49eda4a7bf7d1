"""Image grids with true/predicted labels, and first-layer convolution filters.

matplotlib is imported only when a function runs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from deepgrad.backend import to_numpy
from deepgrad.viz._figure import class_ids, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PathLike = str | os.PathLike[str]


def _to_nhwc(images: Any) -> np.ndarray:
    """(N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3} -> (N, H, W) or (N, H, W, 3)."""
    x = to_numpy(images)
    if x.ndim == 4 and x.shape[1] in (1, 3):  # NCHW, the framework's layout, wins ties
        x = x.transpose(0, 2, 3, 1)
    elif not (x.ndim == 4 and x.shape[-1] in (1, 3)) and x.ndim != 3:
        raise ValueError(
            "images must have shape (N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3}, "
            f"got shape {x.shape}"
        )
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.shape[0] == 0:
        raise ValueError("no images to plot")
    return x


def _display_range(x: np.ndarray) -> np.ndarray:
    """Map pixels to [0, 1]: uint8 / 255, floats in [0, 1] as they are, [0, 255] / 255,
    anything else (standardized data) min-max per image."""
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    x = x.astype(np.float64)
    lo, hi = np.nanmin(x), np.nanmax(x)
    if lo >= 0.0 and hi <= 1.0:
        return x
    if lo >= 0.0 and hi <= 255.0:
        return x / 255.0
    return _minmax_per_item(x)


def _minmax_per_item(x: np.ndarray) -> np.ndarray:
    """Scale each item along axis 0 to [0, 1]; a constant item becomes 0.5."""
    axes = tuple(range(1, x.ndim))
    lo = x.min(axis=axes, keepdims=True)
    span = x.max(axis=axes, keepdims=True) - lo
    return np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 0.5)


def _class_ids(values: Any, n: int, what: str) -> np.ndarray | None:
    if values is None:
        return None
    return class_ids(values, n, what + " must hold one entry per image: expected {n}, got {size}")


def _name(c: Any, class_names: Sequence[str] | None) -> str:
    if class_names is not None and np.issubdtype(np.asarray(c).dtype, np.integer):
        if 0 <= int(c) < len(class_names):
            return str(class_names[int(c)])
    return str(c.item() if hasattr(c, "item") else c)


def plot_image_grid(
    images: Any,
    labels: Any = None,
    predictions: Any = None,
    class_names: Sequence[str] | None = None,
    path: PathLike | None = None,
    ncols: int = 8,
    max_images: int = 32,
    *,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> Figure:
    """A grid of images titled "true / pred"; wrong predictions are titled in red.

    Pixels are shown as they are when uint8 or in [0, 1] (or [0, 255]), otherwise each
    image is min-max scaled (standardized inputs still look right).

    Args:
        images: the images (see Shape); NCHW is assumed when both axis 1 and the last
            axis could be channels.
        labels: true class per image (ids, or one-hot rows), or None.
        predictions: predicted class per image (ids, or probability rows), or None.
        class_names: names indexed by class id, or None to show the ids.
        path: where to save the PNG (directories are created), or None.
        ncols: images per row.
        max_images: show at most this many (the first ones).
        title: figure title.
        figsize: figure size in inches (default 1.6 x 1.8 per image).
        dpi: dots per inch of the figure and of the saved PNG.

    Shape:
        images: (N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3};
        labels, predictions: (N,) or (N, n_classes).
    """
    if ncols < 1 or max_images < 1:
        raise ValueError(f"ncols and max_images must be >= 1, got {ncols} and {max_images}")
    x = _to_nhwc(images)
    n_all = x.shape[0]
    true = _class_ids(labels, n_all, "labels")
    pred = _class_ids(predictions, n_all, "predictions")
    n = min(n_all, int(max_images))
    x = _display_range(x[:n])
    cols = min(int(ncols), n)
    rows = math.ceil(n / cols)
    fig = new_figure(figsize or (1.6 * cols, 1.8 * rows + (0.4 if title else 0.0)), dpi)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(x[i], cmap="gray" if x.ndim == 3 else None, vmin=0.0, vmax=1.0,
                  interpolation="nearest")
        parts = [_name(v[i], class_names) for v in (true, pred) if v is not None]
        if parts:
            wrong = true is not None and pred is not None and true[i] != pred[i]
            ax.set_title(" / ".join(parts), fontsize="small", color="red" if wrong else "black")
    return finish(fig, path, title)


def _filter_mosaic(tiles: np.ndarray, cols: int, gap: int = 1) -> np.ndarray:
    """Lay (n, kh, kw, C) tiles in rows of ``cols`` with a white ``gap``-pixel border."""
    n, kh, kw, c = tiles.shape
    rows = math.ceil(n / cols)
    canvas = np.ones((rows * cols, kh + gap, kw + gap, c))
    canvas[:n, :kh, :kw] = tiles
    canvas = canvas.reshape(rows, cols, kh + gap, kw + gap, c).transpose(0, 2, 1, 3, 4)
    canvas = canvas.reshape(rows * (kh + gap), cols * (kw + gap), c)
    return np.pad(canvas, ((gap, 0), (gap, 0), (0, 0)), constant_values=1.0)


def plot_conv_filters(
    weight: Any,
    path: PathLike | None = None,
    max_filters: int = 64,
    *,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> Figure:
    """First-layer convolution filters as small images, each scaled to [0, 1].

    Filters are shown in RGB when the layer has 3 input channels, otherwise the first
    input channel in grayscale.

    Args:
        weight: the conv weight (a Parameter, tensor or array) in PyTorch layout.
        path: where to save the PNG (directories are created), or None.
        max_filters: show at most this many (the first ones).
        title: figure title (default "first-layer filters (shown of out)").
        figsize: figure size in inches (default 6 x 6).
        dpi: dots per inch of the figure and of the saved PNG.

    Shape:
        weight: (out_channels, in_channels, kh, kw).
    """
    w = to_numpy(weight)
    if w.ndim != 4 or 0 in w.shape:
        raise ValueError(f"conv weight must have shape (out, in, kh, kw), got shape {w.shape}")
    if max_filters < 1:
        raise ValueError(f"max_filters must be >= 1, got {max_filters}")
    out = w.shape[0]
    n = min(out, int(max_filters))
    w = w[:n].astype(np.float64)
    tiles = w.transpose(0, 2, 3, 1) if w.shape[1] == 3 else w[:, :1].transpose(0, 2, 3, 1)
    tiles = _minmax_per_item(tiles)
    mosaic = _filter_mosaic(tiles, math.ceil(math.sqrt(n)))
    fig = new_figure(figsize or (6.0, 6.0), dpi)
    ax = fig.add_subplot()
    if mosaic.shape[-1] == 1:
        ax.imshow(mosaic[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(mosaic, interpolation="nearest")
    ax.set_axis_off()
    return finish(fig, path, title or f"first-layer filters ({n} of {out})")

"""Image augmentation for training, vectorized over the batch (NCHW, NHWC or (N, H, W)).

Each transform draws its randomness from its own ``numpy.random.Generator`` (``seed``)
and returns a new array with the input's shape and dtype; give one to a
``DataLoader(transform=...)`` and it is applied to the first array of every batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..backend import get_array_module
from ._rng import as_generator

__all__ = ["Transform", "Compose", "RandomHorizontalFlip", "RandomCrop", "RandomRotation"]

_FORMATS = ("NCHW", "NHWC")


class Transform:
    """Base class: ``__call__(x)`` maps a batch of images to a new batch of the same layout.

    Args:
        data_format: "NCHW" (default) or "NHWC"; a 3-d batch is always (N, H, W).
        seed: None, an int or a Generator.
    """

    def __init__(self, data_format: str = "NCHW", seed: Any = None) -> None:
        if data_format not in _FORMATS:
            raise ValueError(f"data_format must be one of {_FORMATS}, got {data_format!r}")
        self.data_format = data_format
        self.rng = as_generator(seed)

    def _to_nhwc(self, x: Any) -> tuple[Any, Callable[[Any], Any]]:
        """View ``x`` as (N, H, W, C) and return a function that restores the layout."""
        if x.ndim == 3:
            return x[..., None], lambda y: y[..., 0]
        if x.ndim != 4:
            raise ValueError(
                f"{type(self).__name__} expects a batch of images of rank 3 (N, H, W) or 4 "
                f"({self.data_format}), got shape {tuple(x.shape)}"
            )
        if self.data_format == "NCHW":
            return x.transpose(0, 2, 3, 1), lambda y: y.transpose(0, 3, 1, 2)
        return x, lambda y: y

    def _rand(self, x: Any, values: np.ndarray) -> Any:
        """Random numbers drawn on the CPU, moved to ``x``'s device."""
        return get_array_module(x).asarray(values)

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Compose:
    """Apply transforms one after the other.

    Args:
        transforms: callables, each mapping a batch to a batch.
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose needs callables, got {type(t).__name__}")

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``.

    Shape:
        x: (N, C, H, W), (N, H, W, C) or (N, H, W) -> same.
    """

    def __init__(self, p: float = 0.5, data_format: str = "NCHW", seed: Any = None) -> None:
        super().__init__(data_format, seed)
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = float(p)

    def __call__(self, x: Any) -> Any:
        xh, back = self._to_nhwc(x)
        flip = self._rand(x, self.rng.random(len(x)) < self.p)
        out = get_array_module(x).where(flip[:, None, None, None], xh[:, :, ::-1], xh)
        return back(out)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop(Transform):
    """Pad the borders, then cut a random ``size`` window from each image.

    Args:
        size: output (h, w), or an int for a square.
        padding: pixels of ``fill`` added on every side before cropping.
        fill: value of the padding.

    Shape:
        x: (N, C, H, W), (N, H, W, C) or (N, H, W) -> same with (h, w) for (H, W).
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        padding: int = 0,
        fill: float = 0,
        data_format: str = "NCHW",
        seed: Any = None,
    ) -> None:
        super().__init__(data_format, seed)
        h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if h < 1 or w < 1:
            raise ValueError(f"size must be positive, got {size}")
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.size, self.padding, self.fill = (int(h), int(w)), int(padding), fill

    def __call__(self, x: Any) -> Any:
        xp = get_array_module(x)
        xh, back = self._to_nhwc(x)
        p, (h, w) = self.padding, self.size
        if p:
            xh = xp.pad(xh, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=self.fill)
        n, H, W = xh.shape[:3]
        if h > H or w > W:
            raise ValueError(f"crop size {(h, w)} is larger than the padded image {(H, W)}")
        oy = self._rand(x, self.rng.integers(0, H - h + 1, n))
        ox = self._rand(x, self.rng.integers(0, W - w + 1, n))
        rows = (oy[:, None] + xp.arange(h))[:, :, None]  # (N, h, 1)
        cols = (ox[:, None] + xp.arange(w))[:, None, :]  # (N, 1, w)
        return back(xh[xp.arange(n)[:, None, None], rows, cols])  # one gather: (N, h, w, C)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomRotation(Transform):
    """Rotate each image by an angle drawn uniformly from ``[-degrees, degrees]``.

    Output pixels are mapped back into the source image (inverse mapping) about the
    image centre and sampled with nearest or bilinear interpolation; pixels that come
    from outside the image get ``fill``. Positive angles turn the image counter-clockwise.

    Args:
        degrees: largest rotation, in degrees (or a (low, high) range).
        interpolation: "nearest" or "bilinear".
        fill: value for pixels mapped from outside the image.

    Shape:
        x: (N, C, H, W), (N, H, W, C) or (N, H, W) -> same.
    """

    def __init__(
        self,
        degrees: float | tuple[float, float],
        interpolation: str = "nearest",
        fill: float = 0,
        data_format: str = "NCHW",
        seed: Any = None,
    ) -> None:
        super().__init__(data_format, seed)
        lo, hi = (-abs(degrees), abs(degrees)) if np.isscalar(degrees) else degrees
        if lo > hi:
            raise ValueError(f"degrees range must have low <= high, got {(lo, hi)}")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}"
            )
        self.degrees, self.interpolation, self.fill = (float(lo), float(hi)), interpolation, fill

    def __call__(self, x: Any) -> Any:
        xp = get_array_module(x)
        xh, back = self._to_nhwc(x)
        n, H, W = xh.shape[:3]
        theta = self._rand(x, np.deg2rad(self.rng.uniform(*self.degrees, n)))
        cos, sin = xp.cos(theta)[:, None, None], xp.sin(theta)[:, None, None]
        cy, cx = (H - 1) / 2.0, (W - 1) / 2.0
        yy = (xp.arange(H, dtype=np.float64) - cy)[None, :, None]
        xx = (xp.arange(W, dtype=np.float64) - cx)[None, None, :]
        # inverse map: source = R(-theta) @ target (y axis pointing down)
        src_x = cos * xx - sin * yy + cx
        src_y = sin * xx + cos * yy + cy
        nidx = xp.arange(n)[:, None, None]
        if self.interpolation == "nearest":
            out = self._sample(xh, nidx, xp.rint(src_y), xp.rint(src_x))
            return back(out)
        wdt = xh.dtype if xh.dtype.kind == "f" else np.dtype(np.float32)
        y0, x0 = xp.floor(src_y), xp.floor(src_x)
        fy, fx = (src_y - y0).astype(wdt)[..., None], (src_x - x0).astype(wdt)[..., None]
        one = wdt.type(1)
        out = (
            self._sample(xh, nidx, y0, x0, wdt) * ((one - fy) * (one - fx))
            + self._sample(xh, nidx, y0, x0 + 1, wdt) * ((one - fy) * fx)
            + self._sample(xh, nidx, y0 + 1, x0, wdt) * (fy * (one - fx))
            + self._sample(xh, nidx, y0 + 1, x0 + 1, wdt) * (fy * fx)
        )
        if xh.dtype.kind != "f":
            info = np.iinfo(xh.dtype) if xh.dtype.kind in "iu" else None
            out = xp.rint(out)
            if info is not None:
                out = xp.clip(out, info.min, info.max)
        return back(out.astype(xh.dtype))

    def _sample(self, xh: Any, nidx: Any, sy: Any, sx: Any, dtype: Any = None) -> Any:
        """Pixels at integer source coordinates, ``fill`` where they fall outside."""
        xp = get_array_module(xh)
        H, W = xh.shape[1:3]
        inside = ((sy >= 0) & (sy <= H - 1) & (sx >= 0) & (sx <= W - 1))[..., None]
        iy = xp.clip(sy, 0, H - 1).astype(np.int64)
        ix = xp.clip(sx, 0, W - 1).astype(np.int64)
        vals = xh[nidx, iy, ix]  # (N, H, W, C)
        if dtype is not None:
            vals = vals.astype(dtype)
        return xp.where(inside, vals, xp.asarray(self.fill, dtype=vals.dtype))

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation!r})"


"""Input preprocessing the command line fits on training data and stores in the model file,
so ``deepgrad predict`` applies exactly the same steps to new data.

Steps, in order: cast to float, divide by ``scale`` (255 for pixels), arrange the layout
(``flat``: one vector per example in row-major order; ``image``: NCHW, adding a channel
axis to (n, h, w) and moving the last axis of (n, h, w, c)), then standardize per feature
with statistics of the training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import Standardizer

__all__ = ["Preprocessor", "LAYOUTS"]

LAYOUTS = ("flat", "image", "none")


class Preprocessor:
    """Turns raw examples (as read from files) into model inputs.

    Args:
        scale: divide inputs by this (None: no scaling).
        layout: "flat", "image" or "none".
        standardize: fit a per-feature Standardizer on the training inputs.

    Shape:
        raw X: (n, *raw_shape) -> (n, *input_shape).
    """

    def __init__(self, scale: float | None = None, layout: str = "none",
                 standardize: bool = False) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.scale = scale
        self.layout = layout
        self.standardize = standardize
        self.standardizer: Standardizer | None = None
        self.raw_shape: tuple[int, ...] | None = None
        self.input_shape: tuple[int, ...] | None = None

    def _arrange(self, X: np.ndarray, dtype: Any) -> np.ndarray:
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise ValueError(f"inputs must be numeric, got dtype {X.dtype}")
        X = X.astype(dtype, copy=True)
        if self.scale is not None:
            X /= dtype.type(self.scale)
        if self.layout == "flat":
            X = X.reshape(len(X), -1)
        elif self.layout == "image":
            if X.ndim == 3:
                X = X[:, None]
            elif X.ndim == 4 and X.shape[-1] in (1, 3) and X.shape[1] not in (1, 3):
                X = np.ascontiguousarray(X.transpose(0, 3, 1, 2))
            elif X.ndim != 4:
                raise ValueError(f"layout 'image' needs images (n, h, w) or (n, h, w, c), got "
                                 f"shape {X.shape}")
        return X

    def fit_transform(self, X: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        """Fit on the training inputs (standardizer statistics) and transform them."""
        self.raw_shape = tuple(int(s) for s in np.shape(X)[1:])
        X = self._arrange(X, np.dtype(dtype))
        if self.standardize:
            self.standardizer = Standardizer()
            X = self.standardizer.fit_transform(X)
        self.input_shape = tuple(int(s) for s in X.shape[1:])
        return X

    def transform(self, X: np.ndarray, dtype: Any = np.float32, name: str = "data") -> np.ndarray:
        """Apply the fitted steps; raises ValueError when ``X``'s examples have the wrong shape."""
        shape = tuple(int(s) for s in np.shape(X)[1:])
        if self.raw_shape is not None and shape != self.raw_shape:
            raise ValueError(f"{name}: examples have shape {shape} but the model expects "
                             f"{self.raw_shape} (the shape of its training examples)")
        X = self._arrange(X, np.dtype(dtype))
        if self.standardizer is not None:
            X = self.standardizer.transform(X).astype(dtype, copy=False)
        return X

    def get_config(self) -> dict[str, Any]:
        """Plain-JSON state, stored in the model file's metadata."""
        return {"scale": self.scale, "layout": self.layout, "standardize": self.standardize,
                "standardizer": None if self.standardizer is None
                else self.standardizer.get_config(),
                "raw_shape": None if self.raw_shape is None else list(self.raw_shape),
                "input_shape": None if self.input_shape is None else list(self.input_shape)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Preprocessor:
        """Rebuild from :meth:`get_config`'s output."""
        p = cls(config.get("scale"), config.get("layout", "none"),
                bool(config.get("standardize", False)))
        if config.get("standardizer"):
            p.standardizer = Standardizer.from_config(config["standardizer"])
        if config.get("raw_shape") is not None:
            p.raw_shape = tuple(config["raw_shape"])
        if config.get("input_shape") is not None:
            p.input_shape = tuple(config["input_shape"])
        return p

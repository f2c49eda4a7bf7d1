"""The ``augment:`` section of a config: random flips, crops and rotations of the training
images, drawn anew for every batch (validation and evaluation data are never augmented)::

    augment:
      horizontal_flip: true        # or a probability, e.g. 0.5 (true means 0.5)
      crop: 4                      # pad 4 pixels on each side, then cut a random window
                                   # of the original size (or {padding: 4})
      rotation: 10                 # degrees, drawn from [-10, 10]; or
                                   # {degrees: 10, interpolation: bilinear}

It needs image inputs (``data.preprocessing.layout: image``, i.e. (C, H, W) examples).
The transforms run on the preprocessed images, so padding and rotation fill with 0:
black pixels, or the mean where the data is standardized.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import Compose, RandomCrop, RandomHorizontalFlip, RandomRotation
from .errors import ConfigError
from .schema import as_choice, as_float, as_int, as_mapping, check_keys

__all__ = ["validate_augment", "make_augment", "AUGMENT_KEYS"]

AUGMENT_KEYS = ("horizontal_flip", "crop", "rotation")


def _flip(v: Any, path: str) -> float | None:
    if v is True:
        return 0.5
    if v is False or v is None:
        return None
    return as_float(v, path, 0.0, 1.0, what="true, false or a probability in [0, 1]")


def _crop(v: Any, path: str) -> dict[str, Any] | None:
    if v is None or v is False:
        return None
    if not isinstance(v, dict):
        v = {"padding": v}
    check_keys(v, path, ("padding",), ("padding",))
    return {"padding": as_int(v["padding"], f"{path}.padding", 1)}


def _rotation(v: Any, path: str) -> dict[str, Any] | None:
    if v is None or v is False:
        return None
    if not isinstance(v, dict):
        v = {"degrees": v}
    check_keys(v, path, ("degrees", "interpolation"), ("degrees",))
    return {"degrees": as_float(v["degrees"], f"{path}.degrees", 0.0, 180.0, low_open=True),
            "interpolation": as_choice(v.get("interpolation", "nearest"),
                                       f"{path}.interpolation", ("nearest", "bilinear"),
                                       "interpolation")}


def validate_augment(v: Any) -> dict[str, Any] | None:
    """Check the ``augment:`` section; None when absent or empty."""
    if v is None:
        return None
    v = as_mapping(v, "augment")
    check_keys(v, "augment", AUGMENT_KEYS)
    out = {"horizontal_flip": _flip(v.get("horizontal_flip"), "augment.horizontal_flip"),
           "crop": _crop(v.get("crop"), "augment.crop"),
           "rotation": _rotation(v.get("rotation"), "augment.rotation")}
    out = {k: x for k, x in out.items() if x is not None}
    return out or None


def make_augment(aug: dict[str, Any], input_shape: tuple[int, ...] | None,
                 seed: int | None) -> Compose:
    """The transform for batches of ``input_shape`` images (flip, then crop, then rotate).

    Raises:
        ConfigError: the inputs are not images.
    """
    if input_shape is None or len(input_shape) != 3:
        raise ConfigError("augment", f"needs image inputs of shape (C, H, W), got examples "
                          f"of shape {input_shape}; set data.preprocessing.layout: image")
    seeds = ([None] * 3 if seed is None else
             [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3)])
    steps: list[Any] = []
    if "horizontal_flip" in aug:
        steps.append(RandomHorizontalFlip(aug["horizontal_flip"], seed=seeds[0]))
    if "crop" in aug:
        steps.append(RandomCrop(input_shape[1:], padding=aug["crop"]["padding"],
                                seed=seeds[1]))
    if "rotation" in aug:
        r = aug["rotation"]
        steps.append(RandomRotation(r["degrees"], interpolation=r["interpolation"],
                                    seed=seeds[2]))
    return Compose(steps)

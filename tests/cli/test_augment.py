"""``augment:`` in a config: random flips, crops and rotations of the training images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepgrad.cli.augment import make_augment, validate_augment
from deepgrad.cli.errors import ConfigError

from .conftest import assert_user_error, run_cli

CONFIG = """\
name: aug
seed: 0
data: {source: npz, path: img.npz, validation: 0.25,
       preprocessing: {scale: 255, layout: image}}
model: [{conv2d: {filters: 2, kernel_size: 3, activation: relu}}, flatten, {dense: 3}]
optimizer: {name: sgd, lr: 0.1}
epochs: 2
batch_size: 8
"""


def _images(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "img.npz", X=rng.integers(0, 256, (40, 8, 8)).astype(np.uint8),
             y=rng.integers(0, 3, 40))


def test_train_with_augmentation(tmp_path: Path) -> None:
    _images(tmp_path)
    cfg = tmp_path / "aug.yaml"
    cfg.write_text(CONFIG + "augment: {horizontal_flip: true, crop: 2, rotation: 10}\n")
    r = run_cli("train", str(cfg), "--out", str(tmp_path / "out"), "-q")
    assert r.returncode == 0, r.stderr
    saved = (tmp_path / "out" / "config.yaml").read_text()
    assert "augment:" in saved and "horizontal_flip: 0.5" in saved and "padding: 2" in saved
    assert len((tmp_path / "out" / "history.csv").read_text().splitlines()) == 3


def test_augmentation_needs_images(tmp_path: Path) -> None:
    _images(tmp_path)
    cfg = tmp_path / "flat.yaml"
    cfg.write_text(CONFIG.replace("layout: image", "layout: flat").replace(
        "[{conv2d: {filters: 2, kernel_size: 3, activation: relu}}, flatten, {dense: 3}]",
        "[{dense: 3}]") + "augment: {horizontal_flip: true}\n")
    assert_user_error(run_cli("train", str(cfg), "--out", str(tmp_path / "out")),
                      "augment:", "image inputs")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("section, where", [
    ({"flip": True}, "augment.flip"),
    ({"horizontal_flip": 2}, "augment.horizontal_flip"),
    ({"crop": 0}, "augment.crop.padding"),
    ({"crop": {"padding": 2, "size": 3}}, "augment.crop.size"),
    ({"rotation": 200}, "augment.rotation.degrees"),
    ({"rotation": {"degrees": 5, "interpolation": "cubic"}}, "augment.rotation.interpolation"),
    ([1, 2], "augment"),
])
def test_bad_sections_name_the_key(section: object, where: str) -> None:
    with pytest.raises(ConfigError) as e:
        validate_augment(section)
    assert e.value.path == where


def test_the_transform_changes_images_but_not_shape_or_dtype() -> None:
    aug = make_augment(validate_augment({"horizontal_flip": 1.0, "crop": 1, "rotation": 30}),
                       (1, 6, 6), seed=0)
    x = np.arange(2 * 36, dtype=np.float32).reshape(2, 1, 6, 6)
    out = aug(x)
    assert out.shape == x.shape and out.dtype == np.float32 and not np.array_equal(out, x)
    again = make_augment(validate_augment({"horizontal_flip": 1.0, "crop": 1,
                                           "rotation": 30}), (1, 6, 6), seed=0)
    np.testing.assert_array_equal(again(x), out)  # seeded: runs repeat
    flip = make_augment({"horizontal_flip": 1.0}, (1, 6, 6), seed=0)
    np.testing.assert_array_equal(flip(x), x[..., ::-1])
    assert validate_augment({}) is None and validate_augment({"crop": False}) is None

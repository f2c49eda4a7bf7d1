"""Image augmentation: shapes, dtypes, identities, and a few exact cases."""

from __future__ import annotations

import numpy as np
import pytest

from deepgrad.data import DataLoader
from deepgrad.data.transforms import Compose, RandomCrop, RandomHorizontalFlip, RandomRotation

SHAPES = [((5, 3, 8, 6), "NCHW"), ((5, 8, 6, 3), "NHWC"), ((5, 8, 6), "NCHW")]


def _imgs(shape, dtype=np.float32):
    x = np.random.default_rng(0).integers(0, 256, shape)
    return x.astype(dtype)


def _wh(x, fmt):
    """Move to (N, H, W, C) for comparisons."""
    if x.ndim == 3:
        return x[..., None]
    return x.transpose(0, 2, 3, 1) if fmt == "NCHW" else x


@pytest.mark.parametrize("shape,fmt", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_flip_twice_is_identity_and_flips_width(shape, fmt, dtype):
    x = _imgs(shape, dtype)
    t = RandomHorizontalFlip(p=1.0, data_format=fmt, seed=0)
    once = t(x)
    assert once.shape == x.shape and once.dtype == x.dtype
    np.testing.assert_array_equal(_wh(once, fmt), _wh(x, fmt)[:, :, ::-1])
    np.testing.assert_array_equal(t(once), x)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0, data_format=fmt)(x), x)


def test_flip_half_flips_some():
    x = _imgs((200, 1, 2, 3))
    out = RandomHorizontalFlip(p=0.5, seed=1)(x)
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    assert 60 < flipped.sum() < 140


@pytest.mark.parametrize("shape,fmt", SHAPES)
def test_crop_full_size_no_padding_is_identity(shape, fmt):
    x = _imgs(shape)
    hw = _wh(x, fmt).shape[1:3]
    np.testing.assert_array_equal(RandomCrop(hw, padding=0, data_format=fmt, seed=0)(x), x)


@pytest.mark.parametrize("shape,fmt", SHAPES)
def test_crop_with_padding_is_a_shifted_window(shape, fmt):
    x = _imgs(shape, np.uint8)
    h, w = _wh(x, fmt).shape[1:3]
    out = RandomCrop((h, w), padding=2, data_format=fmt, seed=3)(x)
    assert out.shape == x.shape and out.dtype == np.uint8
    padded = np.pad(_wh(x, fmt), ((0, 0), (2, 2), (2, 2), (0, 0)))
    o = _wh(out, fmt)
    for i in range(len(x)):  # test-side check: each output is some window of its padded image
        assert any(np.array_equal(o[i], padded[i, dy:dy + h, dx:dx + w])
                   for dy in range(5) for dx in range(5))


def test_crop_smaller_size_and_errors():
    x = _imgs((4, 2, 10, 10))
    assert RandomCrop(6, seed=0)(x).shape == (4, 2, 6, 6)
    with pytest.raises(ValueError, match="larger"):
        RandomCrop(12)(x)
    with pytest.raises(ValueError, match="rank"):
        RandomCrop(2)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="data_format"):
        RandomCrop(2, data_format="CHW")


@pytest.mark.parametrize("shape,fmt", SHAPES)
@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_rotation_by_zero_is_identity(shape, fmt, interp, dtype):
    x = _imgs(shape, dtype)
    out = RandomRotation(0, interpolation=interp, data_format=fmt, seed=0)(x)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_rotation_90_degrees_counter_clockwise(interp):
    x = np.arange(25, dtype=np.float64).reshape(1, 5, 5)
    out = RandomRotation((90, 90), interpolation=interp, seed=0)(x)
    np.testing.assert_allclose(out[0], np.rot90(x[0]), atol=1e-9)


def test_small_rotation_shapes_fill_and_range():
    x = np.full((6, 3, 16, 16), 100.0, dtype=np.float32)
    out = RandomRotation(15, interpolation="bilinear", fill=0, seed=0)(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 100.0 + 1e-4
    np.testing.assert_allclose(out[:, :, 8, 8], 100.0, rtol=1e-6)  # the centre stays
    with pytest.raises(ValueError, match="interpolation"):
        RandomRotation(5, interpolation="cubic")


def test_compose_in_loader_reproducible():
    X = _imgs((20, 1, 8, 8))

    def epoch():
        aug = Compose([RandomHorizontalFlip(seed=1), RandomCrop(8, padding=1, seed=2),
                       RandomRotation(10, seed=3)])
        loader = DataLoader((X, np.arange(20)), batch_size=6, shuffle=True, seed=0,
                            transform=aug)
        return [xb for xb, _ in loader]

    a, b = epoch(), epoch()
    assert [x.shape for x in a] == [(6, 1, 8, 8)] * 3 + [(2, 1, 8, 8)]
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)

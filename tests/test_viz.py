"""deepgrad.viz: every plot renders to a PNG of the expected size with the Agg canvas."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

from deepgrad.viz import (  # noqa: E402
    plot_confusion_matrix,
    plot_conv_filters,
    plot_decision_boundary,
    plot_image_grid,
    plot_learning_curve,
)


def png_size(path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a PNG file, after checking the signature."""
    data = open(path, "rb").read()
    assert len(data) > 100
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def assert_png(fig, path, size: tuple[float, float] | None = None, dpi: float = 100) -> None:
    assert isinstance(fig, Figure)
    w, h = fig.get_size_inches() if size is None else size
    assert png_size(path) == (round(w * dpi), round(h * dpi))
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temp


def flower(m: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The course's planar "flower": X (2, m), Y (1, m), two petal-shaped classes."""
    rng = np.random.default_rng(seed)
    n = m // 2
    j = np.repeat([0, 1], n)
    t = np.linspace(0, 3.12, n)[np.tile(np.arange(n), 2)] + 3.12 * j + rng.normal(0, 0.2, m)
    r = 4 * np.sin(4 * t) + rng.normal(0, 0.2, m)
    return np.stack([r * np.sin(t), r * np.cos(t)]), j[None, :]


def nearest_neighbor(X: np.ndarray, y: np.ndarray):
    """A 1-NN classifier on (m, 2) points, vectorized over the grid."""
    def predict(points: np.ndarray) -> np.ndarray:
        d = ((points[:, None, :] - X[None, :, :]) ** 2).sum(axis=-1)
        return y[d.argmin(axis=1)]
    return predict


# --------------------------------------------------------------------------- learning curve


def test_learning_curve_epochs_with_metrics(tmp_path):
    history = {"loss": [0.9, 0.6, 0.4], "val_loss": [1.0, 0.7, 0.6],
               "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.4, 0.6, 0.7], "lr": [0.1] * 3}
    path = tmp_path / "sub" / "dir" / "curve.png"  # directories are created
    fig = plot_learning_curve(history, path=path, title="run 1")
    assert_png(fig, path, (10.0, 4.0))  # two panels: loss and accuracy (lr is skipped)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]


def test_learning_curve_history_object_and_batch_losses(tmp_path):
    class History:
        history = {"loss": [1.0, 0.5]}
        batch_losses = list(np.linspace(1.0, 0.1, 40))

    fig = plot_learning_curve(History(), tmp_path / "a.png", figsize=(4, 3), dpi=50)
    assert_png(fig, tmp_path / "a.png", (4, 3), dpi=50)
    fig = plot_learning_curve(History(), per_iteration=True)
    assert fig.axes[0].get_xlabel() == "iteration"
    assert len(fig.axes[0].lines[0].get_ydata()) == 40


def test_learning_curve_course_costs_per_hundreds(tmp_path):
    costs = [np.array(0.69), np.array(0.5), np.array(0.3)]  # the course's squeezed costs
    fig = plot_learning_curve(per_iteration=costs, every=100, path=tmp_path / "c.png")
    assert fig.axes[0].get_xlabel() == "iterations (per hundreds)"
    assert fig.axes[0].get_ylabel() == "cost"
    assert_png(fig, tmp_path / "c.png", (6.0, 4.0))
    assert plot_learning_curve(costs, every=7).axes[0].get_xlabel() == "iterations (per 7)"


def test_learning_curve_bad_inputs():
    with pytest.raises(ValueError, match="no series"):
        plot_learning_curve({})
    with pytest.raises(ValueError, match="every"):
        plot_learning_curve([1.0], every=0)
    with pytest.raises(ValueError, match="empty"):
        plot_learning_curve(per_iteration=[])
    with pytest.raises(TypeError, match="history"):
        plot_learning_curve(3.0)


# --------------------------------------------------------------------------- decision boundary


def test_decision_boundary_flower_course_layout(tmp_path):
    X, Y = flower()  # (2, 400), (1, 400): the course's layout
    predict = nearest_neighbor(X.T, Y.ravel())
    path = tmp_path / "flower.png"
    fig = plot_decision_boundary(predict, X, Y, path=path, title="1-NN", resolution=120)
    assert_png(fig, path, (6.0, 5.0))
    ax = fig.axes[0]
    assert ax.get_title() == "1-NN"
    assert len(ax.collections) >= 3  # filled contour + one scatter per class
    xmin, xmax = ax.get_xlim()
    assert xmin == pytest.approx(X[0].min() - 1.0) and xmax == pytest.approx(X[0].max() + 1.0)


def test_decision_boundary_probabilities_and_scores(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(int)
    prob = lambda p: 1 / (1 + np.exp(-3 * p[:, :1]))  # noqa: E731 - (k, 1) probabilities
    fig = plot_decision_boundary(prob, X, y, resolution=20, dpi=40, path=tmp_path / "p.png")
    assert_png(fig, tmp_path / "p.png", (6.0, 5.0), dpi=40)
    scores = lambda p: np.stack([p[:, 0], p[:, 1], -p[:, 0]], axis=1)  # noqa: E731
    three = plot_decision_boundary(scores, X, rng.integers(0, 3, 50), resolution=20)
    assert isinstance(three, Figure)


def test_decision_boundary_grid_points_and_float_labels():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]], dtype=np.float32)
    seen = []

    def predict(points):
        seen.append(points)
        return (points[:, 0] > 1).astype(np.float32)  # labels as floats 0.0 / 1.0

    fig = plot_decision_boundary(predict, X, np.array([0, 0, 1]), resolution=7)
    assert seen[0].shape == (49, 2) and seen[0].dtype == np.float32
    assert fig.axes[0].get_legend_handles_labels()[1] == ["0", "1"]


def test_decision_boundary_bad_inputs():
    predict = lambda p: np.zeros(len(p))  # noqa: E731
    with pytest.raises(ValueError, match=r"2-D features.*\(3, 10\)"):
        plot_decision_boundary(predict, np.zeros((3, 10)), np.zeros(10))
    with pytest.raises(ValueError, match="2-D features"):
        plot_decision_boundary(predict, np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError, match="one label per example"):
        plot_decision_boundary(predict, np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="predict_fn returned shape"):
        plot_decision_boundary(lambda p: np.zeros(3), np.zeros((10, 2)), np.zeros(10),
                               resolution=5)
    with pytest.raises(ValueError, match="sigmoid"):
        plot_decision_boundary(lambda p: p[:, 0] * 3.3, np.ones((10, 2)), np.zeros(10),
                               resolution=5)


# --------------------------------------------------------------------------- confusion matrix


def test_confusion_matrix_counts_and_normalized(tmp_path):
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 0]])
    fig = plot_confusion_matrix(cm, ["cat", "dog", "bird"], tmp_path / "cm.png", title="cm")
    assert_png(fig, tmp_path / "cm.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:3] == ["5", "1", "0"] and len(texts) == 9
    fig = plot_confusion_matrix(cm, normalize=True, path=tmp_path / "n.png", figsize=(4, 3))
    assert_png(fig, tmp_path / "n.png", (4, 3))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:3] == ["0.83", "0.17", "0.00"] and texts[-1] == "0.00"  # empty row -> 0


def test_confusion_matrix_bad_inputs():
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        plot_confusion_matrix(np.array([[1, -1], [0, 1]]))
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion_matrix(np.eye(2), class_names=["a"])


# --------------------------------------------------------------------------- images and filters


@pytest.mark.parametrize("shape", [(10, 8, 8), (10, 8, 8, 3), (10, 3, 8, 8), (10, 1, 8, 8)])
def test_image_grid_layouts(tmp_path, shape):
    rng = np.random.default_rng(0)
    images = rng.normal(size=shape)  # standardized pixels: min-max scaled per image
    labels = np.arange(10) % 3
    preds = np.array([0, 1, 2, 0, 0, 2, 0, 1, 1, 0])
    fig = plot_image_grid(images, labels, preds, ["a", "b", "c"], tmp_path / "g.png", ncols=4,
                          max_images=6)
    assert_png(fig, tmp_path / "g.png", (1.6 * 4, 1.8 * 2))
    titles = [ax.title for ax in fig.axes if ax.get_title()]
    assert [t.get_text() for t in titles][:5] == ["a / a", "b / b", "c / c", "a / a", "b / a"]
    assert titles[4].get_color() == "red" and titles[0].get_color() == "black"
    assert len(titles) == 6


def test_image_grid_uint8_no_labels_and_bad_shape(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(3, 5, 5, 3), dtype=np.uint8)
    fig = plot_image_grid(images, path=tmp_path / "u.png")
    assert_png(fig, tmp_path / "u.png", (1.6 * 3, 1.8))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        plot_image_grid(np.zeros((2, 5, 5, 4)))
    with pytest.raises(ValueError, match="one entry per image"):
        plot_image_grid(np.zeros((2, 5, 5)), labels=[1, 2, 3])


@pytest.mark.parametrize("in_channels", [3, 1, 4])
def test_conv_filters(tmp_path, in_channels):
    weight = np.random.default_rng(0).normal(size=(20, in_channels, 5, 5)).astype(np.float32)
    fig = plot_conv_filters(weight, tmp_path / "f.png", max_filters=16)
    assert_png(fig, tmp_path / "f.png", (6.0, 6.0))
    image = fig.axes[0].images[0].get_array()
    assert image.shape[:2] == (4 * 6 + 1, 4 * 6 + 1)  # 4x4 tiles of 5x5 with 1-px borders
    assert (image.ndim == 3) == (in_channels == 3)
    assert fig.texts[0].get_text() == "first-layer filters (16 of 20)"
    assert 0.0 <= image.min() and image.max() <= 1.0


def test_conv_filters_bad_shape():
    with pytest.raises(ValueError, match=r"\(out, in, kh, kw\)"):
        plot_conv_filters(np.zeros((8, 5, 5)))


# --------------------------------------------------------------------------- import and saving


def test_overwrite_is_atomic_and_keeps_one_file(tmp_path):
    path = tmp_path / "curve.png"
    plot_learning_curve([1.0, 0.5], path=path, dpi=30)
    plot_learning_curve([1.0, 0.5], path=path, dpi=60)
    assert png_size(path) == (360, 240)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png"]


def _run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": ""}
    env.pop("MPLBACKEND")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=60)


def test_import_is_lazy_and_nothing_global_changes():
    r = _run("""
        import sys
        import deepgrad.viz
        assert "matplotlib" not in sys.modules, "import deepgrad.viz imported matplotlib"
        deepgrad.viz.plot_learning_curve([1.0, 0.5])
        assert "matplotlib.pyplot" not in sys.modules, "a plot imported pyplot"
    """)
    assert r.returncode == 0, r.stderr


def test_missing_matplotlib_gives_clear_error():
    r = _run("""
        import sys
        sys.modules["matplotlib"] = None  # as if it were not installed
        import deepgrad.viz
        try:
            deepgrad.viz.plot_confusion_matrix([[1]])
        except ImportError as e:
            print(e)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "plotting needs matplotlib: pip install 'deepgrad[plot]'"

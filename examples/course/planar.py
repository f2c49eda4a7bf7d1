"""The course's planar "flower" data: logistic regression, then a one-hidden-layer network.

Run from anywhere:  python examples/course/planar.py [--out DIR] [--iterations N]

Prints logistic regression's accuracy (the course: 47 %), trains the tanh network with
n_h = 4 (10,000 iterations, learning rate 1.2; the course: 90 %), then sweeps the hidden
size over 1, 2, 3, 4, 5, 20, 50 (5,000 iterations each, as the course's sweep does).
Decision-boundary figures are written to --out (default ./course_figures) when matplotlib
is installed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from deepgrad.course import logistic_regression, shallow_nn
from deepgrad.course.datasets import load_planar_dataset

HIDDEN_SIZES = (1, 2, 3, 4, 5, 20, 50)


def accuracy(predictions: np.ndarray, Y: np.ndarray) -> float:
    """Percentage of examples whose prediction equals the label."""
    return float(np.mean(predictions == Y) * 100)


def get_pyplot():
    """matplotlib.pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_decision_boundary(ax, predict, X: np.ndarray, Y: np.ndarray, title: str) -> None:
    """The course's plot: predicted class over a 0.01 grid, the data on top."""
    x_min, x_max = X[0, :].min() - 1, X[0, :].max() + 1
    y_min, y_max = X[1, :].min() - 1, X[1, :].max() + 1
    xx, yy = np.meshgrid(np.arange(x_min, x_max, 0.01), np.arange(y_min, y_max, 0.01))
    Z = predict(np.c_[xx.ravel(), yy.ravel()].T).reshape(xx.shape)
    ax.contourf(xx, yy, Z, cmap="Spectral")
    ax.scatter(X[0, :], X[1, :], c=Y.ravel(), s=10, cmap="Spectral", edgecolors="k",
               linewidths=0.3)
    ax.set_title(title)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("course_figures"),
                        help="directory for the figures (default: ./course_figures)")
    parser.add_argument("--iterations", type=int, default=10000,
                        help="iterations of the n_h = 4 network (default 10000)")
    parser.add_argument("--sweep-iterations", type=int, default=5000,
                        help="iterations per hidden size in the sweep (default 5000)")
    args = parser.parse_args(argv)

    X, Y = load_planar_dataset()
    print(f"Planar data: X {X.shape}, Y {Y.shape}, {int(Y.sum())} of class 1")
    plt = get_pyplot()
    if plt is None:
        print("matplotlib is not installed: no figures")
    else:
        args.out.mkdir(parents=True, exist_ok=True)

    # 1. logistic regression (one neuron), trained and evaluated on the 400 points
    d = logistic_regression.model(X, Y, X, Y, num_iterations=2000, learning_rate=0.5)
    lr_accuracy = accuracy(d["Y_prediction_train"], Y)
    print(f"Accuracy of logistic regression: {lr_accuracy:g} % "
          "(percentage of correctly labelled datapoints)")

    # 2. one hidden layer, n_h = 4, tanh
    start = time.perf_counter()
    parameters = shallow_nn.nn_model(X, Y, n_h=4, num_iterations=args.iterations,
                                     print_cost=True)
    nn_accuracy = accuracy(shallow_nn.predict(parameters, X), Y)
    print(f"Accuracy of the n_h = 4 network: {nn_accuracy:g} % "
          f"({time.perf_counter() - start:.1f} s)")

    # 3. hidden-size sweep
    sweep = {}
    for n_h in HIDDEN_SIZES:
        sweep[n_h] = shallow_nn.nn_model(X, Y, n_h, num_iterations=args.sweep_iterations)
        print(f"Accuracy for {n_h} hidden units: "
              f"{accuracy(shallow_nn.predict(sweep[n_h], X), Y):g} %")

    if plt is not None:
        save_figures(plt, args.out, X, Y, d, parameters, sweep)
    return 0


def save_figures(plt, out: Path, X, Y, d, parameters, sweep) -> None:
    """The decision boundaries: logistic regression, n_h = 4, and the sweep."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    plot_decision_boundary(axes[0], lambda x: logistic_regression.predict(d["w"], d["b"], x),
                           X, Y, "Logistic regression")
    plot_decision_boundary(axes[1], lambda x: shallow_nn.predict(parameters, x), X, Y,
                           "Hidden layer of size 4")
    fig.tight_layout()
    fig.savefig(out / "planar_boundaries.png", dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(2, 4, figsize=(16, 8))
    for ax, (n_h, p) in zip(axes.ravel(), sweep.items(), strict=False):
        plot_decision_boundary(ax, lambda x, p=p: shallow_nn.predict(p, x), X, Y,
                               f"Hidden layer of size {n_h}")
    axes.ravel()[-1].axis("off")
    fig.tight_layout()
    fig.savefig(out / "planar_hidden_sizes.png", dpi=80)
    plt.close(fig)
    print(f"Figures written to {out}/planar_boundaries.png and {out}/planar_hidden_sizes.png")


if __name__ == "__main__":
    raise SystemExit(main())

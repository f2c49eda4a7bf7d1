"""The course's planar "flower" data: logistic regression, then a one-hidden-layer tanh
network, both with the Keras-style API and full-batch gradient descent.

Logistic regression can only draw a straight line (about 47 % accuracy); four tanh hidden
units learn the petals (about 90 %). Offline; a few seconds.

Run:  python examples/planar_flower.py [--plot DIR]
"""

from __future__ import annotations

import argparse

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import make_planar


def train(model: nn.Module, X: np.ndarray, y: np.ndarray, iterations: int, lr: float) -> float:
    model.compile(optimizer={"name": "sgd", "lr": lr}, loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, y, epochs=iterations, batch_size=None, verbose=0)
    for i in range(0, iterations, max(iterations // 5, 1)):
        print(f"  cost after iteration {i}: {history.batch_losses[i]:.6f}")
    return 100 * history.history["accuracy"][-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plot", default=None, help="directory for decision-boundary figures")
    args = p.parse_args()
    X, y = make_planar()  # X (400, 2), y (400,): the course's data, batch first
    print(f"planar data: X {X.shape}, y {y.shape}, {int(y.sum())} positive")

    dg.manual_seed(0)
    logreg = nn.Sequential(nn.Linear(2, 1, init="zeros"), nn.Sigmoid())
    print("logistic regression (a single sigmoid unit):")
    acc_lr = train(logreg, X, y, iterations=2000, lr=0.5)
    print(f"  training accuracy: {acc_lr:.1f} %")

    dg.manual_seed(2)
    net = nn.Sequential(nn.Linear(2, 4, init="small_random"), nn.Tanh(),
                        nn.Linear(4, 1, init="small_random"), nn.Sigmoid())
    print("one hidden layer, 4 tanh units (the course's n_h = 4, learning rate 1.2):")
    acc_nn = train(net, X, y, iterations=10000, lr=1.2)
    print(f"  training accuracy: {acc_nn:.1f} %")

    if args.plot:
        from deepgrad.viz import plot_decision_boundary

        for name, m in (("logistic_regression", logreg), ("tanh_4", net)):
            path = f"{args.plot}/{name}.png"
            plot_decision_boundary(lambda g, m=m: m.predict(g), X, y, path=path, title=name)
            print(f"  wrote {path}")


if __name__ == "__main__":
    main()

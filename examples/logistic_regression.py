"""Logistic regression trained with deepgrad's autograd engine, offline, in a few seconds.

The course's first model: a single sigmoid neuron, the cross-entropy cost
J = -(1/m) sum(y log a + (1 - y) log(1 - a)), and gradient descent w := w - lr * dJ/dw.
The data are two Gaussian clouds generated here (no download).

Run:  python examples/logistic_regression.py [--iterations 1000] [--lr 0.5] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

import deepgrad as dg


def make_data(m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two 2-D Gaussian clouds, labels 0/1, batch-first: X (m, 2), y (m, 1)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=(m, 1))
    centers = np.where(y == 1, 1.5, -1.5) * np.array([[1.0, 0.6]])
    X = centers + rng.standard_normal((m, 2))
    return X.astype(np.float32), y.astype(np.float32)


def bce_with_logits(z: dg.Tensor, y: np.ndarray) -> dg.Tensor:
    """Mean cross-entropy on logits, stable: max(z, 0) - z y + log(1 + exp(-|z|))."""
    return dg.mean(dg.relu(z) - z * y + dg.log1p(dg.exp(-dg.abs(z))))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=1000)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    X_train, y_train = make_data(800, args.seed)
    X_test, y_test = make_data(200, args.seed + 1)
    w = dg.tensor(np.zeros((2, 1), np.float32), requires_grad=True)  # the course's zeros init
    b = dg.tensor(np.zeros((1,), np.float32), requires_grad=True)

    for i in range(args.iterations + 1):
        cost = bce_with_logits(dg.tensor(X_train) @ w + b, y_train)
        cost.backward()
        with dg.no_grad():
            w.data -= args.lr * w.grad
            b.data -= args.lr * b.grad
        w.zero_grad()
        b.zero_grad()
        if i % 100 == 0:
            print(f"Cost after iteration {i}: {cost.item():.6f}")

    with dg.no_grad():
        def accuracy(X: np.ndarray, y: np.ndarray) -> float:
            p_hat = dg.sigmoid(dg.tensor(X) @ w + b).numpy()
            return float(np.mean((p_hat > 0.5) == (y == 1)) * 100)

        print(f"train accuracy: {accuracy(X_train, y_train):.1f} %")
        print(f"test accuracy:  {accuracy(X_test, y_test):.1f} %")
    print(f"w = {w.numpy().ravel()}, b = {b.numpy().ravel()}")


if __name__ == "__main__":
    main()

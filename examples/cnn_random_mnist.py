"""A small CNN trained on random MNIST-shaped data: the loss must fall within 20 steps.

Conv2d(1, 8, 3, padding=1) -> ReLU -> MaxPool2d(2) -> Conv2d(8, 16, 3, padding=1) -> ReLU
-> MaxPool2d(2) -> Flatten -> Linear(784, 10), softmax cross-entropy, Adam (or plain SGD
when deepgrad.optim is not available). The 512 images are Gaussian noise with fixed random
labels, so the network can only memorize them: the falling loss shows that every layer's
gradient flows. Runs in a few seconds on a laptop CPU, offline.

Run:  python examples/cnn_random_mnist.py [--steps 20] [--batch 128] [--lr 2e-3] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import deepgrad as dg
from deepgrad import nn


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random 1x28x28 float32 images and n fixed random labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=n)
    return X, y


def make_model(seed: int) -> nn.Module:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 10, rng=rng),
    )


def make_step(model: nn.Module, lr: float):
    """One update of every parameter: Adam from deepgrad.optim, else plain SGD."""
    params = list(model.parameters())
    try:
        from deepgrad.optim import Adam
    except ImportError:  # optim not there: p := p - lr * dL/dp

        def step() -> None:
            for p in params:
                p.data -= np.asarray(lr, dtype=p.dtype) * p.grad
                p.grad = None

        return step, "SGD (hand-written)"
    opt = Adam(params, lr=lr)

    def step() -> None:
        opt.step()
        opt.zero_grad()

    return step, "Adam"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    from deepgrad.losses import cross_entropy

    X, y = make_data(512, args.seed)
    model = make_model(args.seed)
    step, name = make_step(model, args.lr)
    print(model)
    print(f"optimizer: {name}, lr {args.lr}, batch {args.batch}, {args.steps} steps")
    order = np.random.default_rng(args.seed + 1)

    def full_loss() -> float:
        with dg.no_grad():
            return cross_entropy(model(dg.Tensor(X)), y).item()

    before = full_loss()
    print(f"loss on all 512 images before training: {before:.4f}")
    t0 = time.perf_counter()
    for k in range(args.steps):
        idx = order.choice(len(X), size=args.batch, replace=False)
        loss = cross_entropy(model(dg.Tensor(X[idx])), y[idx])
        loss.backward()
        step()
        if k % 5 == 0 or k == args.steps - 1:
            print(f"step {k:3d}  batch loss {loss.item():.4f}")
    seconds = time.perf_counter() - t0
    after = full_loss()
    print(f"loss on all 512 images after {args.steps} steps: {after:.4f} ({seconds:.2f} s)")
    if not after < before:
        raise SystemExit("the loss did not fall")


if __name__ == "__main__":
    main()

"""An MLP on MNIST with the Keras-style API: 784-256-128-10, ReLU, Adam, 5 epochs.

Needs the MNIST files: pass --data DIR (holding train-images-idx3-ubyte.gz, ...), or set
DEEPGRAD_DATA to a data root with an mnist/ folder. Reaches about 98 % test accuracy.

Run:  DEEPGRAD_DATA=../shared/data python examples/mnist_mlp.py [--epochs 5]
"""

from __future__ import annotations

import argparse
import sys
import time

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import flatten_images, load_mnist, scale_pixels


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="directory with the MNIST IDX files")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    try:
        X_train, y_train = load_mnist(args.data, kind="train")
        X_test, y_test = load_mnist(args.data, kind="test")
    except (FileNotFoundError, OSError) as e:
        print(f"MNIST files not found, skipping: {e}")
        return 0
    X_train = flatten_images(scale_pixels(X_train))  # (60000, 784) float32 in [0, 1]
    X_test = flatten_images(scale_pixels(X_test))

    dg.manual_seed(args.seed)
    model = nn.Sequential(
        nn.Linear(784, 256, init="he_uniform"), nn.ReLU(),
        nn.Linear(256, 128, init="he_uniform"), nn.ReLU(),
        nn.Linear(128, 10, init="xavier_uniform"),
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.summary((784,))
    t0 = time.perf_counter()
    model.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              validation_data=(X_test, y_test), seed=args.seed)
    dt = time.perf_counter() - t0
    result = model.evaluate(X_test, y_test)
    print(f"test loss {result['loss']:.4f}, test accuracy {100 * result['accuracy']:.2f} % "
          f"({dt:.1f} s for {args.epochs} epochs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

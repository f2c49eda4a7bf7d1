"""The course's L-layer network on the cat vs non-cat images, with deepgrad's layers.

Architecture [12288, 20, 7, 5, 1] (ReLU hidden layers, sigmoid output), weights
randn / sqrt(n[l-1]) ("lecun_normal"), full-batch gradient descent, learning rate 0.0075,
2,500 iterations — the course's application notebook. The course reports about 98 %
train and 80 % test accuracy (this script: 100 % and 78 %, from another random draw of
the same initialization); deepgrad.course reproduces the exact figures, this script
shows the same model built from nn layers.

Needs train_catvnoncat.h5 / test_catvnoncat.h5 (and h5py): pass --data DIR or set
DEEPGRAD_DATA to a root with a catvnoncat/ folder. Without them it says so and exits.

Run:  DEEPGRAD_DATA=../shared/data python examples/cat_deep_network.py
"""

from __future__ import annotations

import argparse
import sys

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import flatten_images, load_catvnoncat


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="directory with the two .h5 files")
    p.add_argument("--iterations", type=int, default=2500)
    args = p.parse_args()
    try:
        X_train, y_train, X_test, y_test, classes = load_catvnoncat(args.data)
    except (FileNotFoundError, ImportError, OSError) as e:
        print(f"cat data not available, skipping: {e}")
        return 0
    X_train = flatten_images(X_train) / 255.0  # (209, 12288), float64 like the course
    X_test = flatten_images(X_test) / 255.0

    with dg.default_dtype("float64"):
        dg.manual_seed(1)
        sizes = [12288, 20, 7, 5]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(n_in, n_out, init="lecun_normal"), nn.ReLU()]
        model = nn.Sequential(*layers, nn.Linear(5, 1, init="lecun_normal"), nn.Sigmoid())
    model.compile(optimizer={"name": "sgd", "lr": 0.0075}, loss="binary_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(X_train, y_train, epochs=args.iterations, batch_size=None, verbose=0)
    for i in range(0, args.iterations, 500):
        print(f"Cost after iteration {i}: {h.batch_losses[i]:.6f}")
    print(f"train accuracy: {100 * model.evaluate(X_train, y_train)['accuracy']:.1f} %")
    print(f"test accuracy:  {100 * model.evaluate(X_test, y_test)['accuracy']:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Transfer learning, end to end: pretrain, export to ONNX, import, cut, freeze, fine-tune.

1. Pretrain a small CNN on MNIST digits 0-4 and export it as ONNX (the "pretrained
   network from elsewhere").
2. Import it with ``deepgrad.onnx.load``, cut it before its head
   (``Model(base.inputs, base.get_layer(name).output)``), freeze it, add a new head for
   digits 5-9, and train the head on a small labelled set (``--per-class`` examples each).
3. Unfreeze the top block and fine-tune everything with a lower learning rate.
4. Train the same network from scratch on the same small set, for comparison.

    DEEPGRAD_DATA=/path/to/data python examples/transfer_learning.py [--per-class 30]

Prints test accuracy on all digits 5-9 of the MNIST test set, and each phase's time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data.datasets.files import load_mnist


def cnn_body(inputs: dg.nn.symbolic.SymbolicTensor) -> dg.nn.symbolic.SymbolicTensor:
    h = nn.Conv2d(1, 16, 3, padding=1)(inputs)
    h = nn.MaxPool2d(2)(nn.ReLU()(nn.BatchNorm2d(16)(h)))
    h = nn.Conv2d(16, 32, 3, padding=1)(h)
    h = nn.MaxPool2d(2)(nn.ReLU()(nn.BatchNorm2d(32)(h)))
    return nn.Dense(64, activation="relu")(nn.Flatten()(h))


def new_cnn(classes: int) -> dg.Model:
    inputs = dg.Input((1, 28, 28))
    return dg.Model(inputs, nn.Dense(classes)(cnn_body(inputs)))


def digits(images: np.ndarray, labels: np.ndarray, lo: int, hi: int) -> tuple:
    keep = (labels >= lo) & (labels <= hi)
    x = (images[keep].astype(np.float32) / 255.0)[:, None]
    return x, (labels[keep] - lo).astype(np.int64)


def small_set(x: np.ndarray, y: np.ndarray, per_class: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                          for c in np.unique(y)])
    return x[idx], y[idx]


def accuracy(model: dg.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float((model.predict_classes(x, batch_size=500) == y).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=20, help="labelled examples per digit")
    ap.add_argument("--pretrain-examples", type=int, default=15000)
    ap.add_argument("--pretrain-epochs", type=int, default=2)
    ap.add_argument("--head-epochs", type=int, default=30)
    ap.add_argument("--finetune-epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    train_images, train_labels = load_mnist(kind="train")
    test_images, test_labels = load_mnist(kind="test")
    xa, ya = digits(train_images, train_labels, 0, 4)
    xb, yb = digits(train_images, train_labels, 5, 9)
    xb_test, yb_test = digits(test_images, test_labels, 5, 9)
    xs, ys = small_set(xb, yb, args.per_class, args.seed)
    print(f"task B: {len(xs)} labelled examples (digits 5-9), {len(xb_test)} test images")

    # 1. pretrain on digits 0-4, export to ONNX
    dg.manual_seed(args.seed)
    t = time.perf_counter()
    base = new_cnn(5)
    base.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    base.fit(xa[:args.pretrain_examples], ya[:args.pretrain_examples],
             epochs=args.pretrain_epochs, batch_size=64, verbose=0)
    t_pre = time.perf_counter() - t
    onnx_path = Path(tempfile.mkdtemp()) / "pretrained.onnx"
    dg.onnx.export(base, xa[:1], onnx_path)
    print(f"pretrained on digits 0-4 in {t_pre:.1f} s; exported to {onnx_path}")

    # 2. import, cut before the dense layers (keep the convolutional features), freeze,
    #    and put a new head on top
    imported = dg.onnx.load(onnx_path)
    cut = [n for n in imported.nodes if n.kind == "Flatten"][-1]
    features = dg.Model(imported.inputs, imported.get_layer(cut.layer.name).output)
    for layer in features.layers:
        layer.trainable = False
    head = nn.Dense(5)(nn.Dense(64, activation="relu")(features.outputs[0]))
    model = dg.Model(features.inputs, head)
    model.compile(optimizer=dg.optim.Adam(model.parameters(), lr=3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t = time.perf_counter()
    model.fit(xs, ys, epochs=args.head_epochs, batch_size=32, verbose=0)
    t_head = time.perf_counter() - t
    acc_head = accuracy(model, xb_test, yb_test)

    # 3. unfreeze the top convolutional block (its Conv2d and BatchNorm2d), fine-tune
    convs = [n for n in features.nodes if n.kind in ("Conv2d", "BatchNorm2d")]
    for node in convs[-2:]:
        node.layer.trainable = True
    model.compile(optimizer=dg.optim.Adam([p for p in model.parameters() if p.requires_grad],
                                          lr=3e-4),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t = time.perf_counter()
    model.fit(xs, ys, epochs=args.finetune_epochs, batch_size=32, verbose=0)
    t_fine = time.perf_counter() - t
    acc_fine = accuracy(model, xb_test, yb_test)

    # 4. the same network from scratch on the same small set
    dg.manual_seed(args.seed + 1)
    scratch = new_cnn(5)
    scratch.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])
    t = time.perf_counter()
    scratch.fit(xs, ys, epochs=args.head_epochs + args.finetune_epochs, batch_size=32,
                verbose=0)
    t_scratch = time.perf_counter() - t
    acc_scratch = accuracy(scratch, xb_test, yb_test)

    print(f"{'phase':<34}{'test accuracy':>14}{'time':>9}")
    print(f"{'frozen features + new head':<34}{acc_head:>14.3f}{t_head:>8.1f}s")
    print(f"{'+ fine-tune the top block':<34}{acc_fine:>14.3f}{t_fine:>8.1f}s")
    print(f"{'from scratch, same data/epochs':<34}{acc_scratch:>14.3f}{t_scratch:>8.1f}s")


if __name__ == "__main__":
    main()

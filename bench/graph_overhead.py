"""The cost of a graph model over the same network as a Sequential (issue 14's bar: a
training step costs no more than 5 % more) and the speed-up of fit with a frozen backbone.

    python -m bench.graph_overhead            # MNIST-sized MLP 784-256-128-10, batch 128
    python -m bench.graph_overhead --frozen   # also: fit with a frozen backbone vs not

Both models share one set of weights; steps are timed alternately (A, B, A, B, ...) so
that machine noise hits both alike, and the medians are compared. Synthetic data (the
step's cost does not depend on the values).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

import deepgrad as dg
from deepgrad import nn

BATCH = 128


def mlp_pair(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """(Sequential, graph Model) of 784-256-128-10 with the same Linear layers."""
    rng = np.random.default_rng(seed)
    layers = [nn.Linear(784, 256, init="he_uniform", rng=rng), nn.ReLU(),
              nn.Linear(256, 128, init="he_uniform", rng=rng), nn.ReLU(),
              nn.Linear(128, 10, init="he_uniform", rng=rng)]
    seq = nn.Sequential(*layers)
    x = dg.Input(784)
    h = x
    for layer in layers:
        h = layer(h)
    return seq, dg.Model(x, h)


def _step(model: nn.Module, opt: Any, xb: np.ndarray, yb: np.ndarray) -> None:
    loss = dg.losses.cross_entropy(model(dg.Tensor(xb)), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()


def overhead(reps: int = 300, warmup: int = 20) -> dict[str, float]:
    """Median seconds per training step of each, and the graph's overhead in percent."""
    rng = np.random.default_rng(0)
    xb = rng.normal(size=(BATCH, 784)).astype(np.float32)
    yb = rng.integers(0, 10, BATCH)
    seq, graph = mlp_pair()
    opts = {id(m): dg.optim.SGD(m.parameters(), lr=1e-3) for m in (seq, graph)}
    times: dict[str, list[float]] = {"sequential": [], "graph": []}
    for i in range(warmup + reps):
        for name, m in (("sequential", seq), ("graph", graph)) if i % 2 else (
                ("graph", graph), ("sequential", seq)):
            t0 = time.perf_counter()
            _step(m, opts[id(m)], xb, yb)
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
    s, g = statistics.median(times["sequential"]), statistics.median(times["graph"])
    return {"sequential_ms": 1e3 * s, "graph_ms": 1e3 * g, "overhead_pct": 100 * (g / s - 1)}


def _backbone(kind: str) -> tuple[dg.Model, tuple[int, ...]]:
    """A small CNN (conv-BN-ReLU x2, global pooling) or MLP (784-256-128, BN) backbone."""
    if kind == "cnn":
        x = dg.Input((1, 28, 28))
        h = nn.ReLU()(nn.BatchNorm2d(16)(nn.Conv2d(1, 16, 3, padding=1)(x)))
        h = nn.MaxPool2d(2)(h)
        h = nn.ReLU()(nn.BatchNorm2d(32)(nn.Conv2d(16, 32, 3, padding=1)(h)))
        return dg.Model(x, nn.GlobalAvgPool2d()(h)), (1, 28, 28)
    x = dg.Input(784)
    h = nn.ReLU()(nn.BatchNorm1d(256)(nn.Dense(256)(x)))
    h = nn.ReLU()(nn.BatchNorm1d(128)(nn.Dense(128)(h)))
    return dg.Model(x, h), (784,)


def frozen_speedup(kind: str = "cnn", batches: int = 8, reps: int = 3) -> dict[str, float]:
    """Seconds per fit epoch (``batches`` batches of 64) of a backbone plus a Dense head,
    with the backbone trainable and frozen (``trainable = False``)."""
    res = {}
    for frozen in (False, True):
        dg.manual_seed(0)
        backbone, shape = _backbone(kind)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(batches * 64, *shape)).astype(np.float32)
        y = rng.integers(0, 10, len(X))
        z = dg.Input(shape)
        model = dg.Model(z, nn.Dense(10)(backbone(z)))
        backbone.trainable = not frozen
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(X[:64], y[:64], epochs=1, batch_size=64, verbose=0)  # warm up
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            model.fit(X, y, epochs=1, batch_size=64, verbose=0)
            ts.append(time.perf_counter() - t0)
        res["frozen_s" if frozen else "trainable_s"] = min(ts)
    res["speedup"] = res["trainable_s"] / res["frozen_s"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--frozen", action="store_true")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS threads (1 gives steady timings on a shared machine)")
    args = ap.parse_args()
    if args.threads is not None:
        dg.set_num_threads(args.threads)
    r = overhead(args.reps)
    print(f"MLP 784-256-128-10, batch {BATCH}, one SGD step: Sequential "
          f"{r['sequential_ms']:.3f} ms, graph Model {r['graph_ms']:.3f} ms, overhead "
          f"{r['overhead_pct']:+.1f} %")
    if args.frozen:
        for kind in ("mlp", "cnn"):
            f = frozen_speedup(kind)
            print(f"{kind} backbone + Dense head, fit epoch of 8 batches of 64: backbone "
                  f"trainable {f['trainable_s']:.3f} s, frozen {f['frozen_s']:.3f} s, "
                  f"speed-up x{f['speedup']:.2f}")


if __name__ == "__main__":
    main()

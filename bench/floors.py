"""Each workload's products-only floor: the matrix products of one training step, alone.

A training step's products (forward and backward of every dense layer, every convolution
as its im2col GEMM, every LSTM gate product) are listed as ``(M, K, N, count)``: ``count``
float32 ``(M, K) @ (K, N)`` products. ``time_products`` runs them through NumPy (its BLAS)
with preallocated operands, in the worker's own process right after an epoch, so a table
can show how far each step is from the time its products alone take. The list is the
FLOP-minimal formulation (no input gradient for the first layer, one weight-gradient GEMM
per layer over the whole batch); an implementation may do more or split them differently.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

Product = tuple[int, int, int, int]  # M, K, N, count

#: the LSTM language model's sizes (those of bench/rnn.py, issue 17)
LSTM_SIZES = {"T": 100, "E": 64, "H": 256}


def dense(batch: int, n_in: int, n_out: int, input_grad: bool = True) -> list[Product]:
    """Linear ``(batch, n_in) -> (batch, n_out)``: forward, weight and input gradients."""
    ps = [(batch, n_in, n_out, 1), (n_out, batch, n_in, 1)]
    if input_grad:
        ps.append((batch, n_out, n_in, 1))
    return ps


def conv(batch: int, c_in: int, c_out: int, k: int, h_out: int, w_out: int,
         input_grad: bool = True) -> list[Product]:
    """Conv2d as im2col GEMMs: forward ``(B*Ho*Wo, C*k*k) @ (C*k*k, O)``, the weight
    gradient ``(O, B*Ho*Wo) @ (B*Ho*Wo, C*k*k)`` and the columns' gradient."""
    rows, kk = batch * h_out * w_out, c_in * k * k
    ps = [(rows, kk, c_out, 1), (c_out, rows, kk, 1)]
    if input_grad:
        ps.append((rows, c_out, kk, 1))
    return ps


def lstm(batch: int, T: int, n_in: int, H: int) -> list[Product]:
    """One LSTM layer over ``T`` steps: the input projection of all steps as one GEMM (and
    its gradients), the recurrent product ``h @ W_hh^T`` per step forward and its input
    gradient per step backward, and ``W_hh``'s gradient as one GEMM over all steps."""
    G = 4 * H
    return [*dense(batch * T, n_in, G), (batch, H, G, T), (batch, G, H, T),
            (G, batch * T, H, 1)]


def step_products(kind: str, batch: int, vocab: int = 0) -> list[Product]:
    """The products of one training step of workload ``kind`` at batch size ``batch``."""
    if kind == "mlp":
        return [*dense(batch, 784, 256, False), *dense(batch, 256, 128), *dense(batch, 128, 10)]
    if kind == "cnn":
        return [*conv(batch, 1, 8, 3, 28, 28, False), *conv(batch, 8, 16, 3, 14, 14),
                *dense(batch, 784, 128), *dense(batch, 128, 10)]
    if kind == "convnet":
        return [*conv(batch, 1, 32, 3, 26, 26, False), *conv(batch, 32, 64, 3, 11, 11),
                *dense(batch, 1600, 10)]
    if kind == "resnet":  # examples/resnet.py, widths 16 32 64, one block per stage
        ps = conv(batch, 1, 16, 3, 28, 28, False)
        size, c = 28, 16
        for w in (16, 32, 64):
            s = 1 if w == c else 2
            size = (size - 1) // s + 1
            ps += conv(batch, c, w, 3, size, size) + conv(batch, w, w, 3, size, size)
            if s != 1 or w != c:
                ps += conv(batch, c, w, 1, size, size)
            c = w
        return ps + dense(batch, 64, 10)
    if kind == "lstm":
        T, E, H = LSTM_SIZES["T"], LSTM_SIZES["E"], LSTM_SIZES["H"]
        return [*lstm(batch, T, E, H), *dense(batch * T, H, vocab)]
    raise ValueError(f"step_products: unknown workload {kind!r}")


def flops(products: list[Product]) -> int:
    """Floating-point operations of the products (2 per multiply-add)."""
    return sum(2 * m * k * n * c for m, k, n, c in products)


def time_products(products: list[Product], reps: int = 5, seed: int = 0) -> float:
    """Seconds for one step's products: the fastest of ``reps`` timed runs (after one
    warm-up), float32 through ``numpy.matmul`` into preallocated outputs."""
    rng = np.random.default_rng(seed)
    ops: list[Any] = []
    for m, k, n, c in products:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        ops.append((a, b, np.empty((m, n), np.float32), c))

    def run() -> None:
        for a, b, out, c in ops:
            for _ in range(c):
                np.matmul(a, b, out=out)

    run()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best

"""Data-parallel throughput on this machine: 1 process x 1 thread, 2 processes x 1 thread
(``mpiexec -n 2``) and 1 process x 2 threads, for the MNIST MLP (784-256-128-10, batch 128
per process) and the CNN (conv16-pool-conv32-pool-dense64-10, batch 64 per process), on
MNIST-shaped random data (the data's values do not change the speed).

    python examples/distributed_bench.py            # launches every case, prints a table
    python examples/distributed_bench.py --steps 40 --reps 3

Each case is a fresh process group; the configurations are run interleaved (A B C A B C
...) and the best repetition of each is kept (the machine may be shared). Scaling
efficiency = samples/s with 2 ranks / (2 x samples/s with 1). The Allreduce share is the
time spent packing, reducing and unpacking gradient buckets over the step time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _model(kind: str):
    import deepgrad as dg
    from deepgrad import nn

    dg.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10)), (784,), 128
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(),
                         nn.Linear(64, 10)), (1, 28, 28), 64


def worker(kind: str, steps: int, out: str) -> None:
    """One rank's timed loop (run under mpiexec, or alone)."""
    import deepgrad as dg
    import deepgrad.distributed as dist

    dist.init()
    model, shape, batch = _model(kind)
    n = batch * dist.world_size() * (steps + 3)
    rng = np.random.default_rng(0)
    X = rng.random((n, *shape), dtype=np.float32)
    y = rng.integers(0, 10, n)
    sampler = dist.DistributedSampler(n, shuffle=True, seed=0)
    loader = dg.data.DataLoader((X, y), batch_size=batch, sampler=sampler)
    opt = dist.DistributedOptimizer(dg.optim.Adam(model.parameters(), lr=1e-3))
    dist.broadcast_parameters(model)
    lossf = dg.nn.CrossEntropyLoss()
    t0, seen = None, 0
    for i, (xb, yb) in enumerate(loader):
        if i == 3:  # after warm-up (numba compiles, first allocations)
            dist.barrier()
            t0, reduce0 = time.perf_counter(), opt.averager.seconds
        opt.zero_grad()
        lossf(model(dg.Tensor(xb)), yb).backward()
        opt.step()
        if t0 is not None:
            seen += len(xb)
    dist.barrier()
    wall = time.perf_counter() - t0
    res = {"samples_per_s": seen * dist.world_size() / wall, "step_ms": 1e3 * wall / steps,
           "allreduce_share": (opt.averager.seconds - reduce0) / wall,
           "allreduce_calls_per_step": opt.averager.calls / (steps + 3),
           "param_mb": sum(p.data.nbytes for p in model.parameters()) / 1e6}
    if dist.world_size() > 1:  # the Allreduce alone, ranks lined up by a barrier first
        buf = np.zeros(int(res["param_mb"] * 1e6 / 4), np.float32)
        times = []
        for _ in range(30):
            dist.barrier()
            t = time.perf_counter()
            dist.allreduce(buf, "sum")
            times.append(time.perf_counter() - t)
        res["allreduce_alone_ms"] = 1e3 * float(np.median(times))
    if dist.is_main():
        Path(out).write_text(json.dumps(res))


CASES = {"1 proc x 1 thread": (1, 1), "2 procs x 1 thread": (2, 1),
         "1 proc x 2 threads": (1, 2)}


def _run_case(kind: str, procs: int, threads: int, steps: int) -> dict:
    out = Path(f"/tmp/deepgrad-dist-bench-{os.getpid()}.json")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--worker", kind, "--steps", str(steps), "--out", str(out)]
    if procs > 1:
        mpiexec = Path(sys.executable).with_name("mpiexec")
        cmd = [str(mpiexec if mpiexec.exists() else "mpiexec"), "-n", str(procs), *cmd]
    subprocess.run(cmd, check=True, env=env, timeout=900)
    res = json.loads(out.read_text())
    out.unlink()
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", default=None)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--only", default="mlp,cnn")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    if a.worker:
        worker(a.worker, a.steps, a.out)
        return
    rows = []
    for kind in a.only.split(","):
        best: dict[str, dict] = {}
        for _ in range(a.reps):
            for name, (procs, threads) in CASES.items():
                r = _run_case(kind, procs, threads, a.steps)
                if name not in best or r["samples_per_s"] > best[name]["samples_per_s"]:
                    best[name] = r
        one = best["1 proc x 1 thread"]["samples_per_s"]
        for name, r in best.items():
            eff = r["samples_per_s"] / (CASES[name][0] * CASES[name][1] * one)
            rows.append((kind, name, r["samples_per_s"], r["step_ms"], eff,
                         r["allreduce_share"] if CASES[name][0] > 1 else float("nan"),
                         r["param_mb"], r.get("allreduce_alone_ms", float("nan"))))
    print("| model | setup | samples/s | ms/step | efficiency | Allreduce share of step "
          "| Allreduce alone, ms | params MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind, name, sps, ms, eff, share, mb, alone in rows:
        s = "-" if share != share else f"{100 * share:.1f} %"
        t = "-" if alone != alone else f"{alone:.3f}"
        print(f"| {kind} | {name} | {sps:,.0f} | {ms:.1f} | {100 * eff:.0f} % | {s} | {t} | "
              f"{mb:.2f} |")


if __name__ == "__main__":
    main()

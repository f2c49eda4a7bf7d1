"""One measurement in its own process: ``python -m bench.worker '<json spec>'``.

Prints one line ``RESULT <json>``. With ``--serve '<json spec>'`` a training run is
driven from stdin instead, an epoch per ``epoch`` line (answered by ``EPOCH <json>``),
until ``finish`` (answered by ``RESULT <json>``): the suite steps several of them in
lockstep. A process per training run gives each its own
resident-set high-water mark (``VmHWM``) and a clean start for every implementation.

Spec keys: task ("train" or "gemm"), kind ("mlp"/"cnn"), impl ("deepgrad",
"deepgrad-fit", "torch", "sklearn"), epochs, threads, n_train, n_test, infer_reps,
seed, device ("cpu"/"cuda").
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

from .monitor import CpuWatch


def _proc_status(key: str) -> float | None:
    """A ``/proc/self/status`` memory entry in MiB (VmRSS, VmHWM), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if key == "VmHWM":
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return None


def _limit_threads(n: int, impl: str) -> dict[str, Any]:
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(n)
    info: dict[str, Any] = {"blas": [
        {k: d.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
        for d in threadpool_info()
    ]}
    if impl == "torch":
        import torch

        torch.set_num_threads(n)
        info["torch_threads"] = torch.get_num_threads()
    return info


class TrainSession:
    """One implementation's training run, driven an epoch at a time.

    ``python -m bench`` starts one session per implementation in its own process and
    steps them in lockstep (an epoch of A, of B, of C, then the next round), so that the
    machine's drift, which here moves by up to 2x over tens of seconds, hits them alike.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        from .workloads import RUNNERS, load_data

        impl, kind = spec["impl"], spec["kind"]
        self.spec = spec
        self.info = _limit_threads(spec["threads"], impl)
        self.data, self.source = load_data(spec.get("n_train"), spec.get("n_test"))
        base = impl.split("-")[0]
        kw: dict[str, Any] = {"seed": spec.get("seed", 0)}
        if impl == "deepgrad-fit":
            kw["api"] = "fit"
        if spec.get("device", "cpu") != "cpu" and base in ("deepgrad", "torch"):
            kw["device"] = spec["device"]
        self.runner = RUNNERS[base](kind, self.data, **kw)
        if base == "deepgrad":
            self.info["accelerator"] = _deepgrad_accelerator()
        self.rss_before = _proc_status("VmRSS")
        self.epochs: list[dict[str, Any]] = []

    def epoch(self) -> dict[str, Any]:
        with CpuWatch() as w:
            loss = self.runner.epoch()
        e = {**w.sample.as_dict(), "loss": loss}
        if self.spec.get("paired_gemm"):  # the GEMM ceiling right after this epoch
            e["gemm_gflops"] = square_gemm_gflops(1024, 3)
        self.epochs.append(e)
        return e

    def finish(self) -> dict[str, Any]:
        """Peak memory of the training, then inference timing and test accuracy."""
        hwm = _proc_status("VmHWM")
        runner, data = self.runner, self.data
        pred = runner.predict(data["Xte"])  # warm-up
        k = self.spec.get("infer_reps", 3)
        with CpuWatch() as w:  # one region of k passes: long enough for /proc/stat's ticks
            for _ in range(k):
                pred = runner.predict(data["Xte"])
        infer = [{**w.sample.as_dict(), "wall": w.sample.wall / k, "passes": k}]
        acc = float(np.mean(pred == data["yte"]))
        return {"epochs": self.epochs, "infer": infer, "accuracy": acc,
                "source": self.source, "rss_before_mib": self.rss_before,
                "peak_rss_mib": hwm, "n_train": len(data["Xtr"]),
                "n_test": len(data["Xte"]), **self.info}


def run_train(spec: dict[str, Any]) -> dict[str, Any]:
    """All of a training run's epochs in a row, then ``finish`` (one worker on its own)."""
    session = TrainSession(spec)
    for _ in range(spec["epochs"]):
        session.epoch()
    return session.finish()


def serve(spec: dict[str, Any]) -> None:
    """Lockstep mode: set up, print READY, then obey ``epoch`` / ``finish`` lines on stdin."""
    t0 = time.perf_counter()
    session = TrainSession(spec)
    print("READY", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "epoch":
            print("EPOCH " + json.dumps(session.epoch()), flush=True)
        elif cmd == "finish":
            res = session.finish()
            res.update(spec=spec, process_wall=time.perf_counter() - t0, pid=os.getpid())
            print("RESULT " + json.dumps(res), flush=True)
            return
        else:
            raise SystemExit(f"bench.worker: unknown command {cmd!r}")


def _deepgrad_accelerator() -> str:
    """Which Adam update deepgrad uses here: the compiled one pass, or the ufuncs."""
    from deepgrad import _accel as _fused

    if not _fused.auto_enabled():
        return "ufuncs (DEEPGRAD_NUMBA=0)"
    if not _fused.available():
        return "ufuncs (numba not installed)"
    import numba

    return f"compiled (numba {numba.__version__})"


def square_gemm_gflops(n: int, reps: int) -> float | None:
    """Best float32 ``n x n`` product rate over ``reps`` undisturbed products (None if none).

    n = 1024 reaches the rate of n = 2048 on the development machine (198 vs 202 GFLOP/s)
    in an eighth of the time and a quarter of the memory: small enough to run between
    epochs without touching the training's peak memory.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty_like(a)
    np.matmul(a, b, out=c)
    rates = []
    for _ in range(reps):
        with CpuWatch() as w:
            np.matmul(a, b, out=c)
        if not w.sample.disturbed:
            rates.append(2 * n**3 / w.sample.wall / 1e9)
    return max(rates) if rates else None


def run_gemm(spec: dict[str, Any]) -> dict[str, Any]:
    """float32 GEMM throughput: large square products, and the MLP step's own products."""
    info = _limit_threads(spec["threads"], "numpy")
    rng = np.random.default_rng(0)
    out: dict[str, Any] = dict(info)
    n = spec.get("gemm_n", 2048)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty_like(a)
    np.matmul(a, b, out=c)
    best = []
    for _ in range(spec.get("gemm_reps", 7)):
        with CpuWatch() as w:
            np.matmul(a, b, out=c)
        best.append({**w.sample.as_dict(), "gflops": 2 * n**3 / w.sample.wall / 1e9})
    out["square"] = {"n": n, "runs": best}
    # the products of one MLP training step (batch 128), forward and backward
    dims = [784, 256, 128, 10]
    bs = 128
    pairs = zip(dims[:-1], dims[1:], strict=True)
    W = [rng.standard_normal((o, i), dtype=np.float32) for i, o in pairs]
    xs = [rng.standard_normal((bs, d), dtype=np.float32) for d in dims]
    flops = 0
    prods = []
    for li, w_ in enumerate(W):
        o, i = w_.shape
        prods.append((xs[li], w_.T))          # forward  (bs, i) @ (i, o)
        prods.append((xs[li + 1].T, xs[li]))  # gW       (o, bs) @ (bs, i)
        if li > 0:
            prods.append((xs[li + 1], w_))    # gx       (bs, o) @ (o, i)
        flops += 2 * bs * i * o * (3 if li > 0 else 2)
    steps = spec.get("gemm_steps", 200)
    runs = []
    for _ in range(5):
        with CpuWatch() as w:
            for _ in range(steps):
                for p, q in prods:
                    p @ q
        runs.append({**w.sample.as_dict(), "gflops": flops * steps / w.sample.wall / 1e9})
    out["mlp_step"] = {"flops_per_step": flops, "runs": runs}
    return out


def main() -> None:
    if sys.argv[1] == "--serve":
        serve(json.loads(sys.argv[2]))
        return
    spec = json.loads(sys.argv[1])
    t0 = time.perf_counter()
    res = run_gemm(spec) if spec["task"] == "gemm" else run_train(spec)
    res["spec"] = spec
    res["process_wall"] = time.perf_counter() - t0
    res["pid"] = os.getpid()
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()

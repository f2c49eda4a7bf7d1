"""One measurement in its own process: ``python -m bench.worker '<json spec>'``.

Prints one line ``RESULT <json>``. With ``--serve '<json spec>'`` a training run is
driven from stdin instead, an epoch per ``epoch`` line (answered by ``EPOCH <json>``),
until ``finish`` (answered by ``RESULT <json>``): the suite steps several of them in
lockstep. A process per training run gives each its own
resident-set high-water mark (``VmHWM``) and a clean start for every implementation.

Spec keys: task ("train" or "gemm"), kind ("mlp", "cnn", "convnet", "resnet", "lstm"),
impl ("deepgrad", "deepgrad-fit", "deepgrad-jit", "torch", "jax", "sklearn"), epochs,
threads, n_train, n_test, infer_reps, seed, device ("cpu"/"cuda"), paired_gemm, floor
(time the step's products alone after each epoch; default true).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

from .floors import time_products
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


def _reset_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS (``/proc/self/clear_refs``, Linux): the products
    timed between epochs allocate operands that must not count as the training's peak
    (the peak before them is kept). False where the reset is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _limit_jax_threads(n: int) -> dict[str, Any]:
    """XLA's CPU thread pools know no thread-count setting, but size themselves from the
    affinity mask: with fewer threads than CPUs the process is pinned to ``n`` of them
    (before jax is imported), and with one thread XLA's multi-threaded Eigen kernels are
    switched off as well."""
    info: dict[str, Any] = {}
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cpus and n < len(cpus):
        os.sched_setaffinity(0, cpus[:n])
        info["jax_affinity"] = cpus[:n]
    if n == 1:
        flags = os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
        os.environ["XLA_FLAGS"] = flags.strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    return info


def _limit_threads(n: int, impl: str) -> dict[str, Any]:
    from threadpoolctl import threadpool_info, threadpool_limits

    jax_info = _limit_jax_threads(n) if impl == "jax" else {}

    threadpool_limits(n)
    info: dict[str, Any] = {"blas": [
        {k: d.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
        for d in threadpool_info()
    ], **jax_info}
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
        from .floors import step_products
        from .workloads import RUNNERS, VOCAB, batch_size, load_for

        impl, kind = spec["impl"], spec["kind"]
        self.spec = spec
        self.info = _limit_threads(spec["threads"], impl)
        self.data, self.source = load_for(kind, spec.get("n_train"), spec.get("n_test"))
        base = impl.split("-")[0]
        kw: dict[str, Any] = {"seed": spec.get("seed", 0)}
        if impl in ("deepgrad-fit", "deepgrad-jit"):
            kw["api"] = impl.split("-")[1]
        if spec.get("device", "cpu") != "cpu" and base in ("deepgrad", "torch"):
            kw["device"] = spec["device"]
        self.runner = RUNNERS[base](kind, self.data, **kw)
        if base == "deepgrad":
            self.info["accelerator"] = _deepgrad_accelerator()
        bs = batch_size(kind)
        # the same examples for every peer: the loss at the shared initial weights
        self.info["initial_loss"] = self.runner.loss(self.data["Xtr"][:2 * bs],
                                                     self.data["ytr"][:2 * bs])
        self.floor = None
        if spec.get("floor", True) and spec.get("device", "cpu") == "cpu":
            self.floor = step_products(kind, bs, len(VOCAB))
            self.info["products_per_step"] = self.floor
            self.info["steps_per_epoch"] = len(self.data["Xtr"]) / bs
        self.rss_before = _proc_status("VmRSS")
        # the products timed after each epoch allocate operands that must not count in
        # the training's peak: VmHWM is saved before and reset after them
        self.peak_before_floor = _proc_status("VmHWM") or 0.0
        if not _reset_peak():
            self.floor = None
        self.epochs: list[dict[str, Any]] = []

    def epoch(self) -> dict[str, Any]:
        with CpuWatch() as w:
            loss = self.runner.epoch()
        e = {**w.sample.as_dict(), "loss": loss}
        self.peak_before_floor = max(self.peak_before_floor, _proc_status("VmHWM") or 0.0)
        if self.spec.get("paired_gemm"):  # the GEMM ceiling right after this epoch
            e["gemm_gflops"] = square_gemm_gflops(1024, 3)
        if self.floor is not None:  # the step's products alone, right after this epoch
            time.sleep(0.1)  # the implementation's own thread pools go idle first
            with CpuWatch() as fw:
                step_s = time_products(self.floor, reps=3, seed=len(self.epochs))
            e["products"] = {"wall": step_s * self.info["steps_per_epoch"],
                             "step": step_s, "disturbed": fw.sample.disturbed,
                             "other_cores": fw.sample.other_cores}
        _reset_peak()
        self.epochs.append(e)
        return e

    def finish(self) -> dict[str, Any]:
        """Peak memory of the training, then inference timing and test accuracy."""
        hwm = max(_proc_status("VmHWM") or 0.0, self.peak_before_floor)
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

"""``python -m bench``: deepgrad against PyTorch, JAX and scikit-learn (see README.md).

Runs every implementation in its own process and steps them in lockstep, an epoch of
each in turn (A B A B ...), records the CPU other processes used during each timed
region (disturbed regions are left out of the medians), repeats GEMM runs that were
mostly disturbed, and prints a markdown table (and writes the raw data as JSON).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from .report import summarize, table
from .runner import OPENBLAS_PINS, run_lockstep, run_with_retries, worker_env
from .workloads import data_dir

KINDS = ("mlp", "cnn", "convnet", "resnet", "lstm", "gemm")

#: images (or LSTM sequences) per epoch and test images, full run / --quick (None: all)
SIZES = {"mlp": ((None, None), (6000, 2000)), "cnn": ((None, None), (6000, 2000)),
         "convnet": ((12800, None), (1280, 2000)), "resnet": ((6400, 2000), (384, 500)),
         "lstm": ((1280, 256), (128, 64))}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: fewer images, 1 epoch, 1 repetition")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 3; quick 1)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for every implementation (default: all cores)")
    p.add_argument("--only", default=",".join(KINDS),
                   help=f"comma-separated subset of {','.join(KINDS)}; or dist "
                        "(data-parallel scaling on MPI, bench/dist.py, run on its own)")
    p.add_argument("--out", default=None, help="JSON file for the raw results")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--retries", type=int, default=None,
                   help="extra attempts for a GEMM run that was mostly disturbed "
                        "(default 2; quick 0)")
    p.add_argument("--max-wait", type=float, default=None,
                   help="seconds to wait for a quiet machine before each run (default 20; "
                        "quick 2)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds after which disturbed runs are no longer repeated nor "
                        "waited for (default 1200; quick 90)")
    p.add_argument("--keep-openblas-env", action="store_true",
                   help=f"do not unset {' and '.join(OPENBLAS_PINS)} in the workers")
    return p.parse_args(argv)


def _plan(args: argparse.Namespace, have_jax: bool = True) -> list[list[dict[str, Any]]]:
    """One repetition: groups of worker specs, in order. A group of several training runs
    is stepped in lockstep (``runner.run_lockstep``); the GEMM worker runs alone."""
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise SystemExit(f"--only: unknown workload(s) {bad}; choose from {list(KINDS)}")
    quick = args.quick
    cpu = args.device == "cpu"
    groups: list[list[dict[str, Any]]] = []
    if "gemm" in kinds and cpu:
        groups.append([{"task": "gemm", "threads": args.threads,
                        "gemm_steps": 50 if quick else 200}])
    for kind in KINDS[:-1]:
        if kind not in kinds:
            continue
        n_train, n_test = SIZES[kind][quick]
        common = {"task": "train", "kind": kind, "threads": args.threads,
                  "device": args.device, "n_train": n_train, "n_test": n_test,
                  "infer_reps": 2 if quick else 5}
        e = 1 if quick else (5 if kind == "mlp" else 3)
        impls = ["deepgrad", "torch"]
        if cpu and have_jax and kind in ("mlp", "cnn", "convnet"):
            impls.append("jax")
        group = [{**common, "impl": impl, "epochs": e} for impl in impls]
        if kind == "mlp":
            group[0]["paired_gemm"] = cpu
            if cpu:  # the compiled step (compile_step / compile(jit=True)), full length
                group.insert(1, {**common, "impl": "deepgrad-jit", "epochs": e})
                short = 1 if quick else 3  # a warm-up epoch and two timed ones
                # fit as long as the loop it is compared with, so that its epochs pair
                # with the loop's round by round (with fewer, its median sampled other
                # periods of the machine's drifting speed)
                group += [{**common, "impl": "sklearn", "epochs": short},
                          {**common, "impl": "deepgrad-fit", "epochs": e}]
        groups.append(group)
    return groups


def _check_cuda() -> str | None:
    """None when CuPy and torch.cuda both work, else the reason."""
    try:
        import cupy

        cupy.zeros(1).sum()
    except Exception as e:  # noqa: BLE001 - any failure means no usable GPU
        return f"CuPy is not usable ({type(e).__name__}: {e})"
    import torch

    if not torch.cuda.is_available():
        return "torch.cuda.is_available() is False"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    if "dist" in kinds:  # data-parallel scaling: its own launcher, outside the lockstep suite
        from .dist import main as dist_main

        code = dist_main([], quick=args.quick, reps=args.reps)
        if code or kinds == ["dist"]:
            return code
        args.only = ",".join(k for k in kinds if k != "dist")
    if args.device == "cuda":
        why = _check_cuda()
        if why:
            print(f"--device cuda: no GPU run possible here: {why}. "
                  f"Run without --device (CPU) instead.", file=sys.stderr)
            return 2
    reps = args.reps or (1 if args.quick else 3)
    max_wait = args.max_wait if args.max_wait is not None else (2.0 if args.quick else 20.0)
    retries = args.retries if args.retries is not None else (0 if args.quick else 2)
    budget = args.budget if args.budget is not None else (90.0 if args.quick else 1200.0)
    env = worker_env(args.threads, args.keep_openblas_env)
    pins = {k: os.environ[k] for k in OPENBLAS_PINS if k in os.environ}
    have_jax = importlib.util.find_spec("jax") is not None
    groups = _plan(args, have_jax)
    folder = data_dir()
    header = [
        f"deepgrad bench, {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, "
        f"{os.cpu_count()} cores, {args.threads} thread(s) for every implementation "
        f"(OMP/OPENBLAS/MKL_NUM_THREADS, threadpoolctl, torch.set_num_threads), "
        f"device {args.device}, {reps} repetition(s){', QUICK' if args.quick else ''}.",
        f"Data: {'MNIST from ' + str(folder) if folder else 'RANDOM data of MNIST shape'}"
        f"{' (6,000 train / 2,000 test images)' if args.quick else ''}.",
        "JAX peer: " + ("jax.jit over the whole step, optax Adam" if have_jax else
                        "jax not installed, left out (see bench/README.md)") + ".",
        "OpenBLAS pins " + (f"{pins} unset in the workers" if pins and not
                            args.keep_openblas_env else f"{pins or 'none set'}") + ".",
    ]
    for line in header:
        print(line, flush=True)
    results = []
    t0 = time.perf_counter()
    for rep in range(reps):
        print(f"repetition {rep + 1}/{reps}", flush=True)
        for group in groups:
            group = [{**spec, "seed": rep} for spec in group]
            late = time.perf_counter() - t0 > budget
            log = lambda m: print(m, flush=True)  # noqa: E731
            if group[0]["task"] == "gemm":
                results.append(run_with_retries(group[0], env, 0 if late else retries, log,
                                                0.0 if late else max_wait))
            else:
                results += run_lockstep(group, env, log, 0.0 if late else max_wait)
    s = summarize(results)
    kernels = {b["architecture"] for r in results for b in r.get("blas", [])}
    accel = sorted({r["accelerator"] for r in results if "accelerator" in r})
    header.append(f"BLAS kernel in the workers (threadpoolctl): {', '.join(sorted(kernels))}; "
                  f"deepgrad's Adam update: {', '.join(accel) or '-'}; "
                  f"suite wall time {time.perf_counter() - t0:.0f} s.")
    text = table(s, header)
    print()
    print(text)
    out = Path(args.out) if args.out else Path(__file__).parent / "results.json"
    out.write_text(json.dumps({"args": vars(args), "header": header, "summary": s,
                               "results": results}, indent=1, default=str))
    print(f"\nraw results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

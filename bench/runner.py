"""Run the workers (in lockstep, A B A B ...), repeat disturbed GEMM runs, collect results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .monitor import wait_quiet

ROOT = Path(__file__).resolve().parent.parent

#: environment variables that pin OpenBLAS to an older kernel; unset for the bench only
OPENBLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def worker_env(threads: int, keep_openblas_env: bool) -> dict[str, str]:
    """The workers' environment: thread counts set, OpenBLAS pins removed (both together)."""
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMBA_NUM_THREADS"):
        env[k] = str(threads)
    if not keep_openblas_env:
        for k in OPENBLAS_PINS:
            env.pop(k, None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_worker(spec: dict[str, Any], env: dict[str, str], timeout: float = 1800) -> dict:
    """Run ``bench.worker`` on ``spec`` in a fresh process; its parsed result."""
    proc = subprocess.run([sys.executable, "-m", "bench.worker", json.dumps(spec)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"worker {spec} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")


class _Served:
    """A ``bench.worker --serve`` process: one implementation's training, an epoch per call."""

    def __init__(self, spec: dict[str, Any], env: dict[str, str]) -> None:
        self.spec = spec
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", "--serve", json.dumps(spec)], env=env,
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1)

    def expect(self, tag: str) -> str:
        """The payload of the next stdout line starting with ``tag``."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(tag):
                return line[len(tag):].strip()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        raise RuntimeError(f"worker {self.spec} ended without {tag!r} "
                           f"(rc {self.proc.wait()}):\n{err[-3000:]}")

    def send(self, cmd: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run_lockstep(specs: list[dict[str, Any]], env: dict[str, str], log: Any,
                 max_wait: float = 0.0) -> list[dict[str, Any]]:
    """Train several implementations side by side, an epoch of each in turn.

    Every spec gets its own process (its own memory high-water mark and thread pools);
    they set up at the same time, then round ``r`` runs one epoch of every spec that
    has more than ``r`` epochs, in an order that reverses each round (A B C, C B A, ...),
    while the others wait idle (after each epoch, until the machine is quiet again). So
    each epoch of A has epochs of B right before or after it, and drift over tens of
    seconds hits every implementation alike. Then each measures its inference in turn.
    Returns the workers' results in ``specs`` order.
    """
    workers = [_Served(spec, env) for spec in specs]
    try:
        for w in workers:
            w.expect("READY")
        if max_wait > 0:
            wait_quiet(max_wait)
        for r in range(max(s["epochs"] for s in specs)):
            order = workers if r % 2 == 0 else workers[::-1]
            for w in order:
                if r < w.spec["epochs"]:
                    w.send("epoch")
                    w.expect("EPOCH")
                    _settle()
        results = []
        for w in workers:
            w.send("finish")
            results.append(json.loads(w.expect("RESULT")))
            _settle()
    finally:
        for w in workers:
            w.close()
    for res in results:
        spec = res["spec"]
        share = disturbed_share(res)
        res["attempt"], res["attempts"] = 0, 1
        log(f"    {spec['impl']:13s} {spec['kind']:4s} lockstep: {_brief(res)}  "
            f"disturbed {100 * share:.0f} %")
    return results


def _settle() -> None:
    """Let the last worker's thread pools go idle before the next one starts: OpenBLAS's
    threads spin for about 0.1 s after their last product, which would count as
    another process's CPU in the next worker's epoch."""
    wait_quiet(2.0, window=0.1)


def disturbed_share(res: dict[str, Any]) -> float:
    """Fraction of a run's timed regions (epochs, or GEMM runs) that were disturbed."""
    regions = res.get("epochs") or (res.get("square", {}).get("runs", [])
                                    + res.get("mlp_step", {}).get("runs", []))
    if not regions:
        return 0.0
    return sum(bool(r["disturbed"]) for r in regions) / len(regions)


def run_with_retries(spec: dict[str, Any], env: dict[str, str], retries: int,
                     log: Any, max_wait: float = 0.0) -> dict[str, Any]:
    """Run a worker; while over half its timed regions were disturbed, run it again
    (at most ``retries`` more times) and keep the least disturbed attempt. Before each
    attempt, wait up to ``max_wait`` seconds for the machine to be quiet."""
    best = None
    for attempt in range(retries + 1):
        waited = wait_quiet(max_wait) if max_wait > 0 else 0.0
        res = run_worker(spec, env)
        res["attempt"] = attempt
        res["waited_for_quiet_s"] = waited
        share = disturbed_share(res)
        if best is None or share < disturbed_share(best):
            best = res
        log(f"    {spec.get('impl', spec['task']):13s} {spec.get('kind', ''):4s} "
            f"attempt {attempt}: {_brief(res)}  disturbed {100 * share:.0f} % "
            f"(waited {waited:.0f} s for quiet)")
        if share <= 0.5:
            break
    best["attempts"] = attempt + 1
    return best


def _brief(res: dict[str, Any]) -> str:
    if "epochs" in res:
        ts = " ".join(f"{e['wall']:.2f}" for e in res["epochs"])
        return f"epochs [{ts}] s, acc {100 * res['accuracy']:.2f} %, " \
               f"peak {res['peak_rss_mib']:.0f} MiB"
    sq = max(r["gflops"] for r in res["square"]["runs"])
    st = max(r["gflops"] for r in res["mlp_step"]["runs"])
    return f"square GEMM {sq:.0f} GFLOP/s, MLP-step GEMMs {st:.0f} GFLOP/s"

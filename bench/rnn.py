"""Recurrent layers against PyTorch (CPU): an LSTM/GRU language-model training step,
sampling, and peak memory, each implementation in its own process.

Workload (issue 17): batch 64, sequence 100, embedding 64, hidden 256, vocabulary 100,
float32; a training step = embedding -> recurrent layer -> linear -> cross-entropy ->
backward -> Adam; sampling = 100 steps of one-step inference for 64 sequences (state
carried, softmax, a multinomial draw). Rounds alternate the order of the implementations;
the median over rounds is reported, and the ratio deepgrad / PyTorch. Peak memory: the
growth of VmHWM over the RSS after one warm-up step and sampling (which leaves out imports,
numba's compiled kernels and PyTorch's own start-up).

Run:  python -m bench.rnn [--reps 5] [--threads 1] [--cell lstm,gru]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

B, T, E, H, V = 64, 100, 64, 256, 100


def _peak_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _deepgrad(cell: str, threads: int):
    import deepgrad as dg
    from deepgrad import nn

    dg.set_num_threads(threads)
    emb, lin = nn.Embedding(V, E, rng=0), nn.Linear(H, V, rng=1)
    rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(E, H, batch_first=True, rng=2)
    params = [*emb.parameters(), *rnn.parameters(), *lin.parameters()]
    opt = dg.optim.Adam(params, lr=1e-3)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))

    def step() -> None:
        out, _ = rnn(emb(x))
        loss = dg.losses.cross_entropy(lin(out).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    def sample() -> None:
        tok, state = np.zeros((B, 1), dtype=np.int64), None
        with dg.no_grad():
            for _ in range(T):
                out, state = rnn(emb(tok), state)
                p = dg.nn.functional.softmax(lin(out[:, -1]), axis=-1).data.astype(np.float64)
                u = rng.random((B, 1))
                tok = (p.cumsum(axis=1) < u).sum(axis=1, keepdims=True).clip(0, V - 1)

    return step, sample


def _torch(cell: str, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    emb, lin = torch.nn.Embedding(V, E), torch.nn.Linear(H, V)
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(E, H, batch_first=True)
    params = [*emb.parameters(), *rnn.parameters(), *lin.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    rng = np.random.default_rng(0)
    x, y = torch.tensor(rng.integers(0, V, (B, T))), torch.tensor(rng.integers(0, V, (B, T)))

    def step() -> None:
        out, _ = rnn(emb(x))
        loss = torch.nn.functional.cross_entropy(lin(out).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    def sample() -> None:
        tok, state = torch.zeros((B, 1), dtype=torch.long), None
        with torch.no_grad():
            for _ in range(T):
                out, state = rnn(emb(tok), state)
                p = torch.softmax(lin(out[:, -1]), dim=-1)
                tok = torch.multinomial(p, 1)

    return step, sample


def worker(impl: str, cell: str, threads: int, reps: int) -> None:
    """One process: warm up, then serve one timed step and one timed sampling per line."""
    step, sample = (_deepgrad if impl == "deepgrad" else _torch)(cell, threads)
    step()  # warm-up: lazy imports, numba's kernels, first-touch pages
    sample()
    base = _rss_kb()
    with open("/proc/self/clear_refs", "w") as f:  # restart VmHWM from the current RSS
        f.write("5")
    print("ready", flush=True)
    for _ in sys.stdin:
        t0 = time.perf_counter()
        step()
        t1 = time.perf_counter()
        sample()
        t2 = time.perf_counter()
        print(json.dumps({"step": t1 - t0, "sample": t2 - t1,
                          "peak_mb": (_peak_kb() - base) / 1024}), flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="deepgrad vs PyTorch: recurrent layers")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cell", default="lstm,gru")
    ap.add_argument("--worker", nargs=2, metavar=("IMPL", "CELL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker[0], args.worker[1], args.threads, args.reps)
        return
    results = {}
    for cell in args.cell.split(","):
        procs = {}
        for impl in ("deepgrad", "torch"):
            p = subprocess.Popen([sys.executable, "-m", "bench.rnn", "--worker", impl, cell,
                                  "--threads", str(args.threads)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready"
            procs[impl] = p
        runs: dict[str, list[dict]] = {k: [] for k in procs}
        for r in range(args.reps):
            for impl in (("deepgrad", "torch") if r % 2 == 0 else ("torch", "deepgrad")):
                p = procs[impl]
                p.stdin.write("go\n")
                p.stdin.flush()
                runs[impl].append(json.loads(p.stdout.readline()))
        for p in procs.values():
            p.stdin.close()
            p.wait()
        med = {impl: {k: float(np.median([x[k] for x in rs])) for k in rs[0]}
               for impl, rs in runs.items()}
        results[cell] = med
        d, t = med["deepgrad"], med["torch"]
        print(f"{cell.upper()} (B={B}, T={T}, E={E}, H={H}, V={V}, {args.threads} thread(s), "
              f"median of {args.reps}):")
        print(f"  training step  deepgrad {d['step'] * 1e3:7.1f} ms   torch "
              f"{t['step'] * 1e3:7.1f} ms   ratio {d['step'] / t['step']:.2f}")
        print(f"  sampling 100   deepgrad {d['sample'] * 1e3:7.1f} ms   torch "
              f"{t['sample'] * 1e3:7.1f} ms   ratio {d['sample'] / t['sample']:.2f}")
        print(f"  peak memory    deepgrad {d['peak_mb']:7.1f} MB   torch "
              f"{t['peak_mb']:7.1f} MB   ratio {d['peak_mb'] / max(t['peak_mb'], 1e-9):.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

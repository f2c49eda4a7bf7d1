"""Profile one deepgrad training epoch: ``python -m bench.profile mlp|cnn [--threads N]``.

Prints the functions with the most own time (cProfile), the epoch's wall time and the CPU
other processes used meanwhile (a disturbed profile is labelled as such).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

from .monitor import CpuWatch
from .workloads import DeepgradRunner, load_data


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("kind", choices=("mlp", "cnn"))
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    data, source = load_data(args.n_train, 1000)
    runner = DeepgradRunner(args.kind, data)
    runner.epoch()  # warm-up epoch
    prof = cProfile.Profile()
    with CpuWatch() as w:
        prof.enable()
        runner.epoch()
        prof.disable()
    s = w.sample
    print(f"{args.kind} epoch on {source}: {s.wall:.3f} s wall, {s.cpu_self:.2f} s CPU, "
          f"other processes {s.other_cores:.2f} cores"
          f"{' (DISTURBED)' if s.disturbed else ''}")
    pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()

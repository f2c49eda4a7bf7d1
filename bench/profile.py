"""Profile one deepgrad training epoch:
``python -m bench.profile mlp|cnn|convnet|resnet|lstm [--threads N] [--n-train N]``.

Prints the functions with the most own time (cProfile), the epoch's wall time and the CPU
other processes used meanwhile (a disturbed profile is labelled as such).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

from .monitor import CpuWatch
from .workloads import BATCHES, DeepgradRunner, load_for


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("kind", choices=tuple(BATCHES))
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--n-train", type=int, default=None,
                   help="training examples (default: all; the ResNet's bench epoch is 6400)")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    data, source = load_for(args.kind, args.n_train, 1000)
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

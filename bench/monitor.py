"""CPU accounting around a timed region: how much CPU *other* processes used meanwhile.

Reads the machine-wide busy time from ``/proc/stat`` and this process's own CPU time
(``os.times``, all threads) before and after; the difference, divided by the wall time,
is the number of cores other processes kept busy during the region. On a 2-core machine
a two-thread BLAS product slows down 10-100x when another process takes a core, so a
region with ``other_cores`` above the threshold is marked disturbed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

#: a timed region is disturbed when other processes used more than this many cores
DISTURBED_CORES = 0.10


def _busy_seconds() -> float | None:
    """Machine-wide non-idle CPU seconds since boot (None where /proc/stat is missing)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    vals = [int(v) for v in fields[:8]]
    idle = vals[3] + vals[4]  # idle + iowait
    return (sum(vals) - idle) / _TICK


def _self_seconds() -> float:
    t = os.times()
    return t.user + t.system


@dataclass
class Sample:
    """One timed region: wall seconds, own CPU seconds, other processes' cores."""

    wall: float
    cpu_self: float
    other_cores: float | None

    @property
    def disturbed(self) -> bool:
        return self.other_cores is not None and self.other_cores > DISTURBED_CORES

    def as_dict(self) -> dict[str, float | bool | None]:
        return {"wall": self.wall, "cpu_self": self.cpu_self,
                "other_cores": self.other_cores, "disturbed": self.disturbed}


class CpuWatch:
    """Context manager: ``with CpuWatch() as w: ...`` then ``w.sample``."""

    def __enter__(self) -> CpuWatch:
        self._b0, self._s0 = _busy_seconds(), _self_seconds()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._t0
        b1, s1 = _busy_seconds(), _self_seconds()
        own = s1 - self._s0
        other = None
        if b1 is not None and self._b0 is not None and wall > 0:
            # /proc/stat ticks at 1/_TICK s: clamp the rounding below zero
            other = max(0.0, (b1 - self._b0 - own) / wall)
        self.sample = Sample(wall, own, other)


def other_cores_now(window: float = 0.5) -> float | None:
    """Cores other processes keep busy, sampled over ``window`` seconds (this one idle)."""
    b0, s0 = _busy_seconds(), _self_seconds()
    time.sleep(window)
    b1, s1 = _busy_seconds(), _self_seconds()
    if b0 is None or b1 is None:
        return None
    return max(0.0, (b1 - b0 - (s1 - s0)) / window)


def wait_quiet(max_wait: float, window: float = 0.5) -> float:
    """Sleep until other processes use at most ``DISTURBED_CORES`` (or ``max_wait`` passes).

    Returns the seconds waited.
    """
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        other = other_cores_now(window)
        if other is None or other <= DISTURBED_CORES:
            break
    return time.perf_counter() - t0

"""Thread counts: ``set_num_threads`` / ``get_num_threads`` (PyTorch's names) and a default
that degrades gracefully on a shared machine.

deepgrad's heavy work is NumPy's BLAS (OpenBLAS in NumPy's wheels): ``Linear`` and the
im2col GEMM of ``Conv2d``. OpenBLAS starts one thread per CPU the process may run on, and
its threads spin while they wait for each other. When another process keeps a core busy,
a spinning thread and the one it waits for share a core by time slices, and every
synchronisation inside a product can cost a whole slice. On the 2-core development machine,
20 steps of ``examples/cnn_random_mnist.py`` take 0.39-0.40 s alone with 2 or 1 BLAS
threads; beside one busy loop 0.77 s with 2 threads and 0.40 s with 1; beside another NumPy
program using OpenBLAS's 2 threads 1.10 s and 0.55 s; two runs started together 6.1 s and
1.9 s each (medians; ``bench/README.md``, "Shared machines"). Products alone are 1.9x
faster on 2 threads, so the automatic count keeps them while the machine is quiet and
drops to what other processes leave (:func:`default_num_threads`, decided at start by
:func:`apply_default_threads` and revised during training by :func:`retune`).

What works when:

* With threadpoolctl 3.5 or later (a dependency; pure Python), :func:`set_num_threads`
  changes the thread pool of every BLAS library loaded in the process (OpenBLAS, MKL,
  BLIS), at once and as often as wanted.
* Without it, nothing portable can: OpenBLAS reads ``OPENBLAS_NUM_THREADS`` (then
  ``GOTO_NUM_THREADS``, then ``OMP_NUM_THREADS``) once, when NumPy is first imported,
  which ``import deepgrad`` does. So the variables work when set before Python starts (or
  in ``os.environ`` before anything imports NumPy), and :func:`set_num_threads` raises an
  ImportError that says so.
* numba: deepgrad's compiled kernels (``_accel``) run on one thread and never use numba's
  pool. When numba is already imported, :func:`set_num_threads` also calls
  ``numba.set_num_threads`` (numba's setting is per calling thread), for the user's own
  ``parallel=True`` code; deepgrad never imports numba for it.

Nothing here runs at ``import deepgrad``: threadpoolctl is imported on the first call, and
the automatic count is applied only by :func:`apply_default_threads` and :func:`retune`,
which a program that owns its process calls (the ``deepgrad`` command, when ``--threads``
is not given: at start, and after each training batch); a library call never changes the
count behind the user's back.
"""

from __future__ import annotations

import math
import operator
import os
import sys
import time
import warnings

__all__ = ["set_num_threads", "get_num_threads", "default_num_threads",
           "apply_default_threads", "retune", "user_env_threads", "max_threads"]

#: what the user may set before Python starts; any of them set means "leave BLAS alone"
ENV_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
_NO_THREADPOOLCTL = (
    "changing the BLAS thread count of a running process needs threadpoolctl "
    "3.5 or later (pip install threadpoolctl). Without it, set OPENBLAS_NUM_THREADS=N (or "
    "OMP_NUM_THREADS=N) in the environment before Python starts: NumPy's BLAS reads it "
    "once, when NumPy is imported"
)
_NO_BLAS = (
    "threadpoolctl found no BLAS library it can control in this process (threadpoolctl "
    "older than 3.5 does not know NumPy 2's scipy-openblas, and none controls macOS's "
    "Accelerate): the BLAS thread count is unchanged. Upgrade threadpoolctl, or set "
    "OPENBLAS_NUM_THREADS=N in the environment before Python starts"
)


def max_threads() -> int:
    """The largest thread count :func:`set_num_threads` accepts: the machine's CPU count.
    More threads than CPUs only makes BLAS's spinning threads fight (numba refuses more
    than its pool's size too)."""
    return os.cpu_count() or 1


def _check(n: object) -> int:
    """``n`` as an int in [1, max_threads()], else ValueError naming it."""
    hi = max_threads()
    bad = ValueError(f"the number of threads must be an int from 1 to {hi} (this machine's "
                     f"CPU count), got {n!r}")
    if isinstance(n, bool):
        raise bad
    try:
        k = operator.index(n)  # int or NumPy integer; not 2.0, not "2"
    except TypeError:
        raise bad from None
    if not 1 <= k <= hi:
        raise bad
    return k


def _blas():
    """threadpoolctl's controllers for the loaded BLAS libraries, or ImportError."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError as exc:
        raise ImportError(f"{_NO_THREADPOOLCTL} ({exc})") from None
    import numpy  # noqa: F401  # BLAS is loaded with NumPy: make sure it is there to find

    return ThreadpoolController().select(user_api="blas")


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for BLAS (matrix products, convolutions) in this process.

    Changes every BLAS library loaded in the process (through threadpoolctl), and
    numba's thread count for the calling thread when numba is already imported. Takes
    effect at once and lasts until changed; it overrides ``OPENBLAS_NUM_THREADS`` and the
    like, and turns the automatic count off (:func:`apply_default_threads`, :func:`retune`).

    Args:
        n: a positive int, at most the machine's CPU count.

    Raises:
        ValueError: ``n`` is not such an int.
        ImportError: threadpoolctl is not installed (the message says what to do instead).

    Warns:
        RuntimeWarning: threadpoolctl finds no BLAS library it can control.
    """
    k = _check(n)
    libs = _blas().lib_controllers
    if not libs:
        warnings.warn(_NO_BLAS, RuntimeWarning, stacklevel=2)
    _set(libs, k)
    _auto["off"] = True  # the user chose: retune() leaves it alone from now on


def _set(libs: list, k: int) -> None:
    for lib in libs:
        lib.set_num_threads(k)
    numba = sys.modules.get("numba")
    if numba is not None and hasattr(numba, "set_num_threads"):
        numba.set_num_threads(min(k, numba.config.NUMBA_NUM_THREADS))


def get_num_threads() -> int:
    """The number of threads BLAS uses in this process.

    With threadpoolctl, what the loaded BLAS libraries report (the largest, if several).
    Without it, or when it finds no BLAS it can control, what NumPy's OpenBLAS takes at
    import: the first of ``OPENBLAS_NUM_THREADS``, ``GOTO_NUM_THREADS``, ``OMP_NUM_THREADS``
    that is set, else the CPUs this process may run on.
    """
    try:
        counts = [lib.num_threads for lib in _blas().lib_controllers]
    except ImportError:
        counts = []
    return max(counts) if counts else user_env_threads() or _cpus()


def user_env_threads() -> int | None:
    """The thread count the user set through the environment (see ``ENV_VARS``), as
    OpenBLAS reads it: the first of its variables set to a positive int; None if none is."""
    for var in ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            try:
                k = int(value.split(",")[0])  # OMP_NUM_THREADS may be a list: "4,2"
            except ValueError:
                continue
            if k > 0:
                return k
    return None


def _cpus() -> int:
    """The CPUs this process may run on (its affinity mask), as OpenBLAS counts them."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _busy_ticks() -> int | None:
    """CPU time used by this machine's processes since boot (clock ticks), from /proc/stat.

    Without "steal", the time a virtual machine's host gave our CPUs to other machines:
    0.1-0.5 core of it on the development VM even when nothing else runs in it, and not
    something fewer threads of ours were measured to help with.
    """
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return user + nice + system + irq + softirq


def others_busy(probe_s: float = 0.2) -> float:
    """How many cores other processes keep busy now: the machine's busy time during a short
    sleep of ours, less our own threads' (Linux's /proc/stat); elsewhere the 1-minute load
    average.

    A look at the present, not the load average: that lags by a minute, so it misses a
    competitor started a few seconds before (a second run of a sweep) and still counts one
    that has just ended.
    """
    t0, b0, own0 = time.perf_counter(), _busy_ticks(), _own_seconds()
    if b0 is None:
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows
            return 0.0
    time.sleep(probe_s)
    b1, own1, wall = _busy_ticks(), _own_seconds(), time.perf_counter() - t0
    if b1 is None:
        return 0.0
    # less our own threads' time (BLAS threads still spinning after a product)
    others = (b1 - b0) / os.sysconf("SC_CLK_TCK") - (own1 - own0)
    return max(0.0, others / wall)


def _own_seconds() -> float:
    """CPU time of this process, all threads (user + system)."""
    t = os.times()
    return t.user + t.system


def default_num_threads(others: float | None = None) -> int:
    """The BLAS thread count deepgrad's command picks: the CPUs this process may run on,
    less the cores other processes keep busy (rounded), at least 1.

    On the 2-core machine: 2 threads alone, 1 thread beside a CPU-bound process (the
    example CNN's steps 1.7-2x faster there than with 2 threads; alone, 1 and 2 threads
    take the same time for them, while large products are 1.9x faster on 2). Others
    get a whole core from 0.5 on: a busy loop beside our 2 spinning threads gets 0.8-0.9.

    Args:
        others: cores busy elsewhere; measured by :func:`others_busy` when None.
    """
    cpus = _cpus()
    if others is None:
        others = others_busy()
    return max(1, min(cpus, cpus - math.floor(others + 0.5)))


def apply_default_threads() -> int | None:
    """Set BLAS (and numba, if imported) to :func:`default_num_threads` unless the user
    chose: returns the count now in use, or None when it left them alone (an ``ENV_VARS``
    variable is set, or threadpoolctl is missing or finds no BLAS it can control).

    For a program that owns its process (the ``deepgrad`` command calls it at start when
    ``--threads`` is not given), before its first product. A competitor that starts later,
    or at the same moment, is seen by :func:`retune`.
    """
    libs = _auto_libs()
    if libs is None:
        return None
    n = default_num_threads()
    _set(libs, n)
    _auto["last"] = _sample()
    return n


def retune(min_interval_s: float = 2.0) -> int | None:
    """Re-decide the automatic thread count from what other processes used since the
    last decision (no sleep: the interval between calls is the probe). Cheap enough to call
    after every batch: it does nothing until ``min_interval_s`` have passed.

    Catches what one look at start cannot: a competitor started later, or one started at
    the same moment (two runs of a sweep each probe while the other sleeps in its own
    probe, see nothing, and both take every core). Our own threads' time is left out,
    so it can be called while training runs.

    Returns the new count when it changed it, else None. Never acts when the user chose
    (:func:`set_num_threads`, an ``ENV_VARS`` variable), without threadpoolctl, or off
    Linux (no /proc/stat).
    """
    last = _auto["last"]
    now = time.perf_counter()
    if _auto["off"] or (last is not None and now - last[0] < min_interval_s):
        return None
    sample = _sample()
    _auto["last"] = sample
    if last is None or sample[1] is None or last[1] is None:
        return None
    wall = sample[0] - last[0]
    others = (sample[1] - last[1]) / os.sysconf("SC_CLK_TCK") - (sample[2] - last[2])
    libs = _auto_libs()
    if libs is None:
        return None
    n = default_num_threads(max(0.0, others / wall))
    if all(lib.num_threads == n for lib in libs):
        return None
    _set(libs, n)
    return n


#: retune()'s state: "off" once the user chose; "last": (time, machine ticks, own seconds)
_auto: dict = {"off": False, "last": None}


def _sample() -> tuple[float, int | None, float]:
    return time.perf_counter(), _busy_ticks(), _own_seconds()


def _auto_libs() -> list | None:
    """The BLAS controllers when the automatic count may act, else None (the user chose,
    or threadpoolctl is missing or finds no BLAS)."""
    if _auto["off"] or any(os.environ.get(var, "").strip() for var in ENV_VARS):
        return None
    try:
        return _blas().lib_controllers or None
    except ImportError:
        return None

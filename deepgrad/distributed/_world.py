"""The MPI world: joined lazily, so that a script run alone never imports mpi4py.

A process started by ``mpiexec``/``mpirun`` (MPICH's Hydra sets ``PMI_SIZE``, Open MPI
``OMPI_COMM_WORLD_SIZE``, PMIx launchers ``PMIX_SIZE``) joins the world on the first call
that needs it; any other process is a world of one and imports nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from typing import Any

__all__ = ["init", "rank", "world_size", "is_main", "barrier", "comm", "abort",
           "is_initialized", "launched_by_mpi", "describe"]

_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")
_MISSING = ("deepgrad.distributed needs mpi4py and an MPI library for a run under mpiexec: "
            'pip install "deepgrad[mpi]" (mpi4py and the mpich wheel)')


class _State:
    comm: Any = None  # mpi4py's COMM_WORLD once joined
    rank = 0
    size = 1
    joined = False  # init() ran (in MPI or as a world of one)
    hook_installed = False


_S = _State()


def launched_by_mpi() -> bool:
    """True when an MPI launcher started this process with more than one rank."""
    for var in _SIZE_VARS:
        v = os.environ.get(var)
        if v is not None and v.strip().isdigit() and int(v) > 1:
            return True
    return False


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI  # noqa: PLC0415 - optional, only under a launcher
    except ImportError as e:
        raise ImportError(f"{_MISSING} ({e})") from None
    return MPI


def init(use_mpi: bool | None = None) -> int:
    """Join the MPI world when launched by ``mpiexec`` (else a world of one); idempotent.

    Under MPI with more than one rank it also installs an exception hook: an uncaught
    exception on any rank prints that rank's traceback and calls
    ``MPI.COMM_WORLD.Abort(1)``, so every rank ends at once instead of waiting forever in
    a collective.

    Args:
        use_mpi: None detects the launcher from the environment; True joins MPI even for
            one rank (and needs mpi4py); False forces a world of one.

    Returns:
        The world size.
    """
    if _S.joined:
        return _S.size
    want = launched_by_mpi() if use_mpi is None else bool(use_mpi)
    if want:
        MPI = _import_mpi()
        _S.comm = MPI.COMM_WORLD
        _S.rank, _S.size = _S.comm.Get_rank(), _S.comm.Get_size()
        if _S.size > 1:
            _install_abort_hook()
    _S.joined = True
    return _S.size


def is_initialized() -> bool:
    """Whether :func:`init` ran (explicitly or through any call below)."""
    return _S.joined


def comm() -> Any:
    """mpi4py's ``COMM_WORLD`` (None in a world of one)."""
    init()
    return _S.comm


def rank() -> int:
    """This process's rank, 0 .. world_size()-1 (0 alone)."""
    init()
    return _S.rank


def world_size() -> int:
    """The number of processes training together (1 alone)."""
    return init()


def is_main() -> bool:
    """True on rank 0, the rank that prints and writes files."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank gets here (nothing alone)."""
    if world_size() > 1:
        _S.comm.Barrier()


#: seconds a rank waits between printing its message and ``Abort``: the launcher (Hydra's
#: proxy) forwards a rank's output asynchronously and stops forwarding once the abort
#: tears the job down, so without the pause the message is sometimes lost
ABORT_GRACE_S = 0.5


def abort(message: str | None = None, code: int = 1) -> None:
    """Print ``message`` prefixed with this rank, then end every rank (``Abort``)."""
    if message:
        sys.stderr.write(f"[rank {_S.rank}/{_S.size}] {message.rstrip()}\n")
    for stream in (sys.stderr, sys.stdout):
        with contextlib.suppress(Exception):  # a closed or broken stream must not stop us
            stream.flush()
    if _S.comm is not None and _S.size > 1:
        time.sleep(ABORT_GRACE_S)  # let the launcher forward the message first
        _S.comm.Abort(code)
    raise SystemExit(code)


def describe(batch_size: int | None) -> str:
    """One line for a run's header: world size, per-process and global batch."""
    p = world_size()
    if batch_size is None:
        return f"data-parallel on {p} ranks: full batch (each rank its shard)"
    return (f"data-parallel on {p} ranks: batch {batch_size} per process, global batch "
            f"{batch_size * p}")


def _abort_hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    text = "".join(traceback.format_exception(kind, value, tb))
    code = 130 if issubclass(kind, KeyboardInterrupt) else 1
    abort(f"error, ending all ranks:\n{text}", code)


def _install_abort_hook() -> None:
    if not _S.hook_installed:
        sys.excepthook = _abort_hook
        _S.hook_installed = True

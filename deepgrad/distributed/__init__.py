"""Data-parallel training on MPI (Horovod's shape): a world of ranks started by ``mpiexec``,
collectives, an optimizer wrapper that averages bucketed flat gradients, a sampler, and
SyncBatchNorm.

``import deepgrad.distributed`` imports no MPI: mpi4py is imported the first time a call
needs the world while the process was started by an MPI launcher (``pip install
"deepgrad[mpi]"``). Alone, every function works as a world of one, so the same script runs
with ``python train.py`` and ``mpiexec -n 4 python train.py``.

Example:
    >>> import deepgrad.distributed as dist
    >>> dist.init()
    >>> opt = dist.DistributedOptimizer(dg.optim.Adam(model.parameters(), lr=1e-3))
    >>> dist.broadcast_parameters(model); dist.broadcast_optimizer_state(opt)
    >>> sampler = dist.DistributedSampler(len(ds), shuffle=True, seed=0)
    >>> loader = dg.data.DataLoader(ds, batch_size=64, sampler=sampler)
"""

from __future__ import annotations

from ._world import (
    abort,
    barrier,
    comm,
    describe,
    init,
    is_initialized,
    is_main,
    launched_by_mpi,
    rank,
    world_size,
)
from .collectives import (
    DistributedMismatchError,
    allgather_object,
    allreduce,
    broadcast,
    broadcast_buffers,
    broadcast_object,
    broadcast_optimizer_state,
    broadcast_parameters,
    check_same_everywhere,
)
from .optimizer import DEFAULT_BUCKET_MB, DistributedOptimizer, GradientAverager
from .sampler import DistributedSampler
from .sync_batchnorm import SyncBatchNorm

__all__ = [
    "init", "rank", "world_size", "is_main", "barrier", "abort", "comm", "is_initialized",
    "launched_by_mpi", "describe", "allreduce", "broadcast", "allgather_object", "broadcast_object",
    "broadcast_parameters", "broadcast_buffers", "broadcast_optimizer_state",
    "check_same_everywhere", "DistributedMismatchError", "DistributedOptimizer",
    "GradientAverager", "DEFAULT_BUCKET_MB", "DistributedSampler", "SyncBatchNorm",
]

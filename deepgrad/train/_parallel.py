"""fit's data-parallel hooks (used when ``deepgrad.distributed.world_size() > 1``).

``fit`` calls these few functions; with one process each returns at once (no MPI import).
Under ``mpiexec -n N``: the training arrays are sharded by a DistributedSampler
(``batch_size`` per process), the ranks check that they agree and take rank 0's weights
and optimizer state, gradients are averaged by a bucketed Allreduce before every step (ahead
of any clipping hook), the epoch's loss and metrics are reduced exactly over all ranks,
rank 0's BatchNorm statistics are shared before validation, and rank 0's logs are what
every rank's callbacks see (so EarlyStopping and friends decide alike). Only rank 0 prints
progress; file-writing callbacks (ModelCheckpoint, CSVLogger, and any callback with
``rank0_only = True``) run on rank 0 only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from .. import distributed as dist
from ..callbacks import Callback, CSVLogger, ModelCheckpoint
from ..data import DataLoader

__all__ = ["world", "refuse", "array_loader", "begin", "end", "set_epoch", "global_streams",
           "global_sum", "before_validation", "agree", "callbacks_for_rank",
           "verbose_for_rank", "Session"]


def world() -> int:
    """The world size (1 alone, without importing MPI)."""
    return dist.world_size()


def refuse(what: str) -> None:
    """Raise (on every rank alike) for a path that is not data-parallel yet."""
    if world() > 1:
        raise NotImplementedError(f"{what} is not data-parallel yet: run it in one process "
                                  f"(it was started on {world()} ranks)")


def array_loader(dataset: Any, batch_size: int | None, shuffle: bool, seed: int | None
                 ) -> DataLoader:
    """fit's loader over training arrays: this rank's shard when data-parallel."""
    if world() == 1:
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if seed is None:  # one fresh seed, rank 0's, for the shared permutations
        import numpy as np  # noqa: PLC0415

        seed = dist.broadcast_object(int(np.random.default_rng().integers(2**31)))
    sampler = dist.DistributedSampler(len(dataset), shuffle=shuffle, seed=int(seed))
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler)


def set_epoch(data: Any, epoch: int) -> None:
    """Tell a DistributedSampler under ``data`` (a Batches or a loader) the epoch; under
    mpiexec, warn when the data is not sharded (every rank would train on all of it)."""
    loader = getattr(data, "data", data)
    sampler = getattr(loader, "sampler", None)
    if sampler is not None and hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    elif world() > 1:
        warnings.warn(
            f"fit on {world()} ranks: the training data is not sharded, so every rank "
            "trains on all of it each epoch (no speed-up); "
            "give the DataLoader sampler=deepgrad.distributed.DistributedSampler(n), or "
            "pass arrays", stacklevel=4)


def verbose_for_rank(verbose: Any) -> Any:
    """``verbose`` on rank 0, silent elsewhere."""
    return verbose if world() == 1 or dist.is_main() else 0


def callbacks_for_rank(callbacks: Sequence[Callback] | None) -> list[Callback]:
    """The callbacks this rank runs: file writers only on rank 0."""
    cbs = list(callbacks or [])
    if world() == 1 or dist.is_main():
        return cbs
    return [c for c in cbs if not (isinstance(c, ModelCheckpoint | CSVLogger)
                                   or getattr(c, "rank0_only", False))]


class Session:
    """What :func:`begin` installed: the gradient averager and its step pre-hook."""

    def __init__(self, averager: dist.GradientAverager, hook: Any) -> None:
        self.averager, self.hook = averager, hook


def begin(model: Any, params: dict[str, Any], verbose: Any) -> Session | None:
    """Before the first step: one collective check that the ranks agree, rank 0's weights
    and optimizer state everywhere, and gradient averaging installed as the optimizer's
    first step pre-hook. Returns the Session (None alone); pass it to :func:`end`."""
    if world() == 1:
        return None
    opt = model.optimizer
    dist.check_same_everywhere({
        "parameters": [(n, tuple(p.shape), str(p.dtype), bool(p.requires_grad))
                       for n, p in model.named_parameters()],
        "buffers": [(n, tuple(b.shape)) for n, b in model.named_buffers() if b is not None],
        "optimizer": type(opt).__name__,
        "fit": {k: params.get(k) for k in ("epochs", "steps", "samples", "batch_size",
                                           "metrics")},
    }, "the model, the optimizer, the data or fit's arguments")
    dist.broadcast_parameters(model)
    dist.broadcast_optimizer_state(opt)
    averager = dist.GradientAverager([p for g in opt.param_groups for p in g["params"]])
    def hook(_opt: Any) -> None:
        averager.average()

    opt.step_pre_hooks.insert(0, hook)  # first, so clipping hooks see the average
    if verbose and dist.is_main():
        print(dist.describe(params.get("batch_size")), flush=True)
    return Session(averager, hook)


def end(model: Any, session: Session | None) -> None:
    """Remove the averaging hook that :func:`begin` installed."""
    if session is None:
        return
    hooks = model.optimizer.step_pre_hooks
    for i, h in enumerate(hooks):
        if h is session.hook:
            del hooks[i]
            break


def global_sum(total: float, count: int) -> tuple[float, int]:
    """``(total, count)`` summed over all ranks (a weighted mean's parts)."""
    if world() == 1:
        return total, count
    import numpy as np  # noqa: PLC0415

    buf = dist.allreduce(np.array([total, count], dtype=np.float64), "sum")
    return float(buf[0]), int(round(buf[1]))


class _GlobalStream:
    """Records a rank's (y, probabilities) batches; ``result`` replays every rank's
    batches into a fresh metric, so the epoch value is that of the global data."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.batches: list[tuple[Any, Any]] = []

    def reset(self) -> None:
        self.batches = []

    def update(self, y: Any, probs: Any) -> None:
        from ..backend import to_numpy  # noqa: PLC0415

        self.batches.append((to_numpy(y), to_numpy(probs)))

    def result(self) -> Any:
        fresh = self.stream.clone() if hasattr(self.stream, "clone") else self.stream
        fresh.reset()
        for batches in dist.allgather_object(self.batches):
            for y, p in batches:
                fresh.update(y, p)
        return fresh.result()


def global_streams(streams: list[Any]) -> list[Any]:
    """Streaming metrics whose results cover every rank's batches."""
    if world() == 1:
        return streams
    return [_GlobalStream(s) for s in streams]


def before_validation(model: Any) -> None:
    """Rank 0's buffers (BatchNorm running statistics) on every rank, so that every rank
    validates, and rank 0 saves, the same model."""
    if world() > 1:
        dist.broadcast_buffers(model)


def agree(logs: dict[str, float] | None) -> dict[str, float] | None:
    """Rank 0's epoch logs on every rank (they are global values already; this makes
    them bitwise equal, so callbacks decide alike)."""
    if world() == 1:
        return logs
    return dist.broadcast_object(logs)

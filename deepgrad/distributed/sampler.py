"""DistributedSampler: each rank's share of the example indices, PyTorch's rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _world as W

__all__ = ["DistributedSampler"]


def _int(v: Any, name: str, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
    return int(v)


class DistributedSampler:
    """The indices of one rank's examples for the current epoch (``torch``'s
    ``DistributedSampler``).

    Each epoch all ranks draw the same permutation (seeded by ``seed + epoch``; the
    identity without shuffling); it is padded by repeating its first indices up to a
    multiple of the world size (or, with ``drop_last``, cut down to one), and rank ``r``
    takes every ``world_size``-th index starting at ``r``. So every rank runs the same
    number of steps, and together the ranks see each example once per epoch (plus the
    padding). Call ``set_epoch(e)`` at the start of each epoch (``fit`` does).

    Args:
        n: the number of examples, or a dataset (its ``len``).
        shuffle: a fresh shared permutation each epoch.
        seed: the permutation's seed, the same on every rank.
        drop_last: drop the tail that does not divide evenly instead of padding.
        num_replicas, rank: override the world size and this rank (default: the MPI
            world's).

    Example:
        >>> sampler = dist.DistributedSampler(len(ds), shuffle=True, seed=0)
        >>> loader = DataLoader(ds, batch_size=32, sampler=sampler)
        >>> for epoch in range(3):
        ...     sampler.set_epoch(epoch)
        ...     for xb, yb in loader: ...
    """

    def __init__(self, n: Any, shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                 num_replicas: int | None = None, rank: int | None = None) -> None:
        if not isinstance(n, int | np.integer) and hasattr(n, "__len__"):
            n = len(n)
        self.n = _int(n, "n", 0)
        self.shuffle = bool(shuffle)
        self.seed = _int(seed, "seed", 0)
        self.drop_last = bool(drop_last)
        self.num_replicas = (W.world_size() if num_replicas is None
                             else _int(num_replicas, "num_replicas", 1))
        self.rank = W.rank() if rank is None else _int(rank, "rank", 0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"rank must be in [0, {self.num_replicas}), got {self.rank}")
        self.epoch = 0
        p = self.num_replicas
        if self.drop_last and self.n % p:
            self.num_samples = self.n // p
        else:
            self.num_samples = -(-self.n // p)
        self.total_size = self.num_samples * p

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of this epoch (the same on every rank)."""
        self.epoch = _int(epoch, "epoch", 0)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(self.n)
        else:
            order = np.arange(self.n)
        if not self.drop_last:
            pad = self.total_size - self.n
            if pad > 0 and self.n > 0:
                order = np.concatenate([order, np.resize(order, pad)])
        else:
            order = order[: self.total_size]
        return order[self.rank : self.total_size : self.num_replicas].astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (f"DistributedSampler(n={self.n}, rank={self.rank}/{self.num_replicas}, "
                f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last}, "
                f"epoch={self.epoch})")

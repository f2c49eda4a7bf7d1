"""DataLoader: iterate over a dataset in (shuffled) mini-batches."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..backend import to_device
from ._rng import as_generator, check_seed
from .dataset import ArrayDataset, gather

__all__ = ["DataLoader"]


class DataLoader:
    """Mini-batches of a dataset, with a fresh shuffled order each epoch.

    For an :class:`ArrayDataset` (or a Subset of one) each batch is gathered by one
    fancy-indexing take per array; any other Dataset falls back to ``ds[i]`` per
    example and stacks the fields. Each ``iter(loader)`` is one epoch.

    Args:
        dataset: a Dataset, or a tuple/list of arrays (wrapped in an ArrayDataset).
        batch_size: examples per batch; None means the whole dataset as one batch.
        shuffle: draw a new random order each epoch.
        drop_last: drop the final batch when it is smaller than ``batch_size``.
        seed: None, an int or a Generator. The generator is created once, so a given
            seed gives the same sequence of epoch orders in every run.
        transform: callable applied to the first array of each batch (e.g. augmentation).
        device: None/'cpu', or 'cuda' to move every batch to the GPU.
        sampler: where each epoch's indices come from instead of ``range(len(dataset))``:
            an object with ``__len__`` and ``__iter__`` over example indices (re-iterated
            every epoch), e.g. ``deepgrad.distributed.DistributedSampler``. Exclusive
            with ``shuffle``.
        prefetch: batches prepared ahead by one background thread while the caller trains
            on the current one (TensorFlow's ``dataset.prefetch``); 0 (the default)
            prepares each batch when it is asked for. The batches and their order are the
            same either way; the gather and ``transform`` run in that thread, so give a
            random transform its own ``seed`` (a generator shared with the training
            thread would be drawn from in a varying order). An exception there is raised
            in the caller at the batch it concerns.

    Yields:
        Tuples of arrays, one per dataset field, each of shape (batch, ...).

    Example:
        >>> loader = DataLoader(ArrayDataset(X, y), batch_size=64, shuffle=True, seed=0)
        >>> for xb, yb in loader: ...
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: Any = None,
        transform: Callable[[Any], Any] | None = None,
        device: str | None = None,
        sampler: Any = None,
        prefetch: int = 0,
    ) -> None:
        if isinstance(dataset, (tuple, list)):
            dataset = ArrayDataset(*dataset)
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"dataset must define __len__ and __getitem__ (a Dataset), "
                f"got {type(dataset).__name__}"
            )
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        check_seed(seed)
        if sampler is not None:
            if not (hasattr(sampler, "__len__") and hasattr(sampler, "__iter__")):
                raise TypeError(f"sampler must define __len__ and __iter__ (over indices), "
                                f"got {type(sampler).__name__}")
            if shuffle:
                raise ValueError("sampler and shuffle=True are exclusive: the sampler "
                                 "decides the order (e.g. DistributedSampler(shuffle=True))")
        if isinstance(prefetch, bool) or not isinstance(prefetch, (int, np.integer)) or \
                prefetch < 0:
            raise ValueError(f"prefetch must be an integer >= 0, got {prefetch!r}")
        if device is not None and not (
            str(device) in ("cpu", "cuda", "gpu") or str(device).startswith("cuda:")
        ):
            raise ValueError(f"device must be None, 'cpu', 'cuda' or 'cuda:N', got {device!r}")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.device = None if device is None or str(device) == "cpu" else device
        self._rng = as_generator(seed) if self.shuffle else None
        self.sampler = sampler
        self.prefetch = int(prefetch)

    def _bs(self) -> int:
        return max(self._n(), 1) if self.batch_size is None else self.batch_size

    def _n(self) -> int:
        return len(self.dataset) if self.sampler is None else len(self.sampler)

    def __len__(self) -> int:
        n, bs = self._n(), self._bs()
        if n == 0:
            return 0
        return n // bs if self.drop_last else -(-n // bs)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        batches = self._batches()
        if self.prefetch == 0 or len(self) < 2:
            return batches
        return _prefetched(batches, self.prefetch)

    def _batches(self) -> Iterator[tuple[Any, ...]]:
        n, bs = self._n(), self._bs()
        order = self._rng.permutation(n) if self._rng is not None else None
        if self.sampler is not None:
            order = np.fromiter(self.sampler, dtype=np.int64, count=n)
        for b in range(len(self)):
            start, stop = b * bs, min((b + 1) * bs, n)
            idx = slice(start, stop) if order is None else order[start:stop]
            batch = gather(self.dataset, idx)
            if self.transform is not None:
                batch = (self.transform(batch[0]), *batch[1:])
            if self.device is not None:
                batch = tuple(to_device(a, self.device) for a in batch)
            yield batch

    def __repr__(self) -> str:
        return (
            f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)}"
            + (f", prefetch={self.prefetch})" if self.prefetch else ")")
        )


_END = object()


def _prefetched(batches: Iterator[Any], depth: int) -> Iterator[Any]:
    """``batches`` produced by a daemon thread up to ``depth`` ahead of the consumer.

    The thread stops when the consumer stops early (``break``, an exception, Ctrl-C: the
    generator is closed), and an exception in the thread is raised here, in order.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in batches:
                if not put((item, None)):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the consumer to raise
            put((_END, e))
            return
        finally:
            batches.close()
        put((_END, None))

    worker = threading.Thread(target=produce, name="deepgrad-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, err = q.get()
            if item is _END:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5.0)

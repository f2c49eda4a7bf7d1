"""DataLoader(prefetch=N): the same batches, prepared ahead by a background thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from deepgrad.data import ArrayDataset, DataLoader, RandomCrop
from deepgrad.distributed import DistributedSampler


def _data(n=53):
    rng = np.random.default_rng(0)
    return rng.random((n, 1, 6, 6)).astype(np.float32), rng.integers(0, 3, n)


def _alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "deepgrad-prefetch"]


def _wait_gone(timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while _alive() and time.monotonic() < end:
        time.sleep(0.01)
    return not _alive()


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("kind", ["shuffle", "transform", "sampler", "plain"])
def test_prefetched_batches_are_the_same_batches(kind, depth):
    X, y = _data()

    def loader(prefetch):
        kw = {"batch_size": 8, "prefetch": prefetch}
        if kind in ("shuffle", "transform"):
            kw.update(shuffle=True, seed=3)
        if kind == "transform":
            kw["transform"] = RandomCrop((6, 6), padding=1, seed=4)
        if kind == "sampler":
            kw["sampler"] = DistributedSampler(len(X), seed=2, rank=1, num_replicas=2)
        return DataLoader(ArrayDataset(X, y), **kw)

    a, b = loader(0), loader(depth)
    for _ in range(2):  # two epochs: the shuffled orders follow the seed either way
        ea, eb = list(a), list(b)
        assert len(ea) == len(eb) == len(a)
        for (xa, ya), (xb, yb) in zip(ea, eb, strict=True):
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert _wait_gone()


def test_batches_are_made_in_the_background_ahead_of_the_consumer():
    X, y = _data(40)
    made: list[int] = []
    third = threading.Event()

    def mark(xb):
        made.append(threading.get_ident())
        if len(made) == 3:
            third.set()
        return xb

    it = iter(DataLoader(ArrayDataset(X, y), batch_size=8, transform=mark, prefetch=2))
    next(it)
    # the consumer holds batch 0; the thread goes on with batches 1 and 2 meanwhile
    assert third.wait(5.0)
    assert threading.get_ident() not in made
    assert len(list(it)) == 4
    assert _wait_gone()


def test_an_error_in_the_thread_is_raised_at_its_batch():
    X, y = _data(40)
    count = [0]

    def fail_at_three(xb):
        count[0] += 1
        if count[0] == 3:
            raise RuntimeError("bad image in batch 3")
        return xb

    got = []
    with pytest.raises(RuntimeError, match="bad image in batch 3"):
        for xb, _ in DataLoader(ArrayDataset(X, y), batch_size=8, transform=fail_at_three,
                                prefetch=2):
            got.append(xb)
    assert len(got) == 2
    assert _wait_gone()


def test_stopping_early_stops_the_thread():
    X, y = _data(400)
    it = iter(DataLoader(ArrayDataset(X, y), batch_size=4, prefetch=2))
    next(it)
    assert _alive()
    it.close()  # what a `break` out of the for loop does
    assert _wait_gone()
    for i, _ in enumerate(DataLoader(ArrayDataset(X, y), batch_size=4, prefetch=1)):
        if i == 2:
            break
    assert _wait_gone()


def test_small_loaders_and_bad_values():
    X, y = _data(5)
    one = DataLoader(ArrayDataset(X, y), batch_size=8, prefetch=2)  # one batch: no thread
    assert [xb.shape for xb, _ in one] == [(5, 1, 6, 6)]
    assert "prefetch=2" in repr(one) and "prefetch" not in repr(DataLoader(ArrayDataset(X, y)))
    empty = DataLoader(ArrayDataset(X[:0], y[:0]), batch_size=2, prefetch=1)
    assert list(empty) == []
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="prefetch must be an integer >= 0"):
            DataLoader(ArrayDataset(X, y), prefetch=bad)

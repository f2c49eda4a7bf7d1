"""DistributedOptimizer: averages the gradients across ranks before every step, packed into
a few flat buffers (Horovod's tensor fusion, PyTorch DDP's buckets)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._config import enable_grad
from ..backend import get_array_module, to_numpy
from . import _world as W

__all__ = ["DistributedOptimizer", "GradientAverager", "DEFAULT_BUCKET_MB"]

DEFAULT_BUCKET_MB = 16.0
_COMPRESSIONS = (None, "none", "fp16")


class GradientAverager:
    """Averages the ``.grad`` of a list of parameters over all ranks, in place.

    Parameters whose ``requires_grad`` is False (frozen) are skipped. The others are packed,
    in order and grouped by dtype, into flat contiguous buffers of at most
    ``bucket_mb`` megabytes (a larger parameter gets a bucket of its own); each bucket is
    summed by one in-place ``Allreduce``, and the sums times ``1/world_size`` are written
    back into each gradient. A trainable parameter without a gradient on
    this rank contributes zeros (so every rank sends the same buckets) and receives the
    average; one without a gradient on every rank keeps ``grad = None`` (each bucket
    carries one presence count per parameter), so the optimizer skips it as it would alone.

    Args:
        params: the parameters (objects with ``.data``, ``.grad``, ``.requires_grad``).
        bucket_mb: the bucket size in megabytes (10**6 bytes).
        compression: None (the gradients' dtype) or "fp16" (buckets sent as float16:
            half the bytes, about 3 significant digits; the result is cast back).

    Attributes:
        seconds: total time spent packing, reducing and unpacking (for profiling).
        calls: number of ``Allreduce`` calls made.
    """

    def __init__(self, params: list[Any], bucket_mb: float = DEFAULT_BUCKET_MB,
                 compression: str | None = None) -> None:
        if not bucket_mb > 0:
            raise ValueError(f"bucket_mb must be > 0, got {bucket_mb!r}")
        if compression not in _COMPRESSIONS:
            raise ValueError(f"compression must be None or 'fp16', got {compression!r}")
        self.params = list(params)
        self.bucket_bytes = int(bucket_mb * 1e6)
        self.compression = None if compression == "none" else compression
        self.seconds = 0.0
        self.calls = 0
        self._key: tuple[int, ...] | None = None
        self._buckets: list[tuple[Any, list[tuple[Any, int, int]]]] = []

    def _layout(self) -> list[tuple[Any, list[tuple[Any, int, int]]]]:
        live = [p for p in self.params if getattr(p, "requires_grad", True)]
        key = tuple(id(p) for p in live)
        if key == self._key:
            return self._buckets
        by_dtype: dict[Any, list[Any]] = {}
        for p in live:
            by_dtype.setdefault(p.data.dtype, []).append(p)
        buckets = []
        for dtype, ps in by_dtype.items():
            item = np.dtype(dtype).itemsize
            current: list[tuple[Any, int, int]] = []
            used = 0
            for p in ps:
                n = int(p.data.size)
                if current and (used + n) * item > self.bucket_bytes:
                    buckets.append((dtype, current))
                    current, used = [], 0
                current.append((p, used, used + n))
                used += n
            if current:
                buckets.append((dtype, current))
        self._buckets = [(self._buffer(dtype, items), items) for dtype, items in buckets]
        self._key = key
        return self._buckets

    def _buffer(self, dtype: Any, items: list[tuple[Any, int, int]]) -> Any:
        xp = get_array_module(items[0][0].data)
        return xp.zeros(items[-1][2] + len(items), dtype=dtype)  # + one presence count each

    def bucket_sizes(self) -> list[int]:
        """The number of gradient elements in each bucket (for tests and profiling)."""
        return [int(buf.size) - len(items) for buf, items in self._layout()]

    def average(self) -> None:
        """Average every trainable parameter's gradient over all ranks (in place)."""
        if W.world_size() == 1:
            return
        from mpi4py import MPI  # noqa: PLC0415 - only reached under MPI

        t0 = time.perf_counter()
        comm, scale = W.comm(), 1.0 / W.world_size()
        for buf, items in self._layout():
            end = items[-1][2]
            for i, (p, a, b) in enumerate(items):
                g = p.grad
                if g is None:
                    buf[a:b] = 0
                    buf[end + i] = 0
                else:
                    g = g.data if hasattr(g, "requires_grad") else g
                    buf[a:b] = g.reshape(-1)
                    buf[end + i] = 1
            host = to_numpy(buf)
            send = host.astype(np.float16) if self.compression == "fp16" else host
            comm.Allreduce(MPI.IN_PLACE, send, op=MPI.SUM)
            self.calls += 1
            if send is not host:
                host[...] = send
            present = host[end:].copy()
            if host is not buf:
                buf[...] = get_array_module(buf).asarray(host)
            xp, s = get_array_module(buf), buf.dtype.type(scale)
            for i, (p, a, b) in enumerate(items):  # the sum x 1/world_size, written back
                g = p.grad                            # in the same pass
                flat = buf[a:b].reshape(p.data.shape)
                if g is None:
                    if present[i] > 0:  # another rank had a gradient for it
                        p.grad = flat * s
                else:
                    xp.multiply(flat, s, out=g.data if hasattr(g, "requires_grad") else g)
        self.seconds += time.perf_counter() - t0


class DistributedOptimizer:
    """Wraps an optimizer so that ``step()`` first averages the gradients over all ranks.

    Everything else (``zero_grad``, ``param_groups``, ``state_dict``, ``lr``, schedulers)
    is the wrapped optimizer's, so checkpoints are those of a single process. The
    wrapped optimizer's step pre-hooks (gradient clipping) run after the averaging, on the
    averaged gradient; to clip by hand in a loop, call ``synchronize()`` first, clip, then
    ``step()`` inside ``with opt.skip_synchronize():`` (Horovod's pattern).

    Args:
        optimizer: any deepgrad optimizer.
        bucket_mb: flat buffer size in megabytes (one Allreduce per bucket).
        compression: None, or "fp16" to send the buckets as float16.

    Example:
        >>> opt = dist.DistributedOptimizer(dg.optim.SGD(model.parameters(), lr=0.1))
        >>> dist.broadcast_parameters(model)
        >>> loss.backward(); opt.step()
    """

    def __init__(self, optimizer: Any, bucket_mb: float = DEFAULT_BUCKET_MB,
                 compression: str | None = None) -> None:
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("optimizer is already a DistributedOptimizer")
        if not hasattr(optimizer, "param_groups") or not hasattr(optimizer, "step"):
            raise TypeError(f"optimizer must be a deepgrad optimizer, got "
                            f"{type(optimizer).__name__}")
        self.__dict__["optimizer"] = optimizer
        params = [p for g in optimizer.param_groups for p in g["params"]]
        self.__dict__["averager"] = GradientAverager(params, bucket_mb, compression)
        self.__dict__["_synchronized"] = False
        self.__dict__["_skip"] = False

    def synchronize(self) -> None:
        """Average the gradients now (``step`` then does not average them again)."""
        self.averager.average()
        self.__dict__["_synchronized"] = True

    @contextlib.contextmanager
    def skip_synchronize(self) -> Iterator[None]:
        """Inside this block ``step()`` does not average (after a manual ``synchronize``)."""
        self.__dict__["_skip"] = True
        try:
            yield
        finally:
            self.__dict__["_skip"] = False

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Average the gradients over all ranks (unless done already), then step."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if not (self._skip or self._synchronized):
            self.averager.average()
        self.__dict__["_synchronized"] = False
        self.optimizer.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """The wrapped optimizer's ``zero_grad``."""
        self.optimizer.zero_grad(set_to_none)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["optimizer"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.optimizer, name, value)

    def __repr__(self) -> str:
        return f"DistributedOptimizer({self.optimizer!r})"

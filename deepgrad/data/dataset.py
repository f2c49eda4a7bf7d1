"""Datasets: the indexable collections a DataLoader draws batches from.

A :class:`Dataset` answers ``len(ds)`` and ``ds[i]``. An :class:`ArrayDataset` holds arrays
that share their first axis and can gather a whole batch in one fancy-indexing ``take``
per array, which is what makes :class:`~deepgrad.data.DataLoader` fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._rng import as_generator

__all__ = ["Dataset", "ArrayDataset", "TensorDataset", "Subset", "random_split"]


class Dataset:
    """Base class: subclasses define ``__len__`` and ``__getitem__(i)``.

    ``__getitem__`` returns one example: an array, a number, or a tuple of them
    (e.g. ``(x, y)``). The DataLoader stacks examples field by field.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


def _unwrap(a: Any) -> Any:
    """A Tensor's array (looked up by duck typing: data never imports autograd), else an array."""
    if hasattr(a, "requires_grad") and hasattr(a, "data"):
        a = a.data
    if isinstance(a, np.ndarray) or type(a).__module__.startswith("cupy"):
        return a
    return np.asarray(a)


class ArrayDataset(Dataset):
    """Arrays of equal length along their first axis; example ``i`` is ``(a[i] for a in arrays)``.

    Args:
        *arrays: NumPy (or CuPy) arrays or tensors, any rank >= 1, same first dimension.
        names: optional names for the arrays, used in error messages (default ``arrays[k]``).

    Raises:
        ValueError: no arrays, a 0-d array, or arrays of different lengths.

    Shape:
        arrays[k]: (m, ...) each; ``ds[i]`` is a tuple of arrays of shape (...).
    """

    def __init__(self, *arrays: Any, names: Sequence[str] | None = None) -> None:
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array, got none")
        if names is None:
            names = [f"arrays[{k}]" for k in range(len(arrays))]
        elif len(names) != len(arrays):
            raise ValueError(f"names has {len(names)} entries for {len(arrays)} arrays")
        self.names = tuple(names)
        self.arrays = tuple(_unwrap(a) for a in arrays)
        for name, a in zip(self.names, self.arrays, strict=True):
            if a.ndim == 0:
                raise ValueError(
                    f"{name} must have at least one dimension (examples first), got a scalar"
                )
        n0 = len(self.arrays[0])
        for name, a in zip(self.names[1:], self.arrays[1:], strict=True):
            if len(a) != n0:
                raise ValueError(
                    f"arrays must have the same number of examples (first dimension): "
                    f"{self.names[0]} has {n0} (shape {tuple(self.arrays[0].shape)}) but "
                    f"{name} has {len(a)} (shape {tuple(a.shape)})"
                )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> tuple[Any, ...]:
        return tuple(a[index] for a in self.arrays)

    def take(self, indices: Any) -> tuple[Any, ...]:
        """The batch at ``indices`` (an integer array or a slice): one gather per array."""
        if isinstance(indices, slice):
            return tuple(a[indices] for a in self.arrays)
        out = []
        for a in self.arrays:
            idx = indices
            if type(a).__module__.startswith("cupy") and isinstance(idx, np.ndarray):
                import cupy  # noqa: PLC0415 - only reached with CuPy arrays

                idx = cupy.asarray(idx)
            out.append(a[idx])
        return tuple(out)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in self.arrays)
        return f"ArrayDataset({shapes})"


TensorDataset = ArrayDataset
"""Alias of :class:`ArrayDataset` (PyTorch's name); tensors are unwrapped to their arrays."""


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: any Dataset.
        indices: integer positions into ``dataset`` (each in ``[0, len(dataset))``).
    """

    def __init__(self, dataset: Any, indices: Any) -> None:
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise ValueError(
                f"indices must be a 1-d sequence of integers, got shape {idx.shape} "
                f"dtype {idx.dtype}"
            )
        n = len(dataset)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = idx[(idx < 0) | (idx >= n)][0]
            raise ValueError(f"index {int(bad)} is out of range for a dataset of {n} examples")
        self.dataset = dataset
        self.indices = idx.astype(np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        return self.dataset[self.indices[index]]

    def take(self, indices: Any) -> tuple[Any, ...]:
        """The batch at ``indices``, gathered in one step when the parent supports ``take``."""
        return gather(self.dataset, self.indices[indices])


def gather(dataset: Any, indices: Any) -> tuple[Any, ...]:
    """A batch from any dataset: vectorized ``take`` when available, else stacked examples.

    Shape:
        indices: (b,) integers or a slice; returns a tuple of arrays of shape (b, ...).
    """
    if hasattr(dataset, "take"):
        return tuple(dataset.take(indices))
    if isinstance(indices, slice):
        indices = range(*indices.indices(len(dataset)))
    items = [dataset[int(i)] for i in indices]
    if not items:
        raise ValueError("cannot build an empty batch from a generic Dataset")
    if isinstance(items[0], (tuple, list)):
        width = len(items[0])
        for k, it in enumerate(items):
            if not isinstance(it, (tuple, list)) or len(it) != width:
                raise ValueError(
                    f"{type(dataset).__name__}[{int(indices[k])}] returned {type(it).__name__} "
                    f"with a different structure than the first example (a {width}-tuple)"
                )
        return tuple(_stack([it[f] for it in items]) for f in range(width))
    return (_stack(items),)


def _stack(values: list[Any]) -> Any:
    first = values[0]
    if type(first).__module__.startswith("cupy"):
        import cupy  # noqa: PLC0415 - only reached with CuPy arrays

        return cupy.stack(values)
    return np.stack([np.asarray(v) for v in values])


def random_split(
    dataset: Any, lengths: Sequence[int | float], seed: Any = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths.

    Args:
        dataset: any Dataset.
        lengths: integers summing to ``len(dataset)``, or fractions summing to 1
            (rounded down, the remainder handed out one by one from the first split).
        seed: None, an int or a ``numpy.random.Generator``.

    Returns:
        One Subset per entry of ``lengths``.
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("lengths must not be empty")
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in lengths):
        counts = [int(x) for x in lengths]
        if any(c < 0 for c in counts) or sum(counts) != n:
            raise ValueError(
                f"lengths must be non-negative and sum to the dataset's length {n}, "
                f"got {counts} (sum {sum(counts)})"
            )
    else:
        fracs = [float(x) for x in lengths]
        if any(f < 0 or f > 1 for f in fracs) or not math.isclose(sum(fracs), 1.0):
            raise ValueError(f"fractions must lie in [0, 1] and sum to 1, got {fracs}")
        counts = [int(math.floor(f * n)) for f in fracs]
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
    perm = as_generator(seed).permutation(n)
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start : start + c]))
        start += c
    return out

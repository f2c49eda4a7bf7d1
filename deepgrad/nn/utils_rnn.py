"""Variable-length sequences: PyTorch's PackedSequence, pack/pad helpers and pad_sequence.

Packing and unpacking are gathers (differentiable: gradients flow back to the padded
input); the recurrent layers accept a PackedSequence and run it as a padded batch with a
step mask, so padded steps neither change the state nor receive gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..autograd.ops.shape import concatenate, getitem, pad, stack, swapaxes
from ..autograd.tensor import Tensor
from ..backend import to_numpy

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "lengths_array"]


class PackedSequence(NamedTuple):
    """A batch of sequences packed time step by time step (PyTorch's layout).

    Attributes:
        data: (sum of lengths, *) the valid steps: step 0 of every sequence (longest
            first), then step 1 of every sequence still running, ...
        batch_sizes: (max length,) int64, how many sequences are running at each step.
        sorted_indices: batch order by decreasing length (None when already sorted).
        unsorted_indices: its inverse permutation (None when already sorted).
    """

    data: Tensor
    batch_sizes: np.ndarray
    sorted_indices: np.ndarray | None = None
    unsorted_indices: np.ndarray | None = None


def lengths_array(lengths: Any, batch: int, steps: int, name: str = "lengths") -> np.ndarray:
    """``lengths`` as an int64 NumPy vector, checked: one per sequence, in [1, steps]."""
    arr = np.asarray(to_numpy(lengths))
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iuf"):
        raise ValueError(f"{name} must be a 1-D sequence of integers, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integers, got {arr}")
    arr = arr.astype(np.int64)
    if arr.shape[0] != batch:
        raise ValueError(f"{name} has {arr.shape[0]} entries for a batch of {batch} sequences")
    if arr.size and (arr.min() < 1 or arr.max() > steps):
        raise ValueError(f"{name} must be in [1, {steps}] (the padded length), got values in "
                         f"[{arr.min()}, {arr.max()}]")
    return arr


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _pack(time_major: Tensor, lengths: np.ndarray, order: np.ndarray) -> Tensor:
    """Gather the valid steps of (T, N, *) in packed order (batch sorted by ``order``)."""
    ls = lengths[order]
    steps = np.arange(int(ls.max()))
    valid = steps[:, None] < ls[None, :]  # (T, N) in sorted order
    tt, bb = np.nonzero(valid)  # row-major: time step by time step, longest first
    return getitem(time_major, (tt, order[bb]))


def pack_padded_sequence(input: Any, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch of variable-length sequences (PyTorch's API).

    Args:
        input: padded batch, (T, N, *) or (N, T, *) with ``batch_first``.
        lengths: length of each sequence (a list, array or Tensor), each in [1, T].
        batch_first: whether ``input`` is batch-major.
        enforce_sorted: require ``lengths`` sorted in decreasing order; with False the
            batch is sorted here and the permutation kept in the result.

    Shape:
        input (T, N, *) -> data (sum(lengths), *).
    """
    x = _as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must have at least 2 dimensions, "
                         f"got shape {x.shape}")
    if batch_first:
        x = swapaxes(x, 0, 1)
    ls = lengths_array(lengths, x.shape[1], x.shape[0])
    if enforce_sorted:
        if np.any(np.diff(ls) > 0):
            raise ValueError("pack_padded_sequence: lengths must be sorted in decreasing order "
                             "when enforce_sorted=True (or pass enforce_sorted=False)")
        order, sorted_idx, unsorted_idx = np.arange(ls.size), None, None
    else:
        order = np.argsort(-ls, kind="stable")
        sorted_idx, unsorted_idx = order, np.argsort(order)
    batch_sizes = (np.arange(int(ls.max()))[:, None] < ls[None, :]).sum(axis=1).astype(np.int64)
    return PackedSequence(_pack(x, ls, order), batch_sizes, sorted_idx, unsorted_idx)


def _lengths_of(sequence: PackedSequence) -> np.ndarray:
    """Lengths in the original batch order."""
    bs = np.asarray(sequence.batch_sizes)
    ls = (np.arange(int(bs[0]))[None, :] < bs[:, None]).sum(axis=0)  # sorted order
    if sequence.unsorted_indices is not None:
        ls = ls[np.asarray(sequence.unsorted_indices)]
    return ls.astype(np.int64)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None
                        ) -> tuple[Tensor, np.ndarray]:
    """Undo ``pack_padded_sequence``: (padded batch in the original order, lengths).

    Args:
        sequence: a PackedSequence.
        batch_first: return (N, T, *) instead of (T, N, *).
        padding_value: value of the padded positions.
        total_length: pad to this many steps (at least the longest length).

    Shape:
        data (sum(lengths), *) -> (T, N, *) or (N, T, *); lengths (N,) int64.
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    data = _as_tensor(sequence.data)
    lengths = _lengths_of(sequence)
    T = int(lengths.max())
    if total_length is not None:
        if int(total_length) < T:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is less than "
                             f"the longest sequence ({T})")
        T = int(total_length)
    order = (np.asarray(sequence.sorted_indices) if sequence.sorted_indices is not None
             else np.arange(lengths.size))
    ls = lengths[order]
    valid = np.arange(T)[:, None] < ls[None, :]
    index = np.full(valid.shape, data.shape[0], dtype=np.int64)  # padded -> the extra row
    index[valid] = np.arange(data.shape[0])
    index = index[:, np.argsort(order)]  # back to the original batch order
    filler = Tensor(np.full((1,) + data.shape[1:], padding_value, dtype=data.dtype))
    padded = getitem(concatenate([data, filler], axis=0), index)
    return (swapaxes(padded, 0, 1) if batch_first else padded), lengths


def pad_sequence(sequences: Sequence[Any], batch_first: bool = False,
                 padding_value: float = 0.0) -> Tensor:
    """Stack sequences of different lengths into one padded batch (PyTorch's API).

    Shape:
        each (L_i, *) -> (max L, N, *) or (N, max L, *) with ``batch_first``.
    """
    seqs = [_as_tensor(s) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: expected at least one sequence")
    T = max(s.shape[0] for s in seqs)
    rest = [0] * (seqs[0].ndim - 1)
    padded = [pad(s, [(0, T - s.shape[0])] + [(0, 0)] * len(rest), value=padding_value)
              if s.shape[0] < T else s for s in seqs]
    return stack(padded, axis=0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Any], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of different lengths (each (L_i, *))."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)

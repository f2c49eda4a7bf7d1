"""Text and sequence data: tokenizers, a vocabulary with special tokens, padding, a
variable-length dataset whose batches come padded with their lengths, a sampler that
buckets sequences of similar length, and time-series windows with a split that respects
time.

Example:
    >>> tok = WordTokenizer()
    >>> vocab = Vocab.build(map(tok, texts), min_freq=2)
    >>> ds = SequenceDataset([vocab.encode(tok(t), eos=True) for t in texts], labels)
    >>> loader = DataLoader(ds, batch_size=32, sampler=BucketSampler(ds.lengths, 32, seed=0))
    >>> for tokens, lengths, y in loader: ...     # tokens (B, longest in batch)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ._rng import as_generator
from .dataset import Dataset

__all__ = ["CharTokenizer", "WordTokenizer", "Vocab", "pad_sequences", "SequenceDataset",
           "BucketSampler", "sliding_windows", "time_split"]


class CharTokenizer:
    """Split text into characters (optionally lower-cased). ``detokenize`` joins them."""

    def __init__(self, lower: bool = False) -> None:
        self.lower = bool(lower)

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer: expected a str, got {type(text).__name__}")
        return list(text.lower() if self.lower else text)

    def detokenize(self, tokens: Iterable[str]) -> str:
        return "".join(tokens)


class WordTokenizer:
    """Split text into words and punctuation marks (regex ``\\w+|[^\\w\\s]``), lower-cased
    by default. ``detokenize`` joins with spaces."""

    _pattern = re.compile(r"\w+|[^\w\s]")

    def __init__(self, lower: bool = True) -> None:
        self.lower = bool(lower)

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"WordTokenizer: expected a str, got {type(text).__name__}")
        return self._pattern.findall(text.lower() if self.lower else text)

    def detokenize(self, tokens: Iterable[str]) -> str:
        return " ".join(tokens)


class Vocab:
    """Token <-> index mapping with special tokens first: pad (0), unk (1), bos (2), eos (3).

    Args:
        tokens: the ordinary tokens, in index order (duplicates and specials are skipped).
        pad, unk, bos, eos: the special tokens' spellings; None leaves one out (without
            ``unk``, encoding an unknown token raises KeyError).

    Attributes:
        pad_index, unk_index, bos_index, eos_index: their indices (None when absent).
    """

    def __init__(self, tokens: Iterable[str] = (), pad: str | None = "<pad>",
                 unk: str | None = "<unk>", bos: str | None = "<bos>",
                 eos: str | None = "<eos>") -> None:
        self.itos: list[str] = []
        self.stoi: dict[str, int] = {}
        self.specials = {k: v for k, v in (("pad", pad), ("unk", unk), ("bos", bos),
                                           ("eos", eos)) if v is not None}
        for tok in [*self.specials.values(), *tokens]:
            if tok not in self.stoi:
                self.stoi[tok] = len(self.itos)
                self.itos.append(tok)
        self.pad_index = self.stoi.get(pad) if pad is not None else None
        self.unk_index = self.stoi.get(unk) if unk is not None else None
        self.bos_index = self.stoi.get(bos) if bos is not None else None
        self.eos_index = self.stoi.get(eos) if eos is not None else None

    @classmethod
    def build(cls, token_lists: Iterable[Iterable[str]], min_freq: int = 1,
              max_size: int | None = None, **specials: Any) -> Vocab:
        """A vocabulary of the tokens seen at least ``min_freq`` times, most frequent first
        (ties in first-seen order), at most ``max_size`` ordinary tokens."""
        if int(min_freq) < 1:
            raise ValueError(f"Vocab.build: min_freq must be >= 1, got {min_freq}")
        if max_size is not None and int(max_size) < 0:
            raise ValueError(f"Vocab.build: max_size must be >= 0, got {max_size}")
        counts: Counter[str] = Counter()
        for toks in token_lists:
            counts.update(toks)
        kept = [t for t, c in counts.most_common() if c >= min_freq]
        return cls(kept[:max_size] if max_size is not None else kept, **specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        if token in self.stoi:
            return self.stoi[token]
        if self.unk_index is None:
            raise KeyError(f"Vocab: unknown token {token!r} and no unk token")
        return self.unk_index

    def encode(self, tokens: Iterable[str], bos: bool = False, eos: bool = False) -> list[int]:
        """Indices of ``tokens`` (unknown ones map to unk), optionally framed by bos/eos."""
        ids = [self[t] for t in tokens]
        for flag, idx, name in ((bos, self.bos_index, "bos"), (eos, self.eos_index, "eos")):
            if flag and idx is None:
                raise ValueError(f"Vocab.encode: {name}=True but the vocabulary has no {name}")
        return ([self.bos_index] if bos else []) + ids + ([self.eos_index] if eos else [])

    def decode(self, ids: Iterable[int], skip_specials: bool = True,
               stop_at_eos: bool = True) -> list[str]:
        """Tokens of ``ids`` (an iterable or array), stopping at eos and dropping the special
        tokens unless told otherwise."""
        out = []
        special = set(self.specials.values())
        for i in np.asarray(list(ids) if not hasattr(ids, "shape") else ids).ravel().tolist():
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise ValueError(f"Vocab.decode: index {i} outside [0, {len(self.itos) - 1}]")
            if stop_at_eos and i == self.eos_index:
                break
            tok = self.itos[i]
            if not (skip_specials and tok in special):
                out.append(tok)
        return out

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, specials={list(self.specials.values())})"


def pad_sequences(sequences: Sequence[Sequence[Any]], maxlen: int | None = None,
                  value: Any = 0, padding: str = "post", truncating: str = "post",
                  dtype: Any = np.int64) -> tuple[np.ndarray, np.ndarray]:
    """Pad (and truncate) sequences to one length (Keras's ``pad_sequences``).

    Args:
        sequences: a list of sequences (lists or arrays; items may be vectors).
        maxlen: target length; None pads to the longest.
        value: the padding value.
        padding, truncating: 'post' (at the end) or 'pre' (at the start).
        dtype: the output dtype.

    Returns:
        (padded (N, maxlen, *), lengths (N,) int64 of the kept parts).
    """
    for name, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {name} must be 'pre' or 'post', got {v!r}")
    arrays = [np.asarray(s, dtype=dtype) for s in sequences]
    T = max((len(a) for a in arrays), default=0) if maxlen is None else int(maxlen)
    if T < 0:
        raise ValueError(f"pad_sequences: maxlen must be >= 0, got {maxlen}")
    tail = next((a.shape[1:] for a in arrays if a.ndim > 1 and len(a)), ())
    out = np.full((len(arrays), T, *tail), value, dtype=dtype)
    lengths = np.zeros(len(arrays), dtype=np.int64)
    for i, a in enumerate(arrays):
        a = a[-T:] if truncating == "pre" and T else (a[:T] if T else a[:0])
        lengths[i] = len(a)
        if len(a):
            if padding == "post":
                out[i, :len(a)] = a
            else:
                out[i, T - len(a):] = a
    return out, lengths


class SequenceDataset(Dataset):
    """Variable-length sequences (and optional targets) whose batches come padded.

    A batch (from ``DataLoader``) is ``(padded (B, longest in batch), lengths (B,),
    targets)``: sequences padded with ``pad_value`` at the end; targets that are sequences
    themselves are padded the same way (``target_pad_value``), others stacked.

    Args:
        sequences: a list of token-id lists or arrays (each at least one step).
        targets: None, or one target per sequence (a label or a sequence).
        pad_value, target_pad_value: padding for inputs and sequence targets.
    """

    def __init__(self, sequences: Sequence[Sequence[Any]], targets: Sequence[Any] | None = None,
                 pad_value: Any = 0, target_pad_value: Any = 0) -> None:
        self.sequences = [np.asarray(s) for s in sequences]
        if targets is not None and len(targets) != len(self.sequences):
            raise ValueError(f"SequenceDataset: {len(targets)} targets for "
                             f"{len(self.sequences)} sequences")
        empty = [i for i, s in enumerate(self.sequences) if len(s) == 0]
        if empty:
            raise ValueError(f"SequenceDataset: sequence {empty[0]} is empty")
        self.targets = None if targets is None else [np.asarray(t) for t in targets]
        self.pad_value, self.target_pad_value = pad_value, target_pad_value
        self.lengths = np.array([len(s) for s in self.sequences], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        item = (self.sequences[i], self.lengths[i])
        return item if self.targets is None else (*item, self.targets[i])

    def take(self, indices: Any) -> tuple[Any, ...]:
        idx = np.arange(len(self))[indices] if isinstance(indices, slice) else indices
        seqs = [self.sequences[int(i)] for i in idx]
        x, lengths = pad_sequences(seqs, value=self.pad_value, dtype=seqs[0].dtype)
        if self.targets is None:
            return x, lengths
        ts = [self.targets[int(i)] for i in idx]
        if ts[0].ndim >= 1:
            y, _ = pad_sequences(ts, value=self.target_pad_value, dtype=ts[0].dtype)
        else:
            y = np.stack(ts)
        return x, lengths, y


class BucketSampler:
    """Indices ordered so that each batch holds sequences of similar length (less padding).

    Each epoch: shuffle, cut into pools of ``batch_size * pool_batches``, sort each pool
    by length, cut into batches, and shuffle the batch order. Give the DataLoader the same
    ``batch_size`` (and ``shuffle=False``, the default).

    Args:
        lengths: length of each example.
        batch_size: the DataLoader's batch size.
        shuffle: randomize each epoch (False: one global sort by length).
        pool_batches: batches per sorting pool (larger: less padding, less randomness).
        seed: None, an int or a Generator.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 pool_batches: int = 50, seed: Any = None) -> None:
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if self.lengths.ndim != 1:
            raise ValueError("BucketSampler: lengths must be 1-D")
        if isinstance(batch_size, bool) or int(batch_size) < 1 or int(pool_batches) < 1:
            raise ValueError(f"BucketSampler: batch_size and pool_batches must be >= 1, got "
                             f"{batch_size}, {pool_batches}")
        self.batch_size, self.pool_batches = int(batch_size), int(pool_batches)
        self.shuffle = bool(shuffle)
        self._rng = as_generator(seed)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            return iter(np.argsort(self.lengths, kind="stable").tolist())
        order = self._rng.permutation(n)
        pool = bs * self.pool_batches
        batches = []
        for start in range(0, n, pool):
            chunk = order[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[k:k + bs] for k in range(0, len(chunk), bs)]
        full = [b for b in batches if len(b) == bs]
        part = [b for b in batches if len(b) < bs]  # at most one per pool: keep them last
        perm = self._rng.permutation(len(full))
        ordered = [full[i] for i in perm] + part
        return iter(np.concatenate(ordered).tolist() if ordered else [])


def sliding_windows(series: Any, window: int, horizon: int = 1, stride: int = 1,
                    target: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Input windows over a series and the values that follow each (for forecasting).

    Args:
        series: (T,) or (T, F) values in time order.
        window: steps per input window.
        horizon: steps to predict after each window.
        stride: steps between window starts.
        target: None to predict every feature, or a column index / list of them.

    Returns:
        X (n, window, F) and y (n, horizon, F') — y (n, horizon) for a 1-D series or a
        single target column.
    """
    s = np.asarray(series)
    flat = s.ndim == 1
    if flat:
        s = s[:, None]
    if s.ndim != 2:
        raise ValueError(f"sliding_windows: series must be (T,) or (T, F), got shape {s.shape}")
    for name, v in (("window", window), ("horizon", horizon), ("stride", stride)):
        if isinstance(v, bool) or int(v) != v or int(v) < 1:
            raise ValueError(f"sliding_windows: {name} must be a positive integer, got {v!r}")
    T = s.shape[0]
    n = (T - window - horizon) // stride + 1
    if n < 1:
        raise ValueError(f"sliding_windows: a series of {T} steps is too short for window "
                         f"{window} + horizon {horizon}")
    starts = np.arange(n) * stride
    X = s[starts[:, None] + np.arange(window)]
    y = s[starts[:, None] + window + np.arange(horizon)]
    if target is not None:
        y = y[..., target]
    elif flat:
        y = y[..., 0]
    return X, y


def time_split(*arrays: Any, test_size: float | int = 0.2, gap: int = 0) -> list[Any]:
    """Split arrays in time order: the first part for training, the last for testing.

    Args:
        arrays: arrays with the same first (time or window) axis.
        test_size: a fraction in (0, 1) or a count of the last examples.
        gap: examples dropped between the parts (e.g. ``window + horizon - 1`` so that no
            test window overlaps a training one).

    Returns:
        [a_train, a_test for each array].
    """
    if not arrays:
        raise ValueError("time_split: give at least one array")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("time_split: arrays must have the same length")
    if isinstance(test_size, float):
        if not 0 < test_size < 1:
            raise ValueError(f"time_split: a fractional test_size must be in (0, 1), got "
                             f"{test_size}")
        n_test = int(round(n * test_size))
    else:
        n_test = int(test_size)
    if int(gap) < 0 or n_test < 1 or n - n_test - int(gap) < 1:
        raise ValueError(f"time_split: {n} examples can't give {n_test} test examples after a "
                         f"gap of {gap} and keep a training part")
    cut = n - n_test
    return [part for a in arrays for part in (a[:cut - int(gap)], a[cut:])]

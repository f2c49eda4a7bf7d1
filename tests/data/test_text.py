"""deepgrad.data.text: tokenizers, Vocab, padding, SequenceDataset + BucketSampler in the
DataLoader, sliding windows and the time-respecting split."""

from __future__ import annotations

import numpy as np
import pytest

from deepgrad.data import DataLoader
from deepgrad.data.text import (
    BucketSampler,
    CharTokenizer,
    SequenceDataset,
    Vocab,
    WordTokenizer,
    pad_sequences,
    sliding_windows,
    time_split,
)


def test_tokenizers_round_trip():
    assert CharTokenizer()("Ab c") == ["A", "b", " ", "c"]
    assert CharTokenizer(lower=True)("AB") == ["a", "b"]
    assert CharTokenizer().detokenize(CharTokenizer()("x y!")) == "x y!"
    assert WordTokenizer()("Hello, World! It's 3.") == ["hello", ",", "world", "!", "it", "'",
                                                        "s", "3", "."]
    with pytest.raises(TypeError, match="str"):
        WordTokenizer()(3)


def test_vocab_specials_encode_decode():
    tok = WordTokenizer()
    texts = ["the cat sat", "the dog sat", "a cat"]
    v = Vocab.build(map(tok, texts), min_freq=2)
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert v.itos[4:] == ["the", "cat", "sat"]  # most frequent first, ties in seen order
    ids = v.encode(tok("the bird sat"), bos=True, eos=True)
    assert ids == [2, 4, 1, 6, 3]
    assert v.decode(ids) == ["the", "sat"]  # specials dropped
    assert v.decode(ids, skip_specials=False) == ["<bos>", "the", "<unk>", "sat"]
    assert v.decode(np.array([4, 3, 5])) == ["the"]  # stops at eos
    assert len(Vocab.build([["a", "b", "b"]], max_size=1)) == 5


def test_vocab_without_unk_or_eos_raises():
    v = Vocab(["a"], unk=None, eos=None)
    with pytest.raises(KeyError, match="unknown token"):
        v.encode(["b"])
    with pytest.raises(ValueError, match="eos"):
        v.encode(["a"], eos=True)
    with pytest.raises(ValueError, match="index"):
        v.decode([7])
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build([], min_freq=0)


def test_pad_sequences_like_keras():
    x, lens = pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="pre", truncating="pre")
    np.testing.assert_array_equal(x, [[2, 3], [0, 4]])
    np.testing.assert_array_equal(lens, [2, 1])
    x, lens = pad_sequences([[1, 2, 3], [4]], value=-1)
    np.testing.assert_array_equal(x, [[1, 2, 3], [4, -1, -1]])
    x, _ = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype=np.float32)
    assert x.shape == (2, 2, 3) and x.dtype == np.float32
    with pytest.raises(ValueError, match="padding"):
        pad_sequences([[1]], padding="middle")


def test_sequence_dataset_batches_pad_to_the_longest_in_batch():
    seqs = [[1] * n for n in (5, 1, 2, 3, 9, 4)]
    ds = SequenceDataset(seqs, targets=[[7] * n for n in (5, 1, 2, 3, 9, 4)], pad_value=0,
                         target_pad_value=-100)
    x, lens, y = next(iter(DataLoader(ds, batch_size=3)))
    assert x.shape == (3, 5) and y.shape == (3, 5)
    np.testing.assert_array_equal(lens, [5, 1, 2])
    assert y[1, 1] == -100 and x[1, 1] == 0
    ds2 = SequenceDataset(seqs, targets=np.arange(6))
    x, lens, y = next(iter(DataLoader(ds2, batch_size=2)))
    np.testing.assert_array_equal(y, [0, 1])
    with pytest.raises(ValueError, match="empty"):
        SequenceDataset([[1], []])
    with pytest.raises(ValueError, match="targets"):
        SequenceDataset([[1]], targets=[1, 2])


def test_bucket_sampler_reduces_padding_and_covers_every_index():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 100, size=200)
    ds = SequenceDataset([[1] * int(n) for n in lengths])
    sampler = BucketSampler(ds.lengths, batch_size=16, pool_batches=4, seed=0)
    order = list(sampler)
    assert sorted(order) == list(range(200))
    assert list(sampler) != order  # a new order each epoch
    loader = DataLoader(ds, batch_size=16, sampler=sampler)
    bucketed = sum(x.size for x, _ in loader)
    plain = sum(x.size for x, _ in DataLoader(ds, batch_size=16, shuffle=True, seed=0))
    assert bucketed < 0.7 * plain
    assert list(BucketSampler(lengths, 4, shuffle=False)) == \
        np.argsort(lengths, kind="stable").tolist()
    with pytest.raises(ValueError, match="batch_size"):
        BucketSampler(lengths, 0)


def test_sliding_windows():
    s = np.arange(10.0)
    X, y = sliding_windows(s, window=3, horizon=2, stride=2)
    np.testing.assert_array_equal(X[:, :, 0], [[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    np.testing.assert_array_equal(y, [[3, 4], [5, 6], [7, 8]])
    m = np.stack([s, -s], axis=1)
    X, y = sliding_windows(m, window=4, target=1)
    assert X.shape == (6, 4, 2) and y.shape == (6, 1)
    np.testing.assert_array_equal(y[:, 0], -np.arange(4.0, 10.0))
    with pytest.raises(ValueError, match="too short"):
        sliding_windows(s, window=10)
    with pytest.raises(ValueError, match="window"):
        sliding_windows(s, window=0)


def test_time_split_keeps_order_and_gap():
    X, y = np.arange(10), np.arange(10) * 2
    Xtr, Xte, ytr, yte = time_split(X, y, test_size=0.3, gap=2)
    np.testing.assert_array_equal(Xtr, np.arange(5))
    np.testing.assert_array_equal(Xte, [7, 8, 9])
    np.testing.assert_array_equal(yte, [14, 16, 18])
    with pytest.raises(ValueError, match="test"):
        time_split(X, test_size=10)
    with pytest.raises(ValueError, match="same length"):
        time_split(X, y[:3])


def test_make_dates_is_reproducible_and_unambiguous():
    import datetime

    from deepgrad.data.dates import DATE_FORMATS, make_dates

    h1, i1 = make_dates(300, seed=3)
    h2, i2 = make_dates(300, seed=3)
    assert h1 == h2 and i1 == i2
    for iso in i1:
        d = datetime.date.fromisoformat(iso)
        assert datetime.date(1950, 1, 1) <= d <= datetime.date(2049, 12, 31)
    # one date in every format: each string parses back to one meaning
    h, i = make_dates(1, seed=0, formats=("{dd}/{mm}/{yy}",), start=datetime.date(1979, 3, 5),
                      end=datetime.date(1979, 3, 5))
    assert h[0] in ("05/03/79",) and i == ["1979-03-05"]
    assert len(DATE_FORMATS) >= 20
    with pytest.raises(ValueError, match="n must be"):
        make_dates(-1)

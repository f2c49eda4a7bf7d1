"""Dataset, Subset, random_split and DataLoader."""

from __future__ import annotations

import numpy as np
import pytest

from deepgrad.data import ArrayDataset, DataLoader, Dataset, Subset, TensorDataset, random_split


def _epoch_indices(loader: DataLoader) -> np.ndarray:
    return np.concatenate([b[-1] for b in loader])


def _data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return X, np.arange(n)


def test_array_dataset_items_and_length():
    X, y = _data()
    ds = ArrayDataset(X, y)
    assert len(ds) == 10
    x3, y3 = ds[3]
    np.testing.assert_array_equal(x3, X[3])
    assert y3 == 3
    assert TensorDataset is ArrayDataset


def test_array_dataset_length_mismatch_names_arrays():
    with pytest.raises(ValueError, match=r"X has 10 .* y has 9"):
        ArrayDataset(np.zeros((10, 2)), np.zeros(9), names=["X", "y"])
    with pytest.raises(ValueError, match=r"arrays\[0\] has 4 .* arrays\[1\] has 3"):
        ArrayDataset(np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match="at least one array"):
        ArrayDataset()
    with pytest.raises(ValueError, match="scalar"):
        ArrayDataset(np.float32(1.0))


@pytest.mark.parametrize("n,bs,drop_last,expected", [
    (10, 3, False, [3, 3, 3, 1]), (10, 3, True, [3, 3, 3]), (10, 5, True, [5, 5]),
    (10, None, False, [10]), (10, 20, True, []), (10, 1, False, [1] * 10),
])
def test_batch_sizes_and_len(n, bs, drop_last, expected):
    loader = DataLoader(ArrayDataset(*_data(n)), batch_size=bs, drop_last=drop_last)
    assert len(loader) == len(expected)
    assert [len(b[0]) for b in loader] == expected


def test_every_sample_once_per_epoch_and_fresh_order():
    loader = DataLoader(ArrayDataset(*_data(103)), batch_size=10, shuffle=True, seed=0)
    orders = [_epoch_indices(loader) for _ in range(3)]
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(103))
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_batches_keep_x_and_y_aligned():
    X, y = _data(50)
    for xb, yb in DataLoader((X, y), batch_size=7, shuffle=True, seed=3):
        np.testing.assert_array_equal(xb, X[yb])


def test_seed_reproduces_sequence_of_epochs():
    def run(seed):
        loader = DataLoader(ArrayDataset(*_data(40)), batch_size=8, shuffle=True, seed=seed)
        return [_epoch_indices(loader) for _ in range(3)]

    for a, b in zip(run(7), run(7), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(run(7)[0], run(8)[0])


def test_no_shuffle_keeps_order():
    order = _epoch_indices(DataLoader(ArrayDataset(*_data(23)), batch_size=4))
    np.testing.assert_array_equal(order, np.arange(23))


def test_drop_last_with_shuffle_covers_only_full_batches():
    loader = DataLoader(ArrayDataset(*_data(23)), batch_size=5, shuffle=True, drop_last=True,
                        seed=1)
    order = _epoch_indices(loader)
    assert len(order) == 20 and len(np.unique(order)) == 20


@pytest.mark.parametrize("shape", [(12,), (12, 2, 3, 4), (12, 1, 2, 2, 2, 1)])
def test_any_rank(shape):
    X = np.random.default_rng(0).standard_normal(shape)
    xs = [xb for xb, _ in DataLoader((X, np.arange(12)), batch_size=5, shuffle=True, seed=0)]
    assert [x.shape for x in xs] == [(5, *shape[1:]), (5, *shape[1:]), (2, *shape[1:])]


class _Squares(Dataset):
    def __len__(self):
        return 9

    def __getitem__(self, i):
        return np.full((2, 2), i, dtype=np.float64), i * i


def test_generic_dataset_fallback_stacks_fields():
    batches = list(DataLoader(_Squares(), batch_size=4, shuffle=True, seed=0))
    assert [b[0].shape for b in batches] == [(4, 2, 2), (4, 2, 2), (1, 2, 2)]
    idx = np.concatenate([b[0][:, 0, 0] for b in batches]).astype(int)
    np.testing.assert_array_equal(np.sort(idx), np.arange(9))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), idx**2)


class _Single(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.array([i, -i])


def test_generic_dataset_single_field_yields_one_tuple():
    (xb,) = next(iter(DataLoader(_Single(), batch_size=None)))
    assert xb.shape == (5, 2)


def test_base_dataset_must_be_subclassed():
    with pytest.raises(NotImplementedError):
        len(Dataset())


def test_transform_applied_to_first_array_only():
    X, y = _data(6)
    xb, yb = next(iter(DataLoader((X, y), batch_size=6, transform=lambda x: -x)))
    np.testing.assert_array_equal(xb, -X)
    np.testing.assert_array_equal(yb, y)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ArrayDataset(*_data()), batch_size=bad)


def test_bad_dataset_and_seed():
    with pytest.raises(TypeError, match="__len__"):
        DataLoader(42)
    with pytest.raises(ValueError, match="seed"):
        DataLoader(ArrayDataset(*_data()), shuffle=True, seed=-1)


def test_empty_dataset_has_no_batches():
    loader = DataLoader((np.zeros((0, 3)), np.zeros(0)), batch_size=4)
    assert len(loader) == 0 and list(loader) == []


def test_subset_and_random_split():
    X, y = _data(20)
    ds = ArrayDataset(X, y)
    sub = Subset(ds, [5, 2, 9])
    assert len(sub) == 3 and sub[1][1] == 2
    (yb,) = [b[1] for b in DataLoader(sub, batch_size=None)]
    np.testing.assert_array_equal(yb, [5, 2, 9])
    parts = random_split(ds, [12, 8], seed=0)
    all_idx = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(all_idx), np.arange(20))
    assert [len(p) for p in random_split(ds, [0.7, 0.3], seed=0)] == [14, 6]
    assert [len(p) for p in random_split(ds, [0.5, 0.25, 0.25], seed=0)] == [10, 5, 5]
    np.testing.assert_array_equal(random_split(ds, [10, 10], seed=4)[0].indices,
                                  random_split(ds, [10, 10], seed=4)[0].indices)
    with pytest.raises(ValueError, match="sum to"):
        random_split(ds, [5, 5])
    with pytest.raises(ValueError, match="out of range"):
        Subset(ds, [20])


def test_subset_of_generic_dataset_falls_back():
    sub = Subset(_Squares(), [8, 1])
    xb, yb = next(iter(DataLoader(sub, batch_size=2)))
    np.testing.assert_array_equal(yb, [64, 1])


def test_vectorized_gather_is_fast():
    """60,000 MNIST-sized examples in one shuffled epoch: well under a second."""
    X = np.zeros((60_000, 28, 28), np.uint8)
    loader = DataLoader((X, np.zeros(60_000, np.uint8)), batch_size=64, shuffle=True, seed=0)
    assert sum(len(xb) for xb, _ in loader) == 60_000


def test_device_cpu_and_bad_device():
    X, y = _data(4)
    xb, _ = next(iter(DataLoader((X, y), batch_size=4, device="cpu")))
    assert isinstance(xb, np.ndarray)
    with pytest.raises(ValueError, match="device"):
        DataLoader((X, y), device="tpu")


def test_cuda_batches_when_available():
    from deepgrad.backend import cupy_available, device_of

    if not cupy_available():
        pytest.skip("no CuPy/CUDA device")
    X, y = _data(10)
    for xb, yb in DataLoader((X, y), batch_size=4, shuffle=True, seed=0, device="cuda"):
        assert device_of(xb) == "cuda:0" and device_of(yb) == "cuda:0"


def test_tensors_are_unwrapped_to_arrays():
    import deepgrad

    X, y = _data(6)
    ds = TensorDataset(deepgrad.tensor(X), y)
    assert isinstance(ds.arrays[0], np.ndarray)
    xb, _ = next(iter(DataLoader(ds, batch_size=3)))
    np.testing.assert_array_equal(xb, X[:3])

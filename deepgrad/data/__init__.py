"""deepgrad.data: datasets, the DataLoader, preprocessing and image augmentation.

Depends only on NumPy and :mod:`deepgrad.backend`; batches are plain arrays.
"""

from __future__ import annotations

from . import datasets, text, transforms
from .dataset import ArrayDataset, Dataset, Subset, TensorDataset, random_split
from .datasets import (
    BUILTIN_DATASETS,
    describe_datasets,
    load_catvnoncat,
    load_csv,
    load_fashion_mnist,
    load_mnist,
    load_npz,
    make_circles,
    make_moons,
    make_planar,
    make_regression,
    make_spirals,
    make_xor,
)
from .loader import DataLoader
from .preprocessing import (
    Standardizer,
    decode_labels,
    encode_labels,
    flatten_images,
    one_hot,
    scale_pixels,
    standardize,
    train_test_split,
)
from .text import (
    BucketSampler,
    CharTokenizer,
    SequenceDataset,
    Vocab,
    WordTokenizer,
    pad_sequences,
    sliding_windows,
    time_split,
)
from .transforms import Compose, RandomCrop, RandomHorizontalFlip, RandomRotation

__all__ = [
    "Dataset", "ArrayDataset", "TensorDataset", "Subset", "random_split", "DataLoader",
    "train_test_split", "one_hot", "Standardizer", "standardize", "flatten_images",
    "scale_pixels", "encode_labels", "decode_labels",
    "Compose", "RandomHorizontalFlip", "RandomCrop", "RandomRotation",
    "datasets", "transforms", "BUILTIN_DATASETS", "describe_datasets",
    "make_planar", "make_xor", "make_spirals", "make_moons", "make_circles", "make_regression",
    "load_mnist", "load_fashion_mnist", "load_catvnoncat", "load_csv", "load_npz",
    "text", "CharTokenizer", "WordTokenizer", "Vocab", "pad_sequences", "SequenceDataset",
    "BucketSampler", "sliding_windows", "time_split",
]

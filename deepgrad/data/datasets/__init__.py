"""Datasets: generated ones (no network) and readers for MNIST, Fashion-MNIST, cat, CSV, NPZ."""

from __future__ import annotations

from .files import (
    FASHION_MNIST_CLASSES,
    FILE_DATASETS,
    TabularData,
    load_catvnoncat,
    load_csv,
    load_fashion_mnist,
    load_mnist,
    load_npz,
    read_idx,
)
from .registry import DatasetRow, describe_datasets
from .synthetic import (
    BUILTIN_DATASETS,
    BuiltinDataset,
    make_circles,
    make_moons,
    make_planar,
    make_regression,
    make_spirals,
    make_xor,
)

__all__ = [
    "make_planar", "make_xor", "make_spirals", "make_moons", "make_circles", "make_regression",
    "BUILTIN_DATASETS", "BuiltinDataset",
    "load_mnist", "load_fashion_mnist", "load_catvnoncat", "load_csv", "load_npz", "read_idx",
    "TabularData", "FASHION_MNIST_CLASSES", "FILE_DATASETS",
    "describe_datasets", "DatasetRow",
]

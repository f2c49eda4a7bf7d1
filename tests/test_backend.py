from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import backend


def test_array_module_and_to_numpy():
    x = np.ones(3)
    assert backend.get_array_module(x) is np
    assert backend.get_array_module(dg.tensor(x)) is np
    assert backend.get_array_module(1.0, [1]) is np
    assert backend.to_numpy(dg.tensor(x)) is x
    assert isinstance(backend.to_numpy(3.0), np.ndarray)
    assert backend.device_of(x) == "cpu"


def test_sum_to():
    g = np.ones((2, 3, 4))
    assert backend.sum_to(g, (3, 1)).shape == (3, 1)
    assert np.all(backend.sum_to(g, (3, 1)) == 8)
    assert backend.sum_to(g, ()).item() == 24
    assert backend.sum_to(g, (2, 3, 4)) is g


@pytest.mark.skipif(backend.cupy_available(), reason="a GPU is present")
def test_cuda_without_cupy_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CuPy|CUDA"):
        dg.tensor([1.0]).to("cuda")
    with pytest.raises(RuntimeError, match="CuPy|CUDA"):
        backend.to_device(np.ones(2), "cuda")


def test_to_cpu_roundtrip():
    a = np.ones(2)
    assert backend.to_device(a, "cpu") is a

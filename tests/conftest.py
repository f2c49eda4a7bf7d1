"""Shared fixtures: ``xp`` runs a test on NumPy and, where CuPy and a CUDA device are
present, on CuPy (CI has no GPU: the CuPy case skips)."""

from __future__ import annotations

import pytest

from deepgrad import backend

_HAS_GPU = backend.cupy_available()


@pytest.fixture(
    params=["numpy", pytest.param("cupy", marks=pytest.mark.skipif(
        not _HAS_GPU, reason="CuPy or a CUDA device is not available"))]
)
def xp(request):
    """The array module under test (numpy, or cupy on a GPU machine)."""
    if request.param == "numpy":
        import numpy

        return numpy
    import cupy

    return cupy


@pytest.fixture
def device(xp):
    """The deepgrad device string matching ``xp``."""
    return "cpu" if xp.__name__ == "numpy" else "cuda"

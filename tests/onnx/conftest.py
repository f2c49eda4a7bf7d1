"""The ONNX tests need the [onnx] extra (onnx) and, to compare, onnxruntime ([dev])."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")


@pytest.fixture
def ort():
    return pytest.importorskip("onnxruntime")


def run_ort(ort, path, feeds):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in s.get_inputs()]
    feeds = feeds if isinstance(feeds, list | tuple) else [feeds]
    return s.run(None, dict(zip(names, feeds, strict=True)))


def rand(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)

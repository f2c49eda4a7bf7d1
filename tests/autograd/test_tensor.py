"""The Tensor and the backward engine."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd.function import Function


def test_course_computation_graph():
    # J(a, b, c) = 3(a + b c): dJ/da = 3, dJ/db = 3c, dJ/dc = 3b
    a = dg.tensor(5.0, requires_grad=True)
    b = dg.tensor(3.0, requires_grad=True)
    c = dg.tensor(2.0, requires_grad=True)
    u = b * c
    v = a + u
    J = 3 * v
    assert J.item() == 33.0
    J.backward()
    assert (a.grad, b.grad, c.grad) == (3.0, 6.0, 9.0)


def test_dtype_rules():
    assert dg.tensor(1.0).dtype == np.float32
    assert dg.tensor([1, 2]).dtype == np.float32
    assert dg.tensor(np.ones(2, np.float64)).dtype == np.float64
    assert dg.tensor(np.ones(2, np.float32)).dtype == np.float32
    assert dg.tensor(np.arange(3)).dtype == np.arange(3).dtype  # integer labels stay integer
    assert dg.tensor([1, 2], dtype=np.float64).dtype == np.float64
    with dg.default_dtype(np.float64):
        assert dg.tensor([1.0]).dtype == np.float64
    assert dg.get_default_dtype() == np.float32
    with pytest.raises(ValueError, match="float32 or float64"):
        dg.set_default_dtype(np.int32)
    with pytest.raises(TypeError, match="only floating"):
        dg.tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="expected numbers"):
        dg.tensor(["a", "b"])


def test_set_default_dtype():
    dg.set_default_dtype(np.float64)
    try:
        assert dg.tensor(2).dtype == np.float64
    finally:
        dg.set_default_dtype(np.float32)


@pytest.mark.parametrize(
    "scalar", [2, 2.5, np.float64(2.5), np.float32(2.5), np.int64(2), np.array(2.5)]
)
def test_scalars_never_upcast_float32(scalar):
    x = dg.tensor(np.ones(3, np.float32), requires_grad=True)
    for y in (x + scalar, scalar + x, x * scalar, scalar * x, x - scalar, scalar - x,
              x / scalar, scalar / x, x**scalar, dg.maximum(x, scalar), dg.where(x > 0, x, scalar)):
        assert y.dtype == np.float32
    y = (x * scalar + scalar) / scalar
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_float64_array_operand_is_cast_to_tensor_dtype():
    x = dg.tensor(np.ones(3, np.float32))
    assert (x + np.ones(3)).dtype == np.float32
    assert (np.ones(3) + x).dtype == np.float32
    assert isinstance(np.ones(3) + x, dg.Tensor)


def test_mixed_tensor_dtypes_give_input_dtype_gradients():
    a = dg.tensor(np.ones(2, np.float32), requires_grad=True)
    b = dg.tensor(np.ones(2, np.float64), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_accumulation_when_used_twice():
    x = dg.tensor(3.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1 = 7
    y.backward()
    assert x.grad == 7.0
    x2 = dg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    z = dg.exp(x2)
    w = (z * z).sum() + z.sum()  # d/dx = 2 e^{2x} + e^x
    w.backward()
    np.testing.assert_allclose(x2.grad, 2 * np.exp(2 * x2.data) + np.exp(x2.data))


def test_backward_twice_retained_adds_and_freed_raises():
    x = dg.tensor(2.0, requires_grad=True)
    y = x * x * x
    y.backward(retain_graph=True)
    assert x.grad == 12.0
    y.backward()
    assert x.grad == 24.0
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_leaf_grads_are_never_shared():
    a = dg.tensor(np.ones(3), requires_grad=True)
    b = dg.tensor(np.ones(3), requires_grad=True)
    g = np.arange(3.0)
    (a + b).backward(g)
    assert a.grad is not b.grad and a.grad is not g
    a.grad *= 10
    assert np.array_equal(b.grad, g) and np.array_equal(g, np.arange(3.0))


def test_graph_is_freed_after_backward():
    x = dg.tensor(np.ones(4), requires_grad=True)
    y = dg.exp(x)
    z = y.sum()
    f = y.grad_fn
    z.backward()
    assert not hasattr(f, "inputs") and not hasattr(f, "y")


def test_long_chain_backpropagates_iteratively():
    x = dg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert np.isclose(x.grad, 1.0001**10_000, rtol=1e-3)
    x64 = dg.tensor(np.float64(0.5), requires_grad=True)
    h = x64
    for _ in range(10_000):
        h = dg.tanh(h) + 0.0
    h.backward()
    assert np.isfinite(x64.grad)


def test_intermediate_dropped_by_user_still_gets_gradient():
    x = dg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    out = (dg.exp(x * 2.0) * 3.0).sum()  # intermediates are not held by the user
    out.backward()
    np.testing.assert_allclose(x.grad, 6 * np.exp(2 * x.data))


def test_no_grad_records_nothing_and_is_per_context():
    x = dg.tensor(np.ones(3), requires_grad=True)
    with dg.no_grad():
        y = x * 2
        assert not dg.is_grad_enabled()
        with dg.enable_grad():
            assert (x * 2).requires_grad
    assert not y.requires_grad and y.grad_fn is None
    assert dg.is_grad_enabled()
    seen = []

    def worker():
        seen.append(dg.is_grad_enabled())

    with dg.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen == [True]  # a new thread's context starts with grad on

    @dg.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad


def test_retain_grad_and_errors():
    x = dg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = (x * 3).retain_grad()
    h.sum().backward()
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])
    with pytest.raises(RuntimeError, match="one-element"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        dg.tensor(1.0).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))


def test_tensor_api():
    x = dg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.size == 4 and len(x) == 2
    assert x.is_leaf and x.device == "cpu"
    assert isinstance(x.numpy(), np.ndarray)
    d = x.detach()
    assert not d.requires_grad and d.data is x.data
    assert dg.tensor(3.5).item() == 3.5
    with pytest.raises(ValueError, match="one element"):
        x.item()
    (x * x).sum().backward()
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype
    x.zero_grad()
    assert x.grad is None
    assert "requires_grad=True" in repr(x) and "float32" in repr(x)
    assert x.to("cpu") is x
    assert float(dg.tensor(2.0)) == 2.0 and int(dg.tensor(3.0)) == 3
    with pytest.raises(ValueError, match="unknown device"):
        x.to("tpu")


def test_custom_function():
    class Cube(Function):
        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, gy):
            return gy * 3 * self.x**2

    x = dg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert dg.gradcheck(lambda t: Cube()(t), x)

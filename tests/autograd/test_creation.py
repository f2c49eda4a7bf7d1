"""Tensor creation with PyTorch's names (zeros ... randint), generators and dtypes, and
inference_mode."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_filled(name):
    fn = getattr(dg, name)
    for t in (fn(2, 3), fn((2, 3)), fn([2, 3])):
        assert t.shape == (2, 3) and t.dtype == np.float32 and t.is_leaf
    assert fn(()).shape == () and fn(0, 4).shape == (0, 4)
    t = fn(3, dtype=np.float64, requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad
    with dg.default_dtype(np.float64):
        assert fn(2).dtype == np.float64
    if name != "empty":
        assert np.all(fn(2, 2).numpy() == (0.0 if name == "zeros" else 1.0))
    with pytest.raises(ValueError, match="non-negative ints"):
        fn(2, -1)
    with pytest.raises(ValueError, match="unknown device"):
        fn(2, device="tpu")


def test_full_like_and_eye():
    assert dg.full((2,), 1.5).dtype == np.float32
    assert dg.full((2,), 3).dtype == np.int64 and dg.full(2, True).dtype == np.bool_
    assert dg.full((2, 2), 3, dtype=np.float64).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    x = dg.tensor(np.ones((2, 3)))
    for fn, v in ((dg.zeros_like, 0.0), (dg.ones_like, 1.0)):
        t = fn(x)
        assert t.shape == (2, 3) and t.dtype == np.float64 and np.all(t.numpy() == v)
        assert fn(x, dtype=np.float32).dtype == np.float32
        assert fn(x, requires_grad=True).requires_grad
    assert dg.full_like(x, 7).tolist() == [[7.0] * 3] * 2
    np.testing.assert_array_equal(dg.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(dg.eye(2, 3, dtype=np.float64).numpy(), np.eye(2, 3))


def test_arange_linspace_match_torch():
    torch = pytest.importorskip("torch")
    for args in [(5,), (1, 7, 2), (0, 1, 0.1), (2.5,), (5, 0, -1), (0, -1, -0.25)]:
        ours, theirs = dg.arange(*args), torch.arange(*args)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
        assert ours.dtype == (np.int64 if theirs.dtype == torch.int64 else np.float32)
    np.testing.assert_allclose(dg.linspace(-1, 2, 7).numpy(), torch.linspace(-1, 2, 7).numpy(),
                               rtol=1e-6)
    assert dg.linspace(0, 1, 1).tolist() == [0.0] and dg.linspace(0, 1, 0).shape == (0,)
    assert dg.arange(3, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="step"):
        dg.arange(0, 3, 0)


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_random_generators(name):
    fn = getattr(dg, name)
    a = fn(3, 4, generator=np.random.default_rng(5))
    b = fn((3, 4), generator=np.random.default_rng(5))
    assert a.dtype == np.float32 and a.shape == (3, 4)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    dg.manual_seed(11)
    c = fn(3, 4)
    dg.manual_seed(11)
    np.testing.assert_array_equal(c.numpy(), fn(3, 4).numpy())
    assert fn(2, dtype=np.float64, requires_grad=True).requires_grad
    big = fn(20000, generator=1, dtype=np.float64).numpy()
    if name == "rand":
        assert big.min() >= 0 and big.max() < 1 and abs(big.mean() - 0.5) < 0.01
    else:
        assert abs(big.mean()) < 0.03 and abs(big.std() - 1) < 0.03
    with pytest.raises(TypeError, match="floating"):
        fn(2, dtype=np.int64)


def test_randint():
    t = dg.randint(3, 7, (1000,), generator=0)
    assert t.dtype == np.int64 and t.shape == (1000,)
    assert set(np.unique(t.numpy())) == {3, 4, 5, 6}
    assert dg.randint(5, (2, 2)).shape == (2, 2)  # torch.randint(high, size)
    assert dg.randint(0, 2, (3,), dtype=np.int32).dtype == np.int32
    assert dg.randint(0, 9, (2,), generator=4).tolist() == dg.randint(0, 9, (2,),
                                                                      generator=4).tolist()
    with pytest.raises(ValueError, match="high"):
        dg.randint(3, 3, (2,))


def test_inference_mode_blocks_later_autograd():
    w = dg.tensor(np.ones(3), requires_grad=True)
    with dg.inference_mode():
        assert not dg.is_grad_enabled()
        y = w * 2.0
        z = dg.tensor([1.0, 2.0, 3.0])
        o = dg.ones(3)
    assert dg.is_grad_enabled()
    assert y.is_inference and z.is_inference and o.is_inference and not w.is_inference
    assert not y.requires_grad and y.grad_fn is None
    for t in (y, z, o):
        with pytest.raises(RuntimeError, match="inference tensor"):
            w * t
    with pytest.raises(RuntimeError, match="inference tensor"):
        z.requires_grad_()
    with dg.no_grad():
        assert (w * z).tolist() == [1.0, 2.0, 3.0]  # no graph: allowed
    fresh = dg.tensor(z.numpy().copy())
    (w * fresh).sum().backward()
    assert w.grad.tolist() == [1.0, 2.0, 3.0]
    assert (z * 2.0).tolist() == [2.0, 4.0, 6.0]  # nothing requires grad: allowed


def test_inference_mode_decorator_and_false():
    @dg.inference_mode()
    def f(x):
        return x * 3.0

    x = dg.tensor(np.ones(2), requires_grad=True)
    y = f(x)
    assert y.is_inference and not y.requires_grad and dg.is_grad_enabled()
    with dg.inference_mode():
        with dg.inference_mode(False):
            t = dg.tensor([1.0])
        assert not t.is_inference
    torch = pytest.importorskip("torch")
    with torch.inference_mode():
        tt = torch.ones(2)
    with pytest.raises(RuntimeError):  # the same rule in torch
        (torch.ones(2, requires_grad=True) * tt).sum().backward()

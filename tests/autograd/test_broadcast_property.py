"""Property-based tests: binary ops broadcast and un-broadcast like NumPy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg

OPS = {
    "add": (dg.add, np.add),
    "sub": (dg.sub, np.subtract),
    "mul": (dg.mul, np.multiply),
    "div": (dg.div, np.divide),
    "maximum": (dg.maximum, np.maximum),
}


@settings(max_examples=60, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
    op=st.sampled_from(sorted(OPS)),
    seed=st.integers(0, 2**16),
)
def test_binary_broadcasting(shapes, op, seed):
    fn, ref = OPS[op]
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, sa)
    b = rng.uniform(0.5, 2.0, sb) * rng.choice([-1.0, 1.0], sb)
    ta = dg.tensor(a, requires_grad=True)
    tb = dg.tensor(b, requires_grad=True)
    y = fn(ta, tb)
    assert y.shape == shapes.result_shape
    np.testing.assert_allclose(y.numpy(), ref(a, b), rtol=1e-12)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    assert ta.grad.shape == sa and tb.grad.shape == sb
    # the gradient of sum(gy * f(a, b)) w.r.t. a is d f/da * gy summed over broadcast axes
    eps = 1e-6
    i = tuple(int(rng.integers(0, n)) for n in sa)
    ap, am = a.copy(), a.copy()
    ap[i] += eps
    am[i] -= eps
    num = (np.sum(gy * ref(ap, b)) - np.sum(gy * ref(am, b))) / (2 * eps)
    np.testing.assert_allclose(ta.grad[i], num, rtol=1e-5, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_broadcast_dtype_preserved(shapes, dtype):
    sa, sb = shapes.input_shapes
    a = dg.tensor(np.ones(sa, dtype), requires_grad=True)
    b = dg.tensor(np.ones(sb, dtype), requires_grad=True)
    y = a * b + a / (b + 1.0) - 2.0
    y.sum().backward()
    assert y.dtype == dtype and a.grad.dtype == dtype and b.grad.dtype == dtype

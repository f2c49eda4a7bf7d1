"""The compiled (numba) kernels against the NumPy code they replace, and when each is used."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import _accel, optim
from deepgrad.autograd.ops.math import ReLU
from deepgrad.optim import functional as F
from tests.optim.helpers import Param

needs_numba = pytest.mark.skipif(not _accel.available(), reason="numba is not installed")

CONFIGS = [
    dict(),
    dict(weight_decay=0.1),
    dict(maximize=True),
    dict(weight_decay=0.1, maximize=True),
    dict(amsgrad=True),
    dict(weight_decay=0.05, amsgrad=True, maximize=True),
    dict(weight_decay=0.05, decoupled_weight_decay=True),
    dict(weight_decay=0.05, decoupled_weight_decay=True, amsgrad=True),
    dict(beta1=0.5, beta2=0.6, eps=1e-3, lr=0.3),
]


def _run(fused, dtype, shape, kw, steps=6, seed=0, grad_view=None):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(shape).astype(dtype)
    m, v, vmax = (np.zeros_like(p) for _ in range(3))
    kw = {"lr": 1e-2, **kw}
    for step in range(1, steps + 1):
        g = rng.standard_normal(shape).astype(dtype) * dtype(10.0 ** rng.integers(-4, 2))
        if grad_view is not None:
            g = grad_view(g)
        F.adam_step(p, g, m, v, vmax, step=step, fused=fused, work=[], **kw)
    return p, m, v, vmax


@needs_numba
@pytest.mark.parametrize("kw", CONFIGS, ids=lambda k: ",".join(k) or "default")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(37, 5), (1000,), ()])
def test_compiled_adam_gives_the_ufunc_numbers(kw, dtype, shape):
    want = _run(False, dtype, shape, kw)
    got = _run(True, dtype, shape, kw)
    for name, a, b in zip(("param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"), got, want,
                          strict=True):
        assert a.dtype == dtype, name
        np.testing.assert_array_max_ulp(a, b, maxulp=1)


@needs_numba
def test_non_contiguous_gradient_and_nan():
    def transposed(g):
        return np.ascontiguousarray(g.T).T  # same values, Fortran order

    kw = dict(amsgrad=True)
    want = _run(False, np.float32, (8, 6), kw, grad_view=transposed)
    got = _run(True, np.float32, (8, 6), kw, grad_view=transposed)
    np.testing.assert_array_max_ulp(got[0], want[0], maxulp=1)
    p = np.ones(4, np.float32)
    g = np.array([1, np.nan, 2, np.inf], np.float32)
    outs = []
    for fused in (False, True):
        q, m, v, vm = p.copy(), np.zeros(4, np.float32), np.zeros(4, np.float32), \
            np.zeros(4, np.float32)
        with np.errstate(invalid="ignore"):  # inf / inf in the ufunc path
            F.adam_step(q, g, m, v, vm, step=1, lr=0.1, amsgrad=True, fused=fused)
        outs.append((q, m, v, vm))
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_max_ulp(np.nan_to_num(a), np.nan_to_num(b), maxulp=1)


def _spy(monkeypatch, name="adam_step"):
    """Record the shape of the first argument of every call to ``_accel.<name>``."""
    calls = []
    original = getattr(_accel, name)

    def recording(*a, **k):
        calls.append(a[0].shape)
        return original(*a, **k)

    monkeypatch.setattr(_accel, name, recording)
    return calls


def _one_step(opt_kw, dtype=np.float32):
    p = Param(np.ones((3, 2), dtype))
    opt = optim.Adam([p], lr=0.1, **opt_kw)
    p.grad = np.full((3, 2), 0.5, dtype)
    opt.step()
    return p


@needs_numba
def test_adam_uses_the_compiled_update_by_default(monkeypatch):
    _accel.available()  # loaded (as after any large parameter): small ones use it too
    calls = _spy(monkeypatch)
    _one_step({})
    assert calls == [(3, 2)]
    _one_step({"fused": False})
    _one_step({}, dtype=np.float16)  # not a dtype the kernel takes: the ufuncs
    assert calls == [(3, 2)]
    monkeypatch.setenv("DEEPGRAD_NUMBA", "0")
    _one_step({})
    assert calls == [(3, 2)]
    _one_step({"fused": True})  # an explicit request wins over the environment
    assert calls == [(3, 2), (3, 2)]


@needs_numba
def test_fused_true_rejects_arrays_it_cannot_take():
    p = Param(np.ones(3, np.float16))
    opt = optim.AdamW([p], fused=True)
    p.grad = np.ones(3, np.float16)
    with pytest.raises(ValueError, match=r"fused=True\) needs C-contiguous NumPy float32/float64"):
        opt.step()


def test_without_numba_adam_falls_back_and_fused_true_says_why(monkeypatch):
    monkeypatch.setattr(_accel, "_kernels", None)
    monkeypatch.setattr(_accel, "_error", "numba is not installed (test); pip install x")
    p = _one_step({})
    want = _one_step({"fused": False})
    np.testing.assert_array_equal(p.data, want.data)
    assert not _accel.available()
    with pytest.raises(ImportError, match="numba is not installed"):
        optim.Adam([Param(np.ones(2, np.float32))], fused=True)
    with pytest.raises(ImportError, match="numba"):
        F.adam_step(*(np.ones(2, np.float32) for _ in range(4)), step=1, lr=0.1, fused=True)


@needs_numba
def test_numba_is_loaded_only_for_a_large_parameter(monkeypatch):
    monkeypatch.setattr(_accel, "_kernels", None)  # as in a fresh process
    monkeypatch.setattr(_accel, "_error", None)
    calls = _spy(monkeypatch)
    small = Param(np.ones(_accel.AUTO_MIN_SIZE - 1, np.float32))
    opt = optim.Adam([small])
    small.grad = np.ones_like(small.data)
    opt.step()
    assert calls == [] and _accel._kernels is None
    big = Param(np.ones(_accel.AUTO_MIN_SIZE, np.float32))
    opt.add_param_group({"params": [big]})
    big.grad = np.ones_like(big.data)
    opt.step()
    assert calls == [(_accel.AUTO_MIN_SIZE,)] and _accel._kernels is not None
    opt.step()  # now loaded: the small parameter takes the compiled path too
    assert len(calls) == 3


def _relu_both(x, gy):
    """ReLU's output, mask and input gradient through the compiled kernels and NumPy's."""
    out = []
    for compiled in (True, False):
        f = ReLU()
        f.requires_grad = True
        if compiled:
            y, mask = _accel.relu_forward(x, True)
            f.mask = mask
            gx = _accel.relu_backward(gy, mask)
        else:
            y, mask = np.maximum(x, 0), x > 0
            gx = gy * mask
        out.append((y, mask, gx))
    return out


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_relu_gives_numpys_numbers(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3, 5)).astype(dtype)
    x.flat[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30]
    gy = rng.standard_normal(x.shape).astype(dtype)
    (y1, m1, g1), (y2, m2, g2) = _relu_both(x, gy)
    assert y1.dtype == g1.dtype == dtype and m1.dtype == np.bool_
    np.testing.assert_array_equal(y1, y2)  # NaN where NaN, +inf kept, 0 for <= 0
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(g1, g2)
    # a strided upstream gradient is read correctly
    gt = np.asfortranarray(gy)
    np.testing.assert_array_equal(_accel.relu_backward(gt, m1), g2)


@needs_numba
def test_relu_op_takes_the_kernel_for_large_arrays_only_before_numba_loads(monkeypatch):
    monkeypatch.setattr(_accel, "_kernels", None)  # as in a fresh process
    monkeypatch.setattr(_accel, "_error", None)
    calls = _spy(monkeypatch, "relu_forward")
    small = dg.tensor(np.ones(10, np.float32), requires_grad=True)
    dg.relu(small).sum().backward()
    assert calls == []
    big = dg.tensor(-np.ones(_accel.AUTO_MIN_SIZE, np.float32), requires_grad=True)
    y = dg.nn.ReLU()(big)
    y.sum().backward()
    assert calls == [(_accel.AUTO_MIN_SIZE,)]
    assert y.dtype == np.float32 and float(y.data.sum()) == 0.0
    np.testing.assert_array_equal(big.grad, np.zeros_like(big.data))
    monkeypatch.setenv("DEEPGRAD_NUMBA", "0")
    dg.nn.ReLU()(big)
    assert calls == [(_accel.AUTO_MIN_SIZE,)]


@needs_numba
def test_kernels_compile_in_memory_when_nothing_can_cache_them(monkeypatch):
    monkeypatch.setattr(_accel, "_kernels", None)
    monkeypatch.setattr(_accel, "_error", None)
    build = _accel._build
    tried = []

    def no_cache_dir(numba, cache):
        tried.append(cache)
        if cache:  # what numba raises when no cache locator is writable
            raise RuntimeError("cannot cache function 'adam_kernel': no locator available")
        return build(numba, cache)

    monkeypatch.setattr(_accel, "_build", no_cache_dir)
    assert _accel.available() and tried == [True, False]
    p = np.ones(3, np.float32)
    F.adam_step(p, np.ones(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32),
                step=1, lr=0.1, fused=True)
    np.testing.assert_allclose(p, 0.9, rtol=1e-6)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_maxpool_backward_gives_numpys_numbers(dtype, monkeypatch):
    from deepgrad.autograd.ops.pool import MaxPool2d

    _accel.available()  # loaded: arrays of 2,048+ elements take the kernels
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 3, (4, 3, 32, 32)).astype(dtype)  # many ties: the first max wins
    x[0, 0, :2, :2] = np.nan
    gy = rng.standard_normal((4, 3, 16, 16)).astype(dtype)
    out = []
    calls = _spy(monkeypatch, "maxpool2x2_backward")
    for numba_on in ("1", "0"):
        monkeypatch.setenv("DEEPGRAD_NUMBA", numba_on)
        f = MaxPool2d(2)
        f.requires_grad = True
        f.forward(x)
        out.append(f.backward(gy))
    assert calls == [gy.shape]  # the first pass took the kernel, the second the NumPy code
    assert out[0].dtype == dtype
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(_accel.maxpool2x2_backward(np.asfortranarray(gy), f.idx),
                                  out[1])


@needs_numba
@pytest.mark.parametrize("src,dst", [(np.float64, np.float32), (np.float32, np.float32),
                                     (np.float32, np.float64)])
def test_take_rows_into_is_a_gather_and_cast(src, dst):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((50, 7)) * 1e3).astype(src)
    x[3, 2] = np.nan
    rows = rng.permutation(50)[:9]
    for xs in (x, np.asfortranarray(x), x[:, ::-1]):  # any strides
        out = np.full((9, 7), -1, dtype=dst)
        _accel.take_rows_into(xs, rows, out)
        np.testing.assert_array_equal(out, xs[rows].astype(dst))
    empty = np.empty((0, 7), dtype=dst)
    _accel.take_rows_into(x, rows[:0], empty)  # an empty batch: nothing to do


# ------------------------------------------------------------------ Adam's group update
def _adam_run(cls, kw, dtype, per_param, monkeypatch, steps=4, shapes=None, skip=None):
    """Parameters after ``steps`` steps: all at once (the group kernel) or one by one."""
    shapes = shapes or [(3, 4), (5,), (), (7, 2), (1,), (2, 3, 2), (4,), (6,), (3,), (2, 2)]
    rng = np.random.default_rng(0)
    params = [Param(rng.standard_normal(s).astype(dtype)) for s in shapes]
    opt = cls(params, **kw)
    with monkeypatch.context() as m:
        if per_param:
            m.setattr(cls, "_update_group", optim.Optimizer._update_group)
        for t in range(steps):
            for i, p in enumerate(params):
                g = rng.standard_normal(p.data.shape).astype(dtype)
                if i == 1:  # a read-only, non-contiguous gradient
                    g = np.asfortranarray(np.ones((2, 1), dtype) * g)[0]
                    assert not g.flags.c_contiguous
                    g.flags.writeable = False
                p.grad = None if skip is not None and skip(t, i) else g
            opt.step()
    return [p.data for p in params], opt


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, kw", [
    (optim.Adam, {"lr": 0.01}),
    (optim.Adam, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    (optim.Adam, {"lr": 0.01, "maximize": True, "betas": (0.5, 0.9)}),
    (optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
    (optim.AdamW, {"lr": 0.01, "amsgrad": True, "maximize": True}),
])
def test_adam_group_update_is_the_per_parameter_kernel_bit_for_bit(cls, kw, dtype, monkeypatch):
    """Ten parameters (two calls of GROUP_ARITY = 8, the second padded), a read-only
    gradient among them: the same bits as the kernel called per parameter."""
    calls = []
    original = _accel.adam_group_step
    monkeypatch.setattr(_accel, "adam_group_step",
                        lambda *a, **k: calls.append(len(a[0])) or original(*a, **k))
    got, opt = _adam_run(cls, kw, dtype, False, monkeypatch)
    assert calls == [10] * 4
    want, _ = _adam_run(cls, kw, dtype, True, monkeypatch)
    assert calls == [10] * 4  # the reference never took the group path
    for a, b in zip(got, want, strict=True):
        assert a.dtype == dtype and np.array_equal(a, b)
    assert all(s["step"] == 4 for s in opt.state[0])


@needs_numba
def test_adam_group_update_falls_back_when_step_counts_differ(monkeypatch):
    """A parameter without a gradient at step 1 is a step behind the others after it: the
    group is then updated parameter by parameter (each with its own bias correction)."""
    calls = []
    original = _accel.adam_group_step
    monkeypatch.setattr(_accel, "adam_group_step",
                        lambda *a, **k: calls.append(len(a[0])) or original(*a, **k))
    skip = lambda t, i: t == 0 and i == 3  # noqa: E731
    got, opt = _adam_run(optim.Adam, {"lr": 0.1}, np.float32, False, monkeypatch, skip=skip)
    assert calls == [9]  # step 1: the nine with gradients; then the counts differ
    want, _ = _adam_run(optim.Adam, {"lr": 0.1}, np.float32, True, monkeypatch, skip=skip)
    for a, b in zip(got, want, strict=True):
        assert np.array_equal(a, b)
    assert [s["step"] for s in opt.state[0]][2:5] == [4, 3, 4]


@needs_numba
def test_adam_group_update_is_off_with_fused_false_and_mixed_dtypes(monkeypatch):
    calls = []
    monkeypatch.setattr(_accel, "adam_group_step", lambda *a, **k: calls.append(1))
    _adam_run(optim.Adam, {"fused": False}, np.float32, False, monkeypatch, steps=1)
    params = [Param(np.ones(3, np.float32)), Param(np.ones(3, np.float64))]
    opt = optim.Adam(params)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    assert calls == [] and params[0].data.dtype == np.float32 and params[1].data[0] < 1

"""Optimizer behaviour: checkpoints, validation, skipped params, dtypes, groups, hooks."""

from __future__ import annotations

import copy
import tracemalloc

import numpy as np
import pytest

from deepgrad import optim
from deepgrad.optim import functional as F

from .helpers import Param, make_params, noise_sequence, set_grads

CONFIGS = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.Adagrad, dict(lr_decay=0.1, weight_decay=0.1)),
    (optim.Adadelta, dict(weight_decay=0.1)),
    (optim.RMSprop, dict(momentum=0.9, centered=True)),
    (optim.RMSprop, dict(weight_decay=0.1, maximize=True)),
    (optim.Adam, dict(lr=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, dict(lr=0.01, amsgrad=True, maximize=True)),
]
IDS = [f"{c.__name__}-{'-'.join(map(str, kw.values()))}" for c, kw in CONFIGS]
configs = pytest.mark.parametrize("cls, kw", CONFIGS, ids=IDS)


def _groups(params, kw):
    """Two groups, the second with its own lr: per-group hyperparameters must round-trip."""
    return [{"params": params[:2]}, {"params": params[2:], "lr": kw.get("lr", 0.01) / 2}]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@configs
def test_state_dict_round_trip_is_bit_identical(cls, kw, dtype):
    noises = noise_sequence(dtype, 5)
    params = make_params(dtype)
    opt = cls(_groups(params, kw), **kw)
    for t in range(3):
        set_grads(params, noises[t], skip=(1,) if t == 0 else ())
        opt.step()
    saved = opt.state_dict()
    saved_copy = copy.deepcopy(saved)
    params2 = [Param(p.data.copy()) for p in params]
    opt2 = cls(_groups(params2, {}), **{k: v for k, v in kw.items() if k != "lr"})
    opt2.load_state_dict(saved)
    assert opt2.param_groups[1]["lr"] == opt.param_groups[1]["lr"]
    for t in (3, 4):
        set_grads(params, noises[t])
        set_grads(params2, noises[t])
        opt.step()
        opt2.step()
        for p, p2 in zip(params, params2, strict=True):
            np.testing.assert_array_equal(p.data, p2.data)
            assert p2.data.dtype == dtype
    # the saved dict is a snapshot: later steps did not change it
    for i, st in saved_copy["state"].items():
        for k, v in st.items():
            np.testing.assert_array_equal(saved["state"][i][k], v)


@configs
def test_state_dict_layout_is_pytorchs(cls, kw):
    params = make_params(np.float64)
    opt = cls(_groups(params, kw), **kw)
    set_grads(params, noise_sequence(np.float64, 1)[0])
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert all(isinstance(i, int) for i in sd["state"])
    assert not any(k.startswith("_") for st in sd["state"].values() for k in st)


def test_load_state_dict_rejects_mismatched_groups():
    params = make_params(np.float64)
    opt = optim.Adam(params)
    other = optim.Adam(_groups(make_params(np.float64), {}))
    with pytest.raises(ValueError, match="groups"):
        opt.load_state_dict(other.state_dict())
    small = optim.Adam(make_params(np.float64)[:2])
    with pytest.raises(ValueError, match="parameters"):
        opt.load_state_dict(small.state_dict())


def test_load_casts_state_to_the_parameter_dtype():
    params = make_params(np.float64)
    opt = optim.Adam(params)
    set_grads(params, noise_sequence(np.float64, 1)[0])
    opt.step()
    params32 = make_params(np.float32)
    opt32 = optim.Adam(params32)
    opt32.load_state_dict(opt.state_dict())
    st = opt32.state[0][0]
    assert st["exp_avg"].dtype == np.float32 and isinstance(st["step"], int)


BAD = [
    (optim.SGD, dict(lr=-0.1), "lr"),
    (optim.SGD, dict(momentum=-0.5), "momentum"),
    (optim.SGD, dict(weight_decay=-1.0), "weight_decay"),
    (optim.SGD, dict(nesterov=True), "nesterov"),
    (optim.SGD, dict(momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    (optim.Adagrad, dict(lr=-1.0), "lr"),
    (optim.Adagrad, dict(lr_decay=-1.0), "lr_decay"),
    (optim.Adagrad, dict(eps=-1.0), "eps"),
    (optim.Adagrad, dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (optim.Adadelta, dict(rho=1.5), "rho"),
    (optim.Adadelta, dict(eps=-1e-6), "eps"),
    (optim.RMSprop, dict(alpha=-0.1), "alpha"),
    (optim.RMSprop, dict(momentum=-0.1), "momentum"),
    (optim.RMSprop, dict(eps=-1.0), "eps"),
    (optim.Adam, dict(lr=-1e-3), "lr"),
    (optim.Adam, dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    (optim.Adam, dict(betas=(0.9, -0.1)), r"betas\[1\]"),
    (optim.Adam, dict(eps=-1e-8), "eps"),
    (optim.AdamW, dict(weight_decay=-0.01), "weight_decay"),
    (optim.AdamW, dict(betas=(0.9, 1.0)), r"betas\[1\]"),
]


@pytest.mark.parametrize("cls, kw, name", BAD, ids=[f"{c.__name__}-{n}" for c, _, n in BAD])
def test_bad_hyperparameters_raise(cls, kw, name):
    with pytest.raises(ValueError, match=name):
        cls(make_params(np.float64), **kw)
    # a bad value for one group is caught too
    opt = cls(make_params(np.float64)[:1])
    with pytest.raises(ValueError, match=name):
        opt.add_param_group({"params": make_params(np.float64)[1:], **kw})


def test_bad_params_raise():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([])
    p = make_params(np.float64)
    with pytest.raises(TypeError):
        optim.SGD(p[0])  # a single parameter, not an iterable of them
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD([{"params": set(p)}])
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p[0], p[0]])
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": p[:2]}, {"params": p[1:]}])
    with pytest.raises(TypeError):
        optim.SGD([np.zeros(3)])


@configs
def test_params_without_grad_are_skipped(cls, kw):
    params = make_params(np.float64)
    before = params[1].data.copy()
    opt = cls(params, **kw)
    for noises in noise_sequence(np.float64, 3):
        set_grads(params, noises, skip=(1,))
        opt.step()
    np.testing.assert_array_equal(params[1].data, before)
    st = opt.state[0][1]
    assert st.get("step", 0) == 0 and "exp_avg" not in st and "momentum_buffer" not in st


@configs
def test_float32_stays_float32(cls, kw):
    params = make_params(np.float32)
    opt = cls(params, **kw)
    for noises in noise_sequence(np.float32, 3):
        set_grads(params, noises)
        opt.step()
    for p, states in zip(params, opt.state[0], strict=True):
        assert p.data.dtype == np.float32
        for key, value in states.items():
            arrays = value if isinstance(value, list) else [value]
            for a in arrays:
                if isinstance(a, np.ndarray):
                    assert a.dtype == np.float32, key
                else:
                    assert isinstance(a, int), key  # the step count


@configs
def test_numpy_float64_hyperparameters_do_not_upcast(cls, kw):
    """np.float64 hyperparameters give bit-for-bit the float32 arithmetic of Python floats."""

    def run(convert):
        params = make_params(np.float32)
        opt = cls(params, **{k: convert(v) for k, v in kw.items()})
        for noises in noise_sequence(np.float32, 3):
            set_grads(params, noises)
            opt.step()
        return [p.data for p in params]

    def to_np64(v):
        return np.float64(v) if isinstance(v, float) else v

    for a, b in zip(run(lambda v: v), run(to_np64), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "cls, kw",
    [
        (optim.Adam, dict(amsgrad=True, weight_decay=0.1)),
        (optim.AdamW, dict()),
        (optim.SGD, dict(momentum=0.9, nesterov=True)),
        (optim.RMSprop, dict(centered=True, momentum=0.9)),
    ],
)
def test_no_allocation_after_the_first_step(cls, kw):
    p = Param(np.zeros(1 << 18, dtype=np.float32))  # 1 MiB
    p.grad = np.ones_like(p.data)
    opt = cls([p], **kw)
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < p.data.nbytes // 8


def test_functional_with_and_without_work_agree():
    rng = np.random.default_rng(0)
    theta, grad = rng.standard_normal(6), rng.standard_normal(6)
    a = [theta.copy(), np.zeros(6), np.zeros(6), np.zeros(6)]
    b = [theta.copy(), np.zeros(6), np.zeros(6), np.zeros(6)]
    work: list = []
    for step in (1, 2):
        kw = dict(step=step, lr=0.1, weight_decay=0.1, amsgrad=True, maximize=True,
                  fused=False)  # the ufunc path: the one that uses work arrays
        F.adam_step(a[0], grad, *a[1:], **kw)
        F.adam_step(b[0], grad, *b[1:], work=work, **kw)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert len(work) == 2
    buf = F.sgd_step(theta, grad, None, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(buf, grad)


def test_zero_grad():
    params = make_params(np.float64)
    opt = optim.SGD(params)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.zero_grad(set_to_none=False)
    assert all(np.all(p.grad == 0) for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_add_param_group_and_lr_property():
    params = make_params(np.float64)
    opt = optim.Adam(params[:1], lr=0.01)
    opt.add_param_group({"params": params[1], "betas": (0.5, 0.6)})
    assert len(opt.param_groups) == 2 and len(opt.state) == 2
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["betas"] == (0.5, 0.6)
    assert opt.param_groups[1]["params"] == [params[1]]
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [params[0]]})
    assert opt.lr == 0.01
    opt.lr = 0.5
    assert opt.param_groups[0]["lr"] == 0.5
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0
    assert "Adam" in repr(opt) and "Parameter Group 1" in repr(opt)


def test_hooks_and_closure():
    params = make_params(np.float64)
    opt = optim.SGD(params, lr=1.0)
    calls = []

    def clip(o):
        calls.append("pre")
        optim.clip_grad_value_(params, 0.0)  # zero every gradient: nothing moves

    handle = opt.register_step_pre_hook(clip)
    opt.register_step_post_hook(lambda o: calls.append("post"))
    before = [p.data.copy() for p in params]
    for p in params:
        p.grad = np.ones_like(p.data)
    loss = opt.step(lambda: 42.0)
    assert loss == 42.0 and calls == ["pre", "post"]
    for p, b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, b)
    handle.remove()
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    assert calls == ["pre", "post", "post"]
    assert not np.array_equal(params[0].data, before[0])


def test_grad_shape_mismatch_raises():
    p = Param(np.zeros(3))
    p.grad = np.zeros(4)
    with pytest.raises(ValueError, match="shape"):
        optim.SGD([p]).step()


def test_clip_grad_norm_basics():
    p, q, r = Param(np.zeros(2)), Param(np.zeros(2)), Param(np.zeros(1))
    p.grad, q.grad = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    total = optim.clip_grad_norm_([p, q, r], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([p.grad, q.grad]), [0.6, 0, 0, 0.8], rtol=1e-6)
    assert optim.clip_grad_norm_([r], 1.0) == 0.0
    p.grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        optim.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_trains_a_deepgrad_tensor():
    tensor_mod = pytest.importorskip("deepgrad.autograd.tensor")
    x = tensor_mod.Tensor(np.array([0.0, 5.0]), requires_grad=True)
    target = np.array([3.0, -1.0])
    opt = optim.Adam([x], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        loss = ((x - tensor_mod.Tensor(target)) ** 2).sum()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(x.data, target, atol=1e-2)

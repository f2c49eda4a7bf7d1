"""Ten steps of every optimizer (and notable option) against PyTorch, and gradient clipping."""

from __future__ import annotations

import numpy as np
import pytest

from deepgrad import optim

from .helpers import grad_of, initial_arrays, make_params, noise_sequence, set_grads

torch = pytest.importorskip("torch")

STEPS = 10
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.2, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True)),
]


def _ids(case):
    name, kw = case
    return name + "-" + ("-".join(f"{k}={v}" for k, v in kw.items()) or "defaults")


def _skip(t: int) -> tuple[int, ...]:
    """Parameter 1 has no gradient on some steps (both libraries must skip it)."""
    return (1,) if t % 3 == 1 else ()


def _run_torch(name, kw, dtype):
    params = [torch.tensor(a, requires_grad=True) for a in initial_arrays(dtype)]
    opt = getattr(torch.optim, name)(params, foreach=False, **kw)
    history = []
    for t, noises in enumerate(noise_sequence(dtype, STEPS)):
        for i, (p, n) in enumerate(zip(params, noises, strict=True)):
            g = None if i in _skip(t) else grad_of(p.detach().numpy(), n).copy()
            p.grad = None if g is None else torch.from_numpy(g)
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history, opt


def _run_ours(name, kw, dtype):
    params = make_params(dtype)
    opt = getattr(optim, name)(params, **kw)
    history = []
    for t, noises in enumerate(noise_sequence(dtype, STEPS)):
        set_grads(params, noises, skip=_skip(t))
        opt.step()
        history.append([p.data.copy() for p in params])
    return history, opt


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_ten_steps_match_torch(case, dtype):
    name, kw = case
    ours, opt = _run_ours(name, kw, dtype)
    theirs, topt = _run_torch(name, kw, dtype)
    for t, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for x, y in zip(a, b, strict=True):
            assert x.dtype == dtype
            np.testing.assert_allclose(x, y, **TOL[dtype], err_msg=f"step {t + 1}")
    # the state has PyTorch's layout: same parameter indices, same names, same values
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i, st in sd["state"].items():
        tst = tsd["state"][i]
        assert set(st) == set(tst)
        for key, value in st.items():
            np.testing.assert_allclose(np.asarray(value), tst[key].numpy(), **TOL[dtype])
    for group, tgroup in zip(sd["param_groups"], tsd["param_groups"], strict=True):
        assert set(group) <= set(tgroup)
        assert group["params"] == tgroup["params"]


def test_two_groups_match_torch():
    arrays = initial_arrays(np.float64)
    tparams = [torch.tensor(a, requires_grad=True) for a in arrays]
    params = make_params(np.float64)
    topt = torch.optim.Adam(
        [{"params": tparams[:1]}, {"params": tparams[1:], "lr": 0.1, "amsgrad": True}],
        lr=0.01,
        foreach=False,
    )
    opt = optim.Adam(
        [{"params": params[:1]}, {"params": params[1:], "lr": 0.1, "amsgrad": True}], lr=0.01
    )
    for noises in noise_sequence(np.float64, STEPS):
        set_grads(params, noises)
        for p, n in zip(tparams, noises, strict=True):
            p.grad = torch.from_numpy(grad_of(p.detach().numpy(), n).copy())
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams, strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_loads_a_torch_state_dict():
    """A torch Adam checkpoint converted with .numpy() resumes in deepgrad."""
    ours, _ = _run_ours("Adam", dict(lr=0.01), np.float64)
    _, topt = _run_torch("Adam", dict(lr=0.01), np.float64)
    tsd = topt.state_dict()
    sd = {
        "state": {i: {k: v.numpy() for k, v in st.items()} for i, st in tsd["state"].items()},
        "param_groups": tsd["param_groups"],
    }
    tparams = topt.param_groups[0]["params"]
    params = make_params(np.float64)
    for p, tp in zip(params, tparams, strict=True):
        p.data[...] = tp.detach().numpy()
    opt = optim.Adam(params, lr=0.01)
    opt.load_state_dict(sd)
    noises = noise_sequence(np.float64, 1, seed=7)[0]
    set_grads(params, noises)
    for p, n in zip(tparams, noises, strict=True):
        p.grad = torch.from_numpy(grad_of(p.detach().numpy(), n).copy())
    opt.step()
    topt.step()
    for p, tp in zip(params, tparams, strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- clipping


def _clip_setup(dtype, scale):
    arrays = [np.array(a * scale, dtype=dtype) for a in initial_arrays(dtype, seed=3)]
    params = make_params(dtype)
    tparams = [torch.tensor(p.data, requires_grad=True) for p in params]
    for i, (p, tp, g) in enumerate(zip(params, tparams, arrays, strict=True)):
        if i == 1:
            continue  # no gradient: skipped by both
        p.grad = g.copy()
        tp.grad = torch.from_numpy(g.copy())
    return params, tparams


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    params, tparams = _clip_setup(dtype, 2.0)
    total = optim.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type=norm_type)
    tol = TOL[dtype]
    assert isinstance(total, float)
    np.testing.assert_allclose(total, ttotal.item(), **tol)
    for p, tp in zip(params, tparams, strict=True):
        if tp.grad is None:
            assert p.grad is None
            continue
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_value_matches_torch(dtype):
    params, tparams = _clip_setup(dtype, 1.0)
    optim.clip_grad_value_(params, 0.7)
    torch.nn.utils.clip_grad_value_(tparams, 0.7)
    for p, tp in zip(params, tparams, strict=True):
        if tp.grad is not None:
            assert p.grad.dtype == dtype
            np.testing.assert_array_equal(p.grad, tp.grad.numpy())

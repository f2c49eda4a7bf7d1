"""Learning-rate schedulers: PyTorch parity, closed forms, the course's decay, checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deepgrad import optim
from deepgrad.optim import lr_scheduler as S

from .helpers import make_params

STEPS = 10
LRS = (0.1, 0.03)  # two parameter groups with their own lr


def _our_opt():
    p = make_params(np.float64)
    return optim.SGD([{"params": p[:1], "lr": LRS[0]}, {"params": p[1:], "lr": LRS[1]}])


def _lambda(e):
    return 0.95**e / (1 + e)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 8], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),  # 10 steps: past T_max, twice
    ("CosineAnnealingLR", dict(T_max=3)),
    ("CosineAnnealingLR", dict(T_max=20, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=_lambda)),
]


def _sid(case):
    return case[0] + "-" + "-".join(f"{k}={getattr(v, '__name__', v)}" for k, v in case[1].items())


torch_cases = pytest.mark.parametrize("case", SCHEDULERS, ids=[_sid(c) for c in SCHEDULERS])


@torch_cases
def test_ten_steps_match_torch(case):
    torch = pytest.importorskip("torch")
    name, kw = case
    tp = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    topt = torch.optim.SGD([{"params": tp[:1], "lr": LRS[0]}, {"params": tp[1:], "lr": LRS[1]}])
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    opt = _our_opt()
    sched = getattr(S, name)(opt, **kw)
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    for _ in range(STEPS):
        topt.step()
        opt.step()
        tsched.step()
        sched.step()
        ours, theirs = sched.get_last_lr(), tsched.get_last_lr()
        assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-15)
        assert [g["lr"] for g in opt.param_groups] == ours
        assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)


METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.89999, 0.8, 0.8, 0.8, 0.8, 0.81, 0.79, 0.79, 0.795]
PLATEAU = [
    dict(patience=1, factor=0.5),
    dict(patience=0, factor=0.5, cooldown=2, min_lr=0.01),
    dict(patience=1, factor=0.2, threshold=0.05, threshold_mode="abs", min_lr=[0.02, 0.0]),
    dict(mode="max", patience=1, factor=0.5),
    dict(mode="max", patience=0, threshold=0.01, threshold_mode="abs", eps=0.02),
]


@pytest.mark.parametrize("kw", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    tp = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    topt = torch.optim.SGD([{"params": tp[:1], "lr": LRS[0]}, {"params": tp[1:], "lr": LRS[1]}])
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    opt = _our_opt()
    sched = S.ReduceLROnPlateau(opt, **kw)
    for metric in METRICS:
        tsched.step(metric)
        sched.step(metric)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        assert sched.num_bad_epochs == tsched.num_bad_epochs
        assert sched.cooldown_counter == tsched.cooldown_counter


def test_plateau_reduces_after_patience():
    opt = _our_opt()
    sched = S.ReduceLROnPlateau(opt, patience=2, factor=0.5)
    for m in [1.0, 1.0, 1.0]:
        sched.step(m)
    assert opt.lr == LRS[0]
    sched.step(1.0)  # third bad epoch > patience
    assert opt.lr == LRS[0] * 0.5


@pytest.mark.parametrize("T_max, eta_min", [(4, 0.0), (4, 0.01), (3, 0.002), (7, 0.0)])
def test_cosine_follows_the_cosine_past_t_max(T_max, eta_min):
    opt = _our_opt()
    sched = S.CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)
    for t in range(1, 3 * T_max + 2):
        sched.step()
        for lr, lr0 in zip(sched.get_last_lr(), LRS, strict=True):
            want = eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2
            assert lr == pytest.approx(want, rel=1e-10, abs=1e-15)


def test_constructing_keeps_lr_and_records_initial_lr():
    for name, kw in SCHEDULERS + [("InverseTimeDecay", dict(decay_rate=0.5))]:
        opt = _our_opt()
        sched = getattr(S, name)(opt, **kw)
        assert [g["lr"] for g in opt.param_groups] == list(LRS)
        assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
        assert sched.get_last_lr() == list(LRS)
        assert sched.last_epoch == 0


@pytest.mark.parametrize("time_interval", [None, 3])
def test_inverse_time_decay_is_the_course_formula(time_interval):
    opt = _our_opt()
    sched = S.InverseTimeDecay(opt, decay_rate=0.7, time_interval=time_interval)
    for epoch in range(1, 12):
        sched.step()
        k = epoch if time_interval is None else math.floor(epoch / time_interval)
        want = [lr0 / (1 + 0.7 * k) for lr0 in LRS]
        assert sched.get_last_lr() == pytest.approx(want, rel=1e-15)


def test_inverse_time_decay_matches_torch_lambda():
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LRS[0])
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, lambda e: 1 / (1 + 0.3 * (e // 2)))
    opt = optim.SGD(make_params(np.float64), lr=LRS[0])
    sched = S.InverseTimeDecay(opt, decay_rate=0.3, time_interval=2)
    for _ in range(STEPS):
        topt.step()
        tsched.step()
        sched.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)


@pytest.mark.parametrize(
    "case",
    SCHEDULERS + [("InverseTimeDecay", dict(decay_rate=0.5, time_interval=2))],
    ids=_sid,
)
def test_state_dict_round_trip(case):
    name, kw = case
    opt, opt2 = _our_opt(), _our_opt()
    sched = getattr(S, name)(opt, **kw)
    for _ in range(4):
        sched.step()
    saved = sched.state_dict()
    assert "optimizer" not in saved
    sched2 = getattr(S, name)(opt2, **kw)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(saved)
    for _ in range(6):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_plateau_state_dict_round_trip():
    opt, opt2 = _our_opt(), _our_opt()
    sched = S.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1)
    for m in METRICS[:6]:
        sched.step(m)
    sched2 = S.ReduceLROnPlateau(opt2)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    for m in METRICS[6:]:
        sched.step(m)
        sched2.step(m)
        assert sched2.get_last_lr() == sched.get_last_lr()


def test_step_with_epoch_uses_closed_form():
    opt = _our_opt()
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    sched.step(5)
    assert sched.get_last_lr() == pytest.approx([lr * 0.25 for lr in LRS])
    opt = _our_opt()
    sched = S.MultiStepLR(opt, milestones=[1, 3, 3], gamma=0.5)
    sched.step(3)
    assert sched.get_last_lr() == pytest.approx([lr * 0.125 for lr in LRS])


def test_bad_scheduler_arguments():
    opt = _our_opt()
    with pytest.raises(ValueError, match="factor"):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        S.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="threshold_mode"):
        S.ReduceLROnPlateau(opt, threshold_mode="pct")
    with pytest.raises(ValueError, match="min_lr"):
        S.ReduceLROnPlateau(opt, min_lr=[0.1])
    with pytest.raises(ValueError, match="T_max"):
        S.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="step_size"):
        S.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="decay_rate"):
        S.InverseTimeDecay(opt, decay_rate=-1.0)
    with pytest.raises(ValueError, match="lr_lambdas"):
        S.LambdaLR(opt, [_lambda])
    with pytest.raises(TypeError):
        S.StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(_our_opt(), step_size=1, last_epoch=3)

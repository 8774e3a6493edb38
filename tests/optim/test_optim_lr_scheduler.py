"""Learning-rate schedules against their closed forms."""

from __future__ import annotations

import math

import pytest

import agrad as ag


def _opt(lrs=(0.1, 0.02)):
    groups = [{"params": [ag.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return ag.optim.SGD(groups, lr=1.0)


def _trace(opt, sched, n):
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr())
        assert out[-1] == [g["lr"] for g in opt.param_groups]
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("step_size,gamma", [(1, 0.5), (3, 0.1), (4, 0.9)])
def test_step_lr(step_size, gamma):
    opt = _opt()
    sched = ag.optim.StepLR(opt, step_size=step_size, gamma=gamma)
    got = _trace(opt, sched, 12)
    for e, lrs in enumerate(got):
        for base, lr in zip((0.1, 0.02), lrs):
            assert lr == pytest.approx(base * gamma ** (e // step_size), rel=1e-15)


@pytest.mark.parametrize("T_max,eta_min", [(10, 0.0), (5, 1e-3), (1, 0.0)])
def test_cosine_annealing(T_max, eta_min):
    opt = _opt()
    sched = ag.optim.CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)
    got = _trace(opt, sched, 3 * T_max + 1)
    for e, lrs in enumerate(got):
        for base, lr in zip((0.1, 0.02), lrs):
            want = eta_min + (base - eta_min) * (1 + math.cos(math.pi * e / T_max)) / 2
            assert lr == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert got[T_max] == pytest.approx([eta_min, eta_min], abs=1e-15)


def test_scheduler_state_dict_resumes():
    opt = _opt()
    sched = ag.optim.CosineAnnealingLR(opt, T_max=7, eta_min=0.001)
    _trace(opt, sched, 3)
    sd, opt_sd = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 3 and sd["base_lrs"] == [0.1, 0.02]
    want = _trace(opt, sched, 4)

    opt2 = _opt()
    sched2 = ag.optim.CosineAnnealingLR(opt2, T_max=7, eta_min=0.001)
    # PyTorch's order: build both, then load the optimizer (its groups carry "lr" and
    # "initial_lr") and the scheduler
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sd)
    assert _trace(opt2, sched2, 4) == want


def test_resume_needs_initial_lr():
    with pytest.raises(KeyError, match=r"StepLR: param 'initial_lr' is not specified in param_gr"):
        ag.optim.StepLR(_opt(), step_size=2, last_epoch=5)


def test_scheduler_errors():
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int, got 0"):
        ag.optim.StepLR(_opt(), step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be positive, got -3"):
        ag.optim.CosineAnnealingLR(_opt(), T_max=-3)
    with pytest.raises(TypeError, match="StepLR: expected an agrad.optim.Optimizer, got list"):
        ag.optim.StepLR([], step_size=1)

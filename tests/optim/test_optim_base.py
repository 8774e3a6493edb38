"""``Optimizer`` machinery: groups, zero_grad, state_dict round trips, and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag

CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
]


def _make(backend, rng):
    return [
        ag.asarray(rng.normal(size=s), backend=backend, requires_grad=True) for s in [(3,), (2, 2)]
    ]


def _train(opt, params, grads, backend):
    for gs in grads:
        opt.zero_grad()
        for p, g in zip(params, gs):
            p.grad = ag.asarray(g, backend=backend)
        opt.step()


@pytest.mark.parametrize("name,kw", CASES, ids=[c[0] for c in CASES])
def test_state_dict_round_trip_resumes_identically(backend, rng, name, kw):
    cls = getattr(ag.optim, name)
    params = _make(backend, rng)
    init = [p.numpy() for p in params]
    grads = [[rng.normal(size=p.shape) for p in params] for _ in range(6)]

    # uninterrupted: 6 steps
    ref = [ag.asarray(x, backend=backend, requires_grad=True) for x in init]
    ref_opt = cls(ref, **kw)
    _train(ref_opt, ref, grads, backend)

    # 3 steps, save, continue 3 more steps in a brand new optimizer on copies of the params
    opt = cls(params, **kw)
    _train(opt, params, grads[:3], backend)
    saved = opt.state_dict()
    snapshot = [p.numpy() for p in params]
    _train(opt, params, grads[3:4], backend)  # the saved dict is a snapshot: not affected
    resumed = [ag.asarray(x, backend=backend, requires_grad=True) for x in snapshot]
    opt2 = cls(resumed, lr=123.0)  # hyperparameters come back from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    _train(opt2, resumed, grads[3:], backend)
    for r, e in zip(resumed, ref):
        np.testing.assert_array_equal(r.numpy(), e.numpy())
    for key, v in opt2.state[resumed[0]].items():
        if isinstance(v, ag.Tensor):
            assert v.backend == backend and v.device == resumed[0].device, key


def test_state_dict_layout(backend):
    a = ag.asarray([1.0, 2.0], dtype=ag.float64, backend=backend, requires_grad=True)
    b = ag.asarray([3.0], dtype=ag.float64, backend=backend, requires_grad=True)
    c = ag.asarray([4.0], dtype=ag.float64, backend=backend, requires_grad=True)
    opt = ag.optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    a.grad = ag.ones_like(a)
    c.grad = ag.ones_like(c)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [0, 2]  # b had no grad: no state
    assert sd["state"][0]["step"] == 1 and isinstance(sd["state"][0]["step"], int)
    assert isinstance(sd["state"][0]["exp_avg"], ag.Tensor)
    assert sd["state"][0]["exp_avg"].backend == backend


def test_load_state_dict_checks_groups():
    a = ag.ones(2, requires_grad=True)
    b = ag.ones(2, requires_grad=True)
    sd = ag.optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match=r"SGD: loaded state dict has 1 parameter groups, .* 2"):
        ag.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"SGD: loaded parameter group 0 has 2 parameters"):
        ag.optim.SGD([a], lr=0.1).load_state_dict(sd)


def test_load_state_dict_refuses_other_backend():
    pytest.importorskip("array_api_strict")
    a = ag.ones(2, requires_grad=True)
    opt = ag.optim.SGD([a], lr=0.1, momentum=0.9)
    a.grad = ag.ones(2)
    opt.step()
    sd = opt.state_dict()
    b = ag.ones(2, backend="array_api_strict", requires_grad=True)
    with pytest.raises(ValueError, match=r"SGD: state 'momentum_buffer' .* backend 'numpy'"):
        ag.optim.SGD([b], lr=0.1, momentum=0.9).load_state_dict(sd)


def test_zero_grad(backend):
    w = ag.asarray([1.0, 2.0], dtype=ag.float64, backend=backend, requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.1)
    ag.sum(w * w).backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    ag.sum(w * w).backward()  # accumulates onto zeros
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
    opt.zero_grad()
    assert w.grad is None


def test_add_param_group_fills_defaults():
    a = ag.ones(2, requires_grad=True)
    b = ag.ones(2, requires_grad=True)
    opt = ag.optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert len(opt.param_groups) == 2
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="SGD: some parameters appear in more than one"):
        opt.add_param_group({"params": [a]})
    assert "Parameter Group 1" in repr(opt)


def test_accepts_module_parameters_generator():
    lin = ag.nn.Linear(3, 2)
    opt = ag.optim.Adam(lin.parameters(), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == 2


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: ag.optim.SGD(p, lr=-0.1), r"SGD: invalid learning rate: -0\.1"),
        (lambda p: ag.optim.SGD(p, momentum=-1), r"SGD: invalid momentum value: -1"),
        (lambda p: ag.optim.SGD(p, weight_decay=-1e-3), r"SGD: invalid weight_decay value: -0"),
        (lambda p: ag.optim.SGD(p, nesterov=True), r"SGD: Nesterov momentum requires a momentum"),
        (
            lambda p: ag.optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True),
            r"SGD: Nesterov .* dampening=0\.1",
        ),
        (lambda p: ag.optim.Adam(p, lr=-1.0), r"Adam: invalid learning rate: -1\.0"),
        (lambda p: ag.optim.Adam(p, betas=(1.0, 0.9)), r"Adam: invalid beta .* index 0.*: 1\.0"),
        (lambda p: ag.optim.Adam(p, betas=(0.9, -0.5)), r"Adam: invalid beta .* index 1.*: -0\.5"),
        (lambda p: ag.optim.Adam(p, eps=-1e-8), r"Adam: invalid epsilon value: -1e-08"),
        (lambda p: ag.optim.AdamW(p, weight_decay=-2.0), r"AdamW: invalid weight_decay .*-2\.0"),
        (lambda p: ag.optim.RMSprop(p, alpha=-0.5), r"RMSprop: invalid alpha value: -0\.5"),
        (lambda p: ag.optim.RMSprop(p, lr=-0.5), r"RMSprop: invalid learning rate: -0\.5"),
        (lambda p: ag.optim.RMSprop(p, momentum=-0.5), r"RMSprop: invalid momentum value"),
        (lambda p: ag.optim.RMSprop(p, eps=-1.0), r"RMSprop: invalid epsilon value: -1\.0"),
        (lambda p: ag.optim.SGD([], lr=0.1), r"SGD: got an empty parameter list"),
        (
            lambda p: ag.optim.SGD([{"params": p}, {"params": p}], lr=0.1),
            r"SGD: some parameters appear in more than one parameter group",
        ),
    ],
)
def test_bad_hyperparameters(make, match):
    p = [ag.ones(2, requires_grad=True)]
    with pytest.raises(ValueError, match=match):
        make(p)


def test_bad_params():
    w = ag.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="SGD: params should be an iterable .* single Tensor"):
        ag.optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="Adam: can only optimize Tensors, got ndarray"):
        ag.optim.Adam([np.ones(2)])
    with pytest.raises(ValueError, match="Adam: can't optimize a non-leaf Tensor"):
        ag.optim.Adam([w * 2])
    with pytest.raises(TypeError, match="SGD: .* deterministic order; pass a list, not a set"):
        ag.optim.SGD([{"params": {w}}], lr=0.1)


@pytest.mark.parametrize("name,kw", CASES, ids=[c[0] for c in CASES])
def test_step_with_closure_returns_loss(backend, name, kw):
    w = ag.asarray([1.0, -2.0], dtype=ag.float64, backend=backend, requires_grad=True)
    opt = getattr(ag.optim, name)([w], **kw)

    def closure():
        opt.zero_grad()
        loss = ag.sum(w * w)
        loss.backward()
        return loss

    with ag.no_grad():  # the closure records its graph even so
        loss = opt.step(closure)
    assert float(loss) == 5.0
    assert float(ag.sum(w * w)) < 5.0
    assert opt.step() is None


def test_switching_on_amsgrad_momentum_centered_later():
    for cls, after, keys in [
        (ag.optim.Adam, {"amsgrad": True}, ["max_exp_avg_sq"]),
        (ag.optim.RMSprop, {"momentum": 0.5, "centered": True}, ["momentum_buffer", "grad_avg"]),
    ]:
        w = ag.asarray([1.0, -2.0], requires_grad=True)
        opt = cls([w], lr=0.1)
        w.grad = ag.asarray([1.0, 1.0])
        opt.step()
        assert not any(k in opt.state[w] for k in keys)
        opt.param_groups[0].update(after)
        opt.step()
        assert all(k in opt.state[w] for k in keys)


def test_a_subclass_without_an_update_rule_says_so():
    class Bare(ag.optim.Optimizer):
        pass

    w = ag.asarray([1.0], requires_grad=True)
    opt = Bare([w], {"lr": 0.1})
    ag.sum(w * w).backward()
    with pytest.raises(NotImplementedError, match=r"agrad.optim.Bare does not implement _update"):
        opt.step()


def test_step_returns_the_closures_loss_and_updates_every_group():
    a = ag.asarray([1.0], requires_grad=True)
    b = ag.asarray([2.0], requires_grad=True)
    opt = ag.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = ag.sum(a * a + b * b)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 5.0
    np.testing.assert_allclose([float(a[0]), float(b[0])], [1.0 - 0.1 * 2.0, 2.0 - 0.5 * 4.0])

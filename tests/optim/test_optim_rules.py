"""Each optimizer's update against its published formula, computed independently in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag

SHAPE = (3, 4)


def _params(rng, backend, n=2):
    p0 = [rng.normal(size=SHAPE) for _ in range(n)]
    ps = [ag.asarray(p, backend=backend, requires_grad=True) for p in p0]
    return p0, ps


def _grads(rng, steps, n=2):
    return [[rng.normal(size=SHAPE) for _ in range(n)] for _ in range(steps)]


def _run(opt, ps, grads, backend):
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = ag.asarray(g, backend=backend)
        opt.step()


def _check(ps, expected):
    for p, e in zip(ps, expected):
        assert p.is_leaf and p.requires_grad
        np.testing.assert_allclose(p.numpy(), e, rtol=1e-12, atol=1e-12)


# ---- reference rules (the papers' / PyTorch documentation's formulas) ----------------------
def ref_sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf = p.copy(), None
    for g in grads:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def ref_adam(p, grads, lr, b1, b2, eps, wd=0.0, amsgrad=False, decoupled=False):
    p, m, v, vmax = p.copy(), 0 * p, 0 * p, 0 * p
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        vmax = np.maximum(vmax, v)
        mhat = m / (1 - b1**t)
        vhat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def ref_rmsprop(p, grads, lr, alpha, eps, wd=0.0, momentum=0.0, centered=False):
    p, v, ga, buf = p.copy(), 0 * p, 0 * p, 0 * p
    for g in grads:
        g = g + wd * p
        v = alpha * v + (1 - alpha) * g**2
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            denom = np.sqrt(v - ga**2) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum > 0:
            buf = momentum * buf + g / denom
            p = p - lr * buf
        else:
            p = p - lr * g / denom
    return p


# ---- SGD -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.1),
        dict(lr=0.1, weight_decay=0.3),
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.9, dampening=0.4, weight_decay=0.1),
        dict(lr=0.05, momentum=0.8, nesterov=True),
    ],
    ids=["plain", "wd", "momentum", "dampening", "nesterov"],
)
def test_sgd(backend, rng, kw):
    p0, ps = _params(rng, backend)
    grads = _grads(rng, 4)
    opt = ag.optim.SGD(ps, **kw)
    ids = [id(p) for p in ps]
    _run(opt, ps, grads, backend)
    assert [id(p) for p in ps] == ids
    _check(ps, [ref_sgd(p, [g[i] for g in grads], **kw) for i, p in enumerate(p0)])


def test_sgd_one_step_by_hand(backend):
    w = ag.asarray([1.0, -2.0], dtype=ag.float64, backend=backend, requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.5)
    ag.sum(w * w).backward()
    opt.step()
    np.testing.assert_allclose(w.numpy(), [0.0, 0.0])
    assert w.backend == backend and w.is_leaf


# ---- Adam / AdamW --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.01),
        dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1),
        dict(lr=0.01, amsgrad=True),
    ],
    ids=["plain", "wd", "amsgrad"],
)
@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_adam(backend, rng, kw, cls):
    p0, ps = _params(rng, backend)
    grads = _grads(rng, 5)  # several steps: the bias corrections change every step
    opt = getattr(ag.optim, cls)(ps, **kw)
    _run(opt, ps, grads, backend)
    b1, b2 = kw.get("betas", (0.9, 0.999))
    wd = kw.get("weight_decay", 1e-2 if cls == "AdamW" else 0.0)
    expected = [
        ref_adam(
            p,
            [g[i] for g in grads],
            kw["lr"],
            b1,
            b2,
            kw.get("eps", 1e-8),
            wd,
            kw.get("amsgrad", False),
            decoupled=cls == "AdamW",
        )
        for i, p in enumerate(p0)
    ]
    _check(ps, expected)
    st = opt.state[ps[0]]
    assert st["step"] == 5
    assert st["exp_avg"].backend == backend and st["exp_avg"].device == ps[0].device


def test_adamw_default_weight_decay():
    w = ag.ones(2, requires_grad=True)
    assert ag.optim.AdamW([w]).param_groups[0]["weight_decay"] == 1e-2
    assert ag.optim.Adam([w]).param_groups[0]["weight_decay"] == 0


def test_adam_first_step_is_lr_times_sign(backend):
    # with bias correction, step 1 moves every coordinate by lr * g / (|g| + eps')
    w = ag.asarray([1.0, -2.0, 3.0], dtype=ag.float64, backend=backend, requires_grad=True)
    opt = ag.optim.Adam([w], lr=0.1, eps=0.0)
    w.grad = ag.asarray([0.5, -7.0, 1e-3], dtype=ag.float64, backend=backend)
    opt.step()
    np.testing.assert_allclose(w.numpy(), [0.9, -1.9, 2.9], rtol=1e-14)


# ---- RMSprop -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.01, alpha=0.99, eps=1e-8),
        dict(lr=0.01, alpha=0.9, eps=1e-6, wd=0.2),
        dict(lr=0.01, alpha=0.9, eps=1e-8, momentum=0.7),
        dict(lr=0.01, alpha=0.8, eps=1e-8, momentum=0.5, centered=True),
    ],
    ids=["plain", "wd", "momentum", "centered"],
)
def test_rmsprop(backend, rng, kw):
    p0, ps = _params(rng, backend)
    grads = _grads(rng, 4)
    args = dict(kw)
    args["weight_decay"] = args.pop("wd", 0.0)
    opt = ag.optim.RMSprop(ps, **args)
    _run(opt, ps, grads, backend)
    _check(ps, [ref_rmsprop(p, [g[i] for g in grads], **kw) for i, p in enumerate(p0)])


# ---- behaviour common to every optimizer ---------------------------------------------------
ALL = [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", dict(lr=0.1)),
    ("AdamW", dict(lr=0.1)),
    ("RMSprop", dict(lr=0.1, momentum=0.5, centered=True)),
]


@pytest.mark.parametrize("name,kw", ALL, ids=[a[0] for a in ALL])
def test_params_without_grad_are_skipped(backend, name, kw):
    a = ag.asarray([1.0, 2.0], dtype=ag.float64, backend=backend, requires_grad=True)
    b = ag.asarray([3.0, 4.0], dtype=ag.float64, backend=backend, requires_grad=True)
    opt = getattr(ag.optim, name)([a, b], **kw)
    a.grad = ag.asarray([1.0, 1.0], dtype=ag.float64, backend=backend)
    opt.step()
    np.testing.assert_array_equal(b.numpy(), [3.0, 4.0])
    assert b not in opt.state
    assert not np.array_equal(a.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("name,kw", ALL, ids=[a[0] for a in ALL])
def test_identity_and_leaf_preserved_through_training(backend, name, kw):
    w = ag.asarray([1.0, -2.0], dtype=ag.float64, backend=backend, requires_grad=True)
    before = id(w)
    opt = getattr(ag.optim, name)([w], **kw)
    for _ in range(3):
        opt.zero_grad()
        loss = ag.sum(w * w)
        loss.backward()
        opt.step()
    assert id(w) == before and opt.param_groups[0]["params"][0] is w
    assert w.is_leaf and w.requires_grad and w.grad is not None
    assert w.backend == backend
    assert float(ag.sum(w * w)) < 5.0  # it descended


@pytest.mark.parametrize("name,kw", ALL, ids=[a[0] for a in ALL])
def test_step_makes_no_host_round_trip(monkeypatch, name, kw):
    w = ag.asarray([1.0, -2.0], requires_grad=True)
    opt = getattr(ag.optim, name)([w], **kw, weight_decay=0.1)

    def boom(*args, **kwargs):
        raise AssertionError("host round trip inside step()")

    for attr in ("numpy", "item", "__float__", "__bool__", "__int__", "tolist"):
        if hasattr(ag.Tensor, attr):
            monkeypatch.setattr(ag.Tensor, attr, boom)
    for _ in range(2):
        w.grad = ag.asarray([0.5, 0.25])
        opt.step()
        ag.optim.clip_grad_norm_([w], 0.1)


@pytest.mark.parametrize("name,kw", ALL, ids=[a[0] for a in ALL])
def test_float32_parameters_stay_float32(name, kw):
    w = ag.asarray([1.0, -2.0], dtype=ag.float32, requires_grad=True)
    opt = getattr(ag.optim, name)([w], **kw)
    for _ in range(2):
        w.grad = ag.asarray([0.5, 0.25], dtype=ag.float32)
        opt.step()
    assert w.dtype == ag.float32
    for v in opt.state[w].values():
        if isinstance(v, ag.Tensor):
            assert v.dtype == ag.float32


@pytest.mark.parametrize("name,kw", ALL, ids=[a[0] for a in ALL])
def test_param_groups_use_their_own_hyperparameters(name, kw):
    a = ag.asarray([1.0], requires_grad=True)
    b = ag.asarray([1.0], requires_grad=True)
    opt = getattr(ag.optim, name)([{"params": [a]}, {"params": [b], "lr": 0.0}], **kw)
    a.grad = ag.asarray([1.0])
    b.grad = ag.asarray([1.0])
    opt.step()
    assert a.numpy()[0] < 1.0
    assert b.numpy()[0] == 1.0

"""agrad's optimizers and schedulers step for step against ``torch.optim``."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.7, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
]


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_optim(backend, rng, name, kw):
    x = rng.normal(size=(8, 3))
    y = rng.normal(size=(8,))
    w0 = rng.normal(size=(3,))
    b0 = np.asarray(0.5)

    tw = torch.tensor(w0, requires_grad=True)
    tb = torch.tensor(b0, requires_grad=True)
    topt = getattr(torch.optim, name)([tw, tb], **kw)
    aw = ag.asarray(w0, backend=backend, requires_grad=True)
    ab = ag.asarray(b0, backend=backend, requires_grad=True)
    aopt = getattr(ag.optim, name)([aw, ab], **kw)
    ax, ay, tx, ty = (
        ag.asarray(x, backend=backend),
        ag.asarray(y, backend=backend),
        *map(torch.tensor, (x, y)),
    )
    for _ in range(6):
        topt.zero_grad()
        torch.sum(torch.sin(tx @ tw + tb - ty) ** 2).backward()
        topt.step()
        aopt.zero_grad()
        ag.sum(ag.sin(ax @ aw + ab - ay) ** 2).backward()
        aopt.step()
        np.testing.assert_allclose(aw.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ab.numpy(), tb.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name,kw",
    [("StepLR", dict(step_size=3, gamma=0.5)), ("CosineAnnealingLR", dict(T_max=5, eta_min=1e-3))],
)
def test_schedulers_match_torch(name, kw):
    tp = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([tp], lr=0.1)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    aopt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=0.1)
    asched = getattr(ag.optim, name)(aopt, **kw)
    for _ in range(17):
        assert asched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-9, abs=1e-15)
        topt.step()
        tsched.step()
        aopt.step()
        asched.step()


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(rng, norm_type):
    gs = [rng.normal(size=s) * 3 for s in [(4,), (2, 3)]]
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
    aps = [ag.zeros(g.shape, requires_grad=True) for g in gs]
    for tp, ap, g in zip(tps, aps, gs):
        tp.grad = torch.tensor(g)
        ap.grad = ag.asarray(g)
    tn = torch.nn.utils.clip_grad_norm_(tps, 1.5, norm_type=norm_type)
    an = ag.optim.clip_grad_norm_(aps, 1.5, norm_type=norm_type)
    np.testing.assert_allclose(an.numpy(), tn.numpy(), rtol=1e-12)
    for tp, ap in zip(tps, aps):
        np.testing.assert_allclose(ap.grad.numpy(), tp.grad.numpy(), rtol=1e-12)

"""Optimizer state and updates stay on the parameters' GPU (CuPy and torch CUDA tensors)."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag

pytestmark = pytest.mark.gpu


def _cuda_params(kind):
    if kind == "cupy":
        cp = pytest.importorskip("cupy")
        try:
            if cp.cuda.runtime.getDeviceCount() == 0:
                pytest.skip("no CUDA device")
        except Exception:
            pytest.skip("no CUDA device")
        return ag.asarray(cp.arange(6, dtype=cp.float64) - 2.5, requires_grad=True)
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device for torch")
    return ag.asarray(torch.arange(6, dtype=torch.float64, device="cuda") - 2.5, requires_grad=True)


@pytest.mark.parametrize("kind", ["cupy", "torch"])
@pytest.mark.parametrize(
    "name,kw",
    [
        ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
        ("Adam", dict(lr=0.1, amsgrad=True)),
        ("AdamW", dict(lr=0.1)),
        ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ],
)
def test_update_stays_on_device(kind, name, kw):
    w = _cuda_params(kind)
    dev = w.device
    opt = getattr(ag.optim, name)([w], **kw)
    sched = ag.optim.CosineAnnealingLR(opt, T_max=3)
    for _ in range(3):
        opt.zero_grad()
        ag.sum(w * w).backward()
        ag.optim.clip_grad_norm_([w], 5.0)
        opt.step()
        sched.step()
    assert w.device == dev and w.is_leaf and w.backend == kind
    for v in opt.state[w].values():
        if isinstance(v, ag.Tensor):
            assert v.device == dev and v.backend == kind
    sd = opt.state_dict()
    opt2 = getattr(ag.optim, name)([w], **kw)
    opt2.load_state_dict(sd)
    for v in opt2.state[w].values():
        if isinstance(v, ag.Tensor):
            assert v.device == dev
    assert np.all(np.isfinite(w.numpy()))

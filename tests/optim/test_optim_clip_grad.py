"""``ag.optim.clip_grad_norm_`` against NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import agrad as ag


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm(backend, rng, norm_type, max_norm):
    gs = [rng.normal(size=s) for s in [(3,), (2, 4), ()]]
    ps = [ag.asarray(rng.normal(size=g.shape), backend=backend, requires_grad=True) for g in gs]
    skipped = ag.asarray(rng.normal(size=(2,)), backend=backend, requires_grad=True)
    for p, g in zip(ps, gs):
        p.grad = ag.asarray(g, backend=backend)
    grad_objs = [p.grad for p in ps]

    total = ag.optim.clip_grad_norm_([*ps, skipped], max_norm, norm_type=norm_type)

    flat = np.concatenate([g.ravel() for g in gs])
    want = np.max(np.abs(flat)) if norm_type == math.inf else np.linalg.norm(flat, ord=norm_type)
    assert isinstance(total, ag.Tensor) and total.shape == () and total.backend == backend
    np.testing.assert_allclose(total.numpy(), want, rtol=1e-12)
    coef = min(1.0, max_norm / (want + 1e-6))
    for p, g, obj in zip(ps, gs, grad_objs):
        assert p.grad is obj  # scaled in place
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-12)
    assert skipped.grad is None


def test_clip_grad_norm_single_tensor_and_no_grads():
    w = ag.asarray([3.0, 4.0], requires_grad=True)
    assert float(ag.optim.clip_grad_norm_(w, 1.0)) == 0.0
    w.grad = ag.asarray([3.0, 4.0])
    assert float(ag.optim.clip_grad_norm_(w, 1.0)) == pytest.approx(5.0)
    np.testing.assert_allclose(w.grad.numpy(), [0.6, 0.8], rtol=1e-6)


def test_clip_grad_norm_float32_keeps_dtype():
    w = ag.asarray([3.0, 4.0], dtype=ag.float32, requires_grad=True)
    w.grad = ag.asarray([30.0, 40.0], dtype=ag.float32)
    total = ag.optim.clip_grad_norm_([w], 5.0)
    assert total.dtype == ag.float32 and w.grad.dtype == ag.float32
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 4.0], rtol=1e-6)


def test_clip_grad_norm_graph_free_grads():
    # a grad built with create_graph=True is scaled without recording anything
    x = ag.asarray([1.0, 2.0], requires_grad=True)
    ag.sum(x**3).backward(create_graph=True)
    ag.optim.clip_grad_norm_([x], 1.0)
    assert x.grad.is_leaf


def test_clip_grad_norm_is_also_at_pytorchs_address():
    assert ag.nn.utils.clip_grad_norm_ is ag.optim.clip_grad_norm_

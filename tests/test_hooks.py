"""Tensor hooks: register_hook on leaves and non-leaves, post-accumulate hooks, retain_grad,
removal, higher order, and that hooks never keep a freed graph alive."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import agrad as ag


def _x(backend, values=(1.0, 2.0, 3.0)):
    return ag.asarray(list(values), dtype=ag.float64, backend=backend, requires_grad=True)


def test_leaf_hook_replaces_the_gradient_before_accumulation(backend):
    x = _x(backend)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))  # observe only: returns None
    x.register_hook(lambda g: g * 2.0)  # then replace
    ag.sum(x * x).backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0, 12.0])
    assert x.grad.backend == backend
    ag.sum(x).backward()  # the hook runs on each backward's contribution, then it accumulates
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 10.0, 14.0])


def test_non_leaf_hook_changes_what_flows_on(backend):
    x = _x(backend)
    y = ag.sin(x)
    got = {}

    def hook(g):
        got["g"] = g.numpy().copy()
        return g * 0.0 + 1.0  # pretend d loss / dy = 1

    y.register_hook(hook)
    ag.sum(y * y).backward()
    xs = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(got["g"], 2 * np.sin(xs))  # d(y^2)/dy
    np.testing.assert_allclose(x.grad.numpy(), np.cos(xs))  # 1 * dy/dx


def test_hooks_run_in_order_and_chain(backend):
    x = _x(backend)
    y = x * 1.0
    y.register_hook(lambda g: g + 1.0)
    y.register_hook(lambda g: g * 10.0)
    ag.sum(y).backward()
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0, 20.0])


def test_remove_unregisters(backend):
    x = _x(backend)
    y = x * 1.0
    h1 = y.register_hook(lambda g: g * 10.0)
    h2 = x.register_hook(lambda g: g * 3.0)
    h1.remove()
    h2.remove()
    h2.remove()  # twice is harmless
    ag.sum(y).backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_retain_grad_sees_the_hooked_gradient(backend):
    x = _x(backend)
    y = x * 2.0
    y.retain_grad()
    y.register_hook(lambda g: g * 5.0)
    ag.sum(y).backward()
    np.testing.assert_allclose(y.grad.numpy(), [5.0, 5.0, 5.0])
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 10.0, 10.0])


def test_hooks_apply_when_gradients_are_returned_not_accumulated(backend):
    x = _x(backend)
    x.register_hook(lambda g: g * 2.0)
    y = x * 3.0
    y.register_hook(lambda g: g * 0.5)
    loss = ag.sum(y * y)
    seed = ag.ones_like(loss)._data
    gx, gy = ag._tape.run_backward([loss], [seed], inputs=[x, y])
    np.testing.assert_allclose(gy.numpy(), [3.0, 6.0, 9.0])  # 0.5 * 2y
    np.testing.assert_allclose(gx.numpy(), [18.0, 36.0, 54.0])  # 2 * 3 * (0.5 * 2y)
    assert x.grad is None  # nothing accumulates

    def f(x):
        h = ag.sin(x)
        h.register_hook(lambda g: g * 10.0)  # hooks inside a transformed function apply
        return ag.sum(h)

    np.testing.assert_allclose(ag.grad(f)(x).numpy(), 10 * np.cos([1.0, 2.0, 3.0]))


def test_hook_on_one_output_of_a_multi_output_op(backend):
    x = ag.asarray([[1.0, 2.0], [3.0, 4.0]], dtype=ag.float64, backend=backend, requires_grad=True)
    a, b = ag.unstack(x, axis=0)
    b.register_hook(lambda g: g * 100.0)
    ag.sum(a + b).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 1.0], [100.0, 100.0]])


def test_hooks_in_a_recorded_backward_are_differentiable(backend):
    x = _x(backend, (0.5, 1.5))
    y = x * x
    y.register_hook(lambda g: g * x)  # the hook itself depends on x
    loss = ag.sum(y)
    (gx,) = ag._tape.run_backward([loss], [ag.ones_like(loss)], inputs=[x], create_graph=True)
    # d/dx sum(y) with the hook: (1 * x) * 2x = 2 x^2; its own derivative is 4x
    np.testing.assert_allclose(gx.numpy(), 2 * np.array([0.5, 1.5]) ** 2)
    ag.sum(gx).backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.array([0.5, 1.5]))


def test_hooks_stay_for_a_retained_graph(backend):
    x = _x(backend)
    y = x * 1.0
    calls = []
    y.register_hook(lambda g: calls.append(1))
    loss = ag.sum(y)
    loss.backward(retain_graph=True)
    loss.backward()
    assert len(calls) == 2


def test_post_accumulate_grad_hook_sees_the_accumulated_grad(backend):
    w = _x(backend)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    ag.sum(w * w).backward()
    ag.sum(w).backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0, 6.0])
    np.testing.assert_allclose(seen[1], [3.0, 5.0, 7.0])
    handle.remove()
    ag.sum(w).backward()
    assert len(seen) == 2


def test_post_accumulate_grad_hook_as_a_fused_optimizer_step():
    w = ag.asarray([1.0, -2.0], requires_grad=True)

    def sgd_step(t):
        with ag.no_grad():
            t -= 0.1 * t.grad
        t.grad = None

    w.register_post_accumulate_grad_hook(sgd_step)
    ag.sum(w * w).backward()
    np.testing.assert_allclose(w.numpy(), [0.8, -1.6])
    assert w.grad is None


def test_hook_errors_name_the_problem():
    x = ag.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"register_hook\(\) needs a callable, got int"):
        x.register_hook(3)
    with pytest.raises(RuntimeError, match=r"register_hook\(\) on a tensor that does not require"):
        ag.asarray([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match=r"register_post_accumulate_grad_hook\(\) needs a callable"):
        x.register_post_accumulate_grad_hook(None)
    with pytest.raises(RuntimeError, match=r"applies to leaf tensors .* use register_hook\(\)"):
        (x * 2.0).register_post_accumulate_grad_hook(lambda t: None)

    y = x * 2.0
    y.register_hook(lambda g: g[:1])
    with pytest.raises(
        TypeError,
        match=r"hook .*<lambda>.* returned numpy float64 of shape \(1,\) on cpu for a gradient "
        r"that is numpy float64 of shape \(2,\) on cpu; a hook must return None or a Tensor",
    ):
        ag.sum(y).backward()
    z = x * 2.0
    z.register_hook(lambda g: g.numpy())
    with pytest.raises(TypeError, match=r"returned ndarray for a gradient"):
        ag.sum(z).backward()
    x.register_hook(lambda g: ag.astype(g, ag.float32))
    with pytest.raises(TypeError, match=r"returned numpy float32 of shape \(2,\)"):
        ag.sum(x * 1.0).backward()


class _ScaleBySum:
    def __init__(self, t):
        self.t = t

    def __call__(self, g):
        return g * ag.sum(self.t).detach()


def test_hooks_do_not_keep_a_freed_graph_alive():
    """A hook that refers to its own tensor forms a cycle; backward breaks it when it frees."""
    gc.collect()
    gc.disable()  # prove that reference counting alone releases the graph
    try:
        x = ag.asarray([1.0, 2.0], requires_grad=True)
        y = ag.exp(x)
        y.register_hook(_ScaleBySum(y))  # the hook refers to y: y -> node -> hook -> y
        handle = y.register_hook(lambda g: None)
        node = weakref.ref(y._node)
        loss = ag.sum(y * 2.0)
        loss_node = weakref.ref(loss._node)
        loss.backward()
        del y, loss
        assert node() is None and loss_node() is None
        handle.remove()  # a handle holds its node weakly: still safe after the node is gone
    finally:
        gc.enable()


def test_handles_refer_weakly():
    x = ag.asarray([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    handle = y.register_hook(lambda g: g)
    node = weakref.ref(y._node)
    del y
    assert node() is None
    handle.remove()

"""Function transforms: grad, value_and_grad, vjp, and their nesting (higher order)."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag


def t(values, backend):
    return ag.asarray(np.asarray(values, dtype=float), dtype=ag.float64, backend=backend)


def test_grad_of_plain_inputs(backend):
    x = t([1.0, 2.0, 3.0], backend)
    g = ag.grad(lambda x: ag.sum(x**3))(x)
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.0, 4.0, 9.0]))
    assert g.backend == backend and g.dtype == ag.float64
    assert not x.requires_grad and x.grad is None  # nothing leaks into the inputs


def test_grad_does_not_touch_dot_grad_of_closed_over_leaves(backend):
    w = ag.asarray(np.array([2.0, 3.0]), backend=backend, requires_grad=True)
    g = ag.grad(lambda x: ag.sum(w * x * x))(t([1.0, 1.0], backend))
    np.testing.assert_allclose(g.numpy(), [4.0, 6.0])
    assert w.grad is None


def test_grad_argnums_tuple_and_value_and_grad(backend):
    def f(a, b, c):
        return ag.sum(a * b + c)

    a, b, c = t([1.0, 2.0], backend), t([3.0, 4.0], backend), t([5.0, 6.0], backend)
    ga, gc = ag.grad(f, argnums=(0, 2))(a, b, c)
    np.testing.assert_allclose(ga.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gc.numpy(), [1.0, 1.0])
    v, gb = ag.value_and_grad(f, argnums=1)(a, b, c)
    assert float(v) == 1 * 3 + 2 * 4 + 5 + 6
    np.testing.assert_allclose(gb.numpy(), [1.0, 2.0])
    v, (g0, g1) = ag.value_and_grad(f, argnums=(0, -2))(a, b, c)
    np.testing.assert_allclose(g1.numpy(), [1.0, 2.0])


def test_unused_argument_gets_zeros(backend):
    g0, g1 = ag.grad(lambda a, b: ag.sum(a * 2.0), argnums=(0, 1))(
        t([1.0], backend), t([5.0, 6.0], backend)
    )
    np.testing.assert_array_equal(g1.numpy(), [0.0, 0.0])


def test_grad_with_aux(backend):
    g, aux = ag.grad(lambda x: (ag.sum(x * x), "hello"), has_aux=True)(t([2.0], backend))
    assert aux == "hello"
    np.testing.assert_allclose(g.numpy(), [4.0])


def test_grad_errors_are_clear(backend):
    x = t([1.0, 2.0], backend)
    with pytest.raises(TypeError, match=r"one-element tensor, got shape \(2,\).*ag.vjp"):
        ag.grad(lambda x: x * 2.0)(x)
    with pytest.raises(ValueError, match=r"argnums 3 is out of range for 1 positional"):
        ag.grad(lambda x: ag.sum(x), argnums=3)(x)
    with pytest.raises(TypeError, match=r"argument 0 has dtype int64; only floating-point"):
        ag.grad(lambda x: ag.sum(x))(ag.asarray(np.array([1, 2]), backend=backend))


def test_vjp_returns_one_gradient_per_primal_and_is_reusable(backend):
    x, y = t([1.0, 2.0], backend), t([3.0, 4.0], backend)
    out, vjp_fn = ag.vjp(lambda a, b: a * b, x, y)
    np.testing.assert_allclose(out.numpy(), [3.0, 8.0])
    for _ in range(2):
        gx, gy = vjp_fn(t([1.0, 10.0], backend))
        np.testing.assert_allclose(gx.numpy(), [3.0, 40.0])
        np.testing.assert_allclose(gy.numpy(), [1.0, 20.0])
    with pytest.raises(ValueError, match=r"cotangent has shape \(3,\) but the output has shape"):
        vjp_fn(t([1.0, 2.0, 3.0], backend))


def test_second_derivative_closed_forms(backend):
    x = t([0.3, -0.8, 1.1], backend)
    d2 = ag.grad(lambda x: ag.sum(ag.grad(lambda y: ag.sum(ag.tanh(y)))(x)))(x)
    th = np.tanh(x.numpy())
    np.testing.assert_allclose(d2.numpy(), -2 * th * (1 - th**2), rtol=1e-12)
    d3 = ag.grad(
        lambda a: ag.sum(ag.grad(lambda b: ag.sum(ag.grad(lambda c: ag.sum(c**4))(b)))(a))
    )(x)
    np.testing.assert_allclose(d3.numpy(), 24 * x.numpy(), rtol=1e-12)


def test_grad_of_grad_through_backward_create_graph(backend):
    # PyTorch style: backward(create_graph=True) inside a function that agrad.grad differentiates
    def f(x):
        y = ag.sum(ag.sin(x) * x)
        (g,) = ag.vjp(lambda z: ag.sum(ag.sin(z) * z), x)[1](ag.ones_like(y))
        return ag.sum(g * g)

    ag.testing.gradcheck(f, t([0.4, 1.3], backend))


def test_hessian_vector_product_by_nesting(backend):
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    A = ag.asarray(a, backend=backend)

    def loss(x):
        return 0.5 * ag.sum(x * (A @ x))

    x = t([1.0, -1.0], backend)
    v = t([0.5, 2.0], backend)
    hvp = ag.grad(lambda x: ag.sum(ag.grad(loss)(x) * v))(x)
    np.testing.assert_allclose(hvp.numpy(), a @ v.numpy())


def test_grad_inside_no_grad_still_differentiates(backend):
    with ag.no_grad():
        g = ag.grad(lambda x: ag.sum(ag.exp(x)))(t([0.0, 1.0], backend))
    np.testing.assert_allclose(g.numpy(), np.exp([0.0, 1.0]))

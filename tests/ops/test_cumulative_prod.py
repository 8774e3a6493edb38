"""``cumulative_prod``: forward against NumPy, first and second derivatives against finite
differences (including inputs with one, two and more zeros, where the gradient must be exact
and finite), exact gradients at zeros, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.ops.reduction import cumulative_prod
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


ZEROS = np.array(
    [
        [1.5, 0.0, 2.0, 0.0, -1.3, 0.7, 0.0],  # several zeros
        [0.0, 0.9, -1.1, 2.0, 0.8, 1.0, 1.2],  # a leading zero
        [1.1, -0.9, 1.2, 0.8, -1.4, 0.0, 1.3],  # one zero, late
    ]
)


def _data(kind, rng):
    return rng.normal(size=(3, 7)) if kind == "random" else ZEROS


@pytest.mark.parametrize("kind", ["random", "zeros"])
@pytest.mark.parametrize("include_initial", [False, True])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_forward_and_derivatives(backend, rng, kind, include_initial, axis):
    x_np = _data(kind, rng)

    def f(x):
        return cumulative_prod(x, axis=axis, include_initial=include_initial)

    y = f(t(x_np, backend))
    expected = np.cumulative_prod(x_np, axis=axis, include_initial=include_initial)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-13)
    assert gradcheck(f, t(x_np, backend))
    assert gradgradcheck(f, t(x_np, backend))


@pytest.mark.parametrize("zero_at", [None, 0, -1], ids=["no zero", "zero first", "zero last"])
@pytest.mark.parametrize("n", [1, 2, 3, 8, 9, 17])
def test_lengths_around_powers_of_two(backend, rng, n, zero_at):
    # the VJP's doubling scan: lengths at and either side of 2**k
    x_np = rng.uniform(0.5, 1.5, size=n) * rng.choice([-1.0, 1.0], size=n)
    if zero_at is not None:
        x_np[zero_at] = 0.0
    y = cumulative_prod(t(x_np, backend))
    np.testing.assert_allclose(y.numpy(), np.cumulative_prod(x_np), rtol=1e-13)
    assert gradcheck(cumulative_prod, t(x_np, backend))
    assert gradgradcheck(cumulative_prod, t(x_np, backend))


def test_gradient_is_exact_and_finite_at_zeros(backend):
    x_np = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    x = t(x_np, backend, requires_grad=True)
    ag.sum(cumulative_prod(x)).backward()
    grad = x.grad.numpy()
    assert np.all(np.isfinite(grad))
    # brute force: d/dx_j sum_k prod_{i<=k} x_i = sum_{k>=j} prod_{i<=k, i!=j} x_i
    expected = [sum(np.prod(np.delete(x_np[: k + 1], j)) for k in range(j, 5)) for j in range(5)]
    np.testing.assert_array_equal(grad, expected)  # [1, 2 + 6, 0, 0, 0]
    np.testing.assert_array_equal(grad, [1.0, 8.0, 0.0, 0.0, 0.0])


def test_second_derivative_at_a_zero(backend):
    # f(a, z, b) = sum(cumprod([a, z, b])) = a + a z + a z b; at z = 0 the Hessian row of z is
    # [1 + b, 0, a]: exact through the zero
    def f(v):
        return ag.sum(cumulative_prod(v))

    x = t([2.0, 0.0, 3.0], backend)
    np.testing.assert_array_equal(ag.grad(f)(x).numpy(), [1.0, 2.0 + 6.0, 0.0])
    row = ag.grad(lambda v: ag.grad(f)(v)[1])(x)
    np.testing.assert_array_equal(row.numpy(), [4.0, 0.0, 2.0])


def test_dtype_and_empty(backend, rng):
    x32 = ag.asarray(rng.normal(size=(2, 3)), dtype=ag.float32, backend=backend, requires_grad=True)
    y = cumulative_prod(x32, axis=1, dtype=ag.float64)
    assert y.dtype == ag.float64
    ag.sum(y).backward()
    assert x32.grad.dtype == ag.float32
    e = t(np.ones((2, 0)), backend, requires_grad=True)
    out = cumulative_prod(e, axis=1, include_initial=True)
    assert out.shape == (2, 1)
    np.testing.assert_array_equal(out.numpy(), np.ones((2, 1)))
    ag.sum(out).backward()
    assert e.grad.shape == (2, 0)


ERRORS = [
    (
        "0-d",
        lambda x: cumulative_prod(x[0, 0]),
        r"agrad\.cumulative_prod: needs at least one dimension, got a 0-d tensor",
    ),
    (
        "no axis",
        lambda x: cumulative_prod(x),
        r"agrad\.cumulative_prod: axis is required for a tensor of shape \(2, 3\)",
    ),
    (
        "axis",
        lambda x: cumulative_prod(x, axis=2),
        r"agrad\.cumulative_prod: axis 2 is out of range for a tensor with 2 dimensions",
    ),
]


@pytest.mark.parametrize(("f", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_op_and_the_shapes(backend, f, message):
    with pytest.raises(ValueError, match=message):
        f(t(np.ones((2, 3)), backend))

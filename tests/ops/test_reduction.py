"""Reductions: sum, prod, mean, var, std, max, min and cumulative_sum.

Forward against NumPy, first and second derivatives against finite differences, closed forms
(including the subgradients at kinks: max/min ties, prod at zeros, std of constant data) and
the error messages.
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


def grad_of(f, x_np, backend):
    """The gradient of the scalar ``f`` at ``x_np``, through ``.backward()``, as NumPy."""
    x = t(x_np, backend, requires_grad=True)
    f(x).backward()
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype
    return x.grad.numpy()


def hessian(f, x_np, backend):
    """The Hessian of the scalar ``f`` at ``x_np``, one row per vjp of its gradient."""
    x = t(x_np, backend)
    n = x.size
    _, vjp_fn = ag.vjp(ag.grad(f), x)
    rows = []
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        (row,) = vjp_fn(t(e.reshape(x.shape), backend))
        rows.append(row.numpy().reshape(-1))
    return np.stack(rows)


REDUCTIONS = ["sum", "prod", "mean", "var", "std", "max", "min"]

# (shape, axis): scalars, vectors, matrices and 3-D, with int, negative and tuple axes
AXES = [
    ((), None),
    ((4,), None),
    ((4,), 0),
    ((4,), -1),
    ((2, 3), None),
    ((2, 3), 0),
    ((2, 3), -1),
    ((2, 3), (0, 1)),
    ((2, 3), ()),  # no axis at all: the identity
    ((2, 3, 2), 1),
    ((2, 3, 2), (0, 2)),
    ((2, 3, 2), (-1, -3)),
]


def data(rng, shape):
    """Distinct values (no ties for max/min), away from 0 (prod)."""
    return rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# the variance of one number is identically 0 (std has a kink there): tested separately
CASES = [(n, s, a) for n in REDUCTIONS for s, a in AXES if s or n not in ("var", "std")]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize(("name", "shape", "axis"), CASES)
def test_reduction_forward_and_derivatives(backend, rng, name, shape, axis, keepdims):
    x = data(rng, shape)
    op = getattr(ag, name)

    def f(a):
        return op(a, axis=axis, keepdims=keepdims)

    y = f(t(x, backend))
    expected = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(f, t(x, backend))
    assert gradgradcheck(f, t(x, backend))


@pytest.mark.parametrize("correction", [0.0, 1.0])
@pytest.mark.parametrize(("shape", "axis"), [((5,), None), ((3, 4), 1), ((3, 4), 0)])
def test_var_std_with_correction(backend, rng, shape, axis, correction):
    x = rng.normal(size=shape)
    for name in ("var", "std"):
        op = getattr(ag, name)

        def f(a, op=op):
            return op(a, axis=axis, correction=correction)

        expected = getattr(np, name)(x, axis=axis, ddof=correction)
        np.testing.assert_allclose(f(t(x, backend)).numpy(), expected, rtol=1e-12)
        assert gradcheck(f, t(x, backend))
        assert gradgradcheck(f, t(x, backend))


# ---- closed forms --------------------------------------------------------------------------
@pytest.mark.parametrize(("shape", "axis"), [((3,), None), ((2, 3), 1), ((2, 3, 4), (0, 2))])
def test_sum_and_mean_gradients_are_constant(backend, rng, shape, axis):
    x = rng.normal(size=shape)
    n = np.prod([shape[a] for a in np.atleast_1d(axis)]) if axis is not None else x.size
    w = rng.normal(size=np.sum(x, axis=axis, keepdims=True).shape)  # weights per output
    g_sum = grad_of(
        lambda a: ag.sum(ag.sum(a, axis=axis, keepdims=True) * t(w, backend)), x, backend
    )
    np.testing.assert_allclose(g_sum, np.broadcast_to(w, shape))
    g_mean = grad_of(lambda a: ag.sum(ag.mean(a, axis=axis) * 2.0), x, backend)
    np.testing.assert_allclose(g_mean, np.full(shape, 2.0 / n))


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),  # no zero: prod / x
        ([2.0, 0.0, 3.0, 4.0], [0.0, 24.0, 0.0, 0.0]),  # one zero: product of the others
        ([2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]),  # two zeros: all zero
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
    ],
)
def test_prod_gradient_is_exact_at_zeros(backend, x, expected):
    g = grad_of(ag.prod, x, backend)  # pytest turns any RuntimeWarning into an error
    np.testing.assert_array_equal(g, expected)
    assert not np.isnan(g).any()


def test_prod_gradient_at_zeros_along_an_axis(backend):
    x = np.array([[1.0, 2.0, 3.0], [0.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    g = grad_of(lambda a: ag.sum(ag.prod(a, axis=1)), x, backend)
    np.testing.assert_array_equal(g, [[6.0, 3.0, 2.0], [6.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    g = grad_of(lambda a: ag.sum(ag.prod(a, axis=0, keepdims=True)), x.T, backend)
    np.testing.assert_array_equal(g, [[6.0, 6.0, 0.0], [3.0, 0.0, 0.0], [2.0, 0.0, 0.0]])


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0], [2.0, 5.0, 3.0]])
def test_prod_hessian_is_exact_at_zeros(backend, x):
    # d2 (x0 x1 x2) / dxi dxj = x_k for {i, j, k} = {0, 1, 2}, and 0 on the diagonal
    x0, x1, x2 = x
    expected = np.array([[0.0, x2, x1], [x2, 0.0, x0], [x1, x0, 0.0]])
    np.testing.assert_allclose(hessian(ag.prod, x, backend), expected, rtol=0, atol=1e-12)
    assert gradgradcheck(lambda a: ag.prod(a), t(x, backend))


@pytest.mark.parametrize(
    ("name", "x", "axis", "expected"),
    [
        ("max", [1.0, 3.0, 3.0], None, [0.0, 0.5, 0.5]),
        ("min", [1.0, 1.0, 3.0], None, [0.5, 0.5, 0.0]),
        ("max", [2.0, 2.0, 2.0, 2.0], None, [0.25] * 4),
        ("max", [[1.0, 4.0, 4.0], [5.0, 0.0, 5.0]], 1, [[0, 0.5, 0.5], [0.5, 0, 0.5]]),
        ("min", [[1.0, 4.0], [1.0, 0.0]], 0, [[0.5, 0.0], [0.5, 1.0]]),
    ],
)
def test_max_min_ties_share_the_gradient(backend, name, x, axis, expected):
    g = grad_of(lambda a: ag.sum(getattr(ag, name)(a, axis=axis)), x, backend)
    np.testing.assert_allclose(g, expected)


@pytest.mark.parametrize("correction", [0.0, 1.0])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_var_and_std_gradients_closed_form(backend, rng, axis, correction):
    x = rng.normal(size=(3, 4))
    n = x.size if axis is None else x.shape[axis]
    d = x - x.mean(axis=axis, keepdims=True)
    s = x.std(axis=axis, ddof=correction, keepdims=True)
    g_var = grad_of(lambda a: ag.sum(ag.var(a, axis=axis, correction=correction)), x, backend)
    np.testing.assert_allclose(g_var, 2.0 * d / (n - correction), rtol=1e-12)
    g_std = grad_of(lambda a: ag.sum(ag.std(a, axis=axis, correction=correction)), x, backend)
    np.testing.assert_allclose(g_std, d / ((n - correction) * s), rtol=1e-12)


def test_std_of_constant_data_has_zero_gradient(backend):
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]])
    g = grad_of(lambda a: ag.sum(ag.std(a, axis=1)), x, backend)
    d = x[1] - 2.0
    np.testing.assert_allclose(g, [[0.0, 0.0, 0.0], d / (3 * np.sqrt(2.0 / 3.0))])
    np.testing.assert_array_equal(grad_of(ag.std, 1.5, backend), 0.0)  # one number: constant


def test_no_elements_or_no_degrees_of_freedom_give_nan(backend):
    empty = t(np.zeros((0, 3)), backend)
    np.testing.assert_array_equal(ag.mean(empty, axis=0).numpy(), np.full(3, np.nan))
    assert ag.mean(empty, axis=1).shape == (0,)
    with np.errstate(divide="ignore", invalid="ignore"):  # NumPy warns about 0 / 0 as well
        for name in ("var", "std"):
            y = getattr(ag, name)(t([[1.0, 1.0], [1.0, 2.0]], backend), axis=1, correction=2)
            np.testing.assert_array_equal(y.numpy(), [np.nan, np.inf])


# ---- cumulative_sum -----------------------------------------------------------------------
@pytest.mark.parametrize("include_initial", [False, True])
@pytest.mark.parametrize(
    ("shape", "axis"), [((4,), None), ((4,), 0), ((2, 3), 1), ((3, 2, 2), 0), ((2, 3, 2), -2)]
)
def test_cumulative_sum(backend, rng, shape, axis, include_initial):
    x = rng.normal(size=shape)

    def f(a):
        return ag.cumulative_sum(a, axis=axis, include_initial=include_initial)

    ax = 0 if axis is None else axis
    expected = np.cumsum(x, axis=ax)
    if include_initial:
        zeros = np.zeros_like(np.take(x, [0], axis=ax))
        expected = np.concatenate([zeros, expected], axis=ax)
    np.testing.assert_allclose(f(t(x, backend)).numpy(), expected, rtol=1e-12)
    assert gradcheck(f, t(x, backend))
    assert gradgradcheck(f, t(x, backend))


@pytest.mark.parametrize("include_initial", [False, True])
def test_cumulative_sum_gradient_closed_form(backend, include_initial):
    # d/dx_j sum_k out_k = number of outputs that include x_j
    g = grad_of(
        lambda a: ag.sum(ag.cumulative_sum(a, include_initial=include_initial)), np.ones(4), backend
    )
    np.testing.assert_array_equal(g, [4.0, 3.0, 2.0, 1.0])


@pytest.mark.parametrize(("shape", "axis", "keepdims"), [((2, 3), None, False), ((2, 3), 1, True)])
def test_mean_is_one_node_and_keeps_float32_and_complex(backend, rng, shape, axis, keepdims):
    # mean records one node (its VJP is g / n broadcast back); the cotangent keeps the input's
    # dtype, and complex inputs get the conjugate-free gradient of a linear map
    x32 = ag.asarray(rng.normal(size=shape), dtype=ag.float32, backend=backend, requires_grad=True)
    y = ag.mean(x32, axis=axis, keepdims=keepdims)
    assert y.dtype == ag.float32 and y._node.prim.name == "mean"
    assert y._node.parents == (x32,)  # straight to the leaf: no sum, no divide in between
    ag.sum(y * 3.0).backward()
    n = 6 if axis is None else shape[1]
    assert x32.grad.dtype == ag.float32
    np.testing.assert_allclose(x32.grad.numpy(), np.full(shape, 3.0 / n), rtol=1e-6)
    zc = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    z = ag.asarray(zc, backend=backend, requires_grad=True)
    w = 0.5 - 2.0j
    ag.sum(ag.real(ag.mean(z, axis=axis, keepdims=keepdims) * w)).backward()
    # d Re(w mean z) / dz, PyTorch's convention (the conjugate Wirtinger gradient): conj(w) / n
    np.testing.assert_allclose(z.grad.numpy(), np.full(shape, np.conj(w) / n), rtol=1e-12)


def test_dtype_arguments_keep_the_gradient_in_the_input_dtype(backend, rng):
    x_np = rng.normal(size=(2, 3))
    for f in (
        lambda a: ag.cumulative_sum(a, axis=1, dtype=ag.float64),
        lambda a: ag.sum(a, axis=0, dtype=ag.float64),
        lambda a: ag.prod(a, axis=1, dtype=ag.float64),
    ):
        x = ag.asarray(x_np, dtype=ag.float32, backend=backend, requires_grad=True)
        y = f(x)
        assert y.dtype == ag.float64
        ag.sum(y).backward()
        assert x.grad.dtype == ag.float32 and x.grad.shape == (2, 3)
    np.testing.assert_allclose(
        x.grad.numpy(), np.prod(x_np, axis=1, keepdims=True) / x_np, rtol=1e-5
    )


# ---- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", REDUCTIONS)
def test_out_of_range_and_repeated_axes_are_named(backend, name):
    x = t(np.ones((2, 3)), backend)
    with pytest.raises(ValueError, match=rf"agrad\.{name}: axis 2 is out of range .* 2 dim"):
        getattr(ag, name)(x, axis=2)
    with pytest.raises(ValueError, match=rf"agrad\.{name}: axis -3 is out of range"):
        getattr(ag, name)(x, axis=(0, -3))
    with pytest.raises(ValueError, match=rf"agrad\.{name}: repeated axis"):
        getattr(ag, name)(x, axis=(1, -1))
    with pytest.raises(TypeError, match=rf"agrad\.{name}: axis must be an int or a tuple of ints"):
        getattr(ag, name)(x, axis=1.0)


@pytest.mark.parametrize("name", ["mean", "var", "std"])
def test_statistics_need_floating_input(backend, name):
    x = ag.asarray(np.arange(4), backend=backend)
    with pytest.raises(TypeError, match=rf"agrad\.{name}: needs a floating-point tensor.*int64"):
        getattr(ag, name)(x)


def test_cumulative_sum_errors(backend):
    x = t(np.ones((2, 3)), backend)
    with pytest.raises(ValueError, match=r"agrad\.cumulative_sum: axis is required .*\(2, 3\)"):
        ag.cumulative_sum(x)
    with pytest.raises(ValueError, match=r"agrad\.cumulative_sum: axis 2 is out of range"):
        ag.cumulative_sum(x, axis=2)
    with pytest.raises(ValueError, match=r"agrad\.cumulative_sum: needs at least one dimension"):
        ag.cumulative_sum(t(1.0, backend), axis=0)


# ---- devices -------------------------------------------------------------------------------
def test_reductions_stay_on_a_non_default_device(rng):
    import array_api_strict  # the backend with a second device on every machine

    dev = array_api_strict.Device("device1")
    x = ag.asarray(
        rng.normal(size=(3, 4)), backend="array_api_strict", device=dev, requires_grad=True
    )
    y = (
        ag.sum(ag.cumulative_sum(ag.prod(x, axis=0, keepdims=True), axis=1))
        + ag.std(x)
        + ag.max(ag.var(x, axis=1))
        + ag.min(ag.mean(x, axis=0))
    )
    assert y.device == dev
    y.backward()
    assert x.grad.device == x.device == dev


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_of_no_elements_name_the_op_and_the_shape(backend, name):
    # the standard leaves max/min of zero elements to the library: agrad raises, clearly
    x = ag.zeros((0, 3), backend=backend)
    with pytest.raises(
        ValueError,
        match=rf"agrad\.{name}: no elements to take the {name}imum "
        r"of: the tensor of shape \(0, 3\) has length 0 along the reduced axis 0",
    ):
        getattr(ag, name)(x, axis=0)
    with pytest.raises(ValueError, match=rf"agrad\.{name}: .*shape \(0, 3\).*axis None"):
        getattr(ag, name)(x)
    assert getattr(ag, name)(x, axis=1).shape == (0,)  # the other axis is fine: no values

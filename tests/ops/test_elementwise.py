"""Elementwise functions: forward against the backend, first and second derivatives, the
documented subgradients at kinks, operators, Python-scalar promotion, dtypes and the
non-differentiable (boolean and integer) functions.

Every op is listed once in a table (UNARY, BINARY, NONDIFF) with a sampler that keeps its inputs
away from kinks and domain edges and a NumPy reference; the tests are parametrized over them.
``test_every_elementwise_function_is_tested`` fails when an op is added to
``agrad/ops/elementwise.py`` without a row here.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import NamedTuple

import array_api_compat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import agrad as ag
from agrad._op import REGISTRY, Primitive
from agrad.ops import elementwise
from agrad.testing import gradcheck, gradgradcheck


# ---- helpers -----------------------------------------------------------------------------
def tensor(values, backend, dtype=ag.float64, requires_grad=False):
    return ag.asarray(np.asarray(values), dtype=dtype, backend=backend, requires_grad=requires_grad)


def host(raw) -> np.ndarray:
    """A raw array of any backend (or a NumPy scalar) as a NumPy array."""
    return ag.asarray(raw).numpy()


def backend_fn(name, *raws):
    """The backend's own ``name`` applied to raw arrays (Python scalars pass through)."""
    xp = array_api_compat.array_namespace(*[r for r in raws if not isinstance(r, (int, float))])
    return getattr(xp, name)(*raws)


def float_dtypes(backend):
    """The low-precision floating dtypes a backend has (array_api_strict has no float16)."""
    return [ag.float32] if backend == "array_api_strict" else [ag.float32, ag.float16]


def grad_of(f, *inputs):
    """``d sum(f(*inputs)) / d input`` for each input, through ``backward()``."""
    for t in inputs:
        t.grad = None
    ag.sum(f(*inputs)).backward()
    return [t.grad for t in inputs]


# ---- samplers: inputs drawn away from kinks and domain edges ----------------------------
def uniform(lo, hi):
    return lambda rng, shape: np.asarray(rng.uniform(lo, hi, shape), dtype=np.float64)


def signed(lo, hi):
    """``|x|`` in ``[lo, hi]``, either sign: away from 0."""

    def sample(rng, shape):
        sign = np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)
        return np.asarray(sign * rng.uniform(lo, hi, shape), dtype=np.float64)

    return sample


def off_grid(rng, shape):
    """Away from the integers and half-integers, where floor/ceil/round/trunc jump."""
    whole = rng.integers(-3, 3, shape) + 0.5 * rng.integers(0, 2, shape)
    return np.asarray(whole + rng.uniform(0.1, 0.4, shape), dtype=np.float64)


class Unary(NamedTuple):
    name: str
    sample: Callable
    ref: Callable


class Binary(NamedTuple):
    name: str
    sample1: Callable
    sample2: Callable
    ref: Callable
    scalars: tuple  # a Python scalar for each side (in that side's domain)


UNARY = [
    Unary("exp", uniform(-2, 2), np.exp),
    Unary("expm1", uniform(-2, 2), np.expm1),
    Unary("log", uniform(0.5, 2), np.log),
    Unary("log1p", uniform(-0.5, 2), np.log1p),
    Unary("log2", uniform(0.5, 2), np.log2),
    Unary("log10", uniform(0.5, 2), np.log10),
    Unary("sqrt", uniform(0.5, 2), np.sqrt),
    Unary("sin", uniform(-3, 3), np.sin),
    Unary("cos", uniform(-3, 3), np.cos),
    Unary("tan", uniform(-1.2, 1.2), np.tan),
    Unary("asin", uniform(-0.8, 0.8), np.arcsin),
    Unary("acos", uniform(-0.8, 0.8), np.arccos),
    Unary("atan", uniform(-3, 3), np.arctan),
    Unary("sinh", uniform(-2, 2), np.sinh),
    Unary("cosh", uniform(-2, 2), np.cosh),
    Unary("tanh", uniform(-2, 2), np.tanh),
    Unary("asinh", uniform(-3, 3), np.arcsinh),
    Unary("acosh", uniform(1.5, 3), np.arccosh),
    Unary("atanh", uniform(-0.8, 0.8), np.arctanh),
    Unary("abs", signed(0.2, 2), np.abs),
    Unary("negative", uniform(-2, 2), np.negative),
    Unary("positive", uniform(-2, 2), np.positive),
    Unary("reciprocal", signed(0.5, 2), np.reciprocal),
    Unary("square", uniform(-2, 2), np.square),
    Unary("sign", signed(0.2, 2), np.sign),
    Unary("floor", off_grid, np.floor),
    Unary("ceil", off_grid, np.ceil),
    Unary("round", off_grid, np.round),
    Unary("trunc", off_grid, np.trunc),
    Unary("real", uniform(-2, 2), np.real),
    Unary("conj", uniform(-2, 2), np.conj),
]

BINARY = [
    Binary("add", uniform(-2, 2), uniform(-2, 2), np.add, (1.5, -0.5)),
    Binary("subtract", uniform(-2, 2), uniform(-2, 2), np.subtract, (2.0, 0.5)),
    Binary("multiply", uniform(-2, 2), uniform(-2, 2), np.multiply, (2.0, -1.5)),
    Binary("divide", uniform(-2, 2), signed(0.5, 2), np.divide, (2.0, -1.5)),
    Binary("pow", uniform(0.5, 2), uniform(-1.5, 1.5), np.power, (2.0, 3)),
    Binary("remainder", uniform(-3, 3), signed(0.5, 1.5), np.remainder, (2.5, 0.7)),
    Binary("floor_divide", uniform(-3, 3), signed(0.5, 1.5), np.floor_divide, (2.5, 0.7)),
    Binary("atan2", signed(0.3, 1.5), signed(0.3, 1.5), np.arctan2, (1.0, -0.5)),
    Binary("logaddexp", uniform(-2, 2), uniform(-2, 2), np.logaddexp, (0.5, -1.0)),
    Binary("maximum", uniform(-2, 2), uniform(-2, 2), np.maximum, (0.3, -0.2)),
    Binary("minimum", uniform(-2, 2), uniform(-2, 2), np.minimum, (0.3, -0.2)),
    Binary("hypot", signed(0.3, 1.5), signed(0.3, 1.5), np.hypot, (1.0, -0.5)),
    Binary("copysign", signed(0.2, 2), signed(0.2, 2), np.copysign, (1.5, -2.0)),
    Binary("nextafter", uniform(-2, 2), uniform(-2, 2), np.nextafter, (1.0, -1.0)),
]

SHAPES = [(), (3,), (2, 3)]
BINARY_SHAPES = [
    ((), ()),
    ((3,), (3,)),
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((2, 3), (2, 1)),
    ((2, 1), (3,)),
    ((), (2, 3)),
]


def params(table):
    return [pytest.param(c, id=c.name) for c in table]


def shape_id(s):
    return "x".join(map(str, s)) or "0d"


SHAPE_PARAMS = [pytest.param(s, id=shape_id(s)) for s in SHAPES]
BINARY_SHAPE_PARAMS = [
    pytest.param(s, id=f"{shape_id(s[0])}-{shape_id(s[1])}") for s in BINARY_SHAPES
]


# ---- unary ops ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPE_PARAMS)
@pytest.mark.parametrize("case", params(UNARY))
def test_unary_forward_matches_backend_and_numpy(backend, case, shape, rng):
    xv = case.sample(rng, shape)
    x = tensor(xv, backend)
    out = getattr(ag, case.name)(x)
    assert out.shape == shape and out.dtype == ag.float64 and out.backend == backend
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), host(backend_fn(case.name, x.data)))
    np.testing.assert_allclose(out.numpy(), case.ref(xv), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPE_PARAMS)
@pytest.mark.parametrize("case", params(UNARY))
def test_unary_gradcheck_and_gradgradcheck(backend, case, shape, rng):
    x = tensor(case.sample(rng, shape), backend)
    f = getattr(ag, case.name)
    assert gradcheck(f, x)
    assert gradgradcheck(f, x)


# ---- binary ops --------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", BINARY_SHAPE_PARAMS)
@pytest.mark.parametrize("case", params(BINARY))
def test_binary_forward_matches_backend_and_numpy(backend, case, shapes, rng):
    xv, yv = case.sample1(rng, shapes[0]), case.sample2(rng, shapes[1])
    x, y = tensor(xv, backend), tensor(yv, backend)
    out = getattr(ag, case.name)(x, y)
    assert out.shape == np.broadcast_shapes(*shapes) and out.dtype == ag.float64
    np.testing.assert_array_equal(out.numpy(), host(backend_fn(case.name, x.data, y.data)))
    np.testing.assert_allclose(out.numpy(), case.ref(xv, yv), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shapes", BINARY_SHAPE_PARAMS)
@pytest.mark.parametrize("case", params(BINARY))
def test_binary_gradcheck_and_gradgradcheck(backend, case, shapes, rng):
    x = tensor(case.sample1(rng, shapes[0]), backend)
    y = tensor(case.sample2(rng, shapes[1]), backend)
    f = getattr(ag, case.name)
    assert gradcheck(f, x, y)
    assert gradgradcheck(f, x, y)


@pytest.mark.parametrize("side", ["scalar_right", "scalar_left"])
@pytest.mark.parametrize("case", params(BINARY))
def test_binary_with_a_python_scalar(backend, case, side, rng):
    op = getattr(ag, case.name)
    if side == "scalar_right":
        xv, s = case.sample1(rng, (2, 3)), case.scalars[1]
        f = lambda t: op(t, s)  # noqa: E731
        ref = case.ref(xv, s)
        raw = lambda r: backend_fn(case.name, r, s)  # noqa: E731
    else:
        xv, s = case.sample2(rng, (2, 3)), case.scalars[0]
        f = lambda t: op(s, t)  # noqa: E731
        ref = case.ref(s, xv)
        raw = lambda r: backend_fn(case.name, s, r)  # noqa: E731
    for dtype in [ag.float64, *float_dtypes(backend)]:  # the scalar never widens the tensor
        x = tensor(xv, backend, dtype=dtype)
        out = f(x)
        assert out.dtype == dtype and out.shape == (2, 3)
        np.testing.assert_array_equal(out.numpy(), host(raw(x.data)))
    np.testing.assert_allclose(f(tensor(xv, backend)).numpy(), ref, rtol=1e-12)
    x = tensor(xv, backend)
    assert gradcheck(f, x)
    assert gradgradcheck(f, x)


def test_binary_gradient_only_for_inputs_that_require_it(backend, rng):
    x = tensor(rng.uniform(0.5, 2, (2, 3)), backend, requires_grad=True)
    y = tensor(rng.uniform(0.5, 2, (3,)), backend)
    for case in BINARY:
        x.grad = None
        ag.sum(getattr(ag, case.name)(x, y)).backward()
        assert x.grad is not None and x.grad.shape == (2, 3), case.name
        assert y.grad is None, case.name


@settings(max_examples=30, deadline=None)
@given(
    case=st.sampled_from(BINARY),
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_binary_broadcasting_gradients(backend, case, shapes, seed):
    rng = np.random.default_rng(seed)
    x = tensor(case.sample1(rng, shapes.input_shapes[0]), backend)
    y = tensor(case.sample2(rng, shapes.input_shapes[1]), backend)
    out = getattr(ag, case.name)(x, y)
    assert out.shape == shapes.result_shape
    assert gradcheck(getattr(ag, case.name), x, y)


# ---- where and clip ------------------------------------------------------------------------
def test_where_forward_and_gradients(backend, rng):
    cond_v = np.array([[True], [False]])
    cond = ag.asarray(cond_v, backend=backend)
    a = tensor(rng.normal(size=(3,)), backend)
    b = tensor(rng.normal(size=(2, 3)), backend)
    out = ag.where(cond, a, b)
    assert out.shape == (2, 3)
    raw = array_api_compat.array_namespace(a.data).where(cond.data, a.data, b.data)
    np.testing.assert_array_equal(out.numpy(), host(raw))
    np.testing.assert_array_equal(out.numpy(), np.where(cond_v, a.numpy(), b.numpy()))
    f = lambda a, b: ag.where(cond, a, b)  # noqa: E731
    assert gradcheck(f, a, b)
    assert gradgradcheck(f, a, b)
    # exact routing: the unselected branch gets exact zeros, broadcast branches sum up
    ga, gb = grad_of(f, a.detach().requires_grad_(), b.detach().requires_grad_())
    np.testing.assert_array_equal(ga.numpy(), np.ones(3))
    np.testing.assert_array_equal(gb.numpy(), np.broadcast_to(~cond_v, (2, 3)).astype(float))


@pytest.mark.parametrize("dtype", [ag.float64, ag.float32])
def test_where_with_python_scalar_branches(backend, dtype, rng):
    xv = rng.normal(size=(2, 3))
    x = tensor(xv, backend, dtype=dtype, requires_grad=True)
    relu = ag.where(x > 0.0, x, 0.0)
    assert relu.dtype == dtype and relu.requires_grad
    np.testing.assert_allclose(relu.numpy(), np.where(xv > 0, xv, 0.0).astype(relu.numpy().dtype))
    ag.sum(relu).backward()
    np.testing.assert_array_equal(x.grad.numpy(), (xv > 0).astype(float))
    assert x.grad.dtype == dtype
    x.grad = None
    ag.sum(ag.where(x > 0.0, 1.0, x)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), (xv <= 0).astype(float))
    assert gradgradcheck(lambda t: ag.where(t > 0.0, t * t, 0.0), x)


def test_clip_forward_matches_backend(backend, rng):
    xv = rng.uniform(-2, 2, (2, 3))
    x = tensor(xv, backend)
    xp = array_api_compat.array_namespace(x.data)
    for lo, hi in [(-1.0, 1.0), (-0.5, None), (None, 0.5), (None, None)]:
        out = ag.clip(x, min=lo, max=hi)
        assert out.dtype == ag.float64
        np.testing.assert_array_equal(out.numpy(), host(xp.clip(x.data, lo, hi)))
        np.testing.assert_array_equal(out.numpy(), np.clip(xv, lo, hi))


@pytest.mark.parametrize("shape", SHAPE_PARAMS)
def test_clip_gradcheck_with_scalar_bounds(backend, shape, rng):
    # values at least 0.1 from the bounds -1 and 1
    x = tensor(
        signed(0.1, 0.9)(rng, shape) + np.where(rng.uniform(size=shape) < 0.5, 0, 1.5), backend
    )
    for lo, hi in [(-1.0, 1.0), (-1.0, None), (None, 1.0)]:
        f = lambda t: ag.clip(t, min=lo, max=hi)  # noqa: B023, E731
        assert gradcheck(f, x)
        assert gradgradcheck(f, x)


def test_clip_gradcheck_with_tensor_bounds(backend, rng):
    x = tensor(rng.uniform(-2, 2, (2, 3)), backend)
    lo = tensor(rng.uniform(-1.2, -0.2, (3,)), backend)
    hi = tensor(rng.uniform(0.2, 1.2, (2, 1)), backend)
    xp = array_api_compat.array_namespace(x.data)
    np.testing.assert_array_equal(
        ag.clip(x, lo, hi).numpy(), host(xp.clip(x.data, lo.data, hi.data))
    )
    assert gradcheck(lambda a, b, c: ag.clip(a, b, c), x, lo, hi)
    assert gradgradcheck(lambda a, b, c: ag.clip(a, b, c), x, lo, hi)
    assert gradcheck(lambda a, b: ag.clip(a, min=b), x, lo)
    assert gradcheck(lambda a, c: ag.clip(a, max=c), x, hi)


# ---- kinks: the documented subgradients, exactly -----------------------------------------
def test_abs_subgradient_is_zero_at_zero(backend):
    x = tensor([0.0, -0.0, -1.5, 2.0], backend, requires_grad=True)
    (g,) = grad_of(ag.abs, x)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, -1.0, 1.0])
    x.grad = None
    ag.sum(abs(x)).backward()  # the builtin goes through the same op
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, -1.0, 1.0])


@pytest.mark.parametrize("name, win", [("maximum", np.greater), ("minimum", np.less)])
def test_maximum_minimum_ties_split_the_gradient(backend, name, win):
    op = getattr(ag, name)
    xv = np.array([0.0, -1.0, 2.0, 3.0])
    yv = np.array([0.0, 1.0, -2.0, 3.0])
    x = tensor(xv, backend, requires_grad=True)
    y = tensor(yv, backend, requires_grad=True)
    gx, gy = grad_of(op, x, y)
    expect_x = np.where(xv == yv, 0.5, win(xv, yv).astype(float))
    np.testing.assert_array_equal(gx.numpy(), expect_x)
    np.testing.assert_array_equal(gy.numpy(), 1.0 - expect_x)
    # with a Python scalar on either side: ReLU maximum(x, 0.0) has derivative 0.5 at 0
    z = tensor([-1.0, 0.0, 1.0], backend, requires_grad=True)
    half_at_0 = [0.0, 0.5, 1.0] if name == "maximum" else [1.0, 0.5, 0.0]
    np.testing.assert_array_equal(grad_of(lambda t: op(t, 0.0), z)[0].numpy(), half_at_0)
    np.testing.assert_array_equal(grad_of(lambda t: op(0.0, t), z)[0].numpy(), half_at_0)
    # the same tensor on both sides: the halves add back up to 1
    np.testing.assert_array_equal(grad_of(lambda t: op(t, t), z)[0].numpy(), [1.0, 1.0, 1.0])


def test_clip_passes_the_gradient_inclusively_at_scalar_bounds(backend):
    x = tensor([-2.0, -1.0, 0.0, 1.0, 2.0], backend, requires_grad=True)
    np.testing.assert_array_equal(
        grad_of(lambda t: ag.clip(t, min=-1.0, max=1.0), x)[0].numpy(), [0, 1, 1, 1, 0]
    )
    np.testing.assert_array_equal(
        grad_of(lambda t: ag.clip(t, min=-1.0), x)[0].numpy(), [0, 1, 1, 1, 1]
    )
    np.testing.assert_array_equal(
        grad_of(lambda t: ag.clip(t, max=1.0), x)[0].numpy(), [1, 1, 1, 1, 0]
    )
    np.testing.assert_array_equal(grad_of(ag.clip, x)[0].numpy(), [1, 1, 1, 1, 1])


def test_clip_routes_the_gradient_to_tensor_bounds_where_they_clip(backend):
    x = tensor([-2.0, -1.0, 0.0, 1.0, 2.0], backend, requires_grad=True)
    lo = tensor([-1.0] * 5, backend, requires_grad=True)
    hi = tensor(1.0, backend, requires_grad=True)  # broadcast: its gradient is summed
    gx, glo, ghi = grad_of(lambda a, b, c: ag.clip(a, b, c), x, lo, hi)
    np.testing.assert_array_equal(gx.numpy(), [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(glo.numpy(), [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(ghi.numpy(), 1.0)
    assert glo.shape == (5,) and ghi.shape == ()


def test_sqrt_derivative_is_plus_inf_at_zero(backend):
    x = tensor([0.0, 4.0], backend, requires_grad=True)
    with np.errstate(divide="ignore"):  # NumPy (and array_api_strict, built on it) warn on 1/0
        (g,) = grad_of(ag.sqrt, x)
    np.testing.assert_array_equal(g.numpy(), [np.inf, 0.25])


def test_hypot_gradient_is_zero_at_the_origin(backend):
    x = tensor([0.0, 3.0], backend, requires_grad=True)
    y = tensor([0.0, -4.0], backend, requires_grad=True)
    gx, gy = grad_of(ag.hypot, x, y)
    assert gx.numpy()[0] == 0.0 and gy.numpy()[0] == 0.0  # exactly, not NaN
    np.testing.assert_allclose(gx.numpy()[1], 0.6, rtol=1e-14)
    np.testing.assert_allclose(gy.numpy()[1], -0.8, rtol=1e-14)
    np.testing.assert_array_equal(grad_of(lambda t: ag.hypot(t, 0.0), x)[0].numpy(), [0.0, 1.0])
    # the recorded backward is finite there too
    gg = ag.grad(lambda t: ag.sum(ag.grad(lambda u: ag.sum(ag.hypot(u, u)))(t)))(x.detach())
    assert np.all(np.isfinite(gg.numpy()))


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "trunc"])
def test_piecewise_constant_ops_have_exact_zero_gradients(backend, name):
    # including the jump points themselves
    x = tensor([-1.5, -1.0, -0.0, 0.0, 0.5, 1.0, 2.5, 0.3], backend, requires_grad=True)
    (g,) = grad_of(getattr(ag, name), x)
    assert g is not None and g.dtype == ag.float64 and g.shape == (8,)
    np.testing.assert_array_equal(g.numpy(), np.zeros(8))


def test_floor_divide_has_exact_zero_gradients(backend):
    x = tensor([[-1.5, 3.0, 0.7]], backend, requires_grad=True)
    y = tensor([[0.5], [1.5]], backend, requires_grad=True)
    for f in (ag.floor_divide, lambda a, b: a // b):
        gx, gy = grad_of(f, x, y)
        np.testing.assert_array_equal(gx.numpy(), np.zeros((1, 3)))
        np.testing.assert_array_equal(gy.numpy(), np.zeros((2, 1)))
    np.testing.assert_array_equal(grad_of(lambda a: 2.0 // a, y)[0].numpy(), np.zeros((2, 1)))


def test_pow_exponent_gradient_at_zero_and_negative_bases(backend):
    base = tensor([0.0, -2.0, 2.0, 0.0], backend)
    y = tensor([1.5, 2.0, 3.0, 0.0], backend, requires_grad=True)
    (g,) = grad_of(lambda t: ag.pow(base, t), y)
    np.testing.assert_array_equal(g.numpy()[[0, 1, 3]], [0.0, np.nan, 0.0])
    np.testing.assert_allclose(g.numpy()[2], 8.0 * np.log(2.0), rtol=1e-14)
    # a Python scalar base: 0 ** y -> 0 and (-2) ** y -> NaN
    y2 = tensor([2.0, 3.0], backend, requires_grad=True)
    np.testing.assert_array_equal(grad_of(lambda t: 0.0**t, y2)[0].numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: (-2.0) ** t, y2)[0].numpy(), [np.nan] * 2)


def test_pow_base_gradient_for_a_zero_exponent_is_zero(backend):
    # x ** 0 is constant: its derivative is 0 even at x = 0 (not 0 * 0 ** -1 = NaN)
    x = tensor([0.0, 2.0, -1.0], backend, requires_grad=True)
    zero = tensor([0.0, 0.0, 0.0], backend)
    np.testing.assert_array_equal(grad_of(lambda t: t**0, x)[0].numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: t**0.0, x)[0].numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: t**zero, x)[0].numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: t**1, x)[0].numpy(), [1.0, 1.0, 1.0])


def test_pow_second_derivatives_with_a_tensor_exponent(backend, rng):
    # d2/dy2 x^y = x^y log^2 x ; the recorded backward uses where() with NaN and 0 branches
    xv, yv = rng.uniform(0.5, 2, (3,)), rng.uniform(-1, 1, (3,))
    x, y = tensor(xv, backend), tensor(yv, backend)
    d2 = ag.grad(lambda t: ag.sum(ag.grad(lambda u: ag.sum(x**u))(t)))(y)
    np.testing.assert_allclose(d2.numpy(), xv**yv * np.log(xv) ** 2, rtol=1e-12)
    assert gradgradcheck(ag.pow, x, y)


# ---- second derivatives in closed form ------------------------------------------------------
SECOND = [
    ("tanh", ag.tanh, lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2), uniform(-2, 2)),
    ("sin", ag.sin, lambda v: -np.sin(v), uniform(-3, 3)),
    ("log", ag.log, lambda v: -1 / v**2, uniform(0.5, 2)),
    ("sqrt", ag.sqrt, lambda v: -0.25 * v**-1.5, uniform(0.5, 2)),
    ("reciprocal", ag.reciprocal, lambda v: 2 / v**3, signed(0.5, 2)),
    ("atan", ag.atan, lambda v: -2 * v / (1 + v**2) ** 2, uniform(-2, 2)),
    ("x**3", lambda t: t**3, lambda v: 6 * v, uniform(-2, 2)),
    ("2**x", lambda t: 2.0**t, lambda v: 2.0**v * np.log(2.0) ** 2, uniform(-2, 2)),
    ("x/(1+x)", lambda t: t / (1.0 + t), lambda v: -2 / (1 + v) ** 3, uniform(0, 2)),
]


@pytest.mark.parametrize("f, d2, sample", [pytest.param(*c[1:], id=c[0]) for c in SECOND])
def test_second_derivative_closed_forms(backend, f, d2, sample, rng):
    xv = sample(rng, (4,))
    x = tensor(xv, backend)
    got = ag.grad(lambda t: ag.sum(ag.grad(lambda u: ag.sum(f(u)))(t)))(x)
    np.testing.assert_allclose(got.numpy(), d2(xv), rtol=1e-12, atol=1e-14)


# ---- dtypes and devices of gradients -------------------------------------------------------
def _low_precision_check(backend, f, xvs, dtype):
    """Forward and gradients of ``f`` keep ``dtype``, the backend and the device, and are
    close to the float64 gradient at the rounded inputs."""
    xs = [tensor(v, backend, dtype=dtype, requires_grad=True) for v in xvs]
    out = f(*xs)
    assert out.dtype == dtype
    grads = grad_of(f, *xs)
    x64 = [tensor(x.numpy().astype(np.float64), backend, requires_grad=True) for x in xs]
    ref = grad_of(f, *x64)
    rtol = 1e-5 if dtype == ag.float32 else 2e-2
    for x, g, r in zip(xs, grads, ref):
        assert g.dtype == dtype and g.backend == backend and g.device == x.device
        assert g.shape == x.shape
        np.testing.assert_allclose(g.numpy().astype(np.float64), r.numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("case", params(UNARY))
def test_unary_keeps_dtype_backend_and_device(backend, case, rng):
    xv = case.sample(rng, (2, 3))
    for dtype in float_dtypes(backend):
        _low_precision_check(backend, getattr(ag, case.name), [xv], dtype)


@pytest.mark.parametrize("case", params(BINARY))
def test_binary_keeps_dtype_backend_and_device(backend, case, rng):
    xv, yv = case.sample1(rng, (2, 3)), case.sample2(rng, (3,))
    for dtype in float_dtypes(backend):
        _low_precision_check(backend, getattr(ag, case.name), [xv, yv], dtype)


@pytest.mark.parametrize("case", params(BINARY))
def test_mixed_precision_gradients_keep_each_inputs_dtype(backend, case, rng):
    x = tensor(case.sample1(rng, (2, 3)), backend, dtype=ag.float32, requires_grad=True)
    y = tensor(case.sample2(rng, (3,)), backend, dtype=ag.float64, requires_grad=True)
    out = getattr(ag, case.name)(x, y)
    assert out.dtype == ag.float64  # float32 with float64 promotes
    gx, gy = grad_of(getattr(ag, case.name), x, y)
    assert (gx.dtype, gx.shape) == (ag.float32, (2, 3))
    assert (gy.dtype, gy.shape) == (ag.float64, (3,))


def test_array_api_strict_has_no_float16():
    # why the low-precision tests check only float32 on array_api_strict
    with pytest.raises(TypeError, match="the array_api_strict backend has no dtype float16"):
        ag.asarray([1.0], dtype=ag.float16, backend="array_api_strict")


# ---- Python scalars follow the standard's promotion rules ----------------------------------
@pytest.mark.parametrize("case", params(BINARY))
def test_python_float_with_integer_tensor_is_an_error_naming_the_op(backend, case):
    xi = ag.asarray(np.array([1, 2, 3]), backend=backend)
    op = getattr(ag, case.name)
    pattern = rf"^agrad\.{case.name}: cannot combine the Python float 1\.5 with an integer tensor"
    with pytest.raises(TypeError, match=pattern):
        op(xi, 1.5)
    with pytest.raises(TypeError, match=pattern):
        op(1.5, xi)


@pytest.mark.parametrize(
    "expr, name",
    [
        (lambda t: t * 1.5, "multiply"),
        (lambda t: 1.5 * t, "multiply"),
        (lambda t: t + 1.5, "add"),
        (lambda t: 1.5 - t, "subtract"),
        (lambda t: t / 1.5, "divide"),
        (lambda t: t**1.5, "pow"),
        (lambda t: 1.5**t, "pow"),
        (lambda t: t % 1.5, "remainder"),
        (lambda t: t // 1.5, "floor_divide"),
        (lambda t: t < 1.5, "less"),
        (lambda t: t == 1.5, "equal"),
        (lambda t: ag.clip(t, min=1.5), "clip"),
        (lambda t: ag.where(t > 1, t, 1.5), "where"),
    ],
)
def test_operators_with_python_float_on_integer_tensor(backend, expr, name):
    xi = ag.asarray(np.array([1, 2, 3]), backend=backend)
    with pytest.raises(TypeError, match=rf"^agrad\.{name}: .*Python float 1\.5.*integer tensor"):
        expr(xi)


def test_other_scalar_kinds_with_a_float_tensor(backend):
    x = tensor([1.0, 2.0], backend, dtype=ag.float32)
    with pytest.raises(TypeError, match=r"^agrad\.add: cannot combine the Python bool True"):
        x + True
    assert (x * 2).dtype == ag.float32  # a Python int joins a float tensor
    assert (2**x).dtype == ag.float32
    # a Python complex makes a real tensor complex of its precision (the standard's rule)
    for y, want in ((x * 1j, [1j, 2j]), (1j - x, [-1 + 1j, -2 + 1j]), (x / 2j, [-0.5j, -1j])):
        assert y.dtype == ag.complex64
        np.testing.assert_allclose(y.numpy(), want, rtol=1e-6)
    x64 = tensor([1.0, 2.0], backend, dtype=ag.float64)
    assert (x64 + 1j).dtype == ag.complex128 == ag.result_type(x64, 1j)
    assert ag.result_type(ag.float32, 1j) == ag.complex64
    for ints in (tensor([1, 2], backend, dtype=ag.int32), tensor([True], backend, dtype=ag.bool)):
        with pytest.raises(TypeError, match=r"^agrad\.multiply: cannot combine the Python complex"):
            ints * 1j


def test_gradient_of_a_real_tensor_through_complex_values(backend, rng):
    # x * 1j, x * z: a real input promoted to complex gets the real part of its complex
    # gradient (PyTorch's rule), checked against finite differences and the closed form
    xn, zn = rng.normal(size=3), rng.normal(size=3) + 1j * rng.normal(size=3)
    x = tensor(xn, backend, dtype=ag.float64)
    z = ag.asarray(zn, backend=backend)

    def f(t):
        u = t * 1j + t * z - 2j * t * t
        return ag.sum(ag.real(u * ag.conj(u)))  # |u|^2

    assert gradcheck(f, x) and gradgradcheck(f, x)
    g = ag.grad(f)(x)
    assert g.dtype == ag.float64
    u = xn * 1j + xn * zn - 2j * xn * xn
    du = 1j + zn - 4j * xn
    np.testing.assert_allclose(g.numpy(), 2 * np.real(np.conj(u) * du), rtol=1e-12)
    # the same through backward() into .grad, and through a matmul with a complex matrix
    w = ag.asarray(xn, backend=backend, requires_grad=True)
    ag.real(ag.sum(w * zn.conj() * 1j)).backward()
    np.testing.assert_allclose(w.grad.numpy(), np.real(zn.conj() * 1j), rtol=1e-12)
    m = ag.asarray(rng.normal(size=(2, 3)) + 1j, backend=backend)
    assert gradcheck(lambda t: ag.sum(ag.abs(m @ t) ** 2), x)


@pytest.mark.parametrize(
    "dtype, value", [("uint8", 256), ("uint8", -1), ("int8", 128), ("int8", -129), ("int32", 2**31)]
)
def test_python_int_outside_an_integer_dtype_is_an_error_everywhere(backend, dtype, value):
    # the standard leaves it unspecified, and the backends disagreed: NumPy raised, torch
    # wrapped the value around (uint8 x < -1 compared x with 255: True for 1 and 200)
    x = ag.asarray(np.array([1, 100], dtype=dtype), backend=backend)
    pattern = (
        rf"^agrad\.(\w+): the Python int {value} does not fit the dtype {dtype} "
        rf"\(from -?\d+ to \d+\).*: convert the tensor to a wider dtype first, e\.g\. "
        rf"ag\.astype\(x, ag\.int64\)\.$"
    )
    for expr, name in (
        (lambda: x + value, "add"),
        (lambda: value - x, "subtract"),
        (lambda: x * value, "multiply"),
        (lambda: x < value, "less"),
        (lambda: x == value, "equal"),
        (lambda: ag.maximum(x, value), "maximum"),
        (lambda: ag.where(x > 1, x, value), "where"),
    ):
        with pytest.raises(OverflowError, match=pattern.replace(r"(\w+)", name)):
            expr()
    y = ag.asarray(np.array([1, 100], dtype=dtype), backend=backend)
    with pytest.raises(OverflowError, match=pattern.replace(r"(\w+)", "add")):
        y += value
    fill = rf"^agrad\.(full|full_like): the Python int {value} does not fit the dtype {dtype} "
    fit = r".*: ask for a dtype that holds it, e\.g\. dtype=ag\.int64 \(or ag\.uint64, or a "
    fit += r"float\)\.$"
    with pytest.raises(OverflowError, match=fill + fit):
        ag.full((2,), value, dtype=getattr(ag, dtype), backend=backend)
    with pytest.raises(OverflowError, match=fill):
        ag.full_like(x, value)
    with pytest.raises(OverflowError, match=fill):  # x's dtype unless one is given
        ag.full_like(ag.asarray(np.zeros(2), backend=backend), value, dtype=getattr(ag, dtype))
    info = np.iinfo(dtype)  # the dtype's own bounds are fine
    for edge in (int(info.min), int(info.max)):
        assert (x == edge).numpy().tolist() == [False, edge == 100]
        assert ag.maximum(x, edge).dtype == getattr(ag, dtype)


def test_integer_tensors_with_python_ints_stay_integer(backend):
    xi = ag.asarray(np.array([1, 2, 3], dtype=np.int32), backend=backend)
    for out in (xi * 2, 2 + xi, xi - 1, xi // 2, xi % 2, xi**2, ag.maximum(xi, 2), -xi):
        assert out.dtype == ag.int32
        assert not out.requires_grad
    np.testing.assert_array_equal((xi * 2 + 1).numpy(), [3, 5, 7])


def test_only_python_scalars_is_an_error():
    with pytest.raises(TypeError, match=r"^agrad\.add: needs at least one array argument"):
        ag.add(1.0, 2.0)


def test_mixing_backends_is_an_error(backend):
    other = "array_api_strict" if backend == "numpy" else "numpy"
    x, y = tensor([1.0], backend), tensor([2.0], other)
    with pytest.raises(ValueError, match=r"^agrad\.multiply: inputs live on different backend"):
        ag.multiply(x, y)
    with pytest.raises(ValueError, match=r"to_device"):
        x + y


# ---- operators -------------------------------------------------------------------------------
ARITHMETIC = [
    ("+", operator.add, "add"),
    ("-", operator.sub, "subtract"),
    ("*", operator.mul, "multiply"),
    ("/", operator.truediv, "divide"),
    ("//", operator.floordiv, "floor_divide"),
    ("%", operator.mod, "remainder"),
    ("**", operator.pow, "pow"),
]


@pytest.mark.parametrize("form", ["tensor_tensor", "tensor_scalar", "scalar_tensor"])
@pytest.mark.parametrize("sym, fn, name", [pytest.param(*a, id=a[2]) for a in ARITHMETIC])
def test_arithmetic_operators(backend, sym, fn, name, form, rng):
    xv, yv = rng.uniform(0.5, 2, (2, 3)), rng.uniform(0.6, 1.7, (3,))
    x = tensor(xv, backend, requires_grad=True)
    y = tensor(yv, backend, requires_grad=True)
    if form == "tensor_tensor":
        f, args, direct, ref = fn, (x, y), (x, y), fn(xv, yv)
    elif form == "tensor_scalar":
        f, args, direct, ref = (lambda a: fn(a, 1.5)), (x,), (x, 1.5), fn(xv, 1.5)
    else:  # the reflected operator (__radd__ ...)
        f, args, direct, ref = (lambda b: fn(1.5, b)), (y,), (1.5, y), fn(1.5, yv)
    out = f(*args)
    assert f"grad_fn=<{name}>" in repr(out)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    np.testing.assert_array_equal(out.numpy(), getattr(ag, name)(*direct).numpy())
    assert gradcheck(f, *args)


@pytest.mark.parametrize(
    "expr, name, ref",
    [
        pytest.param(operator.neg, "negative", np.negative, id="neg"),
        pytest.param(operator.pos, "positive", np.positive, id="pos"),
        pytest.param(abs, "abs", np.abs, id="abs"),
    ],
)
def test_unary_operators(backend, expr, name, ref, rng):
    xv = signed(0.2, 2)(rng, (2, 3))
    x = tensor(xv, backend, requires_grad=True)
    out = expr(x)
    assert f"grad_fn=<{name}>" in repr(out)
    np.testing.assert_array_equal(out.numpy(), ref(xv))
    assert gradcheck(expr, x)
    assert gradgradcheck(expr, x)


COMPARISONS = [
    (operator.lt, "less"),
    (operator.le, "less_equal"),
    (operator.gt, "greater"),
    (operator.ge, "greater_equal"),
    (operator.eq, "equal"),
    (operator.ne, "not_equal"),
]


@pytest.mark.parametrize("fn, name", [pytest.param(*c, id=c[1]) for c in COMPARISONS])
def test_comparison_operators(backend, fn, name, rng):
    xv = rng.integers(-2, 3, (2, 3)).astype(float)  # integer values: plenty of ties
    yv = rng.integers(-2, 3, (3,)).astype(float)
    x = tensor(xv, backend, requires_grad=True)
    y = tensor(yv, backend, requires_grad=True)
    for out, ref in [
        (fn(x, y), fn(xv, yv)),
        (fn(x, 1.0), fn(xv, 1.0)),
        (fn(1.0, x), fn(1.0, xv)),  # reflected: 1.0 < x is x > 1.0
        (getattr(ag, name)(x, y), fn(xv, yv)),
    ]:
        assert isinstance(out, ag.Tensor)
        assert out.dtype == ag.bool and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), ref)


@pytest.mark.parametrize("dtype", ["int", "bool"])
def test_bitwise_operators(backend, dtype, rng):
    if dtype == "int":
        av, bv, s = rng.integers(0, 16, (2, 3)), rng.integers(0, 16, (3,)), 5
    else:
        av, bv, s = rng.integers(0, 2, (2, 3)) > 0, rng.integers(0, 2, (3,)) > 0, True
    a, b = ag.asarray(av, backend=backend), ag.asarray(bv, backend=backend)
    for fn in (operator.and_, operator.or_, operator.xor):
        for out, ref in [(fn(a, b), fn(av, bv)), (fn(a, s), fn(av, s)), (fn(s, a), fn(s, av))]:
            assert out.dtype == a.dtype
            np.testing.assert_array_equal(out.numpy(), ref)
    np.testing.assert_array_equal((~a).numpy(), ~av)


def test_matmul_operator(backend, rng):
    a = tensor(rng.normal(size=(2, 3)), backend)
    b = tensor(rng.normal(size=(3,)), backend)
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-12)
    assert gradcheck(operator.matmul, a, b)


# ---- non-differentiable ops -------------------------------------------------------------------
def _floats_with_specials(rng, shape):
    v = rng.integers(-2, 3, shape).astype(float)
    v.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
    return v


class NonDiff(NamedTuple):
    name: str
    kind: str  # the input kind: "float", "bool" or "int"
    arity: int
    ref: Callable


NONDIFF = [
    NonDiff("equal", "float", 2, np.equal),
    NonDiff("not_equal", "float", 2, np.not_equal),
    NonDiff("less", "float", 2, np.less),
    NonDiff("less_equal", "float", 2, np.less_equal),
    NonDiff("greater", "float", 2, np.greater),
    NonDiff("greater_equal", "float", 2, np.greater_equal),
    NonDiff("isnan", "float", 1, np.isnan),
    NonDiff("isinf", "float", 1, np.isinf),
    NonDiff("isfinite", "float", 1, np.isfinite),
    NonDiff("signbit", "float", 1, np.signbit),
    NonDiff("logical_and", "bool", 2, np.logical_and),
    NonDiff("logical_or", "bool", 2, np.logical_or),
    NonDiff("logical_xor", "bool", 2, np.logical_xor),
    NonDiff("logical_not", "bool", 1, np.logical_not),
    NonDiff("bitwise_and", "int", 2, np.bitwise_and),
    NonDiff("bitwise_or", "int", 2, np.bitwise_or),
    NonDiff("bitwise_xor", "int", 2, np.bitwise_xor),
    NonDiff("bitwise_invert", "int", 1, np.invert),
    NonDiff("bitwise_left_shift", "int", 2, np.left_shift),
    NonDiff("bitwise_right_shift", "int", 2, np.right_shift),
]


def _nondiff_inputs(case, backend, rng):
    vals, tensors = [], []
    for k in range(case.arity):
        if case.kind == "float":
            v = _floats_with_specials(rng, (2, 3)) if k == 0 else rng.integers(-2, 3, (3,)) * 1.0
            t = tensor(v, backend, requires_grad=True)
        elif case.kind == "bool":
            v = rng.integers(0, 2, (2, 3) if k == 0 else (3,)) > 0
            t = ag.asarray(v, backend=backend)
        else:  # shifts need small non-negative counts
            v = rng.integers(0, 8 if k == 0 else 4, (2, 3) if k == 0 else (3,))
            t = ag.asarray(v, backend=backend)
        vals.append(v)
        tensors.append(t)
    return vals, tensors


@pytest.mark.parametrize("case", params(NONDIFF))
def test_nondifferentiable_ops(backend, case, rng):
    vals, xs = _nondiff_inputs(case, backend, rng)
    prim = REGISTRY[case.name]
    assert not prim.differentiable and prim.vjp is None
    out = getattr(ag, case.name)(*xs)
    expect_dtype = xs[0].dtype if case.name.startswith("bitwise") else ag.bool
    assert out.dtype == expect_dtype
    assert not out.requires_grad and out.is_leaf  # even though float inputs require grad
    np.testing.assert_array_equal(out.numpy(), case.ref(*vals))
    np.testing.assert_array_equal(out.numpy(), host(backend_fn(case.name, *[x.data for x in xs])))
    with pytest.raises(RuntimeError, match=r"backward\(\): this tensor does not require grad"):
        out.backward()
    with pytest.raises(TypeError, match=rf"op '{case.name}' is declared non-differentiable"):
        prim.defvjp(lambda xp, g, out, *a: a)


def test_a_comparison_inside_a_graph_only_selects(backend, rng):
    xv = signed(0.2, 2)(rng, (2, 3))
    x = tensor(xv, backend, requires_grad=True)
    mask = x > 0.0
    assert not mask.requires_grad
    ag.sum(ag.where(mask, x * x, -x)).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(xv > 0, 2 * xv, -1.0), rtol=1e-14)


# ---- completeness -----------------------------------------------------------------------------
def test_every_elementwise_function_is_tested():
    public = {p.name for p in vars(elementwise).values() if isinstance(p, Primitive)} | {"clip"}
    tested = {c.name for c in UNARY + BINARY + NONDIFF} | {"where", "clip", "imag"}
    assert public - tested == set(), f"elementwise ops without tests: {sorted(public - tested)}"
    for name in public:  # each is public, and differentiable ones have a VJP
        assert callable(getattr(ag, name)), name
        p = REGISTRY[name]
        assert p.vjp is not None or not p.differentiable, name


def test_complex_parts_follow_pytorchs_gradient_convention(backend):
    # L = 9 Re z + 4 Im z: the gradient of a complex input is dL/dRe + 1j dL/dIm = 9 + 4j
    z = ag.asarray(np.array([1 + 2j, 3 - 1j]), backend=backend, requires_grad=True)
    w = ag.conj(z)
    loss = ag.sum(ag.real(z) * 2.0 + ag.imag(z) * 5.0 + ag.real(w) * 7.0 + ag.imag(w))
    loss.backward()
    assert z.grad.dtype == ag.complex128
    np.testing.assert_allclose(z.grad.numpy(), [9 + 4j, 9 + 4j])
    np.testing.assert_allclose(ag.imag(z).numpy(), [2.0, -1.0])


def test_imag_of_a_real_tensor_is_refused(backend):
    with pytest.raises(TypeError, match=r"agrad\.imag: needs a complex tensor, got float64"):
        ag.imag(tensor([1.0], backend))


def test_copysign_takes_the_sign_bit_of_negative_zero(backend):
    x = tensor([1.5, -2.0, 0.0], backend, requires_grad=True)
    y = tensor([-0.0, 2.0, -3.0], backend)
    ag.sum(ag.copysign(x, y)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, -1.0, 0.0])

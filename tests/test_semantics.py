"""Forward semantics follow the standard on every backend, with array-api-strict as the
reference: special values (signed zeros, infinities, NaN), integer division and shifts,
reductions with axis/keepdims."""

from __future__ import annotations

import array_api_strict as xs
import numpy as np
import pytest

import agrad as ag

SPECIAL = np.array(
    [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 3.0, np.inf, -np.inf, np.nan, 1e-300, 7.0, -7.0]
)
PAIRS = (np.repeat(SPECIAL, SPECIAL.size), np.tile(SPECIAL, SPECIAL.size))
UNARY = """abs acos acosh asin asinh atan atanh ceil cos cosh exp expm1 floor isfinite isinf isnan
log log1p log2 log10 negative positive reciprocal round sign signbit sin sinh sqrt square tan
tanh trunc""".split()
BINARY = """add atan2 copysign divide equal floor_divide greater greater_equal hypot less
less_equal logaddexp maximum minimum multiply nextafter not_equal pow remainder
subtract""".split()


def reference(name, *arrays):
    with np.errstate(all="ignore"):
        return np.from_dlpack(getattr(xs, name)(*[xs.asarray(a) for a in arrays]))


def agrad_result(name, backend, *arrays):
    with np.errstate(all="ignore"):
        return getattr(ag, name)(*[ag.asarray(a, backend=backend) for a in arrays]).numpy()


def assert_same(got, want):
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-14, equal_nan=True)
    if got.dtype.kind == "f":  # signed zeros too
        np.testing.assert_array_equal(np.signbit(got[got == 0]), np.signbit(want[want == 0]))


@pytest.mark.parametrize("name", UNARY)
def test_unary_special_values(backend, name):
    assert_same(agrad_result(name, backend, SPECIAL), reference(name, SPECIAL))


@pytest.mark.parametrize("name", BINARY)
def test_binary_special_values(backend, name):
    assert_same(agrad_result(name, backend, *PAIRS), reference(name, *PAIRS))


INTS = np.array([-7, -3, -1, 0, 1, 2, 5, 8], dtype=np.int64)
IA, IB = np.repeat(INTS, INTS.size), np.tile(INTS, INTS.size)


@pytest.mark.parametrize(
    "name, a, b",
    [
        ("floor_divide", IA[IB != 0], IB[IB != 0]),
        ("remainder", IA[IB != 0], IB[IB != 0]),
        ("bitwise_and", IA, IB),
        ("bitwise_xor", IA, IB),
        ("bitwise_left_shift", IA, np.abs(IB)),
        ("bitwise_right_shift", IA, np.abs(IB)),
        ("pow", IA[IB >= 0], IB[IB >= 0]),
    ],
)
def test_integer_semantics(backend, name, a, b):
    got = agrad_result(name, backend, a, b)
    assert_same(got, reference(name, a, b))


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "mean", "std", "var", "argmax"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(backend, name, axis, keepdims):
    x = np.array([[1.5, -2.0, 3.0], [0.0, 4.0, -1.0]])
    if name == "argmax" and isinstance(axis, tuple):
        return  # argmax takes one axis
    got = getattr(ag, name)(ag.asarray(x, backend=backend), axis=axis, keepdims=keepdims)
    want = getattr(xs, name)(xs.asarray(x), axis=axis, keepdims=keepdims)
    assert got.shape == tuple(want.shape)
    assert_same(got.numpy(), np.from_dlpack(want))

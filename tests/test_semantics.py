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


def assert_same(got, want, signed_zeros=True):
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-14, equal_nan=True)
    if got.dtype.kind == "f" and signed_zeros:  # signed zeros too
        np.testing.assert_array_equal(np.signbit(got[got == 0]), np.signbit(want[want == 0]))


@pytest.mark.parametrize("name", UNARY)
def test_unary_special_values(backend, name):
    got, want = agrad_result(name, backend, SPECIAL), reference(name, SPECIAL)
    assert_same(got, want, signed_zeros=name not in ZERO_SIGN_OPEN)


# the standard leaves the sign of some zeros to the library: the order of -0 and +0 in maximum
# and minimum (CuPy and NumPy pick differently), and sign(-0), which it calls 0 (JAX's is -0)
ZERO_SIGN_OPEN = {"maximum", "minimum", "sign"}


def floor_divide_either(got, a, b, want):
    """``want`` (NumPy's floor_divide, Python's values) with the standard's own values where
    ``got`` has them and the standard lets a library choose: for an infinite x1 and a finite
    x2 it says +-infinity, for a finite nonzero x1 and an infinite x2 of the other sign -0,
    noting that libraries may return NaN and -1 there to match Python (CuPy returns its
    values, NumPy Python's)."""
    spec = want.copy()
    inf1 = np.isinf(a) & np.isfinite(b) & (b != 0)
    spec[inf1] = np.where(np.signbit(a[inf1]) == np.signbit(b[inf1]), np.inf, -np.inf)
    spec[np.isfinite(a) & (a != 0) & np.isinf(b) & (np.signbit(a) != np.signbit(b))] = -0.0
    same = (got == spec) & (np.signbit(got) == np.signbit(spec))
    return np.where(same, spec, want)


@pytest.mark.parametrize("name", BINARY)
def test_binary_special_values(backend, name):
    got, want = agrad_result(name, backend, *PAIRS), reference(name, *PAIRS)
    if name == "floor_divide":
        want = floor_divide_either(got, *PAIRS, want)
    assert_same(got, want, signed_zeros=name not in ZERO_SIGN_OPEN)


def test_floor_divide_either_accepts_only_the_standards_choices():
    a, b = PAIRS
    with np.errstate(all="ignore"):
        want = np.floor_divide(a, b)
    spec = floor_divide_either(np.full_like(want, 7.0), a, b, want)
    np.testing.assert_array_equal(spec, want)  # a 7 anywhere is not among the choices
    inf1 = np.isinf(a) & np.isfinite(b) & (b != 0)
    lit = want.copy()
    lit[inf1] = np.inf  # the standard's value only where x1 and x2 share a sign
    expected = want.copy()
    expected[inf1 & (np.signbit(a) == np.signbit(b))] = np.inf
    np.testing.assert_array_equal(floor_divide_either(lit, a, b, want), expected)


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


def test_cupy_remainder_fix_is_the_floored_remainder(monkeypatch):
    # agrad's CuPy remainder, run with NumPy standing in for CuPy (the formula is the same
    # code on either): NumPy's remainder on every special pair, signed zeros included, and for
    # a Python-scalar divisor and float32 too
    import sys

    from agrad._backend import _remainder_floored

    monkeypatch.setitem(sys.modules, "cupy", np)
    a, b = PAIRS
    with np.errstate(all="ignore"):
        assert_same(_remainder_floored(np.remainder, a, b), np.remainder(a, b))
        assert_same(_remainder_floored(np.remainder, a, -2.5), np.remainder(a, -2.5))
        a32 = a.astype(np.float32)
        assert_same(_remainder_floored(np.remainder, a32, 3.0), np.remainder(a32, 3.0))
    ints = _remainder_floored(np.remainder, IA[IB != 0], IB[IB != 0])  # integers: CuPy's own
    assert_same(ints, np.remainder(IA[IB != 0], IB[IB != 0]))

"""Set functions: unique_all, unique_counts, unique_inverse, unique_values and isin.

Forward against NumPy on every backend, the standard's result field names, non-differentiability
(no node, requires_grad False even for inputs that require grad) and the errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a), backend=backend, **kw)


def check(out, expected):
    assert isinstance(out, ag.Tensor)
    assert not out.requires_grad and out._node is None
    assert out.shape == np.shape(expected)
    np.testing.assert_array_equal(out.numpy(), expected)


CASES = [
    np.array([3.0, 1.0, 3.0, 2.0, 1.0, 3.0]),
    np.array([[2.0, -1.0], [2.0, 5.0], [-1.0, 0.5]]),
    np.array([[4, 4], [4, 4]]),
    np.array(7.0),
    np.array([True, False, True]),
    # complex values: torch's unique refuses them, agrad sorts them itself there
    np.array([1 + 2j, 1 + 1j, 1 + 2j, -1 + 0j, 1 + 1j, 2 - 1j]),
    np.array([[0.5 - 1j, 0.5 - 1j], [-2 + 0j, 0.5 + 3j]], dtype=np.complex64),
]


@pytest.mark.parametrize("a", CASES, ids=lambda a: f"{a.dtype}{a.shape}")
def test_unique_family(backend, a):
    x = t(a, backend, requires_grad=a.dtype.kind == "f")
    ref = np.unique_all(a)
    r = ag.unique_all(x)
    assert type(r).__name__ == "UniqueAllResult"
    assert r._fields == ("values", "indices", "inverse_indices", "counts")
    check(r.values, ref.values)
    check(r.indices, ref.indices)
    check(r.inverse_indices, ref.inverse_indices.reshape(a.shape))  # shaped like x
    check(r.counts, ref.counts)
    # the first occurrence, on every backend (torch's is assembled by agrad)
    np.testing.assert_array_equal(a.reshape(-1)[r.indices.numpy()], ref.values)
    c = ag.unique_counts(x)
    assert c._fields == ("values", "counts")
    check(c.values, ref.values)
    check(c.counts, ref.counts)
    i = ag.unique_inverse(x)
    assert i._fields == ("values", "inverse_indices")
    check(i.values, ref.values)
    check(i.inverse_indices, ref.inverse_indices.reshape(a.shape))
    check(ag.unique_values(x), ref.values)
    assert r.values.dtype == x.dtype


@pytest.mark.parametrize(
    "a",
    [
        np.array([1 + 2j, np.nan, 1 + 1j, complex(1, np.nan), 1 + 2j, complex(np.nan, 0), -0.0]),
        np.array([[0j, -0j], [2 + 0j, 0j]]),
        np.array(3 - 1j),
        np.zeros(0, dtype=complex),
        np.array([2.0, np.nan, 1.0, np.nan, 2.0]),
    ],
)
def test_unique_by_sorting_agrees_with_numpy(a):
    # the sort agrad falls back on where a backend refuses a dtype, checked on NumPy itself:
    # NumPy's order (by real part, then imaginary, NaNs last), every NaN a value of its own,
    # -0 equal to 0, the first occurrence of each value
    from agrad.ops.sets import _unique_by_sorting

    values, indices, inverse, counts = _unique_by_sorting(np, a)
    ref = np.unique_all(a)
    np.testing.assert_array_equal(values, ref.values)
    np.testing.assert_array_equal(indices, ref.indices)
    np.testing.assert_array_equal(inverse, ref.inverse_indices.reshape(-1))
    np.testing.assert_array_equal(counts, ref.counts)


def test_unique_values_of_an_empty_tensor(backend):
    check(ag.unique_values(t(np.zeros((0, 3)), backend)), np.zeros(0))


def test_unique_values_carry_no_gradient(backend):
    x = t([2.0, 1.0, 2.0], backend, requires_grad=True)
    v = ag.unique_values(x)
    assert not v.requires_grad
    # the documented way to differentiate: gather through the first-occurrence indices
    y = ag.take(x, ag.unique_all(x).indices)
    ag.sum(y * t([10.0, 100.0], backend)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 10.0, 0.0])


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.array([[1, 5], [3, 9]]), np.array([9, 3, 3])),
        (np.array([0.5, 2.0, np.nan, -1.0]), np.array([[2.0, np.nan], [-1.0, 7.0]])),
        (np.array([True, False]), np.array([True])),
        (np.array([1.0, 2.0]), np.zeros(0)),
        (np.array(4), np.array([4, 5])),
    ],
    ids=["int", "float-nan", "bool", "empty", "0d"],
)
def test_isin(backend, a, b, invert):
    out = ag.isin(t(a, backend), t(b, backend), invert=invert)
    check(out, np.isin(a, b, invert=invert))
    assert out.dtype == ag.bool


def test_isin_scalars_and_mixed_dtypes(backend):
    x = t([[1.0, 2.0], [3.0, 2.0]], backend, requires_grad=True)
    check(ag.isin(x, 2.0), [[False, True], [False, True]])
    check(ag.isin(x, 2, invert=True), [[True, False], [True, False]])
    check(ag.isin(3.0, x), True)
    small = ag.asarray([1, 300], dtype=ag.int16, backend=backend)
    check(ag.isin(small, ag.asarray([44, 300], dtype=ag.int32, backend=backend)), [False, True])
    f32 = ag.asarray([0.5, 0.25], dtype=ag.float32, backend=backend)
    check(ag.isin(f32, t([0.25], backend)), [False, True])


def test_isin_errors(backend):
    x = t([1.0, 2.0], backend)
    with pytest.raises(
        TypeError, match=r"agrad\.isin: cannot compare float64 \(x1, shape \(2,\)\)"
    ):
        ag.isin(x, t([1, 2], backend))
    with pytest.raises(TypeError, match=r"at least one of x1 and x2 must be a tensor"):
        ag.isin(1, 2)
    with pytest.raises(TypeError, match=r"the Python bool True does not combine with float64"):
        ag.isin(x, True)
    with pytest.raises(TypeError, match=r"agrad\.unique_values: expected a tensor, got list"):
        ag.unique_values([1, 2])

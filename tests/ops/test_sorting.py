"""Sorting: argsort (not differentiable) and sort (differentiable composite).

Forward against a Python stable sort (both directions, with ties), first and second derivatives
against finite differences on distinct values, the gradient's closed form, and the errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a), backend=backend, **kw)


def stable_argsort(a, axis, descending):
    """Reference: Python's stable sorted() along ``axis`` (reverse=True keeps ties in order)."""
    moved = np.moveaxis(a, axis, -1)
    out = np.empty(moved.shape, dtype=np.int64)
    for idx in np.ndindex(moved.shape[:-1]):
        row = moved[idx]
        out[idx] = sorted(range(len(row)), key=lambda i: row[i], reverse=descending)
    return np.moveaxis(out, -1, axis)


TIES = np.array([[3.0, 1.0, 3.0, 2.0], [1.0, 1.0, 0.0, 1.0], [5.0, -1.0, 5.0, 5.0]])


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_argsort_and_sort_forward_with_ties(backend, axis, descending):
    x = t(TIES, backend, requires_grad=True)
    idx = ag.argsort(x, axis=axis, descending=descending)
    expected = stable_argsort(TIES, axis, descending)
    assert not idx.requires_grad and idx._node is None
    np.testing.assert_array_equal(idx.numpy(), expected)
    s = ag.sort(x, axis=axis, descending=descending)
    assert s.requires_grad and s.dtype == x.dtype
    np.testing.assert_array_equal(s.numpy(), np.take_along_axis(TIES, expected, axis=axis))


def test_unstable_sort_still_sorts(backend):
    x = t(TIES, backend)
    s = ag.sort(x, stable=False, descending=True).numpy()
    np.testing.assert_array_equal(s, -np.sort(-TIES, axis=-1))
    idx = ag.argsort(x, stable=False).numpy()
    np.testing.assert_array_equal(np.take_along_axis(TIES, idx, axis=-1), np.sort(TIES, axis=-1))


def test_argsort_integers_and_bools(backend):
    a = np.array([4, -2, 7, -2, 0])
    np.testing.assert_array_equal(ag.argsort(t(a, backend)).numpy(), np.argsort(a, kind="stable"))
    np.testing.assert_array_equal(
        ag.sort(t(a, backend), descending=True).numpy(), [7, 4, 0, -2, -2]
    )
    b = np.array([True, False, True])
    np.testing.assert_array_equal(ag.sort(t(b, backend)).numpy(), [False, True, True])


@pytest.mark.parametrize(("shape", "axis"), [((5,), -1), ((3, 4), 0), ((3, 4), 1), ((2, 3, 2), 1)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_derivatives(backend, rng, shape, axis, descending):
    x = t(rng.permutation(np.prod(shape)).reshape(shape) * 0.37 - 1.0, backend)  # distinct
    w = t(rng.normal(size=shape), backend)

    def f(a):
        return ag.sort(a, axis=axis, descending=descending)

    assert gradcheck(f, x)
    assert gradgradcheck(lambda a: f(a) * f(a) * w, x)


def test_sort_gradient_goes_where_each_value_came_from(backend):
    x = t([3.0, 1.0, 2.0], backend, requires_grad=True)
    ag.sum(ag.sort(x, descending=True) * t([1.0, 10.0, 100.0], backend)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 100.0, 10.0])


def test_sort_gradient_at_ties_follows_the_stable_order(backend):
    # tied values: each output position's cotangent goes to the input that sorted there
    x = t([2.0, 1.0, 2.0], backend, requires_grad=True)
    ag.sum(ag.sort(x) * t([1.0, 10.0, 100.0], backend)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 1.0, 100.0])


def test_sorting_errors(backend):
    with pytest.raises(ValueError, match=r"agrad\.sort: needs at least one dimension, got a 0-d"):
        ag.sort(t(1.0, backend))
    with pytest.raises(ValueError, match=r"agrad\.argsort: needs at least one dimension"):
        ag.argsort(t(1.0, backend))
    with pytest.raises(ValueError, match=r"agrad\.argsort: axis 2 is out of range .* 2 dim"):
        ag.argsort(t(TIES, backend), axis=2)
    with pytest.raises(TypeError, match=r"agrad\.sort: axis must be an int, got None"):
        ag.sort(t(TIES, backend), axis=None)


def test_sort_rejects_complex():
    with pytest.raises(TypeError, match=r"agrad\.sort: needs a real-valued tensor, got dtype comp"):
        ag.sort(ag.asarray([1j, 2.0]))

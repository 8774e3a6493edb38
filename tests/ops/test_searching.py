"""Searching: argmax, argmin, nonzero, searchsorted, count_nonzero.

Forward against NumPy on every backend, non-differentiability (no node, requires_grad False on
inputs that require grad) and the error messages.
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


X = np.array([[1.0, 5.0, 5.0], [7.0, -2.0, 7.0]])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(backend, name, axis, keepdims):
    x = t(X, backend, requires_grad=True)
    out = getattr(ag, name)(x, axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(X, axis=axis, keepdims=keepdims)  # ties: the first index
    check(out, expected)
    assert out.dtype.kind == "signed integer"


def test_argmax_zero_d_and_int_input(backend):
    check(ag.argmax(t(3.0, backend)), 0)
    check(ag.argmin(t([4, 2, 2, 9], backend)), 1)


def test_argmax_errors(backend):
    with pytest.raises(ValueError, match=r"agrad\.argmax: the tensor of shape \(0,\) has no"):
        ag.argmax(t(np.zeros(0), backend))
    with pytest.raises(ValueError, match=r"agrad\.argmin: .*shape \(2, 0\).* along axis 1"):
        ag.argmin(t(np.zeros((2, 0)), backend), axis=1)
    with pytest.raises(ValueError, match=r"agrad\.argmax: axis 2 is out of range .* 2 dim"):
        ag.argmax(t(X, backend), axis=2)
    with pytest.raises(ValueError, match=r"agrad\.argmax: axis 0 is out of range for a 0-d"):
        ag.argmax(t(1.0, backend), axis=0)
    with pytest.raises(TypeError, match=r"agrad\.argmax: axis must be an int, got \(0, 1\)"):
        ag.argmax(t(X, backend), axis=(0, 1))


def test_argmax_rejects_complex():
    with pytest.raises(TypeError, match=r"agrad\.argmax: needs a real-valued tensor, got dtype"):
        ag.argmax(ag.asarray([1j, 2.0]))


@pytest.mark.parametrize(
    "a",
    [
        np.array([0.0, 1.5, 0.0, -2.0]),
        np.array([[0, 3], [4, 0], [0, 0]]),
        np.array([[[True, False], [False, True]]]),
        np.zeros((2, 3)),
    ],
)
def test_nonzero(backend, a):
    out = ag.nonzero(t(a, backend, requires_grad=a.dtype.kind == "f"))
    expected = np.nonzero(a)
    assert isinstance(out, tuple) and len(out) == a.ndim
    for o, e in zip(out, expected):
        check(o, e)


def test_nonzero_zero_d(backend):
    with pytest.raises(ValueError, match=r"agrad\.nonzero: needs at least one dimension"):
        ag.nonzero(t(1.0, backend))


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1), ()])
@pytest.mark.parametrize("keepdims", [False, True])
def test_count_nonzero(backend, axis, keepdims):
    a = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    out = ag.count_nonzero(t(a, backend, requires_grad=True), axis=axis, keepdims=keepdims)
    check(out, np.count_nonzero(a, axis=axis, keepdims=keepdims))
    assert out.dtype == ag.__array_namespace_info__(backend=backend).default_dtypes()["integral"]


def test_count_nonzero_bool_and_zero_d(backend):
    check(ag.count_nonzero(t([True, False, True], backend)), 2)
    check(ag.count_nonzero(t(0.0, backend)), 0)
    check(ag.count_nonzero(t(4.0, backend), keepdims=True), 1)
    with pytest.raises(ValueError, match=r"agrad\.count_nonzero: axis 2 is out of range"):
        ag.count_nonzero(t(X, backend), axis=2)


SORTED = np.array([1.0, 2.0, 2.0, 3.5, 7.0])


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("v", [np.array([2.0, 0.0, 8.0, 3.5]), np.array([[1.0, 2.5], [7.0, 2.0]])])
def test_searchsorted(backend, side, v):
    out = ag.searchsorted(t(SORTED, backend, requires_grad=True), t(v, backend), side=side)
    check(out, np.searchsorted(SORTED, v, side=side))


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_sorter_and_scalars(backend, side):
    a = np.array([3.0, 1.0, 2.0, 2.0])
    sorter = np.argsort(a, kind="stable")
    v = np.array([2.0, 0.5, 3.0])
    out = ag.searchsorted(t(a, backend), t(v, backend), side=side, sorter=t(sorter, backend))
    check(out, np.searchsorted(a, v, side=side, sorter=sorter))
    check(ag.searchsorted(t(SORTED, backend), 2.0, side=side), np.searchsorted(SORTED, 2.0, side))
    ints = np.array([1, 4, 4, 9])
    check(ag.searchsorted(t(ints, backend), 4, side=side), np.searchsorted(ints, 4, side=side))


def test_searchsorted_mixed_float_dtypes(backend):
    v = ag.asarray([2.0, 3.0], dtype=ag.float32, backend=backend)
    check(ag.searchsorted(t(SORTED, backend), v), [1, 3])


def test_searchsorted_errors(backend):
    x1 = t(SORTED, backend)
    with pytest.raises(ValueError, match=r"agrad\.searchsorted: x1 must be 1-D, got shape \(1, 5"):
        ag.searchsorted(t(SORTED[None], backend), x1)
    with pytest.raises(ValueError, match=r"side must be 'left' or 'right', got 'middle'"):
        ag.searchsorted(x1, x1, side="middle")
    with pytest.raises(
        TypeError,
        match=r"agrad\.searchsorted: the Array API defines no type promotion between int64 and",
    ):
        ag.searchsorted(t([1, 2], backend), x1)
    with pytest.raises(TypeError, match=r"cannot search for the Python float 1\.5 in an int64"):
        ag.searchsorted(t([1, 2], backend), 1.5)
    with pytest.raises(TypeError, match=r"x2 must be a real-valued tensor .* got bool"):
        ag.searchsorted(x1, True)
    with pytest.raises(TypeError, match=r"agrad\.searchsorted: x1 must have a real numeric dtype"):
        ag.searchsorted(t([True, False], backend), t([True], backend))
    with pytest.raises(TypeError, match=r"sorter must have an integer dtype, got float64"):
        ag.searchsorted(x1, x1, sorter=x1)
    with pytest.raises(ValueError, match=r"sorter \(shape \(2,\)\) must have x1's shape \(5,\)"):
        ag.searchsorted(x1, x1, sorter=t([0, 1], backend))


def test_no_node_is_recorded_and_backward_still_works(backend):
    x = t(X, backend, requires_grad=True)
    i = ag.argmax(x, axis=1)
    assert i._node is None and not i.requires_grad
    # a typical use: pick the maxima through the indices; the gradient flows through the gather
    picked = ag.take_along_axis(x, ag.expand_dims(i, axis=1), axis=1)
    ag.sum(picked).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])

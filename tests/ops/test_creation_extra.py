"""Creation, continued: meshgrid (differentiable w.r.t. its inputs), tril and triu.

Forward against NumPy, first and second derivatives against finite differences, the masked
gradients of tril/triu, and the error messages.
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.ops.creation import meshgrid, tril, triu
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


def _flat(tensors):
    return ag.concat([ag.reshape(u, (-1,)) for u in tensors])


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sizes", [(2, 3), (2, 3, 4), (3,)], ids=["2", "3", "1"])
def test_meshgrid_forward_and_derivatives(backend, rng, indexing, sizes):
    arrays = [rng.normal(size=n) for n in sizes]
    grids = meshgrid(*[t(a, backend) for a in arrays], indexing=indexing)
    expected = np.meshgrid(*arrays, indexing=indexing)
    assert type(grids) is list and len(grids) == len(expected)
    for g, e in zip(grids, expected):
        assert g.shape == e.shape
        np.testing.assert_array_equal(g.numpy(), e)

    def f(*xs):  # weight each grid differently so every input's gradient is distinct
        return _flat([u * float(k + 2) for k, u in enumerate(meshgrid(*xs, indexing=indexing))])

    assert gradcheck(f, *[t(a, backend) for a in arrays])
    assert gradgradcheck(lambda *xs: f(*xs) ** 2, *[t(a, backend) for a in arrays])


def test_meshgrid_gradient_sums_over_the_other_axes(backend):
    x = t([1.0, 2.0, 3.0], backend, requires_grad=True)
    y = t([4.0, 5.0], backend, requires_grad=True)
    gx, gy = meshgrid(x, y)  # "xy": both of shape (2, 3)
    assert gx.shape == gy.shape == (2, 3)
    ag.sum(gx * gy).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [9.0, 9.0, 9.0])
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 6.0])


TRI = [
    ("tril", tril, np.tril),
    ("triu", triu, np.triu),
]


@pytest.mark.parametrize(("op", "ref"), [c[1:] for c in TRI], ids=[c[0] for c in TRI])
@pytest.mark.parametrize("k", [0, 1, -1, 5, -5])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (2, 4, 3)], ids=str)
def test_tril_triu_forward_and_derivatives(backend, rng, op, ref, k, shape):
    x_np = rng.normal(size=shape)
    y = op(t(x_np, backend), k=k)
    np.testing.assert_array_equal(y.numpy(), ref(x_np, k=k))
    assert gradcheck(lambda x: op(x, k=k), t(x_np, backend))
    assert gradgradcheck(lambda x: op(x, k=k) ** 2, t(x_np, backend))


@pytest.mark.parametrize(("op", "ref"), [c[1:] for c in TRI], ids=[c[0] for c in TRI])
def test_tril_triu_gradient_is_the_masked_cotangent(backend, rng, op, ref):
    x = t(rng.normal(size=(2, 3, 4)), backend, requires_grad=True)
    g = rng.normal(size=(2, 3, 4))
    op(x, k=1).backward(t(g, backend))
    np.testing.assert_array_equal(x.grad.numpy(), ref(g, k=1))


@pytest.mark.parametrize("op", [tril, triu])
def test_tril_triu_keep_integer_dtypes(backend, op):
    x = ag.asarray(np.arange(9).reshape(3, 3), backend=backend)
    y = op(x)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(
        y.numpy(), (np.tril if op is tril else np.triu)(np.arange(9).reshape(3, 3))
    )


ERRORS = [
    (
        "meshgrid indexing",
        lambda x: meshgrid(x, x, indexing="xz"),
        ValueError,
        r"agrad\.meshgrid: indexing must be 'xy' or 'ij', got 'xz'",
    ),
    (
        "meshgrid 2-d",
        lambda x: meshgrid(x, ag.reshape(x, (1, 3))),
        ValueError,
        r"agrad\.meshgrid: every input must be 1-D, got shapes \[\(3,\), \(1, 3\)\]",
    ),
    (
        "meshgrid dtypes",
        lambda x: meshgrid(x, ag.astype(x, ag.float32)),
        TypeError,
        r"agrad\.meshgrid: every input must have one dtype, got \['float64', 'float32'\]",
    ),
    (
        "tril 1-d",
        lambda x: tril(x),
        ValueError,
        r"agrad\.tril: needs at least two dimensions, got shape \(3,\)",
    ),
    (
        "triu 1-d",
        lambda x: triu(x),
        ValueError,
        r"agrad\.triu: needs at least two dimensions, got shape \(3,\)",
    ),
    (
        "tril k",
        lambda x: tril(ag.reshape(x, (1, 3)), k=1.0),
        TypeError,
        r"agrad\.tril: k must be an int, got 1\.0",
    ),
]


@pytest.mark.parametrize(
    ("f", "exc", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_the_op_and_the_shapes(backend, f, exc, message):
    with pytest.raises(exc, match=message):
        f(t(np.ones(3), backend))

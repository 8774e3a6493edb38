"""Utility functions: ``diff`` (differentiable in x, prepend and append).

Forward against NumPy, first and second derivatives against finite differences, the VJP as the
exact adjoint (diff is linear), and the error messages. (``all``/``any`` are tested with the
comparisons.)
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.ops.utility import diff
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


# (name, kwargs, x shape, prepend shape, append shape)
CASES = [
    ("1-d", {}, (5,), None, None),
    ("n=2", {"n": 2}, (5,), None, None),
    ("n=0", {"n": 0}, (2, 3), None, None),
    ("axis 0", {"axis": 0}, (4, 3), None, None),
    ("axis 1 n=3", {"axis": 1, "n": 3}, (2, 5, 2), None, None),
    ("n past length", {"n": 6}, (2, 4), None, None),
    ("prepend", {}, (2, 4), (2, 1), None),
    ("append", {"axis": 0}, (2, 3), None, (3, 3)),
    ("both n=2", {"n": 2, "axis": -2}, (3, 2), (1, 2), (2, 2)),
    ("empty prepend", {}, (2, 3), (2, 0), None),
]


def _call(kw, has_pre, has_app):
    def f(x, *extra):
        extra = list(extra)
        pre = extra.pop(0) if has_pre else None
        app = extra.pop(0) if has_app else None
        return diff(x, prepend=pre, append=app, **kw)

    return f


@pytest.mark.parametrize(
    ("kw", "shape", "pre", "app"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_diff_forward_and_derivatives(backend, rng, kw, shape, pre, app):
    arrays = [rng.normal(size=s) for s in (shape, pre, app) if s is not None]
    f = _call(kw, pre is not None, app is not None)
    y = f(*[t(a, backend) for a in arrays])
    np_kw = dict(kw)
    if pre is not None:
        np_kw["prepend"] = arrays[1]
    if app is not None:
        np_kw["append"] = arrays[-1]
    expected = np.diff(arrays[0], **np_kw)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-13, atol=1e-13)
    assert gradcheck(f, *[t(a, backend) for a in arrays])
    assert gradgradcheck(lambda *xs: f(*xs) ** 2, *[t(a, backend) for a in arrays])
    # linear: the VJP is the exact adjoint
    y, vjp_fn = ag.vjp(f, *[t(a, backend) for a in arrays])
    u = rng.normal(size=y.shape)
    grads = vjp_fn(t(u, backend))
    rhs = sum(np.sum(g.numpy() * a) for g, a in zip(grads, arrays))
    np.testing.assert_allclose(np.sum(y.numpy() * u), rhs, rtol=1e-12, atol=1e-12)


def test_diff_gradient_values(backend):
    x = t([1.0, 4.0, 9.0, 16.0], backend, requires_grad=True)
    p = t([0.5], backend, requires_grad=True)
    ag.sum(diff(x, prepend=p) * t([1.0, 2.0, 3.0, 4.0], backend)).backward()
    # out = [x0 - p, x1 - x0, x2 - x1, x3 - x2]
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, -1.0, -1.0, 4.0])
    np.testing.assert_array_equal(p.grad.numpy(), [-1.0])


ERRORS = [
    ("0-d", lambda x: diff(x[0, 0]), r"agrad\.diff: needs at least one dimension, got a 0-d"),
    ("n negative", lambda x: diff(x, n=-1), r"agrad\.diff: n must be a non-negative int, got -1"),
    (
        "axis",
        lambda x: diff(x, axis=2),
        r"agrad\.diff: axis 2 is out of range for a tensor with 2 dimensions",
    ),
    (
        "prepend shape",
        lambda x: diff(x, prepend=x[:1]),
        r"agrad\.diff: prepend of shape \(1, 3\) must match x of shape \(2, 3\) except along "
        r"axis 1",
    ),
    (
        "append ndim",
        lambda x: diff(x, axis=0, append=x[0]),
        r"agrad\.diff: append of shape \(3,\) must match x of shape \(2, 3\) except along axis 0",
    ),
]


@pytest.mark.parametrize(("f", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_op_and_the_shapes(backend, f, message):
    with pytest.raises(ValueError, match=message):
        f(t(np.ones((2, 3)), backend))


def test_diff_is_exported_from_the_module():
    from agrad.ops import utility

    assert "diff" in utility.__all__

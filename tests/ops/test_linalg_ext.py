"""The linalg extension (ag.linalg): forward against numpy.linalg, first and second derivatives
against finite differences, closed-form gradients, kinks, gauge-invariant functions of the
decompositions, several-output ops on the tape, and the error messages.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import agrad as ag
from agrad.testing import gradcheck, gradgradcheck

la = ag.linalg
INF = math.inf


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


def spd(rng, shape):
    """A well-conditioned symmetric positive-definite matrix (stack) with distinct
    eigenvalues."""
    n = shape[-1]
    m = rng.normal(size=shape)
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n) + np.diag(np.arange(n) * 0.7)


def well(rng, shape):
    """A well-conditioned (diagonally dominant) square matrix (stack)."""
    return rng.normal(size=shape) + shape[-1] * np.eye(shape[-1])


def _normal(rng, shape):
    return rng.normal(size=shape)


def sym(a):
    return (a + a.mT) * 0.5


def check_grads(f, arrays, backend, second=True):
    assert gradcheck(f, *[t(a, backend) for a in arrays])
    if second:
        assert gradgradcheck(f, *[t(a, backend) for a in arrays])


# ---- forward against numpy.linalg ----------------------------------------------------------
FORWARD = [
    ("det", la.det, np.linalg.det, [(3, 3)], well),
    ("det batch", la.det, np.linalg.det, [(2, 3, 3)], well),
    ("inv", la.inv, np.linalg.inv, [(2, 3, 3)], well),
    ("cholesky", la.cholesky, np.linalg.cholesky, [(2, 3, 3)], spd),
    (
        "cholesky upper",
        lambda a: la.cholesky(a, upper=True),
        lambda a: np.swapaxes(np.linalg.cholesky(a), -1, -2),
        [(3, 3)],
        spd,
    ),
    ("eigvalsh", la.eigvalsh, np.linalg.eigvalsh, [(2, 3, 3)], spd),
    ("svdvals", la.svdvals, lambda a: np.linalg.svd(a, compute_uv=False), [(2, 4, 3)], None),
    ("pinv", la.pinv, np.linalg.pinv, [(2, 4, 3)], None),
    (
        "matrix_power 3",
        lambda a: la.matrix_power(a, 3),
        lambda a: np.linalg.matrix_power(a, 3),
        [(2, 3, 3)],
        None,
    ),
    (
        "matrix_power -2",
        lambda a: la.matrix_power(a, -2),
        lambda a: np.linalg.matrix_power(a, -2),
        [(3, 3)],
        well,
    ),
    (
        "matrix_power 0",
        lambda a: la.matrix_power(a, 0),
        lambda a: np.linalg.matrix_power(a, 0),
        [(2, 3, 3)],
        None,
    ),
    ("trace", la.trace, lambda a: np.trace(a, axis1=-2, axis2=-1), [(2, 3, 4)], None),
    (
        "trace offset",
        lambda a: la.trace(a, offset=-1),
        lambda a: np.trace(a, offset=-1, axis1=-2, axis2=-1),
        [(3, 4)],
        None,
    ),
    ("diagonal", la.diagonal, lambda a: np.diagonal(a, axis1=-2, axis2=-1), [(2, 3, 4)], None),
    (
        "diagonal +2",
        lambda a: la.diagonal(a, offset=2),
        lambda a: np.diagonal(a, offset=2, axis1=-2, axis2=-1),
        [(3, 4)],
        None,
    ),
    (
        "diagonal -1",
        lambda a: la.diagonal(a, offset=-1),
        lambda a: np.diagonal(a, offset=-1, axis1=-2, axis2=-1),
        [(2, 4, 3)],
        None,
    ),
    ("outer", la.outer, np.outer, [(3,), (4,)], None),
    ("cross", la.cross, np.cross, [(2, 3), (3,)], None),
    (
        "cross axis",
        lambda a, b: la.cross(a, b, axis=-2),
        lambda a, b: np.cross(a, b, axis=-2),
        [(4, 3, 2), (3, 1)],
        None,
    ),
    ("solve vector", la.solve, np.linalg.solve, [(3, 3), (3,)], well),
    ("solve matrix", la.solve, np.linalg.solve, [(2, 3, 3), (3, 2)], well),
    ("solve broadcast", la.solve, np.linalg.solve, [(1, 3, 3), (2, 3, 1)], well),
    ("vector_norm", la.vector_norm, np.linalg.norm, [(2, 3)], None),
    (
        "matrix_norm fro",
        la.matrix_norm,
        lambda a: np.linalg.norm(a, axis=(-2, -1)),
        [(2, 3, 4)],
        None,
    ),
]


@pytest.mark.parametrize(
    ("f", "ref", "shapes", "make"), [p[1:] for p in FORWARD], ids=[p[0] for p in FORWARD]
)
def test_forward_and_derivatives(backend, rng, f, ref, shapes, make):
    # ``make`` draws the first (matrix) argument; the others are plain normal draws
    arrays = [(make or _normal)(rng, shapes[0])] + [rng.normal(size=s) for s in shapes[1:]]
    if make is spd:  # the decomposition reads one triangle: differentiate a symmetric input
        g = lambda *xs: f(*[sym(x) for x in xs])  # noqa: E731
    else:
        g = f
    y = f(*[t(a, backend) for a in arrays])
    expected = ref(*arrays)
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-12)
    check_grads(g, arrays, backend)


def test_forward_of_the_decompositions(backend, rng):
    a = spd(rng, (2, 3, 3))
    w, v = la.eigh(t(a, backend))
    np.testing.assert_allclose(w.numpy(), np.linalg.eigvalsh(a), rtol=1e-12)
    np.testing.assert_allclose(np.abs(v.numpy()), np.abs(np.linalg.eigh(a)[1]), atol=1e-12)
    b = rng.normal(size=(2, 4, 3))
    u, s, vh = la.svd(t(b, backend), full_matrices=False)
    assert (u.shape, s.shape, vh.shape) == ((2, 4, 3), (2, 3), (2, 3, 3))
    np.testing.assert_allclose(((u * s[..., None, :]) @ vh).numpy(), b, atol=1e-12)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(b, compute_uv=False), rtol=1e-12)
    assert la.svd(t(b, backend)).U.shape == (2, 4, 4)  # full_matrices=True by default
    q, r = la.qr(t(b, backend))
    assert (q.shape, r.shape) == ((2, 4, 3), (2, 3, 3))
    np.testing.assert_allclose((q @ r).numpy(), b, atol=1e-12)
    np.testing.assert_allclose(np.abs(r.numpy()), np.abs(np.linalg.qr(b)[1]), atol=1e-12)
    assert la.qr(t(b, backend), mode="complete").Q.shape == (2, 4, 4)
    sign, logabs = la.slogdet(t(a - 4.0 * np.eye(3), backend))
    ref = np.linalg.slogdet(a - 4.0 * np.eye(3))
    np.testing.assert_allclose(sign.numpy(), ref[0])
    np.testing.assert_allclose(logabs.numpy(), ref[1], rtol=1e-12)


def test_matrix_rank_is_a_non_differentiable_count(backend, rng):
    b = rng.normal(size=(3, 2))
    low = np.stack([b @ b.T, np.eye(3)])  # ranks 2 and 3
    x = t(low, backend, requires_grad=True)
    r = la.matrix_rank(x)
    assert r.numpy().tolist() == [2, 3]
    assert not r.requires_grad and r.dtype.kind == "signed integer"
    assert (
        la.matrix_rank(x, rtol=0.5).numpy().tolist()
        == np.linalg.matrix_rank(low, rtol=0.5).tolist()
    )


# ---- gradients of the decompositions (gauge-invariant functions) ---------------------------
def c_weights(n, backend):
    return t(np.arange(1.0, n + 1.0), backend)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_eigh_gradients(backend, rng, shape):
    a = spd(rng, shape)
    c = c_weights(shape[-1], backend)
    check_grads(lambda x: la.eigh(sym(x)).eigenvalues ** 2, [a], backend)
    # (V * V) @ c is invariant to flipping any eigenvector's sign
    check_grads(lambda x: (la.eigh(sym(x)).eigenvectors ** 2) @ c, [a], backend)
    check_grads(
        lambda x: ag.sum(la.eigh(sym(x)).eigenvectors ** 4) + ag.sum(la.eigvalsh(x)), [a], backend
    )


def test_eigh_gradient_closed_form_and_symmetric(backend, rng):
    a = spd(rng, (4, 4))
    x = t(a, backend, requires_grad=True)
    ag.sum(la.eigvalsh(x) ** 2).backward()  # sum(w^2) = ||A||_F^2 for symmetric A
    np.testing.assert_allclose(x.grad.numpy(), 2 * a, rtol=1e-10)
    x.grad = None
    ag.sum(la.eigh(x).eigenvectors[..., 0, :] ** 2 * c_weights(4, backend)).backward()
    np.testing.assert_allclose(x.grad.numpy(), x.grad.numpy().T, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 2), (2, 2), (2, 3), (2, 3, 2), (2, 2, 4)])
def test_svd_gradients(backend, rng, shape):
    a = rng.normal(size=shape)
    c = c_weights(min(shape[-2:]), backend)
    check_grads(la.svdvals, [a], backend)
    check_grads(lambda x: (la.svd(x, full_matrices=False).U ** 2) @ c, [a], backend)
    check_grads(lambda x: c @ la.svd(x, full_matrices=False).Vh ** 2, [a], backend)
    check_grads(lambda x: la.matrix_norm(x, ord="nuc"), [a], backend, second=False)


def test_svd_gradient_closed_form(backend, rng):
    a = rng.normal(size=(4, 3))
    x = t(a, backend, requires_grad=True)
    ag.sum(la.svdvals(x)).backward()  # d sum(s) = tr(U^T dA V)  =>  U V^T
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(x.grad.numpy(), u @ vh, rtol=1e-10)


@pytest.mark.parametrize("shape", [(3, 2), (3, 3), (2, 4), (2, 3, 2), (2, 2, 3)])
def test_qr_gradients(backend, rng, shape):
    a = rng.normal(size=shape) + np.eye(*shape[-2:])
    c = c_weights(min(shape[-2:]), backend)
    # flipping the sign of Q's column k flips R's row k: squares are gauge invariant
    check_grads(lambda x: la.qr(x).R ** 2, [a], backend)
    check_grads(lambda x: (la.qr(x).Q ** 2) @ c, [a], backend)


def test_qr_complete_square_or_wide_is_differentiable(backend, rng):
    a = rng.normal(size=(2, 3)) + np.eye(2, 3)
    check_grads(lambda x: la.qr(x, mode="complete").R ** 2, [a], backend, second=False)


def test_cholesky_gradients(backend, rng):
    a = spd(rng, (2, 3, 3))
    check_grads(lambda x: la.cholesky(sym(x)), [a], backend)
    check_grads(lambda x: la.cholesky(sym(x), upper=True), [a], backend)
    x = t(a[0], backend, requires_grad=True)
    ag.sum(la.cholesky(x) * c_weights(3, backend)).backward()
    np.testing.assert_allclose(x.grad.numpy(), x.grad.numpy().T, atol=1e-12)


# ---- inverses, determinants, solve ---------------------------------------------------------
def test_inv_det_slogdet_closed_forms(backend, rng):
    a = well(rng, (2, 3, 3))
    ai_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    x = t(a, backend, requires_grad=True)
    ag.sum(la.det(x)).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.linalg.det(a)[:, None, None] * ai_t, rtol=1e-10)
    x.grad = None
    ag.sum(la.slogdet(x).logabsdet).backward()
    np.testing.assert_allclose(x.grad.numpy(), ai_t, rtol=1e-10)
    x.grad = None
    g = rng.normal(size=(2, 3, 3))
    la.inv(x).backward(t(g, backend))
    np.testing.assert_allclose(x.grad.numpy(), -ai_t @ g @ ai_t, rtol=1e-10)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_inv_det_slogdet_gradients(backend, rng, shape):
    a = well(rng, shape)
    check_grads(la.inv, [a], backend)
    check_grads(la.det, [a], backend)
    check_grads(lambda x: la.slogdet(x).logabsdet, [a - 3.5 * np.eye(shape[-1])], backend)


@pytest.mark.parametrize(
    ("sa", "sb"), [((3, 3), (3,)), ((2, 3, 3), (3,)), ((3, 3), (2, 3, 2)), ((2, 1, 3, 3), (3, 1))]
)
def test_solve_gradients(backend, rng, sa, sb):
    check_grads(la.solve, [well(rng, sa), rng.normal(size=sb)], backend)


@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (2, 3, 2)])
def test_pinv_gradients(backend, rng, shape):
    check_grads(la.pinv, [rng.normal(size=shape)], backend)


@pytest.mark.parametrize("n", [-2, -1, 2, 3, 5])
def test_matrix_power_gradients(backend, rng, n):
    check_grads(lambda x: la.matrix_power(x, n), [well(rng, (3, 3)) * 0.5], backend, second=False)


def test_matrix_power_zero_has_zero_gradient(backend, rng):
    x = t(rng.normal(size=(2, 2)), backend, requires_grad=True)
    ag.sum(la.matrix_power(x, 0)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 2)))


def test_linear_ops_gradients(backend, rng):
    check_grads(la.outer, [rng.normal(size=3), rng.normal(size=2)], backend)
    check_grads(lambda a: la.trace(a, offset=1), [rng.normal(size=(2, 3, 4))], backend)
    check_grads(
        lambda a, b: la.cross(a, b, axis=0),
        [rng.normal(size=(3, 2)), rng.normal(size=(3, 2))],
        backend,
    )


# ---- several outputs on the tape -----------------------------------------------------------
def test_several_outputs_unused_and_reused(backend, rng):
    a = well(rng, (3, 3)) - 3.5 * np.eye(3)
    x = t(a, backend, requires_grad=True)
    ag.sum(la.slogdet(x).sign).backward()  # only the sign: a None cotangent for logabsdet
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 3)))
    x.grad = None
    s, logabs = la.slogdet(x)
    (logabs * s + logabs + s * 2.0).backward()  # both outputs, logabsdet twice
    ai_t = np.linalg.inv(a).T
    np.testing.assert_allclose(x.grad.numpy(), (np.linalg.slogdet(a)[0] + 1) * ai_t, rtol=1e-10)
    # second derivatives with one output (the eigenvectors) unused, through create_graph:
    # sum(eigvalsh(sym(Y))^2) = |sym(Y)|_F^2 has gradient 2 sym(Y) and Hessian D -> 2 sym(D)
    d = rng.normal(size=(3, 3))
    _, hvp = ag.vjp(ag.grad(lambda y: ag.sum(la.eigvalsh(sym(y)) ** 2)), t(a, backend))
    (hd,) = hvp(t(d, backend))
    np.testing.assert_allclose(hd.numpy(), d + d.T, rtol=1e-8, atol=1e-10)


def test_ag_grad_through_one_output_of_several(backend, rng):
    a = spd(rng, (3, 3))
    # d/dA sum(w^2) = 2 A (for symmetric A), no matter which other output exists
    grad = ag.grad(lambda y: ag.sum(la.eigh(y)[0] ** 2))(t(a, backend))
    np.testing.assert_allclose(grad.numpy(), 2 * a, rtol=1e-10)
    grad = ag.grad(lambda y: ag.sum(la.svd(y)[1] ** 2))(t(a, backend))
    np.testing.assert_allclose(grad.numpy(), 2 * a, rtol=1e-10)


# ---- norms ---------------------------------------------------------------------------------
VECTOR_NORMS = [
    (2, None, False),
    (2, -1, True),
    (1, 0, False),
    (INF, -1, False),
    (-INF, (0, 2), True),
    (3, -1, False),
    (0.5, None, False),
    (-1, 1, False),
]


@pytest.mark.parametrize(("ord", "axis", "keepdims"), VECTOR_NORMS)
def test_vector_norm(backend, rng, ord, axis, keepdims):
    a = rng.uniform(0.5, 2.0, size=(2, 3, 2)) * rng.choice([-1.0, 1.0], size=(2, 3, 2))
    a = a + np.arange(12).reshape(2, 3, 2) * 0.05  # no ties for the inf norms
    f = lambda x: la.vector_norm(x, ord=ord, axis=axis, keepdims=keepdims)  # noqa: E731
    y = f(t(a, backend))
    ref_axis = axis if axis is not None else (0, 1, 2)
    flat = np.moveaxis(a, ref_axis, tuple(range(-len(np.atleast_1d(ref_axis)), 0)))
    flat = flat.reshape(flat.shape[: a.ndim - len(np.atleast_1d(ref_axis))] + (-1,))
    ref = np.linalg.norm(flat, ord=ord, axis=-1)
    if keepdims:
        ref = np.expand_dims(ref, tuple(np.atleast_1d(ref_axis)))
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12)
    check_grads(f, [a], backend)


@pytest.mark.parametrize(("ord", "expected"), [(2, 0.0), (1, 0.0), (INF, 0.0), (3, 0.0)])
def test_vector_norm_subgradient_at_zero_is_zero(backend, ord, expected):
    x = t(np.zeros((2, 3)), backend, requires_grad=True)
    ag.sum(la.vector_norm(x, ord=ord, axis=-1)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), expected))
    x.grad = None
    ag.sum(la.matrix_norm(x[None])).backward()  # 'fro' at the zero matrix
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))


def test_vector_norm_kinks(backend):
    x = t([3.0, -3.0, 1.0, 0.0], backend, requires_grad=True)
    la.vector_norm(x, ord=INF).backward()  # two tied maxima share the gradient
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, -0.5, 0.0, 0.0])
    x.grad = None
    la.vector_norm(x, ord=1).backward()  # sign(x): 0 at 0
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, -1.0, 1.0, 0.0])
    x.grad = None
    y = la.vector_norm(x, ord=0)  # a count of nonzeros
    assert float(y.numpy()) == 3.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))


@pytest.mark.parametrize("ord", ["fro", 1, -1, INF, -INF, 2, -2, "nuc"])
def test_matrix_norm(backend, rng, ord):
    a = rng.normal(size=(2, 3, 4))
    f = lambda x: la.matrix_norm(x, ord=ord)  # noqa: E731
    np.testing.assert_allclose(
        f(t(a, backend)).numpy(), np.linalg.norm(a, ord=ord, axis=(-2, -1)), rtol=1e-12
    )
    assert la.matrix_norm(t(a, backend), ord=ord, keepdims=True).shape == (2, 1, 1)
    check_grads(f, [a], backend, second=ord == "fro")


# ---- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("f", "shapes", "exc", "message"),
    [
        (la.inv, [(2, 3)], ValueError, r"agrad\.linalg\.inv: needs a square .* \(2, 3\)"),
        (la.det, [(3,)], ValueError, r"agrad\.linalg\.det: needs a matrix .* \(3,\)"),
        (la.cholesky, [(2, 2, 3)], ValueError, r"linalg\.cholesky: needs a square.*\(2, 2, 3\)"),
        (la.eigh, [(3, 2)], ValueError, r"agrad\.linalg\.eigh: needs a square"),
        (
            la.solve,
            [(3, 3), (2,)],
            ValueError,
            r"agrad\.linalg\.solve: cannot solve with shapes \(3, 3\) and \(2,\)",
        ),
        (
            la.solve,
            [(2, 3, 3), (3, 3, 1)],
            ValueError,
            r"agrad\.linalg\.solve: cannot solve with shapes \(2, 3, 3\) and \(3, 3, 1\)",
        ),
        (la.solve, [(3, 3), (2, 3)], ValueError, r"x2 must have shape \(3,\) or \(\.\.\., 3, K\)"),
        (la.outer, [(3, 1), (2,)], ValueError, r"agrad\.linalg\.outer: needs two 1-D .*\(3, 1\)"),
        (la.cross, [(2,), (2,)], ValueError, r"agrad\.linalg\.cross: axis -1 must have length 3"),
        (
            lambda a, b: la.cross(a, b, axis=-3),
            [(2, 3), (2, 3)],
            ValueError,
            r"agrad\.linalg\.cross: axis -3 is out of range",
        ),
        (la.cross, [(2, 3), (4, 3)], ValueError, r"agrad\.linalg\.cross: shapes .* broadcast"),
        (lambda a: la.matrix_power(a, 1.5), [(2, 2)], TypeError, r"n must be an int"),
        (
            lambda a: la.matrix_norm(a, ord=3),
            [(2, 2)],
            ValueError,
            r"agrad\.linalg\.matrix_norm: ord must be",
        ),
        (
            lambda a: la.vector_norm(a, ord="fro"),
            [(2, 2)],
            ValueError,
            r"agrad\.linalg\.vector_norm: ord must be a number",
        ),
        (lambda a: la.vector_norm(a, axis=2), [(2, 2)], ValueError, r"axis 2 is out of range"),
        (lambda a: la.qr(a, mode="r"), [(2, 2)], ValueError, r"mode must be 'reduced' or"),
        (lambda a: la.diagonal(a, offset=0.5), [(2, 2)], TypeError, r"offset must be an int"),
    ],
)
def test_errors(backend, f, shapes, exc, message):
    with pytest.raises(exc, match=message):
        f(*[t(np.ones(s), backend) for s in shapes])


def test_dtype_errors(backend):
    with pytest.raises(TypeError, match=r"agrad\.linalg\.inv: expected a floating-point tensor"):
        la.inv(ag.asarray([[1, 2], [3, 4]], backend=backend))
    z = ag.asarray(np.eye(2) * (1 + 1j), backend=backend)
    assert la.trace(z).numpy() == 2 + 2j  # the linear ops accept complex
    x = ag.asarray(np.eye(3), backend=backend)
    assert la.trace(x, dtype=ag.float32).dtype == ag.float32


def test_integer_and_bool_inputs_where_the_standard_takes_them(backend):
    # trace, outer and cross take numeric dtypes, diagonal any: integers stay integers (trace
    # sums like ag.sum: int32 to the default int64), bools are refused where numbers are needed
    a = np.arange(12).reshape(3, 4).astype(np.int32)
    v, w = np.array([1, -2, 3]), np.array([4, 0, -1])
    x = ag.asarray(a, backend=backend)
    tr = la.trace(x, offset=1)
    assert tr.dtype == ag.int64 and int(tr) == np.trace(a, offset=1)
    assert la.trace(x, dtype=ag.int32).dtype == ag.int32
    d = la.diagonal(x)
    assert d.dtype == ag.int32
    np.testing.assert_array_equal(d.numpy(), np.diagonal(a))
    np.testing.assert_array_equal(la.diagonal(x > 4, offset=-1).numpy(), np.diagonal(a > 4, -1))
    vi, wi = ag.asarray(v, backend=backend), ag.asarray(w, backend=backend)
    o = la.outer(vi, wi)
    assert o.dtype == ag.int64
    np.testing.assert_array_equal(o.numpy(), np.outer(v, w))
    c = la.cross(vi, wi)
    assert c.dtype == ag.int64
    np.testing.assert_array_equal(c.numpy(), np.cross(v, w))
    for f in (la.trace, lambda b: la.outer(b[0], b[1])):
        with pytest.raises(TypeError, match=r"agrad\.linalg\.(trace|outer): expected a numeric "):
            f(x > 4)
    with pytest.raises(TypeError, match=r"agrad\.linalg\.cross: expected a numeric tensor, got"):
        la.cross(vi > 0, wi > 0)


def test_gradient_of_non_square_svd_needs_reduced_matrices(backend, rng):
    x = t(rng.normal(size=(3, 2)), backend, requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"agrad\.linalg\.svd: .*full_matrices=False"):
        ag.sum(la.svd(x).U).backward()
    with pytest.raises(NotImplementedError, match=r"agrad\.linalg\.qr: .*mode='complete'"):
        ag.sum(la.qr(x, mode="complete").Q).backward()


def test_linalg_stays_on_a_non_default_device(rng):
    import array_api_strict

    dev = array_api_strict.Device("device1")
    a = ag.asarray(spd(rng, (3, 3)), backend="array_api_strict", device=dev, requires_grad=True)
    y = (
        ag.sum(la.eigvalsh(a) ** 2)
        + ag.sum(la.cholesky(a))
        + la.trace(la.inv(a))
        + ag.sum(la.svdvals(a))
        + ag.sum(la.qr(a).R ** 2)
        + la.vector_norm(la.diagonal(a, offset=1))
    )
    y.backward()
    assert y.device == dev and a.grad.device == dev


def test_complex_matrices_run_forward_and_refuse_gradients_by_name(backend, rng):
    # the standard's linalg takes complex dtypes: the backends' routines run them; the VJPs,
    # written for real matrices, raise at backward naming the op (never a wrong gradient)
    a = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    h = a @ a.conj().T + 3 * np.eye(3)  # Hermitian positive definite
    b = rng.normal(size=3) + 1j
    x, p, v = (ag.asarray(m, backend=backend) for m in (a, h, b))
    cases = [
        (la.inv(x), np.linalg.inv(a)),
        (la.det(x), np.linalg.det(a)),
        (la.slogdet(x).sign, np.linalg.slogdet(a)[0]),
        (la.slogdet(x).logabsdet, np.linalg.slogdet(a)[1]),
        (la.solve(x, v), np.linalg.solve(a, b)),
        (la.cholesky(p), np.linalg.cholesky(h)),
        (la.eigvalsh(p), np.linalg.eigvalsh(h)),
        (la.svdvals(x), np.linalg.svd(a, compute_uv=False)),
        (la.pinv(x), np.linalg.pinv(a)),
        (la.matrix_power(x, -2), np.linalg.matrix_power(a, -2)),
        (la.matrix_norm(x, ord="nuc"), np.linalg.norm(a, "nuc")),
        (la.matrix_norm(x, ord=1), np.linalg.norm(a, 1)),
        (la.vector_norm(x, ord=3), np.sum(np.abs(a) ** 3) ** (1 / 3)),
        (ag.abs(la.qr(x).R), np.abs(np.linalg.qr(a)[1])),
        (la.cross(v, v * 2j + 1), np.cross(b, b * 2j + 1)),
    ]
    for got, want in cases:
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    assert int(la.matrix_rank(x)) == 3
    xg = ag.asarray(a, backend=backend, requires_grad=True)
    for name, f in (("inv", la.inv), ("det", la.det), ("pinv", la.pinv)):
        with pytest.raises(NotImplementedError, match=rf"op '{name}' with respect to complex"):
            ag.sum(ag.real(f(xg))).backward()
    # where an output stays real (no complex cotangent to stop the tape), at the call
    pg = ag.asarray(h, backend=backend, requires_grad=True)
    for name, f in (
        ("svd", la.svdvals),
        ("vector_norm", la.vector_norm),
        ("vector_norm", la.matrix_norm),
        ("slogdet", lambda t: la.slogdet(t).logabsdet),
        ("eigh", la.eigvalsh),
    ):
        with pytest.raises(
            NotImplementedError,
            match=rf"agrad: gradients of op '{name}' with respect to complex values are not "
            r"implemented, and its outputs need not be complex, so it is refused when recorded; "
            r"for its value, call it on x\.detach\(\)",
        ):
            f(pg)
        with ag.no_grad():
            np.testing.assert_allclose(f(pg).numpy(), f(pg.detach()).numpy())


def test_rtol_per_matrix_for_pinv_and_matrix_rank(backend, rng):
    # the standard's rtol may be an array broadcasting to the stack of matrices
    a = rng.normal(size=(2, 3, 3))
    a[0, :, 2] = a[0, :, 1] + 1e-3 * a[0, :, 0]  # nearly rank 2: its smallest singular value
    r = np.array([1e-2, 1e-8])  # counts as zero for the first matrix, not the second
    x, rt = ag.asarray(a, backend=backend), ag.asarray(r, backend=backend)
    np.testing.assert_array_equal(la.matrix_rank(x, rtol=rt).numpy(), [2, 3])
    np.testing.assert_allclose(la.pinv(x, rtol=rt).numpy(), np.linalg.pinv(a, rtol=r), rtol=1e-10)
    one = ag.asarray([0.5], backend=backend)  # (1,) broadcasts to (2,)
    want = np.linalg.matrix_rank(a, rtol=0.5)
    np.testing.assert_array_equal(la.matrix_rank(x, rtol=one).numpy(), want)
    assert (want < 3).all()  # (the tolerance is large enough to matter for both)
    well = ag.asarray(rng.normal(size=(2, 3, 3)) + 3 * np.eye(3), backend=backend)
    assert gradcheck(lambda t: la.pinv(t, rtol=ag.asarray([1e-8], backend=backend)), well)
    for bad, error, message in (
        (ag.asarray([1e-3] * 3, backend=backend), ValueError, r"rtol of shape \(3,\) does not "),
        (ag.asarray([1, 2], backend=backend), TypeError, r"an rtol tensor must be real floating"),
        ("1e-3", TypeError, r"rtol must be None, a Python float or a real floating tensor"),
    ):
        with pytest.raises(error, match=rf"agrad\.linalg\.pinv: {message}"):
            la.pinv(x, rtol=bad)

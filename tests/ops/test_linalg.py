"""Linear algebra: matmul (``@``), tensordot, vecdot, matrix_transpose (``.mT``, ``.T``).

Forward against NumPy, first and second derivatives against finite differences, gradients and
Hessians against closed forms, and the error messages.
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


def check(f, ref, arrays, backend):
    """Forward of ``f`` against ``ref`` on NumPy arrays, then gradcheck and gradgradcheck."""
    y = f(*[t(a, backend) for a in arrays])
    expected = ref(*arrays)
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(f, *[t(a, backend) for a in arrays])
    assert gradgradcheck(f, *[t(a, backend) for a in arrays])


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast both ways
    ((3,), (2, 3, 2)),
    ((2, 2, 3), (3,)),
    ((1, 2, 3), (2, 3, 1)),
]


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES)
def test_matmul(backend, rng, sa, sb):
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    check(ag.matmul, np.matmul, [a, b], backend)
    np.testing.assert_allclose((t(a, backend) @ t(b, backend)).numpy(), a @ b, rtol=1e-12)


@pytest.mark.parametrize(("sa", "sb"), [((2, 3), (3, 4)), ((4, 2, 3), (4, 3, 2))])
def test_matmul_gradient_closed_form(backend, rng, sa, sb):
    a_np, b_np = rng.normal(size=sa), rng.normal(size=sb)
    g = rng.normal(size=np.matmul(a_np, b_np).shape)
    a, b = t(a_np, backend, requires_grad=True), t(b_np, backend, requires_grad=True)
    (a @ b).backward(t(g, backend))
    np.testing.assert_allclose(a.grad.numpy(), g @ np.swapaxes(b_np, -1, -2), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), np.swapaxes(a_np, -1, -2) @ g, rtol=1e-12)


def test_matmul_gradient_sums_over_broadcast_batch(backend, rng):
    a_np, b_np = rng.normal(size=(3, 2, 4)), rng.normal(size=(4, 5))
    a, b = t(a_np, backend, requires_grad=True), t(b_np, backend, requires_grad=True)
    ag.sum(a @ b).backward()
    np.testing.assert_allclose(b.grad.numpy(), np.sum(a_np, axis=(0, 1))[:, None] * np.ones(5))
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b_np.sum(axis=1), (3, 2, 4)))


def test_second_derivative_through_matmul(backend, rng):
    # f(x) = |A x|^2 has Hessian 2 A^T A; f(A) = sum(A @ A) has d2f/dA dA in closed form too
    a_np, x_np = rng.normal(size=(4, 3)), rng.normal(size=3)
    a = t(a_np, backend)

    def f(x):
        y = a @ x
        return ag.sum(y * y)

    _, vjp_fn = ag.vjp(ag.grad(f), t(x_np, backend))
    hess = np.stack([vjp_fn(t(e, backend))[0].numpy() for e in np.eye(3)])
    np.testing.assert_allclose(hess, 2.0 * a_np.T @ a_np, rtol=1e-12)
    # grad of sum(M @ M) is 1 M^T + M^T 1; its gradient along direction V is 1 V^T + V^T 1
    m_np, v_np = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    ones = np.ones((3, 3))
    _, vjp_fn = ag.vjp(ag.grad(lambda m: ag.sum(m @ m)), t(m_np, backend))
    (hv,) = vjp_fn(t(v_np, backend))
    np.testing.assert_allclose(hv.numpy(), ones @ v_np.T + v_np.T @ ones, rtol=1e-12)


TENSORDOT = [
    ((2, 3), (3, 4), 1),
    ((2, 3), (2, 3), 2),
    ((2,), (3,), 0),
    ((2, 3, 4), (3, 4, 2), 2),
    ((2, 3, 4), (2, 4, 5), ([2, 0], [1, 0])),  # pairs in non-sorted order
    ((3, 2, 4), (2, 4, 3), ([2, 0], [1, 2])),
    ((3, 2, 4), (4, 3), ([2, 0], [0, 1])),
    ((2, 3, 4), (4, 3, 2), ([0, 1, 2], [2, 1, 0])),
    ((2, 3), (4, 3), ([-1], [-1])),
    ((2, 3), (3, 4), (1, 0)),  # single ints
    ((), (3,), 0),  # a 0-d factor: a plain product (CuPy's tensordot refuses it)
    ((2, 2), (), 0),
]


@pytest.mark.parametrize(("sa", "sb", "axes"), TENSORDOT)
def test_tensordot(backend, rng, sa, sb, axes):
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    check(
        lambda x, y: ag.tensordot(x, y, axes=axes),
        lambda x, y: np.tensordot(x, y, axes=axes),
        [a, b],
        backend,
    )


VECDOT = [
    ((3,), (3,), -1),
    ((2, 3), (3,), -1),
    ((2, 3), (2, 3), 0),
    ((2, 3), (2, 1), 0),
    ((4, 2, 3), (2, 3), -2),
    ((2, 3), (4, 2, 3), 1),
    ((1, 3), (4, 1, 3), 2),
]


@pytest.mark.parametrize(("sa", "sb", "axis"), VECDOT)
def test_vecdot(backend, rng, sa, sb, axis):
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    nd = max(len(sa), len(sb))
    check(
        lambda x, y: ag.vecdot(x, y, axis=axis),
        lambda x, y: np.sum(x * y, axis=axis - nd if axis >= 0 else axis),
        [a, b],
        backend,
    )


@pytest.mark.parametrize(
    ("f", "shape"),
    [
        (ag.matrix_transpose, (2, 3)),
        (ag.matrix_transpose, (4, 2, 3)),
        (lambda x: x.mT, (2, 2, 3)),
        (lambda x: x.T, (2, 3)),
    ],
)
def test_matrix_transpose(backend, rng, f, shape):
    check(f, lambda x: np.swapaxes(x, -1, -2), [rng.normal(size=shape)], backend)


# ---- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sa", "sb", "axes", "message"),
    [
        ((2, 3), (3, 4), ([1], [0, 1]), r"agrad\.tensordot: axes .* pair different numbers"),
        (
            (2, 3),
            (3, 4),
            ([1], [1]),
            r"axis 1 of x1 \(shape \(2, 3\)\) has length 3 but axis 1 "
            r"of x2 \(shape \(3, 4\)\) has length 4",
        ),
        ((2, 3), (3, 4), 2, r"agrad\.tensordot: .* contracted axes must match"),
        ((2, 3), (3, 4), 3, r"agrad\.tensordot: axes=3 is out of range for shapes \(2, 3\)"),
        ((2, 3), (3, 4), ([2], [0]), r"agrad\.tensordot: axis 2 is out of range for x1"),
        ((2, 3), (3, 4), ([1], [-3]), r"agrad\.tensordot: axis -3 is out of range for x2"),
        ((2, 2), (2, 2), ([0, 0], [0, 1]), r"agrad\.tensordot: repeated axis .* x1"),
    ],
)
def test_tensordot_errors(backend, sa, sb, axes, message):
    with pytest.raises(ValueError, match=message):
        ag.tensordot(t(np.ones(sa), backend), t(np.ones(sb), backend), axes=axes)


@pytest.mark.parametrize(
    ("sa", "sb", "axis", "message"),
    [
        ((2, 3), (3,), 2, r"agrad\.vecdot: axis 2 is out of range .* \(3,\)"),
        ((2, 3), (3,), -3, r"agrad\.vecdot: axis -3 is out of range"),
        ((2, 3), (2, 4), -1, r"agrad\.vecdot: shapes \(2, 3\) and \(2, 4\) differ along axis"),
        ((2, 3), (3,), -2, r"agrad\.vecdot: shapes \(2, 3\) and \(3,\) differ along axis -2"),
    ],
)
def test_vecdot_errors(backend, sa, sb, axis, message):
    with pytest.raises(ValueError, match=message):
        ag.vecdot(t(np.ones(sa), backend), t(np.ones(sb), backend), axis=axis)


@pytest.mark.parametrize(
    ("sa", "sb"), [((2, 3), (2, 3)), ((3,), (4,)), ((), (3,)), ((2, 2, 3), (3, 3, 2))]
)
def test_matmul_errors_name_the_shapes(backend, sa, sb):
    a, b = t(np.ones(sa), backend), t(np.ones(sb), backend)
    msg = rf"agrad\.matmul: cannot multiply shapes {re_shape(sa)} and {re_shape(sb)}"
    with pytest.raises(ValueError, match=msg):
        _ = a @ b


def test_matmul_with_a_python_scalar_is_a_clear_error(backend):
    # the standard's matmul takes arrays of at least one dimension; a number is named as ()
    a = t(np.ones((1, 2)), backend)
    with pytest.raises(
        ValueError, match=r"agrad\.matmul: cannot multiply shapes \(1, 2\) and \(\)"
    ):
        _ = a @ 2.0
    with pytest.raises(
        ValueError, match=r"agrad\.matmul: cannot multiply shapes \(\) and \(1, 2\)"
    ):
        _ = 2.0 @ a


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_transpose_errors(backend):
    with pytest.raises(ValueError, match=r"agrad\.matrix_transpose: needs at least 2 dim.*\(3,\)"):
        _ = t(np.ones(3), backend).mT
    with pytest.raises(ValueError, match=r"Tensor\.T needs a 2-D tensor, got shape \(2, 2, 2\)"):
        _ = t(np.ones((2, 2, 2)), backend).T


# ---- devices -------------------------------------------------------------------------------
def test_linalg_stays_on_a_non_default_device(rng):
    import array_api_strict  # the backend with a second device on every machine

    dev = array_api_strict.Device("device1")
    a = ag.asarray(
        rng.normal(size=(2, 3)), backend="array_api_strict", device=dev, requires_grad=True
    )
    b = ag.asarray(
        rng.normal(size=(3, 2)), backend="array_api_strict", device=dev, requires_grad=True
    )
    y = ag.sum(ag.tensordot(a @ b, a, axes=1)) + ag.sum(ag.vecdot(a, b.T))
    assert y.device == dev
    y.backward()
    assert a.grad.device == a.device == dev and b.grad.device == dev


@pytest.mark.parametrize("side", ["x1", "x2"])
def test_matmul_with_a_transposed_operand(backend, rng, side):
    # x @ W.mT (a layer's weight in PyTorch's (out, in) layout) and A.mT @ x: the gradient of
    # the transposed operand is computed transposed (on NumPy it then comes out row-major, like
    # the leaf); values as the closed forms gW = g^T x, gA = x g^T
    x_np, w_np = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    g_np = rng.normal(size=(5, 4) if side == "x2" else (3, 3))
    x = t(x_np, backend, requires_grad=True)
    w = t(w_np if side == "x2" else rng.normal(size=(5, 3)), backend, requires_grad=True)
    out = x @ w.mT if side == "x2" else w.mT @ x
    ag.sum(out * t(g_np, backend)).backward()
    wv = w.numpy()
    if side == "x2":
        np.testing.assert_allclose(w.grad.numpy(), g_np.T @ x_np, rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), g_np @ wv, rtol=1e-12)
    else:
        np.testing.assert_allclose(w.grad.numpy(), x_np @ g_np.T, rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), wv @ g_np, rtol=1e-12)
    f = (lambda a, b: a @ b.mT) if side == "x2" else (lambda a, b: b.mT @ a)
    assert gradcheck(f, t(x_np, backend), t(wv, backend))
    assert gradgradcheck(f, t(x_np, backend), t(wv, backend))
    if backend == "numpy":  # the leaf's gradient has the leaf's (row-major) layout
        assert w.grad._data.flags.c_contiguous and x.grad._data.flags.c_contiguous
        # ... straight from matmul's VJP: its cotangent for the view is itself a transposed
        # view, so no copy is needed to lay it out like w (the layout contract's copy is the
        # fallback)
        from agrad._backend import get_backend
        from agrad.ops.linalg import matmul

        xp, g = get_backend("numpy").xp, np.ones((5, 4) if side == "x2" else (3, 3))
        args = (x_np, wv.T) if side == "x2" else (wv.T, x_np)
        cot = matmul.vjp(xp, g, None, *args, needs=(True, True))[1 if side == "x2" else 0]
        assert cot.T.flags.c_contiguous


def test_leaf_gradients_are_laid_out_like_the_leaf_on_numpy(rng):
    # PyTorch's layout contract for .grad: a broadcast (sum's VJP) or transposed view arriving
    # at a leaf is stored as a writeable array in the leaf's row-major layout
    x = ag.asarray(rng.normal(size=(3, 4)), requires_grad=True)
    ag.sum(x).backward()
    assert x.grad._data.flags.c_contiguous and x.grad._data.flags.writeable
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 4)))
    y = ag.asarray(rng.normal(size=(4, 3)), requires_grad=True)
    ag.sum(ag.matrix_transpose(y) * ag.asarray(np.arange(12.0).reshape(3, 4))).backward()
    assert y.grad._data.flags.c_contiguous
    np.testing.assert_array_equal(y.grad.numpy(), np.arange(12.0).reshape(3, 4).T)
    # a column-major leaf keeps its gradient as it comes
    z = ag.asarray(np.asfortranarray(rng.normal(size=(3, 4))), requires_grad=True)
    ag.sum(ag.matrix_transpose(z) * ag.asarray(np.ones((4, 3)))).backward()
    np.testing.assert_array_equal(z.grad.numpy(), np.ones((3, 4)))


def test_matmul_of_two_float_dtypes_promotes(backend, rng):
    # one dtype goes through the arrays' own @; two float dtypes through the namespace's
    # matmul, which promotes as the standard says (torch's own @ would refuse)
    a_np, b_np = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    a = ag.asarray(a_np, dtype=ag.float32, backend=backend, requires_grad=True)
    b = ag.asarray(b_np, dtype=ag.float64, backend=backend, requires_grad=True)
    y = a @ b
    assert y.dtype == ag.float64
    np.testing.assert_allclose(y.numpy(), a_np.astype(np.float32) @ b_np, rtol=1e-6)
    ag.sum(y).backward()
    assert a.grad.dtype == ag.float32 and b.grad.dtype == ag.float64
    np.testing.assert_allclose(a.grad.numpy(), np.ones((3, 2)) @ b_np.T, rtol=1e-6)

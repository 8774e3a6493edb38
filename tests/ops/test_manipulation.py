"""Manipulation: reshape, permute_dims, expand_dims, squeeze, broadcast_to, concat, stack, flip
and astype.

Forward against NumPy, first and second derivatives against finite differences, the VJP as the
exact adjoint of each (linear) op, dtype handling of ``astype``, and the error messages.
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


# (name, agrad function, NumPy reference, input shapes)
UNARY = [
    ("reshape (3,-1)", lambda x: ag.reshape(x, (3, -1)), lambda x: x.reshape(3, -1), (2, 3, 2)),
    ("reshape 0-d", lambda x: ag.reshape(x, (1, 1)), lambda x: x.reshape(1, 1), ()),
    ("reshape to 0-d", lambda x: ag.reshape(x, ()), lambda x: x.reshape(()), (1, 1)),
    ("reshape -1", lambda x: ag.reshape(x, -1), lambda x: x.reshape(-1), (2, 3)),
    ("reshape (2,3)", lambda x: ag.reshape(x, (2, 3)), lambda x: x.reshape(2, 3), (6,)),
    ("permute", lambda x: ag.permute_dims(x, (2, 0, 1)), lambda x: x.transpose(2, 0, 1), (2, 3, 4)),
    (
        "permute neg",
        lambda x: ag.permute_dims(x, (-1, 0, 1)),
        lambda x: x.transpose(2, 0, 1),
        (2, 3, 4),
    ),
    ("expand 0", lambda x: ag.expand_dims(x, axis=0), lambda x: x[None], (2, 3)),
    ("expand -1", lambda x: ag.expand_dims(x, axis=-1), lambda x: x[..., None], (2, 3)),
    ("expand 1", lambda x: ag.expand_dims(x, axis=1), lambda x: x[:, None], (2, 3)),
    ("expand 0-d", lambda x: ag.expand_dims(x, axis=0), lambda x: x[None], ()),
    ("expand positional", lambda x: ag.expand_dims(x, 2), lambda x: x[:, :, None], (2, 3)),
    (
        "expand tuple",
        lambda x: ag.expand_dims(x, axis=(0, -1)),
        lambda x: x[None, ..., None],
        (2, 3),
    ),
    (
        "expand tuple order",
        lambda x: ag.expand_dims(x, axis=(3, 1)),
        lambda x: x[:, None, :, None],
        (2, 3),
    ),
    (
        "expand tuple neg",
        lambda x: ag.expand_dims(x, axis=(-1, -3)),
        lambda x: x[:, None, :, None],
        (2, 3),
    ),
    ("expand tuple 0-d", lambda x: ag.expand_dims(x, axis=(0, 1)), lambda x: x[None, None], ()),
    ("squeeze tuple", lambda x: ag.squeeze(x, axis=(0, 2)), lambda x: x[0, :, 0], (1, 3, 1)),
    ("squeeze -1", lambda x: ag.squeeze(x, axis=-1), lambda x: x[:, 0], (3, 1)),
    ("squeeze to 0-d", lambda x: ag.squeeze(x, axis=0), lambda x: x[0], (1,)),
    (
        "broadcast",
        lambda x: ag.broadcast_to(x, (2, 3, 4)),
        lambda x: np.broadcast_to(x, (2, 3, 4)),
        (3, 1),
    ),
    (
        "broadcast 0-d",
        lambda x: ag.broadcast_to(x, (2, 3)),
        lambda x: np.broadcast_to(x, (2, 3)),
        (),
    ),
    (
        "broadcast lead",
        lambda x: ag.broadcast_to(x, (2, 3)),
        lambda x: np.broadcast_to(x, (2, 3)),
        (3,),
    ),
    ("flip all", lambda x: ag.flip(x), lambda x: np.flip(x), (2, 3, 2)),
    ("flip 0", lambda x: ag.flip(x, axis=0), lambda x: np.flip(x, axis=0), (2, 3, 2)),
    ("flip -1", lambda x: ag.flip(x, axis=-1), lambda x: np.flip(x, axis=-1), (2, 3, 2)),
    ("flip tuple", lambda x: ag.flip(x, axis=(0, 2)), lambda x: np.flip(x, axis=(0, 2)), (2, 3, 2)),
    ("flip 0-d", lambda x: ag.flip(x), lambda x: np.flip(x), ()),
]

# (name, agrad function of a list, NumPy reference of a list, input shapes)
MULTI = [
    (
        "concat 0",
        lambda *a: ag.concat(a, axis=0),
        lambda *a: np.concatenate(a, axis=0),
        [(2, 3), (1, 3), (2, 3)],
    ),
    (
        "concat 1",
        lambda *a: ag.concat(a, axis=1),
        lambda *a: np.concatenate(a, axis=1),
        [(2, 3), (2, 1)],
    ),
    (
        "concat -1",
        lambda *a: ag.concat(a, axis=-1),
        lambda *a: np.concatenate(a, axis=-1),
        [(2, 2, 1), (2, 2, 3)],
    ),
    (
        "concat None",
        lambda *a: ag.concat(a, axis=None),
        lambda *a: np.concatenate(a, axis=None),
        [(2, 3), (4,), ()],
    ),
    ("concat 1-d", lambda *a: ag.concat(a), lambda *a: np.concatenate(a), [(2,), (3,)]),
    (
        "stack 0",
        lambda *a: ag.stack(a, axis=0),
        lambda *a: np.stack(a, axis=0),
        [(2, 3), (2, 3), (2, 3)],
    ),
    (
        "stack -1",
        lambda *a: ag.stack(a, axis=-1),
        lambda *a: np.stack(a, axis=-1),
        [(2, 3), (2, 3)],
    ),
    ("stack 1", lambda *a: ag.stack(a, axis=1), lambda *a: np.stack(a, axis=1), [(2, 3), (2, 3)]),
    ("stack 0-d", lambda *a: ag.stack(a), lambda *a: np.stack(a), [(), ()]),
]

CASES = [(n, f, r, [s]) for n, f, r, s in UNARY] + MULTI


@pytest.mark.parametrize(("f", "ref", "shapes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_forward_and_derivatives(backend, rng, f, ref, shapes):
    arrays = [rng.normal(size=s) for s in shapes]
    y = f(*[t(a, backend) for a in arrays])
    expected = ref(*arrays)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.numpy(), expected)
    assert gradcheck(f, *[t(a, backend) for a in arrays])
    assert gradgradcheck(f, *[t(a, backend) for a in arrays])


@pytest.mark.parametrize(("f", "shapes"), [(c[1], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_vjp_is_the_exact_adjoint(backend, rng, f, shapes):
    # these ops are linear: <f(v), u> == sum_k <vjp(u)_k, v_k> for any v and cotangent u
    vs = [rng.normal(size=s) for s in shapes]
    y, vjp_fn = ag.vjp(f, *[t(v, backend) for v in vs])
    u = rng.normal(size=y.shape)
    grads = vjp_fn(t(u, backend))
    assert [g.shape for g in grads] == [tuple(s) for s in shapes]
    lhs = np.sum(y.numpy() * u)
    rhs = sum(np.sum(g.numpy() * v) for g, v in zip(grads, vs))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_concat_and_stack_gradients_are_the_pieces(backend, rng):
    a, b = (
        t(np.ones((2, 3)), backend, requires_grad=True),
        t(np.ones((2, 1)), backend, requires_grad=True),
    )
    g = rng.normal(size=(2, 4))
    ag.concat([a, b], axis=-1).backward(t(g, backend))
    np.testing.assert_array_equal(a.grad.numpy(), g[:, :3])
    np.testing.assert_array_equal(b.grad.numpy(), g[:, 3:])
    c = t(np.ones(3), backend, requires_grad=True)
    g = rng.normal(size=(3, 2))
    ag.stack([c, c], axis=1).backward(t(g, backend))  # the same tensor twice: grads add up
    np.testing.assert_allclose(c.grad.numpy(), g[:, 0] + g[:, 1])


@pytest.mark.parametrize("axis", [0, 1, None])
def test_concat_slices_only_the_pieces_that_want_a_gradient(backend, rng, axis, monkeypatch):
    # a bias unit's column of ones (a constant) between two pieces that require grad: each of
    # those gets its own slice of g, the constant none, and no slice is taken for it
    from agrad.ops import manipulation

    a = t(rng.normal(size=(2, 3)), backend, requires_grad=True)
    ones = t(np.ones((2, 3)), backend)
    c = t(rng.normal(size=(2, 3)), backend, requires_grad=True)
    out = ag.concat([a, ones, c], axis=axis)
    g = rng.normal(size=tuple(out.shape))
    seen = []
    vjp = manipulation._concat.vjp

    def spy(*args, needs, **static):
        grads = vjp(*args, needs=needs, **static)
        seen.append((needs, [None if p is None else tuple(p.shape) for p in grads]))
        return grads

    monkeypatch.setattr(manipulation._concat, "vjp", spy)
    out.backward(t(g, backend))
    assert seen == [((True, False, True), [(2, 3), None, (2, 3)])]
    pieces = np.split(g.reshape(-1) if axis is None else g, 3, axis=axis or 0)
    np.testing.assert_array_equal(a.grad.numpy(), pieces[0].reshape(2, 3))
    np.testing.assert_array_equal(c.grad.numpy(), pieces[2].reshape(2, 3))
    assert ones.grad is None


def test_broadcast_to_gradient_sums_over_the_broadcast_axes(backend, rng):
    x = t(rng.normal(size=(3, 1)), backend, requires_grad=True)
    g = rng.normal(size=(2, 3, 4))
    ag.broadcast_to(x, (2, 3, 4)).backward(t(g, backend))
    np.testing.assert_allclose(x.grad.numpy(), g.sum(axis=(0, 2))[:, None])


# ---- astype --------------------------------------------------------------------------------
def test_astype_between_floats_is_differentiable(backend, rng):
    x_np = rng.normal(size=(2, 3))
    x = t(x_np, backend, requires_grad=True)
    y = ag.astype(x, ag.float32)
    assert y.dtype == ag.float32 and y.requires_grad
    ag.sum(y * y).backward()
    assert x.grad.dtype == ag.float64  # the gradient comes back in x's dtype
    np.testing.assert_allclose(x.grad.numpy(), 2 * x_np, rtol=1e-6)
    z = ag.asarray(x_np, dtype=ag.float32, backend=backend, requires_grad=True)
    ag.sum(ag.astype(z, ag.float64) * 3.0).backward()
    assert z.grad.dtype == ag.float32
    np.testing.assert_array_equal(z.grad.numpy(), np.full((2, 3), 3.0, dtype=np.float32))


def test_astype_derivatives(backend, rng):
    # float32 rounding needs a wider finite-difference step than the default
    x = t(rng.normal(size=(3,)), backend)

    def f(a):
        return ag.astype(ag.astype(a, ag.float32) ** 2, ag.float64)

    assert gradcheck(f, x, eps=1e-2, atol=1e-4)
    assert gradgradcheck(f, x, eps=1e-2, atol=1e-4)
    assert gradgradcheck(lambda a: ag.astype(a, ag.float64) ** 3, x)  # same dtype


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_astype_to_non_float_gives_no_graph(backend, dtype):
    x = t([1.5, -2.0, 0.0], backend, requires_grad=True)
    y = ag.astype(x, getattr(ag, dtype))
    assert y.dtype == getattr(ag, dtype)
    assert not y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.numpy(), np.array([1.5, -2.0, 0.0]).astype(dtype))
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


# ---- errors --------------------------------------------------------------------------------
ERRORS = [
    (
        "squeeze non-1",
        lambda x: ag.squeeze(x, axis=1),
        r"agrad\.squeeze: axis 1 of shape \(2, 3, 1\) does not have length 1",
    ),
    (
        "squeeze range",
        lambda x: ag.squeeze(x, axis=3),
        r"agrad\.squeeze: axis 3 is out of range for a tensor with 3 dimensions",
    ),
    (
        "stack shapes",
        lambda x: ag.stack([x, x[0]]),
        r"agrad\.stack: tensors must have one shape, got \[\(2, 3, 1\), \(3, 1\)\]",
    ),
    (
        "stack axis",
        lambda x: ag.stack([x, x], axis=4),
        r"agrad\.stack: axis 4 is out of range for a tensor with 4 dimensions",
    ),
    (
        "concat ndim",
        lambda x: ag.concat([x, x[0]]),
        r"agrad\.concat: tensors must have the same number of dimensions, .*\(3, 1\)",
    ),
    (
        "concat axis",
        lambda x: ag.concat([x, x], axis=-4),
        r"agrad\.concat: axis -4 is out of range for a tensor with 3 dimensions",
    ),
    ("concat empty", lambda x: ag.concat([]), r"agrad\.concat: needs at least one tensor"),
    ("stack empty", lambda x: ag.stack([]), r"agrad\.stack: needs at least one tensor"),
    (
        "permute repeat",
        lambda x: ag.permute_dims(x, (0, 0, 1)),
        r"agrad\.permute_dims: axes \(0, 0, 1\) are not a permutation of range\(3\)",
    ),
    (
        "permute range",
        lambda x: ag.permute_dims(x, (0, 1, 3)),
        r"agrad\.permute_dims: axes \(0, 1, 3\) are not a permutation .* shape \(2, 3, 1\)",
    ),
    (
        "permute short",
        lambda x: ag.permute_dims(x, (1, 0)),
        r"agrad\.permute_dims: axes \(1, 0\) are not a permutation of range\(3\)",
    ),
    (
        "reshape size",
        lambda x: ag.reshape(x, (4, -1)),
        r"agrad\.reshape: cannot reshape a tensor of shape \(2, 3, 1\) \(6 elements\) to shape "
        r"\(4, -1\)",
    ),
    ("reshape two -1", lambda x: ag.reshape(x, (-1, -1)), r"agrad\.reshape: cannot reshape"),
    ("reshape count", lambda x: ag.reshape(x, (7,)), r"agrad\.reshape: cannot reshape"),
    (
        "broadcast",
        lambda x: ag.broadcast_to(x, (2, 4, 1)),
        r"agrad\.broadcast_to: cannot broadcast shape \(2, 3, 1\) to \(2, 4, 1\)",
    ),
    (
        "broadcast fewer",
        lambda x: ag.broadcast_to(x, (3, 1)),
        r"agrad\.broadcast_to: cannot broadcast shape \(2, 3, 1\) to \(3, 1\)",
    ),
    (
        "expand_dims",
        lambda x: ag.expand_dims(x, axis=4),
        r"agrad\.expand_dims: axis 4 is out of range for shape \(2, 3, 1\)",
    ),
    (
        "expand_dims tuple",
        lambda x: ag.expand_dims(x, axis=(0, 5)),
        r"agrad\.expand_dims: axis 5 is out of range for shape \(2, 3, 1\): the result has 5 axes, "
        r"so each position lies in \[-5, 5\)",
    ),
    (
        "expand_dims twice",
        lambda x: ag.expand_dims(x, axis=(1, -4)),
        r"agrad\.expand_dims: axis \(1, -4\) names the same position twice \(in a result of 5 "
        r"axes\); give each new axis its own position",
    ),
    (
        "flip",
        lambda x: ag.flip(x, axis=(0, 3)),
        r"agrad\.flip: axis 3 is out of range for a tensor with 3 dimensions",
    ),
]


@pytest.mark.parametrize(("f", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_op_and_the_shapes(backend, f, message):
    with pytest.raises(ValueError, match=message):
        f(t(np.ones((2, 3, 1)), backend))


def test_expand_dims_axis_errors_are_index_errors_too(backend):
    # the standard asks for IndexError; agrad's axis errors elsewhere are ValueErrors: both
    x = t(np.ones((2, 3)), backend)
    for axis in (3, (0, 0)):
        with pytest.raises(IndexError, match=r"agrad\.expand_dims: axis"):
            ag.expand_dims(x, axis=axis)
    with pytest.raises(TypeError, match=r"agrad\.expand_dims: axis must be an int or a tuple of "):
        ag.expand_dims(x, axis=(0, 1.0))


# ---- devices -------------------------------------------------------------------------------
def test_manipulation_stays_on_a_non_default_device(rng):
    import array_api_strict  # the backend with a second device on every machine

    dev = array_api_strict.Device("device1")
    x = ag.asarray(
        rng.normal(size=(2, 3)), backend="array_api_strict", device=dev, requires_grad=True
    )
    y = ag.concat([ag.reshape(x, (3, 2)), ag.permute_dims(x, (1, 0))], axis=None)
    y = ag.stack([ag.flip(y), ag.squeeze(ag.expand_dims(y, axis=0), axis=0)], axis=-1)
    y = ag.astype(ag.broadcast_to(y, (2, 12, 2)), ag.float32)
    assert y.device == dev
    ag.sum(y * y).backward()
    assert x.grad.device == x.device == dev
    assert x.grad.dtype == ag.float64


def test_astype_copy_false_returns_the_tensor_itself_when_nothing_changes(backend):
    # the standard: with copy=False and the same dtype, "the input array must be returned"
    x = t([1.0, 2.0], backend, requires_grad=True)
    assert ag.astype(x, x.dtype, copy=False) is x
    assert ag.astype(x, x.dtype, copy=False, device=x.device) is x
    y = ag.astype(x, x.dtype)  # copy=True: a new tensor, on the graph
    assert y is not x and y.requires_grad
    z = ag.astype(x, ag.float32, copy=False)  # another dtype: a new one all the same
    assert z is not x and z.dtype == ag.float32
    ag.sum(z * 2.0).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])

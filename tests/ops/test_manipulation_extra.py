"""Manipulation, continued: moveaxis, repeat, roll, tile, unstack and broadcast_arrays.

Forward against NumPy, first and second derivatives against finite differences, the VJP as the
exact adjoint of each (linear) op, and the error messages.
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.ops.manipulation import broadcast_arrays, moveaxis, repeat, roll, tile, unstack
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


def _flat(tensors):
    return ag.concat([ag.reshape(u, (-1,)) for u in tensors])


# (name, agrad function, NumPy reference, input shapes)
CASES = [
    ("moveaxis 0->-1", lambda x: moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), [(2, 3, 4)]),
    (
        "moveaxis tuple",
        lambda x: moveaxis(x, (0, 2), (2, 1)),
        lambda x: np.moveaxis(x, (0, 2), (2, 1)),
        [(2, 3, 4)],
    ),
    ("moveaxis same", lambda x: moveaxis(x, 1, 1), lambda x: np.moveaxis(x, 1, 1), [(2, 3)]),
    ("repeat int None", lambda x: repeat(x, 2), lambda x: np.repeat(x, 2), [(2, 3)]),
    ("repeat int 1", lambda x: repeat(x, 3, axis=1), lambda x: np.repeat(x, 3, axis=1), [(2, 2)]),
    ("repeat int -1", lambda x: repeat(x, 2, axis=-1), lambda x: np.repeat(x, 2, axis=-1), [(3,)]),
    ("repeat zero", lambda x: repeat(x, 0, axis=0), lambda x: np.repeat(x, 0, axis=0), [(2, 3)]),
    ("repeat 0-d", lambda x: repeat(x, 3), lambda x: np.repeat(x, 3), [()]),
    ("roll int", lambda x: roll(x, 2), lambda x: np.roll(x, 2), [(2, 3)]),
    ("roll neg axis", lambda x: roll(x, -1, axis=1), lambda x: np.roll(x, -1, axis=1), [(2, 3)]),
    (
        "roll tuple",
        lambda x: roll(x, (1, 5), axis=(0, 2)),
        lambda x: np.roll(x, (1, 5), axis=(0, 2)),
        [(2, 3, 4)],
    ),
    (
        "roll int tuple axis",
        lambda x: roll(x, 1, axis=(0, -1)),
        lambda x: np.roll(x, 1, axis=(0, -1)),
        [(2, 3)],
    ),
    (
        "roll same axis twice",
        lambda x: roll(x, (1, 1), axis=(1, 1)),
        lambda x: np.roll(x, (1, 1), axis=(1, 1)),
        [(2, 3)],
    ),
    ("roll 0-d", lambda x: roll(x, 3), lambda x: np.roll(x, 3), [()]),
    ("tile", lambda x: tile(x, (2, 3)), lambda x: np.tile(x, (2, 3)), [(2, 2)]),
    ("tile short reps", lambda x: tile(x, (2,)), lambda x: np.tile(x, (2,)), [(2, 3)]),
    ("tile long reps", lambda x: tile(x, (2, 1, 2)), lambda x: np.tile(x, (2, 1, 2)), [(3,)]),
    ("tile 0-d", lambda x: tile(x, (3,)), lambda x: np.tile(x, (3,)), [()]),
    (
        "unstack 0",
        lambda x: _flat([u * float(k + 1) for k, u in enumerate(unstack(x))]),
        lambda x: np.concatenate([u.ravel() * (k + 1) for k, u in enumerate(x)]),
        [(3, 2)],
    ),
    (
        "unstack -1",
        lambda x: _flat(unstack(x, axis=-1)),
        lambda x: np.concatenate([x[..., k].ravel() for k in range(x.shape[-1])]),
        [(2, 2, 3)],
    ),
    (
        "unstack one used",
        lambda x: unstack(x, axis=1)[1],
        lambda x: x[:, 1],
        [(2, 3)],
    ),
    ("unstack single", lambda x: unstack(x)[0], lambda x: x[0], [(1, 3)]),
    (
        "broadcast_arrays",
        lambda a, b, c: _flat(broadcast_arrays(a, b, c)),
        lambda a, b, c: np.concatenate([u.ravel() for u in np.broadcast_arrays(a, b, c)]),
        [(2, 1), (3,), ()],
    ),
    (
        "broadcast_arrays same",
        lambda a, b: _flat(broadcast_arrays(a, b)),
        lambda a, b: np.concatenate([a.ravel(), b.ravel()]),
        [(2, 3), (2, 3)],
    ),
]


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
    vs = [rng.normal(size=s) for s in shapes]
    y, vjp_fn = ag.vjp(f, *[t(v, backend) for v in vs])
    u = rng.normal(size=y.shape)
    grads = vjp_fn(t(u, backend))
    assert [g.shape for g in grads] == [tuple(s) for s in shapes]
    lhs = np.sum(y.numpy() * u)
    rhs = sum(np.sum(g.numpy() * v) for g, v in zip(grads, vs))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_repeat_with_array_repeats(backend, rng, axis):
    x_np = rng.normal(size=(2, 3))
    n = 6 if axis is None else x_np.shape[axis]
    counts = np.arange(n) % 3  # includes zero counts
    reps = ag.asarray(counts, backend=backend)

    def f(x):
        return repeat(x, reps, axis=axis)

    y = f(t(x_np, backend))
    np.testing.assert_array_equal(y.numpy(), np.repeat(x_np, counts, axis=axis))
    one = ag.asarray(np.array([2]), backend=backend)
    np.testing.assert_array_equal(
        repeat(t(x_np, backend), one, axis=axis).numpy(), np.repeat(x_np, [2], axis=axis)
    )
    assert gradcheck(f, t(x_np, backend))
    assert gradgradcheck(f, t(x_np, backend))
    x = t(x_np, backend, requires_grad=True)
    ag.sum(f(x)).backward()  # each element's gradient counts its copies
    expected = np.broadcast_to(
        counts.reshape(x_np.shape)
        if axis is None
        else counts.reshape((-1, 1) if axis == 0 else -1),
        x_np.shape,
    )
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32"])
def test_repeat_counts_of_any_integer_dtype(backend, dtype):
    # 300 positions do not fit uint8 (its arange wraps: position 261 read as 5), and torch
    # repeats by int64 counts only
    x_np = np.arange(300.0)
    counts = (np.arange(300) % 3).astype(dtype)
    x = t(x_np, backend, requires_grad=True)
    y = repeat(x, ag.asarray(counts, backend=backend))
    np.testing.assert_array_equal(y.numpy(), np.repeat(x_np, counts.astype(np.int64)))
    ag.sum(y).backward()
    np.testing.assert_array_equal(x.grad.numpy(), counts.astype(float))


def test_unstack_returns_a_tuple_and_unused_outputs_get_no_gradient(backend, rng):
    x_np = rng.normal(size=(3, 2))
    x = t(x_np, backend, requires_grad=True)
    parts = unstack(x)
    assert type(parts) is tuple and len(parts) == 3
    for p, row in zip(parts, x_np):
        np.testing.assert_array_equal(p.numpy(), row)
    ag.sum(parts[2] * 2.0).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0], [0.0, 0.0], [2.0, 2.0]])
    assert unstack(t(np.ones((2, 0)), backend), axis=1) == ()


def test_broadcast_arrays_returns_a_list_sharing_the_graph(backend, rng):
    a = t(rng.normal(size=(2, 1)), backend, requires_grad=True)
    b = t(rng.normal(size=(3,)), backend, requires_grad=True)
    out = broadcast_arrays(a, b)
    assert type(out) is list and [o.shape for o in out] == [(2, 3), (2, 3)]
    ag.sum(out[0] * out[1]).backward()
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.numpy().sum(), (2, 1)))
    np.testing.assert_allclose(b.grad.numpy(), np.broadcast_to(a.numpy().sum(), (3,)))


def test_roll_gradient_rolls_back(backend, rng):
    x = t(rng.normal(size=(2, 5)), backend, requires_grad=True)
    g = rng.normal(size=(2, 5))
    roll(x, (1, 3), axis=(0, 1)).backward(t(g, backend))
    np.testing.assert_array_equal(x.grad.numpy(), np.roll(g, (-1, -3), axis=(0, 1)))


# ---- errors --------------------------------------------------------------------------------
ERRORS = [
    (
        "moveaxis range",
        lambda x: moveaxis(x, 3, 0),
        ValueError,
        r"agrad\.moveaxis: source 3 is out of range for a tensor with 3 dimensions",
    ),
    (
        "moveaxis lengths",
        lambda x: moveaxis(x, (0, 1), 2),
        ValueError,
        r"agrad\.moveaxis: source \(0, 1\) and destination 2 must have the same number of "
        r"elements \(tensor of shape \(2, 3, 1\)\)",
    ),
    (
        "moveaxis repeated",
        lambda x: moveaxis(x, (0, 0), (1, 2)),
        ValueError,
        r"agrad\.moveaxis: repeated axis in source \(0, 0\)",
    ),
    (
        "repeat negative",
        lambda x: repeat(x, -1, axis=0),
        ValueError,
        r"agrad\.repeat: repeats must be non-negative, got -1",
    ),
    (
        "repeat axis",
        lambda x: repeat(x, 2, axis=3),
        ValueError,
        r"agrad\.repeat: axis 3 is out of range for a tensor with 3 dimensions",
    ),
    (
        "repeat counts shape",
        lambda x: repeat(x, ag.asarray(np.array([1, 2]), backend=x.backend), axis=1),
        ValueError,
        r"agrad\.repeat: repeats of shape \(2,\) do not match axis 1 of length 3 \(tensor of "
        r"shape \(2, 3, 1\)\)",
    ),
    (
        "repeat counts negative",
        lambda x: repeat(x, ag.asarray(np.array([1, -2]), backend=x.backend), axis=0),
        ValueError,
        r"agrad\.repeat: repeats must be non-negative",
    ),
    (
        "repeat float counts",
        lambda x: repeat(x, ag.asarray(np.array([1.0, 2.0]), backend=x.backend), axis=0),
        TypeError,
        r"agrad\.repeat: repeats must have an integer dtype, got float64",
    ),
    (
        "repeat float",
        lambda x: repeat(x, 2.0),
        TypeError,
        r"agrad\.repeat: repeats must be an int or an integer array, got 2\.0",
    ),
    (
        "roll lengths",
        lambda x: roll(x, (1, 2), axis=(0, 1, 2)),
        ValueError,
        r"agrad\.roll: shift \(1, 2\) and axis \(0, 1, 2\) must have the same length \(tensor "
        r"of shape \(2, 3, 1\)\)",
    ),
    (
        "roll tuple no axis",
        lambda x: roll(x, (1, 2)),
        ValueError,
        r"agrad\.roll: shift \(1, 2\) needs a tuple axis of the same length",
    ),
    (
        "roll axis",
        lambda x: roll(x, 1, axis=-4),
        ValueError,
        r"agrad\.roll: axis -4 is out of range for a tensor with 3 dimensions",
    ),
    (
        "roll float",
        lambda x: roll(x, 1.5),
        TypeError,
        r"agrad\.roll: shift must be an int or a tuple of ints, got 1\.5",
    ),
    (
        "tile negative",
        lambda x: tile(x, (2, -1)),
        ValueError,
        r"agrad\.tile: repetitions must be non-negative ints, got \(2, -1\) \(tensor of shape "
        r"\(2, 3, 1\)\)",
    ),
    (
        "unstack axis",
        lambda x: unstack(x, axis=3),
        ValueError,
        r"agrad\.unstack: axis 3 is out of range for a tensor with 3 dimensions",
    ),
    (
        "unstack 0-d",
        lambda x: unstack(x[0, 0, 0]),
        ValueError,
        r"agrad\.unstack: needs at least one dimension, got a 0-d tensor",
    ),
    (
        "broadcast_arrays",
        lambda x: broadcast_arrays(x, x[0, :2]),
        ValueError,
        r"agrad\.broadcast_arrays: shapes \(2, 3, 1\), \(2, 1\) do not broadcast together",
    ),
]


@pytest.mark.parametrize(
    ("f", "exc", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_the_op_and_the_shapes(backend, f, exc, message):
    with pytest.raises(exc, match=message):
        f(t(np.ones((2, 3, 1)), backend))


def test_broadcast_shapes():
    assert ag.broadcast_shapes((2, 1), (3,), ()) == (2, 3)
    assert ag.broadcast_shapes() == ()
    assert ag.broadcast_shapes((0, 1), (1, 4)) == (0, 4)
    with pytest.raises(ValueError, match=r"agrad\.broadcast_shapes: shapes \[\(2,\), \(3,\)\]"):
        ag.broadcast_shapes((2,), (3,))

"""Indexing: ``x[key]``, take, take_along_axis and index_add.

Every key is read as NumPy reads it, on every backend (array_api_strict only specifies some
keys natively; torch refuses negative slice steps and places some advanced indices differently).
Forward against NumPy, first and second derivatives against finite differences, accumulation
of repeated indices (first and second order, in closed form), and the error messages.
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


def backend_key(key, backend):
    """``key`` with its NumPy index arrays turned into tensors of ``backend``."""
    if isinstance(key, tuple):
        return tuple(backend_key(k, backend) for k in key)
    if isinstance(key, np.ndarray):
        return ag.asarray(key, backend=backend)
    return key


SHAPE = (3, 4, 2)
IDX = np.array([0, 2, 0, 0])  # repeated: the gradient must accumulate
MASK2 = np.array(
    [[True, False, True, True], [False, False, False, False], [True, True, False, True]]
)
MASK3 = np.arange(24).reshape(SHAPE) % 3 == 0

KEYS = {
    "int": 1,
    "negative int": -1,
    "slice step": slice(None, None, 2),
    "slice negative start": slice(-3, None),
    "slice negative step": slice(None, None, -1),
    "slice negative step 2": slice(3, 0, -2),
    "empty slice": slice(2, 1),
    "int and slice": (1, slice(0, 3)),
    "ellipsis": (Ellipsis, 1),
    "ellipsis alone": Ellipsis,
    "empty tuple": (),
    "none": (None, slice(None), 0),
    "int ellipsis none": (0, Ellipsis, None),
    "none between": (slice(1, None), None, slice(None, None, -1)),
    "three ints": (2, -1, 0),
    "int array": IDX,
    "negative int array": np.array([-1, 0, -1]),
    "2-D int array": np.array([[0, 1], [2, 2]]),
    "int and array": (1, IDX),
    "two arrays": (IDX, IDX),
    "slice and array": (slice(None), IDX),
    "array slice int": (IDX, slice(1, None), 1),
    "int slice array": (0, slice(None), np.array([1, 1, 0])),  # NumPy puts the array axis first
    "array none": (IDX, None),
    "none arrays": (None, IDX, np.array([3, 3, 1, 0])),
    "ellipsis array": (Ellipsis, np.array([1, 1, 0])),
    "empty ellipsis separates": (slice(None), IDX, Ellipsis, 0),  # NumPy: array axis first
    "empty ellipsis int array": (slice(None), 0, Ellipsis, np.array([1, 0])),
    "array negative-step slice": (IDX, slice(None, None, -1)),
    "broadcast arrays": (np.array([[0], [2]]), np.array([1, 3, 1])),
    "full mask": MASK3,
    "leading mask": MASK2,
    "int and mask": (1, MASK2[0]),
    "slice and mask": (slice(None), MASK2[2]),
    "mask and array": (MASK2[:, 0], np.array([0, 3])),
    "empty mask": np.zeros(3, dtype=bool),
    "list": [0, 2, 0],
}


@pytest.mark.parametrize("key", list(KEYS.values()), ids=list(KEYS))
def test_getitem(backend, rng, key):
    x_np = rng.normal(size=SHAPE)
    bkey = backend_key(key, backend)

    def f(x):
        return x[bkey]

    y = f(t(x_np, backend))
    expected = x_np[key]
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.numpy(), expected)
    assert gradcheck(f, t(x_np, backend))
    assert gradgradcheck(f, t(x_np, backend))


@pytest.mark.parametrize("key", list(KEYS.values()), ids=list(KEYS))
def test_getitem_gradient_scatters_and_accumulates(backend, rng, key):
    # the VJP of x[key] is the scatter-add of the cotangent: NumPy's np.add.at
    x = t(rng.normal(size=SHAPE), backend, requires_grad=True)
    y = x[backend_key(key, backend)]
    g = rng.normal(size=y.shape)
    y.backward(t(g, backend))
    expected = np.zeros(SHAPE)
    np.add.at(expected, key, g)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "key", [None, (), Ellipsis, (None, Ellipsis, None)], ids=["none", "()", "...", "none ... none"]
)
def test_getitem_of_a_0d_tensor(backend, key):
    def f(x):
        return x[key]

    y = f(t(1.5, backend))
    assert y.shape == np.float64(1.5)[key].shape
    np.testing.assert_array_equal(y.numpy(), np.asarray(1.5)[key])
    assert gradcheck(f, t(1.5, backend))
    assert gradgradcheck(f, t(1.5, backend))


def test_repeated_indices_accumulate_in_closed_form(backend, rng):
    x_np = rng.normal(size=5)
    idx = np.array([0, 3, 0, 0, 4, 3])
    counts = np.bincount(idx, minlength=5).astype(float)
    x = t(x_np, backend, requires_grad=True)
    ag.sum(x[ag.asarray(idx, backend=backend)]).backward()
    np.testing.assert_array_equal(x.grad.numpy(), counts)
    # the Hessian of sum(x[idx] ** 3) is diagonal: 6 x_i times how often i is picked
    _, vjp_fn = ag.vjp(
        ag.grad(lambda a: ag.sum(a[ag.asarray(idx, backend=backend)] ** 3)), t(x_np, backend)
    )
    hess = np.stack([vjp_fn(t(e, backend))[0].numpy() for e in np.eye(5)])
    np.testing.assert_allclose(hess, np.diag(6.0 * x_np * counts), rtol=1e-12)


def test_second_derivative_through_a_mask_and_slices(backend, rng):
    x_np = rng.normal(size=(3, 4))
    mask = x_np > 0

    def f(a):
        return ag.sum(a[ag.asarray(mask, backend=backend)] ** 2) + ag.sum(a[:, ::2] ** 3)

    hd = 2.0 * mask
    hd[:, ::2] += 6.0 * x_np[:, ::2]
    _, vjp_fn = ag.vjp(ag.grad(f), t(x_np, backend))
    (hv,) = vjp_fn(t(np.ones((3, 4)), backend))  # the Hessian is diagonal: H 1 = its diagonal
    np.testing.assert_allclose(hv.numpy(), hd, rtol=1e-12)


# ---- a 0-d boolean mask: the standard's x[m], a new first axis of length 1 or 0 ---------------
@pytest.mark.parametrize("shape", [SHAPE, ()], ids=["3-D", "0-d"])
@pytest.mark.parametrize("m", [True, False])
@pytest.mark.parametrize("raw", [False, True], ids=["tensor", "raw"])
def test_getitem_with_a_0d_mask(backend, rng, shape, m, raw):
    x_np = rng.normal(size=shape)
    mask = np.asarray(m) if raw and backend == "numpy" else ag.asarray(m, backend=backend)

    def f(x):
        return x[mask]

    y = f(t(x_np, backend))
    expected = x_np[np.asarray(m)]
    assert y.shape == expected.shape == (int(m),) + shape
    np.testing.assert_array_equal(y.numpy(), expected)
    assert gradcheck(f, t(x_np, backend))
    assert gradgradcheck(f, t(x_np, backend))
    x = t(x_np, backend, requires_grad=True)
    ag.sum(f(x) * 3.0).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, 3.0 * m))  # 0 where unselected


@pytest.mark.parametrize("m", [True, False])
@pytest.mark.parametrize(
    "vshape", [(), (2,), (4, 1), (1, 3, 4, 2)], ids=["scalar", "last axis", "column", "x[m]"]
)
def test_setitem_and_index_add_with_a_0d_mask(backend, rng, m, vshape):
    x_np, v_np = rng.normal(size=SHAPE), rng.normal(size=vshape)
    mask = ag.asarray(m, backend=backend)

    def set_(x, v):
        h = x * 1.0
        h[mask] = v
        return h

    def add(x, v):
        return ag.index_add(x, mask, v)

    want_set, want_add = x_np.copy(), x_np.copy()
    want_set[np.asarray(m)] = v_np
    np.add.at(want_add, np.asarray(m), v_np)
    for f, want in ((set_, want_set), (add, want_add)):
        np.testing.assert_array_equal(f(t(x_np, backend), t(v_np, backend)).numpy(), want)
        assert gradcheck(f, t(x_np, backend), t(v_np, backend))
        assert gradgradcheck(f, t(x_np, backend), t(v_np, backend))
    # closed form: set passes x's gradient nowhere if m else everywhere; v gets the sum of the
    # cotangent over the places it was broadcast to (none if m is False)
    x, v = t(x_np, backend, requires_grad=True), t(v_np, backend, requires_grad=True)
    ag.sum(set_(x, v)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(SHAPE, float(not m)))
    if m:
        np.testing.assert_array_equal(v.grad.numpy(), np.full(vshape, 24.0 / max(v_np.size, 1)))


def test_0d_mask_updates_of_a_0d_tensor_and_with_an_empty_value(backend):
    x = t(1.5, backend)
    yes, no = ag.asarray(True, backend=backend), ag.asarray(False, backend=backend)
    assert float(ag.index_set(x, yes, 4.0)) == 4.0
    assert float(ag.index_add(x, yes, t([2.0], backend))) == 3.5
    # x[m] is empty when m is False: NumPy takes a value of that empty shape too
    z = ag.index_set(t(np.ones((2, 3)), backend), no, t(np.zeros((0, 2, 3)), backend))
    np.testing.assert_array_equal(z.numpy(), np.ones((2, 3)))


# ---- take and take_along_axis ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "indices", "axis"),
    [
        ((4,), [0, 3, 0, 0], None),
        ((3, 4), [1, 1, 0], 0),
        ((3, 4), [3, -1, 0, 3], 1),
        ((2, 3, 2), [2, 0, 2], -2),
        ((2, 3, 2), [1], 2),
    ],
)
def test_take(backend, rng, shape, indices, axis):
    x_np = rng.normal(size=shape)
    idx = np.array(indices)

    def f(x):
        return ag.take(x, ag.asarray(idx, backend=backend), axis=axis)

    np.testing.assert_array_equal(f(t(x_np, backend)).numpy(), np.take(x_np, idx, axis=axis))
    assert gradcheck(f, t(x_np, backend))
    assert gradgradcheck(f, t(x_np, backend))
    x = t(x_np, backend, requires_grad=True)
    ag.sum(f(x)).backward()
    ax = 0 if axis is None else axis % len(shape)
    counts = np.bincount(idx % shape[ax], minlength=shape[ax]).astype(float)
    view = [1] * len(shape)
    view[ax] = shape[ax]
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(counts.reshape(view), shape))


@pytest.mark.parametrize(
    ("shape", "indices", "axis"),
    [
        ((2, 3), [[0, 2, 0, 0], [1, 1, 1, 2]], 1),
        ((2, 3), [[1, 0, 1], [1, 1, 0]], 0),
        ((2, 3), [[2], [0]], -1),
        ((2, 3, 2), np.zeros((2, 3, 3), dtype=int) + [0, 1, 1], -1),
        ((2, 3, 2), [[[0, 1]], [[2, 2]]], 1),  # broadcasts along axis 2
        ((3, 2), [[0], [1], [1]], 1),
    ],
)
def test_take_along_axis(backend, rng, shape, indices, axis):
    x_np = rng.normal(size=shape)
    idx = np.asarray(indices)

    def f(x):
        return ag.take_along_axis(x, ag.asarray(idx, backend=backend), axis=axis)

    expected = np.take_along_axis(x_np, idx, axis=axis)
    np.testing.assert_array_equal(f(t(x_np, backend)).numpy(), expected)
    assert gradcheck(f, t(x_np, backend))
    assert gradgradcheck(f, t(x_np, backend))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
def test_integer_indices_of_every_dtype_are_positions(backend, rng, dtype):
    # the standard's integer indices may have any integer dtype. torch reads a uint8 array as
    # a boolean mask (here of the axis's length, so it would pick silently: x[[1, 0, 1]] gave
    # x[0], x[2]) and refuses int8/int16 (its gather, behind take_along_axis, int32 too)
    x_np = rng.normal(size=(3, 4))
    idx = np.array([1, 0, 1])
    cases = [
        (lambda x, i: x[i], lambda: x_np[idx]),
        (lambda x, i: ag.take(x, i, axis=0), lambda: np.take(x_np, idx, axis=0)),
        (
            lambda x, i: ag.take_along_axis(x, ag.reshape(i, (3, 1)), axis=1),
            lambda: np.take_along_axis(x_np, idx.reshape(3, 1), axis=1),
        ),
    ]
    for op, want in cases:
        grads = []
        for dt in (dtype, "int64"):  # the gradient as int64 indices give it
            x = t(x_np, backend, requires_grad=True)
            out = op(x, ag.asarray(idx.astype(dt), backend=backend))
            np.testing.assert_array_equal(out.numpy(), want())
            ag.sum(out).backward()
            grads.append(x.grad.numpy())
        np.testing.assert_array_equal(grads[0], grads[1])
        assert grads[0].sum() == out.size  # (one per element picked)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_take_along_axis_with_narrow_indices_along_a_long_axis(backend, dtype):
    # the positions along the other axes were made in the indices' dtype: in uint8, rows
    # 256-299 of 300 read rows 0-43 (a silently wrong pick)
    x_np = np.arange(600.0).reshape(300, 2)
    idx = (np.arange(300) % 2).astype(dtype).reshape(300, 1)
    x = t(x_np, backend, requires_grad=True)
    out = ag.take_along_axis(x, ag.asarray(idx, backend=backend), axis=1)
    np.testing.assert_array_equal(out.numpy(), np.take_along_axis(x_np, idx, axis=1))
    ag.sum(out).backward()
    want = np.zeros_like(x_np)
    want[np.arange(300), idx[:, 0]] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), want)


def test_take_along_axis_gradient_accumulates(backend):
    x = t(np.arange(6.0).reshape(2, 3), backend, requires_grad=True)
    idx = ag.asarray(np.array([[0, 0, 2, 0], [1, 1, 1, 1]]), backend=backend)
    ag.sum(ag.take_along_axis(x, idx, axis=1)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 0.0, 1.0], [0.0, 4.0, 0.0]])


# ---- index_add ------------------------------------------------------------------------------
INDEX_ADD = [
    ("repeated ints", IDX, (4, 4, 2)),
    ("broadcast values", IDX, (4, 2)),
    ("scalar-shaped values", IDX, ()),
    ("slice and array", (slice(None), IDX), (3, 4, 2)),
    ("basic", (slice(1, None), 0), (2, 2)),
    ("negative step", (slice(None, None, -2), 1), (2, 2)),
    ("int", 1, (4, 2)),
    ("none", (None, 2, Ellipsis), (1, 4, 2)),
    ("mask", MASK2, (int(MASK2.sum()), 2)),
    ("full mask", MASK3, (int(MASK3.sum()),)),
    ("two arrays", (IDX, np.array([1, 1, 1, 3])), (4, 2)),
]


@pytest.mark.parametrize(
    ("key", "vshape"), [c[1:] for c in INDEX_ADD], ids=[c[0] for c in INDEX_ADD]
)
def test_index_add(backend, rng, key, vshape):
    x_np, v_np = rng.normal(size=SHAPE), rng.normal(size=vshape)
    bkey = backend_key(key, backend)
    expected = x_np.copy()
    np.add.at(expected, key, v_np)
    y = ag.index_add(t(x_np, backend), bkey, t(v_np, backend))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)

    def f(x, v):
        return ag.index_add(x, bkey, v)

    assert gradcheck(f, t(x_np, backend), t(v_np, backend))
    assert gradgradcheck(lambda x, v: f(x, v) ** 2, t(x_np, backend), t(v_np, backend))
    # closed form: identity for x, a gather (summed over broadcasting) for the values
    x, v = t(x_np, backend, requires_grad=True), t(v_np, backend, requires_grad=True)
    g = rng.normal(size=SHAPE)
    f(x, v).backward(t(g, backend))
    np.testing.assert_array_equal(x.grad.numpy(), g)
    gathered = np.broadcast_to(g[key], np.broadcast_shapes(g[key].shape, vshape))
    lead = gathered.ndim - len(vshape)
    vg = gathered.sum(axis=tuple(range(lead)))
    vg = vg.sum(axis=tuple(i for i, n in enumerate(vshape) if n == 1), keepdims=True)
    np.testing.assert_allclose(v.grad.numpy(), vg.reshape(vshape), rtol=1e-12)


def test_index_add_accumulates_scalars(backend):
    y = ag.index_add(
        t(np.zeros(4), backend), ag.asarray(np.array([0, 0, 3, 0]), backend=backend), 1.5
    )
    np.testing.assert_array_equal(y.numpy(), [4.5, 0.0, 0.0, 1.5])


# ---- errors ---------------------------------------------------------------------------------
def int_tensor(values, backend):
    return ag.asarray(np.asarray(values), backend=backend)


ERRORS = [
    (
        "take 2-D indices",
        lambda x, b: ag.take(x, int_tensor([[0, 1]], b), axis=0),
        ValueError,
        r"agrad\.take: indices must be 1-D, got shape \(1, 2\)",
    ),
    (
        "take no axis",
        lambda x, b: ag.take(x, int_tensor([0], b)),
        ValueError,
        r"agrad\.take: axis is required for a tensor of shape \(3, 4, 2\)",
    ),
    (
        "take axis",
        lambda x, b: ag.take(x, int_tensor([0], b), axis=3),
        ValueError,
        r"agrad\.take: axis 3 is out of range for a tensor with 3 dimensions",
    ),
    (
        "take float",
        lambda x, b: ag.take(x, t([0.0], b), axis=0),
        TypeError,
        r"agrad\.take: indices must have an integer dtype, got float64",
    ),
    (
        "take_along_axis ndim",
        lambda x, b: ag.take_along_axis(x, int_tensor([[0]], b), axis=0),
        ValueError,
        r"agrad\.take_along_axis: x \(shape \(3, 4, 2\)\) and indices \(shape "
        r"\(1, 1\)\) must have the same number of dimensions",
    ),
    (
        "take_along_axis shape",
        lambda x, b: ag.take_along_axis(x, int_tensor(np.zeros((2, 4, 2), int), b), axis=1),
        ValueError,
        r"agrad\.take_along_axis: indices of shape \(2, 4, 2\) do not broadcast with x "
        r"of shape \(3, 4, 2\) along axis 0",
    ),
    (
        "take_along_axis axis",
        lambda x, b: ag.take_along_axis(x, int_tensor(np.zeros((1, 1, 1), int), b), axis=-4),
        ValueError,
        r"agrad\.take_along_axis: axis -4 is out of range",
    ),
    (
        "too many indices",
        lambda x, b: x[0, 0, 0, 0],
        IndexError,
        r"agrad\.getitem: too many indices for a tensor of shape \(3, 4, 2\)",
    ),
    (
        "too many mask axes",
        lambda x, b: x[0, 0, ag.asarray(MASK2, backend=b)],
        IndexError,
        r"agrad\.getitem: too many indices",
    ),
    (
        "mask shape",
        lambda x, b: x[0, ag.asarray(MASK2, backend=b)],
        IndexError,
        r"agrad\.getitem: boolean index of shape \(3, 4\) does not match axes 1\.\.2 \(shape "
        r"\(4, 2\)\)",
    ),
    (
        "0-d mask among other indices",
        lambda x, b: x[ag.asarray(True, backend=b), 0],
        IndexError,
        r"agrad\.getitem: a 0-d boolean index must be the whole key \(x\[m\], a new first axis "
        r"of length 1 if m else 0: .*got it among 2 indices; index in two steps instead",
    ),
    (
        "0-d mask update with values that do not fit",
        lambda x, b: ag.index_set(x, ag.asarray(True, backend=b), t(np.ones((2, 4, 2)), b)),
        ValueError,
        r"agrad\.index_set: values of shape \(2, 4, 2\) do not broadcast to x\[m\]'s shape "
        r"\(1, 3, 4, 2\) \(x of shape \(3, 4, 2\), m a 0-d boolean index that is True\)",
    ),
    (
        "0-d mask update with too many value axes",
        lambda x, b: ag.index_add(x, ag.asarray(False, backend=b), t(np.ones((1, 1, 3, 4, 2)), b)),
        ValueError,
        r"agrad\.index_add: values of shape \(1, 1, 3, 4, 2\) do not broadcast to x\[m\]'s "
        r"shape \(0, 3, 4, 2\)",
    ),
    (
        "two ellipses",
        lambda x, b: x[..., 0, ...],
        IndexError,
        r"agrad\.getitem: an index can only have one ellipsis",
    ),
    (
        "float index array",
        lambda x, b: x[t([0.0], b)],
        IndexError,
        r"agrad\.getitem: index arrays must be integer or boolean",
    ),
    ("float key", lambda x, b: x[0.5], IndexError, r"agrad\.getitem: only integers, slices"),
    (
        "arrays that do not broadcast",
        lambda x, b: x[int_tensor([0, 1], b), int_tensor([0, 1, 2], b)],
        IndexError,
        r"agrad\.getitem: index arrays of shapes \[\(2,\), \(3,\)\] cannot be broadcast",
    ),
    (
        "index_add too many",
        lambda x, b: ag.index_add(x, (0, 0, 0, 0), 1.0),
        IndexError,
        r"agrad\.index_add: too many indices",
    ),
]


@pytest.mark.parametrize(
    ("f", "error", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_the_op_and_the_shapes(backend, f, error, message):
    with pytest.raises(error, match=message):
        f(t(np.ones(SHAPE), backend), backend)


# ---- devices --------------------------------------------------------------------------------
def test_indexing_stays_on_a_non_default_device(rng):
    import array_api_strict  # the backend with a second device on every machine

    dev = array_api_strict.Device("device1")

    def on(a, **kw):
        return ag.asarray(a, backend="array_api_strict", device=dev, **kw)

    x = on(rng.normal(size=(3, 4)), requires_grad=True)
    v = on(rng.normal(size=(3, 4)), requires_grad=True)
    idx = on(np.array([0, 2, 0]))
    y = ag.sum(x[idx] ** 2) + ag.sum(x[1:, ::2]) + ag.sum(x[on(np.ones((3, 4), dtype=bool))])
    y = (
        y
        + ag.sum(ag.take(x, idx, axis=1))
        + ag.sum(ag.take_along_axis(x, on(np.zeros((3, 1), int)), axis=1))
    )
    y = y + ag.sum(ag.index_add(x, idx, v) ** 2)
    assert y.device == dev
    y.backward()
    assert x.grad.device == x.device == dev and v.grad.device == dev
    # an index on another device is refused by name
    with pytest.raises(
        ValueError,
        match=r"agrad\.getitem: inputs live on different backends or "
        r"devices",
    ):
        x[ag.asarray(np.array([0]), backend="array_api_strict")]


@pytest.mark.parametrize("dtype", ["float64", "int32", "uint8", "bool"])
def test_index_set_and_add_on_every_dtype_with_integer_arrays(backend, dtype):
    # array-api-strict's __setitem__ takes no integer arrays: agrad writes through a table of
    # flat positions, with no arithmetic on the values (it divided, which ints and bools refuse)
    x_np = np.zeros((2, 3), dtype=dtype)
    x = ag.asarray(x_np, backend=backend)
    key = (ag.asarray([1, 0, 1], backend=backend), ag.asarray([2, 0, 2], backend=backend))
    v_np = np.array([1, 1, 0], dtype=dtype)  # (1, 2) written twice: 1, then 0
    v = ag.asarray(v_np, backend=backend)
    want = x_np.copy()
    want[1, 2], want[0, 0] = v_np[2], v_np[1]  # the last write wins, as in NumPy
    np.testing.assert_array_equal(ag.index_set(x, key, v).numpy(), want)
    h = ag.asarray(x_np, backend=backend)
    h[key] = v  # x[key] = v is index_set
    np.testing.assert_array_equal(h.numpy(), want)
    added = x_np.copy()
    np.add.at(added, (np.array([1, 0, 1]), np.array([2, 0, 2])), v_np)  # bools: "or"
    np.testing.assert_array_equal(ag.index_add(x, key, v).numpy(), added)
    assert ag.index_set(x, key, v).dtype == x.dtype == ag.index_add(x, key, v).dtype


def test_repeated_writes_take_the_last_value_on_every_backend(backend, rng):
    x = t(np.zeros(4), backend)
    idx = ag.asarray([3, 1, 3, 3], backend=backend)
    y = ag.index_set(x, idx, t([1.0, 2.0, 5.0, 7.0], backend))
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0, 0.0, 7.0])
    # nothing written: x itself, unchanged
    empty = ag.asarray(np.zeros(0, dtype=np.int64), backend=backend)
    np.testing.assert_array_equal(ag.index_set(x, empty, 1.0).numpy(), np.zeros(4))


def test_a_mask_dimension_of_size_0_selects_nothing(backend, rng):
    # the standard: each mask dimension equals the axis' size "or is 0" (NumPy refuses (0,)
    # against an axis of 3): nothing is selected, and the gradient is all zeros
    x_np = rng.normal(size=(3, 4, 2))
    for mask_shape, out_shape in (((0,), (0, 4, 2)), ((3, 0), (0, 2)), ((0, 0), (0, 2))):
        mask = ag.asarray(np.zeros(mask_shape, dtype=bool), backend=backend)
        x = t(x_np, backend, requires_grad=True)
        y = x[mask]
        assert y.shape == out_shape
        ag.sum(y * 2.0).backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4, 2)))
        h = t(x_np, backend)
        h[mask] = 5.0  # and writes nothing
        np.testing.assert_array_equal(h.numpy(), x_np)
    with pytest.raises(IndexError, match=r"agrad\.getitem: boolean index of shape \(2, 0\)"):
        t(x_np, backend)[ag.asarray(np.zeros((2, 0), dtype=bool), backend=backend)]

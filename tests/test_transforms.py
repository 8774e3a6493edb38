"""jvp, linearize, jacobian (jacrev/jacfwd), hessian, hvp, and pytrees through every transform.

Results are checked against torch.func (when torch is installed) and against central finite
differences in float64, on every backend. Functions are written once against an Array API
namespace ``xp``: agrad's own, or array_api_compat's torch namespace for the reference.
"""

from __future__ import annotations

import collections
import functools
import sys
import types
import warnings

import numpy as np
import pytest

import agrad as ag
import agrad._op
import agrad._tape
import agrad.autodiff
from agrad._pytree import LEAF, tree_flatten, tree_unflatten
from agrad.autodiff import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    value_and_grad,
    vjp,
)


def t(values, backend):
    return ag.asarray(np.asarray(values, dtype=float), dtype=ag.float64, backend=backend)


def host(tree):
    """A pytree of agrad or torch tensors as NumPy arrays (same structure)."""
    leaves, tree_def = tree_flatten(tree)
    return tree_def.unflatten(
        [np.asarray(x.detach().numpy() if hasattr(x, "detach") else x) for x in leaves]
    )


def assert_trees_close(got, want, rtol=1e-10, atol=1e-12):
    got_leaves, got_tree = tree_flatten(host(got))
    want_leaves, want_tree = tree_flatten(host(want))
    assert got_tree == want_tree, f"{got_tree} != {want_tree}"
    for g, w in zip(got_leaves, want_leaves):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def fd_jacobian(f, x, eps=1e-6):
    """Central differences of ``f`` (tensor -> tensor) at ``x``: shape out.shape + x.shape."""
    base = x.numpy()
    out0 = np.asarray(f(x).numpy())
    J = np.zeros(out0.shape + base.shape)
    for idx in np.ndindex(base.shape):
        step = np.zeros_like(base)
        step[idx] = eps
        hi = f(ag.asarray(base + step, backend=x.backend)).numpy()
        lo = f(ag.asarray(base - step, backend=x.backend)).numpy()
        J[(Ellipsis, *idx)] = (hi - lo) / (2 * eps)
    return J


def fd_jvp(f, primals, tangents, eps=1e-6):
    """Central differences of ``f`` along ``tangents`` (pytrees): one array per output leaf."""
    leaves, tree_def = tree_flatten(tuple(primals))
    directions = tree_flatten(tuple(tangents))[0]

    def at(sign):
        moved = [x + sign * eps * v for x, v in zip(leaves, directions)]
        out = tree_flatten(f(*tree_def.unflatten(moved)))[0]
        return [np.asarray(o.numpy(), dtype=np.float64) for o in out]

    return [(hi - lo) / (2 * eps) for hi, lo in zip(at(1.0), at(-1.0))]


def contract(block, v):
    """``J v`` for a Jacobian block of shape out.shape + v.shape."""
    v = np.asarray(v.numpy())
    return np.tensordot(np.asarray(block.numpy()), v, axes=v.ndim)


@pytest.fixture(scope="module")
def torch_ref():
    """``(torch, torch.func, xp)`` with ``xp`` array_api_compat's torch namespace, or None
    without torch (the finite-difference checks still run)."""
    try:
        import array_api_compat.torch as xp
        import torch
    except ImportError:
        return None

    # torch.func.jvp's first call scripts its decompositions with the deprecated
    # torch.jit.script (a DeprecationWarning, an error here): warm it up with that one silenced
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        one = torch.ones(1, dtype=torch.float64)
        torch.func.jvp(torch.sin, (one,), (one,))
    return torch, torch.func, xp


def to_torch(tree, torch):
    leaves, tree_def = tree_flatten(tree)
    return tree_def.unflatten([torch.from_numpy(np.array(x.numpy())) for x in leaves])


# ---- the test functions, written once against a namespace ---------------------------------
def f_vec(xp, x, y):
    """R^3 x R^(2,3) -> R^(2,3): products, a reduction, a transcendental."""
    return xp.tanh(x * y) * xp.sum(x**2) + xp.sin(y)


def f_tree(xp, p, q):
    """Dict and list arguments, a dict of a tensor and a tuple output."""
    h = xp.tanh(p["w"] @ q[0] + p["b"])
    return {"h": h, "pair": (xp.sum(h * h), q[1] * xp.exp(p["b"]))}


def mlp_loss(xp, W1, b1, W2, b2, X, Y):
    """A 3-4-2 tanh MLP, mean softmax cross-entropy against one-hot ``Y``."""
    z = xp.tanh(X @ W1 + b1) @ W2 + b2
    m = xp.max(z, axis=1, keepdims=True)
    lse = m + xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True))
    return -xp.sum(Y * (z - lse)) / X.shape[0]


@pytest.fixture
def vec_args(rng):
    return rng.normal(size=3), rng.normal(size=(2, 3))


@pytest.fixture
def tree_args(rng):
    p = {"w": rng.normal(size=(2, 3)), "b": rng.normal(size=2)}
    q = [rng.normal(size=3), rng.normal(size=2)]
    return p, q


def tree_on(tree, backend):
    leaves, tree_def = tree_flatten(tree)
    return tree_def.unflatten([t(x, backend) for x in leaves])


# ---- jvp and linearize -------------------------------------------------------------------------
def test_jvp_matches_torch_and_finite_differences(backend, vec_args, rng, torch_ref):
    x, y = (t(a, backend) for a in vec_args)
    vx, vy = t(rng.normal(size=3), backend), t(rng.normal(size=(2, 3)), backend)
    out, tan = jvp(functools.partial(f_vec, ag), (x, y), (vx, vy))
    assert out.backend == tan.backend == backend and tan.dtype == ag.float64
    assert not out.requires_grad and not tan.requires_grad
    (want,) = fd_jvp(functools.partial(f_vec, ag), (x, y), (vx, vy))
    np.testing.assert_allclose(tan.numpy(), want, rtol=1e-6, atol=1e-8)
    if torch_ref:
        torch, tf, txp = torch_ref
        ref_out, ref_tan = tf.jvp(
            functools.partial(f_vec, txp), to_torch((x, y), torch), to_torch((vx, vy), torch)
        )
        assert_trees_close(out, ref_out)
        assert_trees_close(tan, ref_tan)


def test_jvp_of_pytrees_matches_torch_and_finite_differences(backend, tree_args, rng, torch_ref):
    p, q = tree_on(tree_args, backend)
    tangents = tree_on(
        (
            {"w": rng.normal(size=(2, 3)), "b": rng.normal(size=2)},
            [rng.normal(size=3), rng.normal(size=2)],
        ),
        backend,
    )
    out, tan = jvp(functools.partial(f_tree, ag), (p, q), tangents)
    assert set(tan) == {"h", "pair"} and isinstance(tan["pair"], tuple)
    want = fd_jvp(functools.partial(f_tree, ag), (p, q), tangents)
    for got, w in zip(tree_flatten(tan)[0], want):
        np.testing.assert_allclose(got.numpy(), w, rtol=1e-6, atol=1e-8)
    if torch_ref:
        torch, tf, txp = torch_ref
        ref = tf.jvp(
            functools.partial(f_tree, txp), to_torch((p, q), torch), to_torch(tangents, torch)
        )
        assert_trees_close(out, ref[0])
        assert_trees_close(tan, ref[1])


def test_jvp_zero_integer_and_nondifferentiable_outputs(backend):
    x = t([1.5, -2.5], backend)

    def f(x):
        return {
            "smooth": x**2,
            "floor": ag.floor(x),  # differentiable op, zero derivative
            "through_int": ag.astype(ag.astype(x, ag.int64), ag.float64),  # the path is cut
            "constant": ag.ones((3,), dtype=ag.float64, backend=backend),
            "python": 2.0,
            "argmax": ag.argmax(x),
            "positive": x > 0,
        }

    out, tan = jvp(f, (x,), (t([1.0, 1.0], backend),))
    np.testing.assert_allclose(tan["smooth"].numpy(), [3.0, -5.0])
    for k in ("floor", "through_int", "constant", "python"):
        assert tan[k].dtype == out[k].dtype == ag.float64 and tan[k].shape == out[k].shape
        np.testing.assert_array_equal(tan[k].numpy(), np.zeros(out[k].shape))
    # integer and boolean outputs: zeros of their own dtype, as torch.func.jvp
    assert tan["argmax"].dtype == ag.int64 and int(tan["argmax"]) == 0
    assert tan["positive"].dtype == ag.bool and not bool(ag.any(tan["positive"]))


def test_jvp_has_aux_and_python_scalar_leaves(backend):
    x = t([1.0, 2.0], backend)
    out, tan, aux = jvp(lambda x, s: (x * s, {"note": "hi"}), (x, 3.0), (x, 1.0), has_aux=True)
    assert aux == {"note": "hi"}
    np.testing.assert_allclose(tan.numpy(), [1 * 3 + 1, 2 * 3 + 2])  # v s + x ds
    assert tan.backend == backend


def count_work(monkeypatch):
    """Count recorded Nodes and reverse sweeps from here on."""
    counts = {"nodes": 0, "sweeps": 0}
    next_seq = agrad._tape._next_seq  # every Node draws one creation number

    def counting_seq():
        counts["nodes"] += 1
        return next_seq()

    sweep = agrad.autodiff.run_backward

    def counting_sweep(*args, **kwargs):
        counts["sweeps"] += 1
        return sweep(*args, **kwargs)

    monkeypatch.setattr(agrad._tape, "_next_seq", counting_seq)
    monkeypatch.setattr(agrad._op, "_next_seq", counting_seq)  # unary nodes are built inline
    monkeypatch.setattr(agrad.autodiff, "run_backward", counting_sweep)
    return counts


def test_jvp_costs_a_constant_number_of_evaluations(backend, monkeypatch):
    calls = []

    def f(x):
        calls.append(1)
        return ag.sum(ag.tanh(x) * ag.exp(-(x**2))) * x + ag.sin(x)

    counts = count_work(monkeypatch)
    per_size = {}
    for n in (10, 10_000):
        x = ag.asarray(np.linspace(-1.0, 1.0, n), backend=backend)
        counts.update(nodes=0, sweeps=0)
        f(ag.asarray(x, requires_grad=True))
        forward_nodes = counts["nodes"]
        counts.update(nodes=0, sweeps=0)
        calls.clear()
        _, tan = jvp(f, (x,), (ag.ones_like(x),))
        assert len(calls) == 1  # f runs once
        assert counts["sweeps"] == 2  # the recorded backward, and its backward
        assert counts["nodes"] <= 4 * forward_nodes  # forward + recorded backward
        per_size[n] = dict(counts)
        xs = x.numpy()
        s = np.sum(np.tanh(xs) * np.exp(-(xs**2)))
        ds = np.sum(
            (1 - np.tanh(xs) ** 2) * np.exp(-(xs**2)) - 2 * xs * np.tanh(xs) * np.exp(-(xs**2))
        )
        np.testing.assert_allclose(tan.numpy(), ds * xs + s + np.cos(xs), rtol=1e-10)
    assert per_size[10] == per_size[10_000]  # independent of the input size


def test_linearize_runs_f_once_for_many_tangents(backend, vec_args, rng, monkeypatch):
    x, y = (t(a, backend) for a in vec_args)
    calls = []

    def f(x, y):
        calls.append(1)
        return f_vec(ag, x, y)

    counts = count_work(monkeypatch)
    out, jvp_fn = linearize(f, x, y)
    assert counts["sweeps"] == 1 and len(calls) == 1
    for _ in range(3):
        vx, vy = t(rng.normal(size=3), backend), t(rng.normal(size=(2, 3)), backend)
        _, want = jvp(f, (x, y), (vx, vy))
        np.testing.assert_allclose(jvp_fn(vx, vy).numpy(), want.numpy(), rtol=1e-12)
    assert len(calls) == 1 + 3  # linearize once, plus the three jvp references
    np.testing.assert_allclose(out.numpy(), f_vec(ag, x, y).numpy())


def test_linearize_has_aux(backend):
    out, jvp_fn, aux = linearize(lambda x: (ag.exp(x), "aux"), t([0.0], backend), has_aux=True)
    assert aux == "aux"
    np.testing.assert_allclose(jvp_fn(t([2.0], backend)).numpy(), [2.0])


# ---- nesting ---------------------------------------------------------------------------------
def test_transforms_nest(backend, torch_ref):
    x, v = t([0.3, -0.7, 1.2], backend), t([1.0, 2.0, -1.0], backend)

    def f(xp, x):
        return xp.sin(x) * xp.sum(x**3)

    fa = functools.partial(f, ag)
    got = [
        grad(lambda x: ag.sum(jvp(fa, (x,), (v,))[1]))(x),  # d/dx of a JVP
        grad(lambda v: ag.sum(jvp(fa, (x,), (v,))[1] ** 2))(v),  # d/dv of a JVP
        jvp(lambda x: jvp(fa, (x,), (v,))[1], (x,), (v,))[1],  # a JVP of a JVP
        jacfwd(jacrev(fa))(x),
        jacrev(jacfwd(fa))(x),
        hessian(fa)(x),
    ]
    # against finite differences of first derivatives (themselves checked above)
    J = lambda x: jacrev(fa)(x)  # noqa: E731
    H = fd_jacobian(J, x)
    vs = v.numpy()
    np.testing.assert_allclose(got[0].numpy(), np.einsum("ijk,j->k", H, vs), atol=1e-6)
    Jv = contract(J(x), v)
    np.testing.assert_allclose(got[1].numpy(), 2 * J(x).numpy().T @ Jv, rtol=1e-9)
    np.testing.assert_allclose(got[2].numpy(), np.einsum("ijk,j,k->i", H, vs, vs), atol=1e-6)
    for h in got[3:]:
        assert h.shape == (3, 3, 3)
        np.testing.assert_allclose(h.numpy(), H, atol=1e-6)
    if torch_ref:
        torch, tf, txp = torch_ref
        ft = functools.partial(f, txp)
        tx, tv = to_torch((x, v), torch)
        want = [
            tf.grad(lambda x: tf.jvp(ft, (x,), (tv,))[1].sum())(tx),
            tf.grad(lambda v: (tf.jvp(ft, (tx,), (v,))[1] ** 2).sum())(tv),
            tf.jvp(lambda x: tf.jvp(ft, (x,), (tv,))[1], (tx,), (tv,))[1],
            tf.jacfwd(tf.jacrev(ft))(tx),
            tf.jacrev(tf.jacfwd(ft))(tx),
            tf.hessian(ft)(tx),
        ]
        assert_trees_close(got, want, rtol=1e-9)


def test_jvp_is_differentiable_against_finite_differences(backend):
    v = t([0.5, -1.0], backend)

    def directional(x):
        return jvp(lambda y: ag.exp(y) * ag.sum(y * y), (x,), (v,))[1]

    assert ag.testing.gradcheck(directional, t([0.2, 0.7], backend))


def test_jvp_sees_closed_over_leaves_that_require_grad(backend):
    w = ag.asarray(np.array([1.0, 2.0, 3.0]), backend=backend, requires_grad=True)
    x, v = t([0.5, -1.0, 2.0], backend), t([1.0, 1.0, -2.0], backend)
    out, tan = jvp(lambda x: w * x**2, (x,), (v,))
    ag.sum(tan).backward()  # d/dw sum(2 w x v) = 2 x v
    np.testing.assert_allclose(w.grad.numpy(), 2 * x.numpy() * v.numpy())


# ---- jacobian ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_matches_torch_and_finite_differences(backend, vec_args, mode, torch_ref):
    x, y = (t(a, backend) for a in vec_args)
    Jx, Jy = jacobian(functools.partial(f_vec, ag), argnums=(0, 1), mode=mode)(x, y)
    assert Jx.shape == (2, 3, 3) and Jy.shape == (2, 3, 2, 3)  # out.shape + in.shape
    assert Jx.backend == backend
    np.testing.assert_allclose(
        Jy.numpy(), fd_jacobian(lambda y: f_vec(ag, x, y), y), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        Jx.numpy(), fd_jacobian(lambda x: f_vec(ag, x, y), x), rtol=1e-6, atol=1e-8
    )
    if torch_ref:
        torch, tf, txp = torch_ref
        ref = (tf.jacrev if mode == "rev" else tf.jacfwd)(functools.partial(f_vec, txp), (0, 1))
        assert_trees_close((Jx, Jy), ref(*to_torch((x, y), torch)))
    J0 = jacobian(functools.partial(f_vec, ag), mode=mode)(x, y)  # an int argnums: no tuple
    np.testing.assert_allclose(J0.numpy(), Jx.numpy())


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_of_pytrees_nests_like_jax(backend, tree_args, rng, mode, torch_ref):
    p, q = tree_on(tree_args, backend)
    J = jacobian(functools.partial(f_tree, ag), argnums=(0, 1), mode=mode)(p, q)
    # out_tree of (tuple over argnums of in_tree)
    assert set(J) == {"h", "pair"}
    assert J["h"][0]["w"].shape == (2, 2, 3) and J["h"][1][1].shape == (2, 2)
    assert J["pair"][0][0]["b"].shape == (2,) and J["pair"][1][1][1].shape == (2, 2)
    # the blocks, contracted with a direction, are the finite differences along it
    leaves, in_tree = tree_flatten((p, q))
    vs = [t(rng.normal(size=x.shape), backend) for x in leaves]
    want = fd_jvp(functools.partial(f_tree, ag), (p, q), in_tree.unflatten(vs))
    blocks = tree_flatten(J)[0]  # out leaf after out leaf, each its in leaves in order
    for i, w in enumerate(want):
        row = blocks[i * len(vs) : (i + 1) * len(vs)]
        np.testing.assert_allclose(sum(contract(b, v) for b, v in zip(row, vs)), w, atol=1e-7)
    if torch_ref:
        torch, tf, txp = torch_ref
        jac = tf.jacrev if mode == "rev" else tf.jacfwd
        assert_trees_close(J, jac(functools.partial(f_tree, txp), (0, 1))(*to_torch((p, q), torch)))
    J1 = jacobian(functools.partial(f_tree, ag), argnums=1, mode=mode)(p, q)
    assert isinstance(J1["h"], list)
    np.testing.assert_allclose(J1["h"][0].numpy(), J["h"][1][0].numpy())


def test_jacobian_modes_agree_on_wide_and_tall_functions(backend, rng):
    A = t(rng.normal(size=(2, 5)), backend)
    for f, x in (
        (lambda x: ag.tanh(A @ x), rng.normal(size=5)),
        (lambda x: ag.exp(ag.matrix_transpose(A) @ x), rng.normal(size=2)),
    ):
        x = t(x, backend)
        rev, fwd = jacrev(f)(x), jacfwd(f)(x)
        np.testing.assert_allclose(rev.numpy(), fwd.numpy(), rtol=1e-10)  # rounding only
        np.testing.assert_allclose(rev.numpy(), fd_jacobian(f, x), rtol=1e-6, atol=1e-8)


def test_jacobian_sweep_counts(backend, monkeypatch):
    x = t(np.linspace(0.1, 1.0, 6), backend)
    calls = []

    def f(x):
        calls.append(1)
        return ag.stack([ag.sum(x**2), ag.prod(x)])

    counts = count_work(monkeypatch)
    jacrev(f)(x)
    assert (len(calls), counts["sweeps"]) == (1, 2)  # one backward per output element
    calls.clear()
    counts.update(sweeps=0)
    jacfwd(f)(x)
    assert (len(calls), counts["sweeps"]) == (1, 1 + 6)  # one linearization, a JVP per input


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_zero_integer_and_independent_blocks(backend, mode):
    x = t([1.5, -2.5], backend)
    J = jacobian(lambda x, c: (ag.floor(x), ag.argmax(x), x > 0, c * 2.0, 3.0), mode=mode)(
        x, t([1.0, 2.0, 3.0], backend)
    )
    floor, argmax, positive, const, python = J
    assert floor.shape == (2, 2) and floor.dtype == ag.float64
    assert argmax.shape == (2,) and argmax.dtype == ag.int64
    assert positive.shape == (2, 2) and positive.dtype == ag.bool
    assert const.shape == (3, 2) and python.shape == (2,)
    for block in J:
        assert not np.any(block.numpy())


def test_jacobian_has_aux_and_kwargs(backend):
    x = t([1.0, 2.0], backend)
    J, aux = jacobian(lambda x, *, k: (x * k, "aux"), has_aux=True)(x, k=3.0)
    assert aux == "aux"
    np.testing.assert_allclose(J.numpy(), 3.0 * np.eye(2))


def test_jacobian_of_empty_and_scalar_shapes(backend):
    x = t(2.0, backend)
    assert float(jacobian(lambda x: x**3)(x)) == 12.0
    assert float(jacfwd(lambda x: x**3)(x)) == 12.0
    e = ag.zeros((0,), dtype=ag.float64, backend=backend)
    for mode in ("rev", "fwd"):
        assert jacobian(lambda e: e * 2.0, mode=mode)(e).shape == (0, 0)
        assert jacobian(lambda x, e: ag.sum(e) + x, mode=mode, argnums=1)(x, e).shape == (0,)


# ---- hessian and hvp ---------------------------------------------------------------------------
@pytest.fixture
def mlp(rng):
    params = (
        rng.normal(size=(3, 4)),
        0.1 * rng.normal(size=4),
        rng.normal(size=(4, 2)),
        0.1 * rng.normal(size=2),
    )
    X = rng.normal(size=(5, 3))
    Y = np.eye(2)[rng.integers(0, 2, size=5)]
    return params, X, Y


def test_hessian_of_mlp_loss_matches_torch_and_finite_differences(backend, mlp, torch_ref):
    params, X_np, Y_np = mlp
    params = tuple(t(p, backend) for p in params)
    X, Y = t(X_np, backend), t(Y_np, backend)
    loss = functools.partial(mlp_loss, ag, X=X, Y=Y)
    H = hessian(loss, argnums=(0, 1, 2, 3))(*params)
    assert len(H) == 4 and all(len(row) == 4 for row in H)
    assert H[0][2].shape == (3, 4, 4, 2) and H[3][1].shape == (2, 4)
    if torch_ref:
        torch, tf, txp = torch_ref
        tX, tY = torch.from_numpy(X_np), torch.from_numpy(Y_np)
        ref = tf.hessian(functools.partial(mlp_loss, txp, X=tX, Y=tY), argnums=(0, 1, 2, 3))
        assert_trees_close(H, ref(*to_torch(params, torch)), rtol=1e-9, atol=1e-12)
    # the same Hessian as one 26 x 26 matrix: symmetric, and the finite differences of the
    # gradient with respect to all weights packed in one vector
    sizes = [p.size for p in params]
    full = np.block(
        [[H[a][b].numpy().reshape(sizes[a], sizes[b]) for b in range(4)] for a in range(4)]
    )
    np.testing.assert_allclose(full, full.T, atol=1e-12)
    cuts = np.cumsum([0, *sizes])

    def packed_loss(theta):
        parts = [ag.reshape(theta[cuts[i] : cuts[i + 1]], params[i].shape) for i in range(4)]
        return loss(*parts)

    theta = t(np.concatenate([p.numpy().reshape(-1) for p in params]), backend)
    np.testing.assert_allclose(full, fd_jacobian(grad(packed_loss), theta), atol=1e-6)
    np.testing.assert_allclose(hessian(packed_loss)(theta).numpy(), full, atol=1e-12)


def test_hessian_of_a_dict_of_parameters(backend, rng):
    p = {"a": t(rng.normal(size=2), backend), "b": t(rng.normal(), backend)}
    H = hessian(lambda p: ag.sum(p["a"] ** 3) * p["b"] ** 2)(p)
    a, b = p["a"].numpy(), float(p["b"])
    np.testing.assert_allclose(H["a"]["a"].numpy(), np.diag(6 * a * b**2))
    np.testing.assert_allclose(H["a"]["b"].numpy(), 6 * a**2 * b)
    np.testing.assert_allclose(H["b"]["a"].numpy(), 6 * a**2 * b)
    np.testing.assert_allclose(float(H["b"]["b"]), 2 * np.sum(a**3))


def test_hessian_has_aux_and_counts(backend, monkeypatch):
    calls = []

    def f(x):
        calls.append(1)
        return ag.sum(ag.exp(x) * x), "aux"

    counts = count_work(monkeypatch)
    H, aux = hessian(f, has_aux=True)(t([0.0, 1.0, 2.0], backend))
    assert aux == "aux" and len(calls) == 1
    assert counts["sweeps"] == 1 + 3  # the recorded gradient, then one backward per element
    x = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(H.numpy(), np.diag(np.exp(x) * (x + 2)))


def test_hvp_matches_hessian_and_torch(backend, mlp, rng, torch_ref):
    params, X_np, Y_np = mlp
    params = tuple(t(p, backend) for p in params)
    vs = tuple(t(rng.normal(size=p.shape), backend) for p in params)
    loss = functools.partial(mlp_loss, ag, X=t(X_np, backend), Y=t(Y_np, backend))
    out, hv = hvp(loss, params, vs)
    assert isinstance(hv, tuple) and [h.shape for h in hv] == [p.shape for p in params]
    np.testing.assert_allclose(float(out), float(loss(*params)))
    assert not out.requires_grad and not hv[0].requires_grad
    H = hessian(loss, argnums=(0, 1, 2, 3))(*params)
    for a in range(4):
        want = sum(np.tensordot(H[a][b].numpy(), vs[b].numpy(), axes=vs[b].ndim) for b in range(4))
        np.testing.assert_allclose(hv[a].numpy(), want, rtol=1e-9, atol=1e-12)
    if not torch_ref:
        return
    torch, tf, txp = torch_ref
    tloss = functools.partial(mlp_loss, txp, X=torch.from_numpy(X_np), Y=torch.from_numpy(Y_np))
    ref_out, ref_hv = torch.autograd.functional.hvp(
        tloss, to_torch(params, torch), to_torch(vs, torch)
    )
    assert_trees_close(hv, ref_hv, rtol=1e-9)
    # torch.func's recipe: forward-over-reverse
    tp, tv = to_torch(params, torch), to_torch(vs, torch)
    fwd_over_rev = tf.jvp(tf.grad(tloss, argnums=(0, 1, 2, 3)), tp, tv)[1]
    assert_trees_close(hv, fwd_over_rev, rtol=1e-9)


def test_hvp_pytree_aux_and_cost(backend, monkeypatch):
    p = {"w": t([1.0, 2.0], backend), "s": 3.0}
    counts = count_work(monkeypatch)
    out, (hv,), aux = hvp(
        lambda p: (ag.sum(p["w"] ** 2) * p["s"], "aux"),
        (p,),
        ({"w": t([1.0, 0.0], backend), "s": 1.0},),
        has_aux=True,
    )
    assert counts["sweeps"] == 2 and aux == "aux"
    # H = [[2s, 0, 2w0], [0, 2s, 2w1], [2w0, 2w1, 0]] at w = (1, 2), s = 3; v = (1, 0, 1)
    np.testing.assert_allclose(hv["w"].numpy(), [6.0 + 2.0, 0.0 + 4.0])
    np.testing.assert_allclose(float(hv["s"]), 2.0)
    assert hv["s"].backend == backend


def test_hvp_of_an_output_independent_of_the_input(backend):
    out, (hv,) = hvp(
        lambda x: ag.asarray(1.0, backend=backend), (t([1.0], backend),), (t([1.0], backend),)
    )
    np.testing.assert_array_equal(hv.numpy(), [0.0])


# ---- vjp, grad and value_and_grad on pytrees ---------------------------------------------------
def test_vjp_of_pytrees_matches_torch_and_finite_differences(backend, tree_args, rng, torch_ref):
    p, q = tree_on(tree_args, backend)
    out, vjp_fn = vjp(functools.partial(f_tree, ag), p, q)
    ct = {"h": t(rng.normal(size=2), backend), "pair": (t(1.5, backend), t([1.0, -1.0], backend))}
    gp, gq = vjp_fn(ct)
    assert set(gp) == {"w", "b"} and isinstance(gq, list)
    assert_trees_close(vjp_fn(ct), (gp, gq))  # reusable
    # the dot-product test: <ct, J v> by finite differences = <vjp(ct), v>
    leaves, in_tree = tree_flatten((p, q))
    vs = [t(rng.normal(size=x.shape), backend) for x in leaves]
    jv = fd_jvp(functools.partial(f_tree, ag), (p, q), in_tree.unflatten(vs))
    lhs = sum(np.sum(c.numpy() * w) for c, w in zip(tree_flatten(ct)[0], jv))
    rhs = sum(np.sum(g.numpy() * v.numpy()) for g, v in zip(tree_flatten((gp, gq))[0], vs))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-7)
    if torch_ref:
        torch, tf, txp = torch_ref
        ref_out, ref_fn = tf.vjp(functools.partial(f_tree, txp), *to_torch((p, q), torch))
        assert_trees_close(out, ref_out)
        assert_trees_close((gp, gq), ref_fn(to_torch(ct, torch)))


def test_vjp_ignores_cotangents_of_integer_outputs(backend):
    x = t([1.0, 3.0], backend)
    out, vjp_fn = vjp(lambda x: (x * 2.0, ag.argmax(x)), x)
    (g,) = vjp_fn((t([1.0, 1.0], backend), ag.asarray(7, backend=backend)))
    np.testing.assert_allclose(g.numpy(), [2.0, 2.0])


def test_grad_and_value_and_grad_take_pytrees(backend):
    params = {"w": t([1.0, 2.0], backend), "b": [t(0.5, backend), 2.0]}

    def loss(params, x):
        return ag.sum(params["w"] * x) * params["b"][0] + params["b"][1] ** 2

    x = t([3.0, 4.0], backend)
    g = grad(loss)(params, x)
    assert set(g) == {"w", "b"} and isinstance(g["b"], list)
    np.testing.assert_allclose(g["w"].numpy(), 0.5 * x.numpy())
    np.testing.assert_allclose(float(g["b"][0]), 11.0)
    assert float(g["b"][1]) == 4.0 and g["b"][1].backend == backend  # a Python float leaf
    v, (gp, gx) = value_and_grad(loss, argnums=(0, 1))(params, x)
    assert float(v) == 11.0 * 0.5 + 4.0 and not v.requires_grad
    np.testing.assert_allclose(gx.numpy(), 0.5 * params["w"].numpy())


def test_namedtuple_and_none_in_pytrees(backend):
    P = collections.namedtuple("P", ["w", "extra"])
    p = P(w=t([1.0, 2.0], backend), extra=None)
    g = grad(lambda p: ag.sum(p.w**2))(p)
    assert isinstance(g, P) and g.extra is None
    np.testing.assert_allclose(g.w.numpy(), [2.0, 4.0])


# ---- progress bars -----------------------------------------------------------------------------
class FakeBar:
    made: list = []

    def __init__(self, **kwargs):
        self.kwargs, self.n, self.closed = kwargs, 0, False
        FakeBar.made.append(self)

    def update(self, k):
        self.n += k

    def close(self):
        self.closed = True


@pytest.fixture
def fake_tqdm(monkeypatch):
    module = types.ModuleType("tqdm")
    module.tqdm = FakeBar
    monkeypatch.setitem(sys.modules, "tqdm", module)
    FakeBar.made = []
    return FakeBar


def test_long_transforms_show_a_delayed_progress_bar(backend, fake_tqdm):
    x = t(np.linspace(0.0, 1.0, 4), backend)
    jacobian(ag.sin, mode="fwd")(x)
    hessian(lambda x: ag.sum(ag.sin(x)))(x)
    bars = fake_tqdm.made
    assert [b.kwargs["total"] for b in bars] == [4, 4]
    assert all(b.kwargs["delay"] == 2 and b.closed and b.n == 4 for b in bars)
    assert bars[0].kwargs["desc"] == "agrad.jacobian (fwd)"
    fake_tqdm.made = []
    jacrev(ag.sin, progress=False)(x)
    hessian(lambda x: ag.sum(ag.sin(x)), progress=False)(x)
    assert fake_tqdm.made == []


def test_progress_without_tqdm_installed(backend, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    J = jacobian(ag.exp)(t([0.0, 0.0], backend))
    np.testing.assert_allclose(J.numpy(), np.eye(2))


# ---- errors ------------------------------------------------------------------------------------
def test_argument_errors(backend):
    x = t([1.0, 2.0], backend)
    with pytest.raises(
        ValueError,
        match=r"agrad.jacobian: mode must be 'rev' .* or 'fwd' .*"
        r"got 'forward'",
    ):
        jacobian(ag.sin, mode="forward")
    with pytest.raises(ValueError, match=r"agrad.hessian: argnums 2 is out of range for 1"):
        hessian(ag.sin, argnums=2)(x)
    with pytest.raises(ValueError, match=r"agrad.jacrev: argnums is empty; name at least one"):
        jacrev(ag.sin, argnums=())(x)
    with pytest.raises(TypeError, match=r"agrad.grad: argnums must be an int or a tuple of ints"):
        grad(ag.sin, argnums="0")(x)
    with pytest.raises(
        TypeError,
        match=r"agrad.jvp: primals must be a tuple \(or list\).*"
        r"wrap a single argument as \(x,\)",
    ):
        jvp(ag.sin, x, (x,))
    with pytest.raises(TypeError, match=r"agrad.hvp: tangents must be a tuple"):
        hvp(ag.sin, (x,), x)
    with pytest.raises(ValueError, match=r"agrad.jvp: got 2 primal\(s\) but 1 tangent\(s\)"):
        jvp(lambda a, b: a * b, (x, x), (x,))
    int_leaf = {"w": x, "n": ag.asarray(np.array([1, 2]), backend=backend)}
    with pytest.raises(
        TypeError,
        match=r"agrad.grad: argument 0\['n'\] has dtype int64; only "
        r"floating-point arguments can be differentiated",
    ):
        grad(lambda p: ag.sum(p["w"]))(int_leaf)
    with pytest.raises(
        TypeError, match=r"agrad.jacobian: argument 1\[0\] must be a tensor, got str"
    ):
        jacobian(lambda a, b: a, argnums=1)(x, ["no"])


def test_tangent_and_cotangent_errors(backend):
    x = t([1.0, 2.0], backend)
    p = {"a": x, "b": x}
    with pytest.raises(
        ValueError,
        match=r"agrad.jvp: the tangents have structure "
        r"PyTreeDef\(\(\{'a': \*\},\)\) but the primals have structure "
        r"PyTreeDef\(\(\{'a': \*, 'b': \*\},\)\)",
    ):
        jvp(lambda p: p["a"], (p,), ({"a": x},))
    with pytest.raises(
        ValueError,
        match=r"agrad.jvp: the tangent\[0\]\['b'\] has shape \(3,\) "
        r"but the primal\[0\]\['b'\] has shape \(2,\); they must match",
    ):
        jvp(lambda p: p["a"], (p,), ({"a": x, "b": t([1.0, 2.0, 3.0], backend)},))
    with pytest.raises(ValueError, match=r"agrad.hvp: the tangent\[0\] has shape \(1,\)"):
        hvp(lambda x: ag.sum(x), (x,), (t([1.0], backend),))
    _, jvp_fn = linearize(ag.sin, x)
    with pytest.raises(ValueError, match=r"agrad.linearize: the tangents have structure"):
        jvp_fn(x, x)
    _, vjp_fn = vjp(lambda x: {"y": x, "z": (x, x)}, x)
    with pytest.raises(
        ValueError,
        match=r"agrad.vjp: the cotangent has structure "
        r"PyTreeDef\(\{'y': \*\}\) but the output has structure",
    ):
        vjp_fn({"y": x})
    with pytest.raises(
        ValueError,
        match=r"agrad.vjp: the cotangent\['z'\]\[1\] has shape \(1,\) "
        r"but the output\['z'\]\[1\] has shape \(2,\)",
    ):
        vjp_fn({"y": x, "z": (x, t([1.0], backend))})
    other = "numpy" if backend != "numpy" else "array_api_strict"
    with pytest.raises(
        ValueError,
        match=rf"agrad.jvp: the tangent\[0\] is {other} on .* but "
        rf"the primal\[0\] is {backend} on .*move it with .to_device",
    ):
        jvp(ag.sin, (x,), (ag.asarray([1.0, 1.0], backend=other),))


def test_output_errors(backend):
    x = t([1.0, 2.0], backend)
    with pytest.raises(
        TypeError,
        match=r"agrad.jacobian: the function must return a tensor "
        r"\(or a tuple, list or dict of tensors\), got str at output\['name'\]; "
        r"return other values as aux with has_aux=True",
    ):
        jacobian(lambda x: {"y": x, "name": "x"})(x)
    with pytest.raises(
        TypeError,
        match=r"agrad.jvp: with has_aux=True the function must return "
        r"\(output, aux\), got Tensor",
    ):
        jvp(ag.sin, (x,), (x,), has_aux=True)
    with pytest.raises(
        TypeError,
        match=r"agrad.hvp: the function must return a one-element "
        r"tensor, got shape \(2,\)",
    ):
        hvp(ag.sin, (x,), (x,))
    with pytest.raises(
        TypeError,
        match=r"agrad.grad: the function must return a tensor, got "
        r"tuple; to return \(output, aux\) pass has_aux=True",
    ):
        grad(lambda x: (ag.sum(x), 1))(x)


# ---- the pytree module -------------------------------------------------------------------------
def test_pytree_flatten_unflatten_round_trip():
    P = collections.namedtuple("P", "a b")
    tree = {"z": [1, (2, None)], "a": P(a=3, b={"k": 4}), 5: "leaf"}
    with pytest.raises(TypeError):
        sorted(tree)  # mixed key types: insertion order is used
    leaves, tree_def = tree_flatten(tree)
    assert leaves == [1, 2, 3, 4, "leaf"]
    assert tree_def.num_leaves == 5
    back = tree_unflatten(tree_def, leaves)
    assert back == tree and list(back) == list(tree) and isinstance(back["a"], P)
    assert tree_def.paths() == ["['z'][0]", "['z'][1][0]", "['a'].a", "['a'].b['k']", "[5]"]
    assert repr(tree_def) == "PyTreeDef({'z': [*, (*, None)], 'a': P(a=*, b={'k': *}), 5: *})"
    assert tree_flatten(7) == ([7], LEAF) and LEAF.is_leaf and LEAF.paths() == [""]
    # sorted keys: the order a dict was built in does not change its structure
    assert tree_flatten({"b": 1, "a": 2})[1] == tree_flatten({"a": 0, "b": 0})[1]
    assert tree_flatten({"b": 1, "a": 2})[0] == [2, 1]
    assert tree_flatten((1,))[1] != tree_flatten([1])[1]
    assert hash(tree_flatten((1, [2]))[1]) == hash(tree_flatten((3, [4]))[1])
    with pytest.raises(ValueError, match=r"has 2 leaves, got 3"):
        tree_flatten((1, 2))[1].unflatten([1, 2, 3])

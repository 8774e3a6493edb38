"""The tape: accumulation, retain_graph, create_graph, freeing, deep graphs, grad mode."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import agrad as ag
from agrad.testing import gradcheck, gradgradcheck


def leaf(values, backend, dtype=ag.float64):
    return ag.asarray(
        np.asarray(values, dtype=float), dtype=dtype, backend=backend, requires_grad=True
    )


def test_leaf_grads_accumulate_across_backward_calls(backend):
    x = leaf([1.0, 2.0], backend)
    ag.sum(x * x).backward()
    ag.sum(3.0 * x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0 + 3.0, 4.0 + 3.0])


def test_shared_subexpression_accumulates(backend):
    # y = a*b + a  with a = x^2: both paths through a add up (the shared trunk)
    x = leaf([0.5, -1.5], backend)
    a = x * x
    y = ag.sum(a * a + a)
    y.backward()
    xv = np.array([0.5, -1.5])
    np.testing.assert_allclose(x.grad.numpy(), 4 * xv**3 + 2 * xv)


def test_second_backward_through_freed_graph_says_retain_graph(backend):
    x = leaf([1.0, 2.0], backend)
    y = ag.sum(ag.exp(x))
    y.backward()
    with pytest.raises(RuntimeError, match=r"second time.*'sum'.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_repeated_backward(backend):
    x = leaf([1.0, 2.0], backend)
    y = ag.sum(ag.exp(x))
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]))


def test_create_graph_gives_differentiable_grads(backend):
    x = leaf([0.3, 0.7], backend)
    y = ag.sum(ag.sin(x) * x)
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and not g.is_leaf
    x.grad = None
    ag.sum(g).backward()
    xv = np.array([0.3, 0.7])
    # d/dx (cos x * x + sin x) = -sin x * x + 2 cos x
    np.testing.assert_allclose(x.grad.numpy(), -np.sin(xv) * xv + 2 * np.cos(xv))


def test_backward_needs_a_cotangent_for_non_scalar_outputs(backend):
    x = leaf([1.0, 2.0], backend)
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*one-element outputs"):
        (x * 2.0).backward()
    (x * 2.0).backward(ag.asarray(np.array([1.0, 10.0]), backend=backend))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_checks_the_cotangent_shape(backend):
    x = leaf([1.0, 2.0], backend)
    with pytest.raises(
        ValueError, match=r"cotangent has shape \(3,\) but the output has shape \(2,\)"
    ):
        (x * 2.0).backward(ag.asarray(np.ones(3), backend=backend))


def test_backward_on_tensor_without_graph_is_an_error(backend):
    x = ag.asarray(np.ones(2), backend=backend)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.sum(x).backward()


def test_backward_on_a_leaf_seeds_its_own_grad(backend):
    x = leaf(3.0, backend)
    x.backward()
    assert float(x.grad) == 1.0


def test_no_grad_records_nothing_and_is_per_thread(backend):
    x = leaf([1.0], backend)
    seen = {}

    def other_thread():
        seen["enabled"] = ag.is_grad_enabled()
        seen["rg"] = (x * 2.0).requires_grad

    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = x * 2.0
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        with ag.enable_grad():
            assert (x * 2.0).requires_grad
    assert ag.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert seen == {"enabled": True, "rg": True}


def test_grad_mode_decorators_and_set_grad_enabled(backend):
    x = leaf([1.0], backend)

    @ag.no_grad()
    def f(t):
        return t * 2.0

    assert not f(x).requires_grad
    with ag.set_grad_enabled(False):
        assert not (x * 1.0).requires_grad
        with ag.set_grad_enabled(True):
            assert (x * 1.0).requires_grad
    assert ag.is_grad_enabled()


def test_integer_and_bool_tensors_cannot_require_grad(backend):
    with pytest.raises(
        TypeError, match=r"only floating-point tensors can require gradients, got dtype int64"
    ):
        ag.asarray(np.array([1, 2]), dtype=ag.int64, backend=backend, requires_grad=True)
    b = ag.asarray(np.array([True]), backend=backend)
    with pytest.raises(TypeError, match="got dtype bool"):
        b.requires_grad_()


def test_ops_with_integer_results_do_not_record(backend):
    x = leaf([1.5, 2.5], backend)
    i = ag.astype(x, ag.int64)
    assert not i.requires_grad and i.is_leaf
    assert not (x > 2.0).requires_grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradients_keep_dtype_backend_and_device(backend, dtype):
    x = leaf([1.0, 2.0], backend, dtype=getattr(ag, dtype))
    ag.sum(ag.tanh(x) * 2.0 + x @ x).backward()
    g = x.grad
    assert (g.dtype, g.backend, g.device, g.shape) == (x.dtype, x.backend, x.device, x.shape)


def test_float16_gradients_stay_float16():
    x = ag.asarray(np.array([0.5, 1.0]), dtype=ag.float16, requires_grad=True)
    ag.sum(x * x).backward()
    assert x.grad.dtype == ag.float16
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 2.0])


def test_mixed_precision_gradient_is_cast_back(backend):
    x = leaf([1.0, 2.0], backend, dtype=ag.float32)
    w = leaf([3.0, 4.0], backend, dtype=ag.float64)
    ag.sum(x * w).backward()  # the product is float64; x's gradient comes back float32
    assert x.grad.dtype == ag.float32 and w.grad.dtype == ag.float64
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_broadcasting_is_undone_for_every_input(backend):
    a = leaf(np.ones((2, 3)), backend)
    b = leaf(np.ones(3), backend)
    c = leaf(np.ones((2, 1)), backend)
    s = leaf(2.0, backend)
    ag.sum(a * b * c * s).backward()
    assert (a.grad.shape, b.grad.shape, c.grad.shape, s.grad.shape) == ((2, 3), (3,), (2, 1), ())
    np.testing.assert_allclose(b.grad.numpy(), [4.0, 4.0, 4.0])
    np.testing.assert_allclose(c.grad.numpy(), [[6.0], [6.0]])
    assert float(s.grad) == 6.0


def test_a_vjp_returning_an_impossible_shape_is_reported():
    from agrad._op import primitive

    @primitive(name="bad_shape_op_for_test")
    def bad(xp, x):
        return x * 1.0

    @bad.defvjp
    def _(xp, g, out, x):
        return xp.ones((5,))

    x = ag.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        ValueError, match=r"VJP of op 'bad_shape_op_for_test'.*shape \(5,\).*shape \(2,\)"
    ):
        ag.sum(bad(x)).backward()


def test_a_vjp_returning_an_integer_gradient_is_reported():
    from agrad._op import primitive

    @primitive(name="bad_dtype_op_for_test")
    def bad(xp, x):
        return x * 1.0

    @bad.defvjp
    def _(xp, g, out, x):
        return xp.astype(g, xp.int64)

    x = ag.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"VJP of op 'bad_dtype_op_for_test' returned a int64"):
        ag.sum(bad(x)).backward()


def test_op_without_vjp_is_an_explicit_error():
    from agrad._op import primitive

    @primitive(name="no_vjp_op_for_test")
    def novjp(xp, x):
        return x * 1.0

    x = ag.asarray([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="op 'no_vjp_op_for_test' has no VJP"):
        ag.sum(novjp(x)).backward()


def test_retain_grad_on_intermediate(backend):
    x = leaf([1.0, 2.0], backend)
    h = x * 3.0
    h.retain_grad()
    ag.sum(h * h).backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])


def test_results_are_deterministic(backend):
    def run():
        x = leaf(np.linspace(-1, 1, 7), backend)
        y = x
        for _ in range(20):
            y = ag.sin(y) * y + ag.cos(x)
        ag.sum(y).backward()
        return x.grad.numpy()

    np.testing.assert_array_equal(run(), run())


def test_long_chain_has_no_recursion_limit():
    x = ag.asarray(1.0, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    y.backward()
    assert float(x.grad) == 1.0


@pytest.mark.slow
def test_chain_of_a_million_ops_runs_and_is_released():
    x = ag.asarray(1.0, requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = y + 1e-6
    y.backward()
    assert float(x.grad) == 1.0
    probe = weakref.ref(y._node)
    del y
    assert probe() is None


def test_dropped_graph_is_freed_without_the_garbage_collector(backend):
    gc.disable()
    try:
        x = leaf(np.ones(4), backend)
        y = ag.exp(ag.sin(x * 2.0) + x)
        node = weakref.ref(y._node)
        data = weakref.ref(y)
        del y
        assert node() is None and data() is None
        z = ag.sum(ag.tanh(x) * x)
        z.backward()
        node = weakref.ref(z._node)
        del z
        assert node() is None
    finally:
        gc.enable()


def test_tensors_support_weak_references(backend):
    x = ag.asarray(np.ones(2), backend=backend)
    r = weakref.ref(x)
    assert r() is x
    del x
    assert r() is None


def test_retain_grad_on_outputs_of_a_multi_output_op(backend):
    a = ag.asarray(np.array([[3.0, 1.0], [1.0, 2.0]]), backend=backend, requires_grad=True)
    w, v = ag.linalg.eigh(a)
    w.retain_grad()
    v.retain_grad()
    ag.sum(w * w).backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * w.numpy())
    assert v.grad is None  # no gradient reached the eigenvectors
    np.testing.assert_allclose(a.grad.numpy(), 2 * a.numpy())  # d tr(A^2) = 2A


def test_gradients_with_respect_to_an_intermediate_and_its_ancestor(backend):
    from agrad._tape import run_backward

    x = ag.asarray(np.array([1.0, 2.0]), backend=backend, requires_grad=True)
    h = x * 3.0
    z = ag.sum(h * h)
    seed = ag.ones_like(z).data
    gh, gx = run_backward([z], [seed], inputs=[h, x])
    np.testing.assert_allclose(gh.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(gx.numpy(), [18.0, 36.0])
    assert x.grad is None  # nothing accumulates when inputs are named


def test_gradient_through_a_sibling_output(backend):
    from agrad._tape import run_backward

    a = ag.asarray(np.array([[3.0, 1.0], [1.0, 2.0]]), backend=backend, requires_grad=True)
    w, v = ag.linalg.eigh(a)
    y = ag.sum(w * w)
    gv, ga = run_backward([y], [ag.ones_like(y).data], inputs=[v, a])
    assert gv is None
    np.testing.assert_allclose(ga.numpy(), 2 * a.numpy())


def test_complex_gradients_follow_pytorchs_convention(backend):
    # L = sum |exp(z) w + z.w|^2; its gradient dL/dRe + i dL/dIm, worked out by hand below
    zn = np.array([1 + 2j, -0.5 + 0.3j])
    wn = np.array([0.7 - 1j, 2 + 0.5j])
    z = ag.asarray(zn, backend=backend, requires_grad=True)
    w = ag.asarray(wn, backend=backend)
    ag.sum(ag.abs(ag.exp(z) * w + z @ w) ** 2).backward()
    u = np.exp(zn) * wn + zn @ wn  # L = sum |u|^2, u_k = e^{z_k} w_k + s, s = z.w
    # dL/dconj(z_j) = sum_k u_k conj(du_k/dz_j); PyTorch reports 2 * that
    expected = 2 * (u * np.conj(np.exp(zn) * wn) + np.sum(u) * np.conj(wn))
    np.testing.assert_allclose(z.grad.numpy(), expected)


def test_ops_without_complex_gradients_say_so(backend):
    z = ag.asarray(np.array([1 + 2j, 3 - 1j]), backend=backend, requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"op 'vecdot' with respect to complex values"):
        ag.sum(ag.abs(ag.vecdot(z, z))).backward()


def test_an_op_whose_output_is_real_for_complex_input_is_refused_when_recorded(backend):
    # an op with no complex VJP whose output is real for complex input (a modulus, a norm)
    # would get a real cotangent at backward, which nothing stops: refused when recorded
    from agrad._op import primitive

    @primitive(name="modulus_op_for_test")
    def modulus(xp, x):
        return xp.abs(x)

    @modulus.defvjp
    def _(xp, g, out, x):  # right for real x only
        return g * xp.sign(x)

    @primitive(name="distance_op_for_test")
    def distance(xp, x1, x2):
        return xp.abs(x1 - x2)

    @distance.defvjp
    def _(xp, g, out, x1, x2):  # right for real x only
        s = xp.sign(x1 - x2)
        return g * s, -g * s

    z = ag.asarray(np.array([3 + 4j]), backend=backend, requires_grad=True)
    for call, name in ((lambda: modulus(z), "modulus"), (lambda: distance(z, z * 2), "distance")):
        with pytest.raises(
            NotImplementedError,
            match=rf"op '{name}_op_for_test' with respect to complex values are not implemented, "
            r"and its outputs need not be complex, so it is refused when recorded",
        ):
            call()
    with ag.no_grad():
        assert float(modulus(z)[0]) == 5.0 == float(distance(z, z * 2)[0])
    assert float(modulus(z.detach())[0]) == 5.0
    x = ag.asarray([-2.0], backend=backend, requires_grad=True)  # a real input records as ever
    ag.sum(modulus(x) + distance(x, x * 3.0)).backward()
    assert float(x.grad[0]) == -3.0  # d(|x| + |x - 3x|) = sign(x) + 2 sign(x), at x = -2


def test_real_to_complex_cast_passes_the_real_part_back(backend):
    x = ag.asarray(np.array([1.0, 2.0]), backend=backend, requires_grad=True)
    c = ag.astype(x, ag.complex128) * ag.asarray(np.array([1j, 2 + 1j]), backend=backend)
    ag.sum(ag.real(c * c)).backward()  # real(c^2) = x^2 * [-1, 3]
    assert x.grad.dtype == ag.float64
    np.testing.assert_allclose(x.grad.numpy(), [-2.0, 12.0])


def test_a_recorded_backward_under_no_grad_is_still_recorded(backend):
    """create_graph records the whole sweep (accumulation and un-broadcasting too), whatever
    the caller's grad mode."""
    x = ag.asarray([[0.5, 1.5]], dtype=ag.float64, backend=backend, requires_grad=True)
    b = ag.asarray([[1.0], [2.0]], dtype=ag.float64, backend=backend)
    y = ag.sum(ag.sin(x) * b + x * x)  # x broadcast and used twice: un-broadcast + accumulate
    with ag.no_grad():
        y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    # x * x is broadcast over b's two rows: g = 3 cos x + 4x, and d/dx sum(g) = -3 sin x + 4
    ag.sum(g).backward()
    np.testing.assert_allclose(x.grad.numpy(), -3 * np.sin([[0.5, 1.5]]) + 4)


def test_selective_vjps_are_told_which_gradients_are_wanted(backend):
    from agrad._op import Primitive

    seen = []

    def fwd(xp, a, b):
        return a * b

    prim = Primitive(fwd, name="spy_multiply", selective=True, register=False)

    @prim.defvjp
    def _(xp, g, out, a, b, needs):
        seen.append(needs)
        return (g * b if needs[0] else None), (g * a if needs[1] else None)

    x = ag.asarray([1.0, 2.0], dtype=ag.float64, backend=backend, requires_grad=True)
    c = ag.asarray([3.0, 4.0], dtype=ag.float64, backend=backend)
    ag.sum(prim(x, c)).backward()
    ag.sum(prim(c, x)).backward()
    ag.sum(prim(2.0, x)).backward()
    assert seen == [(True, False), (False, True), (False, True)]
    np.testing.assert_allclose(x.grad.numpy(), [3.0 + 3.0 + 2.0, 4.0 + 4.0 + 2.0])
    gg = ag.grad(lambda x: ag.sum(ag.grad(lambda x: ag.sum(prim(x, x) * c))(x)))(x)
    np.testing.assert_allclose(gg.numpy(), [6.0, 8.0])  # d/dx sum(2 x c) = 2 c
    assert (True, True) in seen[3:]


def test_matmul_skips_the_gradient_of_a_constant_operand(backend, monkeypatch):
    """A first layer's data batch gets no g @ W^T: one matmul in the backward, not two."""
    X = ag.asarray(np.ones((4, 3)), dtype=ag.float64, backend=backend)
    W = ag.asarray(np.ones((3, 2)), dtype=ag.float64, backend=backend, requires_grad=True)
    loss = ag.sum(X @ W)
    xp = W._bk.xp
    calls = []
    real = xp.matmul
    monkeypatch.setattr(xp, "matmul", lambda a, b: calls.append(1) or real(a, b))
    loss.backward()
    assert len(calls) == 1
    np.testing.assert_allclose(W.grad.numpy(), np.full((3, 2), 4.0))


def test_nodes_share_their_inputs_shape_and_dtype_records():
    # one (shape, dtype) tuple per distinct input signature, not one per node: fewer long-lived
    # objects for the garbage collector to walk (benchmark C)
    import agrad._op as op_mod

    x = ag.asarray(np.ones(5), requires_grad=True)
    a, b = ag.exp(x), ag.sin(x)
    assert a._node.meta is b._node.meta == (((5,), x._data.dtype),)
    c, d = a * b, b + a
    assert c._node.meta is d._node.meta == (((5,), x._data.dtype),) * 2
    e = a * ag.asarray(np.ones(5))  # no gradient for the second input: None in its place
    assert e._node.meta == (((5,), x._data.dtype), None) and (a + 1.0)._node.meta is e._node.meta
    # a table never grows past its bound, whatever the shapes
    bk = x._bk
    for n in range(op_mod._META_MAX + 10):
        ag.exp(ag.asarray(np.ones(n + 1), requires_grad=True))
    assert 0 < len(bk.meta1) <= op_mod._META_MAX
    z = ag.exp(ag.asarray(np.ones(7), requires_grad=True))
    assert z._node.meta == (((7,), x._data.dtype),)


@pytest.mark.parametrize("order", ["p_first", "q_first"])
def test_the_chain_shortcut_waits_for_a_newer_consumer(backend, order):
    # n = p * q with q = sin(p): after n's VJP, p and q are both pending; q is newer and feeds
    # p, so p must not run before q (a shortcut that took p "because it came first" would
    # miss the path through q). Closed form: d/dx e^x sin(e^x) = e^x sin(e^x) + e^2x cos(e^x)
    xs = np.array([0.3, -0.7, 1.1])
    x = ag.asarray(xs, backend=backend, requires_grad=True)
    p = ag.exp(x)
    q = ag.sin(p)
    n = p * q if order == "p_first" else q * p
    ag.sum(ag.tanh(n)).backward()  # a chain above n: the shortcut is taken up to n
    e = np.exp(xs)
    f = e * np.sin(e)
    expected = (1 - np.tanh(f) ** 2) * (f + e * e * np.cos(e))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_the_chain_shortcut_with_repeated_and_multi_output_parents(backend):
    xs = np.array([[0.5, -1.2], [0.8, 0.1]])
    x = ag.asarray(xs, backend=backend, requires_grad=True)
    y = ag.exp(x)
    z = y * y  # the same node twice: both cotangents add up before y runs
    a, b = ag.unstack(z, axis=0)  # a multi-output node in the chain
    ag.sum(ag.sin(a) + b).backward()
    e2 = np.exp(2 * xs)
    expected = 2 * e2 * np.stack([np.cos(e2[0]), np.ones(2)])
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda t: ag.sum(ag.sin(ag.unstack(ag.exp(t) * ag.exp(t))[0])), x)


@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "divide", "matmul"])
@pytest.mark.parametrize("constant", [0, 1])
def test_a_constant_argument_broadcast_against_the_one_that_requires_grad(
    backend, rng, op, constant
):
    # c (3, 4) op x (4,) and x op c: the single cotangent goes straight to x, un-broadcast
    # (summed over the leading axis), as finite differences say, first and second order
    shapes = ((4,), (4, 4)) if op == "matmul" else ((4,), (3, 4))
    c = ag.asarray(rng.uniform(1.0, 2.0, size=shapes[1]), backend=backend)
    x0 = ag.asarray(rng.uniform(1.0, 2.0, size=shapes[0]), backend=backend)
    fn = getattr(ag, op)

    def f(x):
        return fn(c, x) if constant == 0 else fn(x, c)

    assert gradcheck(f, x0)
    assert gradgradcheck(f, x0)
    # Tensor.backward (the accumulating walk) gives what ag.grad (checked above) gives
    x = leaf(x0.numpy(), backend)
    ag.sum(f(x)).backward()
    want = ag.grad(lambda v: ag.sum(f(v)))(x0)
    assert x.grad.shape == shapes[0]
    np.testing.assert_allclose(x.grad.numpy(), want.numpy(), rtol=1e-13)

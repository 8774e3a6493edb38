"""Gradient checkpointing: ag.checkpoint."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import agrad as ag
from agrad import checkpoint
from agrad._tape import _postorder
from agrad.testing import gradcheck, gradgradcheck


def t(values, backend, **kw):
    return ag.asarray(np.asarray(values, dtype=float), dtype=ag.float64, backend=backend, **kw)


def mlp_block(backend, width=6, seed=0):
    rng = ag.random.default_rng(seed, backend=backend)
    return ag.nn.Sequential(
        ag.nn.Linear(width, width, rng=rng, dtype=ag.float64),
        ag.nn.Tanh(),
        ag.nn.Linear(width, width, rng=rng, dtype=ag.float64),
        ag.nn.Tanh(),
    )


def graph_nodes(y):
    return [] if y._node is None else _postorder([y._node], ())


def grads_of(params):
    return [p.grad.numpy().copy() for p in params]


def clear(params):
    for p in params:
        p.grad = None


# ---- gradients equal the plain ones --------------------------------------------------------------
@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_mlp_blocks_with_closed_over_parameters(backend, rng, input_requires_grad):
    blocks = [mlp_block(backend, seed=s) for s in range(3)]
    params = [p for b in blocks for p in b.parameters()]
    x = t(rng.normal(size=(5, 6)), backend, requires_grad=input_requires_grad)
    leaves = params + ([x] if input_requires_grad else [])

    def loss(ck):
        h = x
        for b in blocks:  # each block's forward closes over its parameters
            h = checkpoint(lambda z, b=b: b(z), h) if ck else b(h)
        return ag.sum(h * h)

    ref_loss = loss(False)
    ref_loss.backward()
    ref = grads_of(leaves)
    clear(leaves)
    out = loss(True)
    out.backward()
    assert float(out) == float(ref_loss)
    for got, want in zip(grads_of(leaves), ref):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    if not input_requires_grad:
        assert x.grad is None


def test_module_passed_as_the_function(backend, rng):
    block = mlp_block(backend)
    x = t(rng.normal(size=(2, 6)), backend, requires_grad=True)
    ag.sum(checkpoint(block, x)).backward()
    got = grads_of([x, *block.parameters()])
    clear([x, *block.parameters()])
    ag.sum(block(x)).backward()
    for g, w in zip(got, grads_of([x, *block.parameters()])):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_ag_grad_reaches_closed_over_and_explicit_tensors(backend, rng):
    x0 = t(rng.normal(size=(3, 4)), backend)
    w0 = t(rng.normal(size=(4, 4)), backend)

    def plain(x, w):
        return ag.sum(ag.tanh(x @ w) ** 2)

    def ckpt(x, w):
        return ag.sum(checkpoint(lambda z: ag.tanh(z @ w), x) ** 2)  # w is closed over

    for got, want in zip(
        ag.grad(ckpt, argnums=(0, 1))(x0, w0), ag.grad(plain, argnums=(0, 1))(x0, w0)
    ):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)


def test_gradcheck_and_gradgradcheck(backend, rng):
    x = t(rng.normal(size=(2, 3)), backend)
    w = t(rng.normal(size=(3, 3)), backend)
    assert gradcheck(lambda x, w: checkpoint(lambda h, v: ag.tanh(h @ v) * h, x, w), x, w)
    assert gradgradcheck(lambda x, w: checkpoint(lambda h, v: ag.tanh(h @ v) * h, x, w), x, w)
    # closed over: second derivatives reach w through the recorded recomputation
    assert gradgradcheck(lambda x, w: checkpoint(lambda h: ag.sin(h @ w) * h, x), x, w)


def test_second_derivative_through_grad_of_grad(backend):
    x = t([0.3, -0.7], backend)
    f = lambda x: ag.sum(checkpoint(lambda z: ag.sin(z) * z, x))  # noqa: E731
    d2 = ag.grad(lambda x: ag.sum(ag.grad(f)(x)))(x)
    xn = x.numpy()
    np.testing.assert_allclose(d2.numpy(), 2 * np.cos(xn) - xn * np.sin(xn), rtol=1e-12)


# ---- recomputation and memory --------------------------------------------------------------------
def test_f_is_called_once_forward_and_once_per_backward(backend):
    calls = []

    def f(x):
        calls.append(1)
        return ag.exp(ag.sin(x))

    x = t([0.1, 0.2], backend, requires_grad=True)
    y = ag.sum(checkpoint(f, x))
    assert len(calls) == 1
    y.backward(retain_graph=True)
    assert len(calls) == 2
    y.backward()  # the retained graph recomputes again
    assert len(calls) == 3
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(np.sin([0.1, 0.2])) * np.cos([0.1, 0.2]))


def test_intermediates_are_not_kept_alive(backend, rng):
    w = t(rng.normal(size=(4, 4)), backend, requires_grad=True)
    kept = []

    def f(x):
        h = ag.tanh(x @ w)
        h2 = ag.sin(h) * h
        kept.extend([weakref.ref(h._node), weakref.ref(h2._node)])
        return ag.exp(h2)

    x = t(rng.normal(size=(3, 4)), backend, requires_grad=True)
    y = checkpoint(f, x)
    assert all(r() is None for r in kept)  # the first run's nodes (and what they saved) are gone
    names = [n.prim.name for n in graph_nodes(y)]
    assert names.count("checkpoint") == 1 and "tanh" not in names and "sin" not in names
    plain = [n.prim.name for n in graph_nodes(f(x))]
    assert {"tanh", "sin", "exp", "matmul"} <= set(plain)

    kept.clear()
    ag.sum(y).backward()
    assert len(kept) == 2 and all(r() is None for r in kept)  # the recomputation's too


def test_intermediate_arrays_are_freed(rng):
    kept = []

    def f(x):
        h = ag.tanh(x * 2.0)
        kept.append(weakref.ref(h._data))  # a NumPy array the plain graph would save
        return ag.sin(h)

    x = ag.asarray(rng.normal(size=(100,)), requires_grad=True)
    y = checkpoint(f, x)
    assert kept[0]() is None
    plain = f(x)
    assert kept[1]() is not None  # kept by sin's node: what checkpointing avoids
    del plain
    ag.sum(y).backward()
    assert kept[2]() is None


def test_saved_inputs_are_freed_by_the_backward(rng):
    x = ag.asarray(rng.normal(size=(50,)), requires_grad=True)
    h = ag.sin(x)  # a non-leaf argument: only the checkpoint node keeps its array
    ref = weakref.ref(h._data)
    y = checkpoint(lambda z, c: ag.exp(z) * c, h, 2.0)
    del h
    assert ref() is not None  # saved for the recomputation
    ag.sum(y).backward()
    assert ref() is None  # freed with the graph's saved values, though y is still alive
    assert y._node is not None


def test_nested_checkpoints(backend, rng):
    w1 = t(rng.normal(size=(3, 3)), backend, requires_grad=True)
    w2 = t(rng.normal(size=(3, 3)), backend, requires_grad=True)
    x = t(rng.normal(size=(2, 3)), backend, requires_grad=True)
    calls = {"inner": 0, "outer": 0}

    def inner(h):
        calls["inner"] += 1
        return ag.tanh(h @ w2)

    def outer(h, ck):
        calls["outer"] += 1
        z = ag.sin(h @ w1)
        return (checkpoint(inner, z) if ck else inner(z)) * z

    ag.sum(outer(x, False)).backward()
    ref = grads_of([x, w1, w2])
    clear([x, w1, w2])
    calls.update(inner=0, outer=0)
    y = checkpoint(outer, x, True)
    names = [n.prim.name for n in graph_nodes(y)]
    assert names == ["checkpoint"]
    ag.sum(y).backward()
    assert calls == {"outer": 2, "inner": 3}  # inner: forward, outer's recomputation, backward
    for got, want in zip(grads_of([x, w1, w2]), ref):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert gradgradcheck(lambda x, w: checkpoint(outer, x, True) * w[0, 0], x, w1)


# ---- arguments and results -----------------------------------------------------------------------
def test_tuple_outputs(backend, rng):
    x = t(rng.normal(size=(4,)), backend, requires_grad=True)

    def f(z):
        return ag.sin(z), ag.cos(z) * z

    a, b = checkpoint(f, x)
    ag.sum(a * b).backward()
    got = x.grad.numpy().copy()
    x.grad = None
    a, b = f(x)
    ag.sum(a * b).backward()
    np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-12)

    x.grad = None
    a, b = checkpoint(f, x)
    ag.sum(b).backward()  # only one output used
    xn = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(xn) - xn * np.sin(xn), rtol=1e-12)

    (c,) = checkpoint(lambda z: (z * 3.0,), x)  # a 1-tuple stays a tuple
    x.grad = None
    ag.sum(c).backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0)


def test_keyword_tensors_constants_and_integer_arguments(backend, rng):
    x = t(rng.normal(size=(5,)), backend, requires_grad=True)
    scale = t(rng.normal(size=(5,)), backend, requires_grad=True)
    idx = ag.asarray(np.array([4, 0, 2]), backend=backend)

    def f(z, index, *, scale, power, mode):
        assert mode == "cube"
        return ag.take(z * scale, index) ** power

    y = checkpoint(f, x, idx, scale=scale, power=3, mode="cube")
    ag.sum(y).backward()
    got = grads_of([x, scale])
    clear([x, scale])
    ag.sum(f(x, idx, scale=scale, power=3, mode="cube")).backward()
    for g, w in zip(got, grads_of([x, scale])):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_closed_over_tensor_computed_outside_f(backend, rng):
    w = t(rng.normal(size=(3, 3)), backend, requires_grad=True)
    x = t(rng.normal(size=(2, 3)), backend, requires_grad=True)

    def loss(ck):
        h = ag.exp(w * 0.5)  # a non-leaf outside f, used inside f and after it
        f = lambda z: ag.tanh(z @ h) + ag.sum(w)  # noqa: E731
        y = checkpoint(f, x) if ck else f(x)
        return ag.sum(y * y) + ag.sum(h)

    loss(False).backward()
    ref = grads_of([x, w])
    clear([x, w])
    loss(True).backward()  # h's own node runs once, after the checkpoint hands it its part
    for g, want in zip(grads_of([x, w]), ref):
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-14)


def test_outputs_that_are_inputs_closures_or_constants(backend):
    w = t([2.0, 3.0], backend, requires_grad=True)
    x = t([0.5, 1.5], backend, requires_grad=True)
    a, b, c, d = checkpoint(lambda z: (z, w, ag.zeros_like(z), w * 2.0), x)
    ag.sum(a * 5.0 + b * 7.0 + d + c * 11.0).backward()  # c is constant: its part is zero
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    np.testing.assert_allclose(w.grad.numpy(), [9.0, 9.0])


def test_nothing_requires_grad_or_grad_mode_off(backend):
    calls = []

    def f(z):
        calls.append(1)
        return ag.sin(z)

    y = checkpoint(f, t([1.0], backend))
    assert not y.requires_grad and y._node is None and len(calls) == 1
    x = t([1.0], backend, requires_grad=True)
    with ag.no_grad():
        y = checkpoint(f, x)
    assert not y.requires_grad and len(calls) == 2


def test_random_numbers_drawn_outside_f_give_exact_gradients(backend, rng):
    x = t(rng.normal(size=(6,)), backend, requires_grad=True)
    mask = ag.random.default_rng(0, backend=backend).uniform(0.0, 1.0, (6,)) > 0.5
    f = lambda z, m: ag.where(m, ag.sin(z) * 2.0, 0.0)  # noqa: E731  (dropout, mask passed in)
    ag.sum(checkpoint(f, x, mask)).backward()
    got = x.grad.numpy().copy()
    x.grad = None
    ag.sum(f(x, mask)).backward()
    np.testing.assert_allclose(got, x.grad.numpy())


# ---- errors --------------------------------------------------------------------------------------
def test_f_must_be_callable(backend):
    with pytest.raises(TypeError, match=r"agrad.checkpoint: the first argument must be the func"):
        checkpoint(t([1.0], backend), lambda z: z)


@pytest.mark.parametrize(
    "result, message",
    [
        (lambda z: 3.0, r"f must return a Tensor or a non-empty tuple of Tensors, got float"),
        (lambda z: (), r"f must return a Tensor or a non-empty tuple of Tensors, got tuple"),
        (lambda z: (z * 2.0, "aux"), r"f returned a tuple whose item 1 is a str"),
        (lambda z: [z], r"got list"),
    ],
)
def test_f_must_return_tensors(backend, result, message):
    with pytest.raises(TypeError, match=message):
        checkpoint(result, t([1.0], backend, requires_grad=True))


def test_recomputation_that_differs_is_an_error(backend):
    calls = []

    def f(z):  # branches differently the second time
        calls.append(1)
        return ag.sin(z) if len(calls) == 1 else ag.exp(ag.cos(z))

    y = checkpoint(f, t([1.0], backend, requires_grad=True))
    with pytest.raises(
        RuntimeError, match=r"agrad.checkpoint: recomputing f in the backward built"
    ):
        ag.sum(y).backward()


def test_second_backward_without_retain_graph(backend):
    y = checkpoint(lambda z: ag.sum(ag.sin(z)), t([1.0], backend, requires_grad=True))
    y.backward()
    with pytest.raises(RuntimeError, match=r"op 'checkpoint' were freed.*retain_graph=True"):
        y.backward()


def test_outputs_on_another_backend_are_refused():
    x = t([1.0], "array_api_strict", requires_grad=True)
    with pytest.raises(ValueError, match=r"agrad.checkpoint: f returned a tensor on numpy"):
        checkpoint(lambda z: ag.asarray(z.numpy(), requires_grad=True) * 2.0, x)


# ---- with the engine's hooks and anomaly mode ----------------------------------------------------
def test_hooks_on_closed_over_parameters_run_once(backend, rng):
    w = t(rng.normal(size=(3, 3)), backend, requires_grad=True)
    x = t(rng.normal(size=(2, 3)), backend, requires_grad=True)
    seen = []
    w.register_hook(lambda g: seen.append("w") or g * 2.0)
    x.register_hook(lambda g: seen.append("x"))
    ag.sum(checkpoint(lambda z: ag.tanh(z @ w), x)).backward()
    assert sorted(seen) == ["w", "x"]
    got = w.grad.numpy().copy()
    w.grad = None
    ag.sum(ag.tanh(x @ w)).backward()
    np.testing.assert_allclose(got, w.grad.numpy(), rtol=1e-12)  # both doubled by the hook


def test_anomaly_mode_names_the_op_inside_f(backend):
    x = t([0.0, 1.0], backend, requires_grad=True)
    y = checkpoint(lambda z: ag.sum(ag.sqrt(z)), x)
    with ag.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(RuntimeError, match=r"op 'sqrt' computed for its argument 0"):
            y.backward()


def test_forward_mode_and_hessian_through_checkpoint(backend, rng):
    w = t(rng.normal(size=(3, 3)), backend)
    x = t(rng.normal(size=(3,)), backend)
    v = t(rng.normal(size=(3,)), backend)

    def plain(x):
        return ag.sin(ag.tanh(w @ x) * x)

    def ckpt(x):
        return checkpoint(plain, x)

    _, t1 = ag.jvp(ckpt, (x,), (v,))
    _, t0 = ag.jvp(plain, (x,), (v,))
    np.testing.assert_allclose(t1.numpy(), t0.numpy(), rtol=1e-12, atol=1e-14)
    h1 = ag.hessian(lambda x: ag.sum(ckpt(x)), progress=False)(x)
    h0 = ag.hessian(lambda x: ag.sum(plain(x)), progress=False)(x)
    np.testing.assert_allclose(h1.numpy(), h0.numpy(), rtol=1e-12, atol=1e-14)


def test_gradient_penalty_reaches_closed_over_parameters(backend, rng):
    # ag.grad records its backward when closed-over leaves require grad: the input gradient
    # stays a function of w, and differentiating it again must go through the recomputation
    w = t(rng.normal(size=(3, 3)), backend, requires_grad=True)
    x = t(rng.normal(size=(2, 3)), backend)
    f = lambda z: ag.tanh(z @ w)  # noqa: E731
    got = []
    for fn in (lambda x: checkpoint(f, x), f):
        g = ag.grad(lambda x, fn=fn: ag.sum(fn(x) ** 2))(x)
        assert g.requires_grad
        ag.sum(g * g).backward()
        got.append((g.numpy(), w.grad.numpy()))
        w.grad = None
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=1e-12)
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-10, atol=1e-14)


def test_memory_benchmark_smoke(tmp_path, capsys):
    import importlib.util
    import json
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "checkpoint_memory.py"
    spec = importlib.util.spec_from_file_location("checkpoint_memory", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "result.json"
    assert bench.main(["--smoke", "--every", "1,2", "--json", str(out)]) == 0
    assert "all gradients agree" in capsys.readouterr().out
    rows = json.loads(out.read_text())["results"]
    assert [r["every"] for r in rows] == [0, 1, 2]
    # a block relu(h @ W + b) keeps one activation (relu saves only its output), as does a
    # checkpointed block (its input): segments of two blocks or more keep less
    assert rows[2]["held"] < rows[0]["held"]

"""ag.nn.functional: activations and losses on every backend.

Forward against NumPy closed forms, first and second derivatives against finite differences,
values and gradients at |x| = 1e4, relu'(0) = 0, and the error messages. The comparison with
torch.nn.functional lives in test_functional_vs_torch.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import agrad as ag
import agrad.nn.functional as F
from agrad.testing import gradcheck, gradgradcheck


def t(a, backend, **kw):
    return ag.asarray(np.asarray(a, dtype=float), backend=backend, **kw)


def ti(a, backend):
    return ag.asarray(np.asarray(a, dtype=np.int64), backend=backend)


def np_sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))  # no overflow warning at |x| = 1e4


def np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def np_log_softmax(x, axis):
    return x - np_logsumexp(x, axis=axis, keepdims=True)


ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    "silu": lambda x: x * np_sigmoid(x),
    "sigmoid": np_sigmoid,
    "log_sigmoid": lambda x: np.log(np_sigmoid(x)),
    "tanh": np.tanh,
    "softplus": lambda x: np.log1p(np.exp(x)),
}

# away from relu's kink at 0
X = np.array([[-2.5, -0.7, 0.3], [1.1, 2.0, -0.2]])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(), (2, 3)])
def test_activation_forward_and_gradients(backend, name, shape):
    fn = getattr(F, name)
    x = X if shape else X[0, 2]
    out = fn(t(x, backend))
    assert out.shape == shape and out.dtype == ag.float64 and out.backend == backend
    np.testing.assert_allclose(out.numpy(), ACTIVATIONS[name](x), rtol=1e-12, atol=1e-14)
    assert gradcheck(fn, t(x, backend))
    assert gradgradcheck(fn, t(x, backend))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_keeps_float32(backend, name):
    out = getattr(F, name)(ag.asarray(X.astype(np.float32), backend=backend))
    assert out.dtype == ag.float32
    np.testing.assert_allclose(out.numpy(), ACTIVATIONS[name](X), rtol=1e-5, atol=1e-6)


def test_sigmoid_and_softplus_are_one_node_accurate_everywhere(backend):
    # one primitive each (the graph: the op and its input), values within 2 ulp of the float64
    # closed forms over the whole range, gradients s (1 - s) and sigmoid(x)
    x = np.concatenate([-np.geomspace(700.0, 1e-3, 40), [0.0], np.geomspace(1e-3, 700.0, 40)])
    s_ref = np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), 0.0)
    s_ref = np.where(x < 0, np.exp(x) / (1.0 + np.exp(x)), s_ref)
    sp_ref = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    for name, fn, ref, dref in (
        ("sigmoid", F.sigmoid, s_ref, s_ref * (1.0 - s_ref)),
        ("softplus", lambda v: F.softplus(v, threshold=math.inf), sp_ref, s_ref),
    ):
        v = t(x, backend, requires_grad=True)
        out = fn(v)
        node = out._node
        if name == "softplus":  # (under torch's threshold: where(x > threshold, x, softplus(x)))
            assert node.prim.name == "where"
            node = node.parents[2]
        assert node.prim.name == name and node.parents == (v,)
        np.testing.assert_allclose(out.numpy(), ref, rtol=5e-16, atol=0)
        ag.sum(out).backward()
        np.testing.assert_allclose(v.grad.numpy(), dref, rtol=5e-15, atol=1e-300)


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "log_sigmoid"])
def test_float32_extremes_give_no_warning_and_no_overflow(backend, name):
    # float32's exp overflows above 88.7: these forms never call exp on a positive number
    x = np.array([-1e4, -100.0, -88.0, 0.0, 88.0, 100.0, 1e4], dtype=np.float32)
    v = ag.asarray(x, backend=backend, requires_grad=True)
    out = getattr(F, name)(v)  # (pytest turns any RuntimeWarning into an error)
    ag.sum(out).backward()
    x64 = x.astype(np.float64)
    assert out.dtype == v.grad.dtype == ag.float32
    assert np.all(np.isfinite(out.numpy())) and np.all(np.isfinite(v.grad.numpy()))
    want = {"sigmoid": np.exp(x64 - sp64(x64)), "softplus": sp64(x64), "log_sigmoid": -sp64(-x64)}
    # (float32's subnormals below 1.2e-38 are spaced 1.4e-45 apart: a few of those for atol;
    # CUDA's and XLA's float32 math may flush subnormal results to zero: atol is the smallest
    # normal there)
    atol = float(np.finfo(np.float32).tiny) if backend in ("cupy", "jax") else 1e-44
    np.testing.assert_allclose(out.numpy(), want[name], rtol=2e-6, atol=atol)


def sp64(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def test_relu_derivative_at_zero_is_zero(backend):
    x = t([-1.0, 0.0, 1.0], backend, requires_grad=True)
    ag.sum(F.relu(x)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(F.relu(t([-0.0, 0.0], backend)).numpy(), [0.0, 0.0])
    assert np.isnan(F.relu(t([np.nan], backend)).numpy()[0])  # NaN propagates, as in torch


def test_softplus_beta_threshold(backend):
    x = np.array([-3.0, 0.5, 4.0, 30.0])
    out = F.softplus(t(x, backend), beta=2.0, threshold=10.0)
    ref = np.where(2 * x > 10.0, x, np.log1p(np.exp(2 * x)) / 2)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    assert gradcheck(lambda v: F.softplus(v, beta=2.0, threshold=10.0), t(x, backend))


# (shape, axis) for softmax, log_softmax and logsumexp
AXES = [((4,), -1), ((2, 3), 0), ((2, 3), 1), ((2, 3, 2), -2)]


@pytest.mark.parametrize("shape, axis", AXES)
def test_softmax_and_log_softmax(backend, shape, axis):
    x = np.random.default_rng(0).normal(size=shape) * 2
    ls = F.log_softmax(t(x, backend), axis=axis)
    sm = F.softmax(t(x, backend), axis=axis)
    np.testing.assert_allclose(ls.numpy(), np_log_softmax(x, axis), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sm.numpy(), np.exp(np_log_softmax(x, axis)), rtol=1e-12)
    np.testing.assert_allclose(np.sum(sm.numpy(), axis=axis), 1.0)
    for fn in (F.softmax, F.log_softmax):
        assert gradcheck(lambda v, fn=fn: fn(v, axis=axis), t(x, backend))
        assert gradgradcheck(lambda v, fn=fn: fn(v, axis=axis), t(x, backend))


@pytest.mark.parametrize(
    "shape, axis, keepdims",
    [((), None, False), ((4,), None, False), ((2, 3), None, True), ((2, 3), 1, False)]
    + [((2, 3, 2), (0, 2), False), ((2, 3, 2), -1, True)],
)
def test_logsumexp(backend, shape, axis, keepdims):
    x = np.random.default_rng(1).normal(size=shape)
    out = F.logsumexp(t(x, backend), axis=axis, keepdims=keepdims)
    ref = np_logsumexp(x, axis=axis, keepdims=keepdims) if shape else x
    assert out.shape == np.shape(ref)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)

    def f(v):
        return F.logsumexp(v, axis=axis, keepdims=keepdims)

    assert gradcheck(f, t(x, backend))
    assert gradgradcheck(f, t(x, backend))


def test_logsumexp_with_infinities(backend):
    x = t([[-math.inf, 0.0], [-math.inf, -math.inf], [math.inf, 1.0]], backend)
    with np.errstate(divide="ignore"):  # log(0) for the all -inf row: NumPy warns
        out = F.logsumexp(x, axis=1)
    np.testing.assert_allclose(out.numpy(), [0.0, -math.inf, math.inf])


def test_empty_inputs(backend):
    with np.errstate(divide="ignore"):  # log(0): NumPy warns
        lse = F.logsumexp(t(np.zeros((2, 0)), backend), axis=1)
    np.testing.assert_array_equal(lse.numpy(), [-math.inf, -math.inf])
    assert F.softmax(t(np.zeros((2, 0)), backend), axis=1).shape == (2, 0)
    assert F.log_softmax(t(np.zeros((0, 3)), backend), axis=1).shape == (0, 3)


@settings(max_examples=25, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
        elements=st.floats(-1e4, 1e4),
    ),
    data=st.data(),
)
def test_softmax_family_properties(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    v = ag.asarray(x)
    ls = F.log_softmax(v, axis=axis).numpy()
    sm = F.softmax(v, axis=axis).numpy()
    lse = F.logsumexp(v, axis=axis, keepdims=True).numpy()
    assert np.all(np.isfinite(ls)) and np.all(ls <= 0) and np.all(np.isfinite(lse))
    np.testing.assert_allclose(np.sum(sm, axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(sm, np.exp(ls), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ls, x - lse, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(lse, np_logsumexp(x, axis=axis, keepdims=True), rtol=1e-12)


# ---- numerical stability at |x| = 1e4 ---------------------------------------------------
BIG = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])


def value_and_grad(f, x, backend):
    v = t(x, backend, requires_grad=True)
    out = f(v)
    ag.sum(out).backward()
    return out.numpy(), v.grad.numpy()


@pytest.mark.parametrize(
    "name, value, grad",
    [
        ("sigmoid", np_sigmoid(BIG), np_sigmoid(BIG) * np_sigmoid(-BIG)),
        ("softplus", np.logaddexp(0.0, BIG), np_sigmoid(BIG)),
        ("log_sigmoid", -np.logaddexp(0.0, -BIG), np_sigmoid(-BIG)),
        ("silu", BIG * np_sigmoid(BIG), None),
        ("gelu", [0.0, 0.0, 0.0, 50.0, 1e4], [0.0, 0.0, 0.5, 1.0, 1.0]),
    ],
)
def test_activations_are_stable_at_1e4(backend, name, value, grad):
    out, g = value_and_grad(getattr(F, name), BIG, backend)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(out, value, rtol=1e-12, atol=1e-300)
    if grad is not None:
        np.testing.assert_allclose(g, grad, rtol=1e-12, atol=1e-20)


def test_softmax_family_is_stable_at_1e4(backend):
    x = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]])
    lse, g = value_and_grad(lambda v: F.logsumexp(v, axis=1), x, backend)
    np.testing.assert_allclose(lse, [1e4, 1e4 + math.log(2.0)], rtol=1e-15)
    np.testing.assert_allclose(g, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=1e-300)
    ls, g = value_and_grad(lambda v: F.log_softmax(v, axis=1), x, backend)
    np.testing.assert_allclose(
        ls, [[0.0, -2e4, -1e4], [-math.log(2.0)] * 2 + [-2e4 - math.log(2.0)]]
    )
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, [[-2.0, 1.0, 1.0], [-0.5, -0.5, 1.0]], atol=1e-12)
    sm, g = value_and_grad(lambda v: F.softmax(v, axis=1), x, backend)
    np.testing.assert_allclose(sm, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=1e-300)
    np.testing.assert_allclose(g, 0.0, atol=1e-12)


def test_losses_on_logits_are_stable_at_1e4(backend):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    ce, g = value_and_grad(lambda v: F.cross_entropy(v, ti([1, 0], backend)), x, backend)
    np.testing.assert_allclose(ce, (2e4 + 2e4 + math.log(2.0)) / 2)
    np.testing.assert_allclose(g, [[0.5, -0.5, 0.0], [-0.5, 0.25, 0.25]], atol=1e-12)
    target = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])

    def bce(v):
        return F.binary_cross_entropy_with_logits(v, t(target, backend), reduction="none")

    out, g = value_and_grad(bce, x, backend)
    np.testing.assert_allclose(out, [[0.0, 0.0, math.log(2.0)], [1e4, 0.0, 1e4]])
    np.testing.assert_allclose(g, np_sigmoid(x) - target, atol=1e-300)


# ---- losses against NumPy closed forms ----------------------------------------------------
def np_reduce(loss, reduction):
    return {"none": loss, "sum": np.sum(loss), "mean": np.mean(loss)}[reduction]


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(backend, reduction):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    out = F.mse_loss(t(a, backend), t(b, backend), reduction=reduction)
    np.testing.assert_allclose(out.numpy(), np_reduce((a - b) ** 2, reduction), rtol=1e-12)
    assert gradcheck(
        lambda u, v: F.mse_loss(u, v, reduction=reduction), t(a, backend), t(b, backend)
    )
    assert gradgradcheck(lambda u: F.mse_loss(u, t(b, backend), reduction=reduction), t(a, backend))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(backend, reduction):
    rng = np.random.default_rng(3)
    p, y, w = rng.uniform(0.1, 0.9, (2, 3)), rng.uniform(size=(2, 3)), rng.uniform(size=(3,))
    ref = -w * (y * np.log(p) + (1 - y) * np.log(1 - p))
    out = F.binary_cross_entropy(t(p, backend), t(y, backend), t(w, backend), reduction=reduction)
    np.testing.assert_allclose(out.numpy(), np_reduce(ref, reduction), rtol=1e-12)

    def f(u, v):
        return F.binary_cross_entropy(u, v, t(w, backend), reduction=reduction)

    assert gradcheck(f, t(p, backend), t(y, backend))
    assert gradgradcheck(f, t(p, backend), t(y, backend))


def test_binary_cross_entropy_at_0_and_1_is_clamped_with_finite_gradient(backend):
    p = t([0.0, 1.0, 0.0, 1.0], backend, requires_grad=True)
    y = t([1.0, 0.0, 0.0, 1.0], backend)
    out = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_array_equal(out.numpy(), [100.0, 100.0, 0.0, 0.0])
    assert out._node.prim.name == "binary_cross_entropy"  # one node (a primitive)
    ag.sum(out).backward()
    # each log's term has gradient 0 where the log is clamped; the other term is 0 * finite
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0, 1.0, -1.0])
    q = t([1e-50, 0.5], backend, requires_grad=True)  # log(1e-50) = -115 is clamped too
    ag.sum(F.binary_cross_entropy(q, t([1.0, 1.0], backend), reduction="none")).backward()
    np.testing.assert_allclose(q.grad.numpy(), [0.0, -2.0])
    empty = F.binary_cross_entropy(t(np.zeros(0), backend), t(np.zeros(0), backend))
    assert np.isnan(float(empty))  # the mean of no elements, as torch


def test_binary_cross_entropy_plain_and_clamped_forms_agree_inside(backend, rng):
    # with every p in (e^-100, 1) the op skips the clamps; both forms give the same values and
    # gradients there, and a single p at 0 or 1 switches the whole batch to the clamped form
    from agrad.nn.functional import _bce

    p = rng.uniform(1e-30, 1.0 - 1e-12, size=(3, 4))
    y = rng.uniform(size=(3, 4))
    res = {}
    for clamp in (False, True):
        u, v = t(p, backend, requires_grad=True), t(y, backend, requires_grad=True)
        out = _bce(u, v, clamp=clamp)
        ag.sum(out).backward()
        res[clamp] = out.numpy(), u.grad.numpy(), v.grad.numpy()
    for a, b in zip(res[False], res[True]):
        np.testing.assert_allclose(a, b, rtol=1e-10)  # (one form has a cancellation)
    inside = F.binary_cross_entropy(t(p, backend, requires_grad=True), t(y, backend))
    edge = F.binary_cross_entropy(
        t(np.append(p, 1.0), backend, requires_grad=True), t(np.append(y, 0.0), backend)
    )
    assert inside._node.parents[0].static == {"clamp": False}  # (under the mean)
    assert edge._node.parents[0].static == {"clamp": True}  # (under the mean)


def test_binary_cross_entropy_refuses_nan_and_values_outside_0_1(backend):
    y = t([1.0, 0.0], backend)
    for bad in ([0.5, float("nan")], [0.5, 1.5], [-0.1, 0.5]):
        with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input must"):
            F.binary_cross_entropy(t(bad, backend), y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(backend, reduction):
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(2, 3)) * 3, rng.uniform(size=(2, 3))
    w, pw = rng.uniform(size=(2, 1)), rng.uniform(0.5, 2, size=(3,))
    s = np_sigmoid(x)
    ref = -w * (pw * y * np.log(s) + (1 - y) * np.log(1 - s))
    out = F.binary_cross_entropy_with_logits(
        t(x, backend), t(y, backend), t(w, backend), reduction=reduction, pos_weight=t(pw, backend)
    )
    np.testing.assert_allclose(out.numpy(), np_reduce(ref, reduction), rtol=1e-12)

    def f(u, v):
        return F.binary_cross_entropy_with_logits(
            u, v, t(w, backend), reduction=reduction, pos_weight=t(pw, backend)
        )

    assert gradcheck(f, t(x, backend), t(y, backend))
    assert gradgradcheck(f, t(x, backend), t(y, backend))


def np_nll(logp, target, weight, ignore_index=-100):
    """Loops over (N, C, d...) log-probabilities: per-element losses and weights."""
    c = logp.shape[1]
    weight = np.ones(c) if weight is None else weight
    loss, w = np.zeros(target.shape), np.zeros(target.shape)
    for idx in np.ndindex(*target.shape):
        k = target[idx]
        if k != ignore_index:
            w[idx] = weight[k]
            loss[idx] = -weight[k] * logp[(idx[0], k) + idx[1:]]
    return loss, w


def np_weighted(loss, w, reduction):
    return {"none": loss, "sum": np.sum(loss), "mean": np.sum(loss) / np.sum(w)}[reduction]


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(backend, shape, reduction, weighted):
    rng = np.random.default_rng(5)
    x = rng.normal(size=shape)
    target = rng.integers(0, 3, size=(shape[0],) + shape[2:])
    target.reshape(-1)[0] = -100  # ignored
    w = rng.uniform(0.5, 2, size=(3,)) if weighted else None
    wt = None if w is None else t(w, backend)
    out = F.nll_loss(t(x, backend), ti(target, backend), wt, reduction=reduction)
    ref = np_weighted(*np_nll(x, target, w), reduction)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)

    def f(u):
        return F.nll_loss(u, ti(target, backend), wt, reduction=reduction)

    assert gradcheck(f, t(x, backend))


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_index_targets(backend, shape, reduction, weighted, smoothing):
    rng = np.random.default_rng(6)
    x = rng.normal(size=shape) * 2
    target = rng.integers(0, 3, size=(shape[0],) + shape[2:])
    w = rng.uniform(0.5, 2, size=(3,)) if weighted else None
    wt = None if w is None else t(w, backend)
    out = F.cross_entropy(
        t(x, backend), ti(target, backend), wt, reduction=reduction, label_smoothing=smoothing
    )
    logp = np_log_softmax(x, 1)
    nll, pw = np_nll(logp, target, w)
    wc = np.ones(3) if w is None else w
    smooth = -np.sum(logp * wc.reshape((1, 3) + (1,) * (len(shape) - 2)), axis=1)
    loss = (1 - smoothing) * nll + smoothing / 3 * smooth
    np.testing.assert_allclose(out.numpy(), np_weighted(loss, pw, reduction), rtol=1e-12)

    def f(u):
        return F.cross_entropy(
            u, ti(target, backend), wt, reduction=reduction, label_smoothing=smoothing
        )

    assert gradcheck(f, t(x, backend))
    assert gradgradcheck(f, t(x, backend))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets(backend, reduction):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 3))
    p = rng.uniform(size=(4, 3))
    p /= p.sum(axis=1, keepdims=True)
    out = F.cross_entropy(t(x, backend), t(p, backend), reduction=reduction)
    ref = -np.sum(p * np_log_softmax(x, 1), axis=1)
    np.testing.assert_allclose(out.numpy(), np_reduce(ref, reduction), rtol=1e-12)
    # one-hot probabilities give the index-target loss
    onehot = np.eye(3)[[0, 2, 1, 1]]
    np.testing.assert_allclose(
        F.cross_entropy(t(x, backend), t(onehot, backend)).numpy(),
        F.cross_entropy(t(x, backend), ti([0, 2, 1, 1], backend)).numpy(),
        rtol=1e-12,
    )

    def f(u, v):
        return F.cross_entropy(u, v, reduction=reduction, label_smoothing=0.2)

    assert gradcheck(f, t(x, backend), t(p, backend))
    assert gradgradcheck(f, t(x, backend), t(p, backend))


def test_cross_entropy_class_axis_and_unbatched(backend):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 3))
    target = np.array([2, 0, 1, 1])
    ref = F.cross_entropy(t(x, backend), ti(target, backend))
    moved = F.cross_entropy(t(x.T, backend), ti(target, backend), axis=0)
    last = F.cross_entropy(t(x, backend), ti(target, backend), axis=-1)
    np.testing.assert_allclose(moved.numpy(), ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(last.numpy(), ref.numpy(), rtol=1e-12)
    one = F.cross_entropy(t(x[0], backend), ti(2, backend))  # (C,) input, () target
    np.testing.assert_allclose(one.numpy(), -np_log_softmax(x[0], 0)[2], rtol=1e-12)


@pytest.mark.parametrize("shape, axis", [((5, 4), 1), ((3, 4, 2), 1), ((4, 5), 0), ((3, 2, 4), -1)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_one_op_agrees_with_the_composite(backend, rng, shape, axis, reduction):
    # without weights or smoothing cross_entropy is one op; with weight=ones it takes the
    # composite (log_softmax, pick, weighted mean): the same values and gradients, ignored
    # targets included (0 loss, 0 gradient, not counted in the mean)
    ax = axis % len(shape)
    n = shape[ax]
    x = rng.normal(size=shape) * 3
    target = rng.integers(0, n, size=shape[:ax] + shape[ax + 1 :])
    target.reshape(-1)[::3] = 7 if n != 7 else 8  # a custom ignore_index, outside [0, n)
    ignore = int(target.reshape(-1)[0])
    res = []
    for weight in (None, t(np.ones(n), backend)):
        u = t(x, backend, requires_grad=True)
        out = F.cross_entropy(
            u, ti(target, backend), weight, reduction=reduction, axis=axis, ignore_index=ignore
        )
        ag.sum(out).backward()
        res.append((out.numpy(), u.grad.numpy(), out._node))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12, atol=1e-15)
    if reduction == "none":
        assert res[0][2].prim.name == "cross_entropy"
    ignored = np.expand_dims(target == ignore, ax) & np.ones(shape, bool)
    assert np.all(res[0][1][ignored] == 0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_without_masks_when_every_target_is_a_class(backend, rng, reduction):
    # the class-range check tells the op that no target is ignored (ignore_index not a class,
    # every target in [0, C)): the op then skips the masks. With ignore_index=1 and no target
    # equal to it, the op keeps them: both forms give the same values and gradients, exact
    # against NumPy and finite differences
    x = rng.normal(size=(6, 3)) * 2
    target = np.array([0, 2, 2, 0, 2, 0])
    res = []
    for ignore, no_masks in ((-100, True), (7, True), (1, False)):
        u = t(x, backend, requires_grad=True)
        out = F.cross_entropy(u, ti(target, backend), reduction=reduction, ignore_index=ignore)
        # (sum of the op's first output: its node and that output's index)
        node = out._node if reduction != "sum" else out._node.parents[0][0]
        assert node.prim.name == "cross_entropy" and node.static["all_valid"] is no_masks
        ag.sum(out).backward()
        res.append((out.numpy(), u.grad.numpy()))
    nll = -np_log_softmax(x, 1)[np.arange(6), target]
    for value, grad in res:
        np.testing.assert_allclose(value, np_reduce(nll, reduction), rtol=1e-12)
        np.testing.assert_allclose(grad, res[0][1], rtol=1e-12, atol=1e-15)
    softmax = np.exp(np_log_softmax(x, 1))
    want = softmax - np.eye(3)[target]
    if reduction == "mean":
        want /= 6
    np.testing.assert_allclose(res[0][1], want, rtol=1e-12, atol=1e-15)

    def f(u):
        return F.cross_entropy(u, ti(target, backend), reduction=reduction)

    assert gradcheck(f, t(x, backend))
    assert gradgradcheck(f, t(x, backend))


def test_cross_entropy_keeps_the_softmax_and_the_targets_not_the_logits(backend, rng):
    # the VJP is (softmax - onehot) g: the op keeps its softmax (its second output) and the
    # targets until the backward, as torch keeps log_softmax's output; the logits may be freed
    x = rng.normal(size=(5, 4))
    target = np.array([0, 3, 1, 1, 2])
    u = t(x, backend, requires_grad=True)
    node = F.cross_entropy(u, ti(target, backend))._node
    assert node.prim.name == "cross_entropy" and node.nout == 2
    logits, labels = node.saved
    assert logits is None
    np.testing.assert_array_equal(ag.asarray(labels, backend=backend).numpy(), target)
    softmax = np.exp(np_log_softmax(x, 1))
    np.testing.assert_allclose(
        ag.asarray(node.out[1], backend=backend).numpy(), softmax, rtol=1e-12
    )


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
def test_class_indices_of_any_integer_dtype(backend, dtype):
    # class labels are often int32 or uint8: every form of the losses takes them as int64
    # labels (torch's gather takes int64 only; array-api-strict refuses comparing uint8 with
    # the default ignore_index of -100)
    x = np.random.default_rng(3).normal(size=(4, 3))
    target = np.array([0, 2, 1, 2])
    w = ag.asarray(np.array([1.0, 2.0, 0.5]), backend=backend)
    losses = [
        lambda u, y: F.cross_entropy(u, y),
        lambda u, y: F.cross_entropy(u, y, reduction="none"),
        lambda u, y: F.cross_entropy(u, y, weight=w),
        lambda u, y: F.cross_entropy(u, y, label_smoothing=0.1),
        lambda u, y: F.cross_entropy(u, y, ignore_index=1),
        lambda u, y: F.nll_loss(u, y),
    ]
    for loss in losses:
        res = []
        for dt in (dtype, "int64"):
            u = t(x, backend, requires_grad=True)
            out = loss(u, ag.asarray(target.astype(dt), backend=backend))
            ag.sum(out).backward()
            res.append((out.numpy(), u.grad.numpy()))
        np.testing.assert_array_equal(res[0][0], res[1][0])
        np.testing.assert_array_equal(res[0][1], res[1][1])
    mean = float(F.cross_entropy(t(x, backend), ag.asarray(target.astype(dtype), backend=backend)))
    assert mean == pytest.approx(-np.mean(np_log_softmax(x, 1)[np.arange(4), target]))


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_uint8_labels_of_more_than_256_classes(backend, fn):
    # matched against the classes in uint8, class 261 was also class 5 (a uint8 arange of 300
    # wraps): a silently wrong gradient
    x = np.random.default_rng(4).normal(size=(2, 300))
    target = np.array([44, 5])
    grads = []
    for dt in ("uint8", "int64"):
        u = t(x, backend, requires_grad=True)
        getattr(F, fn)(u, ag.asarray(target.astype(dt), backend=backend)).backward()
        grads.append(u.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert grads[0][1, 261] >= 0  # no -1/2 of a picked class there


def test_cross_entropy_of_an_empty_batch(backend):
    # no targets: the mean is 0 / 0 (NaN, as torch) and the gradient is empty
    u = t(np.zeros((0, 3)), backend, requires_grad=True)
    with np.errstate(invalid="ignore"):
        out = F.cross_entropy(u, ti(np.zeros(0, np.int64), backend))
    assert math.isnan(float(out))
    assert F.cross_entropy(u, ti(np.zeros(0, np.int64), backend), reduction="sum").numpy() == 0
    ag.sum(F.cross_entropy(u, ti(np.zeros(0, np.int64), backend), reduction="none")).backward()
    assert u.grad.shape == (0, 3)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [3, -1, -7])
def test_class_indices_outside_the_classes_are_an_error(backend, fn, bad):
    # never a silently wrong pick: a negative index would wrap around to the last classes
    x = t(np.zeros((2, 3)), backend)
    with pytest.raises(
        ValueError, match=rf"{fn}: target holds class index {bad}, outside \[0, 3\) for an input"
    ):
        getattr(F, fn)(x, ti([0, bad], backend))
    getattr(F, fn)(x, ti([0, -100], backend))  # ignore_index itself is fine


def test_cross_entropy_all_ignored_mean_is_nan(backend):
    with np.errstate(invalid="ignore"):  # 0 / 0, as torch
        out = F.cross_entropy(t([[1.0, 2.0]], backend), ti([-100], backend))
    assert math.isnan(float(out))


def test_losses_keep_float32(backend):
    x = ag.asarray(np.zeros((2, 3), np.float32), backend=backend)
    y = ag.asarray(np.full((2, 3), 0.5, np.float32), backend=backend)
    for out in (
        F.mse_loss(x, y),
        F.binary_cross_entropy(y, y),
        F.binary_cross_entropy_with_logits(x, y),
        F.cross_entropy(x, ti([0, 1], backend)),
        F.cross_entropy(x, y),
        F.nll_loss(x, ti([0, 1], backend)),
    ):
        assert out.dtype == ag.float32 and out.shape == ()


# ---- errors -----------------------------------------------------------------------------
def test_error_messages(backend):
    x = t(np.zeros((2, 3)), backend)
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(3,\) must equal input shape"):
        F.mse_loss(x, t(np.zeros(3), backend))
    with pytest.raises(ValueError, match=r"mse_loss: reduction must be one of .*'avg'"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(TypeError, match=r"relu: input must be a real floating-point tensor"):
        F.relu(ti([1, 2], backend))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input"):
        F.binary_cross_entropy(x + 2.0, x)
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target shape"):
        F.binary_cross_entropy_with_logits(x, t(np.zeros((3, 2)), backend))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: class-index target shape \(3,\) must be the input "
        r"shape \(2, 3\) without axis 1, i.e. \(2,\)",
    ):
        F.cross_entropy(x, ti([0, 1, 2], backend))
    with pytest.raises(TypeError, match=r"nll_loss: class-index target must have an integer"):
        F.nll_loss(x, t([0.0, 1.0], backend))
    with pytest.raises(ValueError, match=r"cross_entropy: target shape \(2, 2\) must equal input"):
        F.cross_entropy(x, t(np.zeros((2, 2)), backend))
    with pytest.raises(ValueError, match=r"nll_loss: weight must have shape \(3,\)"):
        F.nll_loss(x, ti([0, 1], backend), t([1.0, 1.0], backend))
    with pytest.raises(ValueError, match=r"cross_entropy: axis 2 is out of range for a 2-d"):
        F.cross_entropy(x, ti([0, 1], backend), axis=2)
    with pytest.raises(ValueError, match=r"cross_entropy: input must have a class axis"):
        F.cross_entropy(t(1.0, backend), ti(0, backend))
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(x, ti([0, 1], backend), label_smoothing=1.5)
    with pytest.raises(NotImplementedError, match=r"gelu: approximate='none'.*no erf"):
        F.gelu(x, approximate="none")
    with pytest.raises(ValueError, match=r"gelu: approximate must be 'tanh' or 'none'"):
        F.gelu(x, approximate="fast")


def test_all_is_exported():
    assert set(F.__all__) >= {
        "relu",
        "gelu",
        "silu",
        "sigmoid",
        "tanh",
        "softplus",
        "softmax",
        "log_softmax",
        "logsumexp",
        "mse_loss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "cross_entropy",
        "nll_loss",
    }
    assert all(callable(getattr(F, name)) for name in F.__all__)


@pytest.mark.parametrize("xshape", [(3,), (4, 3), (2, 4, 3)])
def test_linear_matches_the_composite_and_gradchecks(backend, xshape):
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=xshape), rng.normal(size=(5, 3)), rng.normal(size=5)
    got = F.linear(t(x, backend), t(w, backend), t(b, backend))
    np.testing.assert_allclose(got.numpy(), x @ w.T + b, rtol=1e-12)
    np.testing.assert_allclose(F.linear(t(x, backend), t(w, backend)).numpy(), x @ w.T, rtol=1e-12)
    args = (t(x, backend), t(w, backend), t(b, backend))
    assert gradcheck(lambda x, w, b: F.linear(x, w, b) ** 2, *args)
    assert gradgradcheck(lambda x, w, b: F.linear(x, w, b) ** 2, *args)
    assert gradcheck(lambda w: F.linear(args[0], w), args[1])  # a data input: no gradient for it


def test_linear_bias_of_another_float_dtype_promotes(backend):
    # the bias is added in place when the dtypes agree; a float64 bias on float32 data promotes
    # the result (as x @ w.T + b does), never truncates it
    x = ag.asarray(np.ones((2, 3)), dtype=ag.float32, backend=backend, requires_grad=True)
    w = ag.asarray(np.ones((4, 3)), dtype=ag.float32, backend=backend)
    b = ag.asarray(np.full(4, 0.1), dtype=ag.float64, backend=backend, requires_grad=True)
    y = F.linear(x, w, b)
    assert y.dtype == ag.float64
    np.testing.assert_allclose(y.numpy(), np.full((2, 4), 3.1), rtol=1e-12)  # 0.1 kept in f64
    ag.sum(y).backward()
    assert x.grad.dtype == ag.float32 and b.grad.dtype == ag.float64
    np.testing.assert_allclose(b.grad.numpy(), [2.0] * 4)


def test_linear_weight_gradient_is_contiguous_out_by_in():
    """The optimizer then updates a contiguous (out, in) array, not a transposed view."""
    x = ag.asarray(np.ones((4, 3)))
    w = ag.asarray(np.ones((5, 3)), requires_grad=True)
    ag.sum(F.linear(x, w)).backward()
    assert w.grad.shape == (5, 3) and w.grad.numpy().flags.c_contiguous


def test_linear_errors_name_the_shapes():
    x, w = ag.ones((4, 3)), ag.ones((5, 2))
    with pytest.raises(ValueError, match=r"linear: input of shape \(4, 3\) and weight of shape "):
        F.linear(x, w)
    with pytest.raises(ValueError, match=r"linear: bias of shape \(4,\) for weight of shape"):
        F.linear(x, ag.ones((5, 3)), ag.ones((4,)))

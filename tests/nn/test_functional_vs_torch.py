"""ag.nn.functional against torch.nn.functional: values and gradients, on every backend.

torch here is only the reference (float64 on the CPU); the agrad side runs on each backend.
"""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
import agrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def both(fn_ag, fn_torch, arrays, backend, diff=None):
    """Value and gradients of ``sum(fn(*arrays) * u)`` from agrad (on ``backend``) and torch.

    ``diff`` lists the positions of the arrays to differentiate (default: the floating ones).
    """
    if diff is None:
        diff = [i for i, a in enumerate(arrays) if np.issubdtype(np.asarray(a).dtype, np.floating)]
    xs = [
        ag.asarray(np.asarray(a), backend=backend, requires_grad=i in diff)
        for i, a in enumerate(arrays)
    ]
    ts = [torch.tensor(np.asarray(a), requires_grad=i in diff) for i, a in enumerate(arrays)]
    out = fn_ag(*xs)
    ref = fn_torch(*ts)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert out.shape == tuple(ref.shape) and out.dtype == ag.float64
    u = np.random.default_rng(7).normal(size=tuple(ref.shape))
    ag.sum(out * ag.asarray(u, backend=backend)).backward()
    (ref * torch.tensor(u)).sum().backward()
    for i in diff:
        np.testing.assert_allclose(
            xs[i].grad.numpy(), ts[i].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=f"arg {i}"
        )


X = np.random.default_rng(0).normal(size=(3, 4)) * 3.0
X[0, 0] = 0.0  # relu at its kink: both give 0


@pytest.mark.parametrize(
    "name, ref",
    [
        ("relu", TF.relu),
        ("silu", TF.silu),
        ("sigmoid", torch.sigmoid),
        ("log_sigmoid", TF.logsigmoid),
        ("tanh", torch.tanh),
        ("softplus", TF.softplus),
    ],
)
def test_activations(backend, name, ref):
    both(getattr(F, name), ref, [X], backend)


def test_gelu_tanh(backend):
    both(F.gelu, lambda x: TF.gelu(x, approximate="tanh"), [X], backend)


@pytest.mark.parametrize("beta, threshold", [(2.0, 20.0), (0.5, 1.0)])
def test_softplus_beta_threshold(backend, beta, threshold):
    both(
        lambda x: F.softplus(x, beta=beta, threshold=threshold),
        lambda x: TF.softplus(x, beta=beta, threshold=threshold),
        [X],
        backend,
    )


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_log_softmax(backend, axis):
    both(lambda x: F.softmax(x, axis=axis), lambda x: TF.softmax(x, dim=axis), [X], backend)
    both(lambda x: F.log_softmax(x, axis=axis), lambda x: TF.log_softmax(x, dim=axis), [X], backend)


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 1), True)])
def test_logsumexp(backend, axis, keepdims):
    dims = (0, 1) if axis is None else axis
    both(
        lambda x: F.logsumexp(x, axis=axis, keepdims=keepdims),
        lambda x: torch.logsumexp(x, dim=dims, keepdim=keepdims),
        [X],
        backend,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(backend, reduction):
    y = np.random.default_rng(1).normal(size=X.shape)
    both(
        lambda a, b: F.mse_loss(a, b, reduction=reduction),
        lambda a, b: TF.mse_loss(a, b, reduction=reduction),
        [X, y],
        backend,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(backend, reduction, weighted):
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.95, size=(3, 4))
    t = rng.uniform(size=(3, 4))
    w = rng.uniform(0.5, 2.0, size=(4,))
    if weighted:
        both(
            lambda a, b, c: F.binary_cross_entropy(a, b, weight=c, reduction=reduction),
            lambda a, b, c: TF.binary_cross_entropy(a, b, weight=c, reduction=reduction),
            [p, t, w],
            backend,
            diff=[0, 1],
        )
    else:
        both(
            lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
            lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction),
            [p, t],
            backend,
            diff=[0],
        )


def test_binary_cross_entropy_clamps_log_at_minus_100(backend):
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    out = F.binary_cross_entropy(ag.asarray(p, backend=backend), ag.asarray(t, backend=backend))
    ref = TF.binary_cross_entropy(torch.tensor(p), torch.tensor(t))
    np.testing.assert_allclose(float(out), float(ref))  # 50.0


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_with_logits(backend, reduction, weighted):
    rng = np.random.default_rng(3)
    t = rng.uniform(size=X.shape)
    w = rng.uniform(0.5, 2.0, size=(3, 1))
    pw = rng.uniform(0.5, 3.0, size=(4,))
    if weighted:
        both(
            lambda a, b, c, d: F.binary_cross_entropy_with_logits(
                a, b, weight=c, reduction=reduction, pos_weight=d
            ),
            lambda a, b, c, d: TF.binary_cross_entropy_with_logits(
                a, b, weight=c, reduction=reduction, pos_weight=d
            ),
            [X, t, w, pw],
            backend,
            diff=[0, 1],
        )
    else:
        both(
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
            lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction),
            [X, t],
            backend,
        )


# (input shape, target shape) for class-index targets: unbatched, batched, spatial
INDEX_CASES = [((5,), ()), ((4, 5), (4,)), ((2, 5, 3), (2, 3)), ((2, 5, 2, 3), (2, 2, 3))]


def index_target(shape, c, seed=4, ignore=False):
    t = np.random.default_rng(seed).integers(0, c, size=shape)
    if ignore and t.size > 1:
        t.reshape(-1)[1] = -100
    return t


@pytest.mark.parametrize("shape, tshape", INDEX_CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_index_targets(backend, shape, tshape, reduction, weighted, smoothing):
    rng = np.random.default_rng(5)
    x = rng.normal(size=shape) * 2.0
    c = shape[0] if len(shape) == 1 else shape[1]
    t = index_target(tshape, c, ignore=True)
    arrays = [x, t] + ([rng.uniform(0.5, 2.0, size=(c,))] if weighted else [])

    def ours(a, b, *w):
        return F.cross_entropy(a, b, *w, reduction=reduction, label_smoothing=smoothing)

    def theirs(a, b, *w):
        return TF.cross_entropy(a, b, *w, reduction=reduction, label_smoothing=smoothing)

    both(ours, theirs, arrays, backend, diff=[0])


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 5, 3)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets(backend, shape, reduction, weighted, smoothing):
    rng = np.random.default_rng(6)
    x = rng.normal(size=shape) * 2.0
    axis = 0 if len(shape) == 1 else 1
    p = rng.uniform(size=shape)
    p = p / p.sum(axis=axis, keepdims=True)
    arrays = [x, p] + ([rng.uniform(0.5, 2.0, size=(shape[axis],))] if weighted else [])

    def ours(a, b, *w):
        return F.cross_entropy(a, b, *w, reduction=reduction, label_smoothing=smoothing)

    def theirs(a, b, *w):
        return TF.cross_entropy(a, b, *w, reduction=reduction, label_smoothing=smoothing)

    both(ours, theirs, arrays, backend, diff=[0, 1])


@pytest.mark.parametrize("shape, tshape", INDEX_CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(backend, shape, tshape, reduction, weighted):
    rng = np.random.default_rng(8)
    x = rng.normal(size=shape)
    c = shape[0] if len(shape) == 1 else shape[1]
    t = index_target(tshape, c, seed=9, ignore=True)
    arrays = [x, t] + ([rng.uniform(0.5, 2.0, size=(c,))] if weighted else [])
    both(
        lambda a, b, *w: F.nll_loss(a, b, *w, reduction=reduction),
        lambda a, b, *w: TF.nll_loss(a, b, *w, reduction=reduction),
        arrays,
        backend,
        diff=[0],
    )

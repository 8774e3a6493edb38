"""Conv2d, pooling, Embedding, LayerNorm, BatchNorm, Dropout, Flatten on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag


def np_conv2d(x, w, b, stride, padding, dilation, groups):
    """Direct loops: the definition of PyTorch's conv2d."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(ho):
            for j in range(wo):
                r, s = i * stride, j * stride
                patch = xp[
                    :,
                    g * cg : (g + 1) * cg,
                    r : r + dilation * (kh - 1) + 1 : dilation,
                    s : s + dilation * (kw - 1) + 1 : dilation,
                ]
                out[:, oc, i, j] = np.sum(patch * w[oc], axis=(1, 2, 3)) + b[oc]
    return out


@pytest.mark.parametrize(
    "stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 1, 2), (1, 2, 2, 1), (1, 1, 1, 4)]
)
def test_conv2d_matches_the_definition_and_gradchecks(backend, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 6, 5))
    conv = ag.nn.Conv2d(
        4,
        4,
        3,
        stride,
        padding,
        dilation,
        groups,
        rng=ag.random.default_rng(1, backend=backend),
        dtype=ag.float64,
    )
    w, b = conv.weight.numpy(), conv.bias.numpy()
    y = conv(ag.asarray(x, backend=backend))
    np.testing.assert_allclose(
        y.numpy(), np_conv2d(x, w, b, stride, padding, dilation, groups), rtol=1e-12
    )
    small = ag.asarray(rng.normal(size=(1, 4, 4, 4)), backend=backend)

    def f(inp, weight, bias):
        return ag.nn.conv2d(inp, weight, bias, stride, padding, dilation, groups)

    assert ag.testing.gradcheck(f, small, conv.weight.detach(), conv.bias.detach())


def test_conv2d_errors():
    x = ag.ones((1, 3, 5, 5))
    with pytest.raises(
        ValueError,
        match=r"agrad\.nn\.conv2d: input has 3 channels and weight "
        r"shape \(2, 2, 3, 3\) with groups=1",
    ):
        ag.nn.conv2d(x, ag.ones((2, 2, 3, 3)))
    with pytest.raises(
        ValueError,
        match=r"expected an NCHW tensor \(4-D\) and a 4-D weight, got shapes \(3, 5, 5\)",
    ):
        ag.nn.conv2d(ag.ones((3, 5, 5)), ag.ones((2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"too small for kernel \(7, 7\)"):
        ag.nn.conv2d(x, ag.ones((2, 3, 7, 7)))
    with pytest.raises(ValueError, match=r"must be divisible by groups \(2\)"):
        ag.nn.Conv2d(3, 4, 3, groups=2)


def test_pooling_and_tie_rule(backend):
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    t = ag.asarray(x, backend=backend)
    np.testing.assert_array_equal(
        ag.nn.max_pool2d(t, 2).numpy(), x.reshape(1, 2, 2, 2, 2, 2).max(axis=(3, 5))
    )
    np.testing.assert_allclose(
        ag.nn.avg_pool2d(t, 2).numpy(), x.reshape(1, 2, 2, 2, 2, 2).mean(axis=(3, 5))
    )
    assert ag.testing.gradcheck(lambda a: ag.nn.max_pool2d(a, 2, 1), t * 0.37 % 1.3)
    assert ag.testing.gradcheck(lambda a: ag.nn.avg_pool2d(a, 3, 2, 1), t / 10.0)
    ties = ag.ones((1, 1, 2, 2), dtype=ag.float64, backend=backend, requires_grad=True)
    ag.sum(ag.nn.MaxPool2d(2)(ties)).backward()
    np.testing.assert_array_equal(ties.grad.numpy(), np.full((1, 1, 2, 2), 0.25))


def test_embedding_looks_up_rows_and_accumulates(backend):
    emb = ag.nn.Embedding(5, 3, rng=ag.random.default_rng(0, backend=backend), dtype=ag.float64)
    idx = ag.asarray(np.array([[0, 2], [2, 4]]), backend=backend)
    out = emb(idx)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[np.array([[0, 2], [2, 4]])])
    ag.sum(out).backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [1.0, 0.0, 2.0, 0.0, 1.0])


def test_layer_norm(backend):
    x = np.random.default_rng(0).normal(size=(3, 4))
    ln = ag.nn.LayerNorm(4, dtype=ag.float64, backend=backend)
    want = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(ag.asarray(x, backend=backend)).numpy(), want, rtol=1e-10)
    assert ag.testing.gradcheck(
        lambda a, w, b: ag.nn.LayerNorm(4, backend=backend)(a) * w + b,
        ag.asarray(x, backend=backend),
        ln.weight.detach(),
        ln.bias.detach(),
    )
    with pytest.raises(ValueError, match=r"does not end with normalized_shape \(4,\)"):
        ln(ag.ones((4, 3), backend=backend))


def test_batch_norm_training_and_eval(backend):
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(8, 3, 2, 2))
    bn = ag.nn.BatchNorm2d(3, dtype=ag.float64, backend=backend)
    y = bn(ag.asarray(x, backend=backend))
    mu, var = x.mean((0, 2, 3)), x.var((0, 2, 3))
    want = (x - mu[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mu)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var * 32 / 31)
    bn.eval()
    rm, rv = bn.running_mean.numpy(), bn.running_var.numpy()
    want_eval = (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(bn(ag.asarray(x, backend=backend)).numpy(), want_eval, rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), rm)  # eval leaves the statistics
    assert set(dict(bn.state_dict())) == {"weight", "bias", "running_mean", "running_var"}
    bn1 = ag.nn.BatchNorm1d(3, backend=backend)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected \(2, 3\) dimensions"):
        bn1(ag.ones((2, 4), backend=backend))


def test_batch_norm_on_another_backend_says_how_to_move_it():
    bn = ag.nn.BatchNorm2d(2)  # numpy, the default backend
    x = ag.ones((3, 2, 4, 4), backend="array_api_strict")
    with pytest.raises(
        ValueError,
        match=r"BatchNorm2d: the input is array_api_strict on .* but the module's parameters "
        r"and running statistics are numpy on cpu; .*module\.to_device\(",
    ):
        bn(x)
    bn.to_device(x.device, backend="array_api_strict")
    assert bn(x).backend == "array_api_strict"
    assert bn.running_mean.backend == "array_api_strict"


def test_dropout_is_seeded_scaled_and_off_in_eval(backend):
    x = ag.ones((200, 50), dtype=ag.float64, backend=backend)
    d1, d2 = ag.nn.Dropout(0.3, seed=5), ag.nn.Dropout(0.3, seed=5)
    a, b = d1(x).numpy(), d2(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 1 / 0.7} and abs((a == 0).mean() - 0.3) < 0.02
    assert d1(x).backend == backend
    d1.eval()
    assert d1(x) is x
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\), got 1.5"):
        ag.nn.Dropout(1.5)


def test_flatten_identity_and_activations(backend):
    x = ag.asarray(np.linspace(-2, 2, 24).reshape(2, 3, 4), backend=backend)
    assert ag.nn.Flatten()(x).shape == (2, 12) and ag.nn.Identity()(x) is x
    xn = x.numpy()
    np.testing.assert_allclose(ag.nn.ReLU()(x).numpy(), np.maximum(xn, 0))
    np.testing.assert_allclose(ag.nn.Tanh()(x).numpy(), np.tanh(xn))
    np.testing.assert_allclose(ag.nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp(-xn)))
    for m in (ag.nn.GELU(), ag.nn.SiLU(), ag.nn.Softplus()):
        assert m(x).shape == x.shape


def test_a_small_cnn_trains_one_step(backend):
    r = ag.random.default_rng(0, backend=backend)
    net = ag.nn.Sequential(
        ag.nn.Conv2d(1, 4, 3, padding=1, rng=r, dtype=ag.float64),
        ag.nn.ReLU(),
        ag.nn.MaxPool2d(2),
        ag.nn.Flatten(),
        ag.nn.Linear(16, 3, rng=r, dtype=ag.float64),
    )
    x = r.normal(size=(5, 1, 4, 4), dtype=ag.float64)
    loss = ag.mean(net(x) ** 2)
    loss.backward()
    assert all(p.grad is not None and p.grad.backend == backend for p in net.parameters())

"""Module, Parameter, Sequential, Linear and the initialisers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import agrad as ag


def rng(backend, seed=0):
    return ag.random.default_rng(seed, backend=backend)


def test_linear_layout_init_and_forward(backend):
    lin = ag.nn.Linear(3, 2, rng=rng(backend), dtype=ag.float64)
    assert lin.weight.shape == (2, 3) and lin.bias.shape == (2,)
    assert isinstance(lin.weight, ag.nn.Parameter) and lin.weight.is_leaf
    assert lin.weight.requires_grad and lin.weight.backend == backend
    bound = 1 / math.sqrt(3)
    assert np.all(np.abs(lin.weight.numpy()) <= bound) and np.all(np.abs(lin.bias.numpy()) <= bound)
    x = np.arange(6.0).reshape(2, 3)
    y = lin(ag.asarray(x, backend=backend))
    np.testing.assert_allclose(y.numpy(), x @ lin.weight.numpy().T + lin.bias.numpy())
    assert ag.testing.gradcheck(
        lambda w, b: ag.asarray(x, backend=backend) @ w.mT + b,
        lin.weight.detach(),
        lin.bias.detach(),
    )


def test_linear_is_seeded_and_can_drop_the_bias(backend):
    a = ag.nn.Linear(4, 3, rng=rng(backend, 7))
    b = ag.nn.Linear(4, 3, rng=rng(backend, 7))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    nb = ag.nn.Linear(4, 3, bias=False, rng=rng(backend))
    assert nb.bias is None and [n for n, _ in nb.named_parameters()] == ["weight"]
    with pytest.raises(
        ValueError,
        match=r"agrad\.nn\.Linear: in_features and out_features must "
        r"be positive, got 0 and 3",
    ):
        ag.nn.Linear(0, 3)


def test_parameters_gradients_and_zero_grad(backend):
    net = ag.nn.Sequential(
        ag.nn.Linear(3, 4, rng=rng(backend)), ag.nn.Linear(4, 1, rng=rng(backend))
    )
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    x = ag.ones((5, 3), dtype=net[0].weight.dtype, backend=backend)
    ag.sum(net(x)).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_eval_flags_propagate():
    net = ag.nn.Sequential(ag.nn.Linear(2, 2), ag.nn.Sequential(ag.nn.Linear(2, 2)))
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_state_dict_round_trip_and_errors(backend):
    a = ag.nn.Sequential(ag.nn.Linear(3, 2, rng=rng(backend, 1)))
    b = ag.nn.Sequential(ag.nn.Linear(3, 2, rng=rng(backend, 2)))
    ident = id(b[0].weight)
    b.load_state_dict(a.state_dict())
    assert id(b[0].weight) == ident  # loaded in place: optimizers keep their references
    np.testing.assert_array_equal(b[0].weight.numpy(), a[0].weight.numpy())
    with pytest.raises(KeyError, match=r"missing keys \['0.bias'\]"):
        b.load_state_dict({"0.weight": a[0].weight})
    bad = dict(a.state_dict())
    bad["0.weight"] = ag.zeros((5, 5), backend=backend)
    with pytest.raises(
        ValueError,
        match=r"'0.weight' has shape \(5, 5\) in the state dict but "
        r"\(2, 3\) in the module",
    ):
        b.load_state_dict(bad)


def test_state_dict_loads_across_backends():
    src = ag.nn.Linear(3, 2, rng=ag.random.default_rng(0, backend="array_api_strict"))
    dst = ag.nn.Linear(3, 2, rng=ag.random.default_rng(1))
    dst.load_state_dict(src.state_dict())
    assert dst.weight.backend == "numpy"
    np.testing.assert_array_equal(dst.weight.numpy(), src.weight.numpy())


def test_to_device_moves_parameters_in_place():
    net = ag.nn.Linear(3, 2, rng=ag.random.default_rng(0))
    w = net.weight
    net.to_device("device1", backend="array_api_strict")
    assert net.weight is w and w.backend == "array_api_strict" and str(w.device).endswith("1')")
    y = net(ag.ones((1, 3), dtype=w.dtype, device=w.device))
    ag.sum(y).backward()
    assert w.grad.device == w.device


def test_module_needs_super_init():
    class Bad(ag.nn.Module):
        def __init__(self):
            self.x = 1

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) in Bad.__init__"):
        Bad()


@pytest.mark.parametrize(
    "init, check",
    [
        (
            lambda w, r: ag.nn.init.xavier_uniform_(w, rng=r),
            lambda a: np.abs(a).max() <= math.sqrt(6 / (40 + 30)),
        ),
        (
            lambda w, r: ag.nn.init.kaiming_uniform_(w, nonlinearity="relu", rng=r),
            lambda a: np.abs(a).max() <= math.sqrt(2) * math.sqrt(3 / 30),
        ),
        (
            lambda w, r: ag.nn.init.xavier_normal_(w, rng=r),
            lambda a: abs(a.std() - math.sqrt(2 / 70)) < 0.02,
        ),
        (
            lambda w, r: ag.nn.init.kaiming_normal_(w, nonlinearity="relu", rng=r),
            lambda a: abs(a.std() - math.sqrt(2 / 30)) < 0.03,
        ),
        (lambda w, r: ag.nn.init.zeros_(w), lambda a: np.all(a == 0)),
        (lambda w, r: ag.nn.init.constant_(w, 0.5), lambda a: np.all(a == 0.5)),
    ],
)
def test_initialisers_fill_in_place_on_the_backend(backend, init, check):
    w = ag.nn.Parameter(ag.zeros((40, 30), dtype=ag.float64, backend=backend))
    out = init(w, ag.random.default_rng(3, backend=backend))
    assert out is w and w.is_leaf and w.requires_grad and w.backend == backend
    assert check(w.numpy())


def test_initialisers_need_two_dimensions():
    with pytest.raises(
        ValueError,
        match=r"xavier_uniform_: fan in and fan out need a tensor with "
        r"at least 2 dimensions, got shape \(3,\)",
    ):
        ag.nn.init.xavier_uniform_(ag.zeros(3))

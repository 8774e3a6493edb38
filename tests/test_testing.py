"""agrad.testing: gradcheck and gradgradcheck find wrong derivatives and say where."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad._op import primitive


@primitive(name="wrong_square_for_test")
def _wrong_square(xp, x):
    return x * x


@_wrong_square.defvjp
def _(xp, g, out, x):  # deliberately wrong: 3x instead of 2x
    return g * 3.0 * x


@primitive(name="first_order_only_for_test")
def _first_order_only(xp, x):
    return x * x * x


@_first_order_only.defvjp
def _(xp, g, out, x):  # right first derivative, but built so that its own derivative is wrong
    return g * 3.0 * (x * x) if not hasattr(x, "requires_grad") else g * 3.0 * (x * x).detach()


def test_gradcheck_passes_on_correct_ops(backend):
    x = ag.asarray(np.array([0.3, -1.2, 2.0]), backend=backend)
    assert ag.testing.gradcheck(lambda x: ag.sum(ag.tanh(x) * x), x)
    assert ag.testing.gradgradcheck(lambda x: ag.sin(x) * x, x)


def test_gradcheck_names_the_input_and_worst_element():
    x = ag.asarray([1.0, 2.0, 3.0])
    y = ag.asarray([1.0])
    with pytest.raises(
        ag.testing.GradcheckError,
        match=r"input 0 \(shape \(3,\)\).*d out\[2\] / d input0\[2\]: "
        r"reverse mode 9, finite differences 6 ",
    ):
        ag.testing.gradcheck(lambda a, b: _wrong_square(a) + b, x, y)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = ag.asarray([0.5, 1.5])
    assert ag.testing.gradcheck(_first_order_only, x)
    with pytest.raises(ag.testing.GradcheckError, match="gradcheck failed for input 0"):
        ag.testing.gradgradcheck(_first_order_only, x)


def test_gradcheck_runs_in_float64_and_rejects_integers():
    x32 = ag.asarray([0.1, 0.2], dtype=ag.float32)
    assert ag.testing.gradcheck(lambda x: ag.exp(x), x32)
    with pytest.raises(TypeError, match="input 0 has dtype int64; it must be floating"):
        ag.testing.gradcheck(lambda x: x, ag.asarray([1, 2]))

"""ag.detect_anomaly: the first NaN/Inf in a forward output or a gradient raises, naming the op
and the line of user code that called it; backward errors name that line too."""

from __future__ import annotations

import re

import numpy as np
import pytest

import agrad as ag
import agrad.nn.functional as F
from agrad._op import Primitive

HERE = re.escape(__file__)


@pytest.fixture(autouse=True)
def _quiet_numpy():
    with np.errstate(all="ignore"):  # NumPy's own warnings would raise first (filterwarnings)
        yield
    assert not ag.is_anomaly_enabled()  # every test leaves the mode off


def test_gradient_with_nan_names_the_op_and_the_line(backend):
    x = ag.asarray([0.0, 4.0], dtype=ag.float64, backend=backend, requires_grad=True)
    with ag.detect_anomaly():
        y = ag.sqrt(x)  # sqrt'(0) = inf
        loss = ag.sum(y * 3.0)
        with pytest.raises(
            RuntimeError,
            match=r"agrad\.detect_anomaly: the gradient that op 'sqrt' computed for its argument 0 "
            rf"contains NaN or Inf \(op 'sqrt' was called at {HERE}:\d+ in "
            r"test_gradient_with_nan_names_the_op_and_the_line: y = ag\.sqrt\(x\)",
        ):
            loss.backward()


def test_forward_output_with_nan_raises_at_the_first_op(backend):
    x = ag.asarray([-1.0, 4.0], dtype=ag.float64, backend=backend, requires_grad=True)
    with ag.detect_anomaly():
        y = x * 2.0  # finite: fine
        with pytest.raises(
            RuntimeError,
            match=r"op 'log' produced NaN or Inf in its forward output \(shape \(2,\), float64\); "
            rf"it was called at {HERE}:\d+ .*: ag\.log\(y\) \+ 1\.0",
        ):
            ag.log(y) + 1.0


@pytest.mark.parametrize(
    "expr, op",
    [(lambda x: x / 0.0, "divide"), (lambda x: 1.0 - x * np.inf, "multiply")],
    ids=["x / 0", "1 - x * inf"],
)
def test_operators_are_checked_too(backend, expr, op):
    # Tensor's operators skip Primitive.__call__ outside the mode; inside it they go through it
    x = ag.asarray([1.0, 2.0], dtype=ag.float64, backend=backend, requires_grad=True)
    with ag.detect_anomaly():
        with pytest.raises(
            RuntimeError, match=rf"op '{op}' produced NaN or Inf .*called at {HERE}:\d+ .*lambda"
        ):
            expr(x)
    expr(x)  # the mode is off again: no check


def test_ops_inside_agrad_report_the_users_line():
    a = ag.asarray([1e200], requires_grad=True)
    b = ag.asarray([-1e200])
    with ag.detect_anomaly():
        # the square overflows inside agrad's mse_loss; the report points here
        with pytest.raises(
            RuntimeError, match=rf"Inf .*called at {HERE}:\d+ .*F\.mse_loss\(a, b\)"
        ):
            F.mse_loss(a, b)


def test_no_checks_outside_the_mode_and_unrecorded_ops_are_not_checked():
    x = ag.asarray([0.0], requires_grad=True)
    ag.sum(ag.sqrt(x)).backward()  # inf gradient, no error: the mode is off
    assert np.isinf(x.grad.numpy()[0])
    with ag.detect_anomaly():
        ag.log(ag.asarray([0.0]))  # nothing requires grad: not part of a differentiation
        with ag.no_grad():
            ag.log(x)


def test_mode_is_restored_on_exit_errors_and_nesting():
    plain = Primitive.__call__
    assert not ag.is_anomaly_enabled()
    with ag.detect_anomaly():
        assert ag.is_anomaly_enabled() and Primitive.__call__ is not plain
        with ag.detect_anomaly():
            pass
        assert ag.is_anomaly_enabled()
    assert not ag.is_anomaly_enabled() and Primitive.__call__ is plain
    from agrad import _tensor

    assert _tensor._call is plain  # the operators' direct path is back too
    with pytest.raises(ValueError, match="boom"), ag.detect_anomaly():
        raise ValueError("boom")
    assert not ag.is_anomaly_enabled()
    ag.set_detect_anomaly(True)
    try:
        assert ag.is_anomaly_enabled()
    finally:
        ag.set_detect_anomaly(False)
    assert Primitive.__call__ is plain


def test_decorator_form():
    @ag.detect_anomaly()
    def step(x):
        assert ag.is_anomaly_enabled()
        return ag.sum(ag.log(x))

    x = ag.asarray([0.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"op 'log' produced NaN or Inf.*return ag\.sum"):
        step(x)
    assert not ag.is_anomaly_enabled()


def test_anomaly_mode_gives_the_same_gradients(backend):
    x = ag.asarray([0.3, 1.2], dtype=ag.float64, backend=backend, requires_grad=True)
    ag.sum(ag.exp(x) * ag.tanh(x)).backward()
    want = x.grad.numpy().copy()
    x.grad = None
    with ag.detect_anomaly():
        ag.sum(ag.exp(x) * ag.tanh(x)).backward()
    np.testing.assert_allclose(x.grad.numpy(), want)


def test_backward_errors_name_the_line_in_anomaly_mode_and_say_how_otherwise():
    x = ag.asarray([1.0, 2.0], requires_grad=True)
    loss = ag.sum(ag.exp(x))
    loss.backward()
    with pytest.raises(
        RuntimeError,
        match=r"backward through the graph a second time.* \(run the forward pass under "
        r"`with ag\.detect_anomaly\(\):` to see the line that called op '(sum|exp)'\)",
    ):
        loss.backward()

    with ag.detect_anomaly():
        loss = ag.sum(ag.exp(x))
    loss.backward()
    with pytest.raises(
        RuntimeError,
        match=rf"second time.*\(op 'sum' was called at {HERE}:\d+ .*loss = ag\.sum\(ag\.exp\(x\)\)",
    ):
        loss.backward()


def test_forward_errors_name_the_users_line_always():
    x = ag.asarray([1.0, 2.0])
    y = ag.asarray([1.0, 2.0], backend="array_api_strict")
    with pytest.raises(
        ValueError,
        match=rf"agrad\.add: inputs live on different backends(.|\n)*\n  called at {HERE}:\d+ in "
        r"test_forward_errors_name_the_users_line_always: x \+ y",
    ):
        x + y
    with pytest.raises(TypeError, match=rf"agrad\.multiply: cannot combine(.|\n)*called at {HERE}"):
        ag.multiply(x, ag.asarray([1, 2]))

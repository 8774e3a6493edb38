"""User-defined differentiable functions: agrad.custom (custom_vjp, defvjp, defjvp, check_jvp)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agrad as ag
from agrad._op import REGISTRY
from agrad.custom import CustomVJP, check_jvp, custom_vjp
from agrad.testing import GradcheckError, gradcheck, gradgradcheck


def t(values, backend, **kw):
    return ag.asarray(np.asarray(values, dtype=float), dtype=ag.float64, backend=backend, **kw)


# ---- the functions under test --------------------------------------------------------------------
@custom_vjp
def log1pexp(xp, x):  # log(1 + e^x): no branch overflows (where() would evaluate both)
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


@log1pexp.defvjp
def _(xp, g, out, x):  # sigmoid(x) = 1 - exp(-out)
    return g * -xp.expm1(-out)


@log1pexp.defjvp
def _(xp, tangents, out, x):
    return -xp.expm1(-out) * tangents[0]


def naive_log1pexp(x):
    return ag.log(1.0 + ag.exp(x))


@custom_vjp(saves="inputs")
def scaled_softplus(xp, x, beta, *, shift=0.0):  # log(1 + e^(beta x)) / beta + shift
    z = beta * x
    return (xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta + shift


@scaled_softplus.defvjp
def _(xp, g, out, x, beta, *, shift=0.0):
    z = beta * x
    s = 1.0 / (1.0 + xp.exp(-z))  # sigmoid(z); |x| stays moderate in these tests
    sp = xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))
    return g * s, g * (x * s / beta - sp / (beta * beta))  # output-shaped: the tape sums


@custom_vjp(saves="inputs")
def sincos(xp, x):
    return xp.sin(x), xp.cos(x)


SEEN = []


@sincos.defvjp
def _(xp, g, out, x):  # g is a list: None for an output that got no gradient
    gs, gc = g
    SEEN.append((gs is None, gc is None))
    total = None
    if gs is not None:
        total = gs * xp.cos(x)
    if gc is not None:
        part = -gc * xp.sin(x)
        total = part if total is None else total + part
    return total


@sincos.defjvp
def _(xp, tangents, out, x):
    (dx,) = tangents
    return xp.cos(x) * dx, -xp.sin(x) * dx


def _tanh_fwd(xp, x):
    y = xp.tanh(x)
    return y, (y,)


def _tanh_bwd(xp, res, g):  # the residual is tanh(x): d tanh = 1 - tanh^2
    (y,) = res
    return g * (1.0 - y * y)


@custom_vjp
def res_tanh(xp, x):
    return xp.tanh(x)


res_tanh.defvjp(_tanh_fwd, _tanh_bwd)


# ---- log1pexp: the motivating example ------------------------------------------------------------
def test_log1pexp_is_finite_where_the_composite_is_not(backend):
    xs = np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4])
    x = t(xs, backend, requires_grad=True)
    y = log1pexp(x)
    ag.sum(y).backward()
    np.testing.assert_allclose(y.numpy(), np.logaddexp(0.0, xs), rtol=1e-12, atol=0)
    sigmoid = np.exp(-np.logaddexp(0.0, -xs))  # 1 / (1 + e^-x), without overflow
    np.testing.assert_allclose(x.grad.numpy(), sigmoid, rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(x.grad.numpy()))

    xn = t(xs, backend, requires_grad=True)
    with np.errstate(over="ignore", invalid="ignore"):  # NumPy warns on exp(1e4) = inf
        yn = naive_log1pexp(xn)
        ag.sum(yn).backward()
    assert np.isinf(yn.numpy()[-1])  # log(1 + inf)
    assert np.isnan(xn.grad.numpy()[-1])  # e^x / (1 + e^x) = inf / inf


def test_log1pexp_gradcheck_and_gradgradcheck(backend):
    x = t(np.linspace(-4.0, 4.0, 7), backend)
    assert gradcheck(log1pexp, x)
    assert gradgradcheck(log1pexp, x)  # second order through the user's VJP
    assert gradgradcheck(log1pexp, t(0.3, backend))  # a 0-d input


def test_inside_grad_and_nested_grad(backend):
    x = t([-2.0, 0.5, 3.0], backend)
    s = 1.0 / (1.0 + np.exp(-x.numpy()))
    g = ag.grad(lambda x: ag.sum(log1pexp(x) * 2.0))(x)
    np.testing.assert_allclose(g.numpy(), 2.0 * s, rtol=1e-12)
    gg = ag.grad(lambda x: ag.sum(ag.grad(lambda z: ag.sum(log1pexp(z)))(x)))(x)
    np.testing.assert_allclose(gg.numpy(), s * (1.0 - s), rtol=1e-10)


def test_module_docstring_shows_the_example():
    import agrad.custom

    doc = agrad.custom.__doc__
    assert "def log1pexp(xp, x)" in doc and "@log1pexp.defvjp" in doc and ">>>" in doc


# ---- several inputs, broadcasting, static arguments ----------------------------------------------
@pytest.mark.parametrize("beta_shape", [(4,), (1, 4), (3, 1), ()])
def test_broadcast_inputs_are_unbroadcast(backend, beta_shape, rng):
    x = t(rng.normal(size=(3, 4)), backend)
    beta = t(rng.uniform(0.5, 2.0, size=beta_shape), backend)
    assert gradcheck(scaled_softplus, x, beta)
    assert gradgradcheck(scaled_softplus, x, beta)
    gx, gb = ag.grad(lambda x, b: ag.sum(scaled_softplus(x, b)), argnums=(0, 1))(x, beta)
    assert gx.shape == (3, 4) and gb.shape == beta_shape


@settings(max_examples=25, deadline=None)
@given(
    shapes=st.sampled_from(
        [((2, 3), (3,)), ((2, 1), (1, 3)), ((4,), ()), ((), (5,)), ((2, 2, 2), (2, 1))]
    ),
    swap=st.booleans(),
)
def test_broadcasting_property(shapes, swap):
    sx, sb = shapes[::-1] if swap else shapes
    r = np.random.default_rng(len(sx) * 10 + len(sb))
    x = ag.asarray(r.normal(size=sx))
    beta = ag.asarray(r.uniform(0.5, 2.0, size=sb))
    gx, gb = ag.grad(lambda x, b: ag.sum(scaled_softplus(x, b)), argnums=(0, 1))(x, beta)

    def composite(x, b):  # the same function from built-in ops
        return ag.sum(ag.logaddexp(0.0 * x, b * x) / b)

    rx, rb = ag.grad(composite, argnums=(0, 1))(x, beta)
    assert gx.shape == sx and gb.shape == sb
    np.testing.assert_allclose(gx.numpy(), rx.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb.numpy(), rb.numpy(), rtol=1e-10, atol=1e-12)


def test_static_keyword_arguments_reach_forward_and_vjp(backend):
    x, beta = t([0.5, -1.0], backend), t(2.0, backend)
    y0 = scaled_softplus(x, beta)
    y1 = scaled_softplus(x, beta, shift=3.0)
    np.testing.assert_allclose(y1.numpy() - y0.numpy(), 3.0)
    assert gradcheck(lambda x, b: scaled_softplus(x, b, shift=3.0), x, beta)
    seen = {}

    @custom_vjp
    def power(xp, x, *, p):
        return x**p

    @power.defvjp
    def _(xp, g, out, x, *, p):
        seen["p"] = p
        return g * p * x ** (p - 1)

    g = ag.grad(lambda x: ag.sum(power(x, p=3)))(x)
    assert seen["p"] == 3
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)


def test_python_scalar_positional_argument_gets_no_gradient(backend):
    x = t([0.5, 1.5], backend)
    assert gradcheck(lambda x: scaled_softplus(x, 2.0), x)
    assert gradcheck(lambda b: scaled_softplus(1.5, b), t([0.7, 1.3], backend))


def test_tensor_keyword_argument_is_refused(backend):
    x = t([1.0], backend)
    with pytest.raises(TypeError, match=r"'scaled_softplus' got the tensor shift=\.\.\.; .*static"):
        scaled_softplus(x, 2.0, shift=x)


# ---- several outputs -----------------------------------------------------------------------------
def test_two_outputs(backend):
    x = t(np.linspace(-2.0, 2.0, 5), backend)
    assert gradcheck(lambda x: sincos(x)[0] * 2.0 + sincos(x)[1], x)
    assert gradgradcheck(lambda x: sincos(x)[0] * sincos(x)[1], x)
    SEEN.clear()
    xg = t([0.3, 0.9], backend, requires_grad=True)
    s, c = sincos(xg)
    ag.sum(c).backward()  # only the second output is used: g[0] is None
    assert SEEN == [(True, False)]
    np.testing.assert_allclose(xg.grad.numpy(), -np.sin([0.3, 0.9]))
    assert s.requires_grad and c.requires_grad


# ---- what is saved -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "saves, want",
    [
        ("all", (True, True)),
        ("inputs", (True, False)),
        ("out", (False, True)),
        ("out+constants", (False, True)),  # (x is differentiated: not kept)
    ],
)
def test_saves_decides_what_the_vjp_receives(backend, saves, want):
    got = []

    @custom_vjp(saves=saves)
    def double(xp, x):
        return 2.0 * x

    @double.defvjp
    def _(xp, g, out, x):
        got.append((x is not None, out is not None))
        return 2.0 * g

    x = t([1.0, 2.0], backend, requires_grad=True)
    ag.sum(double(x)).backward()
    assert got == [want]
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("n_args", [2, 3])  # two tensors of one dtype: the binary fast path
@pytest.mark.parametrize("grads", [(True, False), (False, True), (True, True)])
def test_out_and_constants_keeps_the_inputs_that_need_no_gradient(backend, n_args, grads):
    # saves="out+constants": the VJP gets the output and every input that is not
    # differentiated (a mask, labels), None for the others
    got = []

    @custom_vjp(saves="out+constants")
    def scale(xp, x, m, *more):
        return x * m

    @scale.defvjp
    def _(xp, g, out, x, m, *more):
        got.append((x is not None, m is not None, out is not None, [k is not None for k in more]))
        # d(x m)/dx = m, kept when x is differentiated and m is not (and the other way round)
        return (None if m is None else g * m, None if x is None else g * x, *[None] * len(more))

    xv, mv = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    x = t(xv, backend, requires_grad=grads[0])
    m = t(mv, backend, requires_grad=grads[1])
    extra = [t([0.0, 0.0], backend)] * (n_args - 2)
    ag.sum(scale(x, m, *extra)).backward()
    assert got == [(not grads[0], not grads[1], True, [True] * (n_args - 2))]
    if grads == (True, False):
        np.testing.assert_allclose(x.grad.numpy(), mv)
    elif grads == (False, True):
        np.testing.assert_allclose(m.grad.numpy(), xv)


# ---- the residual (fwd, bwd) form ----------------------------------------------------------------
def test_residual_form(backend):
    x = t(np.linspace(-2.0, 2.0, 5), backend)
    assert gradcheck(res_tanh, x)
    assert gradgradcheck(res_tanh, x)  # fwd is re-run on the recorded inputs
    xg = t([0.5], backend, requires_grad=True)
    y = res_tanh(xg)
    y.backward(retain_graph=True)
    y.backward()  # the residuals stay with the node while the graph is retained
    np.testing.assert_allclose(xg.grad.numpy(), 2 * (1 - np.tanh(0.5) ** 2))


def test_residual_form_runs_fwd_only_when_recording(backend):
    calls = []

    @custom_vjp
    def f(xp, x):
        calls.append("plain")
        return 2.0 * x

    def fwd(xp, x):
        calls.append("fwd")
        return 2.0 * x, None

    f.defvjp(fwd, lambda xp, res, g: 2.0 * g)
    f(t([1.0], backend))
    f(t([1.0], backend, requires_grad=True))
    with ag.no_grad():
        f(t([1.0], backend, requires_grad=True))
    assert calls == ["plain", "fwd", "plain"]


def test_residual_form_higher_order_needs_the_inputs(backend):
    @custom_vjp(saves="none")
    def lean_tanh(xp, x):
        return xp.tanh(x)

    lean_tanh.defvjp(_tanh_fwd, _tanh_bwd)
    x = t([0.2, -0.4], backend)
    assert gradcheck(lean_tanh, x)  # first order: only the residuals are kept
    with pytest.raises(RuntimeError, match=r"'lean_tanh' re-run its fwd.*saves='none'.*'inputs'"):
        gradgradcheck(lean_tanh, x)


def test_residual_fwd_must_return_a_pair(backend):
    @custom_vjp
    def f(xp, x):
        return x

    f.defvjp(lambda xp, x: x, lambda xp, res, g: g)
    with pytest.raises(TypeError, match=r"fwd of 'f' must return \(out, residuals\), got"):
        f(t([1.0], backend, requires_grad=True))


# ---- errors --------------------------------------------------------------------------------------
def test_missing_vjp_is_an_error_at_the_call(backend):
    @custom_vjp
    def novjp(xp, x):
        return x * 2.0

    x = t([1.0], backend, requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"'novjp' has no VJP.*@novjp\.defvjp"):
        novjp(x)
    np.testing.assert_allclose(novjp(t([1.0], backend)).numpy(), [2.0])  # no grad wanted: fine
    with ag.no_grad():
        assert not novjp(x).requires_grad


def test_wrong_shape_from_the_vjp(backend):
    @custom_vjp
    def bad(xp, x):
        return x * 2.0

    @bad.defvjp
    def _(xp, g, out, x):
        return xp.ones((3,), dtype=g.dtype)

    x = t([1.0, 2.0], backend, requires_grad=True)
    with pytest.raises(
        ValueError, match=r"VJP of op 'bad' returned a gradient of shape \(3,\) for argument 0 "
    ):
        ag.sum(bad(x)).backward()


def test_wrong_shape_names_the_argument_when_both_have_one_shape(backend):
    # both inputs are (2,) float64: their (shape, dtype) records are one shared object, and
    # the message must still name the argument whose gradient is wrong
    @custom_vjp
    def bad2(xp, x, y):
        return x * y

    @bad2.defvjp
    def _(xp, g, out, x, y):
        return g * y, xp.ones((3,), dtype=g.dtype)

    x = t([1.0, 2.0], backend, requires_grad=True)
    y = t([3.0, 4.0], backend, requires_grad=True)
    with pytest.raises(
        ValueError, match=r"VJP of op 'bad2' returned a gradient of shape \(3,\) for argument 1 "
    ):
        ag.sum(bad2(x, y)).backward()


@pytest.mark.parametrize("constant", [0, 1])
def test_wrong_shape_names_the_argument_when_the_other_is_a_constant(backend, constant):
    # one of two arguments requires grad: the backward delivers that one cotangent alone, and
    # the message still names its argument
    @custom_vjp
    def bad2(xp, x, y):
        return x * y

    @bad2.defvjp
    def _(xp, g, out, x, y):
        wrong = xp.ones((3,), dtype=g.dtype)
        return (g * y, wrong) if constant == 0 else (wrong, g * x)

    args = [t([1.0, 2.0], backend, requires_grad=k != constant) for k in range(2)]
    with pytest.raises(
        ValueError,
        match=rf"VJP of op 'bad2' returned a gradient of shape \(3,\) for argument {1 - constant} ",
    ):
        ag.sum(bad2(*args)).backward()


def test_wrong_dtype_from_the_vjp(backend):
    @custom_vjp
    def bad(xp, x):
        return x * 2.0

    @bad.defvjp
    def _(xp, g, out, x):
        return xp.astype(g, xp.int64)

    x = t([1.0, 2.0], backend, requires_grad=True)
    with pytest.raises(TypeError, match=r"VJP of op 'bad' returned a int64 gradient .*float64"):
        ag.sum(bad(x)).backward()


def test_wrong_number_of_cotangents(backend):
    @custom_vjp
    def mul(xp, x, y):
        return x * y

    @mul.defvjp
    def _(xp, g, out, x, y):
        return g * y  # forgot the second

    x, y = t([1.0], backend, requires_grad=True), t([2.0], backend, requires_grad=True)
    with pytest.raises(TypeError, match=r"VJP of 'mul' returned 1 cotangent\(s\) for 2 positional"):
        ag.sum(mul(x, y)).backward()


def test_non_array_cotangent(backend):
    @custom_vjp
    def f(xp, x):
        return x * 2.0

    f.defvjp(lambda xp, g, out, x: 2.0)
    with pytest.raises(TypeError, match=r"VJP of 'f' returned a float for argument 0"):
        ag.sum(f(t([1.0], backend, requires_grad=True))).backward()


def test_definition_errors():
    with pytest.raises(TypeError, match=r"custom_vjp: expected a function forward\(xp"):
        custom_vjp(3)
    with pytest.raises(ValueError, match=r"saves must be one of .*'f''s VJP.*got 'output'"):

        @custom_vjp(saves="output")
        def f(xp, x):
            return x

    @custom_vjp
    def g(xp, x):
        return x

    with pytest.raises(TypeError, match=r"g\.defvjp\(vjp\) needs a function"):
        g.defvjp("not a function")
    with pytest.raises(TypeError, match=r"g\.defvjp\(fwd, bwd\) needs two functions"):
        g.defvjp(lambda xp, x: (x, None), 5)
    with pytest.raises(TypeError, match=r"g\.defjvp\(jvp\) needs a function"):
        g.defjvp(None)


def test_custom_functions_stay_out_of_the_op_registry(backend):
    before = dict(REGISTRY)

    @custom_vjp
    def add(xp, x1, x2):  # the name of a built-in op behind Tensor.__add__
        return x1 - x2

    add.defvjp(lambda xp, g, out, x1, x2: (g, -g))
    assert REGISTRY == before
    a, b = t([5.0], backend), t([2.0], backend)
    np.testing.assert_allclose((a + b).numpy(), [7.0])  # the operator still adds
    np.testing.assert_allclose(add(a, b).numpy(), [3.0])
    assert isinstance(add, CustomVJP) and repr(add) == "<agrad custom_vjp add>"
    assert add.__name__ == "add" and add.__wrapped__.__name__ == "add"


def test_name_argument_is_used_in_errors(backend):
    @custom_vjp(name="my_op")
    def f(xp, x):
        return x

    with pytest.raises(NotImplementedError, match=r"'my_op' has no VJP"):
        f(t([1.0], backend, requires_grad=True))


def test_backends_do_not_mix():
    x = ag.asarray([1.0], backend="numpy")
    y = ag.asarray([1.0], backend="array_api_strict")
    with pytest.raises(ValueError, match=r"agrad.scaled_softplus: inputs live on different"):
        scaled_softplus(x, y)


# ---- forward-mode rules --------------------------------------------------------------------------
def test_check_jvp_accepts_correct_rules(backend, rng):
    assert check_jvp(log1pexp, t(rng.normal(size=(3, 2)), backend))
    assert check_jvp(sincos, t(rng.normal(size=(4,)), backend))  # two outputs

    @custom_vjp
    def mul(xp, x, y, *, c=1.0):
        return c * x * y

    mul.defvjp(lambda xp, g, out, x, y, *, c=1.0: (c * g * y, c * g * x))

    @mul.defjvp
    def _(xp, tangents, out, x, y, *, c=1.0):  # d(cxy) = c (y dx + x dy); None: no tangent
        dx, dy = tangents
        t = c * dx * y
        return t if dy is None else t + c * x * dy

    x, y = t(rng.normal(size=(2, 3)), backend), t(rng.normal(size=(3,)), backend)
    assert check_jvp(mul, x, y, static={"c": 2.5})
    assert check_jvp(mul, x, 3.0)  # a Python scalar gets no tangent (None)


def test_check_jvp_rejects_a_wrong_rule(backend):
    @custom_vjp
    def cube(xp, x):
        return x * x * x

    cube.defvjp(lambda xp, g, out, x: g * 3.0 * x * x)
    cube.defjvp(lambda xp, tans, out, x: 2.0 * x * x * tans[0])  # wrong factor
    with pytest.raises(GradcheckError, match=r"JVP rule of 'cube' disagrees with its VJP"):
        check_jvp(cube, t([0.5, -1.5, 2.0], backend))


def test_check_jvp_errors(backend):
    @custom_vjp
    def f(xp, x):
        return x * 2.0

    f.defvjp(lambda xp, g, out, x: 2.0 * g)
    x = t([1.0, 2.0], backend)
    with pytest.raises(ValueError, match=r"'f' has no JVP rule to check; .*@f\.defjvp"):
        check_jvp(f, x)
    with pytest.raises(TypeError, match=r"check_jvp: f must be a function made with"):
        check_jvp(lambda x: x, x)
    f.defjvp(lambda xp, tans, out, x: xp.sum(tans[0]))
    with pytest.raises(GradcheckError, match=r"tangent of shape \(\) for output 0 of shape \(2,\)"):
        check_jvp(f, x)
    f.defjvp(lambda xp, tans, out, x: (2.0 * tans[0], 2.0 * tans[0]))
    with pytest.raises(GradcheckError, match=r"returned 2 tangent\(s\) for 1 output"):
        check_jvp(f, x)
    with pytest.raises(TypeError, match=r"got no floating tensor argument"):
        check_jvp(f, 1.0)


def test_anomaly_mode_names_a_custom_function(backend):
    @custom_vjp
    def bad_log(xp, x):
        return xp.log(x)

    bad_log.defvjp(lambda xp, g, out, x: g / x)
    x = t([0.0, 1.0], backend, requires_grad=True)
    with ag.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(RuntimeError, match=r"op 'bad_log' produced NaN or Inf .*test_custom"):
            bad_log(x)


def test_engine_forward_mode_and_hessian_agree_with_the_rules(backend, rng):
    x = t(rng.normal(size=(4,)), backend)
    v = t(rng.normal(size=(4,)), backend)
    out, tangent = ag.jvp(log1pexp, (x,), (v,))  # the double-VJP trick: no JVP rule used
    s = 1.0 / (1.0 + np.exp(-x.numpy()))
    np.testing.assert_allclose(tangent.numpy(), s * v.numpy(), rtol=1e-12)
    h = ag.hessian(lambda x: ag.sum(log1pexp(x)), progress=False)(x)
    np.testing.assert_allclose(h.numpy(), np.diag(s * (1.0 - s)), rtol=1e-10, atol=1e-14)

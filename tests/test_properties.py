"""Property tests with the standard's own strategies (hypothesis.extra.array_api): on arrays
array-api-strict generates, agrad's forward equals the reference library's, and gradients of
broadcasting binary ops pass gradcheck for any broadcastable shapes."""

from __future__ import annotations

import array_api_strict as xs
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.array_api import make_strategies_namespace

import agrad as ag

xps = make_strategies_namespace(xs)
finite = {"allow_nan": False, "allow_infinity": False, "min_value": -3.0, "max_value": 3.0}
shapes = xps.array_shapes(min_dims=0, max_dims=3, max_side=3)

UNARY = ["exp", "sin", "tanh", "abs", "negative", "square", "floor", "expm1", "atan"]
BINARY = ["add", "subtract", "multiply", "maximum", "minimum", "atan2", "logaddexp", "hypot"]


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(UNARY), x=xps.arrays(xs.float64, shapes, elements=finite))
def test_unary_forward_matches_the_reference(name, x):
    got = getattr(ag, name)(ag.asarray(x))
    assert got.backend == "array_api_strict" and got.shape == tuple(x.shape)
    np.testing.assert_array_equal(got.numpy(), np.from_dlpack(getattr(xs, name)(x)))


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(BINARY),
    data=st.data(),
    shape_pair=xps.mutually_broadcastable_shapes(2, min_dims=0, max_dims=3, max_side=3),
)
def test_binary_forward_and_gradient_for_broadcastable_shapes(name, data, shape_pair):
    s1, s2 = shape_pair.input_shapes
    x1 = data.draw(xps.arrays(xs.float64, s1, elements=finite), label="x1")
    x2 = data.draw(xps.arrays(xs.float64, s2, elements=finite), label="x2")
    f = getattr(ag, name)
    got = f(ag.asarray(x1), ag.asarray(x2))
    assert got.shape == tuple(shape_pair.result_shape)
    np.testing.assert_array_equal(got.numpy(), np.from_dlpack(getattr(xs, name)(x1, x2)))
    # gradients away from ties and the origin, where these ops have kinks
    a = np.from_dlpack(x1) + 0.0
    b = np.from_dlpack(x2) + 0.0
    if name in ("maximum", "minimum") and np.any(np.abs(np.subtract(a, b)) < 1e-3):
        return  # a tie within the finite-difference step (hypothesis found 0 vs 1e-7)
    if name in ("atan2", "hypot") and np.any(np.hypot(*np.broadcast_arrays(a, b)) < 1e-3):
        return
    if name == "atan2":
        a_, b_ = np.broadcast_arrays(a, b)
        if np.any((np.abs(a_) < 1e-3) & (b_ < 0)):
            return  # the branch cut: atan2 jumps by 2 pi across x1 = 0 where x2 < 0
    t1 = ag.asarray(a, backend="array_api_strict")
    t2 = ag.asarray(b, backend="array_api_strict")
    assert ag.testing.gradcheck(f, t1, t2)


@settings(max_examples=30, deadline=None)
@given(
    x=xps.arrays(xs.float64, xps.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=finite),
    data=st.data(),
)
def test_reductions_match_and_sum_gradient_is_ones(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    keep = data.draw(st.booleans(), label="keepdims")
    t = ag.asarray(x, requires_grad=True)
    for name in ("sum", "prod", "max", "min", "mean"):
        got = getattr(ag, name)(t, axis=axis, keepdims=keep)
        want = getattr(xs, name)(x, axis=axis, keepdims=keep)
        np.testing.assert_allclose(got.numpy(), np.from_dlpack(want), rtol=1e-12)
    ag.sum(ag.sum(t, axis=axis, keepdims=keep)).backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.ones(x.shape))

"""Arguments of the wrong kind are agrad's errors, naming the function and the argument.

Each case hands a public function a shape, axis, flag or number of the wrong type (a string, a
float, a tuple holding a string, None): the backends' own messages ("'str' object cannot be
interpreted as an integer", "object of type 'int' has no len()") say neither which function nor
which argument. Found by calling every public function with such values."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag

X = np.arange(6.0).reshape(2, 3)

# (call on x, the function's name in the message, the argument's name in the message)
CASES = [
    *[
        (lambda x, f=f, v=v: f(x, keepdims=v), name, "keepdims must be True or False")
        for name, f in [
            ("sum", ag.sum),
            ("prod", ag.prod),
            ("mean", ag.mean),
            ("var", ag.var),
            ("std", ag.std),
            ("max", ag.max),
            ("min", ag.min),
            ("all", ag.all),
            ("any", ag.any),
            ("argmax", ag.argmax),
            ("count_nonzero", ag.count_nonzero),
            ("linalg.vector_norm", ag.linalg.vector_norm),
            ("linalg.matrix_norm", ag.linalg.matrix_norm),
        ]
        for v in ("a", 1.5, (0, 1))
    ],
    *[
        (lambda x, f=f, v=v: f(x, correction=v), name, "correction must be a Python int or")
        for name, f in [("var", ag.var), ("std", ag.std)]
        for v in ("a", None, True)
    ],
    *[
        (lambda x, v=v: ag.reshape(x, v), "reshape", "shape must be an int or a tuple of ints")
        for v in ("a", 1.5, (2, "3"), (2.0, 3), None)
    ],
    (lambda x: ag.broadcast_to(x, 1.5), "broadcast_to", "shape must be"),
    (lambda x: ag.permute_dims(x, "ab"), "permute_dims", "axes must be"),
    (lambda x: ag.broadcast_shapes((2, 1), None), "broadcast_shapes", "each shape must be"),
    *[
        (lambda x, f=f, v=v: f(v), name, "shape must be an int or a tuple of ints")
        for name, f in [("zeros", ag.zeros), ("ones", ag.ones), ("empty", ag.empty)]
        for v in ("a", None, (2, "a"), 2.5)
    ],
    (lambda x: ag.full("a", 1.0), "full", "shape must be"),
    (lambda x: ag.eye("a"), "eye", "n_rows must be a Python int"),
    (lambda x: ag.eye(2, k=0.5), "eye", "k must be a Python int"),
    (lambda x: ag.arange("a"), "arange", "start must be a Python int or float"),
    (lambda x: ag.arange(None), "arange", "start must be a Python int or float"),
    (lambda x: ag.linspace(0, 1, "a"), "linspace", "num must be a Python int"),
    *[
        (lambda x, f=f, v=v: f(v), name, "arrays must be a list or tuple of tensors")
        for name, f in [("concat", ag.concat), ("stack", ag.stack)]
        for v in (None, 3)
    ],
    (lambda x: ag.concat(x), "concat", "arrays must be a list or tuple of tensors, got Tensor"),
    (lambda x: ag.fft.fftn(x, s=4), "fft.fftn", "s must be a tuple of ints, got 4"),
    (lambda x: ag.fft.fftn(x, s=1.5), "fft.fftn", "s must be a tuple of ints"),
    (lambda x: ag.fft.rfftn(x, axes=1.5), "fft.rfftn", "axes must be a tuple of ints"),
    (lambda x: ag.fft.fftshift(x, axes=1.5), "fft.fftshift", "axes must be an int or a tuple"),
]


@pytest.mark.parametrize(("call", "name", "what"), CASES)
def test_wrong_kinds_of_arguments_are_named(backend, call, name, what):
    x = ag.asarray(X, backend=backend)
    with pytest.raises(TypeError, match=rf"^agrad\.{name}: {what}"):
        call(x)


def test_negative_dimensions_and_a_zero_step_are_named():
    with pytest.raises(ValueError, match=r"^agrad\.zeros: shape \(2, -1\) has a negative dim"):
        ag.zeros((2, -1))
    with pytest.raises(ValueError, match=r"^agrad\.arange: step must not be 0"):
        ag.arange(0, 5, 0)


def test_the_checks_keep_what_the_standard_allows(backend):
    x = ag.asarray(X, backend=backend)
    assert ag.sum(x, keepdims=1).shape == (1, 1)  # 0 and 1 act as False and True
    assert ag.reshape(x, np.int64(6)).shape == (6,)  # integer-like sizes
    assert ag.zeros([2, np.int32(3)], backend=backend).shape == (2, 3)
    assert ag.concat(a for a in (x, x)).shape == (4, 3)  # any iterable of tensors
    assert float(ag.var(x, correction=1)) == pytest.approx(np.var(X, ddof=1))

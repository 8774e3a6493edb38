"""A minimal reverse-mode tape on NumPy: about the floor of an eager Python tape, for scenario D.

A Wengert list: each op that has an input requiring grad appends one tuple ``(backward, out,
inputs)`` to a list, and ``backward`` runs the list newest first, each backward function adding
its inputs' cotangents into their ``g``. Values that need no gradient (the data ``X``, the
labels ``y`` and what is computed from them alone) record nothing and get no cotangent. No
checks of any kind (shapes, dtypes, backends, devices, grad mode), no broadcasting rules, no
hooks, no graph of its own per root (one list per process), no freeing before the backward:
only what the XOR network needs, done the cheapest way known here. What it costs over
hand-written NumPy is about what recording and replaying a graph in Python costs at all; what
agrad costs over it is the price of the rest.

(Until 2026-11-29 this file held a tape of closures sorted by a depth-first search that also
computed the gradients of the constants: 3.05x on D, which the docs took for the floor. This one
runs D at about 1.7x.)
"""

from __future__ import annotations

import numpy as np

TAPE: list = []  # (backward, out, inputs), oldest first


class V:
    """A value: its array ``v``, its cotangent ``g``, whether it needs a gradient ``rg``."""

    __slots__ = ("v", "g", "rg")

    def __init__(self, v, rg=False):
        self.v, self.g, self.rg = v, None, rg

    def __neg__(self):
        return _op(-self.v, _neg_b, self)

    def __add__(self, c):  # (a Python number c: all the network adds)
        return _op(self.v + c, _pass_b, self)

    __radd__ = __add__

    def __rsub__(self, c):
        return _op(c - self.v, _neg_b, self)

    def __sub__(self, o):
        return _op(self.v - o.v, _sub_b, (self, o), self.rg or o.rg)

    def __mul__(self, o):
        return _op(self.v * o.v, _mul_b, (self, o), self.rg or o.rg)

    def __rtruediv__(self, c):
        return _op(c / self.v, _rdiv_b, self)

    def __matmul__(self, o):
        return _op(self.v @ o.v, _matmul_b, (self, o), self.rg or o.rg)


def _op(value, backward, inputs, rg=None):
    """The result of an op; recorded only when an input needs a gradient."""
    if rg is None:
        rg = inputs.rg
    out = V(value, rg)
    if rg:
        TAPE.append((backward, out, inputs))
    return out


def _acc(x, g):
    x.g = g if x.g is None else x.g + g


def _neg_b(out, x):
    _acc(x, -out.g)


def _pass_b(out, x):
    _acc(x, out.g)


def _sub_b(out, xs):
    a, b = xs
    if a.rg:
        _acc(a, out.g)
    if b.rg:
        _acc(b, -out.g)


def _mul_b(out, xs):
    a, b = xs
    if a.rg:
        _acc(a, out.g * b.v)
    if b.rg:
        _acc(b, out.g * a.v)


def _rdiv_b(out, x):  # d(c/x) = -c/x^2 = -out^2/c; the network's c is 1
    _acc(x, -(out.g * out.v) * out.v)


def _matmul_b(out, xs):
    a, b = xs
    if a.rg:
        _acc(a, out.g @ b.v.T)
    if b.rg:
        _acc(b, a.v.T @ out.g)


def _exp_b(out, x):
    _acc(x, out.g * out.v)


def _log_b(out, x):
    _acc(x, out.g / x.v)


def _mean_b(out, x):
    _acc(x, np.full(x.v.shape, out.g / x.v.size))


def _bias_b(out, x):
    _acc(x, out.g[:, :-1])


def exp(x):
    return _op(np.exp(x.v), _exp_b, x)


def log(x):
    return _op(np.log(x.v), _log_b, x)


def mean(x):
    return _op(np.mean(x.v), _mean_b, x)


def with_bias(x):
    return _op(np.concatenate([x.v, np.ones((x.v.shape[0], 1))], axis=1), _bias_b, x)


def sigmoid(z):
    return 1 / (1 + exp(-z))


def backward(root):
    """Every recorded op newest first (the list's order is a topological order), then the
    list is emptied."""
    root.g = np.ones_like(root.v)
    for back, out, inputs in reversed(TAPE):
        if out.g is not None:
            back(out, inputs)
    TAPE.clear()


def take_grad(x):
    """A leaf's gradient, reset for the next step (scenario D's update reads it)."""
    g, x.g = x.g, None
    return g

"""A minimal reverse-mode tape on NumPy: the floor of any eager Python tape, for scenario D.

Each value is one object holding its array, its parents and a closure that maps its cotangent to
theirs; ``backward`` sorts the graph once and runs the closures. No checks of any kind (shapes,
dtypes, backends, devices, grad mode), no broadcasting rules, no hooks, no saved-value release:
only what the XOR network needs. What it costs over hand-written NumPy is what recording and
replaying a graph in Python costs at all; what agrad costs over it is the price of the rest.
"""

from __future__ import annotations

import numpy as np


class V:
    __slots__ = ("v", "parents", "vjp", "g")

    def __init__(self, v, parents=(), vjp=None):
        self.v, self.parents, self.vjp, self.g = v, parents, vjp, None

    def __add__(self, o):
        return _add(self, o)

    def __radd__(self, o):
        return _add(o, self)

    def __sub__(self, o):
        return _sub(self, o)

    def __rsub__(self, o):
        return _sub(o, self)

    def __mul__(self, o):
        return _mul(self, o)

    def __rmul__(self, o):
        return _mul(o, self)

    def __truediv__(self, o):
        return _div(self, o)

    def __rtruediv__(self, o):
        return _div(o, self)

    def __neg__(self):
        return V(-self.v, (self,), lambda g: (-g,))

    def __matmul__(self, o):
        a, b = self.v, o.v
        return V(a @ b, (self, o), lambda g: (g @ b.T, a.T @ g))


def _val(x):
    return x.v if type(x) is V else x


def _add(a, b):
    return V(_val(a) + _val(b), (a, b), lambda g: (g, g))


def _sub(a, b):
    return V(_val(a) - _val(b), (a, b), lambda g: (g, -g))


def _mul(a, b):
    av, bv = _val(a), _val(b)
    return V(av * bv, (a, b), lambda g: (g * bv, g * av))


def _div(a, b):
    av, bv = _val(a), _val(b)
    return V(av / bv, (a, b), lambda g: (g / bv, -g * av / bv / bv))


def exp(a):
    out = np.exp(a.v)
    return V(out, (a,), lambda g: (g * out,))


def log(a):
    x = a.v
    return V(np.log(x), (a,), lambda g: (g / x,))


def mean(a):
    shape, n = a.v.shape, a.v.size
    return V(np.mean(a.v), (a,), lambda g: (np.full(shape, g / n),))


def with_bias(a):
    k = a.v.shape[1]
    ones = np.ones((a.v.shape[0], 1))
    return V(np.concatenate([a.v, ones], axis=1), (a,), lambda g: (g[:, :k],))


def sigmoid(z):
    return 1 / (1 + exp(-z))


def backward(root):
    """Topological order by an iterative depth-first search, then every closure once."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if type(p) is V)
    root.g = np.ones_like(root.v)
    for node in reversed(order):
        if node.vjp is None or node.g is None:
            continue
        for p, gp in zip(node.parents, node.vjp(node.g)):
            if type(p) is V:
                p.g = gp if p.g is None else p.g + gp


def xor_setup(X, Y, theta0, steps, lr):
    """Scenario D on the minimal tape: the same forward, cost and update as examples/xor.py."""
    Xv, y = V(X), V(Y)

    def run():
        t1, t2 = (np.array(t, dtype=np.float64) for t in theta0)
        for _ in range(steps):
            p1, p2 = V(t1), V(t2)
            L3 = sigmoid(with_bias(sigmoid(with_bias(Xv) @ p1)) @ p2)
            C = mean(-y * log(L3) - (1 - y) * log(1 - L3))
            backward(C)
            t1 -= lr * p1.g
            t2 -= lr * p2.g
        return [C.v, t1, t2]

    return run

"""agrad's architecture without its features, on NumPy: a second yardstick for scenario D.

Where ``minimal_tape.py`` is one list per process, this tape is built as agrad is: a value never
holds its graph's saved arrays; each recorded op makes a node (its backward function, its
parents, each input's shape and dtype, only the arrays its backward needs, a creation number);
a graph belongs to its root and is freed with it; the backward walks the nodes newest first by
a heap keyed on the creation number, frees each node's saved arrays once used, and checks every
cotangent's shape and dtype against its input's. Every op checks its operands (values; two of
them of one array type and one dtype) and reads grad mode from a ``ContextVar``.

What it leaves out is everything else agrad does: Python scalars by the standard's promotion
rules, backends and devices, hooks, ``retain_grad``, ``create_graph`` (its backward functions
work on arrays only), several outputs per op, static arguments, broadcasting, complex values,
anomaly mode, clear errors. Its time over ``minimal_tape.py`` is what the architecture costs;
agrad's over it, what the features cost.
"""

from __future__ import annotations

import contextvars
import itertools
from heapq import heappop, heappush

import numpy as np

GRAD = contextvars.ContextVar("checked_tape_grad", default=True)
_next_seq = itertools.count(0, -1).__next__  # decreasing: newer nodes sort first


class Node:
    __slots__ = ("backward", "parents", "meta", "saved", "seq", "g")


class V:
    """A value: its array ``v``, whether it needs a gradient, its node, a leaf's ``grad``."""

    __slots__ = ("v", "rg", "node", "grad")

    def __init__(self, v, rg=False):
        self.v, self.rg, self.node, self.grad = v, rg, None, None

    def __neg__(self):
        return _unary(-self.v, self, _neg_b, None)

    def __radd__(self, c):  # (Python numbers on the left: all the network has)
        return _unary(c + self.v, self, _pass_b, None)

    def __rsub__(self, c):
        return _unary(c - self.v, self, _neg_b, None)

    def __rtruediv__(self, c):  # the network's c is 1: d(1/x) = -out^2
        out = c / self.v
        return _unary(out, self, _rdiv_b, out)

    def __sub__(self, o):
        return _binary(np.subtract, self, o, _sub_b, False)

    def __mul__(self, o):
        return _binary(np.multiply, self, o, _mul_b, True)

    def __matmul__(self, o):
        return _binary(np.matmul, self, o, _matmul_b, True)


def _record(out, backward, parents, meta, saved):
    n = Node()
    n.backward, n.parents, n.meta, n.saved = backward, parents, meta, saved
    n.seq, n.g = _next_seq(), None
    out.node, out.rg = n, True


def _parent(x):
    return x.node if x.node is not None else x  # a leaf is its own parent


def _unary(value, x, backward, saved):
    if type(x) is not V:
        raise TypeError("checked_tape: the operand must be a value")
    out = V(value)
    if x.rg and GRAD.get():
        _record(out, backward, (_parent(x),), ((x.v.shape, x.v.dtype),), saved)
    return out


def _binary(f, a, b, backward, keep):
    if type(b) is not V or type(a.v) is not type(b.v) or a.v.dtype is not b.v.dtype:
        raise TypeError("checked_tape: operands must be values of one array type and dtype")
    out = V(f(a.v, b.v))
    if (a.rg or b.rg) and GRAD.get():
        parents = (_parent(a) if a.rg else None, _parent(b) if b.rg else None)
        meta = ((a.v.shape, a.v.dtype), (b.v.shape, b.v.dtype))
        _record(out, backward, parents, meta, (a.v, b.v) if keep else None)
    return out


def _neg_b(g, saved):
    return (-g,)


def _pass_b(g, saved):
    return (g,)


def _sub_b(g, saved):
    return g, -g


def _mul_b(g, saved):
    return g * saved[1], g * saved[0]


def _rdiv_b(g, out):
    return (-(g * out) * out,)


def _matmul_b(g, saved):
    return g @ saved[1].T, saved[0].T @ g


def _exp_b(g, out):
    return (g * out,)


def _log_b(g, x):
    return (g / x,)


def _mean_b(g, saved):
    shape, size = saved
    return (np.full(shape, g / size),)


def _bias_b(g, saved):
    return (g[:, :-1],)


def exp(x):
    out = np.exp(x.v)
    return _unary(out, x, _exp_b, out)


def log(x):
    return _unary(np.log(x.v), x, _log_b, x.v)


def mean(x):
    return _unary(np.asarray(np.mean(x.v)), x, _mean_b, (x.v.shape, x.v.size))


def with_bias(x):
    ones = np.ones((x.v.shape[0], 1))
    return _unary(np.concatenate([x.v, ones], axis=1), x, _bias_b, None)


def sigmoid(z):
    return 1 / (1 + exp(-z))


def backward(root):
    """Newest node first; each cotangent checked against its input, then added to the parent's
    (a node's: queued on its first; a leaf's: its ``grad``)."""
    n = root.node
    n.g = np.ones_like(root.v)
    heap = [(n.seq, n)]
    while heap:
        n = heappop(heap)[1]
        g, n.g = n.g, None
        grads = n.backward(g, n.saved)
        n.saved = None
        for p, gi, (shape, dtype) in zip(n.parents, grads, n.meta):
            if p is None:
                continue
            if gi.shape != shape or gi.dtype is not dtype:
                raise ValueError("checked_tape: a cotangent's shape or dtype is not its input's")
            if type(p) is Node:
                if p.g is None:
                    p.g = gi
                    heappush(heap, (p.seq, p))
                else:
                    p.g = p.g + gi
            else:
                p.grad = gi if p.grad is None else p.grad + gi


def take_grad(x):
    """A leaf's gradient, reset for the next step (scenario D's update reads it)."""
    g, x.grad = x.grad, None
    return g

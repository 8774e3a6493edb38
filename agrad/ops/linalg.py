"""Linear algebra of the main namespace: ``matmul``, ``tensordot``, ``vecdot``,
``matrix_transpose``.

Examples
--------
>>> import agrad as ag
>>> a = ag.asarray([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> ag.sum(a @ a).backward()
>>> a.grad
Tensor([[ 7., 11.],
        [ 9., 13.]], backend='numpy', device='cpu', dtype=float64)
"""

from __future__ import annotations

from .._op import primitive
from ._util import as_tensor


@primitive
def matmul(xp, x1, x2):
    """Matrix product with the standard's 1-D and batch-broadcasting rules."""
    return xp.matmul(x1, x2)


@matmul.defvjp
def _(xp, g, out, x1, x2):  # d(AB) = dA B + A dB  =>  gA = g B^T, gB = A^T g
    v1 = len(x1.shape) == 1
    v2 = len(x2.shape) == 1
    a = xp.reshape(x1, (1, x1.shape[0])) if v1 else x1
    b = xp.reshape(x2, (x2.shape[0], 1)) if v2 else x2
    if v1 and v2:
        g2 = xp.reshape(g, (1, 1))
    elif v1:
        g2 = xp.expand_dims(g, axis=-2)
    elif v2:
        g2 = xp.expand_dims(g, axis=-1)
    else:
        g2 = g
    ga = xp.matmul(g2, xp.matrix_transpose(b))  # (..., 1, n) when x1 is 1-D: the tape sums
    gb = xp.matmul(xp.matrix_transpose(a), g2)
    if v2:
        gb = gb[..., 0]
    return ga, gb


@primitive(saves="none")
def matrix_transpose(xp, x):
    """Swap the last two axes."""
    return xp.matrix_transpose(x)


@matrix_transpose.defvjp
def _(xp, g, out, x):  # the transpose is its own adjoint
    return xp.matrix_transpose(g)


def _norm_tensordot_axes(axes, n1, n2):
    if isinstance(axes, int):
        if axes < 0 or axes > min(n1, n2):
            raise ValueError(f"agrad.tensordot: axes={axes} is out of range for {n1}-D and {n2}-D")
        return tuple(range(n1 - axes, n1)), tuple(range(axes))
    a1, a2 = axes
    a1 = (a1,) if isinstance(a1, int) else tuple(a1)
    a2 = (a2,) if isinstance(a2, int) else tuple(a2)
    if len(a1) != len(a2):
        raise ValueError(f"agrad.tensordot: axes {axes!r} pair different numbers of axes")
    return tuple(a % n1 for a in a1), tuple(a % n2 for a in a2)


@primitive
def _tensordot(xp, x1, x2, *, axes):
    return xp.tensordot(x1, x2, axes=axes)


@_tensordot.defvjp
def _(xp, g, out, x1, x2, *, axes):  # contract g with the other factor over its free axes
    ax1, ax2 = axes
    n1, n2 = len(x1.shape), len(x2.shape)
    free1 = [i for i in range(n1) if i not in ax1]
    free2 = [j for j in range(n2) if j not in ax2]
    nf1 = len(free1)
    gnd = nf1 + len(free2)
    g1 = xp.tensordot(g, x2, axes=(list(range(nf1, gnd)), free2))
    # g1 axes: free1..., then x2's contracted axes in increasing order
    srt2 = sorted(ax2)
    pos1 = [free1.index(i) if i in free1 else nf1 + srt2.index(ax2[ax1.index(i)]) for i in range(n1)]
    g2 = xp.tensordot(x1, g, axes=(free1, list(range(nf1))))
    # g2 axes: x1's contracted axes in increasing order, then free2...
    srt1 = sorted(ax1)
    nc = len(ax1)
    pos2 = [nc + free2.index(j) if j in free2 else srt1.index(ax1[ax2.index(j)]) for j in range(n2)]
    return xp.permute_dims(g1, tuple(pos1)), xp.permute_dims(g2, tuple(pos2))


def tensordot(x1, x2, /, *, axes=2):
    """Contract ``x1`` and ``x2`` over ``axes`` (an int, or two sequences of axes)."""
    x1 = as_tensor(x1, "tensordot")
    x2 = as_tensor(x2, "tensordot")
    return _tensordot(x1, x2, axes=_norm_tensordot_axes(axes, x1.ndim, x2.ndim))


@primitive
def _vecdot(xp, x1, x2, *, axis):
    return xp.vecdot(x1, x2, axis=axis)


@_vecdot.defvjp
def _(xp, g, out, x1, x2, *, axis):  # d sum(x y) = y dx + x dy, along axis
    ge = xp.expand_dims(g, axis=axis)
    return ge * x2, ge * x1


def vecdot(x1, x2, /, *, axis=-1):
    """Dot product of vectors along ``axis`` (broadcasting the other axes)."""
    x1 = as_tensor(x1, "vecdot")
    x2 = as_tensor(x2, "vecdot")
    nd = max(x1.ndim, x2.ndim)
    if not -nd <= axis < nd:
        raise ValueError(f"agrad.vecdot: axis {axis} is out of range for shapes {x1.shape} and "
                         f"{x2.shape}")
    return _vecdot(x1, x2, axis=axis - nd if axis >= 0 else axis)

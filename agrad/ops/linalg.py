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


@primitive(complex_grad="holomorphic", selective=True)
def matmul(xp, x1, x2):
    """Matrix product with the standard's 1-D and batch-broadcasting rules."""
    try:
        # one dtype: the array's own operator (array-api-compat's torch.matmul wrapper fixes
        # mixed-dtype promotion in 1-6 µs a call); mixed dtypes: the namespace's, which promotes
        return x1 @ x2 if x1.dtype == x2.dtype else xp.matmul(x1, x2)
    except Exception as e:  # costs nothing unless raised; the libraries' messages vary
        s1, s2 = tuple(getattr(x1, "shape", ())), tuple(getattr(x2, "shape", ()))  # (scalars)
        if _matmul_shapes_ok(s1, s2):
            raise
        raise ValueError(
            f"agrad.matmul: cannot multiply shapes {s1} and {s2}: both must be at least 1-D, "
            "the last axis of x1 must match the second-to-last of x2 (the only axis of a 1-D "
            "x2), and the batch axes must broadcast"
        ) from e


def _matmul_shapes_ok(s1, s2) -> bool:
    if not s1 or not s2 or s1[-1] != (s2[0] if len(s2) == 1 else s2[-2]):
        return False
    b1, b2 = s1[:-2], s2[:-2]
    n = min(len(b1), len(b2))
    return all(p == q or 1 in (p, q) for p, q in zip(b1[len(b1) - n :], b2[len(b2) - n :]))


@matmul.defvjp
def _(xp, g, out, x1, x2, needs):  # d(AB) = dA B + A dB  =>  gA = g B^T, gB = A^T g
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
    # only the wanted ones: the data batch of a first layer needs no g @ W^T. An operand that
    # is a transposed view (the W.mT of x @ W.mT) gets its gradient computed transposed, so it
    # comes out transposed too and the leaf's gradient is row-major like the leaf itself
    if not needs[0]:
        ga = None
    elif _transposed(a):
        ga = xp.matrix_transpose(xp.matmul(b, xp.matrix_transpose(g2)))
    else:
        ga = xp.matmul(g2, xp.matrix_transpose(b))  # (..., 1, n) if x1 is 1-D
    if not needs[1]:
        gb = None
    elif _transposed(b):
        gb = xp.matrix_transpose(xp.matmul(xp.matrix_transpose(g2), a))
    else:
        gb = xp.matmul(xp.matrix_transpose(a), g2)
    if v2 and gb is not None:
        gb = gb[..., 0]
    return ga, gb


def _transposed(x) -> bool:
    """Whether ``x`` is a 2-D column-major view (NumPy, CuPy: a transposed row-major array)."""
    flags = getattr(x, "flags", None)
    return (
        flags is not None
        and len(x.shape) == 2
        and not flags.c_contiguous
        and getattr(flags, "f_contiguous", False)
    )


@primitive(saves="none", complex_grad="direct")
def matrix_transpose(xp, x):
    """Swap the last two axes."""
    if len(x.shape) < 2:
        raise ValueError(
            f"agrad.matrix_transpose: needs at least 2 dimensions, got shape {tuple(x.shape)}"
        )
    return xp.matrix_transpose(x)


@matrix_transpose.defvjp
def _(xp, g, out, x):  # the transpose is its own adjoint
    return xp.matrix_transpose(g)


def _norm_tensordot_axes(axes, s1, s2):
    """``axes`` as two tuples of non-negative axes, checked against the shapes ``s1``, ``s2``."""
    n1, n2 = len(s1), len(s2)
    if isinstance(axes, int) and not isinstance(axes, bool):
        if axes < 0 or axes > min(n1, n2):
            raise ValueError(
                f"agrad.tensordot: axes={axes} is out of range for shapes {s1} and {s2}"
            )
        a1, a2 = tuple(range(n1 - axes, n1)), tuple(range(axes))
    else:
        try:
            a1, a2 = axes
        except (TypeError, ValueError):
            raise ValueError(
                f"agrad.tensordot: axes must be an int or a pair of axis sequences, got {axes!r}"
            ) from None
        a1 = (a1,) if isinstance(a1, int) else tuple(a1)
        a2 = (a2,) if isinstance(a2, int) else tuple(a2)
        if len(a1) != len(a2):
            raise ValueError(
                f"agrad.tensordot: axes {axes!r} pair different numbers of axes ({len(a1)} of x1, "
                f"{len(a2)} of x2)"
            )
        for ax, n, s, which in ((a1, n1, s1, "x1"), (a2, n2, s2, "x2")):
            bad = [a for a in ax if not isinstance(a, int) or not -n <= a < n]
            if bad:
                raise ValueError(
                    f"agrad.tensordot: axis {bad[0]!r} is out of range for {which} of shape {s}"
                )
            if len({a % n for a in ax}) != len(ax):
                raise ValueError(f"agrad.tensordot: repeated axis in {ax} for {which}")
        a1 = tuple(a % n1 for a in a1)
        a2 = tuple(a % n2 for a in a2)
    for i, j in zip(a1, a2):
        if s1[i] != s2[j]:
            raise ValueError(
                f"agrad.tensordot: axis {i} of x1 (shape {s1}) has length {s1[i]} but axis {j} "
                f"of x2 (shape {s2}) has length {s2[j]}; contracted axes must match"
            )
    return a1, a2


@primitive(complex_grad="holomorphic")
def _tensordot(xp, x1, x2, *, axes):
    return _contract(xp, x1, x2, axes)


def _contract(xp, a, b, axes):
    """``tensordot(a, b, axes)``; with a 0-d operand (nothing to contract) the plain product,
    which CuPy's tensordot refuses when the empty axes come as lists."""
    if len(a.shape) == 0 or len(b.shape) == 0:
        return a * b
    return xp.tensordot(a, b, axes=axes)


@_tensordot.defvjp
def _(xp, g, out, x1, x2, *, axes):  # contract g with the other factor over its free axes
    ax1, ax2 = axes
    n1, n2 = len(x1.shape), len(x2.shape)
    free1 = [i for i in range(n1) if i not in ax1]
    free2 = [j for j in range(n2) if j not in ax2]
    nf1 = len(free1)
    gnd = nf1 + len(free2)
    g1 = _contract(xp, g, x2, (list(range(nf1, gnd)), free2))
    # g1 axes: free1..., then x2's contracted axes in increasing order
    srt2 = sorted(ax2)
    pos1 = [
        free1.index(i) if i in free1 else nf1 + srt2.index(ax2[ax1.index(i)]) for i in range(n1)
    ]
    g2 = _contract(xp, x1, g, (free1, list(range(nf1))))
    # g2 axes: x1's contracted axes in increasing order, then free2...
    srt1 = sorted(ax1)
    nc = len(ax1)
    pos2 = [nc + free2.index(j) if j in free2 else srt1.index(ax1[ax2.index(j)]) for j in range(n2)]
    return xp.permute_dims(g1, tuple(pos1)), xp.permute_dims(g2, tuple(pos2))


def tensordot(x1, x2, /, *, axes=2):
    """Contract ``x1`` and ``x2`` over ``axes`` (an int, or two sequences of axes)."""
    x1 = as_tensor(x1, "tensordot")
    x2 = as_tensor(x2, "tensordot")
    return _tensordot(x1, x2, axes=_norm_tensordot_axes(axes, x1.shape, x2.shape))


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
    if not isinstance(axis, int) or not -nd <= axis < nd:
        raise ValueError(
            f"agrad.vecdot: axis {axis} is out of range for shapes {x1.shape} and {x2.shape}"
        )
    axis = axis - nd if axis >= 0 else axis
    if -axis > min(x1.ndim, x2.ndim) or x1.shape[axis] != x2.shape[axis]:
        raise ValueError(
            f"agrad.vecdot: shapes {x1.shape} and {x2.shape} differ along axis {axis} (or one "
            "lacks it); the contracted axis must have one length in both"
        )
    return _vecdot(x1, x2, axis=axis)

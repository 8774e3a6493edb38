"""The standard's ``linalg`` extension, differentiable: ``ag.linalg.<name>``.

Real floating dtypes only for the decompositions, solvers and norms (complex inputs raise
:class:`NotImplementedError` naming the op); ``diagonal``, ``trace`` and ``outer`` are linear and
accept any floating dtype. Every VJP is written against ``xp`` and calls only standard functions
(``xp.linalg.<fn>`` for this extension), so it runs on raw arrays in a plain backward and on
Tensors, recorded, with ``create_graph=True``: second derivatives come for free.

Gauge and kinks, chosen once:

* ``vector_norm`` (and ``matrix_norm(ord="fro")``) has gradient 0 at the zero vector, as in
  PyTorch; ``ord=1`` uses ``sign(x)`` (0 at 0); ``ord=inf``/``-inf`` share the gradient equally
  between tied maximal (minimal) entries; ``ord=0`` counts nonzeros: its gradient is 0.
* ``eigh`` treats its input as symmetric (the gradient is symmetric) and needs distinct
  eigenvalues; ``svd`` needs distinct nonzero singular values, ``qr`` a full-rank input. Their
  gradients are well defined only for functions invariant to the sign (gauge) of the vectors.
* ``matrix_rank`` is an integer count: not differentiable.

Examples
--------
>>> import agrad as ag
>>> a = ag.asarray([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> ag.linalg.det(a).backward()
>>> a.grad  # d det(A) / dA = det(A) A^{-T}, the cofactor matrix
Tensor([[ 3., -1.],
        [-1.,  2.]], backend='numpy', device='cpu', dtype=float64)
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple

from .._op import _mismatch, primitive
from ._util import as_tensor, broadcast_shape, broadcasts_to, flag_arg, norm_axes
from .elementwise import abs as _abs
from .linalg import matmul
from .manipulation import expand_dims, reshape
from .reduction import max as _max
from .reduction import min as _min
from .reduction import sum as _sum

__all__ = [
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "trace",
    "vector_norm",
    "EighResult",
    "QRResult",
    "SlogdetResult",
    "SVDResult",
]

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


# ---- helpers -------------------------------------------------------------------------------
def _la(xp):
    """The ``linalg`` extension of ``xp`` (agrad's own when ``xp`` is agrad)."""
    return xp.linalg


def _T(xp, a):
    return xp.matrix_transpose(a)


def _eye(xp, n, like):
    return xp.eye(n, dtype=like.dtype, device=like.device)


def _tril_mask(xp, n, like, k=0):
    """1.0 on and below the ``k``-th diagonal of an ``n x n`` matrix, else 0.0."""
    i = xp.arange(n, device=like.device)
    keep = xp.expand_dims(i, axis=1) + k >= xp.expand_dims(i, axis=0)
    return xp.astype(keep, like.dtype)


def _zeros_if_none(xp, g, like):
    return xp.zeros_like(like) if g is None else g


_ACCEPTS = {  # the dtype kinds each kind of linalg function takes (the standard's wording)
    "floating": ("real floating", "complex floating"),
    "numeric": ("real floating", "complex floating", "signed integer", "unsigned integer"),
    "any": ("real floating", "complex floating", "signed integer", "unsigned integer", "bool"),
}


def _floating(x, op, *, accepts="floating"):
    """``x`` as a Tensor of a dtype ``op`` takes: floating (most of linalg), ``"numeric"``
    (trace, outer, cross) or ``"any"`` (diagonal). Complex values run forward everywhere (the
    backends' own routines); the VJPs written for real matrices refuse them by name (their
    primitives declare no complex gradient: see ``_op._recordable``)."""
    x = as_tensor(x, f"linalg.{op}")
    kind = x.dtype.kind
    if kind not in _ACCEPTS[accepts]:
        what = "floating-point" if accepts == "floating" else accepts
        raise TypeError(
            f"agrad.linalg.{op}: expected a {what} tensor, got {x.dtype}; convert it first, "
            "e.g. ag.astype(x, ag.float64)"
        )
    return x


def _matrix(x, op, *, accepts="floating"):
    x = _floating(x, op, accepts=accepts)
    if x.ndim < 2:
        raise ValueError(
            f"agrad.linalg.{op}: needs a matrix (or a stack of matrices, shape (..., M, N)), "
            f"got shape {tuple(x.shape)}"
        )
    return x


def _square(x, op):
    x = _matrix(x, op)
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"agrad.linalg.{op}: needs a square matrix (or a stack of them, shape (..., M, M)), "
            f"got shape {tuple(x.shape)}"
        )
    return x


def _check_rtol(rtol, op, x):
    """``rtol`` for pinv and matrix_rank: None, a Python number, or a real floating tensor that
    broadcasts to the stack's shape ``x.shape[:-2]`` (the raw array, a tolerance per matrix)."""
    if rtol is None:
        return None
    if isinstance(rtol, (int, float)) and not isinstance(rtol, bool):
        return float(rtol)
    if not hasattr(rtol, "shape"):
        raise TypeError(
            f"agrad.linalg.{op}: rtol must be None, a Python float or a real floating tensor, "
            f"got {type(rtol).__name__}"
        )
    t = as_tensor(rtol, f"linalg.{op}")
    if t._bk is not x._bk or (x._bk.multi_device and t._dev != x._dev):
        _mismatch(f"linalg.{op}", [x, t])
    if t.dtype.kind != "real floating":
        raise TypeError(f"agrad.linalg.{op}: an rtol tensor must be real floating, got {t.dtype}")
    stack = tuple(x.shape[:-2])
    rs = tuple(t.shape)
    if not broadcasts_to(rs, stack):
        raise ValueError(
            f"agrad.linalg.{op}: rtol of shape {rs} does not broadcast to the stack of matrices "
            f"of x, shape {stack} (x is {tuple(x.shape)})"
        )
    return t._data


# ---- diagonal, trace, outer, cross ---------------------------------------------------------
@primitive(saves="none")
def _diagonal(xp, x, *, offset, in_shape):
    return _la(xp).diagonal(x, offset=offset)


@_diagonal.defvjp
def _(xp, g, out, x, *, offset, in_shape):  # scatter g back: E^T diag(g) F with one-hot E, F
    m, n = in_shape[-2], in_shape[-1]
    ln = g.shape[-1]
    left = xp.eye(m, ln, k=-max(0, -offset), dtype=g.dtype, device=g.device)  # (M, L)
    right = xp.eye(ln, n, k=max(0, offset), dtype=g.dtype, device=g.device)  # (L, N)
    return xp.matmul(left * xp.expand_dims(g, axis=-2), right)


def diagonal(x, /, *, offset=0):
    """The ``offset``-th diagonal of each matrix of ``x`` (shape ``(..., M, N)``)."""
    x = _matrix(x, "diagonal", accepts="any")
    if not isinstance(offset, numbers.Integral) or isinstance(offset, bool):
        raise TypeError(f"agrad.linalg.diagonal: offset must be an int, got {offset!r}")
    return _diagonal(x, offset=int(offset), in_shape=tuple(x.shape))


def trace(x, /, *, offset=0, dtype=None):
    """Sum of the ``offset``-th diagonal of each matrix of ``x``."""
    x = _matrix(x, "trace", accepts="numeric")
    return _sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


def outer(x1, x2, /):
    """Outer product of two 1-D tensors: ``x1[:, None] * x2[None, :]``."""
    x1 = _floating(x1, "outer", accepts="numeric")
    x2 = _floating(x2, "outer", accepts="numeric")
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(
            f"agrad.linalg.outer: needs two 1-D tensors, got shapes {tuple(x1.shape)} and "
            f"{tuple(x2.shape)}"
        )
    return expand_dims(x1, axis=1) * expand_dims(x2, axis=0)


@primitive
def _cross(xp, x1, x2, *, axis):
    return _la(xp).cross(x1, x2, axis=axis)


@_cross.defvjp
def _(xp, g, out, x1, x2, *, axis):  # g . (da x b) = da . (b x g);  g . (a x db) = db . (g x a)
    la = _la(xp)
    return la.cross(x2, g, axis=axis), la.cross(g, x1, axis=axis)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-vectors along ``axis`` (negative, counted from the end; the other
    axes broadcast)."""
    x1 = _floating(x1, "cross", accepts="numeric")
    x2 = _floating(x2, "cross", accepts="numeric")
    nmin = min(x1.ndim, x2.ndim)
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"agrad.linalg.cross: axis must be an int, got {axis!r}")
    axis = int(axis)
    if axis >= 0 and x1.ndim == x2.ndim:
        axis -= x1.ndim
    if not -nmin <= axis <= -1:
        raise ValueError(
            f"agrad.linalg.cross: axis {axis} is out of range for shapes {tuple(x1.shape)} and "
            f"{tuple(x2.shape)}; use a negative axis in [-{nmin}, -1]"
        )
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(
            f"agrad.linalg.cross: axis {axis} must have length 3 in both inputs, got shapes "
            f"{tuple(x1.shape)} and {tuple(x2.shape)}"
        )
    b1 = tuple(x1.shape[:axis]) + tuple(x1.shape[x1.ndim + axis + 1 :])
    b2 = tuple(x2.shape[:axis]) + tuple(x2.shape[x2.ndim + axis + 1 :])
    k = min(len(b1), len(b2))
    if any(p != q and 1 not in (p, q) for p, q in zip(b1[len(b1) - k :], b2[len(b2) - k :])):
        raise ValueError(
            f"agrad.linalg.cross: shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not "
            "broadcast (apart from the vector axis)"
        )
    return _cross(x1, x2, axis=axis)


# ---- norms ---------------------------------------------------------------------------------
@primitive(saves="all")
def _vector_norm(xp, x, *, axis, keepdims, ord, kshape):
    return _la(xp).vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)


@_vector_norm.defvjp
def _(xp, g, out, x, *, axis, keepdims, ord, kshape):
    ge = g if keepdims else xp.reshape(g, kshape)
    n = out if keepdims else xp.reshape(out, kshape)
    if ord == 0:  # a count of nonzeros: piecewise constant
        return xp.zeros_like(x)
    if ord == 1:
        return ge * xp.sign(x)
    if ord == 2:  # x / |x|, and 0 at the zero vector (n + 1 there: no division by zero)
        return ge * x / (n + xp.astype(n == 0, n.dtype))
    a = xp.abs(x)
    if ord in (math.inf, -math.inf):  # ties share the gradient equally
        hit = xp.astype(a == n, x.dtype)
        return ge * xp.sign(x) * hit / xp.sum(hit, axis=axis, keepdims=True)
    # general p: sign(x) |x|^(p-1) / |x|_p^(p-1); safe bases where x or the norm is 0
    p = float(ord)
    a_safe = a + xp.astype(a == 0, a.dtype)
    n_safe = n + xp.astype(n == 0, n.dtype)
    return ge * xp.sign(x) * a_safe ** (p - 1.0) / n_safe ** (p - 1.0)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The ``ord``-norm of ``x`` over ``axis`` (all axes by default).

    Subgradients: 0 at the zero vector (as PyTorch), ``sign(x)`` for ``ord=1`` (0 at 0),
    shared equally between ties for ``ord=inf``/``-inf``; ``ord=0`` (a count) has gradient 0.
    """
    x = _floating(x, "vector_norm")
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise ValueError(f"agrad.linalg.vector_norm: ord must be a number, got {ord!r}")
    axes = norm_axes(axis, x.ndim, "linalg.vector_norm")
    kshape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    ord = ord if math.isinf(ord) else (int(ord) if float(ord).is_integer() else float(ord))
    axes = None if axis is None else axes
    keepdims = flag_arg(keepdims, "linalg.vector_norm", "keepdims")
    return _vector_norm(x, axis=axes, keepdims=keepdims, ord=ord, kshape=kshape)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Matrix norm of each matrix of ``x``: ``'fro'``, ``'nuc'``, ``1``, ``-1``, ``2``, ``-2``,
    ``inf``, ``-inf`` (composites of ``vector_norm``, ``svdvals``, sums and max/min)."""
    x = _matrix(x, "matrix_norm")
    keepdims = flag_arg(keepdims, "linalg.matrix_norm", "keepdims")
    if ord == "fro":
        res = vector_norm(x, axis=(-2, -1))
    elif ord == "nuc":
        res = _sum(svdvals(x), axis=-1)
    elif ord in (2, -2):
        res = (_max if ord == 2 else _min)(svdvals(x), axis=-1)
    elif ord in (1, -1):
        res = (_max if ord == 1 else _min)(_sum(_abs(x), axis=-2), axis=-1)
    elif ord in (math.inf, -math.inf):
        res = (_max if ord > 0 else _min)(_sum(_abs(x), axis=-1), axis=-1)
    else:
        raise ValueError(
            f"agrad.linalg.matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, "
            f"got {ord!r}"
        )
    if keepdims:
        res = reshape(res, tuple(x.shape[:-2]) + (1, 1))
    return res


# ---- inverse, solve, determinants ----------------------------------------------------------
@primitive(saves="out")
def _inv(xp, x):
    return _la(xp).inv(x)


@_inv.defvjp
def _(xp, g, out, x):  # d(A^-1) = -A^-1 dA A^-1  =>  gA = -A^-T g A^-T
    yt = _T(xp, out)
    return -xp.matmul(yt, xp.matmul(g, yt))


def inv(x, /):
    """Inverse of each square matrix of ``x``."""
    return _inv(_square(x, "inv"))


def _bsolve(xp, a, b):
    """``solve(a, b)`` for ``b`` of shape ``(..., M, K)``, the batch axes broadcast first:
    the standard broadcasts them, CuPy's solve does not."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if sa[:-2] != sb[:-2]:
        batch = broadcast_shape([sa[:-2], sb[:-2]], "linalg.solve")
        a = xp.broadcast_to(a, batch + sa[-2:])
        b = xp.broadcast_to(b, batch + sb[-2:])
    return _la(xp).solve(a, b)


@primitive(saves="all")
def _solve(xp, x1, x2, *, vec):
    if not vec:
        return _bsolve(xp, x1, x2)
    if x1.ndim > 2:  # one vector for a stack of matrices: solved as (M, 1), broadcast
        return _bsolve(xp, x1, xp.expand_dims(x2, axis=-1))[..., 0]
    return _la(xp).solve(x1, x2)


@_solve.defvjp
def _(xp, g, out, x1, x2, *, vec):  # X = A^-1 B: gB = A^-T g, gA = -gB X^T
    at = _T(xp, x1)
    if vec:  # B of shape (M,): a vector, X of shape (..., M)
        gb = _bsolve(xp, at, xp.expand_dims(g, axis=-1))
        ga = -xp.matmul(gb, xp.expand_dims(out, axis=-2))
        return ga, gb[..., 0]
    gb = _bsolve(xp, at, g)
    return -xp.matmul(gb, _T(xp, out)), gb


def solve(x1, x2, /):
    """Solve ``x1 @ X = x2``: ``x1`` of shape ``(..., M, M)``; ``x2`` of shape ``(M,)`` (one
    vector, as the standard says for 1-D ``x2``) or ``(..., M, K)``, batches broadcasting."""
    x1 = _square(x1, "solve")
    x2 = _floating(x2, "solve")
    s1, s2 = tuple(x1.shape), tuple(x2.shape)
    m = s1[-1]
    vec = len(s2) == 1
    ok = len(s2) >= 1 and (s2[0] == m if vec else s2[-2] == m)
    if ok and not vec:
        b1, b2 = s1[:-2], s2[:-2]
        k = min(len(b1), len(b2))
        ok = all(p == q or 1 in (p, q) for p, q in zip(b1[len(b1) - k :], b2[len(b2) - k :]))
    if not ok:
        raise ValueError(
            f"agrad.linalg.solve: cannot solve with shapes {s1} and {s2}: x2 must have shape "
            f"({m},) or (..., {m}, K) with batch axes broadcasting against x1's"
        )
    return _solve(x1, x2, vec=vec)


@primitive(saves="all")
def _det(xp, x):
    return _la(xp).det(x)


@_det.defvjp
def _(xp, g, out, x):  # d det A = det A tr(A^-1 dA)  =>  gA = g det(A) A^-T
    c = xp.expand_dims(xp.expand_dims(g * out, axis=-1), axis=-1)
    return c * _T(xp, _la(xp).inv(x))


def det(x, /):
    """Determinant of each square matrix of ``x``."""
    return _det(_square(x, "det"))


@primitive
def _slogdet(xp, x):
    return tuple(_la(xp).slogdet(x))  # a plain tuple: the tape's mark of several outputs


@_slogdet.defvjp
def _(xp, g, out, x):  # the sign is locally constant; g_logabsdet A^-T
    gl = g[1]
    if gl is None:
        return xp.zeros_like(x)
    c = xp.expand_dims(xp.expand_dims(gl, axis=-1), axis=-1)
    return c * _T(xp, _la(xp).inv(x))


def slogdet(x, /):
    """``(sign, logabsdet)`` of each square matrix of ``x``; only ``logabsdet`` has a nonzero
    gradient."""
    return SlogdetResult(*_slogdet(_square(x, "slogdet")))


def matrix_power(x, n, /):
    """``x`` (square, batched) raised to the integer power ``n``: repeated squaring with
    ``matmul``; negative powers go through ``inv``; ``n = 0`` gives the identity (gradient 0)."""
    x = _square(x, "matrix_power")
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"agrad.linalg.matrix_power: n must be an int, got {n!r}")
    n = int(n)
    if n == 0:
        from .creation import eye

        return x * 0.0 + eye(x.shape[-1], dtype=x.dtype, device=x.device)
    base = inv(x) if n < 0 else x
    n = abs(n)
    res = None
    while True:
        if n & 1:
            res = base if res is None else matmul(res, base)
        n >>= 1
        if not n:
            return res
        base = matmul(base, base)


# ---- decompositions ------------------------------------------------------------------------
@primitive(saves="out")
def _cholesky(xp, x, *, upper):
    return _la(xp).cholesky(x, upper=upper)


@_cholesky.defvjp
def _(xp, g, out, x, *, upper):  # PyTorch's cholesky_backward: L^-T Phi(L^T gL) L^-1
    la = _la(xp)
    low = _T(xp, out) if upper else out
    gl = _T(xp, g) if upper else g
    n = low.shape[-1]
    t = xp.matmul(_T(xp, low), gl) * _tril_mask(xp, n, g)
    p = 0.5 * (t + _T(xp, t * _tril_mask(xp, n, g, -1)))  # symmetric: halves the diagonal
    lt = _T(xp, low)
    return _T(xp, la.solve(lt, _T(xp, la.solve(lt, p))))


def cholesky(x, /, *, upper=False):
    """Cholesky factor of each symmetric positive-definite matrix of ``x`` (lower, or upper
    with ``upper=True``). Only the lower triangle is read; the gradient is symmetric."""
    return _cholesky(_square(x, "cholesky"), upper=bool(upper))


@primitive(saves="out")
def _eigh(xp, x):
    return tuple(_la(xp).eigh(x))


@_eigh.defvjp
def _(xp, g, out, x):  # V (diag(gw) + skew(V^T gV) / (w_j - w_i)) V^T, symmetric
    w, v = out
    gw, gv = g
    eye = _eye(xp, w.shape[-1], w)
    inner = 0.0
    if gv is not None:
        vtgv = xp.matmul(_T(xp, v), gv)
        skew = 0.5 * (vtgv - _T(xp, vtgv))
        e = xp.expand_dims(w, axis=-2) - xp.expand_dims(w, axis=-1) + eye  # 1 on the diagonal
        inner = skew / e
    if gw is not None:
        inner = inner + xp.expand_dims(gw, axis=-2) * eye
    return xp.matmul(v, xp.matmul(inner, _T(xp, v)))


def eigh(x, /):
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix of ``x`` (ascending
    eigenvalues). The gradient needs distinct eigenvalues and is symmetric; the eigenvectors'
    signs are arbitrary, so only sign-invariant functions of them have a meaningful gradient."""
    return EighResult(*_eigh(_square(x, "eigh")))


def eigvalsh(x, /):
    """Eigenvalues of each symmetric matrix of ``x``, ascending (a composite of ``eigh``)."""
    return eigh(x).eigenvalues


def _qr_square_vjp(xp, q, r, gq, gr):
    """gA for A = QR with R square (m >= n): PyTorch's linalg_qr_backward,
    gA = (gQ + Q copyltu(triu(gR R^T - Q^T gQ))) R^-T."""
    m = xp.matmul(gr, _T(xp, r)) - xp.matmul(_T(xp, q), gq)
    n = r.shape[-1]
    mt = m * (1.0 - _tril_mask(xp, n, m, -1))  # triu(M)
    sym = mt + _T(xp, mt) - mt * _eye(xp, n, m)  # upper part mirrored, diagonal once
    b = xp.matmul(q, sym) + gq
    return _T(xp, _la(xp).solve(r, _T(xp, b)))  # b R^-T = (R^-1 b^T)^T


@primitive(saves="all")
def _qr(xp, x, *, mode):
    return tuple(_la(xp).qr(x, mode=mode))


@_qr.defvjp
def _(xp, g, out, x, *, mode):
    q, r = out
    m, n = x.shape[-2], x.shape[-1]
    if mode == "complete" and m > n:
        raise NotImplementedError(
            f"agrad.linalg.qr: the gradient of mode='complete' needs M <= N, got shape "
            f"{tuple(x.shape)}; use mode='reduced'"
        )
    gq = _zeros_if_none(xp, g[0], q)
    gr = _zeros_if_none(xp, g[1], r)
    if m >= n:
        return _qr_square_vjp(xp, q, r, gq, gr)
    # m < n: A = [X | Y], R = [U | V] with X = Q U square; Y = Q V
    y, u = x[..., :, m:], r[..., :, :m]
    gu, gv = gr[..., :, :m], gr[..., :, m:]
    gx = _qr_square_vjp(xp, q, u, gq + xp.matmul(y, _T(xp, gv)), gu)
    return xp.concat([gx, xp.matmul(q, gv)], axis=-1)


def qr(x, /, *, mode="reduced"):
    """``(Q, R)`` of each matrix of ``x``; ``mode`` is ``'reduced'`` or ``'complete'``. The
    gradient needs full rank (and ``M <= N`` for ``'complete'``)."""
    x = _matrix(x, "qr")
    if mode not in ("reduced", "complete"):
        raise ValueError(f"agrad.linalg.qr: mode must be 'reduced' or 'complete', got {mode!r}")
    return QRResult(*_qr(x, mode=mode))


@primitive(saves="out")
def _svd(xp, x, *, full_matrices):
    return tuple(_la(xp).svd(x, full_matrices=full_matrices))


@_svd.defvjp
def _(xp, g, out, x, *, full_matrices):  # PyTorch's svd_backward (Townsend 2016), real case
    u, s, vh = out
    m, n = u.shape[-2], vh.shape[-1]
    k = s.shape[-1]
    if full_matrices and m != n:
        raise NotImplementedError(
            f"agrad.linalg.svd: the gradient needs full_matrices=False for non-square input, "
            f"got U of shape {tuple(u.shape)} and Vh of shape {tuple(vh.shape)}"
        )
    gu = _zeros_if_none(xp, g[0], u)
    gs = _zeros_if_none(xp, g[1], s)
    gvh = _zeros_if_none(xp, g[2], vh)
    eye = _eye(xp, k, s)
    utgu = xp.matmul(_T(xp, u), gu)
    vtgv = xp.matmul(vh, _T(xp, gvh))
    s2 = s * s
    e = xp.expand_dims(s2, axis=-2) - xp.expand_dims(s2, axis=-1) + eye  # s_j^2 - s_i^2
    inner = (
        (utgu - _T(xp, utgu)) * xp.expand_dims(s, axis=-2)
        + xp.expand_dims(s, axis=-1) * (vtgv - _T(xp, vtgv))
    ) / e + xp.expand_dims(gs, axis=-2) * eye
    if m > k:  # + (I - U U^T) gU S^-1 V^T
        gus = gu / xp.expand_dims(s, axis=-2)
        left = xp.matmul(u, inner) + gus - xp.matmul(u, xp.matmul(_T(xp, u), gus))
        return xp.matmul(left, vh)
    if n > k:  # + U S^-1 gV^T (I - V V^T)
        sgvh = gvh / xp.expand_dims(s, axis=-1)
        right = xp.matmul(inner, vh) + sgvh - xp.matmul(xp.matmul(sgvh, _T(xp, vh)), vh)
        return xp.matmul(u, right)
    return xp.matmul(u, xp.matmul(inner, vh))


def svd(x, /, *, full_matrices=True):
    """``(U, S, Vh)`` of each matrix of ``x``. The gradient needs distinct nonzero singular
    values and ``full_matrices=False`` (unless square); only sign-invariant functions of the
    singular vectors have a meaningful gradient."""
    x = _matrix(x, "svd")
    return SVDResult(*_svd(x, full_matrices=bool(full_matrices)))


def svdvals(x, /):
    """Singular values of each matrix of ``x``, descending (a composite of ``svd``)."""
    return svd(x, full_matrices=False).S


@primitive(saves="all")
def _pinv(xp, x, *, rtol):
    return _la(xp).pinv(x, rtol=rtol)


@_pinv.defvjp
def _(xp, g, out, x, *, rtol):
    # d(A+) = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P  (constant rank), so
    # gA = -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A)
    p, pt, gt = out, _T(xp, out), _T(xp, g)
    t1 = -xp.matmul(pt, xp.matmul(g, pt))
    t2 = xp.matmul(gt - xp.matmul(x, xp.matmul(p, gt)), xp.matmul(p, pt))
    t3 = xp.matmul(xp.matmul(pt, p), gt - xp.matmul(xp.matmul(gt, p), x))
    return t1 + t2 + t3


def pinv(x, /, *, rtol=None):
    """Moore-Penrose pseudo-inverse of each matrix of ``x``; singular values at most
    ``rtol * max(S)`` count as zero. The gradient assumes the rank is locally constant."""
    x = _matrix(x, "pinv")
    return _pinv(x, rtol=_check_rtol(rtol, "pinv", x))


@primitive(differentiable=False)
def _matrix_rank(xp, x, *, rtol):
    # counted from the singular values as the standard defines it, the same on every backend
    # (JAX's own matrix_rank takes rtol as an absolute tolerance)
    s = _la(xp).svdvals(x)
    if rtol is None:
        rtol = max(x.shape[-2:]) * xp.finfo(x.dtype).eps
    elif not isinstance(rtol, float):  # one per matrix: against the singular values' axis
        rtol = xp.expand_dims(rtol, axis=-1)
    tol = xp.max(s, axis=-1, keepdims=True) * rtol
    return xp.sum(xp.astype(s > tol, xp.int64), axis=-1)


def matrix_rank(x, /, *, rtol=None):
    """Rank of each matrix of ``x`` (an integer count: not differentiable)."""
    x = _matrix(x, "matrix_rank")
    return _matrix_rank(x, rtol=_check_rtol(rtol, "matrix_rank", x))

"""Reductions (the standard's statistical functions), ``cumulative_sum`` and ``cumulative_prod``.

``sum``, ``prod``, ``mean``, ``max`` and ``min`` are primitives; ``var`` and ``std`` are
composites of them (their gradients follow). Subgradients: ``max``/``min`` split the gradient
equally among tied maxima (as torch's ``amax`` and JAX do); ``prod`` is exact at zeros (a single
zero gets the product of the others, two or more zeros give 0 everywhere), and so is its second
derivative; ``std`` of constant data has gradient 0 (``sqrt`` at 0: the smallest subgradient).

Examples
--------
>>> import agrad as ag
>>> x = ag.asarray([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> ag.sum(ag.mean(x, axis=0) ** 2).backward()
>>> x.grad
Tensor([[2., 3.],
        [2., 3.]], backend='numpy', device='cpu', dtype=float64)
"""

from __future__ import annotations

import builtins
import math

from .._op import primitive
from ._util import as_tensor, flag_arg, kept_shape, norm_axes, norm_axis, shape_of


def _expand(xp, g, shape, axes, keepdims):
    """Broadcast a reduced cotangent back to the input's ``shape``."""
    if not keepdims and axes and len(axes) != len(shape):  # (a 0-d g broadcasts as it is)
        g = xp.reshape(g, kept_shape(shape, axes))
    return xp.broadcast_to(g, shape)


@primitive(saves="none", complex_grad="direct")
def _sum(xp, x, *, axis, keepdims, dtype, shape):
    return xp.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


@_sum.defvjp
def _(xp, g, out, x, *, axis, keepdims, dtype, shape):  # d sum = ones
    return _expand(xp, g, shape, axis, keepdims)


def sum(x, /, *, axis=None, dtype=None, keepdims=False):
    """Sum over ``axis`` (all axes by default).

    Examples
    --------
    >>> import agrad as ag
    >>> float(ag.sum(ag.asarray([1.0, 2.0])))
    3.0
    """
    x = as_tensor(x, "sum")
    if type(keepdims) is not bool:
        keepdims = flag_arg(keepdims, "sum", "keepdims")
    shape = shape_of(x)
    axes = norm_axes(axis, len(shape), "sum")
    return _sum(x, axis=axes, keepdims=keepdims, dtype=x._bk.raw_dtype(dtype), shape=shape)


@primitive(saves="all", complex_grad="holomorphic")
def _prod(xp, x, *, axis, keepdims, dtype, shape):
    return xp.prod(x, axis=axis, keepdims=keepdims, dtype=dtype)


@_prod.defvjp
def _(xp, g, out, x, *, axis, keepdims, dtype, shape):
    # d prod / dx_i = prod_{j != i} x_j, without dividing by zero. With Z the zeros along the
    # axis and Q the product of the other entries: Q / x_i * prod_Z x for i not in Z, and for
    # i in Z: Q (the only zero), Q * (the other zero) (one of two), 0 (three or more). The
    # zeros enter as x itself, not as constants, so second derivatives are exact as well.
    kw = {} if dtype is None else {"dtype": dtype}
    zero = x == 0
    nz = xp.sum(xp.astype(zero, xp.int64), axis=axis, keepdims=True)
    safe = xp.where(zero, 1.0, x)
    q = xp.prod(safe, axis=axis, keepdims=True, **kw)
    zprod = xp.prod(xp.where(zero, x, 1.0), axis=axis, keepdims=True, **kw)
    zsum = xp.sum(xp.where(zero, x, 0.0), axis=axis, keepdims=True, **kw)
    at_zero = q * xp.where(nz == 1, 1.0, xp.where(nz == 2, zsum - x, 0.0))
    grad = xp.where(zero, at_zero, q / safe * zprod)
    return _expand(xp, g, shape, axis, keepdims) * grad


def prod(x, /, *, axis=None, dtype=None, keepdims=False):
    """Product over ``axis``; its gradient is exact at zeros."""
    x = as_tensor(x, "prod")
    if type(keepdims) is not bool:
        keepdims = flag_arg(keepdims, "prod", "keepdims")
    shape = shape_of(x)
    axes = norm_axes(axis, len(shape), "prod")
    return _prod(x, axis=axes, keepdims=keepdims, dtype=x._bk.raw_dtype(dtype), shape=shape)


def _count(shape, axes) -> int:
    return math.prod([shape[a] for a in axes])


def _floating(x, op):
    x = as_tensor(x, op)
    if not x.dtype.is_floating:
        raise TypeError(f"agrad.{op}: needs a floating-point tensor, got dtype {x.dtype}")
    return x


@primitive(saves="none", complex_grad="direct")
def _mean(xp, x, *, axis, keepdims, shape, n):
    return xp.mean(x, axis=axis, keepdims=keepdims)


@_mean.defvjp
def _(xp, g, out, x, *, axis, keepdims, shape, n):  # d mean = ones / n
    return _expand(xp, g / n, shape, axis, keepdims)


def mean(x, /, *, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``."""
    x = _floating(x, "mean")
    if type(keepdims) is not bool:
        keepdims = flag_arg(keepdims, "mean", "keepdims")
    shape = tuple(x._data.shape)
    if axis is None:  # (the common case, without the general checks)
        axes, n = tuple(range(len(shape))), math.prod(shape)
    else:
        axes = norm_axes(axis, len(shape), "mean")
        n = _count(shape, axes)
    if not n:  # the standard: NaN for no elements (NumPy would warn)
        return sum(x, axis=axes, keepdims=keepdims) * math.nan
    return _mean(x, axis=axes, keepdims=keepdims, shape=shape, n=float(n))


def _check_correction(correction, op):
    if not isinstance(correction, (int, float)) or isinstance(correction, bool):
        raise TypeError(
            f"agrad.{op}: correction must be a Python int or float (degrees of freedom), got "
            f"{correction!r}"
        )


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Variance over ``axis`` with ``correction`` degrees of freedom (composite)."""
    x = _floating(x, "var")
    _check_correction(correction, "var")
    if type(keepdims) is not bool:
        keepdims = flag_arg(keepdims, "var", "keepdims")
    axes = norm_axes(axis, x.ndim, "var")
    n = _count(x.shape, axes)
    d = x - mean(x, axis=axes, keepdims=True)
    return sum(d * d, axis=axes, keepdims=keepdims) / float(builtins.max(n - correction, 0))


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Standard deviation: ``sqrt(var)``. Where the data along ``axis`` are constant (a kink:
    ``sqrt`` at 0), the gradient is 0, the smallest subgradient, as for norms at 0."""
    from .elementwise import sqrt, where

    x = _floating(x, "std")
    _check_correction(correction, "std")
    if type(keepdims) is not bool:
        keepdims = flag_arg(keepdims, "std", "keepdims")
    v = var(x, axis=norm_axes(axis, x.ndim, "std"), correction=correction, keepdims=keepdims)
    nonzero = v != 0  # NaN (no degrees of freedom) stays NaN
    return where(nonzero, sqrt(where(nonzero, v, 1.0)), 0.0)


def _extremum(name):
    def forward(xp, x, *, axis, keepdims, shape):
        return getattr(xp, name)(x, axis=axis, keepdims=keepdims)

    forward.__name__ = f"_{name}"
    prim = primitive(forward, saves="all")

    @prim.defvjp
    def _(xp, g, out, x, *, axis, keepdims, shape):  # to the extremal elements, ties shared
        hit = x == _expand(xp, out, shape, axis, keepdims)
        share = xp.astype(hit, g.dtype) / xp.sum(xp.astype(hit, g.dtype), axis=axis, keepdims=True)
        return _expand(xp, g, shape, axis, keepdims) * share

    def public(x, /, *, axis=None, keepdims=False):
        x = as_tensor(x, name)
        if type(keepdims) is not bool:
            keepdims = flag_arg(keepdims, name, "keepdims")
        shape = shape_of(x)
        axes = norm_axes(axis, len(shape), name)
        if any(shape[a] == 0 for a in axes):  # (the standard leaves it to the library)
            raise ValueError(
                f"agrad.{name}: no elements to take the {name}imum of: the tensor of shape "
                f"{shape} has length 0 along the reduced axis {axis!r}; reduce over non-empty "
                f"axes, or check the input's size first"
            )
        return prim(x, axis=axes, keepdims=keepdims, shape=shape)

    public.__name__ = name
    public.__qualname__ = name
    return public


max = _extremum("max")
max.__doc__ = "Maximum over ``axis``; tied maxima share the gradient equally."
min = _extremum("min")
min.__doc__ = "Minimum over ``axis``; tied minima share the gradient equally."


@primitive(saves="none", complex_grad="direct")
def _cumulative_sum(xp, x, *, axis, dtype, include_initial):
    return xp.cumulative_sum(x, axis=axis, dtype=dtype, include_initial=include_initial)


@_cumulative_sum.defvjp
def _(xp, g, out, x, *, axis, dtype, include_initial):
    # out_k = sum_{j<=k} x_j  =>  dx_j = sum_{k>=j} g_k: a reversed cumulative sum
    rev = xp.flip(xp.cumulative_sum(xp.flip(g, axis=axis), axis=axis), axis=axis)
    if include_initial:  # out_k = sum_{j<k} x_j: drop the initial entry
        n = g.shape[axis]
        rev = rev[(slice(None),) * axis + (slice(1, n), ...)]
    return rev


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """Cumulative sum along ``axis`` (required unless ``x`` is 1-D)."""
    x = as_tensor(x, "cumulative_sum")
    if x.ndim == 0:
        raise ValueError("agrad.cumulative_sum: needs at least one dimension, got a 0-d tensor")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(
                f"agrad.cumulative_sum: axis is required for a tensor of shape {x.shape} "
                "(only 1-D tensors may omit it)"
            )
        axis = 0
    axis = norm_axis(axis, x.ndim, "cumulative_sum")
    return _cumulative_sum(
        x, axis=axis, dtype=x._bk.raw_dtype(dtype), include_initial=include_initial
    )


def _take_axis(v, axis, start, stop):
    return v[(slice(None),) * axis + (slice(start, stop), ...)]


@primitive(saves="all")
def _cumulative_prod(xp, x, *, axis, dtype, include_initial):
    return xp.cumulative_prod(x, axis=axis, dtype=dtype, include_initial=include_initial)


@_cumulative_prod.defvjp
def _(xp, g, out, x, *, axis, dtype, include_initial):
    # out_k = prod_{i<=k} x_i  =>  dx_j = E_j * R_j, with E_j = prod_{i<j} x_i (the exclusive
    # product, read off out) and R_j = sum_{k>=j} g_k prod_{j<i<=k} x_i, the reverse linear
    # recurrence R_j = g_j + x_{j+1} R_{j+1}, solved by recursive doubling in log2(n) steps. No
    # division, so it is exact and finite at zeros; built from differentiable ops (slices,
    # concat, products), so second derivatives are exact there too.
    n = x.shape[axis]
    if n == 0:
        return xp.zeros_like(x)
    if include_initial:  # out_0 = 1 and out_{k+1} = prod_{i<=k} x_i: out[:n] is exclusive
        g = _take_axis(g, axis, 1, n + 1)
        excl = _take_axis(out, axis, 0, n)
    else:
        excl = xp.concat(
            [xp.ones_like(_take_axis(out, axis, 0, 1)), _take_axis(out, axis, 0, n - 1)],
            axis=axis,
        )
    r = g
    a = xp.concat([_take_axis(x, axis, 1, n), xp.zeros_like(_take_axis(x, axis, 0, 1))], axis=axis)
    s = 1
    while s < n:  # r_j += a_j r_{j+s}; a_j *= a_{j+s} (zero past the end)
        pad = xp.zeros_like(_take_axis(r, axis, 0, s))
        r = r + a * xp.concat([_take_axis(r, axis, s, n), pad], axis=axis)
        if 2 * s < n:
            pad = xp.zeros_like(_take_axis(a, axis, 0, s))
            a = a * xp.concat([_take_axis(a, axis, s, n), pad], axis=axis)
        s *= 2
    return excl * r


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """Cumulative product along ``axis`` (required unless ``x`` is 1-D). Its gradient is exact
    and finite where ``x`` has zeros (no division by ``x``), and so is its second derivative."""
    x = as_tensor(x, "cumulative_prod")
    if x.ndim == 0:
        raise ValueError("agrad.cumulative_prod: needs at least one dimension, got a 0-d tensor")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(
                f"agrad.cumulative_prod: axis is required for a tensor of shape {x.shape} "
                "(only 1-D tensors may omit it)"
            )
        axis = 0
    axis = norm_axis(axis, x.ndim, "cumulative_prod")
    return _cumulative_prod(
        x, axis=axis, dtype=x._bk.raw_dtype(dtype), include_initial=include_initial
    )

"""Manipulation functions: reshape, permute_dims, expand_dims, squeeze, broadcast_to, concat,
stack, flip, and the data-type conversion ``astype``.

Their VJPs only move values around (no saved data), so they keep nothing alive.

Examples
--------
>>> import agrad as ag
>>> x = ag.asarray([1.0, 2.0, 3.0], requires_grad=True)
>>> ag.sum(ag.reshape(x, (3, 1)) * ag.asarray([[1.0, 2.0]])).backward()
>>> x.grad
Tensor([3., 3., 3.], backend='numpy', device='cpu', dtype=float64)
"""

from __future__ import annotations

import math
import numbers

from .._op import primitive
from ._util import as_tensor, norm_axes, norm_axis, shape_of


@primitive(saves="none")
def _reshape(xp, x, *, shape, in_shape, copy):
    return xp.reshape(x, shape) if copy is None else xp.reshape(x, shape, copy=copy)


@_reshape.defvjp
def _(xp, g, out, x, *, shape, in_shape, copy):  # reshape back
    return xp.reshape(g, in_shape)


def reshape(x, /, shape, *, copy=None):
    """``x`` with a new ``shape`` (one entry may be -1)."""
    x = as_tensor(x, "reshape")
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    in_shape = shape_of(x)
    known = math.prod(s for s in shape if s != -1)
    n = math.prod(in_shape)
    if (
        shape.count(-1) > 1
        or any(s < -1 for s in shape)
        or (-1 in shape and (known == 0 or n % known))
        or (-1 not in shape and known != n)
    ):
        raise ValueError(
            f"agrad.reshape: cannot reshape a tensor of shape {in_shape} ({n} elements) to "
            f"shape {shape}"
        )
    return _reshape(x, shape=shape, in_shape=in_shape, copy=copy)


@primitive(saves="none")
def _permute_dims(xp, x, *, axes):
    return xp.permute_dims(x, axes)


@_permute_dims.defvjp
def _(xp, g, out, x, *, axes):  # apply the inverse permutation
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return xp.permute_dims(g, tuple(inv))


def permute_dims(x, /, axes):
    """Permute the axes of ``x``."""
    x = as_tensor(x, "permute_dims")
    given = tuple(axes)
    nd = x.ndim
    ok = all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) and -nd <= a < nd for a in given
    )
    if not ok or sorted(int(a) % nd for a in given) != list(range(nd)):
        raise ValueError(
            f"agrad.permute_dims: axes {given} are not a permutation of range({nd}) for a "
            f"tensor of shape {x.shape}"
        )
    return _permute_dims(x, axes=tuple(int(a) % nd for a in given))


@primitive(saves="none")
def _expand_dims(xp, x, *, axis, in_shape):
    return xp.expand_dims(x, axis=axis)


@_expand_dims.defvjp
def _(xp, g, out, x, *, axis, in_shape):  # drop the inserted axis
    return xp.reshape(g, in_shape)


def expand_dims(x, /, *, axis=0):
    """Insert a length-one axis at ``axis``."""
    x = as_tensor(x, "expand_dims")
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"agrad.expand_dims: axis {axis} is out of range for shape {x.shape}")
    return _expand_dims(x, axis=axis, in_shape=shape_of(x))


@primitive(saves="none")
def _squeeze(xp, x, *, axis, in_shape):
    return xp.squeeze(x, axis=axis)


@_squeeze.defvjp
def _(xp, g, out, x, *, axis, in_shape):  # put the length-one axes back
    return xp.reshape(g, in_shape)


def squeeze(x, /, axis):
    """Remove the length-one axes ``axis``."""
    x = as_tensor(x, "squeeze")
    axes = norm_axes(axis, x.ndim, "squeeze")
    bad = [a for a in axes if x.shape[a] != 1]
    if bad:
        raise ValueError(f"agrad.squeeze: axis {bad[0]} of shape {x.shape} does not have length 1")
    return _squeeze(x, axis=axes, in_shape=shape_of(x))


@primitive(saves="none")
def _broadcast_to(xp, x, *, shape):
    return xp.broadcast_to(x, shape)


@_broadcast_to.defvjp
def _(xp, g, out, x, *, shape):  # the tape sums over the broadcast axes
    return g


def broadcast_to(x, /, shape):
    """``x`` broadcast to ``shape``."""
    x = as_tensor(x, "broadcast_to")
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    if lead < 0 or any(s not in (1, t) for s, t in zip(x.shape, shape[lead:])):
        raise ValueError(f"agrad.broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return _broadcast_to(x, shape=shape)


@primitive(saves="none")
def _concat(xp, *arrays, axis, sizes):
    return xp.concat(list(arrays), axis=axis)


@_concat.defvjp
def _(xp, g, out, *arrays, axis, sizes):  # slice g back into the pieces
    if axis is None:
        g = xp.reshape(g, (-1,))
        ax = 0
    else:
        ax = axis
    pieces = []
    start = 0
    for n, shape in sizes:
        piece = g[(slice(None),) * ax + (slice(start, start + n), ...)]
        pieces.append(piece if axis is not None else xp.reshape(piece, shape))
        start += n
    return tuple(pieces)


def concat(arrays, /, *, axis=0):
    """Join tensors along an existing ``axis`` (``None`` flattens them first)."""
    arrays = [as_tensor(a, "concat") for a in arrays]
    if not arrays:
        raise ValueError("agrad.concat: needs at least one tensor")
    if axis is None:
        sizes = tuple((a.size, a.shape) for a in arrays)
    else:
        nd = arrays[0].ndim
        for a in arrays:
            if a.ndim != nd:
                raise ValueError(
                    "agrad.concat: tensors must have the same number of dimensions, "
                    f"got shapes {[t.shape for t in arrays]}"
                )
        axis = norm_axis(axis, nd, "concat")
        sizes = tuple((a.shape[axis], a.shape) for a in arrays)
    return _concat(*arrays, axis=axis, sizes=sizes)


@primitive(saves="none")
def _stack(xp, *arrays, axis):
    return xp.stack(list(arrays), axis=axis)


@_stack.defvjp
def _(xp, g, out, *arrays, axis):  # take each slice along the new axis
    return tuple(g[(slice(None),) * axis + (k, ...)] for k in range(len(arrays)))


def stack(arrays, /, *, axis=0):
    """Join tensors of one shape along a new ``axis``."""
    arrays = [as_tensor(a, "stack") for a in arrays]
    if not arrays:
        raise ValueError("agrad.stack: needs at least one tensor")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(
            f"agrad.stack: tensors must have one shape, got {[a.shape for a in arrays]}"
        )
    nd = arrays[0].ndim + 1
    return _stack(*arrays, axis=norm_axis(axis, nd, "stack"))


@primitive(saves="none")
def _flip(xp, x, *, axis):
    return xp.flip(x, axis=axis)


@_flip.defvjp
def _(xp, g, out, x, *, axis):  # flipping is its own inverse
    return xp.flip(g, axis=axis)


def flip(x, /, *, axis=None):
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    x = as_tensor(x, "flip")
    return _flip(x, axis=norm_axes(axis, x.ndim, "flip"))


@primitive(saves="none")
def _astype(xp, x, *, dtype, copy):
    return xp.astype(x, dtype, copy=copy)


@_astype.defvjp
def _(xp, g, out, x, *, dtype, copy):  # the tape casts g back to x's dtype
    return g


def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` converted to ``dtype``; differentiable between floating dtypes (to an integer or
    boolean dtype the result carries no gradient)."""
    x = as_tensor(x, "astype")
    if device is not None:
        x = x.to_device(device)
    return _astype(x, dtype=x._bk.raw_dtype(dtype), copy=copy)

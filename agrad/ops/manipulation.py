"""Manipulation functions: reshape, permute_dims, expand_dims, squeeze, broadcast_to, concat,
stack, flip, roll, unstack, the data-type conversion ``astype``, and the composites moveaxis,
repeat, tile and broadcast_arrays (built from the primitives, so they need no VJP).

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
from .._tensor import Tensor, _wrap
from ._util import (
    as_tensor,
    broadcast_shape,
    broadcasts_to,
    norm_axes,
    norm_axis,
    shape_arg,
    shape_of,
)


@primitive(saves="none", complex_grad="direct")
def _reshape(xp, x, *, shape, in_shape, copy):
    return xp.reshape(x, shape) if copy is None else xp.reshape(x, shape, copy=copy)


@_reshape.defvjp
def _(xp, g, out, x, *, shape, in_shape, copy):  # reshape back
    return xp.reshape(g, in_shape)


def reshape(x, /, shape, *, copy=None):
    """``x`` with a new ``shape`` (one entry may be -1)."""
    x = as_tensor(x, "reshape")
    shape = shape_arg(shape, "reshape")
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


@primitive(saves="none", complex_grad="direct")
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
    given = shape_arg(axes, "permute_dims", "axes")
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


@primitive(saves="none", complex_grad="direct")
def _expand_dims(xp, x, *, axis, in_shape):
    return xp.expand_dims(x, axis=axis)


@_expand_dims.defvjp
def _(xp, g, out, x, *, axis, in_shape):  # drop the inserted axis
    return xp.reshape(g, in_shape)


def expand_dims(x, /, axis=0):
    """Insert a length-one axis at ``axis``, or one at each position of a tuple ``axis``.

    The positions count in the result: for ``N`` axes in ``x`` and ``M = N + len(axis)``, each
    lies in ``[-M, M)`` (negative ones count from the end of the result) and they are distinct.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.expand_dims(ag.ones((2, 3)), axis=(0, -1)).shape
    (1, 2, 3, 1)
    """
    x = as_tensor(x, "expand_dims")
    if type(axis) is int and -x.ndim - 1 <= axis <= x.ndim:  # one axis: the common case
        return _expand_dims(x, axis=axis, in_shape=shape_of(x))
    given = axis if isinstance(axis, tuple) else (axis,)
    m = x.ndim + len(given)
    if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in given):
        raise TypeError(f"agrad.expand_dims: axis must be an int or a tuple of ints, got {axis!r}")
    bad = [int(a) for a in given if not -m <= a < m]
    if bad:
        raise _AxisError(
            f"agrad.expand_dims: axis {bad[0]} is out of range for shape {x.shape}: the result "
            f"has {m} axes, so each position lies in [{-m}, {m})"
        )
    new = sorted(int(a) % m for a in given)
    if len(set(new)) != len(new):
        raise _AxisError(
            f"agrad.expand_dims: axis {axis} names the same position twice (in a result of "
            f"{m} axes); give each new axis its own position"
        )
    rest = iter(x.shape)
    return reshape(x, tuple(1 if i in new else next(rest) for i in range(m)))


class _AxisError(ValueError, IndexError):
    """An axis out of range: the standard says IndexError, agrad's other ops raise ValueError
    (NumPy's AxisError is both, too)."""


@primitive(saves="none", complex_grad="direct")
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


@primitive(saves="none", complex_grad="direct")
def _broadcast_to(xp, x, *, shape):
    return xp.broadcast_to(x, shape)


@_broadcast_to.defvjp
def _(xp, g, out, x, *, shape):  # the tape sums over the broadcast axes
    return g


def broadcast_to(x, /, shape):
    """``x`` broadcast to ``shape``."""
    x = as_tensor(x, "broadcast_to")
    shape = shape_arg(shape, "broadcast_to")
    if not broadcasts_to(x.shape, shape):
        raise ValueError(f"agrad.broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return _broadcast_to(x, shape=shape)


@primitive(saves="none", complex_grad="direct", selective=True)
def _concat(xp, *arrays, axis, sizes):
    return xp.concat(arrays, axis=axis)


@_concat.defvjp
def _(xp, g, out, *arrays, axis, sizes, needs):  # slice g back into the pieces that want one
    if axis is None:
        g = xp.reshape(g, (-1,))
        lead = ()
    else:
        lead = (slice(None),) * axis
    pieces = []
    start = 0
    for (n, shape), want in zip(sizes, needs):
        if not want:  # a constant piece (the column of ones of a bias unit): no slice at all
            pieces.append(None)
        elif axis is None:
            pieces.append(xp.reshape(g[start : start + n], shape))
        else:
            pieces.append(g[lead + (slice(start, start + n), ...)])
        start += n
    return tuple(pieces)


def _sequence(arrays, op):
    """``arrays`` for concat and stack: a list or tuple (any other iterable of tensors is taken
    as a list; a single tensor, which NumPy would split into rows, is an error)."""
    if isinstance(arrays, Tensor) or not hasattr(arrays, "__iter__") or isinstance(arrays, str):
        raise TypeError(
            f"agrad.{op}: arrays must be a list or tuple of tensors, got "
            f"{type(arrays).__name__}; e.g. ag.{op}([x, y])"
        )
    return arrays


def concat(arrays, /, *, axis=0):
    """Join tensors along an existing ``axis`` (``None`` flattens them first)."""
    if type(arrays) is not list and type(arrays) is not tuple:
        arrays = _sequence(arrays, "concat")
    arrays = [a if isinstance(a, Tensor) else as_tensor(a, "concat") for a in arrays]
    if not arrays:
        raise ValueError("agrad.concat: needs at least one tensor")
    shapes = [a._data.shape for a in arrays]
    if axis is None:
        sizes = tuple([(math.prod(s), tuple(s)) for s in shapes])
    else:
        nd = len(shapes[0])
        axis = norm_axis(axis, nd, "concat")
        sizes = []  # the sizes along axis (the shapes themselves serve axis=None only)
        for s in shapes:  # (one pass, the ranks checked on the way: no generator)
            if len(s) != nd:
                raise ValueError(
                    "agrad.concat: tensors must have the same number of dimensions, "
                    f"got shapes {[tuple(s) for s in shapes]}"
                )
            sizes.append((s[axis], None))
        sizes = tuple(sizes)
    return _concat(*arrays, axis=axis, sizes=sizes)


@primitive(saves="none", complex_grad="direct")
def _stack(xp, *arrays, axis):
    return xp.stack(list(arrays), axis=axis)


@_stack.defvjp
def _(xp, g, out, *arrays, axis):  # take each slice along the new axis
    return tuple(g[(slice(None),) * axis + (k, ...)] for k in range(len(arrays)))


def stack(arrays, /, *, axis=0):
    """Join tensors of one shape along a new ``axis``."""
    if type(arrays) is not list and type(arrays) is not tuple:
        arrays = _sequence(arrays, "stack")
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


@primitive(saves="none", complex_grad="direct")
def _flip(xp, x, *, axis):
    return xp.flip(x, axis=axis)


@_flip.defvjp
def _(xp, g, out, x, *, axis):  # flipping is its own inverse
    return xp.flip(g, axis=axis)


def flip(x, /, *, axis=None):
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    x = as_tensor(x, "flip")
    return _flip(x, axis=norm_axes(axis, x.ndim, "flip"))


@primitive(saves="none", complex_grad="direct")
def _astype(xp, x, *, dtype, copy, real_in):
    return xp.astype(x, dtype, copy=copy)


@_astype.defvjp
def _(xp, g, out, x, *, dtype, copy, real_in):  # the tape casts g back to x's dtype
    if real_in and g.dtype in (xp.complex64, xp.complex128):
        return xp.real(g)  # real -> complex: only the real part flows back
    return g


def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` converted to ``dtype``; differentiable between floating dtypes (to an integer or
    boolean dtype the result carries no gradient). With ``copy=False``, a tensor that already
    has ``dtype`` (on ``device``) is returned itself, as the standard says."""
    x = as_tensor(x, "astype")
    if device is not None:
        x = x.to_device(device)
    raw = x._bk.raw_dtype(dtype)
    if copy is False and x._data.dtype == raw:
        return x
    real_in = x.dtype.kind != "complex floating"
    return _astype(x, dtype=raw, copy=copy, real_in=real_in)


# ---- moveaxis, repeat, roll, tile, unstack, broadcast_arrays ---------------------------------
def _axes_tuple(axes, ndim, op, what):
    """``axes`` (an int or a tuple of ints) as a tuple of non-negative axes, order kept."""
    given = (axes,) if isinstance(axes, numbers.Integral) else tuple(axes)
    out = []
    for a in given:
        if not isinstance(a, numbers.Integral) or isinstance(a, bool):
            raise TypeError(f"agrad.{op}: {what} must be an int or a tuple of ints, got {axes!r}")
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(
                f"agrad.{op}: {what} {a} is out of range for a tensor with {ndim} dimensions"
            )
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"agrad.{op}: repeated axis in {what} {axes!r}")
    return tuple(out)


def moveaxis(x, source, destination, /):
    """Move the axes ``source`` of ``x`` to the positions ``destination`` (a composite of
    :func:`permute_dims`)."""
    x = as_tensor(x, "moveaxis")
    src = _axes_tuple(source, x.ndim, "moveaxis", "source")
    dst = _axes_tuple(destination, x.ndim, "moveaxis", "destination")
    if len(src) != len(dst):
        raise ValueError(
            f"agrad.moveaxis: source {source!r} and destination {destination!r} must have the "
            f"same number of elements (tensor of shape {x.shape})"
        )
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute_dims(x, tuple(order))


def repeat(x, repeats, /, *, axis=None):
    """Repeat each element of ``x`` ``repeats`` times along ``axis`` (``None``: of the flattened
    ``x``). ``repeats`` is an int or a 1-D integer array (one count per element, or one count
    for all). A composite: int counts broadcast a new axis, array counts gather with ``take``
    (whose scatter-add VJP sums the copies)."""
    from .indexing import take

    x = as_tensor(x, "repeat")
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    elif x.ndim == 0:
        raise ValueError(f"agrad.repeat: axis {axis} is out of range for a 0-d tensor")
    axis = norm_axis(axis, x.ndim, "repeat")
    n = x.shape[axis]
    if isinstance(repeats, numbers.Integral) and not isinstance(repeats, bool):
        r = int(repeats)
        if r < 0:
            raise ValueError(f"agrad.repeat: repeats must be non-negative, got {r}")
        shape = x.shape
        y = broadcast_to(
            expand_dims(x, axis=axis + 1), shape[: axis + 1] + (r,) + shape[axis + 1 :]
        )
        return reshape(y, shape[:axis] + (n * r,) + shape[axis + 1 :])
    if isinstance(repeats, (bool, float, complex)):
        raise TypeError(
            f"agrad.repeat: repeats must be an int or an integer array, got {repeats!r}"
        )
    reps = as_tensor(repeats, "repeat")
    if reps.dtype.kind not in ("signed integer", "unsigned integer"):
        raise TypeError(f"agrad.repeat: repeats must have an integer dtype, got {reps.dtype}")
    if reps.ndim != 1 or reps.shape[0] not in (1, n):
        raise ValueError(
            f"agrad.repeat: repeats of shape {reps.shape} do not match axis {axis} of length {n} "
            f"(tensor of shape {x.shape}); give one count per element or a single count"
        )
    if reps._bk is not x._bk or (x._bk.multi_device and reps._dev != x._dev):
        raise ValueError(
            f"agrad.repeat: repeats ({reps._bk.name}) and x ({x._bk.name}) must share one "
            "backend and device"
        )
    xp, raw = x._bk.xp, reps._data
    if bool(xp.any(raw < 0)):
        raise ValueError("agrad.repeat: repeats must be non-negative")
    # positions and counts as int64: in the counts' own dtype a uint8 arange of 300 positions
    # wraps, and torch repeats by int64 counts only
    i64 = x._bk.raw_dtype("int64")
    idx = xp.repeat(xp.arange(n, dtype=i64, device=raw.device), xp.astype(raw, i64))
    if x._bk.fix is not None:
        idx = x._bk.fix(idx)
    return take(x, _wrap(idx, x._bk, x._dev), axis=axis)


def _roll_slices(xp, v, shifts, axes):
    """``v`` rolled by ``shifts`` along ``axes`` with slices and ``concat`` (differentiable in
    both modes, hence roll's VJP)."""
    for s, ax in zip(shifts, axes):
        n = v.shape[ax]
        s = s % n if n else 0
        if s:
            lead = (slice(None),) * ax
            v = xp.concat(
                [v[lead + (slice(n - s, n), ...)], v[lead + (slice(0, n - s), ...)]], axis=ax
            )
    return v


@primitive(saves="none", complex_grad="direct")
def _roll(xp, x, *, shift, axis, in_shape):
    return xp.roll(x, shift=shift, axis=axis)


@_roll.defvjp
def _(xp, g, out, x, *, shift, axis, in_shape):  # roll back by -shift
    back = tuple(-s for s in shift)
    if axis is None:
        return xp.reshape(_roll_slices(xp, xp.reshape(g, (-1,)), back, (0,)), in_shape)
    return _roll_slices(xp, g, back, axis)


def roll(x, /, shift, *, axis=None):
    """Roll the elements of ``x`` by ``shift`` along ``axis`` (``None``: of the flattened ``x``,
    shape kept). ``shift`` and ``axis`` may be tuples of one length; an int ``shift`` with a tuple
    ``axis`` rolls every axis by it."""
    x = as_tensor(x, "roll")
    shifts = (shift,) if not isinstance(shift, (tuple, list)) else tuple(shift)
    if any(not isinstance(s, numbers.Integral) or isinstance(s, bool) for s in shifts):
        raise TypeError(f"agrad.roll: shift must be an int or a tuple of ints, got {shift!r}")
    shifts = tuple(int(s) for s in shifts)
    if axis is None:
        if len(shifts) != 1:
            raise ValueError(
                f"agrad.roll: shift {shift!r} needs a tuple axis of the same length (got axis=None)"
            )
        return _roll(x, shift=shifts, axis=None, in_shape=shape_of(x))
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        axes = (axis,)
    else:
        axes = tuple(axis)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ValueError(
            f"agrad.roll: shift {shift!r} and axis {axis!r} must have the same length "
            f"(tensor of shape {x.shape})"
        )
    total = {}
    for s, a in zip(shifts, axes):  # an axis named twice rolls by the sum of its shifts
        a = norm_axis(a, x.ndim, "roll")
        total[a] = total.get(a, 0) + s
    return _roll(x, shift=tuple(total.values()), axis=tuple(total), in_shape=shape_of(x))


def tile(x, repetitions, /):
    """``x`` repeated ``repetitions[i]`` times along each axis ``i`` (shorter ``repetitions`` or
    a shorter shape is padded with leading ones). A composite: broadcast interleaved axes."""
    x = as_tensor(x, "tile")
    reps = (repetitions,) if isinstance(repetitions, numbers.Integral) else tuple(repetitions)
    if any(not isinstance(r, numbers.Integral) or isinstance(r, bool) or r < 0 for r in reps):
        raise ValueError(
            f"agrad.tile: repetitions must be non-negative ints, got {repetitions!r} "
            f"(tensor of shape {x.shape})"
        )
    nd = max(len(reps), x.ndim)
    reps = (1,) * (nd - len(reps)) + tuple(int(r) for r in reps)
    shape = (1,) * (nd - x.ndim) + x.shape
    inter = tuple(d for s in shape for d in (1, s))
    big = tuple(d for r, s in zip(reps, shape) for d in (r, s))
    y = broadcast_to(reshape(x, inter), big)
    return reshape(y, tuple(r * s for r, s in zip(reps, shape)))


@primitive(saves="none", complex_grad="direct")
def _unstack(xp, x, *, axis, n):
    return tuple(x[(slice(None),) * axis + (k, ...)] for k in range(n))


@_unstack.defvjp
def _(xp, g, out, x, *, axis, n):  # stack the slices' cotangents (zeros for unused ones)
    gs = list(g) if isinstance(g, (list, tuple)) else [g]  # one output: a bare cotangent
    ref = next(c for c in gs if c is not None)
    return xp.stack([xp.zeros_like(ref) if c is None else c for c in gs], axis=axis)


def unstack(x, /, *, axis=0):
    """Split ``x`` along ``axis`` into a tuple of tensors (one per index, ``axis`` removed)."""
    x = as_tensor(x, "unstack")
    if x.ndim == 0:
        raise ValueError("agrad.unstack: needs at least one dimension, got a 0-d tensor")
    axis = norm_axis(axis, x.ndim, "unstack")
    n = x.shape[axis]
    if n == 0:
        return ()
    return _unstack(x, axis=axis, n=n)


def broadcast_arrays(*arrays):
    """The tensors broadcast against each other, as a list (composite of
    :func:`broadcast_to`)."""
    arrays = [as_tensor(a, "broadcast_arrays") for a in arrays]
    nd = max((a.ndim for a in arrays), default=0)
    shape = []
    for i in range(nd):
        sizes = {a.shape[i - nd + a.ndim] for a in arrays if i - nd + a.ndim >= 0} - {1}
        if len(sizes) > 1:
            raise ValueError(
                "agrad.broadcast_arrays: shapes "
                f"{', '.join(str(a.shape) for a in arrays)} do not broadcast together"
            )
        shape.append(sizes.pop() if sizes else 1)
    shape = tuple(shape)
    return [a if a.shape == shape else broadcast_to(a, shape) for a in arrays]


def broadcast_shapes(*shapes):
    """The shape that arrays of ``shapes`` broadcast to, by the standard's rules.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.broadcast_shapes((2, 1), (3,))
    (2, 3)
    """
    shapes = [shape_arg(s, "broadcast_shapes", "each shape", allow_int=False) for s in shapes]
    return broadcast_shape(shapes, "broadcast_shapes")

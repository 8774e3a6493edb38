"""Small helpers shared by the op families: axis normalisation and tensor coercion."""

from __future__ import annotations

import numbers

from .._tensor import Tensor


def shape_of(x) -> tuple:
    """The shape of a Tensor or raw array, as a tuple."""
    return tuple(x.shape)


def shape_arg(shape, op: str, name: str = "shape", *, allow_int: bool = True) -> tuple:
    """``shape`` (an int, where ``allow_int``, or a sequence of ints) as a tuple of ints, or
    agrad's TypeError (not a float silently truncated, nor the backend's own message)."""
    if type(shape) is tuple and all(type(s) is int for s in shape):  # the common case
        return shape
    if allow_int and isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        return (int(shape),)
    try:
        items = tuple(shape) if not isinstance(shape, str) else None
    except TypeError:
        items = None
    if items is None or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in items
    ):
        what = "an int or a tuple of ints" if allow_int else "a tuple of ints"
        raise TypeError(f"agrad.{op}: {name} must be {what}, got {shape!r}")
    return tuple(int(s) for s in items)


def flag_arg(value, op: str, name: str) -> bool:
    """A boolean argument (``keepdims``): True/False (or 0/1), else agrad's TypeError."""
    if type(value) is bool:
        return value
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise TypeError(f"agrad.{op}: {name} must be True or False, got {value!r}")


def as_tensor(x, op: str) -> Tensor:
    """``x`` as a Tensor (raw backend arrays are wrapped); anything else is a clear error."""
    if isinstance(x, Tensor):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        from .creation import asarray

        return asarray(x)
    raise TypeError(
        f"agrad.{op}: expected a tensor, got {type(x).__name__}; wrap it with ag.asarray"
    )


def norm_axes(axis, ndim: int, op: str) -> tuple:
    """``axis`` (None, int or sequence) as a sorted tuple of non-negative axes, validated."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, without the ABC checks
        return (axis % ndim,)
    axes = (axis,) if isinstance(axis, numbers.Integral) or not hasattr(axis, "__iter__") else axis
    out = []
    for a in tuple(axes):
        if not isinstance(a, numbers.Integral) or isinstance(a, bool):
            raise TypeError(f"agrad.{op}: axis must be an int or a tuple of ints, got {axis!r}")
        a = int(a)
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(
                f"agrad.{op}: axis {a} is out of range for a tensor with {ndim} dimensions"
            )
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"agrad.{op}: repeated axis in {axis!r}")
    return tuple(sorted(out)) if ndim else ()


def norm_axis(axis: int, ndim: int, op: str) -> int:
    """One axis as a non-negative int, validated."""
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, without the ABC checks
        return axis % ndim
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"agrad.{op}: axis must be an int, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"agrad.{op}: axis {axis} is out of range for a tensor with {ndim} dimensions"
        )
    return axis % ndim


def kept_shape(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with the reduced ``axes`` set to 1 (the keepdims shape)."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def broadcasts_to(shape, target) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` (one way: ``target`` is kept)."""
    lead = len(target) - len(shape)
    return lead >= 0 and all(s in (1, t) for s, t in zip(shape, target[lead:]))


def broadcast_shape(shapes, op: str, what: str = "shapes", error=ValueError) -> tuple:
    """The shape ``shapes`` broadcast to (the standard's rules), or ``error`` naming the op."""
    nd = max((len(s) for s in shapes), default=0)
    out = [1] * nd
    for shape in shapes:
        for i, n in enumerate(shape, nd - len(shape)):
            if n != 1:
                if out[i] not in (1, n):
                    raise error(
                        f"agrad.{op}: {what} {[tuple(s) for s in shapes]} cannot be broadcast "
                        "together"
                    )
                out[i] = n
    return tuple(out)

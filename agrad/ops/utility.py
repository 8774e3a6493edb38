"""The standard's utility functions: ``all``, ``any`` (boolean results, not differentiable) and
``diff`` (a differentiable composite of slicing and subtraction).

Examples
--------
>>> import agrad as ag
>>> bool(ag.all(ag.asarray([1.0, 2.0]) > 0.0))
True
"""

from __future__ import annotations

import builtins
import numbers

from .._tensor import _wrap
from ._util import as_tensor, flag_arg, norm_axes, norm_axis

__all__ = ["all", "any", "diff"]


def _reduce_bool(name, x, axis, keepdims):
    x = as_tensor(x, name)
    keepdims = flag_arg(keepdims, name, "keepdims")
    axes = norm_axes(axis, x.ndim, name)
    data = getattr(x._bk.module, name)(x._data, axis=axes, keepdims=keepdims)
    if x._bk.fix is not None:
        data = x._bk.fix(data)
    return _wrap(data, x._bk, x._dev)


def all(x, /, *, axis=None, keepdims=False):
    """Whether every element along ``axis`` is true (not differentiable)."""
    return _reduce_bool("all", x, axis, keepdims)


def any(x, /, *, axis=None, keepdims=False):
    """Whether any element along ``axis`` is true (not differentiable)."""
    return _reduce_bool("any", x, axis, keepdims)


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    """The ``n``-th forward difference of ``x`` along ``axis``, after joining ``prepend`` and
    ``append`` (tensors shaped like ``x`` except along ``axis``) to its ends. A composite of
    ``concat``, slicing and subtraction, so it is differentiable in ``x``, ``prepend`` and
    ``append``."""
    from .manipulation import concat

    x = as_tensor(x, "diff")
    if x.ndim == 0:
        raise ValueError("agrad.diff: needs at least one dimension, got a 0-d tensor")
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise ValueError(f"agrad.diff: n must be a non-negative int, got {n!r}")
    axis = norm_axis(axis, x.ndim, "diff")
    parts = []
    for name, extra in (("prepend", prepend), ("append", append)):
        if extra is None:
            continue
        extra = as_tensor(extra, "diff")
        if extra.ndim != x.ndim or builtins.any(
            a != b for d, (a, b) in enumerate(zip(extra.shape, x.shape)) if d != axis
        ):
            raise ValueError(
                f"agrad.diff: {name} of shape {extra.shape} must match x of shape {x.shape} "
                f"except along axis {axis}"
            )
        parts.append((name, extra))
    if parts:
        pre = [e for k, e in parts if k == "prepend"]
        app = [e for k, e in parts if k == "append"]
        x = concat([*pre, x, *app], axis=axis)
    lead = (slice(None),) * axis
    for _ in range(int(n)):
        m = x.shape[axis]
        if m == 0:
            break
        x = x[lead + (slice(1, m), ...)] - x[lead + (slice(0, m - 1), ...)]
    return x

"""The standard's utility functions: ``all``, ``any`` (boolean results, not differentiable).

Examples
--------
>>> import agrad as ag
>>> bool(ag.all(ag.asarray([1.0, 2.0]) > 0.0))
True
"""

from __future__ import annotations

from .._tensor import _wrap
from ._util import as_tensor, norm_axes

__all__ = ["all", "any"]


def _reduce_bool(name, x, axis, keepdims):
    x = as_tensor(x, name)
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

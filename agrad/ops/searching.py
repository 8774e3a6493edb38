"""The standard's searching functions: ``argmax``, ``argmin``, ``nonzero``, ``searchsorted`` and
``count_nonzero``.

Their results are integer indices or counts, so every one is declared non-differentiable: it
never records a node, and its outputs have ``requires_grad=False`` even when the input requires
grad.

Examples
--------
>>> import agrad as ag
>>> x = ag.asarray([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
>>> i = ag.argmax(x, axis=1)
>>> i, i.requires_grad
(Tensor([1, 0], backend='numpy', device='cpu', dtype=int64), False)
"""

from __future__ import annotations

from .._op import primitive
from .._tensor import Tensor
from ._util import as_tensor, flag_arg, norm_axes, norm_axis

__all__ = ["argmax", "argmin", "nonzero", "searchsorted", "count_nonzero"]


def _real(x, op):
    if x.dtype.kind == "complex floating":
        raise TypeError(f"agrad.{op}: needs a real-valued tensor, got dtype {x.dtype}")


@primitive(saves="none", differentiable=False)
def _argmax(xp, x, *, axis, keepdims):
    return xp.argmax(x, axis=axis, keepdims=keepdims)


@primitive(saves="none", differentiable=False)
def _argmin(xp, x, *, axis, keepdims):
    return xp.argmin(x, axis=axis, keepdims=keepdims)


def _arg_extreme(prim, name, x, axis, keepdims):
    x = as_tensor(x, name)
    _real(x, name)
    if axis is not None:
        if x.ndim == 0:
            raise ValueError(
                f"agrad.{name}: axis {axis!r} is out of range for a 0-d tensor; use axis=None"
            )
        axis = norm_axis(axis, x.ndim, name)
    if x.size == 0 if axis is None else x.shape[axis] == 0:
        where = "" if axis is None else f" along axis {axis}"
        raise ValueError(f"agrad.{name}: the tensor of shape {x.shape} has no elements{where}")
    return prim(x, axis=axis, keepdims=flag_arg(keepdims, name, "keepdims"))


def argmax(x, /, *, axis=None, keepdims=False) -> Tensor:
    """Indices of the maxima along ``axis`` (of the flattened tensor when None); the first one
    where there are ties. Not differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> int(ag.argmax(ag.asarray([1.0, 3.0, 3.0])))
    1
    """
    return _arg_extreme(_argmax, "argmax", x, axis, keepdims)


def argmin(x, /, *, axis=None, keepdims=False) -> Tensor:
    """Indices of the minima along ``axis`` (of the flattened tensor when None); the first one
    where there are ties. Not differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> int(ag.argmin(ag.asarray([2.0, 1.0, 1.0])))
    1
    """
    return _arg_extreme(_argmin, "argmin", x, axis, keepdims)


@primitive(saves="none", differentiable=False)
def _nonzero(xp, x):
    return tuple(xp.nonzero(x))


def nonzero(x, /) -> tuple:
    """The indices of the non-zero (true) elements: one integer tensor per dimension of ``x``,
    in row-major order. ``x`` must have at least one dimension. Not differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> rows, cols = ag.nonzero(ag.asarray([[0.0, 1.0], [2.0, 0.0]]))
    >>> rows.numpy().tolist(), cols.numpy().tolist()
    ([0, 1], [1, 0])
    """
    x = as_tensor(x, "nonzero")
    if x.ndim == 0:
        raise ValueError("agrad.nonzero: needs at least one dimension, got a 0-d tensor")
    return _nonzero(x)


@primitive(saves="none", differentiable=False)
def _count_nonzero(xp, x, *, axis, keepdims, int_dtype):
    if axis == ():  # no axis: 0 or 1 per element (torch would count over every axis)
        return xp.astype(xp.astype(x, xp.bool), int_dtype)
    return xp.count_nonzero(x, axis=axis, keepdims=keepdims)


def count_nonzero(x, /, *, axis=None, keepdims=False) -> Tensor:
    """The number of non-zero (true) elements along ``axis`` (all axes by default), in the
    backend's default integer dtype. Not differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.count_nonzero(ag.asarray([[0.0, 1.0], [2.0, 3.0]]), axis=1).numpy().tolist()
    [1, 2]
    """
    x = as_tensor(x, "count_nonzero")
    axes = norm_axes(axis, x.ndim, "count_nonzero")
    int_dtype = None
    if x.ndim == 0:
        axes = None  # every library counts a 0-d tensor over "all" of its axes
    elif axes == ():
        from .._info import __array_namespace_info__

        info = __array_namespace_info__(backend=x._bk)
        int_dtype = x._bk.raw_dtype(info.default_dtypes(device=x._dev)["integral"])
    keepdims = flag_arg(keepdims, "count_nonzero", "keepdims")
    return _count_nonzero(x, axis=axes, keepdims=keepdims, int_dtype=int_dtype)


@primitive(saves="none", differentiable=False, promotes=False)
def _searchsorted(xp, x1, x2, sorter, *, side, dtype):
    if sorter is not None:  # positions in x1[sorter], which is sorted: the standard's meaning
        x1 = xp.take(x1, sorter)
    if dtype is not None:
        x1 = xp.astype(x1, dtype)
        x2 = xp.astype(x2, dtype)
    return xp.searchsorted(x1, x2, side=side)


def searchsorted(x1, x2, /, *, side="left", sorter=None) -> Tensor:
    """Where the elements of ``x2`` would go in the 1-D ``x1`` (sorted ascending, or sorted by
    the integer indices ``sorter``) to keep it sorted: the first suitable position for
    ``side="left"``, the last for ``side="right"``. ``x2`` may be a Python scalar; the result
    has ``x2``'s shape. Not differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.searchsorted(ag.asarray([1.0, 2.0, 2.0, 3.0]), ag.asarray([2.0, 0.5]), side="right")
    Tensor([3, 0], backend='numpy', device='cpu', dtype=int64)
    """
    from .._info import _promote
    from .creation import asarray

    x1 = as_tensor(x1, "searchsorted")
    if x1.ndim != 1:
        raise ValueError(f"agrad.searchsorted: x1 must be 1-D, got shape {x1.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"agrad.searchsorted: side must be 'left' or 'right', got {side!r}")
    if isinstance(x2, (bool, complex)):
        raise TypeError(
            "agrad.searchsorted: x2 must be a real-valued tensor or a Python int or float, "
            f"got {type(x2).__name__}"
        )
    if isinstance(x2, (int, float)):
        if isinstance(x2, float) and not x1.dtype.is_floating:
            raise TypeError(
                f"agrad.searchsorted: cannot search for the Python float {x2!r} in an {x1.dtype} "
                "tensor: the Array API promotes Python scalars only within a kind"
            )
        x2 = asarray(x2, dtype=x1.dtype, device=x1._dev, backend=x1._bk)
    x2 = as_tensor(x2, "searchsorted")
    for name, t in (("x1", x1), ("x2", x2)):
        if t.dtype.kind in ("bool", "complex floating"):
            raise TypeError(
                f"agrad.searchsorted: {name} must have a real numeric dtype, got {t.dtype}"
            )
    common = _promote(x1.dtype, x2.dtype, "searchsorted")  # a named TypeError across kinds
    dtype = None if x1.dtype is x2.dtype else x1._bk.raw_dtype(common)
    if sorter is not None:
        sorter = as_tensor(sorter, "searchsorted")
        if sorter.dtype.kind not in ("signed integer", "unsigned integer"):
            raise TypeError(
                f"agrad.searchsorted: sorter must have an integer dtype, got {sorter.dtype}"
            )
        if sorter.shape != x1.shape:
            raise ValueError(
                f"agrad.searchsorted: sorter (shape {sorter.shape}) must have x1's shape {x1.shape}"
            )
    return _searchsorted(x1, x2, sorter, side=side, dtype=dtype)

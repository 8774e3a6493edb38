"""Indexing: ``x[key]``, ``take``, ``take_along_axis``, and ``index_add``.

Every indexing VJP is a scatter-add, and ``index_add`` is its one home: repeated indices
accumulate, with a fast path per library (``np.add.at``, ``cupyx.scatter_add``, torch's
``index_add_``, JAX's ``.at[].add``) and a portable fallback (see ``agrad._backend``).
``index_add``'s own VJP is a gather, so indexing is differentiable to any order.

Examples
--------
>>> import agrad as ag
>>> x = ag.asarray([1.0, 2.0, 3.0], requires_grad=True)
>>> ag.sum(x[ag.asarray([0, 0, 2])]).backward()
>>> x.grad
Tensor([2., 0., 1.], backend='numpy', device='cpu', dtype=float64)
"""

from __future__ import annotations

from .._op import _mismatch, primitive
from .._tensor import Tensor, ops
from ._util import as_tensor, norm_axis, shape_of


def _raw_key(x: Tensor, key, op):
    """Unwrap Tensors inside an index key (checking their backend and device)."""
    if isinstance(key, tuple):
        return tuple(_raw_key_part(x, k, op) for k in key)
    return _raw_key_part(x, key, op)


def _raw_key_part(x, k, op):
    if isinstance(k, Tensor):
        if k._bk is not x._bk or (x._bk.multi_device and k._dev != x._dev):
            _mismatch(op, [x, k])
        return k._data
    if isinstance(k, list):
        from .creation import asarray

        return asarray(k, device=x._dev, backend=x._bk)._data
    return k


@primitive(saves="none")
def _getitem(xp, x, *, key, in_shape):
    return x[key]


@_getitem.defvjp
def _(xp, g, out, x, *, key, in_shape):  # scatter g back where it came from (repeats add up)
    return xp.index_add(xp.zeros(in_shape, dtype=g.dtype, device=g.device), key, g)


def getitem(x, key):
    """``x[key]`` with ints, slices, ``...``, ``None``, integer arrays and boolean masks."""
    x = as_tensor(x, "getitem")
    return _getitem(x, key=_raw_key(x, key, "getitem"), in_shape=shape_of(x))


@primitive(saves="none")
def _index_add(xp, x, values, *, key):
    return xp.index_add(x, key, values)


@_index_add.defvjp
def _(xp, g, out, x, values, *, key):  # identity for x, a gather for values
    return g, g[key]


def index_add(x, key, values, /):
    """``x`` with ``values`` added at ``x[key]``, not in place; repeated indices accumulate
    (JAX's ``x.at[key].add(values)``). Differentiable in ``x`` and ``values``.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.index_add(ag.zeros(3), ag.asarray([0, 0, 2]), 1.0)
    Tensor([2., 0., 1.], backend='numpy', device='cpu', dtype=float64)
    """
    x = as_tensor(x, "index_add")
    return _index_add(x, values, key=_raw_key(x, key, "index_add"))


def take(x, indices, /, *, axis=None):
    """Elements of ``x`` at integer ``indices`` along ``axis`` (optional for 1-D ``x``)."""
    x = as_tensor(x, "take")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"agrad.take: axis is required for a tensor of shape {x.shape}")
        axis = 0
    axis = norm_axis(axis, x.ndim, "take")
    indices = as_tensor(indices, "take")
    if indices.ndim != 1:
        raise ValueError(f"agrad.take: indices must be 1-D, got shape {indices.shape}")
    return getitem(x, (slice(None),) * axis + (indices,))


def take_along_axis(x, indices, /, *, axis=-1):
    """Pick values from ``x`` at ``indices``, which match ``x``'s shape but along ``axis``."""
    from .creation import arange
    from .manipulation import reshape

    x = as_tensor(x, "take_along_axis")
    indices = as_tensor(indices, "take_along_axis")
    if indices.ndim != x.ndim:
        raise ValueError(
            f"agrad.take_along_axis: x (shape {x.shape}) and indices (shape {indices.shape}) "
            "must have the same number of dimensions"
        )
    axis = norm_axis(axis, x.ndim, "take_along_axis")
    key = []
    for d in range(x.ndim):
        if d == axis:
            key.append(indices)
        else:
            shape = [1] * x.ndim
            shape[d] = x.shape[d]
            key.append(reshape(arange(x.shape[d], dtype=indices.dtype, device=x.device,
                                      backend=x._bk), tuple(shape)))
    return getitem(x, tuple(key))


ops.getitem = getitem  # Tensor.__getitem__ dispatches here

"""The standard's set functions: ``unique_all``, ``unique_counts``, ``unique_inverse``,
``unique_values`` and ``isin``.

None of them is differentiable here. ``isin`` and the indices and counts are integers or
booleans; the unique *values* are floating for floating input, but they are returned without a
graph (``requires_grad=False``): the output's size depends on the data, and a gradient through
it would have to sum over each group of equal inputs. Differentiate through
``take(x, unique_all(x).indices)`` if that is what you need.

Examples
--------
>>> import agrad as ag
>>> r = ag.unique_counts(ag.asarray([3, 1, 3]))
>>> r.values.numpy().tolist(), r.counts.numpy().tolist()
([1, 3], [1, 2])
"""

from __future__ import annotations

from typing import NamedTuple

from .._op import primitive
from .._tensor import Tensor
from ._util import as_tensor

__all__ = [
    "UniqueAllResult",
    "UniqueCountsResult",
    "UniqueInverseResult",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
    "isin",
]


class UniqueAllResult(NamedTuple):
    """What :func:`unique_all` returns (the standard's field names)."""

    values: Tensor
    indices: Tensor
    inverse_indices: Tensor
    counts: Tensor


class UniqueCountsResult(NamedTuple):
    """What :func:`unique_counts` returns (the standard's field names)."""

    values: Tensor
    counts: Tensor


class UniqueInverseResult(NamedTuple):
    """What :func:`unique_inverse` returns (the standard's field names)."""

    values: Tensor
    inverse_indices: Tensor


def _unique_by_sorting(xp, x):
    """``unique_all`` from a stable sort, for a backend whose own refuses the dtype (torch's
    refuses complex values): sorted by real part, then imaginary part (NumPy's order for
    complex values, NaNs last); a new value starts wherever an element differs from the one
    before it, so every NaN is a value of its own, as the standard says."""
    flat = xp.reshape(x, (-1,))
    n = flat.shape[0]
    by_imag = xp.argsort(xp.imag(flat), stable=True)
    order = xp.take(by_imag, xp.argsort(xp.take(xp.real(flat), by_imag), stable=True))
    s = xp.take(flat, order)
    first = xp.ones((min(n, 1),), dtype=xp.bool, device=x.device)
    new = xp.concat([first, s[1:] != s[:-1]])
    starts = xp.nonzero(new)[0]
    end = xp.asarray([n] * min(n, 1), dtype=starts.dtype, device=x.device)  # (none if empty)
    ends = xp.concat([starts[1:], end])
    group = xp.cumulative_sum(xp.astype(new, starts.dtype)) - 1
    inverse = xp.take(group, xp.argsort(order))  # group[k] belongs to element order[k]
    return s[new], xp.take(order, starts), inverse, ends - starts


def _unique_all_raw(xp, x):
    try:
        values, indices, inverse, counts = xp.unique_all(x)
    except NotImplementedError:  # torch: built from unique_inverse and unique_counts
        if xp.isdtype(x.dtype, "complex floating"):
            values, indices, inverse, counts = _unique_by_sorting(xp, x)
            return values, indices, xp.reshape(inverse, x.shape), counts
        values, inverse = xp.unique_inverse(x)
        counts = xp.unique_counts(x).counts
        flat = xp.reshape(inverse, (-1,))
        # the first occurrence of each value: the start of its run in a stable sort by group
        order = xp.argsort(flat, stable=True)
        starts = xp.cumulative_sum(counts) - counts
        indices = xp.take(order, starts)
    return values, indices, xp.reshape(inverse, x.shape), counts


def _unique(xp, x, name):
    """``xp.<name>(x)``, sorted by agrad where the backend refuses complex values (torch)."""
    try:
        return getattr(xp, name)(x)
    except NotImplementedError:
        if not xp.isdtype(x.dtype, "complex floating"):
            raise
        values, _, inverse, counts = _unique_by_sorting(xp, x)
        if name == "unique_values":
            return values
        return (values, counts) if name == "unique_counts" else (values, inverse)


@primitive(saves="none", differentiable=False)
def _unique_all(xp, x):
    return tuple(_unique_all_raw(xp, x))


@primitive(saves="none", differentiable=False)
def _unique_counts(xp, x):
    values, counts = _unique(xp, x, "unique_counts")
    return values, counts


@primitive(saves="none", differentiable=False)
def _unique_inverse(xp, x):
    values, inverse = _unique(xp, x, "unique_inverse")
    return values, xp.reshape(inverse, x.shape)


@primitive(saves="none", differentiable=False)
def _unique_values(xp, x):
    return _unique(xp, x, "unique_values")


def unique_all(x, /) -> UniqueAllResult:
    """The sorted unique values of ``x``, the flat index of each one's first occurrence, the
    index into ``values`` of every element of ``x`` (shaped like ``x``), and the counts. Not
    differentiable (see the module docstring).

    Examples
    --------
    >>> import agrad as ag
    >>> r = ag.unique_all(ag.asarray([[2.0, 1.0], [2.0, 5.0]]))
    >>> [f.numpy().tolist() for f in r]
    [[1.0, 2.0, 5.0], [1, 0, 3], [[1, 0], [1, 2]], [1, 2, 1]]
    """
    return UniqueAllResult(*_unique_all(as_tensor(x, "unique_all")))


def unique_counts(x, /) -> UniqueCountsResult:
    """The sorted unique values of ``x`` and how often each occurs. Not differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.unique_counts(ag.asarray([1, 1, 4])).counts.numpy().tolist()
    [2, 1]
    """
    return UniqueCountsResult(*_unique_counts(as_tensor(x, "unique_counts")))


def unique_inverse(x, /) -> UniqueInverseResult:
    """The sorted unique values of ``x`` and, for every element of ``x``, the index of its
    value in them (shaped like ``x``: ``values[inverse_indices]`` rebuilds ``x``). Not
    differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.unique_inverse(ag.asarray([4, 1, 4])).inverse_indices.numpy().tolist()
    [1, 0, 1]
    """
    return UniqueInverseResult(*_unique_inverse(as_tensor(x, "unique_inverse")))


def unique_values(x, /) -> Tensor:
    """The sorted unique values of ``x``, as a 1-D tensor. Not differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.unique_values(ag.asarray([[3, 1], [1, 3]])).numpy().tolist()
    [1, 3]
    """
    return _unique_values(as_tensor(x, "unique_values"))


@primitive(saves="none", differentiable=False, promotes=False)
def _isin(xp, x1, x2, *, invert, dtype, integral):
    if dtype is not None:
        x1 = xp.astype(x1, dtype)
        x2 = xp.astype(x2, dtype)
    if integral:  # the standard specifies isin for integers; libraries may refuse others
        # invert is applied here: array-api-strict 2.6 ignores its invert= argument
        found = xp.isin(x1, x2)
        return xp.logical_not(found) if invert else found
    flat = xp.reshape(x2, (-1,))
    if flat.shape[0] == 0:
        found = xp.zeros(x1.shape, dtype=xp.bool, device=x1.device)
    elif xp.isdtype(flat.dtype, "real floating"):  # O((n + m) log m): search the sorted x2
        s = xp.sort(flat)
        pos = xp.clip(xp.searchsorted(s, x1), max=flat.shape[0] - 1)
        found = xp.take(s, xp.reshape(pos, (-1,)))
        found = xp.reshape(found, x1.shape) == x1
    else:  # bool and complex: compare with every element of x2
        found = xp.any(xp.expand_dims(x1, axis=-1) == flat, axis=-1)
    return xp.logical_not(found) if invert else found


def isin(x1, x2, /, *, invert=False) -> Tensor:
    """Whether each element of ``x1`` occurs in ``x2`` (shaped like ``x1``; negated with
    ``invert``). Either argument may be a Python scalar of the other's kind; tensors of
    different dtypes are compared in their promoted dtype, and across kinds are an error (as in
    the standard). The standard specifies integer tensors; agrad also accepts bool, floating
    (NaN is in nothing) and complex ones, on every backend. Not differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.isin(ag.asarray([1, 2, 3]), ag.asarray([3, 1])).numpy().tolist()
    [True, False, True]
    """
    from .._info import result_type
    from .creation import asarray

    scalars = (bool, int, float, complex)
    if isinstance(x1, scalars) and isinstance(x2, scalars):
        raise TypeError(
            "agrad.isin: at least one of x1 and x2 must be a tensor, got two Python scalars; "
            "wrap one with ag.asarray(...)"
        )
    ref = as_tensor(x2 if isinstance(x1, scalars) else x1, "isin")
    args = []
    for a in (x1, x2):
        if isinstance(a, scalars):
            result_type(ref.dtype, a)  # a named TypeError for a scalar of another kind
            a = asarray(a, dtype=ref.dtype, device=ref._dev, backend=ref._bk)
        args.append(as_tensor(a, "isin"))
    x1, x2 = args
    try:
        common = result_type(x1.dtype, x2.dtype)
    except TypeError:
        raise TypeError(
            f"agrad.isin: cannot compare {x1.dtype} (x1, shape {x1.shape}) with {x2.dtype} "
            f"(x2, shape {x2.shape}): the Array API defines no promotion between them; "
            "convert one first, e.g. ag.astype(x2, x1.dtype)"
        ) from None
    dtype = None if x1.dtype is x2.dtype else x1._bk.raw_dtype(common)
    integral = common.kind in ("signed integer", "unsigned integer")
    return _isin(x1, x2, invert=bool(invert), dtype=dtype, integral=integral)

"""The standard's sorting functions: ``argsort`` and ``sort``.

``argsort`` returns indices, so it is declared non-differentiable. ``sort`` is a composite,
``take_along_axis(x, argsort(x))``: its gradient scatters the cotangent back to where each
value came from (ties go to the element that sorted into that position), and higher
derivatives follow from ``take_along_axis``'s.

Examples
--------
>>> import agrad as ag
>>> x = ag.asarray([3.0, 1.0, 2.0], requires_grad=True)
>>> ag.sum(ag.sort(x) * ag.asarray([1.0, 10.0, 100.0])).backward()
>>> x.grad
Tensor([100.,   1.,  10.], backend='numpy', device='cpu', dtype=float64)
"""

from __future__ import annotations

from .._op import primitive
from .._tensor import Tensor
from ._util import as_tensor, norm_axis

__all__ = ["argsort", "sort"]


@primitive(saves="none", differentiable=False)
def _argsort(xp, x, *, axis, descending, stable, as_int):
    if as_int:  # bool: the standard sorts real numbers only, some libraries refuse bools
        x = xp.astype(x, xp.uint8)
    return xp.argsort(x, axis=axis, descending=descending, stable=stable)


def _check(x, axis, op):
    x = as_tensor(x, op)
    if x.ndim == 0:
        raise ValueError(f"agrad.{op}: needs at least one dimension, got a 0-d tensor")
    if x.dtype.kind == "complex floating":
        raise TypeError(f"agrad.{op}: needs a real-valued tensor, got dtype {x.dtype}")
    return x, norm_axis(axis, x.ndim, op)


def _static(x, axis, descending, stable):
    return {
        "axis": axis,
        "descending": bool(descending),
        "stable": bool(stable),
        "as_int": x.dtype.kind == "bool",
    }


def argsort(x, /, *, axis=-1, descending=False, stable=True) -> Tensor:
    """Indices that sort ``x`` along ``axis`` (ascending, or descending). With ``stable``
    (the default) equal elements keep their order, in both directions. Boolean tensors sort
    False before True (an agrad extension). Not differentiable.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.argsort(ag.asarray([2.0, 1.0, 2.0]), descending=True).numpy().tolist()
    [0, 2, 1]
    """
    x, axis = _check(x, axis, "argsort")
    return _argsort(x, **_static(x, axis, descending, stable))


def sort(x, /, *, axis=-1, descending=False, stable=True) -> Tensor:
    """``x`` sorted along ``axis``; differentiable (a composite of :func:`argsort` and
    ``take_along_axis``, so the gradient of each output goes to the input it came from).

    Examples
    --------
    >>> import agrad as ag
    >>> ag.sort(ag.asarray([[3.0, 1.0], [0.0, 2.0]]), axis=0).numpy().tolist()
    [[0.0, 1.0], [3.0, 2.0]]
    """
    from .indexing import take_along_axis

    x, axis = _check(x, axis, "sort")
    idx = _argsort(x, **_static(x, axis, descending, stable))
    return take_along_axis(x, idx, axis=axis)

"""Function transforms in JAX's style: ``grad``, ``value_and_grad``, ``vjp``.

They differentiate with respect to their arguments whether or not those were created with
``requires_grad``, never touch any tensor's ``.grad``, and nest: ``grad(grad(f))`` records the
inner backward whenever an outer transform is watching (higher-order derivatives).
"""

from __future__ import annotations

import functools

from ._tape import GRAD_ENABLED, enable_grad, run_backward
from ._tensor import Tensor, _wrap

__all__ = ["grad", "value_and_grad", "vjp"]


def _seed(out: Tensor, cotangent, create_graph: bool, where: str):
    """The cotangent for ``out``: ones for a one-element output, else the given one, checked."""
    if cotangent is None:
        if out.size != 1:
            raise RuntimeError(
                f"agrad.{where}: the output has shape {out.shape}; gradients are implicit only "
                "for one-element outputs. Reduce it (e.g. ag.sum) or pass the cotangent "
                "explicitly (grad=... / vjp_fn(cotangent))."
            )
        raw = out._bk.module.ones_like(out._data)
    else:
        if not isinstance(cotangent, Tensor):
            from .ops.creation import asarray

            cotangent = asarray(cotangent, dtype=out.dtype, device=out._dev, backend=out._bk)
        if cotangent._bk is not out._bk or (out._bk.multi_device and cotangent._dev != out._dev):
            raise ValueError(
                f"agrad.{where}: the cotangent is {cotangent.backend} on {cotangent.device} but "
                f"the output is {out.backend} on {out.device}; move it with .to_device(...)"
            )
        if cotangent.shape != out.shape:
            raise ValueError(
                f"agrad.{where}: the cotangent has shape {cotangent.shape} but the output has "
                f"shape {out.shape}; they must match"
            )
        if create_graph:
            return cotangent
        raw = cotangent._data
        if cotangent.dtype != out.dtype:
            raw = out._bk.module.astype(raw, out._data.dtype)
    if create_graph:
        return _wrap(raw, out._bk, out._dev)
    return raw


def _argnums_tuple(argnums, nargs, where):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not isinstance(a, int) or not -nargs <= a < nargs:
            raise ValueError(
                f"agrad.{where}: argnums {argnums!r} is out of range for {nargs} positional "
                "argument(s)"
            )
    return single, tuple(a % nargs for a in nums)


def _watch(x, where, k):
    """A fresh differentiation variable for argument ``k``; keeps any outer graph connected."""
    if not isinstance(x, Tensor):
        if isinstance(x, (float, int)) and not isinstance(x, bool):
            from .ops.creation import asarray

            x = asarray(float(x))
        elif hasattr(x, "shape"):
            from .ops.creation import asarray

            x = asarray(x)
        else:
            raise TypeError(f"agrad.{where}: argument {k} must be a tensor, got {type(x).__name__}")
    if not x.dtype.is_floating:
        raise TypeError(
            f"agrad.{where}: argument {k} has dtype {x.dtype}; only floating-point arguments can "
            "be differentiated (convert with ag.astype)"
        )
    if x.requires_grad:  # watched by an outer transform: stay connected through an identity
        from .ops.elementwise import positive

        return positive(x)
    t = _wrap(x._data, x._bk, x._dev)
    t.requires_grad = True
    return t


def _trace(fun, args, nums, where):
    outer = GRAD_ENABLED.get()
    args = list(args)
    for k in nums:
        args[k] = _watch(args[k], where, k)
    with enable_grad():
        out = fun(*args)
    return out, [args[k] for k in nums], outer


def _needs_outer_graph(out, inputs) -> bool:
    """Whether ``out`` depends on tensors watched by someone else (an outer transform or
    requires_grad leaves): then the backward must be recorded."""
    from ._tape import Node, _postorder

    if out._node is None:
        return False
    stop = {t._node for t in inputs if t._node is not None}
    ours = {t for t in inputs if t._node is None}
    for n in _postorder([out._node], stop):
        if n in stop:
            continue
        for p in n.parents:
            if p is not None and type(p) is not Node and type(p) is not tuple and p not in ours:
                return True
    for n in stop:
        if any(p is not None for p in n.parents):
            return True
    return False


def _split_aux(res, has_aux, where):
    if not has_aux:
        return res, None
    if not (isinstance(res, tuple) and len(res) == 2):
        raise TypeError(f"agrad.{where}: with has_aux=True the function must return (output, aux)")
    return res


def _grads(out, inputs, outer, where, cotangent=None, retain_graph=False):
    if not isinstance(out, Tensor):
        raise TypeError(
            f"agrad.{where}: the function must return a tensor, got {type(out).__name__}"
        )
    create = outer and _needs_outer_graph(out, inputs)
    if not out.requires_grad:  # the output does not depend on the inputs at all
        res = [None] * len(inputs)
    else:
        seed = _seed(out, cotangent, create, where)
        res = run_backward(
            [out], [seed], inputs=inputs, retain_graph=retain_graph or create, create_graph=create
        )
    from .ops.creation import zeros_like

    return [zeros_like(t) if g is None else g for t, g in zip(inputs, res)]


def value_and_grad(fun, argnums=0, has_aux=False):
    """A function returning ``(fun(*args), gradient)``; see :func:`grad`.

    Examples
    --------
    >>> import agrad as ag
    >>> v, g = ag.value_and_grad(lambda x: ag.sum(x ** 2))(ag.asarray([1.0, 2.0]))
    >>> float(v), g
    (5.0, Tensor([2., 4.], backend='numpy', device='cpu', dtype=float64))
    """

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "value_and_grad")
        f = functools.partial(fun, **kwargs) if kwargs else fun
        res, inputs, outer = _trace(f, args, nums, "value_and_grad")
        out, aux = _split_aux(res, has_aux, "value_and_grad")
        if isinstance(out, Tensor) and out.size != 1:
            raise TypeError(
                f"agrad.grad: the function must return a one-element tensor, got shape "
                f"{out.shape}; use ag.vjp for other outputs"
            )
        g = _grads(out, inputs, outer, "grad")
        g = g[0] if single else tuple(g)
        if not outer:
            out = out.detach()
        return ((out, aux), g) if has_aux else (out, g)

    return wrapper


def grad(fun, argnums=0, has_aux=False):
    """The gradient of a scalar-valued ``fun`` with respect to positional argument(s)
    ``argnums`` (an int or a tuple: then a tuple of gradients). Nests for higher order.

    Examples
    --------
    >>> import agrad as ag
    >>> f = lambda x: ag.sum(x ** 3)
    >>> ag.grad(f)(ag.asarray([1.0, 2.0]))
    Tensor([ 3., 12.], backend='numpy', device='cpu', dtype=float64)
    >>> ag.grad(lambda x: ag.sum(ag.grad(f)(x)))(ag.asarray([1.0, 2.0]))
    Tensor([ 6., 12.], backend='numpy', device='cpu', dtype=float64)
    """
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(fun, *primals, has_aux=False):
    """Evaluate ``fun(*primals)`` and return ``(out, vjp_fn)``; ``vjp_fn(cotangent)`` returns a
    tuple with one gradient per primal and may be called repeatedly.

    Examples
    --------
    >>> import agrad as ag
    >>> out, vjp_fn = ag.vjp(lambda x: x * 2.0, ag.asarray([1.0, 2.0]))
    >>> vjp_fn(ag.asarray([1.0, 10.0]))
    (Tensor([ 2., 20.], backend='numpy', device='cpu', dtype=float64),)
    """
    nums = tuple(range(len(primals)))
    res, inputs, outer = _trace(fun, primals, nums, "vjp")
    out, aux = _split_aux(res, has_aux, "vjp")
    if not isinstance(out, Tensor):
        raise TypeError(f"agrad.vjp: the function must return a tensor, got {type(out).__name__}")

    def vjp_fn(cotangent):
        return tuple(_grads(out, inputs, outer, "vjp", cotangent, retain_graph=True))

    shown = out if outer else out.detach()
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)

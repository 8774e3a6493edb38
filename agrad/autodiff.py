"""Function transforms in JAX's and torch.func's style.

Reverse mode: ``grad``, ``value_and_grad``, ``vjp``. Forward mode: ``jvp`` and ``linearize``,
built from reverse mode by the reverse-of-reverse ("double VJP") trick, since agrad has no
forward rule per op. Matrices of derivatives: ``jacobian`` (and ``jacrev``, ``jacfwd``),
``hessian``, ``hvp``.

They differentiate with respect to their arguments whether or not those were created with
``requires_grad``, never touch any tensor's ``.grad``, and nest: ``grad(grad(f))`` records the
inner backward whenever an outer transform is watching (higher-order derivatives). Arguments
and outputs may be pytrees: tuples, lists and dicts of tensors, nested (``agrad._pytree``);
Python numbers among the leaves are converted with ``ag.asarray``, as JAX does.

Integer and boolean outputs are piecewise constant: their derivatives are zeros of their own
dtype (what ``torch.func.jvp`` and ``torch.func.jacfwd`` return; JAX would use its ``float0``
dtype), and ``vjp`` ignores their cotangents.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ._pytree import TreeDef, tree_flatten
from ._tape import GRAD_ENABLED, enable_grad, run_backward
from ._tensor import Tensor, _wrap

__all__ = [
    "grad",
    "value_and_grad",
    "vjp",
    "jvp",
    "linearize",
    "jacobian",
    "jacrev",
    "jacfwd",
    "hessian",
    "hvp",
]

_MODES = ("rev", "fwd")


# ---- checking and converting values --------------------------------------------------------
def _conform(value, ref: Tensor, where: str, what: str, of: str) -> Tensor:
    """``value`` (a tangent or cotangent) as a Tensor with ``ref``'s backend, device, shape and
    dtype; errors say ``the {what} ... but the {of} ...``. Keeps ``value``'s graph."""
    if not isinstance(value, Tensor):
        from .ops.creation import asarray

        value = asarray(value, dtype=ref.dtype, device=ref._dev, backend=ref._bk)
    if value._bk is not ref._bk or (ref._bk.multi_device and value._dev != ref._dev):
        raise ValueError(
            f"agrad.{where}: the {what} is {value.backend} on {value.device} but the {of} is "
            f"{ref.backend} on {ref.device}; move it with .to_device(...)"
        )
    if value.shape != ref.shape:
        raise ValueError(
            f"agrad.{where}: the {what} has shape {value.shape} but the {of} has shape "
            f"{ref.shape}; they must match"
        )
    if value.dtype != ref.dtype:
        from .ops.manipulation import astype

        value = astype(value, ref.dtype)
    return value


def _seed(out: Tensor, cotangent, create_graph: bool, where: str, path: str = ""):
    """The cotangent for ``out`` (the output leaf at ``path``): ones for a one-element output,
    else the given one, checked. A raw array, or a Tensor when the backward is recorded."""
    if cotangent is None:
        if out.size != 1:
            raise RuntimeError(
                f"agrad.{where}: the output has shape {out.shape}; gradients are implicit only "
                "for one-element outputs. Reduce it (e.g. ag.sum) or pass the cotangent "
                "explicitly (grad=... / vjp_fn(cotangent))."
            )
        bk = out._bk
        if bk.ctx is None:
            raw = bk.xp.ones_like(out._data)
        else:  # pragma: no cover - CuPy allocates on the current device: make it out's
            with bk.ctx(out._dev):
                raw = bk.xp.ones_like(out._data)
        return _wrap(raw, out._bk, out._dev) if create_graph else raw
    cotangent = _conform(cotangent, out, where, f"cotangent{path}", f"output{path}")
    return cotangent if create_graph else cotangent._data


def _argnums_tuple(argnums, nargs, where):
    """``(single, nums)``: whether ``argnums`` is one int, and the indices it names (>= 0)."""
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    if single:
        nums = (argnums,)
    elif isinstance(argnums, (tuple, list)) and all(
        isinstance(a, int) and not isinstance(a, bool) for a in argnums
    ):
        nums = tuple(argnums)
        if not nums:
            raise ValueError(
                f"agrad.{where}: argnums is empty; name at least one positional argument to "
                "differentiate with respect to"
            )
    else:
        raise TypeError(
            f"agrad.{where}: argnums must be an int or a tuple of ints, got {argnums!r}"
        )
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(
                f"agrad.{where}: argnums {argnums!r} is out of range for {nargs} positional "
                "argument(s)"
            )
    return single, tuple(a % nargs for a in nums)


def _watch(x, where, label, ref):
    """A fresh differentiation variable for one argument leaf; keeps any outer graph
    connected. Python numbers become tensors beside ``ref`` (the first tensor argument)."""
    if not isinstance(x, Tensor):
        from .ops.creation import asarray

        if isinstance(x, (float, int)) and not isinstance(x, bool):
            if ref is None:
                x = asarray(float(x))
            else:
                dt = ref.dtype if ref.dtype.is_floating else None
                x = asarray(float(x), dtype=dt, device=ref._dev, backend=ref._bk)
        elif hasattr(x, "shape"):
            x = asarray(x)
        else:
            raise TypeError(f"agrad.{where}: {label} must be a tensor, got {type(x).__name__}")
    if not x.dtype.is_floating:
        raise TypeError(
            f"agrad.{where}: {label} has dtype {x.dtype}; only floating-point arguments can "
            "be differentiated (convert with ag.astype)"
        )
    if x.requires_grad:  # watched by an outer transform: stay connected through an identity
        from .ops.elementwise import positive

        return positive(x)
    t = _wrap(x._data, x._bk, x._dev)
    t.requires_grad = True
    return t


def _trace(fun, args, nums, where):
    """Run ``fun`` on ``args`` with the leaves of ``args[k]`` (``k`` in ``nums``) watched.

    Returns ``(result, inputs, trees, outer)``: the watched leaves (flat, argument after
    argument), each watched argument's tree structure, and whether grad mode was on outside.
    """
    outer = GRAD_ENABLED.get()
    args = list(args)
    flat = [tree_flatten(args[k]) for k in nums]
    ref = next((x for leaves, _ in flat for x in leaves if isinstance(x, Tensor)), None)
    inputs, trees = [], []
    for k, (leaves, tree) in zip(nums, flat):
        paths = tree.paths()
        watched = [_watch(x, where, f"argument {k}{p}", ref) for x, p in zip(leaves, paths)]
        args[k] = tree.unflatten(watched)
        inputs.extend(watched)
        trees.append(tree)
    with enable_grad():
        res = fun(*args)
    return res, inputs, trees, outer


def _per_argument(trees, flat):
    """Split a flat list (one entry per watched leaf) into one pytree per watched argument."""
    out, start = [], 0
    for tree in trees:
        out.append(tree.unflatten(flat[start : start + tree.num_leaves]))
        start += tree.num_leaves
    return tuple(out)


def _outputs(out, where, ref):
    """The function's output as a flat list of Tensors and its tree structure."""
    leaves, tree = tree_flatten(out)
    flat = []
    for o, path in zip(leaves, tree.paths()):
        if not isinstance(o, Tensor):
            if isinstance(o, (bool, int, float)) or hasattr(o, "shape"):
                from .ops.creation import asarray

                if ref is None or hasattr(o, "shape"):
                    o = asarray(o)
                else:  # a Python float takes the arguments' floating dtype, as in _watch
                    dt = ref.dtype if type(o) is float and ref.dtype.is_floating else None
                    o = asarray(o, dtype=dt, device=ref._dev, backend=ref._bk)
            else:
                place = f" at output{path}" if path else ""
                raise TypeError(
                    f"agrad.{where}: the function must return a tensor (or a tuple, list or dict "
                    f"of tensors), got {type(o).__name__}{place}; return other values as aux "
                    "with has_aux=True"
                )
        flat.append(o)
    return flat, tree


def _scalar_output(out, where, ref):
    """The output of a function that ``grad`` / ``hvp`` differentiate: one-element tensor."""
    if not isinstance(out, Tensor):
        if isinstance(out, (tuple, list, dict)):
            raise TypeError(
                f"agrad.{where}: the function must return a tensor, got {type(out).__name__}; "
                "to return (output, aux) pass has_aux=True, for several outputs use ag.vjp or "
                "ag.jacobian"
            )
        out = _outputs(out, where, ref)[0][0]
    if out.size != 1:
        raise TypeError(
            f"agrad.{where}: the function must return a one-element tensor, got shape "
            f"{out.shape}; use ag.vjp for other outputs"
        )
    return out


def _flat_tangents(tangents, trees, inputs, where):
    """Flatten ``tangents`` (one pytree per primal), check them against the primals' structure
    and convert each leaf to its primal's backend, shape and dtype."""
    flat, tree = tree_flatten(tuple(tangents))
    want = TreeDef(tuple, None, tuple(trees))
    if tree != want:
        raise ValueError(
            f"agrad.{where}: the tangents have structure {tree} but the primals have structure "
            f"{want}; give one tangent per primal leaf, in the same containers"
        )
    return [
        _conform(v, x, where, f"tangent{p}", f"primal{p}")
        for v, x, p in zip(flat, inputs, want.paths())
    ]


def _split_primals(primals, tangents, where):
    for name, seq in (("primals", primals), ("tangents", tangents)):
        if not isinstance(seq, (tuple, list)):
            raise TypeError(
                f"agrad.{where}: {name} must be a tuple (or list) with one entry per positional "
                f"argument of the function, got {type(seq).__name__}; wrap a single argument as "
                "(x,)"
            )
    if len(primals) != len(tangents):
        raise ValueError(
            f"agrad.{where}: got {len(primals)} primal(s) but {len(tangents)} tangent(s); give "
            "one tangent per primal"
        )
    return tuple(primals), tuple(tangents)


def _needs_outer_graph(outs, inputs) -> bool:
    """Whether the outputs depend on tensors watched by someone else (an outer transform or
    requires_grad leaves): then the backward must be recorded."""
    from ._tape import Node, _postorder

    stop = {t._node for t in inputs if t._node is not None}
    ours = {t for t in inputs if t._node is None}
    roots = []
    for o in outs:
        if o._node is not None:
            roots.append(o._node)
        elif o.requires_grad and o not in ours:
            return True
    for n in _postorder(roots, stop):
        if n in stop:
            continue
        for p in n.parents:
            if p is not None and type(p) is not Node and type(p) is not tuple and p not in ours:
                return True
    for n in stop:
        if any(p is not None for p in n.parents):
            return True
    return False


def _detached(outs, watched):
    return outs if watched else [o.detach() for o in outs]


def _split_aux(res, has_aux, where):
    if not has_aux:
        return res, None
    if not (isinstance(res, tuple) and len(res) == 2):
        raise TypeError(
            f"agrad.{where}: with has_aux=True the function must return (output, aux), got "
            f"{type(res).__name__}"
        )
    return res


def _backward(roots, seeds, inputs, create, retain=True):
    """One reverse sweep from the roots that require grad (a root or seed None: skipped).
    Gradients per input, ``None`` where no path leads; the graph is kept for more sweeps
    unless ``retain`` is False (a recorded sweep always keeps it, for the outer backward)."""
    pairs = [
        (r, s) for r, s in zip(roots, seeds) if r is not None and s is not None and r.requires_grad
    ]
    if not pairs or not inputs:
        return [None] * len(inputs)
    roots, seeds = [r for r, _ in pairs], [s for _, s in pairs]
    if not create:
        return run_backward(roots, seeds, inputs=inputs, retain_graph=retain)
    # run_backward records the VJPs in grad mode but accumulates and un-broadcasts
    # cotangents in the caller's: a recorded backward must run in grad mode throughout
    with enable_grad():
        return run_backward(roots, seeds, inputs=inputs, retain_graph=True, create_graph=True)


def _zeros_for_none(grads, like):
    from .ops.creation import zeros_like

    return [zeros_like(t) if g is None else g for g, t in zip(grads, like)]


def _progress(total, desc, enabled):
    """A tqdm bar that appears once a loop has run 2 s (``delay=2``), or None (tqdm is
    optional; ``progress=False`` turns it off)."""
    if not enabled or total < 2:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, delay=2, leave=False, unit="sweep")


# ---- reverse mode ----------------------------------------------------------------------------
def _value_and_grad(fun, argnums, has_aux, where):
    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), where)
        f = functools.partial(fun, **kwargs) if kwargs else fun
        res, inputs, trees, outer = _trace(f, args, nums, where)
        out, aux = _split_aux(res, has_aux, where)
        out = _scalar_output(out, where, inputs[0] if inputs else None)
        watched = outer and _needs_outer_graph([out], inputs)
        seed = _seed(out, None, watched, where)
        g = _zeros_for_none(_backward([out], [seed], inputs, watched, retain=False), inputs)
        g = _per_argument(trees, g)
        g = g[0] if single else g
        if not watched:
            out = out.detach()
        return ((out, aux), g) if has_aux else (out, g)

    return wrapper


def value_and_grad(
    fun: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable:
    """A function returning ``(fun(*args), gradient)``; see :func:`grad`.

    Examples
    --------
    >>> import agrad as ag
    >>> v, g = ag.value_and_grad(lambda x: ag.sum(x ** 2))(ag.asarray([1.0, 2.0]))
    >>> float(v), g
    (5.0, Tensor([2., 4.], backend='numpy', device='cpu', dtype=float64))
    """
    return _value_and_grad(fun, argnums, has_aux, "value_and_grad")


def grad(fun: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar-valued ``fun`` with respect to positional argument(s)
    ``argnums`` (an int or a tuple: then a tuple of gradients). Nests for higher order.

    An argument may be a pytree (a dict of weights, say): its gradient has the same structure.

    Examples
    --------
    >>> import agrad as ag
    >>> f = lambda x: ag.sum(x ** 3)
    >>> ag.grad(f)(ag.asarray([1.0, 2.0]))
    Tensor([ 3., 12.], backend='numpy', device='cpu', dtype=float64)
    >>> ag.grad(lambda x: ag.sum(ag.grad(f)(x)))(ag.asarray([1.0, 2.0]))
    Tensor([ 6., 12.], backend='numpy', device='cpu', dtype=float64)
    >>> ag.grad(lambda p: ag.sum(p["w"] * p["b"]))({"w": ag.asarray([3.0]), "b": 2.0})["b"]
    Tensor(3., backend='numpy', device='cpu', dtype=float64)
    """
    vg = _value_and_grad(fun, argnums, has_aux, "grad")

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Evaluate ``fun(*primals)`` and return ``(out, vjp_fn)`` (``(out, vjp_fn, aux)`` with
    ``has_aux``); ``vjp_fn(cotangent)`` returns ``cotangent · ∂out/∂primals``: a tuple with one
    gradient per primal, and may be called repeatedly (the graph is kept).

    Primals and the output may be pytrees; the cotangent has the output's structure, each
    leaf its output leaf's shape. Cotangents of integer or boolean outputs are ignored.

    Examples
    --------
    >>> import agrad as ag
    >>> out, vjp_fn = ag.vjp(lambda x: x * 2.0, ag.asarray([1.0, 2.0]))
    >>> vjp_fn(ag.asarray([1.0, 10.0]))
    (Tensor([ 2., 20.], backend='numpy', device='cpu', dtype=float64),)
    >>> p = {"a": ag.asarray(3.0), "b": ag.asarray(4.0)}
    >>> out, vjp_fn = ag.vjp(lambda p: {"y": p["a"] * p["b"]}, p)
    >>> (g,) = vjp_fn({"y": 1.0})
    >>> float(g["a"]), float(g["b"])
    (4.0, 3.0)
    """
    nums = tuple(range(len(primals)))
    res, inputs, trees, outer = _trace(fun, primals, nums, "vjp")
    out, aux = _split_aux(res, has_aux, "vjp")
    outs, out_tree = _outputs(out, "vjp", inputs[0] if inputs else None)
    watched = outer and _needs_outer_graph(outs, inputs)

    def vjp_fn(cotangent):
        cts, tree = tree_flatten(cotangent)
        if tree != out_tree:
            raise ValueError(
                f"agrad.vjp: the cotangent has structure {tree} but the output has structure "
                f"{out_tree}; they must match"
            )
        seeds = [
            _seed(o, c, watched, "vjp", p) if o.dtype.is_floating else None
            for o, c, p in zip(outs, cts, out_tree.paths())
        ]
        g = _zeros_for_none(_backward(outs, seeds, inputs, watched), inputs)
        return _per_argument(trees, g)

    shown = out_tree.unflatten(_detached(outs, watched))
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


# ---- forward mode by reverse-of-reverse --------------------------------------------------------
class _Linearization:
    """``v -> J v`` at one point, from one forward pass and one recorded backward.

    ``u -> Jᵀu`` is linear, so the backward is recorded (``create_graph``) for a dummy
    cotangent ``u`` (zeros that require grad): that gives ``Jᵀu`` as a function of ``u``, and
    one more backward of ``<Jᵀu, v>`` with respect to ``u`` gives ``J v`` (exact; seeding that
    backward with ``v`` computes the inner product implicitly). Each JVP after the first costs
    about one backward of the backward; the graphs are kept until this object is dropped.
    """

    __slots__ = ("outs", "duals", "jtu", "watched")

    def __init__(self, outs, inputs, watched):
        from .ops.creation import zeros_like

        self.outs = outs
        self.watched = watched  # the forward depends on tensors an outer transform watches
        self.duals = [zeros_like(o, requires_grad=True) if o.requires_grad else None for o in outs]
        self.jtu = _backward(outs, self.duals, inputs, create=True)  # Jᵀu, recorded

    def apply(self, tangents):
        """``J v`` per output for ``tangents`` (one Tensor or None = zero per input)."""
        create = GRAD_ENABLED.get() and (
            self.watched or any(v is not None and v.requires_grad for v in tangents)
        )
        seeds = [None if v is None else (v if create else v._data) for v in tangents]
        duals = [u for u in self.duals if u is not None]
        res = iter(_backward(self.jtu, seeds, duals, create))
        jv = [None if u is None else next(res) for u in self.duals]
        from .ops.creation import zeros_like

        return [zeros_like(o) if t is None else t for t, o in zip(jv, self.outs)], create


def _linearize(fun, primals, has_aux, where):
    primals = tuple(primals)
    res, inputs, trees, outer = _trace(fun, primals, tuple(range(len(primals))), where)
    out, aux = _split_aux(res, has_aux, where)
    outs, out_tree = _outputs(out, where, inputs[0] if inputs else None)
    watched = outer and _needs_outer_graph(outs, inputs)
    lin = _Linearization(outs, inputs, watched)

    def jvp_fn(*tangents):
        vs = _flat_tangents(tangents, trees, inputs, where)
        return out_tree.unflatten(lin.apply(vs)[0])

    shown = out_tree.unflatten(_detached(outs, watched))
    return shown, jvp_fn, aux


def jvp(fun: Callable, primals, tangents, *, has_aux: bool = False):
    """Forward mode: ``(fun(*primals), J·tangents)``, the directional derivative of ``fun`` at
    ``primals`` along ``tangents`` (``(out, tangent_out, aux)`` with ``has_aux``), in the
    calling convention of ``jax.jvp`` and ``torch.func.jvp``.

    agrad has no forward-mode rule per op; ``J v`` comes from reverse mode by the
    reverse-of-reverse ("double VJP") trick. ``u -> Jᵀu`` is linear in ``u``, so the backward is
    recorded (``create_graph``) for a dummy cotangent ``u`` (zeros that require grad), then
    ``<Jᵀu, v>`` is differentiated with respect to ``u``: its gradient is ``J v``. That is
    exact (not finite differences) and costs about 3-4 evaluations of ``fun`` (one forward, a
    recorded backward, a backward of the backward) whatever the input size: one JVP, where a
    Jacobian would take one backward per output element.

    Parameters
    ----------
    fun : callable
        Takes ``len(primals)`` positional arguments; returns a tensor or a pytree of tensors
        (``(output, aux)`` with ``has_aux``).
    primals : tuple or list
        The arguments, each a tensor or a pytree of them (floating point).
    tangents : tuple or list
        One per primal, of the same structure, each leaf of its primal's shape (converted to
        its dtype).
    has_aux : bool
        ``fun`` returns ``(output, aux)``; ``aux`` is returned as is, not differentiated.

    Returns
    -------
    out, tangent_out
        ``fun(*primals)`` and its tangent, of the same structure. The tangent of an output
        that does not depend on the primals is zeros; that of an integer or boolean output is
        zeros of its own dtype (as in ``torch.func.jvp``).

    Examples
    --------
    >>> import agrad as ag
    >>> x = ag.asarray([1.0, 2.0])
    >>> out, t = ag.jvp(lambda x: x ** 3, (x,), (ag.asarray([1.0, 0.5]),))
    >>> t  # 3 x^2 v
    Tensor([3., 6.], backend='numpy', device='cpu', dtype=float64)
    """
    primals, tangents = _split_primals(primals, tangents, "jvp")
    out, jvp_fn, aux = _linearize(fun, primals, has_aux, "jvp")
    t = jvp_fn(*tangents)
    return (out, t, aux) if has_aux else (out, t)


def linearize(fun: Callable, *primals, has_aux: bool = False):
    """``(fun(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` returns ``J·tangents`` at ``primals``,
    like ``jax.linearize`` and ``torch.func.linearize`` (``(out, jvp_fn, aux)`` with
    ``has_aux``).

    The forward pass and the recorded backward (see :func:`jvp`) are done once, here; each call
    of ``jvp_fn`` then costs about one backward of the backward. Use it for many JVPs at one
    point (``jacfwd`` does).

    Examples
    --------
    >>> import agrad as ag
    >>> out, jvp_fn = ag.linearize(ag.sin, ag.asarray([0.0, 1.0]))
    >>> jvp_fn(ag.asarray([2.0, 0.0]))  # cos(x) v
    Tensor([2., 0.], backend='numpy', device='cpu', dtype=float64)
    """
    out, jvp_fn, aux = _linearize(fun, primals, has_aux, "linearize")
    return (out, jvp_fn, aux) if has_aux else (out, jvp_fn)


# ---- Jacobians and Hessians --------------------------------------------------------------------
def _onehot(n, k, like, shape):
    """A tensor of ``shape`` (``n`` elements) with a one at flat position ``k``."""
    from .ops.creation import arange
    from .ops.manipulation import astype, reshape

    idx = arange(n, device=like._dev, backend=like._bk)
    return reshape(astype(idx == k, like.dtype), shape)


def _assemble(pieces, lead, tail, dtype, like, axis):
    """Stack ``pieces`` (Tensors or None = zeros) along ``axis`` and shape the result
    ``lead + tail``; all zeros when every piece is None."""
    from .ops.creation import zeros, zeros_like
    from .ops.manipulation import reshape, stack

    shape = tuple(lead) + tuple(tail)
    if all(p is None for p in pieces):
        return zeros(shape, dtype=dtype, device=like._dev, backend=like._bk)
    fill = next(p for p in pieces if p is not None)
    return reshape(stack([zeros_like(fill) if p is None else p for p in pieces], axis=axis), shape)


def _jac_rev(outs, inputs, watched, bar):
    """Blocks ``[out i][input j]`` of shape ``out_i.shape + input_j.shape``: one backward per
    output element through the one recorded graph."""
    from .ops.creation import zeros

    blocks = []
    for o in outs:
        n = o.size
        if not o.requires_grad or n == 0:
            blocks.append(
                [
                    zeros(
                        o.shape + x.shape,
                        dtype=x.dtype if o.dtype.is_floating else o.dtype,
                        device=x._dev,
                        backend=x._bk,
                    )
                    for x in inputs
                ]
            )
            continue
        rows = [[] for _ in inputs]
        for k in range(n):
            seed = _onehot(n, k, o, o.shape)
            for j, g in enumerate(
                _backward([o], [seed if watched else seed._data], inputs, watched)
            ):
                rows[j].append(g)
            if bar is not None:
                bar.update(1)
        blocks.append(
            [_assemble(r, o.shape, x.shape, x.dtype, x, axis=0) for r, x in zip(rows, inputs)]
        )
    return blocks


def _jac_fwd(outs, inputs, watched, bar):
    """The same blocks, one JVP per input element from one linearization."""
    lin = _Linearization(outs, inputs, watched)
    cols = [[[] for _ in inputs] for _ in outs]
    for j, x in enumerate(inputs):
        n = x.size
        for k in range(n):
            tangents = [None] * len(inputs)
            tangents[j] = _onehot(n, k, x, x.shape)
            for i, t in enumerate(lin.apply(tangents)[0]):
                cols[i][j].append(t)
            if bar is not None:
                bar.update(1)
    return [
        [_assemble(c, o.shape, x.shape, o.dtype, o, axis=-1) for c, x in zip(cols[i], inputs)]
        for i, o in enumerate(outs)
    ]


def _jacobian(fun, argnums, mode, has_aux, progress, where):
    if mode not in _MODES:
        raise ValueError(
            f"agrad.{where}: mode must be 'rev' (reverse: one backward per output element) or "
            f"'fwd' (forward: one JVP per input element), got {mode!r}"
        )

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), where)
        f = functools.partial(fun, **kwargs) if kwargs else fun
        res, inputs, trees, outer = _trace(f, args, nums, where)
        out, aux = _split_aux(res, has_aux, where)
        outs, out_tree = _outputs(out, where, inputs[0] if inputs else None)
        watched = outer and _needs_outer_graph(outs, inputs)
        if mode == "rev":
            total = sum(o.size for o in outs if o.requires_grad)
        else:
            total = sum(x.size for x in inputs)
        bar = _progress(total, f"agrad.{where} ({mode})", progress)
        try:
            blocks = (_jac_rev if mode == "rev" else _jac_fwd)(outs, inputs, watched, bar)
        finally:
            if bar is not None:
                bar.close()
        per_out = []
        for row in blocks:
            per_arg = _per_argument(trees, row)
            per_out.append(per_arg[0] if single else per_arg)
        jac = out_tree.unflatten(per_out)
        return (jac, aux) if has_aux else jac

    return wrapper


def jacobian(
    fun: Callable,
    argnums: int | tuple[int, ...] = 0,
    *,
    mode: str = "rev",
    has_aux: bool = False,
    progress: bool = True,
) -> Callable:
    """The Jacobian of ``fun`` with respect to positional argument(s) ``argnums``.

    The result has JAX's layout: for an output of shape ``S_out`` and an argument of shape
    ``S_in``, a tensor of shape ``S_out + S_in`` (``J[i..., j...] = ∂out[i...]/∂x[j...]``).
    With pytrees it nests like JAX: the output's structure, each leaf replaced by the
    argument's structure (a tuple of those when ``argnums`` is a tuple).

    Parameters
    ----------
    fun : callable
        Returns a tensor or a pytree of tensors (``(output, aux)`` with ``has_aux``).
    argnums : int or tuple of ints
        Which positional arguments (each a tensor or a pytree of them) to differentiate.
    mode : {"rev", "fwd"}
        ``"rev"`` builds the Jacobian row by row, one backward per output element through one
        recorded graph (best for few outputs, many inputs); ``"fwd"`` column by column, one JVP
        (:func:`linearize`) per input element (best for few inputs). Same values either way.
    has_aux : bool
        ``fun`` returns ``(output, aux)``; then ``(jacobian, aux)`` is returned.
    progress : bool
        Show a tqdm progress bar (stderr) when the sweeps take over 2 seconds and tqdm is
        installed.

    Returns
    -------
    callable
        Taking ``fun``'s arguments and returning the Jacobian. Blocks of outputs that do not
        depend on the argument are zeros; those of integer or boolean outputs are zeros of
        the output's dtype. A "rev" block has the argument's dtype, a "fwd" block the
        output's.

    Examples
    --------
    >>> import agrad as ag
    >>> J = ag.jacobian(lambda x: x ** 2)(ag.asarray([1.0, 2.0]))
    >>> J
    Tensor([[2., 0.],
            [0., 4.]], backend='numpy', device='cpu', dtype=float64)
    >>> Ja, Jb = ag.jacobian(lambda a, b: a * b, argnums=(0, 1), mode="fwd")(
    ...     ag.asarray([1.0, 2.0]), ag.asarray(3.0))
    >>> Jb
    Tensor([1., 2.], backend='numpy', device='cpu', dtype=float64)
    """
    return _jacobian(fun, argnums, mode, has_aux, progress, "jacobian")


def jacrev(
    fun: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False, progress=True
) -> Callable:
    """:func:`jacobian` in reverse mode (``jax.jacrev``, ``torch.func.jacrev``).

    Examples
    --------
    >>> import agrad as ag
    >>> ag.jacrev(lambda x: ag.sum(x) * x)(ag.asarray([1.0, 2.0]))
    Tensor([[4., 1.],
            [2., 5.]], backend='numpy', device='cpu', dtype=float64)
    """
    return _jacobian(fun, argnums, "rev", has_aux, progress, "jacrev")


def jacfwd(
    fun: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False, progress=True
) -> Callable:
    """:func:`jacobian` in forward mode (``jax.jacfwd``, ``torch.func.jacfwd``).

    Examples
    --------
    >>> import agrad as ag
    >>> ag.jacfwd(lambda x: ag.sum(x) * x)(ag.asarray([1.0, 2.0]))
    Tensor([[4., 1.],
            [2., 5.]], backend='numpy', device='cpu', dtype=float64)
    """
    return _jacobian(fun, argnums, "fwd", has_aux, progress, "jacfwd")


def hessian(
    fun: Callable,
    argnums: int | tuple[int, ...] = 0,
    *,
    has_aux: bool = False,
    progress: bool = True,
) -> Callable:
    """The Hessian of ``fun`` with respect to ``argnums``: the Jacobian of its Jacobian.

    Computed reverse-over-reverse: one forward pass, one recorded backward giving the gradient
    (as a function of the arguments), then one backward per gradient element through that
    graph. (JAX and torch.func go forward-over-reverse; agrad's forward mode is itself made of
    reverse sweeps, so reverse-over-reverse is the cheaper route here, with the same values.)

    The layout is JAX's: ``S_out + S_in + S_in`` for one argument (``(n, n)`` for a scalar
    function of a vector); with a tuple ``argnums`` or pytree arguments, blocks nest as
    ``H[a][b] = ∂²f/∂a∂b``. Takes ``has_aux`` and ``progress`` as :func:`jacobian` does.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.hessian(lambda x: x[0] ** 2 * x[1])(ag.asarray([1.0, 3.0]))
    Tensor([[6., 2.],
            [2., 0.]], backend='numpy', device='cpu', dtype=float64)
    """
    inner = _jacobian(fun, argnums, "rev", has_aux, False, "hessian")
    return _jacobian(inner, argnums, "rev", has_aux, progress, "hessian")


def hvp(fun: Callable, primals, tangents, *, has_aux: bool = False):
    """Hessian-vector product: ``(fun(*primals), H·tangents)`` for a scalar-valued ``fun``
    (``(out, hvp_out, aux)`` with ``has_aux``), the convention of ``torch.func``'s ``hvp``
    recipe and ``torch.autograd.functional.hvp``.

    ``primals`` is a tuple with one entry (a tensor or a pytree) per argument of ``fun``;
    ``tangents`` matches it and ``hvp_out`` has its structure (a tuple). All the primals are
    differentiated, so ``H`` is the Hessian with respect to all of them.

    Computed reverse-over-reverse without ever forming ``H``: the gradient ``g(x)`` is recorded
    (``create_graph``), then ``<g(x), v>`` is differentiated with respect to ``x``, which gives
    ``Hᵀv = Hv`` (the Hessian is symmetric). Costs about 4-5 evaluations of ``fun``.

    Examples
    --------
    >>> import agrad as ag
    >>> f = lambda x: ag.sum(x ** 3)
    >>> out, (hv,) = ag.hvp(f, (ag.asarray([1.0, 2.0]),), (ag.asarray([1.0, 1.0]),))
    >>> hv  # 6 x v
    Tensor([ 6., 12.], backend='numpy', device='cpu', dtype=float64)
    """
    primals, tangents = _split_primals(primals, tangents, "hvp")
    res, inputs, trees, outer = _trace(fun, primals, tuple(range(len(primals))), "hvp")
    out, aux = _split_aux(res, has_aux, "hvp")
    out = _scalar_output(out, "hvp", inputs[0] if inputs else None)
    vs = _flat_tangents(tangents, trees, inputs, "hvp")
    watched = outer and (_needs_outer_graph([out], inputs) or any(v.requires_grad for v in vs))
    g = _backward([out], [_seed(out, None, True, "hvp")], inputs, create=True)  # ∇f, recorded
    hv = _backward(g, [v if watched else v._data for v in vs], inputs, watched)
    hv = _per_argument(trees, _zeros_for_none(hv, inputs))
    if not watched:
        out = out.detach()
    return (out, hv, aux) if has_aux else (out, hv)

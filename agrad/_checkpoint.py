"""Gradient checkpointing: ``checkpoint(f, *args)`` trades compute for memory.

The forward keeps none of ``f``'s intermediate values, only its inputs; the backward calls
``f`` again, with gradients on, and differentiates that recomputation. A deep network whose
blocks are checkpointed keeps one activation per block instead of every intermediate of every
block (the semantics of ``torch.utils.checkpoint`` and ``jax.checkpoint``).

How it fits the tape: the call records one node, an op (a :class:`~agrad.custom.CustomVJP`)
whose parents are ``f``'s tensor arguments *and* every tensor ``f`` closes over that requires
grad (parameters of a layer, tensors computed outside ``f``), found by walking the graph of the
first run before it is dropped. Its VJP re-runs ``f`` on fresh copies of the arguments, cuts
that new graph at the closed-over tensors and back-propagates through it to all of them, so
closed-over parameters receive their gradients like arguments, in ``backward()`` as in
``ag.grad``. With ``create_graph=True`` (``ag.grad`` of ``ag.grad``) the recomputation is
recorded and differentiated again, so higher derivatives work too.

``f`` must compute the same thing both times: draw random numbers (dropout masks) outside it
and pass them in, and keep its control flow independent of values that could change. A
recomputation that builds a different graph is an error; one that only draws different random
numbers silently gives the gradient of a different function. Operations in ``f`` that depend
on none of its tensor arguments (``W.T`` of a closed-over weight) are not recomputed: their
graph from the first run is kept, as if they had been written outside ``f``.

Examples
--------
>>> import agrad as ag
>>> from agrad import checkpoint
>>> w = ag.asarray([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
>>> def block(x):  # closes over the parameter w
...     return ag.tanh(x @ w)
>>> x = ag.asarray([[1.0, 2.0]], requires_grad=True)
>>> ag.sum(checkpoint(block, checkpoint(block, x))).backward()
>>> w.grad.shape, x.grad.shape
((2, 2), (1, 2))
"""

from __future__ import annotations

from ._tape import GRAD_ENABLED, Node, _postorder, enable_grad, run_backward
from ._tensor import Tensor, _wrap
from .custom import CustomVJP, _is_tensor_list

__all__ = ["checkpoint"]

# kinds of tensor arguments
_CONST, _NOGRAD, _GRAD = 0, 1, 2  # not floating; floating without grad; floating with grad


def checkpoint(f, *args, **kwargs):
    """Call ``f(*args, **kwargs)`` without keeping its intermediates; recompute them in backward.

    Parameters
    ----------
    f : callable
        Returns a Tensor or a tuple of Tensors. It is called once now and once more in every
        backward pass through the result; it must compute the same function each time (see
        the module docstring: randomness, control flow).
    *args, **kwargs
        Its arguments. Tensors among them (at the top level) are saved for the recomputation;
        anything else is passed unchanged. Tensors ``f`` closes over (parameters) receive
        gradients too.

    Returns
    -------
    Tensor or tuple of Tensor
        What ``f`` returns, attached to the graph by one node.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad import checkpoint
    >>> x = ag.asarray([0.5, 1.0], requires_grad=True)
    >>> y = checkpoint(lambda t: ag.sum(ag.sin(t) * t), x)
    >>> y.backward()
    >>> bool(ag.all(ag.abs(x.grad - (ag.cos(x) * x + ag.sin(x))) < 1e-12))
    True
    """
    if not callable(f):
        raise TypeError(
            f"agrad.checkpoint: the first argument must be the function to checkpoint, got "
            f"{type(f).__name__}; call it as checkpoint(f, *args, **kwargs)"
        )
    if not GRAD_ENABLED.get():  # nothing is recorded, so there is nothing to keep or recompute
        return f(*args, **kwargs)

    # the tensor arguments, by position or keyword, and the call with fresh leaves in their place
    slots, tensors = [], []
    for k, a in enumerate(args):
        if isinstance(a, Tensor):
            slots.append(k)
            tensors.append(a)
    for name, a in kwargs.items():
        if isinstance(a, Tensor):
            slots.append(name)
            tensors.append(a)
    kinds = tuple(
        (_GRAD if t.requires_grad else _NOGRAD) if t.dtype.is_floating else _CONST for t in tensors
    )
    fresh = [
        t if kind == _CONST else _fresh_leaf(t._data, t._bk, t._dev)
        for t, kind in zip(tensors, kinds)
    ]
    fresh_keys = {_key(t) for t, kind in zip(fresh, kinds) if kind != _CONST}
    res = _call_f(f, args, kwargs, slots, fresh)
    outs, multi = _outputs(res, "f")
    front, out_cls, sig, _ = _split(outs, fresh_keys, ())

    if _GRAD not in kinds and not front:  # nothing that requires grad reaches the outputs
        return tuple(y.detach() for y in outs) if multi else outs[0].detach()

    inputs = list(tensors) + [_as_input(p, meta) for p, meta in front]
    _check_device(outs, inputs[0])
    box = _Outputs(tuple(y._data for y in outs) if multi else outs[0]._data)
    ref = inputs[0]
    del res, outs, fresh  # drop the first run's graph (its intermediates) before recording
    return _checkpoint_op(
        *inputs,
        _fn=f,
        _callspec=(_without(args, slots), _without(kwargs, slots), slots),
        _kinds=kinds,
        _front=tuple(p for p, _ in front),
        _fmeta=tuple(meta for _, meta in front),
        _out_cls=out_cls,
        _sig=sig,
        _outs=box,
        _bk=ref._bk,
        _dev=ref._dev,
    )


class _Outputs:
    """Carries the first run's raw outputs to the op's forward, once."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _forward(xp, *arrays, _outs, **static):
    out, _outs.value = _outs.value, None
    return out


def _vjp(
    xp, g, out, *args, _fn, _callspec, _kinds, _front, _fmeta, _out_cls, _sig, _outs, _bk, _dev
):
    create = _is_tensor_list(g)
    gs = g if type(g) is list else [g]
    n = len(_kinds)
    explicit, front_args = args[:n], args[n:]
    from .ops.elementwise import positive

    with enable_grad():
        # stand-ins for the closed-over tensors, made before the recomputation so that they are
        # older than the nodes that will use them (the tape visits newest first)
        standins = [positive(a) if create else _fresh_leaf(a, _bk, _dev) for a in front_args]
        fresh, targets, slots_of_target, fresh_keys = [], [], [], set()
        for k, (a, kind) in enumerate(zip(explicit, _kinds)):
            if kind == _CONST:
                fresh.append(a if create else _wrap(a, _bk, _dev))
                continue
            if kind == _GRAD and create:  # stay connected to the outer graph: an identity op
                t = positive(a)
            else:
                t = _fresh_leaf(a._data if create else a, _bk, _dev)
            fresh.append(t)
            fresh_keys.add(_key(t))
            if kind == _GRAD:
                targets.append(t)
                slots_of_target.append(k)
        args0, kwargs0, slots = _callspec
        res = _call_f(_fn, args0, kwargs0, slots, fresh)
        outs, _ = _outputs(res, "f (recomputed)")
        stop = {_entry_node(p) for p in _front} - {None}
        stop |= {t._node for t in fresh if isinstance(t, Tensor) and t._node is not None}
        front, out_cls, sig, inside = _split(outs, fresh_keys, stop)
        _check_same(front, out_cls, sig, _fmeta, _out_cls, _sig, len(gs))

        # cut the new graph at the closed-over tensors: stand-ins receive their gradients
        subst = {_key(p): (s._node if create else s) for (p, _), s in zip(front, standins)}
        if subst:
            _substitute(inside, subst)

        roots, seeds = [], []
        direct = [None] * len(front)
        for y, cls, gk in zip(outs, out_cls, gs):
            if gk is None or cls is None:
                continue
            if cls == "root":
                roots.append(y)
                seeds.append(gk)
            else:
                direct[cls] = gk if direct[cls] is None else direct[cls] + gk
        want = targets + standins
        found = [None] * len(want)
        if roots and want:
            found = run_backward(
                roots, seeds, inputs=want, retain_graph=create, create_graph=create
            )
            if not create:
                found = [None if r is None else r._data for r in found]
    grads = [None] * n
    for k, r in zip(slots_of_target, found[: len(targets)]):
        grads[k] = r
    fgrads = []
    for r, d in zip(found[len(targets) :], direct):
        fgrads.append(d if r is None else (r if d is None else r + d))
    return tuple(grads) + tuple(fgrads)


_checkpoint_op = CustomVJP(_forward, name="checkpoint", saves="inputs", promotes=False)
_checkpoint_op.defvjp(_vjp)


# ---- helpers ---------------------------------------------------------------------------------
def _fresh_leaf(raw, bk, dev):
    t = _wrap(raw, bk, dev)
    t.requires_grad = True
    return t


def _without(args, slots):
    """``args`` (a tuple or dict) with the tensors at ``slots`` replaced by None: the node must
    not keep the argument Tensors alive (their arrays are saved, and freed, by the tape)."""
    if isinstance(args, dict):
        return {k: (None if k in slots else v) for k, v in args.items()}
    return tuple(None if k in slots else a for k, a in enumerate(args))


def _call_f(f, args, kwargs, slots, tensors):
    args = list(args)
    kwargs = dict(kwargs)
    for s, t in zip(slots, tensors):
        if type(s) is int:
            args[s] = t
        else:
            kwargs[s] = t
    return f(*args, **kwargs)


def _outputs(res, what):
    if isinstance(res, Tensor):
        return [res], False
    if isinstance(res, tuple) and res:
        for k, y in enumerate(res):
            if not isinstance(y, Tensor):
                raise TypeError(
                    f"agrad.checkpoint: {what} returned a tuple whose item {k} is a "
                    f"{type(y).__name__}; f must return a Tensor or a tuple of Tensors (return "
                    "other values from outside the checkpointed function)"
                )
        return list(res), True
    raise TypeError(
        f"agrad.checkpoint: {what} must return a Tensor or a non-empty tuple of Tensors, got "
        f"{type(res).__name__}"
    )


def _entry(t):
    """The parent entry a node records for tensor ``t`` (as ``agrad._op`` does)."""
    n = t._node
    if n is None:
        return t
    return n if n.nout == 1 else (n, getattr(t, "_idx", 0))


def _entry_node(p):
    if type(p) is Node:
        return p
    if type(p) is tuple:
        return p[0]
    return None


def _key(p):
    """A hashable identity for a parent entry or a tensor (Tensor ``==`` is elementwise)."""
    if isinstance(p, Tensor):
        p = _entry(p)
    if type(p) is tuple:
        return (id(p[0]), p[1])
    return (id(p), -1)


def _split(outs, fresh_keys, stop):
    """Walk the graph from ``outs``: the nodes that depend on the fresh arguments are inside
    ``f``; the others they consume are the frontier (closed-over tensors).

    Returns ``(frontier, out_cls, signature, inside)``: the frontier as
    ``[(entry, (shape, dtype))]`` in a deterministic order; for each output ``"root"``
    (back-propagate from it), a frontier index (it *is* a closed-over tensor) or None (no
    gradient); the inside ops' names; the inside nodes.
    """
    roots = []
    for y in outs:
        nd = y._node
        if nd is not None and _key(y) not in fresh_keys:
            roots.append(nd)
    inside = set()
    nodes = []
    front = {}
    names = []
    for nd in _postorder(roots, stop):
        if (id(nd), -1) in fresh_keys:
            continue
        for p in nd.parents:
            if p is not None and (_key(p) in fresh_keys or id(_entry_node(p)) in inside):
                break
        else:
            continue
        inside.add(id(nd))
        nodes.append(nd)
        names.append(nd.prim.name)
        for p, meta in zip(nd.parents, nd.meta):
            if p is None or _key(p) in fresh_keys or id(_entry_node(p)) in inside:
                continue
            front.setdefault(_key(p), (p, (tuple(meta[0]), meta[1])))
    out_cls = []
    for y in outs:
        k = _key(y)
        if k in fresh_keys or (y._node is not None and id(y._node) in inside):
            out_cls.append("root")
        elif not y.requires_grad:
            out_cls.append(None)
        else:
            front.setdefault(k, (_entry(y), (tuple(y._data.shape), y._data.dtype)))
            out_cls.append(list(front).index(k))
    return list(front.values()), tuple(out_cls), tuple(names), nodes


def _as_input(p, meta):
    """A Tensor standing for frontier entry ``p`` as an argument of the checkpoint op."""
    if isinstance(p, Tensor):
        return p
    node, idx = (p, 0) if type(p) is Node else p
    shape, dtype = meta
    xp = node.bk.xp  # the op's forward never reads it: a zero-strided view takes no memory
    raw = xp.broadcast_to(xp.zeros((), dtype=dtype, device=node.dev), shape)
    return _wrap(raw, node.bk, node.dev, node, idx)


def _check_device(outs, ref):
    for y in outs:
        if y._bk is not ref._bk or (ref._bk.multi_device and y._dev != ref._dev):
            raise ValueError(
                f"agrad.checkpoint: f returned a tensor on {y.backend} ({y.device}) but its "
                f"inputs are on {ref.backend} ({ref.device}); move the result back with "
                ".to_device(...) inside f"
            )


def _check_same(front, out_cls, sig, fmeta, out_cls0, sig0, nout):
    metas = tuple(meta for _, meta in front)
    if len(out_cls) != nout or out_cls != out_cls0 or sig != sig0 or metas != fmeta:
        raise RuntimeError(
            "agrad.checkpoint: recomputing f in the backward built a different graph than the "
            f"forward did ({len(sig0)} ops, then {len(sig)}; {len(fmeta)} closed-over tensors, "
            f"then {len(metas)}). f must compute the same function both times: draw random "
            "numbers outside f and pass them in, and do not branch on values that change"
        )


def _substitute(inside, subst):
    """Re-point the parents of the recomputation's own nodes from closed-over tensors to their
    stand-ins (nodes outside ``f`` are never touched)."""
    for nd in inside:
        ps = nd.parents
        new = tuple(p if p is None else subst.get(_key(p), p) for p in ps)
        if any(a is not b for a, b in zip(new, ps)):
            nd.parents = new

"""The tape: graph nodes, grad mode, and the iterative reverse walk.

A :class:`Node` is one recorded op: the primitive, the backend and device it ran on, its parents
(one entry per positional argument: the parent's Node, a ``(Node, output index)`` pair for ops
with several outputs, the leaf Tensor itself, or ``None`` when that argument needs no gradient),
the input shapes and dtypes (for the central un-broadcast and dtype check) and only the values
its VJP declared it needs. A node never refers to the Tensor it produced, so graphs have no
reference cycles and are freed by reference counting alone.

The walk is iterative (no recursion): a post-order DFS gives a topological order, cotangents
are accumulated per node and dropped as soon as the node's VJP has consumed them.

Hooks (``Tensor.register_hook``) on a non-leaf live on the Node that produced it and are
dropped with the node's saved values when a backward frees the graph, so a hook that refers to
its tensor never keeps a freed graph alive. Anomaly mode (``ag.detect_anomaly``) records on
each Node the line of user code that called the op (``trace``) and checks every gradient.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import itertools
import os
import sys
import weakref
from heapq import heappop, heappush

from ._backend import Backend

try:  # the compiled core's declarations (no-ops interpreted; see agrad/_cython.py)
    import cython
except ImportError:
    from . import _cython as cython

__all__ = [
    "Node",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "run_backward",
    "GRAD_ENABLED",
]

# _tensor imports this module, so this one cannot import it back at the top: _tensor sets these
# two when it loads (an import inside the backward's functions cost 1.5 µs per call).
Tensor = _wrap = None

GRAD_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "agrad_grad_enabled", default=True
)


def is_grad_enabled() -> bool:
    """Whether ops are being recorded for differentiation in this thread / task.

    Examples
    --------
    >>> import agrad as ag
    >>> with ag.no_grad():
    ...     ag.is_grad_enabled()
    False
    """
    return GRAD_ENABLED.get()


class _GradMode:
    """Context manager and decorator that sets grad mode; tokens make it re-entrant."""

    enabled = True

    def __init__(self):
        self._tokens = []

    def __enter__(self):
        self._tokens.append(GRAD_ENABLED.set(self.enabled))
        return self

    def __exit__(self, *exc):
        GRAD_ENABLED.reset(self._tokens.pop())
        return False

    def __call__(self, fn):
        mode = type(self)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with mode():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable recording: ops inside run on raw arrays and build no graph.

    Works as a context manager and as a decorator; per thread and per asyncio task.

    Examples
    --------
    >>> import agrad as ag
    >>> w = ag.asarray([1.0, 2.0], requires_grad=True)
    >>> with ag.no_grad():
    ...     y = w * 2.0
    >>> y.requires_grad
    False
    """

    enabled = False


class enable_grad(_GradMode):
    """Re-enable recording inside a :class:`no_grad` region (context manager or decorator).

    Examples
    --------
    >>> import agrad as ag
    >>> with ag.no_grad():
    ...     with ag.enable_grad():
    ...         ag.is_grad_enabled()
    True
    """

    enabled = True


class set_grad_enabled(_GradMode):
    """Set grad mode to ``mode`` (context manager or decorator)."""

    def __init__(self, mode: bool):
        super().__init__()
        self.enabled = bool(mode)


_next_seq = itertools.count(0, -1).__next__


class Node:
    """One recorded op. See the module docstring for what it holds and why.

    ``seq`` numbers nodes in creation order (decreasing). A node is always newer than its
    parents, which is what lets the backward visit nodes newest first with no pre-pass: code
    that builds or re-points nodes by hand (``ag.checkpoint``) must keep it so.
    """

    __slots__ = (
        "prim",
        "bk",
        "dev",
        "parents",
        "meta",
        "saved",
        "out",
        "static",
        "nout",
        "retained",
        "hooks",
        "trace",
        "seq",
        "__weakref__",
    )

    def __init__(self, prim, bk, dev, parents, meta, saved, out, static, nout=1):
        # (unary and binary ops build their nodes inline with the same fields: keep in step)
        self.prim = prim
        self.bk = bk
        self.dev = dev
        self.parents = parents
        self.meta = meta
        self.saved = saved
        self.out = out
        self.static = static
        self.nout = nout
        self.retained = None
        self.hooks = None  # set by register_hook() and retain_grad(): the backward checks it
        self.seq = _next_seq()  # decreasing: newer nodes sort first (the backward's heap)
        # ``trace`` (the user's line that called the op) is set only in anomaly mode

    def __repr__(self) -> str:
        return f"<Node {self.prim.name}>"


#: A blank Node, no ``__init__`` run (the op hot paths fill in its fields themselves)
_new_node = Node.__new__


_AGRAD = None


def _agrad():
    """agrad's own namespace, the ``xp`` VJPs run with when the backward is recorded."""
    global _AGRAD
    if _AGRAD is None:
        _AGRAD = importlib.import_module("agrad")
    return _AGRAD


# ---- where a node came from (anomaly mode) -------------------------------------------------
ANOMALY = [False]  # process-wide, like torch.autograd.set_detect_anomaly
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_site() -> str:
    """``file:line in function: code`` of the innermost caller outside the agrad package."""
    import linecache

    f = sys._getframe(0)  # (this function's own frame, skipped below; none when compiled)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PACKAGE_DIR):
        f = f.f_back
    if f is None:  # pragma: no cover - agrad called from agrad only
        return "<unknown>"
    code = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    site = f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}"
    return f"{site}: {code}" if code else site


def _site(node) -> str:
    """Where ``node``'s op was called, for error messages (or how to find out)."""
    trace = getattr(node, "trace", None)
    if trace is not None:
        return f" (op '{node.prim.name}' was called at {trace})"
    return (
        " (run the forward pass under `with ag.detect_anomaly():` to see the line that called "
        f"op '{node.prim.name}')"
    )


def _freed_error(node):
    return RuntimeError(
        f"agrad: trying to backward through the graph a second time: the values saved by op "
        f"'{node.prim.name}' were freed after the first backward. Pass retain_graph=True to the "
        "first backward() (or use ag.vjp, which keeps the graph for repeated calls)"
        f"{_site(node)}."
    )


def _is_complex(g, bk, create) -> bool:
    if type(g) is list:
        return any(c is not None and _is_complex(c, bk, create) for c in g)
    return (g._data.dtype if create else g.dtype) in bk.complex_dtypes


def _no_complex_error(node):
    return NotImplementedError(
        f"agrad: gradients of op '{node.prim.name}' with respect to complex values are not "
        "implemented; differentiate with respect to real and imaginary parts (ag.real, ag.imag) "
        f"or use real dtypes{_site(node)}"
    )


def _check_finite(node, in_grads, create):
    """Anomaly mode: the first gradient holding NaN or Inf is an error naming its op."""
    bk = node.bk
    for i, gi in enumerate(in_grads):
        if gi is None:
            continue
        raw = gi._data if create else gi
        if bk.floating(raw.dtype) and not bool(bk.xp.all(bk.xp.isfinite(raw))):
            raise RuntimeError(
                f"agrad.detect_anomaly: the gradient that op '{node.prim.name}' computed for its "
                f"argument {i} contains NaN or Inf{_site(node)}"
            )


# ---- hooks ---------------------------------------------------------------------------------
_HOOK_IDS = itertools.count()
#: set once any leaf tensor has had a hook registered: until then a backward skips looking for
#: leaf hooks (two failed attribute lookups per leaf, 0.1 µs each)
LEAF_HOOKS = [False]


class RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook.

    It refers to the tensor or node weakly, so keeping a handle keeps no graph alive.
    """

    __slots__ = ("_owner", "_slot", "_key")

    def __init__(self, owner, slot, key):
        self._owner, self._slot, self._key = weakref.ref(owner), slot, key

    def remove(self) -> None:
        owner = self._owner()
        if owner is None:
            return
        attr, idx = self._slot
        table = getattr(owner, attr, None)
        if table is not None and idx is not None:
            table = table.get(idx)
        if table is not None:
            table.pop(self._key, None)


def add_hook(owner, attr, idx, fn):
    """Register ``fn`` in ``owner.<attr>`` (a dict of hooks, or ``{idx: dict}`` for a node)."""
    table = getattr(owner, attr, None)
    if table is None:
        table = {}
        setattr(owner, attr, table)
    if idx is None:  # a leaf's hook (a node's hooks are kept per output index)
        LEAF_HOOKS[0] = True
    if idx is not None:
        table = table.setdefault(idx, {})
    key = next(_HOOK_IDS)
    table[key] = fn
    return RemovableHandle(owner, (attr, idx), key)


def _run_hooks(fns, g, bk, dev, create):
    """Apply tensor hooks to one gradient (raw, or a Tensor when ``create``); return it."""
    t = g if create else _wrap(_fixed(bk, g), bk, dev)
    for fn in list(fns.values()):
        r = fn(t)
        if r is None:
            continue
        if (
            not isinstance(r, Tensor)
            or tuple(r.shape) != tuple(t.shape)
            or r.dtype != t.dtype
            or r._bk is not bk
            or str(r._dev) != str(dev)
        ):
            got = (
                f"{r.backend} {r.dtype} of shape {r.shape} on {r.device}"
                if isinstance(r, Tensor)
                else type(r).__name__
            )
            raise TypeError(
                f"agrad: hook {getattr(fn, '__qualname__', fn)!r} returned {got} for a gradient "
                f"that is {t.backend} {t.dtype} of shape {t.shape} on {t.device}; a hook must "
                "return None or a Tensor of the same shape, dtype, backend and device"
            )
        t = r
    return t if create else t._data


def _node_hooks(node, g, create):
    """Run the hooks registered on the tensors ``node`` produced; returns the new cotangent."""
    if node.nout == 1:
        fns = node.hooks.get(0)
        return _run_hooks(fns, g, node.bk, node.dev, create) if fns else g
    g = list(g)
    for idx, fns in node.hooks.items():
        if fns and g[idx] is not None:
            g[idx] = _run_hooks(fns, g[idx], node.bk, node.dev, create)
    return g


def _fit(xp, node, meta, g, create, in_grads=None):
    """Undo broadcasting of an input's cotangent and check its shape and dtype (``meta`` is
    that input's ``(shape, dtype)``, ``in_grads`` all the VJP's cotangents)."""
    # which input, for the messages (meta tuples are shared between nodes and inputs)
    i = next(
        (
            k
            for k, m in enumerate(node.meta)
            if m is meta and (in_grads is None or in_grads[k] is g)
        ),
        0,
    )
    shape, dtype = tuple(meta[0]), meta[1]
    gshape = tuple(g.shape)
    if gshape != shape:
        g = _unbroadcast(xp, node, i, g, gshape, shape)
    gdt = g._data.dtype if create else g.dtype
    if gdt != dtype:
        from ._dtypes import canonical

        want, got = canonical(dtype), canonical(gdt)
        if want.kind == "complex floating" and node.prim.complex_grad is None:
            raise _no_complex_error(node)
        if want.kind == "real floating" and got is not None and got.kind == "complex floating":
            # a real input promoted to complex (x * 1j, x + z): its gradient is the real part
            # of the complex one (PyTorch's rule for real-to-complex)
            g = xp.real(g)
            got = canonical(g._data.dtype if create else g.dtype)
            if got == want:
                return g
        if (
            got is None
            or not got.is_floating
            or (want.kind == "real floating" and got.kind == "complex floating")
        ):
            raise TypeError(
                f"agrad: the VJP of op '{node.prim.name}' returned a {got} gradient for argument "
                f"{i}, which is {want}; a gradient must be a floating dtype of the input's kind "
                f"(this is a bug in that op's VJP){_site(node)}"
            )
        g = xp.astype(g, dtype)
    return g


def _unbroadcast(xp, node, i, g, gshape, shape):
    lead = len(gshape) - len(shape)
    ok = lead >= 0
    axes = list(range(lead)) if ok else []
    if ok:
        for k, s in enumerate(shape):
            gs = gshape[lead + k]
            if s == 1 and gs != 1:
                axes.append(lead + k)
            elif s != gs:
                ok = False
                break
    if not ok:
        raise ValueError(
            f"agrad: the VJP of op '{node.prim.name}' returned a gradient of shape {gshape} for "
            f"argument {i} of shape {shape}; it cannot be un-broadcast to that shape (this is a "
            f"bug in that op's VJP){_site(node)}"
        )
    if axes:
        g = xp.sum(g, axis=tuple(axes), keepdims=True)
    if lead or axes:
        g = xp.reshape(g, shape)
    return g


def _parent_node(p):
    t = type(p)
    if t is Node:
        return p
    if t is tuple:
        return p[0]
    return None


def _postorder(root_nodes, stop):
    """Iterative post-order DFS over Nodes (parents before children); ``stop`` nodes are not
    expanded."""
    order = []
    seen = set()
    empty = ()
    for r in root_nodes:
        if r in seen:
            continue
        seen.add(r)
        stack = [(r, iter(empty if r in stop else r.parents))]
        while stack:
            n, it = stack[-1]
            for p in it:
                pn = _parent_node(p)
                if pn is not None and pn not in seen:
                    seen.add(pn)
                    stack.append((pn, iter(empty if pn in stop else pn.parents)))
                    break
            else:
                stack.pop()
                order.append(n)
    return order


def _add_into(store, key, idx, nout, g):
    """Accumulate cotangent ``g`` for output ``idx`` of ``key`` into ``store``."""
    if nout == 1:
        prev = store.get(key)
        store[key] = g if prev is None else prev + g
    else:
        slot = store.get(key)
        if slot is None:
            slot = store[key] = [None] * nout
        slot[idx] = g if slot[idx] is None else slot[idx] + g


def run_backward(roots, seeds, *, inputs=None, retain_graph=False, create_graph=False):
    """Reverse-mode sweep from ``roots`` with cotangents ``seeds``.

    With ``inputs=None``, gradients accumulate into the ``.grad`` of every leaf that requires
    grad (``Tensor.backward``). With a list of tensors, nothing is accumulated: the gradient
    with respect to each input is returned (``None`` where no path leads to it), and only the
    part of the graph between the roots and those inputs is visited.

    ``seeds`` are raw arrays, or Tensors when ``create_graph`` is set (the backward is then
    itself recorded, VJPs running on agrad's own namespace).
    """
    if create_graph and not GRAD_ENABLED.get():
        # a recorded backward records all of it (accumulation and un-broadcasting too), even
        # when called under no_grad()
        with enable_grad():
            return run_backward(
                roots, seeds, inputs=inputs, retain_graph=retain_graph, create_graph=True
            )
    if inputs is None:
        _accumulate(roots, seeds, retain_graph, create_graph)
        return None
    return _gradients(roots, seeds, inputs, retain_graph, create_graph)


@cython.locals(node=Node, nxt=Node, bk=Backend)
def _accumulate(roots, seeds, retain_graph, create_graph):
    """``Tensor.backward``: every leaf that requires grad gets its gradient added to ``.grad``.

    Nodes are visited newest first (a heap keyed by the creation number ``seq``): a node is
    always newer than its parents, so when it is popped every node that feeds it a cotangent
    has run, and no pre-pass over the graph is needed. When a node's cotangents go to a single
    new node and nothing else is pending, that node is complete and runs next without the
    heap (every link of a chain). The loop is the hot path of every backward; anything unusual
    (hooks, complex values, CuPy, anomaly mode, a recorded backward, errors) goes through
    :func:`_run_vjp`.
    """
    grads = {}  # Node -> cotangent (or a list of cotangents for several outputs)
    leaf_acc = {}  # leaf Tensor -> cotangent
    heap = []
    for r, s in zip(roots, seeds):
        n = r._node
        if n is None:
            if r.requires_grad:
                _add_into(leaf_acc, r, 0, 1, s)
            continue
        if n not in grads:
            heappush(heap, (n.seq, n))
        _add_into(grads, n, getattr(r, "_idx", 0) if n.nout != 1 else 0, n.nout, s)

    slow = create_graph or ANOMALY[0]
    xp_rec = _agrad() if create_graph else None
    pop = grads.pop
    get = grads.get
    nxt = None  # the next node when it is the only one pending (a chain): no heap round trip
    while True:
        if nxt is not None:
            node = nxt
            nxt = None
        elif heap:
            node = heappop(heap)[1]
        else:
            break
        g = pop(node)
        if node.hooks is not None:  # hooks or retain_grad() on tensors this node produced
            g = _node_extras(node, g, create_graph)
        prim = node.prim
        bk = node.bk
        if (
            slow
            or type(g) is list
            or bk.ctx is not None
            or (prim.complex_grad != "direct" and g.dtype in bk.complex_dtypes)
        ):
            xp = xp_rec or bk.xp
            in_grads = _run_vjp(node, g, xp, create_graph, retain_graph)
        else:
            xp = bk.xp
            try:
                if prim.selective:
                    ps = node.parents  # _needs(node), inlined for the two-argument ops
                    needs = (ps[0] is not None, ps[1] is not None) if len(ps) == 2 else _needs(node)
                    if node.static:
                        in_grads = prim.vjp(
                            xp, g, node.out, *node.saved, needs=needs, **node.static
                        )
                    else:
                        in_grads = prim.vjp(xp, g, node.out, *node.saved, needs)
                elif node.static:
                    in_grads = prim.vjp(xp, g, node.out, *node.saved, **node.static)
                else:  # (a call without an empty **{} is measurably cheaper)
                    in_grads = prim.vjp(xp, g, node.out, *node.saved)
            except TypeError:
                if node.saved is not None and prim.vjp is not None:
                    raise
                in_grads = _run_vjp(node, g, xp, create_graph, retain_graph)  # the clear error
            if not retain_graph:
                node.saved = node.out = node.hooks = None
            # one cotangent to deliver (a one-input op, or a two-input op with a constant
            # argument: x + c, x * w, X @ W for a data batch X): no zip, no loop
            ref = None  # the VJP's cotangents, naming the argument in _fit's messages
            if type(in_grads) is tuple:
                if len(in_grads) == 2:
                    ps = node.parents
                    if ps[1] is None:
                        p, gi, m, ref = ps[0], in_grads[0], node.meta[0], in_grads
                    elif ps[0] is None:
                        p, gi, m, ref = ps[1], in_grads[1], node.meta[1], in_grads
            elif type(in_grads) is not list:
                p, gi, m = node.parents[0], in_grads, node.meta[0]
            else:
                in_grads = tuple(in_grads)
            if ref is not None or type(in_grads) is not tuple:
                if p is None or gi is None:
                    continue
                if gi.shape != m[0] or gi.dtype is not m[1]:
                    gi = _fit(xp, node, m, gi, False, ref)
                if type(p) is Node:
                    prev = get(p)
                    if prev is None:
                        grads[p] = gi
                        if heap:
                            heappush(heap, (p.seq, p))
                        else:  # nothing else pending: p's cotangent is complete
                            nxt = p
                    else:
                        grads[p] = prev + gi
                else:
                    _deliver(p, gi, grads, heap, leaf_acc)
                continue
        del g
        for p, gi, m in zip(node.parents, in_grads, node.meta):
            if p is None or gi is None:
                continue
            if create_graph or gi.shape != m[0] or gi.dtype is not m[1]:
                gi = _fit(xp, node, m, gi, create_graph, in_grads)
            if type(p) is Node:
                prev = get(p)
                if prev is None:
                    grads[p] = gi
                    if heap or nxt is not None:
                        heappush(heap, (p.seq, p))
                    else:
                        nxt = p
                else:
                    grads[p] = prev + gi
            else:
                _deliver(p, gi, grads, heap, leaf_acc)
        if nxt is not None and heap:  # another node became pending too: the heap decides
            heappush(heap, (nxt.seq, nxt))
            nxt = None

    hooked = LEAF_HOOKS[0]
    for leaf, g in leaf_acc.items():
        if hooked:
            hooks = getattr(leaf, "_hooks", None)
            if hooks:
                g = _run_hooks(hooks, g, leaf._bk, leaf._dev, create_graph)
        if not create_graph:
            bk = leaf._bk
            if bk.leaf_grad is not None:
                g = bk.leaf_grad(g, leaf._data)
            g = _wrap(g, bk, leaf._dev)
        prev = leaf.grad
        leaf._grad = g if prev is None else prev + g  # (a Tensor: the setter's check is moot)
        if hooked:
            post = getattr(leaf, "_post_hooks", None)
            if post:
                for fn in list(post.values()):
                    fn(leaf)


def _deliver(p, gi, grads, heap, leaf_acc):
    """:func:`_accumulate`'s rarer deliveries: to one output of a multi-output node, or to a
    leaf (the common one, to a single-output node, is inlined in the loop)."""
    if type(p) is tuple:
        pn = p[0]
        if pn not in grads:
            heappush(heap, (pn.seq, pn))
        _add_into(grads, pn, p[1], pn.nout, gi)
    else:
        prev = leaf_acc.get(p)
        leaf_acc[p] = gi if prev is None else prev + gi


def _run_vjp(node, g, xp, create_graph, retain_graph):
    """Run ``node``'s VJP on cotangent ``g`` in full generality: errors for freed graphs and
    missing VJPs, complex values, CuPy's device context, a recorded backward, anomaly checks;
    frees the node's saved values unless ``retain_graph``. Returns a tuple of cotangents."""
    saved = node.saved
    if saved is None:
        raise _freed_error(node)
    prim = node.prim
    if prim.vjp is None:
        raise NotImplementedError(
            f"agrad: op '{prim.name}' has no VJP; it cannot be differentiated{_site(node)}"
        )
    bk = node.bk
    conj = False  # PyTorch's convention for complex values: g * conj(f'(z))
    if prim.complex_grad != "direct" and _is_complex(g, bk, create_graph):
        if prim.complex_grad is None:
            raise _no_complex_error(node)
        conj = True  # a holomorphic op's VJP, conjugated around: conj(vjp(conj(g)))
        g = [None if c is None else xp.conj(c) for c in g] if type(g) is list else xp.conj(g)
    static = node.static
    if prim.selective:
        static = {**static, "needs": _needs(node)}
    if create_graph:
        args, out = _as_tensors(node, Tensor, _wrap)
        with enable_grad():
            in_grads = prim.vjp(xp, g, out, *args, **static)
    elif bk.ctx is None:
        in_grads = prim.vjp(xp, g, node.out, *saved, **static)
    else:  # pragma: no cover - CuPy: allocate on the node's device
        with bk.ctx(node.dev):
            in_grads = prim.vjp(xp, g, node.out, *saved, **static)
    if type(in_grads) is not tuple:
        in_grads = tuple(in_grads) if type(in_grads) is list else (in_grads,)
    if conj:
        in_grads = tuple(None if gi is None else xp.conj(gi) for gi in in_grads)
    if ANOMALY[0]:
        _check_finite(node, in_grads, create_graph)
    if not retain_graph:
        node.saved = node.out = None
        node.hooks = None  # hooks may refer to their tensor: no cycle outlives the graph
    return in_grads


def _needs(node):
    """Which positional arguments of ``node`` want a gradient (a selective VJP's ``needs``)."""
    ps = node.parents
    if len(ps) == 2:  # the common case (multiply, divide, matmul), without a loop
        return (ps[0] is not None, ps[1] is not None)
    return tuple([p is not None for p in ps])


def _node_extras(node, g, create_graph):
    """Hooks, then ``retain_grad()``, for the tensors ``node`` produced (PyTorch's order: the
    retained ``.grad`` is the gradient after the hooks)."""
    if node.hooks:
        g = _node_hooks(node, g, create_graph)
    if node.retained is not None:
        _retain(node, g, create_graph)
    return g


def _gradients(roots, seeds, inputs, retain_graph, create_graph):
    """``ag.grad``-style backward: the gradients with respect to ``inputs``, nothing written
    to ``.grad``; only the part of the graph between the roots and the inputs is visited."""
    stop = set()
    leaf_targets = {}
    node_targets = {}
    for k, t in enumerate(inputs):
        if t._node is None:
            leaf_targets.setdefault(t, []).append(k)
        else:
            stop.add(t._node)
            node_targets.setdefault((t._node, getattr(t, "_idx", 0)), []).append(k)

    grads = {}  # Node -> cotangent (or list of cotangents for several outputs)
    leaf_acc = {}  # leaf Tensor -> cotangent
    root_nodes = []
    for r, s in zip(roots, seeds):
        if r._node is None:
            if r in leaf_targets:
                _add_into(leaf_acc, r, 0, 1, s)
            continue
        _add_into(grads, r._node, getattr(r, "_idx", 0), r._node.nout, s)
        root_nodes.append(r._node)

    # Visit only what lies between the roots and the inputs. A node is "useful" when its
    # cotangent is wanted (it produced an input, or it leads to one); its VJP runs only if it
    # leads to one ("expand"). Inputs may be ancestors of each other.
    order = _postorder(root_nodes, ())
    useful, expand = set(), set()
    for n in order:  # parents come first
        for p in n.parents:
            if p is None:
                continue
            pn = _parent_node(p)
            if (pn is not None and pn in useful) or (pn is None and p in leaf_targets):
                useful.add(n)
                expand.add(n)
                break
        if n in stop:
            useful.add(n)

    results = [None] * len(inputs)
    xp_rec = _agrad() if create_graph else None

    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None or node not in useful:
            continue
        if node.hooks is not None:
            g = _node_extras(node, g, create_graph)
        if node in stop:
            for (tn, idx), ks in node_targets.items():
                if tn is node:
                    gi = g if node.nout == 1 else g[idx]
                    for k in ks:
                        results[k] = gi
            if node not in expand:
                continue
        xp = xp_rec or node.bk.xp
        in_grads = _run_vjp(node, g, xp, create_graph, retain_graph)
        del g
        for p, gi, m in zip(node.parents, in_grads, node.meta):
            if p is None or gi is None:
                continue
            if create_graph or gi.shape != m[0] or gi.dtype is not m[1]:
                gi = _fit(xp, node, m, gi, create_graph, in_grads)
            t = type(p)
            if t is Node:
                prev = grads.get(p)
                grads[p] = gi if prev is None else prev + gi
            elif t is tuple:
                _add_into(grads, p[0], p[1], p[0].nout, gi)
            elif p in leaf_targets:
                prev = leaf_acc.get(p)
                leaf_acc[p] = gi if prev is None else prev + gi

    for leaf, ks in leaf_targets.items():
        g = leaf_acc.get(leaf)
        hooks = getattr(leaf, "_hooks", None) if LEAF_HOOKS[0] else None
        if g is not None and hooks:
            g = _run_hooks(hooks, g, leaf._bk, leaf._dev, create_graph)
        for k in ks:
            results[k] = g
    if create_graph:
        return results
    return [
        None if g is None else _wrap(_fixed(t._bk, g), t._bk, t._dev)
        for t, g in zip(inputs, results)
    ]


def _fixed(bk, raw):
    return raw if bk.fix is None else bk.fix(raw)


def _retain(node, g, create_graph):
    """Set ``.grad`` on the tensors that asked for it (``retained``: output index -> weakref)."""
    for idx, ref in node.retained.items():
        t = ref()
        gi = g if node.nout == 1 else g[idx]
        if t is None or gi is None:
            continue
        if not create_graph:
            gi = _wrap(_fixed(t._bk, gi), t._bk, t._dev)
        t.grad = gi if t.grad is None else t.grad + gi


def _as_tensors(node, Tensor, wrap):
    """The node's saved values as Tensors connected to the graph (for a recorded backward)."""
    bk, dev = node.bk, node.dev
    args = []
    for p, a in zip(node.parents, node.saved):
        if a is None or not _is_array(a):
            args.append(a)
        elif p is None:
            args.append(wrap(a, bk, dev))
        elif type(p) is Node:
            args.append(wrap(a, bk, dev, p, 0))
        elif type(p) is tuple:
            args.append(wrap(a, bk, dev, p[0], p[1]))
        else:  # the leaf itself
            args.append(p if p._data is a else wrap(a, bk, dev))
    out = node.out
    if out is not None:
        if node.nout == 1:
            out = wrap(out, bk, dev, node, 0)
        else:
            out = tuple(wrap(o, bk, dev, node, k) for k, o in enumerate(out))
    return args, out


def _is_array(a):
    return not isinstance(a, (bool, int, float, complex, str, tuple, list, type(None)))

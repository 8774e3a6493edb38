"""``@primitive`` and ``.defvjp``: the only place that unwraps Tensors and records Nodes.

A primitive is a forward ``forward(xp, *arrays, **static)`` and a VJP
``vjp(xp, g, out, *arrays, **static)`` written against an Array API namespace ``xp``. Calling
it unwraps its Tensor arguments, checks that they share one backend and device, checks Python
scalars against the standard's promotion rules, runs the forward on the backend, and records a
:class:`~agrad._tape.Node` only when grad mode is on and an input requires grad.

Examples
--------
>>> from agrad._op import primitive
>>> @primitive
... def cube(xp, x):
...     return x * x * x
>>> @cube.defvjp
... def _(xp, g, out, x):  # d(x^3)/dx = 3x^2
...     return g * 3 * x * x
"""

from __future__ import annotations

try:  # the compiled core's declarations (no-ops interpreted; see agrad/_cython.py)
    import cython
except ImportError:
    from . import _cython as cython

from . import _tensor as _tensor_module
from ._backend import Backend
from ._info import _check_int_range, _scalar_ok
from ._tape import GRAD_ENABLED, Node, _new_node, _next_seq
from ._tensor import Tensor, _dev_str, _new, _TensorBase, _wrap, ops

__all__ = ["Primitive", "primitive", "REGISTRY", "zero_vjp"]

#: Whether this module runs compiled (the ``AGRAD_COMPILE=1`` build; ``agrad.COMPILED``).
COMPILED = bool(cython.compiled)

#: Every primitive by name (the registry-completeness test walks it).
REGISTRY: dict[str, Primitive] = {}

_SAVES = ("inputs", "out", "all", "none", "out+constants")
#: a Tensor subclass the fast paths accept besides Tensor (ag.nn.Parameter registers itself)
_TENSOR_SUBCLASS = [Tensor]

# A node's ``meta`` (each input's shape and dtype) is shared between nodes, through tables on
# its Backend: a training loop meets the same few shapes over and over, and one tuple per node
# would be a long-lived object the garbage collector walks on every full collection (on a
# 100,000-op graph that walk took a third of the time). Values are their own keys; a table is
# emptied when it grows large (shapes that vary without end), which only costs the sharing.
_META_MAX = 4096


def _intern2(table, key):
    """The two-input meta for ``key = (shape_a or None, shape_b or None, dtype)`` (None for an
    input that needs no gradient), kept as the shared copy under ``key``."""
    if len(table) >= _META_MAX:
        table.clear()
    sa, sb, dt = key
    m2 = table[key] = (None if sa is None else (sa, dt), None if sb is None else (sb, dt))
    return m2


def _intern1(table, m):
    """The one-input meta ``(m,)`` for ``m = (shape, dtype)``, kept as the shared copy."""
    if len(table) >= _META_MAX:
        table.clear()
    m1 = table[m] = (m,)
    return m1


_SCALARS = (bool, int, float, complex)


class _PrimitiveBase:
    """A Primitive's fields, apart from its methods (as ``_tensor._TensorBase`` for Tensor: the
    compiled core's extension type, ``_op.pxd``; ``Primitive`` stays a Python class, whose
    ``__call__`` anomaly mode swaps)."""

    __slots__ = (
        "complex_grad",
        "promotes",
        "promote_from",
        "name",
        "forward",
        "vjp",
        "saves",
        "differentiable",
        "_save_in",
        "_save_out",
        "_save_const",
        "selective",
        "direct",
    )


class Primitive(_PrimitiveBase):
    """A differentiable (or declared non-differentiable) operation. See the module docstring.

    Parameters
    ----------
    forward : callable
        ``forward(xp, *arrays, **static)``; returns a raw array, or a tuple for several outputs.
    saves : {"inputs", "out", "all", "none", "out+constants"}
        What the VJP needs kept alive until backward: unsaved values reach it as ``None``.
        ``"out+constants"``: the output, and the inputs that need no gradient (class labels,
        masks), not the ones differentiated (cross-entropy keeps its softmax and its targets,
        not the logits).
    differentiable : bool
        False for ops whose outputs are integers or booleans: they never record a node.
    complex_grad : {None, "holomorphic", "direct"}
        How the VJP treats complex values (PyTorch's convention, ``g * conj(f'(z))``):
        ``"holomorphic"`` VJPs are written as for real inputs and the tape conjugates around
        them; ``"direct"`` VJPs are right for complex values as written (linear maps, abs,
        real/imag/conj); ``None``: complex gradients raise NotImplementedError naming the op.
    promotes, promote_from : bool, int
        Tensor arguments from position ``promote_from`` on must be of one kind (bool, integer,
        floating), as the standard's type promotion requires; ``promotes=False`` for ops whose
        array arguments play different roles (indices, counts).
    selective : bool
        The VJP takes ``needs``: one bool per positional argument, False where no gradient is
        wanted (a constant operand), so it can skip that work (``g @ W.T`` for the data batch of
        a first layer). PyTorch's ``ctx.needs_input_grad``. It is the parameter after the arrays
        (``vjp(xp, g, out, x1, x2, needs)``): a plain backward passes it by position when the
        op has no static arguments, by keyword otherwise (so a VJP of ``*arrays`` and static
        arguments declares it keyword-only, after them).
    """

    __slots__ = ("__wrapped__", "__dict__")  # (the fields are _PrimitiveBase's)

    def __init__(
        self,
        forward,
        *,
        name=None,
        saves="inputs",
        differentiable=True,
        promote_from=0,
        promotes=True,
        complex_grad=None,
        register=True,
        selective=False,
    ):
        if saves not in _SAVES:
            raise ValueError(f"saves must be one of {_SAVES}, got {saves!r}")
        self.name = name or forward.__name__.lstrip("_")  # _sum (behind ag.sum) is "sum"
        self.forward = forward
        self.vjp = None
        self.saves = saves
        self._save_in = saves in ("inputs", "all")
        self._save_out = saves in ("out", "all", "out+constants")
        self._save_const = saves == "out+constants"
        self.differentiable = differentiable
        self.selective = selective
        self.direct = _direct_name(forward)
        if complex_grad not in (None, "holomorphic", "direct"):
            raise ValueError(
                f"complex_grad must be None, 'holomorphic' or 'direct', not {complex_grad!r}"
            )
        self.complex_grad = complex_grad
        self.promotes = promotes  # tensor arguments must share a kind (the standard's promotion)
        self.promote_from = promote_from  # where(condition, x1, x2) promotes x1 and x2 only
        self.__doc__ = forward.__doc__
        self.__name__ = self.__qualname__ = self.name  # (what tools that name functions read)
        self.__module__ = forward.__module__
        self.__wrapped__ = forward
        if not register:  # user functions (ag.custom_vjp) stay out of the registry and ops
            return
        REGISTRY[self.name] = self
        setattr(ops, self.name, self)

    def defvjp(self, vjp):
        """Register ``vjp(xp, g, out, *arrays, **static)``; returns it (use as a decorator)."""
        if not self.differentiable:
            raise TypeError(f"op '{self.name}' is declared non-differentiable; it takes no VJP")
        self.vjp = vjp
        return vjp

    def __repr__(self) -> str:
        return f"<agrad primitive {self.name}>"

    @property
    def __signature__(self):
        """The signature a caller sees (``help``, ``inspect.signature``): the forward's without
        ``xp``, its arrays positional-only (``exp(x, /)``, as the standard writes them)."""
        import inspect

        params = list(inspect.signature(self.forward).parameters.values())
        if params and params[0].name == "xp":
            params = params[1:]
        pos = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return inspect.Signature(
            [
                p.replace(kind=inspect.Parameter.POSITIONAL_ONLY) if p.kind in pos else p
                for p in params
            ]
        )

    def _finish(self, args, raws, static, out, bk, dev, rg):
        """Wrap the forward's result(s); record a node when gradients are wanted."""
        fix = bk.fix
        if isinstance(out, tuple):  # several outputs (namedtuples too: eigh, qr, svd ...)
            out = tuple(out)
            if fix is not None:
                out = tuple(map(fix, out))
            if rg and self.differentiable and GRAD_ENABLED.get():
                return _record(self, args, raws, static, out, bk, dev, True)
            return tuple(_wrap(o, bk, dev) for o in out)
        if fix is not None and type(out) is not bk.array_type:
            out = fix(out)
        if rg and self.differentiable and GRAD_ENABLED.get():
            return _record(self, args, raws, static, out, bk, dev, False)
        return _wrap(out, bk, dev)


# ---- the hot paths ---------------------------------------------------------------------------
# Kept flat and free of per-call lookups (see design.md, section 6). Tensor's operators call
# _call directly (through a name _tensor holds; anomaly mode reroutes it).
_NONE = object()  # an argument not given


@cython.locals(
    t=_TensorBase,
    node=Node,
    xt=_TensorBase,
    at=_TensorBase,
    bt=_TensorBase,
    bk=Backend,
    pr=_PrimitiveBase,
)
def _call(prim, x=_NONE, y=_NONE, /, *more, **static):
    """``prim(*args, **static)``: ``Primitive.__call__`` itself, and what Tensor's operators
    call directly (a function call: 0.1 µs less than one through an instance). One Tensor, or
    two (or a real Tensor and a float/int), skip the argument loop and its checks."""
    pr = prim  # (typed in the compiled core, as xt below)
    try:
        if y is _NONE:  # one argument
            if x is _NONE:
                return _call_any(prim, (), static)
            tx = type(x)
            if (tx is Tensor or tx is _TENSOR_SUBCLASS[0]) and x._bk.ctx is None:
                xt = x  # (typed in the compiled core: fields read as struct members)
                bk = xt._bk
                raw = xt._data
                if static:
                    out = pr.forward(bk.xp, raw, **static)
                elif pr.direct is not None:  # forward is `return xp.<direct>(x)`: skip a frame
                    out = getattr(bk.xp, pr.direct)(raw)
                else:
                    out = pr.forward(bk.xp, raw)
                if not isinstance(out, tuple):
                    if bk.fix is not None and type(out) is not bk.array_type:
                        out = bk.fix(out)
                    t = _new(Tensor)
                    t._data = out
                    t._bk = bk
                    t._dev = dev = xt._dev
                    if xt.requires_grad and pr.differentiable and GRAD_ENABLED.get():
                        # _record for one argument, inlined: this is every unary op's path
                        dt = raw.dtype
                        if out.dtype is dt or (bk.floating(out.dtype) and _recordable(pr, bk, dt)):
                            n = xt._node
                            if n is not None and n.nout != 1:
                                n = (n, getattr(x, "_idx", 0))
                            node = _new_node(Node)
                            node.prim = prim
                            node.bk = bk
                            node.dev = dev
                            node.parents = (x if n is None else n,)
                            m = (raw.shape, dt)
                            node.meta = bk.meta1.get(m) or _intern1(bk.meta1, m)
                            node.saved = (raw,) if pr._save_in else (None,)
                            node.out = out if pr._save_out else None
                            node.static = static
                            node.nout = 1
                            node.retained = node.hooks = None  # as Node.__init__ does
                            node.seq = _next_seq()
                            t._node = node
                            t.requires_grad = True
                            return t
                    t._node = None
                    t.requires_grad = False
                    return t
                return prim._finish((x,), [raw], static, out, bk, xt._dev, xt.requires_grad)
            return _call_any(prim, (x,), static)
        if not more:  # two arguments
            a, b = x, y
            ta, tb = type(a), type(b)
            sub = _TENSOR_SUBCLASS[0]
            ga = gb = False  # which arguments are tensors that require grad
            if ta is Tensor or ta is sub:
                at = a  # (typed in the compiled core, as xt above)
                bk, dev = at._bk, at._dev
                ga = at.requires_grad
                if tb is Tensor or tb is sub:
                    bt = b
                    fast = (
                        bt._bk is bk
                        and (not bk.multi_device or bt._dev == dev)
                        and bt._data.dtype is at._data.dtype
                    )
                    gb = bt.requires_grad
                    rb = bt._data
                    ns = bk.xp2  # two arrays of one dtype: no promotion to fix
                else:
                    fast = (tb is float or tb is int) and at._data.dtype in bk.real_dtypes
                    rb = b
                    ns = bk.xp
                ra = at._data
            elif (tb is Tensor or tb is sub) and (ta is float or ta is int):
                bt = b
                bk, dev = bt._bk, bt._dev
                rb = bt._data
                fast = rb.dtype in bk.real_dtypes
                gb = bt.requires_grad
                ra = a
                ns = bk.xp
            else:
                fast = False
            if fast and bk.ctx is None:
                if static:
                    out = pr.forward(bk.xp, ra, rb, **static)
                elif pr.direct is not None:
                    out = getattr(ns, pr.direct)(ra, rb)
                else:
                    out = pr.forward(bk.xp, ra, rb)
                if isinstance(out, tuple):
                    return prim._finish((a, b), [ra, rb], static, out, bk, dev, ga or gb)
                if bk.fix is not None and type(out) is not bk.array_type:
                    out = bk.fix(out)
                t = _new(Tensor)
                t._data = out
                t._bk = bk
                t._dev = dev
                if (ga or gb) and pr.differentiable and GRAD_ENABLED.get():
                    # _record for two arguments, inlined: every binary op comes here
                    if ga:
                        n = at._node
                        if n is not None and n.nout != 1:
                            n = (n, getattr(a, "_idx", 0))
                        pa = a if n is None else n
                    else:
                        pa = None
                    if gb:
                        n = bt._node
                        if n is not None and n.nout != 1:
                            n = (n, getattr(b, "_idx", 0))
                        pb = b if n is None else n
                    else:
                        pb = None
                    dt = ra.dtype if ga else rb.dtype  # (two arrays here share a dtype)
                    odt = out.dtype
                    if odt is dt or (bk.floating(odt) and _recordable(pr, bk, dt)):
                        node = _new_node(Node)
                        node.prim = prim
                        node.bk = bk
                        node.dev = dev
                        node.parents = (pa, pb)
                        m = (ra.shape if ga else None, rb.shape if gb else None, dt)
                        node.meta = bk.meta.get(m) or _intern2(bk.meta, m)
                        if pr._save_in:
                            node.saved = (ra, rb)
                        elif pr._save_const:
                            node.saved = (None if ga else ra, None if gb else rb)
                        else:  # Python scalars are always kept: VJPs may need them
                            node.saved = (
                                None if ta is not float and ta is not int else a,
                                None if tb is not float and tb is not int else b,
                            )
                        node.out = out if pr._save_out else None
                        node.static = static
                        node.nout = 1
                        node.retained = node.hooks = None  # as Node.__init__ does
                        node.seq = _next_seq()
                        t._node = node
                        t.requires_grad = True
                        return t
                t._node = None
                t.requires_grad = False
                return t
            return _call_any(prim, (a, b), static)
        return _call_any(prim, (x, y, *more), static)
    except (ValueError, TypeError) as e:  # free unless raised (Python 3.11's try)
        _name_the_call_site(e)
        raise


def _call_any(prim, args, static):
    """``prim(*args, **static)`` in full generality: Python scalars of any kind, raw arrays,
    mixed dtypes, CuPy's device context."""
    try:
        raws = []
        ref = None
        rg = False
        scalars = False
        loose = False
        mixed = False
        for a in args:
            if isinstance(a, Tensor):
                if ref is None:
                    ref = a
                elif a._bk is not ref._bk or (ref._bk.multi_device and a._dev != ref._dev):
                    return _call_any(prim, _align(prim.name, args), static)
                elif a._data.dtype is not ref._data.dtype:
                    mixed = True
                if a.requires_grad:
                    rg = True
                raws.append(a._data)
            else:
                t = type(a)
                if t is float or t is int or t is bool or t is complex:
                    scalars = True
                elif a is not None:
                    loose = True
                raws.append(a)
        if loose or ref is None:
            args, raws, ref = _coerce(prim.name, args, raws, ref)
            mixed = True
        elif scalars:
            _check_scalars(prim.name, args, ref)
        bk = ref._bk
        dev = ref._dev
        if mixed and prim.promotes:
            k = prim.promote_from
            _check_kinds(prim.name, args[k:])
            if bk.promote_fix is not None:  # (torch refuses some of the standard's promotions)
                raws = raws[:k] + bk.promote_fix(bk, raws[k:], prim.name)
        if bk.ctx is None:
            out = prim.forward(bk.xp, *raws, **static)
        else:  # pragma: no cover - CuPy: allocate on the inputs' device
            with bk.ctx(dev):
                out = prim.forward(bk.xp, *raws, **static)
        return prim._finish(args, raws, static, out, bk, dev, rg)
    except (ValueError, TypeError) as e:
        _name_the_call_site(e)
        raise


Primitive.__call__ = _call  # (defined after the class: the hot path is a module function)
_tensor_module._call = _call


def _record(prim, args, raws, static, out, bk, dev, multi):
    parents = []
    meta = []
    rdt = None  # the dtype of an input that requires grad (so it is floating)
    for a, r in zip(args, raws):
        if isinstance(a, Tensor) and a.requires_grad:
            n = a._node
            parents.append(a if n is None else (n if n.nout == 1 else (n, getattr(a, "_idx", 0))))
            rdt = r.dtype
            meta.append((r.shape, rdt))
        else:
            parents.append(None)
            meta.append(None)
    if prim._save_in:
        saved = tuple(raws)
    elif prim._save_const:  # (parents[i] is None: argument i needs no gradient)
        saved = tuple([r if p is None else None for p, r in zip(parents, raws)])
    else:
        saved = tuple([None if isinstance(a, Tensor) else a for a in args])
    keep_out = out if prim._save_out else None
    if prim.complex_grad is None and (multi or out.dtype is not rdt):
        for m in meta:
            if m is not None:
                _recordable(prim, bk, m[1])
    if multi:
        node = Node(prim, bk, dev, tuple(parents), tuple(meta), saved, keep_out, static, len(out))
        res = []
        for k, o in enumerate(out):
            t = _wrap(o, bk, dev, node if bk.floating(o.dtype) else None)
            t._idx = k
            res.append(t)
        return tuple(res)
    if out.dtype is not rdt and not bk.floating(out.dtype):  # int/bool results: no gradient
        return _wrap(out, bk, dev)
    node = Node(prim, bk, dev, tuple(parents), tuple(meta), saved, keep_out, static)
    return _wrap(out, bk, dev, node)


def _recordable(prim, bk, dt) -> bool:
    """True, unless an op without a complex VJP is recorded for a complex input ``dt`` while
    its output dtype differs (checked only then: free for the common same-dtype op). Such an
    output can be real (singular values, norms, log|det|), so no complex cotangent would stop
    the tape at backward: refused here rather than a wrong gradient later."""
    if prim.complex_grad is None and dt in bk.complex_dtypes:
        raise NotImplementedError(
            f"agrad: gradients of op '{prim.name}' with respect to complex values are not "
            "implemented, and its outputs need not be complex, so it is refused when recorded; "
            "for its value, call it on x.detach() or inside ag.no_grad()"
        )
    return True


_KIND_GROUP = {
    "bool": "bool",
    "signed integer": "integer",
    "unsigned integer": "integer",
    "real floating": "floating",
    "complex floating": "floating",
}


def _check_kinds(name, args):
    """Tensors of different kinds (bool, integer, floating) do not promote in the standard, nor
    uint64 with a signed integer (no integer dtype holds both; NumPy gives float64)."""
    seen = {}
    u64 = signed = None
    for a in args:
        if isinstance(a, Tensor):
            dt = a.dtype
            seen.setdefault(_KIND_GROUP[dt.kind], dt)
            if dt.name == "uint64":
                u64 = dt
            elif dt.kind == "signed integer":
                signed = dt
    if len(seen) > 1:
        got = " and ".join(f"{dt}" for dt in seen.values())
        raise TypeError(
            f"agrad.{name}: cannot combine {got} tensors: the Array API defines no promotion "
            "between bool, integer and floating dtypes. Convert one first, e.g. "
            "ag.astype(x, ag.float64)."
        )
    if u64 is not None and signed is not None:
        raise TypeError(
            f"agrad.{name}: cannot combine {u64} and {signed} tensors: no integer dtype holds "
            "both, and the Array API defines no promotion for them (NumPy would give float64, "
            "torch and array-api-strict refuse). Convert one first, e.g. ag.astype(x, ag.int64)."
        )


def _check_scalars(name, args, ref):
    """Python scalars combine with tensors within a kind only (the standard's rule), and a
    Python int with an integer tensor only where its dtype holds it."""
    dt = ref._bk.dtype(ref._data.dtype)
    kind = dt.kind
    if kind == "real floating":  # the common case: only a bool scalar is wrong
        for a in args:
            if type(a) is bool:
                _scalar_error(name, a, kind)
        return
    if kind == "bool" and len(args) > 2:  # where(cond, x, 0.0): check against x, not cond
        for a in args[1:]:
            if isinstance(a, Tensor):
                dt = a.dtype
                kind = dt.kind
                break
        else:
            raise TypeError(
                f"agrad.{name}: only the condition is a tensor; at least one of the other "
                "arguments must be a tensor too (the standard does not type two Python scalars). "
                "Wrap one with ag.asarray(...)."
            )
    for a in args:
        t = type(a)
        if (t is float or t is int or t is bool or t is complex) and not _scalar_ok(a, dt):
            _scalar_error(name, a, kind)
        if t is int and kind in ("signed integer", "unsigned integer"):
            _check_int_range(name, a, dt)


def _scalar_error(name, a, kind):
    names = {
        "bool": "a bool",
        "signed integer": "an integer",
        "unsigned integer": "an integer",
        "real floating": "a real floating",
        "complex floating": "a complex floating",
    }
    raise TypeError(
        f"agrad.{name}: cannot combine the Python {type(a).__name__} {a!r} with "
        f"{names[kind]} tensor: the Array API promotes Python scalars only within a kind (a "
        f"complex one joins floating tensors too). Convert one side first, e.g. "
        f"ag.astype(x, ag.float64)."
    )


def _coerce(name, args, raws, ref):
    """Slow path: Python scalars, raw backend arrays, nested lists."""
    from .ops.creation import asarray

    args = list(args)
    for k, a in enumerate(args):  # NumPy scalars (np.float64(2.0)) act as Python scalars
        if type(a).__module__ == "numpy" and getattr(a, "shape", None) == ():
            args[k] = raws[k] = a.item()
    if ref is None:
        # no Tensor at all: adopt the first raw backend array, else refuse
        for k, a in enumerate(args):
            if a is not None and not isinstance(a, _SCALARS) and hasattr(a, "shape"):
                args[k] = ref = asarray(a)
                raws[k] = ref._data
                break
        else:
            raise TypeError(
                f"agrad.{name}: needs at least one array argument, got "
                f"{', '.join(type(a).__name__ for a in args)}; wrap one with ag.asarray(...)"
            )
    # the dtype scalars are checked against: the first non-bool tensor (where's condition is bool)
    target = None
    for k, a in enumerate(args):
        if isinstance(a, Tensor):
            if target is None or (target.kind == "bool" and a.dtype.kind != "bool"):
                target = a.dtype
        elif a is None or isinstance(a, _SCALARS):
            continue
        else:
            t = asarray(a, device=ref._dev, backend=ref._bk) if hasattr(a, "shape") else None
            if t is None:
                t = asarray(
                    a,
                    dtype=ref.dtype if _all_python_numbers(a) else None,
                    device=ref._dev,
                    backend=ref._bk,
                )
            if t._bk is not ref._bk or (ref._bk.multi_device and t._dev != ref._dev):
                _mismatch(name, [ref, t])
            args[k] = t
            raws[k] = t._data
            if target is None or (target.kind == "bool" and t.dtype.kind != "bool"):
                target = t.dtype
    for a in args:
        if isinstance(a, _SCALARS) and not _scalar_ok(a, target):
            _scalar_error(name, a, target.kind)
    return tuple(args), raws, ref


def _all_python_numbers(obj) -> bool:
    if isinstance(obj, (list, tuple)):
        return all(_all_python_numbers(o) for o in obj)
    return isinstance(obj, _SCALARS)


def _movable(t) -> bool:
    """A 0-d tensor of the default backend (NumPy, CPU) that needs no gradient: what library
    code makes of a Python scalar with ``xp.asarray(0.5)``, passing no device."""
    return t._bk.name == "numpy" and not t._data.shape and not t.requires_grad


def _align(name, args):
    """``args``, whose tensors live on several backends or devices, with the movable 0-d ones
    (see :func:`_movable`) moved to the others' (PyTorch lets a 0-d CPU tensor join CUDA
    tensors alike: array code such as SciPy's relies on it); anything else is the error."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    main = [t for t in tensors if not _movable(t)]
    if not main or len(main) == len(tensors):
        _mismatch(name, args)
    bk, dev = main[0]._bk, main[0]._dev
    if any(t._bk is not bk or (bk.multi_device and t._dev != dev) for t in main):
        _mismatch(name, args)
    from .ops.creation import _transfer

    return tuple(
        _transfer(a, bk, dev) if isinstance(a, Tensor) and a._bk is not bk else a for a in args
    )


def _mismatch(name, args):
    where = [
        f"argument {k} is {a._bk.name} on {_dev_str(a._dev)}"
        for k, a in enumerate(args)
        if isinstance(a, Tensor)
    ]
    raise ValueError(
        f"agrad.{name}: inputs live on different backends or devices ({'; '.join(where)}). "
        "agrad never moves data implicitly: move one with x.to_device(...) (or create it with "
        "the same backend= and device=) first."
    )


def _name_the_call_site(e):
    """Append the user's line to an agrad error raised while calling an op (the traceback
    has it too, but buried under agrad's frames)."""
    msg = e.args[0] if e.args and isinstance(e.args[0], str) else None
    if msg is None or not msg.startswith("agrad") or "\n  called at " in msg:
        return
    from ._tape import user_site

    e.args = (f"{msg}\n  called at {user_site()}",) + e.args[1:]


# The bytecode of a direct forward, made from source text so that it is bytecode even when this
# module itself is compiled to C (benchmarks/compiled_core.sh compiles it with Cython).
_TEMPLATES: dict = {}
exec(
    "def _template1(xp, x):\n    return xp.name(x)\n\n"
    "def _template2(xp, x1, x2):\n    return xp.name(x1, x2)\n",
    _TEMPLATES,
)
_template1, _template2 = _TEMPLATES["_template1"], _TEMPLATES["_template2"]


def _direct_name(forward):
    """``"sin"`` when ``forward`` is exactly ``return xp.sin(x)`` (or ``xp.add(x1, x2)``): the
    hot paths then call the namespace function itself, one Python frame fewer per op."""
    code = getattr(forward, "__code__", None)
    if code is None or len(code.co_names) != 1:
        return None
    for template in (_template1, _template2):
        t = template.__code__
        if code.co_code == t.co_code and code.co_argcount == t.co_argcount:
            return code.co_names[0]
    return None


def primitive(
    forward=None,
    *,
    name=None,
    saves="inputs",
    differentiable=True,
    promote_from=0,
    promotes=True,
    complex_grad=None,
    selective=False,
):
    """Decorator turning ``forward(xp, *arrays, **static)`` into a :class:`Primitive`."""

    def make(fn):
        return Primitive(
            fn,
            name=name,
            saves=saves,
            differentiable=differentiable,
            promote_from=promote_from,
            promotes=promotes,
            complex_grad=complex_grad,
            selective=selective,
        )

    return make if forward is None else make(forward)


def zero_vjp(xp, g, out, *args, **static):
    """The VJP of piecewise-constant ops (floor, sign, round ...): zero almost everywhere."""
    z = xp.zeros_like(g)
    return (z,) * max(len(args), 1)

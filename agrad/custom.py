"""User-defined differentiable functions: ``@custom_vjp`` with ``.defvjp`` (and ``.defjvp``).

A custom function is a :class:`~agrad._op.Primitive`, exactly like agrad's built-in ops: a
forward ``f(xp, *arrays, **static)`` and a VJP ``vjp(xp, g, out, *arrays, **static)``, both
written against the array namespace ``xp``. So a user rule runs on every backend, and it
supports higher order for free: in a recorded backward (``create_graph=True``, ``ag.grad`` of
``ag.grad``) the same VJP runs with ``xp`` = agrad and Tensor arguments, so it is itself
differentiated. Write VJPs with ``xp.*`` functions, operators and Python scalars only (no
in-place updates, no branching on array values: use ``xp.where``).

Write one when a composite of agrad ops is numerically unstable or slow. ``log(1 + exp(x))``
overflows for large ``x``; a stable forward with its own derivative does not. (Not
``xp.where(x > 0, ..., xp.log1p(xp.exp(x)))``: ``where`` evaluates both branches, and
``exp(1e4)`` overflows, with NumPy's warning, in the one it discards.)

>>> import agrad as ag
>>> from agrad import custom_vjp
>>> @custom_vjp
... def log1pexp(xp, x):  # log(1 + e^x), stable for any x (no branch overflows)
...     return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))
>>> @log1pexp.defvjp
... def _(xp, g, out, x):  # d/dx log(1 + e^x) = sigmoid(x) = 1 - exp(-out) = -expm1(-out)
...     return g * -xp.expm1(-out)  # expm1: accurate when out is tiny (x very negative)
>>> x = ag.asarray([-1e4, 0.0, 1e4], requires_grad=True)
>>> y = log1pexp(x)
>>> y.numpy().round(6).tolist()
[0.0, 0.693147, 10000.0]
>>> ag.sum(y).backward()
>>> x.grad.numpy().tolist()
[0.0, 0.5, 1.0]

Differences from the internal ``primitive`` decorator: a custom function is not added to
agrad's op registry (its name may be anything, even a built-in's), it saves inputs *and* output
by default (``saves="all"``; narrow it to ``"out"``, ``"inputs"``, ``"none"``, or
``"out+constants"``, the output and the inputs that are not differentiated, to keep less alive
until the backward), differentiating it without a VJP fails at the call, the VJP must
return one entry per positional argument, and tensors passed as keyword arguments are refused
(keyword arguments are static: they reach forward and VJP unchanged and are not
differentiated).

JAX's residual form ``f.defvjp(fwd, bwd)`` is accepted too: ``fwd(xp, *arrays, **static)``
returns ``(out, residuals)`` and ``bwd(xp, residuals, g, **static)`` the input cotangents.
In a recorded backward (higher order) the residuals must themselves be differentiable
functions of the inputs, so ``fwd`` is re-run on the (recorded) inputs there: that needs the
inputs saved (``saves="inputs"`` or ``"all"``). The residuals live in the recorded node until
its graph is dropped (a backward frees the saved inputs and output, not them).

A forward-mode rule ``jvp(xp, tangents, out, *arrays, **static)`` can be attached with
``.defjvp``; :func:`check_jvp` checks it against the VJP. Nothing in agrad's reverse mode uses
it: ``ag.jvp`` computes forward-mode derivatives by differentiating the VJP (the double-VJP
trick), which needs no JVP rule. The rule is stored (``f.jvp``) for forward-mode code that can
use it.
"""

from __future__ import annotations

import functools

import numpy as np

from ._op import _SAVES, Primitive
from ._tape import GRAD_ENABLED, no_grad
from ._tensor import Tensor, _wrap

__all__ = ["custom_vjp", "CustomVJP", "check_jvp"]

_RES = "_agrad_residuals"  # the static keyword carrying one call's residuals (fwd/bwd form)


class _Residuals:
    """Holds what ``fwd`` returned for ``bwd``; lives in the recorded node's static arguments."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = None


def _is_tensor_list(g) -> bool:
    if type(g) is list:
        return any(isinstance(c, Tensor) for c in g)
    return isinstance(g, Tensor)


class CustomVJP(Primitive):
    """A differentiable function defined by the user: create with :func:`custom_vjp`.

    Calling it runs like a built-in op (unwrap, checks, forward, record a node). The attributes
    ``forward``, ``vjp`` (the VJP the tape calls), ``jvp`` (the forward-mode rule, or None),
    ``saves`` and ``name`` are those of :class:`~agrad._op.Primitive`.
    """

    def __init__(self, fun, *, name=None, saves="all", promotes=True, complex_grad=None):
        if not callable(fun):
            raise TypeError(
                f"agrad.custom_vjp: expected a function forward(xp, *arrays, **static), got "
                f"{type(fun).__name__}"
            )
        name = name or getattr(fun, "__name__", "custom_vjp")
        if saves not in _SAVES:
            raise ValueError(
                f"agrad.custom_vjp: saves must be one of {_SAVES} (what '{name}''s VJP needs "
                f"kept until the backward), got {saves!r}"
            )
        # a user function must not enter the registry or the table the Tensor operators
        # dispatch to (a function named "add" would take over x + y)
        super().__init__(
            fun,
            name=name,
            saves=saves,
            promotes=promotes,
            complex_grad=complex_grad,
            register=False,
        )
        self.jvp = None
        self._fun = fun
        self._fwd = None  # fwd of the residual form, else None
        functools.update_wrapper(self, fun)

    def __repr__(self) -> str:
        return f"<agrad custom_vjp {self.name}>"

    # ---- rules --------------------------------------------------------------------------
    def defvjp(self, vjp, bwd=None):
        """Define the VJP: ``f.defvjp(vjp)`` (decorator) or ``f.defvjp(fwd, bwd)``.

        ``vjp(xp, g, out, *arrays, **static)`` returns one cotangent per positional argument
        of ``f`` (``None`` for none), output-shaped or of the argument's shape: the tape sums
        broadcast axes. With several outputs ``g`` is a list with ``None`` for outputs that
        received no gradient, and ``out`` a tuple. Returns ``vjp`` (so it can decorate).

        The residual form takes ``fwd(xp, *arrays, **static) -> (out, residuals)`` and
        ``bwd(xp, residuals, g, **static) -> cotangents``.

        Examples
        --------
        >>> import agrad as ag
        >>> from agrad import custom_vjp
        >>> @custom_vjp
        ... def cube(xp, x):
        ...     return x * x * x
        >>> @cube.defvjp
        ... def _(xp, g, out, x):  # d(x^3)/dx = 3x^2
        ...     return g * 3.0 * x * x
        >>> ag.grad(lambda x: ag.sum(cube(x)))(ag.asarray([1.0, 2.0]))
        Tensor([ 3., 12.], backend='numpy', device='cpu', dtype=float64)
        """
        if bwd is None:
            if not callable(vjp):
                raise TypeError(
                    f"agrad.custom_vjp: {self.name}.defvjp(vjp) needs a function "
                    f"vjp(xp, g, out, *arrays, **static), got {type(vjp).__name__}"
                )
            self._fwd = None
            self.forward = self._fun
            super().defvjp(_checked_vjp(self, vjp))
            return vjp
        if not (callable(vjp) and callable(bwd)):
            raise TypeError(
                f"agrad.custom_vjp: {self.name}.defvjp(fwd, bwd) needs two functions "
                f"fwd(xp, *arrays, **static) -> (out, residuals) and "
                f"bwd(xp, residuals, g, **static), got {type(vjp).__name__} and "
                f"{type(bwd).__name__}"
            )
        self._fwd = vjp
        self.forward = _residual_forward(self, self._fun, vjp)
        super().defvjp(_checked_vjp(self, _residual_vjp(self, vjp, bwd)))
        return None

    def defjvp(self, jvp):
        """Attach a forward-mode rule ``jvp(xp, tangents, out, *arrays, **static)``.

        ``tangents`` has one entry per positional argument (``None`` for those without one);
        the rule returns the output's tangent (a tuple for several outputs). Validate it with
        :func:`check_jvp`. Returns ``jvp`` (so it can decorate).

        Examples
        --------
        >>> import agrad as ag
        >>> from agrad import custom_vjp
        >>> @custom_vjp
        ... def cube(xp, x):
        ...     return x * x * x
        >>> @cube.defvjp
        ... def _(xp, g, out, x):
        ...     return g * 3.0 * x * x
        >>> @cube.defjvp
        ... def _(xp, tangents, out, x):  # d(x^3) = 3x^2 dx
        ...     return 3.0 * x * x * tangents[0]
        >>> from agrad.custom import check_jvp
        >>> check_jvp(cube, ag.asarray([0.5, -2.0]))
        True
        """
        if not callable(jvp):
            raise TypeError(
                f"agrad.custom_vjp: {self.name}.defjvp(jvp) needs a function "
                f"jvp(xp, tangents, out, *arrays, **static), got {type(jvp).__name__}"
            )
        self.jvp = jvp
        return jvp

    # ---- calling ------------------------------------------------------------------------
    def __call__(self, *args, **static):
        for k, v in static.items():
            if isinstance(v, Tensor):
                raise TypeError(
                    f"agrad.custom_vjp: '{self.name}' got the tensor {k}=...; keyword arguments "
                    "are static (passed unchanged, never differentiated). Pass arrays "
                    "positionally."
                )
        if (self.vjp is None or self._fwd is not None) and GRAD_ENABLED.get():
            if any(isinstance(a, Tensor) and a.requires_grad for a in args):
                if self.vjp is None:
                    raise NotImplementedError(
                        f"agrad.custom_vjp: '{self.name}' has no VJP, so it cannot be "
                        f"differentiated; define one with @{self.name}.defvjp (or call it "
                        "under ag.no_grad(), or on tensors that do not require grad)"
                    )
                static[_RES] = _Residuals()  # fwd's residuals travel to bwd in the node
        return Primitive.__call__(self, *args, **static)


def _checked_vjp(prim, vjp):
    """The VJP the tape calls: the user's, with its result checked (one entry per argument)."""

    @functools.wraps(vjp)
    def checked(xp, g, out, *args, **static):
        res = vjp(xp, g, out, *args, **static)
        if type(res) is list:
            res = tuple(res)
        elif type(res) is not tuple:
            res = (res,)
        if len(res) != len(args):
            raise TypeError(
                f"agrad.custom_vjp: the VJP of '{prim.name}' returned {len(res)} cotangent(s) "
                f"for {len(args)} positional argument(s); return one per positional argument, "
                "None for those that need no gradient"
            )
        for k, r in enumerate(res):
            if r is not None and not hasattr(r, "shape"):
                raise TypeError(
                    f"agrad.custom_vjp: the VJP of '{prim.name}' returned a "
                    f"{type(r).__name__} for argument {k}; return an array (e.g. "
                    "xp.zeros_like(x)) or None"
                )
        return res

    return checked


def _residual_forward(prim, fun, fwd):
    """Forward of the (fwd, bwd) form: ``fwd`` when a node is recorded (its residuals go to
    the node), else the plain function."""

    def forward(xp, *arrays, **static):
        box = static.pop(_RES, None)
        if box is None:
            return fun(xp, *arrays, **static)
        res = fwd(xp, *arrays, **static)
        if not (isinstance(res, tuple) and len(res) == 2):
            raise TypeError(
                f"agrad.custom_vjp: fwd of '{prim.name}' must return (out, residuals), got "
                f"{type(res).__name__}"
            )
        box.value = res[1]
        return res[0]

    return forward


def _residual_vjp(prim, fwd, bwd):
    def vjp(xp, g, out, *args, **static):
        box = static.pop(_RES)
        if not _is_tensor_list(g):  # a plain backward: the residuals kept from the forward
            return bwd(xp, box.value, g, **static)
        # a recorded backward: the residuals must depend on the inputs in the graph
        if any(a is None for a in args):
            raise RuntimeError(
                f"agrad.custom_vjp: higher-order derivatives of '{prim.name}' re-run its fwd on "
                f"the recorded inputs, but it was declared with saves={prim.saves!r}, which does "
                "not keep them; declare it with saves='inputs' (or 'all')"
            )
        _, res = fwd(xp, *args, **static)
        return bwd(xp, res, g, **static)

    return vjp


def custom_vjp(
    fun=None, *, name: str | None = None, saves: str = "all", promotes: bool = True
) -> CustomVJP:
    """Make ``fun(xp, *arrays, **static)`` a differentiable function with a VJP of your own.

    Use as ``@custom_vjp`` or ``@custom_vjp(saves="out")``; then define the VJP with
    :meth:`CustomVJP.defvjp` (and optionally a forward-mode rule with
    :meth:`CustomVJP.defjvp`). See the module docstring.

    Parameters
    ----------
    fun : callable
        The forward, ``fun(xp, *arrays, **static)``, on raw arrays of namespace ``xp``; returns
        an array, or a tuple of arrays for several outputs.
    name : str, optional
        The name errors use (default: ``fun.__name__``).
    saves : {"all", "inputs", "out", "none", "out+constants"}
        What the VJP needs kept alive until the backward; the others reach it as ``None``.
        ``"out+constants"`` keeps the output and the inputs that need no gradient (labels,
        masks), not the differentiated ones.
    promotes : bool
        Whether tensor arguments must share a kind (bool, integer, floating), as the standard's
        promotion rules require of elementwise functions; False when array arguments play
        different roles (an index array beside a floating one).

    Returns
    -------
    CustomVJP

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad import custom_vjp
    >>> @custom_vjp(saves="out")
    ... def softplus(xp, x, *, beta=1.0):  # log(1 + e^(beta x)) / beta, stable
    ...     z = beta * x
    ...     return (xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
    >>> @softplus.defvjp
    ... def _(xp, g, out, x, *, beta=1.0):  # d/dx = sigmoid(beta x) = 1 - exp(-beta out)
    ...     return g * -xp.expm1(-beta * out)
    >>> ag.grad(lambda x: softplus(x, beta=2.0))(ag.asarray(0.0))
    Tensor(0.5, backend='numpy', device='cpu', dtype=float64)
    """

    def make(f):
        return CustomVJP(f, name=name, saves=saves, promotes=promotes)

    return make if fun is None else make(fun)


# ---- checking a JVP rule -------------------------------------------------------------------
def check_jvp(f: CustomVJP, *args, static=None, seed: int = 0, rtol: float = 1e-7) -> bool:
    """Check ``f``'s JVP rule against its VJP: ``<J v, u> == <v, J^T u>`` for random ``v, u``.

    Floating tensor arguments are converted to float64 and get random tangents ``v``; the
    output(s) a random cotangent ``u``. ``J v`` comes from the JVP rule run on the backend's
    raw arrays, ``J^T u`` from the VJP (through :func:`agrad.grad`). Both are exact, so the
    tolerance is tight: ``|lhs - rhs| <= rtol * (sum |J v * u| + sum |v * J^T u|)``. Check the
    VJP itself with :func:`agrad.testing.gradcheck`.

    Parameters
    ----------
    f : CustomVJP
        A function with both a VJP and a JVP rule.
    *args
        Its positional arguments.
    static : dict, optional
        Its keyword (static) arguments.
    seed : int
        Seed of the random ``v`` and ``u``.
    rtol : float
        Relative tolerance.

    Returns
    -------
    bool
        True; raises :class:`agrad.testing.GradcheckError` on a mismatch.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad import custom_vjp
    >>> @custom_vjp
    ... def mul(xp, x, y):
    ...     return x * y
    >>> @mul.defvjp
    ... def _(xp, g, out, x, y):
    ...     return g * y, g * x
    >>> @mul.defjvp
    ... def _(xp, tangents, out, x, y):  # d(xy) = y dx + x dy
    ...     dx, dy = tangents
    ...     return y * dx + x * dy
    >>> from agrad.custom import check_jvp
    >>> check_jvp(mul, ag.asarray([1.0, 2.0]), ag.asarray(3.0))
    True
    """
    from .autodiff import grad
    from .ops.creation import asarray
    from .ops.manipulation import astype
    from .ops.reduction import sum as ag_sum
    from .testing import GradcheckError

    if not isinstance(f, CustomVJP):
        raise TypeError(
            f"agrad.custom.check_jvp: f must be a function made with agrad.custom_vjp, got "
            f"{type(f).__name__}"
        )
    if f.jvp is None or f.vjp is None:
        missing = "JVP rule" if f.jvp is None else "VJP"
        fix = "defjvp" if f.jvp is None else "defvjp"
        raise ValueError(
            f"agrad.custom.check_jvp: '{f.name}' has no {missing} to check; define one with "
            f"@{f.name}.{fix}"
        )
    static = dict(static or {})
    args = [
        astype(a.detach(), "float64") if isinstance(a, Tensor) and a.dtype.is_floating else a
        for a in args
    ]
    diff = [k for k, a in enumerate(args) if isinstance(a, Tensor) and a.dtype.is_floating]
    if not diff:
        raise TypeError(
            f"agrad.custom.check_jvp: '{f.name}' got no floating tensor argument to perturb"
        )
    ref = args[diff[0]]
    bk, dev = ref._bk, ref._dev
    rng = np.random.default_rng(seed)

    def draw(shape):
        return asarray(rng.normal(size=shape), dtype="float64", device=dev, backend=bk)

    with no_grad():
        outs = f(*args, **static)
    multi = isinstance(outs, tuple)
    outs = outs if multi else (outs,)
    tangents = [draw(args[k].shape) if k in diff else None for k in range(len(args))]
    raw = [a._data if isinstance(a, Tensor) else a for a in args]
    raw_t = tuple(None if t is None else t._data for t in tangents)
    raw_out = tuple(o._data for o in outs) if multi else outs[0]._data
    if bk.ctx is None:
        jv = f.jvp(bk.xp, raw_t, raw_out, *raw, **static)
    else:  # pragma: no cover - CuPy: allocate on the inputs' device
        with bk.ctx(dev):
            jv = f.jvp(bk.xp, raw_t, raw_out, *raw, **static)
    jv = tuple(jv) if isinstance(jv, (tuple, list)) else (jv,)
    if len(jv) != len(outs):
        raise GradcheckError(
            f"agrad.custom.check_jvp: the JVP rule of '{f.name}' returned {len(jv)} tangent(s) "
            f"for {len(outs)} output(s)"
        )
    floating = [k for k, o in enumerate(outs) if o.dtype.is_floating]
    us = {k: draw(outs[k].shape) for k in floating}
    lhs_terms = []
    for k in floating:
        t = jv[k]
        if t is None:
            continue
        if tuple(t.shape) != outs[k].shape:
            raise GradcheckError(
                f"agrad.custom.check_jvp: the JVP rule of '{f.name}' returned a tangent of shape "
                f"{tuple(t.shape)} for output {k} of shape {outs[k].shape}; it must have the "
                "output's shape"
            )
        lhs_terms.append(_host(_wrap(bk.fix(t) if bk.fix else t, bk, dev)) * _host(us[k]))

    def pairing(*xs):  # sum_k <f(xs)_k, u_k>: its gradient is J^T u
        full = list(args)
        for k, x in zip(diff, xs):
            full[k] = x
        res = f(*full, **static)
        res = res if multi else (res,)
        return sum(ag_sum(res[k] * us[k]) for k in floating)

    gs = grad(pairing, argnums=tuple(range(len(diff))))(*[args[k] for k in diff])
    rhs_terms = [_host(tangents[k]) * _host(g) for k, g in zip(diff, gs)]
    lhs = float(sum(np.sum(t) for t in lhs_terms))
    rhs = float(sum(np.sum(t) for t in rhs_terms))
    scale = float(sum(np.sum(np.abs(t)) for t in lhs_terms + rhs_terms))
    if not abs(lhs - rhs) <= rtol * scale:
        raise GradcheckError(
            f"agrad.custom.check_jvp: the JVP rule of '{f.name}' disagrees with its VJP: "
            f"<J v, u> = {lhs:.10g} from the JVP but <v, J^T u> = {rhs:.10g} from the VJP "
            f"(|difference| {abs(lhs - rhs):.3g} > rtol {rtol} * {scale:.3g}); check the VJP "
            "against finite differences with agrad.testing.gradcheck to see which is wrong"
        )
    return True


def _host(t):
    return np.asarray(t.numpy(), dtype=np.float64)

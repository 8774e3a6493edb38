"""Creation functions: where the backend and the device are chosen, once.

``asarray``, ``zeros``, ``ones``, ``empty``, ``full``, ``arange``, ``linspace``, ``eye`` and the
``*_like`` forms take the standard's arguments plus ``backend=`` and ``requires_grad=``; and
``to_device``, the only way data moves between devices or libraries (differentiable).
"""

from __future__ import annotations

from .._backend import backend_of_array, move, resolve
from .._dtypes import canonical
from .._info import _check_int_range, _int_bounds
from .._op import Primitive
from .._tape import GRAD_ENABLED, Node
from .._tensor import Tensor, _check_can_require_grad, _wrap, ops
from ._util import shape_arg

__all__ = [
    "asarray",
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "linspace",
    "eye",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "to_device",
]


def _finish(data, bk, requires_grad, where):
    if bk.fix is not None:
        data = bk.fix(data)
    t = _wrap(data, bk, bk.device_of(data))
    if requires_grad:
        _check_can_require_grad(t, where)
        t.requires_grad = True
    return t


def _target(backend, device, ref_bk=None):
    """Resolve ``backend=``/``device=``; a device the current backend understands stays on it."""
    if backend is None and ref_bk is not None:
        if device is None:
            return ref_bk, None
        try:
            return ref_bk, ref_bk.normalize_device(device)
        except (ValueError, TypeError):
            pass
    return resolve(backend, device)


def asarray(obj, /, dtype=None, device=None, copy=None, *, backend=None, requires_grad=False):
    """Convert ``obj`` to a Tensor on a backend and device chosen here, once.

    Parameters
    ----------
    obj : Tensor, array of any Array API library, nested sequence or Python scalar
        A raw array keeps its own backend and device unless ``backend=``/``device=`` say
        otherwise; a Tensor is returned as is when nothing changes (its graph is kept).
    dtype : agrad or backend dtype, optional
    device : optional
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, an int, a backend device object, or ``t.device``.
        A CUDA device without ``backend=`` selects CuPy.
    copy : bool, optional
    backend : str or namespace module, optional
        ``"numpy"`` (default), ``"cupy"``, ``"torch"``, ``"jax"``, ``"array_api_strict"``, or a
        module implementing the Array API.
    requires_grad : bool
        Make the result a leaf that accumulates gradients (floating dtypes only).

    Examples
    --------
    >>> import agrad as ag
    >>> x = ag.asarray([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> x.backend, x.device, x.dtype
    ('numpy', 'cpu', agrad.float64)
    """
    if isinstance(obj, Tensor):
        return _from_tensor(obj, dtype, device, copy, backend, requires_grad)
    src = (
        None if isinstance(obj, (bool, int, float, complex, list, tuple)) else backend_of_array(obj)
    )
    if src is not None:
        bk, dev = _target(backend, device, src)
        if bk is src:
            kw = {} if dev is None else {"device": dev}
            data = bk.module.asarray(obj, dtype=bk.raw_dtype(dtype), copy=copy, **kw)
        else:
            data = bk.from_foreign(
                obj, dtype, dev if dev is not None else bk.default_device(), copy
            )
    else:
        bk, dev = resolve(backend, device)
        if isinstance(obj, (list, tuple)) and _has_tensor(obj):
            raise TypeError(
                "agrad.asarray: a sequence of Tensors cannot be converted in one go (that would "
                "leave the graph); use ag.stack([...]) to combine tensors differentiably"
            )
        want = canonical(dtype) if dtype is not None else None
        if want is not None and want.kind in _INT_KINDS:
            _check_python_ints(obj, want)
        try:
            data = bk.module.asarray(obj, dtype=bk.raw_dtype(dtype), device=dev, copy=copy)
        except (OverflowError, ValueError, RuntimeError):
            if dtype is None:  # (torch's "Overflow when unpacking long long"): say why
                _check_python_ints(obj, _default_int(bk))
            raise
        if dtype is None:
            try:
                dt = bk.dtype(data.dtype)
            except TypeError:  # NumPy's object array of ints beyond 64 bits
                dt = None
            if dt is None or dt.kind == "unsigned integer":  # (NumPy's answers to such ints)
                _check_python_ints(obj, _default_int(bk))
            elif dt.kind == "signed integer":  # the default (array-api-strict wraps 2**63)
                _check_python_ints(obj, dt)
    return _finish(data, bk, requires_grad, "asarray")


_INT_KINDS = ("signed integer", "unsigned integer")


def _default_int(bk):
    """The backend's default integer dtype (int64; int32 on JAX without its 64-bit mode)."""
    dt = _DEFAULT_INT.get(bk)
    if dt is None:
        dt = bk.dtype(bk.module.asarray(1).dtype)
        if bk.name != "jax":  # (JAX's follows its 64-bit mode, which may be switched)
            _DEFAULT_INT[bk] = dt
    return dt


_DEFAULT_INT: dict = {}


def _check_python_ints(obj, dt, fname="asarray"):
    """A Python int in ``obj`` (nested lists and tuples too) that the integer dtype ``dt``
    cannot hold (the dtype asked for, or for ints alone the default integer dtype, the
    standard's) is agrad's OverflowError. The backends disagree on such ints: NumPy and
    array-api-strict raise for some, NumPy makes 2**63 uint64 and larger ints objects, torch
    wraps -1 to 255 in uint8 and raises its own errors for others, array-api-strict wraps
    2**63 to -2**63 in int64."""
    bad = _int_outside(obj, *_int_bounds(dt))
    if bad is not None:
        _check_int_range(fname, bad, dt, _FIT)


def _int_outside(obj, lo, hi):
    """The first Python int in ``obj`` (a number, or nested lists and tuples of them) outside
    ``[lo, hi]``, or None. A row's min and max are taken by the builtins (C loops)."""
    stack = [obj]
    while stack:
        o = stack.pop()
        t = type(o)
        if t is list or t is tuple:
            try:
                if lo <= min(o) and max(o) <= hi:
                    continue  # (numbers of any type: in range, the ints among them too)
            except (TypeError, ValueError):  # rows of rows (or empty): look inside
                stack.extend(o)
                continue
            stack.extend(o)  # something is out of range: find the int
        elif t is int and not lo <= o <= hi:
            return o
    return None


_NUMBERS = frozenset((bool, int, float, complex))


def _has_tensor(seq) -> bool:
    """Whether a Tensor is anywhere in nested lists and tuples: a row of plain numbers is
    passed over by the types of its elements (a C loop), not element by element."""
    stack = [seq]
    while stack:
        row = stack.pop()
        if _NUMBERS.issuperset(map(type, row)):
            continue
        for o in row:
            if isinstance(o, Tensor):
                return True
            if isinstance(o, (list, tuple)):
                stack.append(o)
    return False


def _from_tensor(t, dtype, device, copy, backend, requires_grad):
    from .manipulation import astype

    if backend is not None or device is not None:
        bk, dev = _target(backend, device, t._bk if backend is None else None)
        if dev is None:
            dev = bk.default_device() if bk is not t._bk else t._dev
        if bk is not t._bk or (bk.multi_device and dev != t._dev):
            t = _transfer(t, bk, dev)
            copy = False if copy else copy
    if dtype is not None and t.dtype != dtype:
        t = astype(t, dtype)
        copy = False if copy else copy
    if copy:
        t = astype(t, t.dtype, copy=True)
    if requires_grad:
        t = t.detach()
        _check_can_require_grad(t, "asarray")
        t.requires_grad = True
    return t


def _create(fname, args, kwargs, dtype, device, backend, requires_grad):
    bk, dev = resolve(backend, device)
    raw_dt = None
    if dtype is not None:
        try:  # an agrad DType (or its name): one lookup
            raw_dt = bk._to_raw[dtype]
        except (KeyError, TypeError):
            raw_dt = bk.raw_dtype(dtype)  # a raw dtype; or the error that names the problem
    fn = getattr(bk.xp, fname)
    try:
        if kwargs:
            data = fn(*args, dtype=raw_dt, device=dev, **kwargs)
        else:  # (a call without an empty **{} is measurably cheaper)
            data = fn(*args, dtype=raw_dt, device=dev)
    except (TypeError, ValueError, ZeroDivisionError) as e:  # (free unless raised)
        _check_creation_args(fname, args, kwargs)
        raise e from None
    if requires_grad or type(data) is not bk.array_type or bk.name != "numpy":
        return _finish(data, bk, requires_grad, fname)
    return _wrap(data, bk, "cpu")  # _finish for a NumPy array that needs no gradient


def _check_creation_args(fname, args, kwargs):
    """The arguments a creation function's backend refused, checked for agrad's own error
    (the backends' say "'str' object cannot be interpreted as an integer" and such)."""

    def number(v, name, kinds=(int, float)):
        if not isinstance(v, kinds) or isinstance(v, bool):
            what = " or ".join(k.__name__ for k in kinds)
            raise TypeError(f"agrad.{fname}: {name} must be a Python {what}, got {v!r}")

    if fname in ("zeros", "ones", "empty", "full"):
        shape = shape_arg(args[0], fname)
        if any(n < 0 for n in shape):
            raise ValueError(f"agrad.{fname}: shape {shape} has a negative dimension")
    elif fname == "eye":
        for v, name in ((args[0], "n_rows"), (args[1], "n_cols"), (kwargs["k"], "k")):
            if v is not None or name == "n_rows":
                number(v, name, (int,))
    elif fname == "arange":
        for v, name in zip(args, ("start", "stop", "step")):
            if v is not None or name == "start":
                number(v, name)
        if args[2] == 0:
            raise ValueError(f"agrad.{fname}: step must not be 0")
    elif fname == "linspace":
        number(args[0], "start", (int, float, complex))
        number(args[1], "stop", (int, float, complex))
        number(args[2], "num", (int,))
        if args[2] < 0:
            raise ValueError(f"agrad.{fname}: num must be non-negative, got {args[2]}")


def zeros(shape, *, dtype=None, device=None, backend=None, requires_grad=False) -> Tensor:
    """A tensor of zeros (see :func:`asarray` for ``device=``/``backend=``).

    Examples
    --------
    >>> import agrad as ag
    >>> ag.zeros((2,), dtype=ag.float32)
    Tensor([0., 0.], backend='numpy', device='cpu', dtype=float32)
    """
    return _create("zeros", (shape,), {}, dtype, device, backend, requires_grad)


def ones(shape, *, dtype=None, device=None, backend=None, requires_grad=False) -> Tensor:
    """A tensor of ones (see :func:`asarray` for ``device=``/``backend=``)."""
    return _create("ones", (shape,), {}, dtype, device, backend, requires_grad)


def empty(shape, *, dtype=None, device=None, backend=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor (see :func:`asarray` for ``device=``/``backend=``)."""
    return _create("empty", (shape,), {}, dtype, device, backend, requires_grad)


def full(shape, fill_value, *, dtype=None, device=None, backend=None, requires_grad=False):
    """A tensor filled with ``fill_value`` (see :func:`asarray` for ``device=``/``backend=``)."""
    if type(fill_value) is int:
        _check_made_ints("full", (fill_value,), dtype, backend, device)
    return _create("full", (shape, fill_value), {}, dtype, device, backend, requires_grad)


def _check_made_ints(fname, values, dtype, backend=None, device=None):
    """The Python ints a creation function puts in its result (a fill value, a range's ends)
    must fit its integer dtype: the one asked for, or the default integer dtype, which Python
    ints alone make (torch wrapped -1 to 255 in uint8, NumPy and array-api-strict wrapped
    arange(250, 260) in uint8 past 255; NumPy made full((2,), 2**63) uint64)."""
    if dtype is None:
        dt = _default_int(resolve(backend, device)[0])
    else:
        dt = canonical(dtype)
        if dt is None or dt.kind not in _INT_KINDS:
            return
    _check_python_ints(values, dt, fname)


_FIT = "ask for a dtype that holds it, e.g. dtype=ag.int64 (or ag.uint64, or a float)"


def arange(
    start, /, stop=None, step=1, *, dtype=None, device=None, backend=None, requires_grad=False
) -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (the standard's ``arange``).

    Examples
    --------
    >>> import agrad as ag
    >>> ag.arange(3)
    Tensor([0, 1, 2], backend='numpy', device='cpu', dtype=int64)
    """
    if type(start) is int and type(step) is int and (stop is None or type(stop) is int) and step:
        r = range(start, stop, step) if stop is not None else range(0, start, step)
        if r:
            _check_made_ints("arange", (r[0], r[-1]), dtype, backend, device)
    return _create("arange", (start, stop, step), {}, dtype, device, backend, requires_grad)


def linspace(
    start,
    stop,
    /,
    num,
    *,
    dtype=None,
    device=None,
    endpoint=True,
    backend=None,
    requires_grad=False,
) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    if dtype is not None:  # (without one the result is floating)
        # start and stop, stop even without the endpoint (array-api-compat's torch makes it)
        ints = tuple(v for v in (start, stop) if type(v) is int)
        _check_made_ints("linspace", ints, dtype)
    return _create(
        "linspace",
        (start, stop, num),
        {"endpoint": endpoint},
        dtype,
        device,
        backend,
        requires_grad,
    )


def eye(
    n_rows, n_cols=None, /, *, k=0, dtype=None, device=None, backend=None, requires_grad=False
) -> Tensor:
    """A 2-D tensor with ones on the ``k``-th diagonal."""
    return _create("eye", (n_rows, n_cols), {"k": k}, dtype, device, backend, requires_grad)


def _like(fname, x, args, dtype, device, backend, requires_grad):
    if isinstance(x, Tensor):
        bk, dev, raw = x._bk, x._dev, x._data
    else:
        bk = backend_of_array(x)
        if bk is None:
            raise TypeError(f"agrad.{fname}: expected a Tensor or an array, got {type(x).__name__}")
        raw, dev = x, bk.device_of(x)
    if backend is not None or device is not None:
        to_bk, to_dev = _target(backend, device, bk if backend is None else None)
        if to_bk is not bk:  # another library: build from x's shape and dtype there
            base = fname[: -len("_like")]
            dt = dtype if dtype is not None else bk.dtype(raw.dtype)
            return _create(base, (tuple(raw.shape), *args), {}, dt, to_dev, to_bk, requires_grad)
        dev = to_dev if to_dev is not None else dev
    if fname == "full_like" and type(args[0]) is int:  # (x's dtype unless one is given)
        _check_made_ints(fname, args, dtype if dtype is not None else bk.dtype(raw.dtype))
    data = getattr(bk.module, fname)(raw, *args, dtype=bk.raw_dtype(dtype), device=dev)
    return _finish(data, bk, requires_grad, fname)


def zeros_like(x, /, *, dtype=None, device=None, backend=None, requires_grad=False) -> Tensor:
    """Zeros with the shape, dtype, backend and device of ``x`` (unless given)."""
    return _like("zeros_like", x, (), dtype, device, backend, requires_grad)


def ones_like(x, /, *, dtype=None, device=None, backend=None, requires_grad=False) -> Tensor:
    """Ones with the shape, dtype, backend and device of ``x`` (unless given)."""
    return _like("ones_like", x, (), dtype, device, backend, requires_grad)


def empty_like(x, /, *, dtype=None, device=None, backend=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor like ``x``."""
    return _like("empty_like", x, (), dtype, device, backend, requires_grad)


def full_like(
    x, /, fill_value, *, dtype=None, device=None, backend=None, requires_grad=False
) -> Tensor:
    """``fill_value`` everywhere, with the shape, dtype, backend and device of ``x``."""
    return _like("full_like", x, (fill_value,), dtype, device, backend, requires_grad)


# ---- to_device: the one differentiable transfer ------------------------------------------
def _to_device_fwd(xp, x, *, src, dst):  # pragma: no cover - called through _transfer only
    return move(x, src[0], dst[0], dst[1])


_to_device = Primitive(_to_device_fwd, name="to_device", saves="none")


@_to_device.defvjp
def _(xp, g, out, x, *, src, dst):  # the gradient travels back to where x lives
    if isinstance(g, Tensor):
        return _transfer(g, src[0], src[1])
    return move(g, dst[0], src[0], src[1])


def _transfer(t: Tensor, bk, dev) -> Tensor:
    data = move(t._data, t._bk, bk, dev)
    if bk.fix is not None:
        data = bk.fix(data)
    dev = bk.device_of(data)
    if not (t.requires_grad and GRAD_ENABLED.get()):
        return _wrap(data, bk, dev)
    n = t._node
    parent = t if n is None else (n if n.nout == 1 else (n, getattr(t, "_idx", 0)))
    static = {"src": (t._bk, t._dev), "dst": (bk, dev)}
    node = Node(
        _to_device,
        t._bk,
        t._dev,
        (parent,),
        ((tuple(t._data.shape), t._data.dtype),),
        (None,),
        None,
        static,
    )
    return _wrap(data, bk, dev, node, 0)


def to_device(x, device, /, *, stream=None, backend=None) -> Tensor:
    """``x`` on ``device`` (differentiable: the gradient moves back to ``x``'s device).

    A device the tensor's backend understands stays on that backend (torch ``"cuda"``); otherwise
    the device picks the backend (``"cuda"`` from NumPy gives CuPy, ``"cpu"`` from CuPy NumPy).
    """
    if not isinstance(x, Tensor):
        x = asarray(x)
    bk, dev = _target(backend, device, x._bk if backend is None else None)
    if dev is None:
        dev = bk.default_device()
    if bk is x._bk and (not bk.multi_device or dev == x._dev):
        return x
    return _transfer(x, bk, dev)


ops.to_device = to_device  # Tensor.to_device dispatches here, not to the bare primitive


# ---- meshgrid, tril, triu: composites, differentiable through reshape/broadcast and where ------
def meshgrid(*arrays, indexing="xy"):
    """Coordinate grids from 1-D tensors, as a list (``indexing="xy"``: Cartesian, the first two
    output axes swapped; ``"ij"``: matrix). Differentiable: each grid is a broadcast of its
    input, so its gradient sums the grid's cotangent over the other axes."""
    from .manipulation import broadcast_to, reshape

    if indexing not in ("xy", "ij"):
        raise ValueError(f"agrad.meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    tensors = [x if isinstance(x, Tensor) else asarray(x) for x in arrays]
    bad = [t.shape for t in tensors if t.ndim != 1]
    if bad:
        raise ValueError(
            f"agrad.meshgrid: every input must be 1-D, got shapes {[t.shape for t in tensors]}"
        )
    if len({t.dtype for t in tensors}) > 1:
        raise TypeError(
            "agrad.meshgrid: every input must have one dtype, got "
            f"{[str(t.dtype) for t in tensors]}"
        )
    n = len(tensors)
    pos = list(range(n))
    if indexing == "xy" and n >= 2:
        pos[0], pos[1] = 1, 0
    shape = [0] * n
    for p, t in zip(pos, tensors):
        shape[p] = t.shape[0]
    shape = tuple(shape)
    out = []
    for p, t in zip(pos, tensors):
        one = [1] * n
        one[p] = t.shape[0]
        out.append(broadcast_to(reshape(t, tuple(one)), shape))
    return out


def _triangle(x, k, op, lower):
    from .elementwise import where

    if not isinstance(x, Tensor):
        x = asarray(x)
    if x.ndim < 2:
        raise ValueError(f"agrad.{op}: needs at least two dimensions, got shape {x.shape}")
    if not isinstance(k, int) or isinstance(k, bool):
        raise TypeError(f"agrad.{op}: k must be an int, got {k!r}")
    m, n = x.shape[-2:]
    rows = arange(m, device=x.device, backend=x._bk)[:, None]
    cols = arange(n, device=x.device, backend=x._bk)[None, :]
    keep = (cols - rows <= k) if lower else (cols - rows >= k)
    return where(keep, x, zeros_like(x))


def tril(x, /, *, k=0):
    """The lower triangle of the last two axes of ``x`` (on and below diagonal ``k``), zeros
    elsewhere. A composite with ``where``: the gradient is the cotangent masked the same way."""
    return _triangle(x, k, "tril", True)


def triu(x, /, *, k=0):
    """The upper triangle of the last two axes of ``x`` (on and above diagonal ``k``), zeros
    elsewhere. A composite with ``where``: the gradient is the cotangent masked the same way."""
    return _triangle(x, k, "triu", False)

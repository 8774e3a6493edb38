"""``__array_namespace_info__`` and the standard's data-type functions.

agrad's namespace is backend-agnostic, so the info object describes one backend: NumPy (the
default backend) unless ``__array_namespace_info__(backend=...)`` names another (an agrad
extension). Dtypes are always agrad's :class:`~agrad._dtypes.DType` objects (``ag.float32`` ...).

``can_cast``, ``result_type``, ``finfo``, ``iinfo`` and ``isdtype`` accept agrad dtypes, Tensors
(for ``can_cast``/``result_type``/``finfo``/``iinfo``) and the backends' own dtype objects, and
answer per the standard's type-promotion table, not per any one library: there is no promotion
between bool, integer and floating dtypes, nor between ``uint64`` and signed integers. agrad's
extra ``float16`` promotes like a narrower ``float32``.

Examples
--------
>>> import agrad as ag
>>> ag.result_type(ag.int8, ag.uint8)
agrad.int16
>>> ag.__array_namespace_info__().default_dtypes()["real floating"]
agrad.float64
"""

from __future__ import annotations

import builtins
from typing import NamedTuple

import numpy as np

from ._backend import get_backend, resolve
from ._dtypes import DTYPES, DType, canonical

__all__ = [
    "__array_namespace_info__",
    "can_cast",
    "result_type",
    "finfo",
    "iinfo",
    "isdtype",
]

_KINDS = (
    "bool",
    "signed integer",
    "unsigned integer",
    "integral",
    "real floating",
    "complex floating",
    "numeric",
)


# ---- the info object -----------------------------------------------------------------------
class Info:
    """What ``__array_namespace_info__()`` returns: the standard's inspection API, answered for
    one backend (``backend`` attribute). Asked without ``backend=``, a ``device=`` of another
    library answers for that library, as creation functions do (``info.dtypes(device=
    x.device)`` for a torch tensor ``x`` is torch's answer: code written against the standard
    passes the device of its data)."""

    __slots__ = ("_bk", "_chosen")

    def __init__(self, bk, chosen=False):
        self._bk = bk
        self._chosen = chosen  # backend= was given: a foreign device is an error

    @property
    def backend(self) -> str:
        """The name of the backend this object describes."""
        return self._bk.name

    def __repr__(self) -> str:
        return f"<agrad namespace info for backend {self._bk.name!r}>"

    def _native(self):
        f = getattr(self._bk.module, "__array_namespace_info__", None)
        return f() if f is not None else None

    def _for(self, device):
        """The info for ``device`` (itself, or the one of the backend the device belongs to)
        and the backend's device object (a named error for a foreign one)."""
        if device is None:
            return self, None
        if self._chosen:
            return self, self._bk.normalize_device(device)
        bk, dev = resolve(None, device)
        return (self if bk is self._bk else Info(bk)), dev

    def capabilities(self) -> dict:
        """``{"boolean indexing": True, "data-dependent shapes": True, "max dimensions": n}``
        (agrad supports both on every backend; ``n`` is the backend's, None when unbounded)."""
        native = self._native()
        maxdims = None
        if native is not None:
            maxdims = native.capabilities().get("max dimensions")
        return {
            "boolean indexing": True,
            "data-dependent shapes": True,
            "max dimensions": maxdims,
        }

    def default_device(self):
        """The device tensors of this backend are created on by default."""
        return self._bk.default_device()

    def devices(self) -> tuple:
        """The devices agrad can place tensors of this backend on (a tuple, as the standard
        says from 2025.12)."""
        name = self._bk.name
        if name == "numpy":
            return ("cpu",)
        if name == "torch":  # compat's list probes every device type (and warns): ask torch
            import torch

            cuda = [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
            return (torch.device("cpu"), *cuda)
        native = self._native()
        if native is None:
            return (self.default_device(),)
        return tuple(native.devices())

    def default_dtypes(self, *, device=None) -> dict:
        """agrad DTypes for the keys ``"real floating"``, ``"complex floating"``,
        ``"integral"`` and ``"indexing"``: what this backend creates by default (torch's
        default float is float32)."""
        info, device = self._for(device)
        if info is not self:
            return info.default_dtypes(device=device)
        native = self._native()
        if native is not None:
            raw = native.default_dtypes(device=device)
            return {k: self._bk.dtype(v) for k, v in raw.items()}
        m = self._bk.module
        return {
            "real floating": self._bk.dtype(m.asarray(1.0).dtype),
            "complex floating": self._bk.dtype(m.asarray(1j).dtype),
            "integral": self._bk.dtype(m.asarray(1).dtype),
            "indexing": self._bk.dtype(m.asarray(1).dtype),
        }

    def dtypes(self, *, device=None, kind=None) -> dict:
        """``{name: DType}`` for the dtypes this backend supports, of ``kind`` (as in
        :func:`isdtype`; None for all)."""
        info, device = self._for(device)
        if info is not self:
            return info.dtypes(device=device, kind=kind)
        out = {}
        for name, dt in DTYPES.items():
            if dt not in self._bk._to_raw:
                continue
            if name == "float16":  # not a standard dtype; the standard's answer omits it
                continue
            if kind is None or isdtype(dt, kind):
                out[name] = dt
        native = self._native()
        if native is not None:  # libraries can leave some out (torch: uint16 and up)
            have = set(native.dtypes(device=device))
            out = {k: v for k, v in out.items() if k in have}
        return out


def __array_namespace_info__(*, backend=None) -> Info:
    """The standard's inspection object for agrad's namespace.

    agrad runs on several libraries; the answer describes NumPy (the default backend) unless
    ``backend=`` (an agrad extension: a name such as ``"torch"``, or a namespace module) asks
    about another.

    Examples
    --------
    >>> import agrad as ag
    >>> info = ag.__array_namespace_info__()
    >>> info.devices()
    ('cpu',)
    >>> info.dtypes(kind="real floating")
    {'float32': agrad.float32, 'float64': agrad.float64}
    """
    if backend is None:
        return Info(get_backend("numpy"))
    return Info(get_backend(backend), chosen=True)


# ---- dtype coercion ---------------------------------------------------------------------------
def _as_dtype(obj, op: str, *, arrays: bool = True) -> DType:
    """agrad's DType for ``obj``: a DType, a backend dtype, or (with ``arrays``) a tensor."""
    if isinstance(obj, DType):
        return obj
    if arrays and not isinstance(obj, type) and hasattr(obj, "shape") and hasattr(obj, "dtype"):
        dt = canonical(obj.dtype)
        if dt is not None:
            return dt
    elif not isinstance(obj, (str, builtins.bool, int, float, complex)) and obj is not None:
        dt = canonical(obj)  # a backend's dtype (np.float32 and np.dtype("float32") alike)
        if dt is not None:
            return dt
    what = "a dtype or a tensor" if arrays else "a dtype"
    raise TypeError(f"agrad.{op}: expected {what}, got {obj!r} ({type(obj).__name__})")


# ---- type promotion ---------------------------------------------------------------------------
_INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UINT_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
_REAL = {"float16": 16, "float32": 32, "float64": 64}
_COMPLEX = {"complex64": 32, "complex128": 64}  # the precision of each component


def _promote(a: DType, b: DType, op: str) -> DType:
    """The standard's promotion of two dtypes; a TypeError where the standard defines none."""
    if a is b:
        return a
    na, nb = a.name, b.name
    if na in _INT_BITS and nb in _INT_BITS:
        return DTYPES[f"int{max(_INT_BITS[na], _INT_BITS[nb])}"]
    if na in _UINT_BITS and nb in _UINT_BITS:
        return DTYPES[f"uint{max(_UINT_BITS[na], _UINT_BITS[nb])}"]
    if na in _UINT_BITS and nb in _INT_BITS:
        na, nb = nb, na
    if na in _INT_BITS and nb in _UINT_BITS:
        ubits = _UINT_BITS[nb]
        if ubits < 64:  # a signed type wide enough for both
            return DTYPES[f"int{max(_INT_BITS[na], 2 * ubits)}"]
    fa = _REAL.get(na) or _COMPLEX.get(na)
    fb = _REAL.get(nb) or _COMPLEX.get(nb)
    if fa and fb:
        bits = max(fa, fb)
        if na in _COMPLEX or nb in _COMPLEX:
            return DTYPES["complex64" if bits <= 32 else "complex128"]
        return DTYPES[f"float{bits}"]
    raise TypeError(
        f"agrad.{op}: the Array API defines no type promotion between {a} and {b}"
        + (
            " (uint64 and signed integers have no common integer type)"
            if {a.kind, b.kind} == {"signed integer", "unsigned integer"}
            else " (no promotion across bool, integer and floating kinds)"
        )
        + "; convert one first, e.g. ag.astype(x, ag.float64)"
    )


def _scalar_ok(value, dt: DType) -> builtins.bool:
    """Whether a Python scalar may combine with an array of dtype ``dt`` (the standard): a
    ``bool`` with ``bool``, an ``int`` with numbers, a ``float`` or ``complex`` with floating
    dtypes (a ``complex`` makes a real one complex, of the same precision)."""
    if isinstance(value, builtins.bool):
        return dt.kind == "bool"
    if isinstance(value, int):
        return dt.kind != "bool"
    return dt.is_floating


def _check_int_range(
    name, a, dt, fix="convert the tensor to a wider dtype first, e.g. ag.astype(x, ag.int64)"
):
    """A Python int outside an integer dtype's range: the standard leaves the result unspecified
    and the backends disagree (NumPy and array-api-strict raise, torch wraps: uint8 ``x < -1``
    compared with 255), so agrad refuses it everywhere."""
    bounds = _int_bounds(dt)
    if not bounds[0] <= a <= bounds[1]:
        raise OverflowError(
            f"agrad.{name}: the Python int {a} does not fit the dtype {dt.name} "
            f"(from {bounds[0]} to {bounds[1]}), and backends differ on such a value (NumPy "
            f"raises, torch wraps it around): {fix}."
        )


def _int_bounds(dt):
    """``(min, max)`` of the integer DType ``dt``, as Python ints (kept per dtype)."""
    bounds = _INT_BOUNDS.get(dt)
    if bounds is None:
        info = iinfo(dt)
        bounds = _INT_BOUNDS[dt] = (info.min, info.max)
    return bounds


_INT_BOUNDS: dict = {}


def result_type(*arrays_and_dtypes) -> DType:
    """The dtype the standard's type promotion gives for tensors, dtypes and Python scalars.

    Python scalars take the other operands' dtype, within a kind only (an ``int`` with integer
    or floating dtypes and within an integer dtype's range, a ``float`` with floating ones, a
    ``bool`` with ``bool``); a ``complex`` with a real floating dtype gives the complex dtype of
    its precision. At least one tensor or dtype is required.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.result_type(ag.float32, ag.complex64, 2.0)
    agrad.complex64
    >>> ag.result_type(ag.float32, 1j)
    agrad.complex64
    """
    if not arrays_and_dtypes:
        raise ValueError("agrad.result_type: needs at least one tensor or dtype")
    scalars, dtypes = [], []
    for a in arrays_and_dtypes:
        if isinstance(a, (builtins.bool, int, float, complex)):
            scalars.append(a)
        else:
            dtypes.append(_as_dtype(a, "result_type"))
    if not dtypes:
        raise TypeError(
            "agrad.result_type: needs at least one tensor or dtype; Python scalars alone have "
            f"no Array API dtype (got {', '.join(map(repr, scalars))})"
        )
    res = dtypes[0]
    for dt in dtypes[1:]:
        res = _promote(res, dt, "result_type")
    for s in scalars:
        if not _scalar_ok(s, res):
            raise TypeError(
                f"agrad.result_type: the Python {type(s).__name__} {s!r} does not combine with "
                f"{res}: the Array API promotes Python scalars only within a kind"
            )
        if type(s) is int and res.kind in ("signed integer", "unsigned integer"):
            _check_int_range("result_type", s, res, "use a wider dtype")
        if type(s) is complex and res.kind == "real floating":
            res = DTYPES["complex64" if _REAL[res.name] <= 32 else "complex128"]
    return res


def can_cast(from_, to, /) -> builtins.bool:
    """Whether ``from_`` (a dtype or tensor) casts to ``to`` under the standard's promotion
    rules: True exactly when promoting the two gives ``to``.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.can_cast(ag.int8, ag.int32), ag.can_cast(ag.int64, ag.float64)
    (True, False)
    """
    src = _as_dtype(from_, "can_cast")
    dst = _as_dtype(to, "can_cast", arrays=False)
    try:
        return _promote(src, dst, "can_cast") is dst
    except TypeError:
        return False


def isdtype(dtype, kind) -> builtins.bool:
    """Whether ``dtype`` is of ``kind``: a dtype, one of ``"bool"``, ``"signed integer"``,
    ``"unsigned integer"``, ``"integral"``, ``"real floating"``, ``"complex floating"``,
    ``"numeric"``, or a tuple of these.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.isdtype(ag.float32, ("integral", "real floating"))
    True
    """
    dt = _as_dtype(dtype, "isdtype", arrays=False)
    if isinstance(kind, tuple):
        return builtins.any(isdtype(dt, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(
                f"agrad.isdtype: unknown kind {kind!r}; use one of {', '.join(map(repr, _KINDS))}"
                ", a dtype, or a tuple of these"
            )
        if kind == "integral":
            return dt.kind in ("signed integer", "unsigned integer")
        if kind == "numeric":
            return dt.kind != "bool"
        return dt.kind == kind
    return dt is _as_dtype(kind, "isdtype", arrays=False)


# ---- finfo / iinfo ----------------------------------------------------------------------------
class finfo_object(NamedTuple):
    """Machine limits of a floating-point dtype (the standard's ``finfo`` attributes)."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: DType


class iinfo_object(NamedTuple):
    """Machine limits of an integer dtype (the standard's ``iinfo`` attributes)."""

    bits: int
    max: int
    min: int
    dtype: DType


def finfo(type, /) -> finfo_object:
    """Limits of a floating-point dtype (or a tensor's dtype). For a complex dtype they are
    those of its real components, and ``dtype`` is that real dtype.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.finfo(ag.float32).bits, ag.finfo(ag.complex128).dtype
    (32, agrad.float64)
    """
    dt = _as_dtype(type, "finfo")
    if not dt.is_floating:
        raise TypeError(
            f"agrad.finfo: {dt} is not a floating-point dtype"
            + ("; use ag.iinfo for integers" if dt.kind != "bool" else "")
        )
    f = np.finfo(np.dtype(dt.name))
    real = DTYPES[np.dtype(f.dtype).name]
    return finfo_object(
        int(f.bits), float(f.eps), float(f.max), float(f.min), float(f.smallest_normal), real
    )


def iinfo(type, /) -> iinfo_object:
    """Limits of an integer dtype (or a tensor's dtype).

    Examples
    --------
    >>> import agrad as ag
    >>> ag.iinfo(ag.int8)
    iinfo_object(bits=8, max=127, min=-128, dtype=agrad.int8)
    """
    dt = _as_dtype(type, "iinfo")
    if dt.kind not in ("signed integer", "unsigned integer"):
        raise TypeError(
            f"agrad.iinfo: {dt} is not an integer dtype"
            + ("; use ag.finfo for floating-point dtypes" if dt.is_floating else "")
        )
    i = np.iinfo(np.dtype(dt.name))
    return iinfo_object(int(i.bits), int(i.max), int(i.min), dt)

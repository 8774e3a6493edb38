"""Backends and devices: resolved once, when a tensor is created.

A :class:`Backend` wraps one Array API namespace (NumPy and CuPy through ``array-api-compat``,
torch, JAX, array-api-strict, or any conforming module) and knows the few things agrad needs
beyond the standard: how to turn its dtypes into agrad's, how to name and compare its devices,
how to copy an array to host NumPy, a device context for CuPy, and a scatter-add (which the
standard lacks) with a fast path per library.

Everything here is looked up once per array *type* or backend *name* and cached; the per-op path
only reads attributes of an already-resolved :class:`Backend`.
"""

from __future__ import annotations

import functools
import importlib
import math
import operator
import sys
import types

import numpy as np

from . import _dtypes
from ._dtypes import DType

__all__ = ["Backend", "get_backend", "backend_of_array", "resolve", "BACKEND_NAMES"]

BACKEND_NAMES = ("numpy", "cupy", "torch", "jax", "array_api_strict")

# module name -> (backend name, how to get its Array API namespace)
_MODULE_ALIASES = {
    "numpy": "numpy",
    "array_api_compat.numpy": "numpy",
    "cupy": "cupy",
    "array_api_compat.cupy": "cupy",
    "torch": "torch",
    "array_api_compat.torch": "torch",
    "jax.numpy": "jax",
    "jax": "jax",
    "array_api_strict": "array_api_strict",
}

_INSTALL_HINT = {
    "numpy": "install NumPy: pip install numpy",
    "cupy": "install CuPy for your CUDA version: pip install 'agrad[cuda12]' (or agrad[cuda13])",
    "torch": "install PyTorch: pip install torch",
    "jax": "install JAX: pip install jax",
    "array_api_strict": "install it: pip install array-api-strict",
}


class Backend:
    """One array library as agrad sees it. Obtain with :func:`get_backend`; never construct twice.

    Attributes
    ----------
    name : str
        The name accepted by ``backend=`` (``"numpy"``, ``"torch"`` ...).
    xp : namespace
        The library's Array API namespace plus agrad's extras (``index_add``); forward functions
        and plain-mode VJPs receive it. On NumPy it calls NumPy's own functions where
        array-api-compat's only forward to them.
    xp2 : namespace
        ``xp`` for two arrays of one dtype (the binary ops' fast path): on torch, torch's own
        two-argument functions, without the wrappers that fix mixed-dtype promotion.
    meta, meta1 : dict
        The shared ``(shape, dtype)`` records of the nodes recorded on this backend.
    fix : callable or None
        Normalises a raw result to an array (NumPy returns scalars for 0-d results), or None.
    update : callable or None
        ``update(tensor, op_name, other) -> bool``: an unrecorded ``x op= y`` done on the
        array itself where no one else can see it (NumPy), else None.
    promote_fix : callable or None
        ``promote_fix(backend, raws, op_name) -> raws``: an op's arrays of mixed dtypes cast to
        the standard's result dtype, for a library that refuses some promotions (torch).
    leaf_grad : callable or None
        ``leaf_grad(g, like)``: a leaf's gradient ``g`` as ``.grad`` keeps it, laid out like the
        leaf's array ``like`` (PyTorch's layout contract: a transposed or broadcast view is
        copied to the leaf's contiguous layout, so updates and later ops run at full speed);
        defaults to ``fix``.
    array_type : type or None
        The array type ``fix`` leaves unchanged (the hot paths call ``fix`` only on others).
    multi_device : bool
        Whether arrays of this backend can live on more than one device (checked per op).
    """

    __slots__ = (
        "name",
        "module",
        "xp",
        "fix",
        "update",
        "leaf_grad",
        "array_type",
        "multi_device",
        "_to_agrad",
        "_to_raw",
        "_floating",
        "real_dtypes",
        "complex_dtypes",
        "_index_add",
        "ctx",
        "meta",
        "meta1",
        "xp2",
        "promote_fix",
        "__weakref__",
    )

    def __init__(
        self,
        name: str,
        module,
        multi_device: bool,
        fix=None,
        index_add=None,
        update=None,
        leaf_grad=None,
    ):
        self.name = name
        self.module = module
        self.multi_device = multi_device
        self.fix = fix
        self.array_type = getattr(fix, "array_type", None)
        self.update = update
        self.leaf_grad = leaf_grad or fix
        self.ctx = None  # a device-context factory where the library needs one (CuPy)
        # casts an op's tensors of mixed dtypes to the standard's result dtype where the library
        # would not promote them itself (torch: uint16-uint64), else None
        self.promote_fix = _PROMOTE_FIXES.get(name)
        # shared (shape, dtype) tuples of the nodes' ``meta`` (see agrad._op); per backend, as
        # dtypes of different libraries must not be compared
        self.meta: dict = {}
        self.meta1: dict = {}
        self._to_agrad: dict = {}
        self._to_raw: dict = {}
        self._floating: dict = {}
        for dname, dt in _dtypes.DTYPES.items():
            raw = getattr(module, dname, None)
            if raw is None:
                continue
            self._to_raw[dt] = raw
            self._to_agrad[raw] = dt
        #: raw dtypes of kind "real floating": Python floats and ints combine with these as is
        reals = [raw for dt, raw in self._to_raw.items() if dt.kind == "real floating"]
        # NumPy and CuPy name their dtypes by scalar types; arrays report np.dtype objects
        self.real_dtypes = frozenset(reals + [np.dtype(r) for r in reals if isinstance(r, type)])
        cplx = [raw for dt, raw in self._to_raw.items() if dt.kind == "complex floating"]
        self.complex_dtypes = frozenset(cplx + [np.dtype(r) for r in cplx if isinstance(r, type)])
        self._index_add = index_add or _index_add_generic
        # The namespace handed to forwards and VJPs: the library's own functions plus extras.
        ns = types.SimpleNamespace(
            **{k: v for k, v in vars(module).items() if not k.startswith("__")}
        )
        for ext in ("linalg", "fft"):  # extensions some libraries load lazily (module __getattr__)
            if not hasattr(ns, ext) and hasattr(module, ext):
                setattr(ns, ext, getattr(module, ext))
        for fname, fix_fn in _NAMESPACE_FIXES.get(name, {}).items():
            setattr(ns, fname, functools.partial(fix_fn, getattr(module, fname)))
        native = _NAMESPACE_NATIVE.get(name)
        for fname, fn in (native() if native else {}).items():
            setattr(ns, fname, fn)
        ns.index_add = self.index_add
        ns.index_set = self.index_set
        ns.__name__ = f"agrad-{name}"
        self.xp = ns
        # the namespace for two tensors of one dtype (the binary ops' fast path): where the
        # compat layer only fixes mixed-dtype promotion, the library's own function
        same = _SAME_DTYPE_NATIVE.get(name)
        self.xp2 = ns if same is None else types.SimpleNamespace(**{**vars(ns), **same(ns)})

    def __repr__(self) -> str:
        return f"<agrad backend {self.name!r}>"

    # ---- dtypes -------------------------------------------------------------------------
    def dtype(self, raw_dtype) -> DType:
        """agrad's DType for one of this backend's dtypes."""
        try:
            return self._to_agrad[raw_dtype]
        except (KeyError, TypeError):
            dt = _dtypes.canonical(raw_dtype)
            if dt is None:
                raise TypeError(f"agrad: unknown {self.name} dtype {raw_dtype!r}") from None
            self._to_agrad[raw_dtype] = dt
            return dt

    def floating(self, raw_dtype) -> bool:
        """Whether a raw dtype of this backend is floating (real or complex): can carry grad."""
        try:
            return self._floating[raw_dtype]
        except KeyError:
            res = self._floating[raw_dtype] = self.dtype(raw_dtype).is_floating
            return res

    def raw_dtype(self, dtype):
        """This backend's dtype object for ``dtype`` (an agrad DType, a name, or a raw dtype)."""
        if dtype is None:
            return None
        dt = dtype if isinstance(dtype, DType) else _dtypes.canonical(dtype)
        if dt is None:
            raise TypeError(f"agrad: {dtype!r} is not a dtype; use ag.float32, ag.int64 ...")
        try:
            return self._to_raw[dt]
        except KeyError:
            raise TypeError(f"agrad: the {self.name} backend has no dtype {dt.name}") from None

    # ---- devices ------------------------------------------------------------------------
    def device_of(self, raw):
        """The device a raw array of this backend lives on."""
        if self.name == "numpy":  # one device; array_api_compat.device costs 0.3 µs
            return "cpu"
        import array_api_compat

        return array_api_compat.device(raw)

    def normalize_device(self, device):
        """Turn what the user passed as ``device=`` into this backend's device object."""
        return _normalize_device(self, device)

    def default_device(self):
        return _normalize_device(self, None)

    # ---- data movement ------------------------------------------------------------------
    def to_numpy(self, raw) -> np.ndarray:
        """An explicit copy of ``raw`` in host memory as a NumPy array."""
        if self.name == "numpy":
            return np.array(raw, copy=True)
        if self.name == "cupy":
            return raw.get()
        if self.name == "torch":
            return raw.detach().cpu().numpy().copy()
        try:
            return np.array(np.from_dlpack(raw), copy=True)
        except Exception:  # pragma: no cover - libraries without a host DLPack export
            return np.array(raw, copy=True)

    def from_foreign(self, obj, dtype, device, copy):
        """Create an array of this backend from data that belongs to another library; with
        no ``dtype``, the data's own dtype is kept or it is an error (never a silent cast)."""
        rdt = self.raw_dtype(dtype)
        try:
            out = self.module.asarray(obj, dtype=rdt, device=device, copy=copy)
        except Exception as e:
            # through a contiguous NumPy copy on the host (torch takes no negative strides)
            if copy is False:
                raise ValueError(
                    f"agrad.asarray: cannot make a {self.name} array from a "
                    f"{type(obj).__module__}.{type(obj).__name__} without copying it, and "
                    f"copy=False forbids a copy ({self.name} said: {e}); pass copy=None"
                ) from e
            host = obj if isinstance(obj, np.ndarray) else _foreign_to_numpy(obj)
            out = self.module.asarray(np.ascontiguousarray(host), dtype=rdt, device=device)
        if dtype is None:
            _check_kept_dtype(self, obj, out)
        return out

    def index_set(self, x, key, values):
        """``x`` with ``x[key] = values``, not in place (``x`` is untouched)."""
        xp = self.module
        if self.name == "jax":  # pragma: no cover - exercised when JAX is installed
            return x.at[key].set(values)
        out = xp.asarray(x, copy=True)
        try:
            out[key] = values
            return out
        except (IndexError, TypeError):
            pass
        # libraries whose __setitem__ takes no integer arrays (array-api-strict): each element
        # takes the last value written to it, found through flat positions and a (written x
        # size) table, with no arithmetic on the values (any dtype). NumPy's order: where an
        # index repeats, the last write wins (the standard leaves repeated writes unspecified).
        lin = _linear_index(self, x, key)
        if not hasattr(values, "shape"):
            values = xp.asarray(values, dtype=x.dtype, device=x.device)
        vals = xp.reshape(xp.astype(xp.broadcast_to(values, lin.shape), x.dtype), (-1,))
        lin = xp.reshape(lin, (-1,))
        n = math.prod(x.shape)
        hit = lin[:, None] == xp.arange(n, dtype=lin.dtype, device=x.device)[None, :]
        order = xp.arange(lin.shape[0], dtype=lin.dtype, device=x.device)[:, None]
        last = xp.max(xp.where(hit, order, -1), axis=0) if lin.shape[0] else None
        if last is None:  # nothing is written
            return out
        picked = xp.take(vals, xp.where(last >= 0, last, 0), axis=0)
        flat = xp.where(last >= 0, picked, xp.reshape(x, (-1,)))
        return xp.reshape(flat, x.shape)

    def index_add(self, x, key, values):
        """``x`` with ``values`` added at ``x[key]``; repeated indices accumulate. Not in place."""
        if not hasattr(values, "shape"):  # a Python scalar: an array of x's dtype
            values = self.module.asarray(values, dtype=x.dtype, device=x.device)
        return self._index_add(self, x, key, values)


def _foreign_to_numpy(obj):
    if hasattr(obj, "get") and type(obj).__module__.startswith("cupy"):
        return obj.get()
    if hasattr(obj, "detach") and type(obj).__module__.startswith("torch"):
        return obj.detach().cpu().numpy()
    try:
        return np.from_dlpack(obj)
    except Exception:
        return np.asarray(obj)


# ---- scatter-add: the one home of the standard's missing operation ------------------------
def _is_basic_key(key) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


def _linear_index(bk, x, key):
    """Flat positions of the elements ``x[key]`` selects (any key the library can index with)."""
    xp = bk.module
    n = math.prod(x.shape)
    idx_dt = bk.raw_dtype("int64")
    lin = xp.reshape(xp.arange(n, dtype=idx_dt, device=x.device), x.shape)
    return lin[key]


def _index_add_generic(bk, x, key, values):
    """Portable scatter-add, written against the standard alone.

    Basic keys (ints, slices, ``...``, ``None``) select each element at most once, so a plain
    slice assignment is exact. Integer-array and mask keys go through flat positions and a
    masked sum over a (selected × size) table: O(selected × size) memory, fine for the libraries
    that have no faster way (array-api-strict); the others have fast paths below. (Not a one-hot
    matmul: ``0 * inf`` would put NaN wherever an infinite value is scattered.)
    """
    xp = bk.module
    out = xp.asarray(x, copy=True)
    if _is_basic_key(key):
        out[key] = out[key] + values
        return out
    lin = _linear_index(bk, x, key)
    n = math.prod(x.shape)
    vals = xp.reshape(xp.broadcast_to(values, lin.shape), (-1,))
    lin = xp.reshape(lin, (-1,))
    hit = lin[:, None] == xp.arange(n, dtype=lin.dtype, device=x.device)[None, :]
    zero = xp.zeros((), dtype=vals.dtype, device=x.device)
    if vals.dtype == xp.bool:  # adding booleans is "or" (NumPy's add.at); there is no sum
        contrib = xp.any(xp.where(hit, vals[:, None], zero), axis=0)
        return xp.logical_or(out, xp.reshape(contrib, x.shape))
    # in x's dtype (the standard's sum would widen int32 to int64, and the result with it)
    contrib = xp.sum(xp.where(hit, vals[:, None], zero), axis=0, dtype=x.dtype)
    return out + xp.reshape(contrib, x.shape)


def _index_add_numpy(bk, x, key, values):
    out = np.array(x, copy=True)
    np.add.at(out, key, values)
    return out


# the dtypes CUDA's atomicAdd takes, which cupy.add.at needs (CuPy's own tests: 'iILQefd')
_CUPY_ATOMIC = frozenset({"int32", "uint32", "uint64", "float16", "float32", "float64"})


def _index_add_cupy(bk, x, key, values):  # pragma: no cover - needs a CUDA device
    import cupy

    kind = x.dtype.name
    if kind.startswith("complex"):  # atomics add real numbers: the two parts apart
        v = cupy.asarray(values)
        re = _index_add_cupy(bk, cupy.ascontiguousarray(x.real), key, cupy.real(v))
        im = _index_add_cupy(bk, cupy.ascontiguousarray(x.imag), key, cupy.imag(v))
        return re + 1j * im
    if kind not in _CUPY_ATOMIC:  # int8, uint8, int16, int64, bool: the portable scatter-add
        return _index_add_generic(bk, x, key, values)
    out = x.copy()
    if hasattr(cupy.add, "at"):  # CuPy 13+ (cupyx.scatter_add is deprecated from 14)
        cupy.add.at(out, key, values)
    else:
        import cupyx

        cupyx.scatter_add(out, key, values)
    return out


def _index_add_torch(bk, x, key, values):
    out = x.clone()
    if _is_basic_key(key):
        out[key] += values
        return out
    lin = _linear_index(bk, x, key)
    vals = values.broadcast_to(lin.shape).reshape(-1)
    out.view(-1).index_add_(0, lin.reshape(-1), vals.to(out.dtype))
    return out


def _index_add_jax(bk, x, key, values):  # pragma: no cover - exercised when JAX is installed
    if x.dtype == bool:  # JAX adds no booleans: "or" is their maximum
        return x.at[key].max(values)
    return x.at[key].add(values)


def _check_kept_dtype(bk, src, out):
    """A backend that stores floating data in a narrower dtype than the data's own (JAX outside
    its 64-bit mode makes float32 of float64) is a clear error, not a silent loss of precision.
    (Integers are left to the backend: JAX's int32 labels are its convention, and exact.)"""
    have = _dtypes.canonical(getattr(src, "dtype", None))
    got = _dtypes.canonical(out.dtype)
    if have is None or got is None or have is got or not have.is_floating:
        return
    hint = (
        "; JAX keeps 64-bit dtypes only in its 64-bit mode: set JAX_ENABLE_X64=1 (or call "
        "jax.config.update('jax_enable_x64', True)) before making arrays"
        if bk.name == "jax"
        else ""
    )
    raise TypeError(
        f"agrad: the {bk.name} backend would store this {have.name} data as {got.name}{hint}; "
        f"or ask for {got.name} explicitly (dtype=ag.{got.name} in asarray, ag.astype before "
        "to_device)"
    )


def _torch_int_division(name, f, x1, x2):
    """torch's integer division by zero raises a bare ``RuntimeError: ZeroDivisionError``:
    agrad's ZeroDivisionError names the op and says what the other backends do."""
    try:
        return f(x1, x2)
    except RuntimeError as e:
        if "ZeroDivisionError" not in str(e):
            raise
        raise ZeroDivisionError(
            f"agrad.{name}: integer division by zero on torch, which refuses it (the standard "
            "leaves the result unspecified; NumPy gives 0 with a RuntimeWarning); keep zeros "
            "out of integer divisors, e.g. ag.where(x2 == 0, 1, x2)"
        ) from None


def _floor_divide_by_zero(floor_divide, x1, x2):
    return _torch_int_division("floor_divide", floor_divide, x1, x2)


def _remainder_signed_zero(remainder, x1, x2):
    """torch's remainder gives +0 where the standard wants the divisor's sign (-0 for x2 < 0)."""
    import torch

    out = _torch_int_division("remainder", remainder, x1, x2)
    if out.dtype.is_floating_point:
        sign = x2 if isinstance(x2, torch.Tensor) else torch.tensor(float(x2), dtype=out.dtype)
        out = torch.where(out == 0, torch.copysign(torch.zeros_like(out), sign), out)
    return out


def _long_indices(take_along_axis, x, indices, /, *, axis=-1):
    """torch's take_along_dim (a gather) takes int64 indices only; the standard, any integer
    dtype (int32 or uint8 class labels, say)."""
    return take_along_axis(x, indices.long(), axis=axis)


def _promote_wide_uints(bk, raws, op_name):
    """torch promotes no uint16, uint32 or uint64 with another dtype ("Promotion for uint16,
    uint32, uint64 types is not supported"), where the standard defines the result (uint16 with
    int8 is int32): the tensors are cast to it first. Only an op's mixed-dtype path calls this."""
    import torch

    from ._info import _promote  # (_info imports this module)

    tensors = [r for r in raws if isinstance(r, torch.Tensor)]
    raw = {t.dtype for t in tensors}
    if len(raw) < 2 or not raw & {torch.uint16, torch.uint32, torch.uint64}:
        return raws
    target = None
    for t in tensors:
        dt = bk.dtype(t.dtype)
        target = dt if target is None else _promote(target, dt, op_name)
    to = bk.raw_dtype(target)
    return [r.to(to) if isinstance(r, torch.Tensor) and r.dtype != to else r for r in raws]


_PROMOTE_FIXES = {"torch": _promote_wide_uints}


def _remainder_floored(remainder, x1, x2):
    """CuPy's floating remainder is x1 - floor(x1 / x2) * x2: remainder(1, 1e-300) is 7e-17
    (not 9e-301), an infinite x2 gives NaN (the standard: x1, or x2 when the signs differ),
    and a zero is +0 where the standard gives it x2's sign. This is the floored remainder the
    standard describes (NumPy's and Python's), from the exact fmod."""
    import cupy

    r = cupy.fmod(x1, x2)  # exact, with x1's sign
    if r.dtype.kind != "f":
        return remainder(x1, x2)
    neg2 = cupy.signbit(cupy.asarray(x2, dtype=r.dtype))
    r = cupy.where((r != 0) & (cupy.signbit(r) != neg2), r + x2, r)  # x2's sign (NaN stays)
    return cupy.where(r == 0, cupy.where(neg2, -0.0, 0.0).astype(r.dtype), r)


def _jax_zero_sign(out, sign):  # pragma: no cover - JAX only
    """``out`` with each zero given the sign of ``sign`` (floating results only)."""
    import jax.numpy as jnp

    if not jnp.issubdtype(out.dtype, jnp.floating):
        return out
    return jnp.where(out == 0, jnp.copysign(jnp.zeros_like(out), sign), out)


def _remainder_divisor_sign(remainder, x1, x2):  # pragma: no cover - JAX only
    """JAX's remainder gives a zero the dividend's sign; the standard (and Python) the
    divisor's (remainder(-1.0, 1.0) is +0, remainder(1.0, -1.0) is -0)."""
    return _jax_zero_sign(remainder(x1, x2), x2)


def _floor_divide_quotient_sign(floor_divide, x1, x2):  # pragma: no cover - JAX only
    """JAX's floor_divide loses the sign of a zero quotient; the standard gives it the
    quotient's sign (floor_divide(-0.0, 2.0) is -0, floor_divide(0.5, -inf) is -0)."""
    import jax.numpy as jnp

    return _jax_zero_sign(floor_divide(x1, x2), jnp.copysign(1.0, x1) * jnp.copysign(1.0, x2))


# Where a library's own function departs from the standard, agrad's namespace for it uses a
# corrected one (found by tests/test_semantics.py against array-api-strict).
_NAMESPACE_FIXES = {
    "torch": {
        "remainder": _remainder_signed_zero,
        "floor_divide": _floor_divide_by_zero,
        "take_along_axis": _long_indices,
    },
    "cupy": {"remainder": _remainder_floored},
    "jax": {"remainder": _remainder_divisor_sign, "floor_divide": _floor_divide_quotient_sign},
}


def _numpy_native() -> dict:
    """NumPy's own functions for names whose array-api-compat wrapper only forwards to them.

    From NumPy 2.0 these agree with the standard (the creation functions take ``device="cpu"``,
    which is the only device agrad hands them), and calling them directly saves the wrapper's
    0.3-0.6 µs per call, a third of a small op's cost. On NumPy 1.x the wrappers stay.
    """
    if int(np.__version__.split(".")[0]) < 2:  # pragma: no cover - NumPy 1.x
        return {}
    names = "matmul permute_dims empty empty_like full full_like zeros"
    native = {n: getattr(np, n) for n in names.split()}
    # np.ones, np.ones_like and np.zeros_like are an empty array plus a copyto: 0.65-0.78 µs,
    # against 0.15-0.35 for the empty array filled by itself (a backward's seed is one)
    native["ones"] = _np_ones
    native["ones_like"] = _np_ones_like
    native["zeros_like"] = _np_zeros_like
    # the .mT view (ValueError below 2-D, as the standard says): 0.05 µs, np.matrix_transpose 0.5
    native["matrix_transpose"] = operator.attrgetter("mT")
    # np.sum and np.mean are Python wrappers around np.add.reduce (0.8 and 1.5 µs of the 1.5
    # and 2.3 a small reduction takes); np.broadcast_to builds an iterator (1.8 µs)
    native["sum"] = _np_sum
    native["mean"] = _np_mean
    native["any"] = _np_any  # np.any and np.all wrap these reductions too (0.9 µs of 1.6)
    native["all"] = _np_all
    native["broadcast_to"] = _np_broadcast_to
    native["reshape"] = _np_reshape(importlib.import_module("array_api_compat.numpy").reshape)
    return native


def _np_reshape(compat_reshape):
    """The standard's reshape: the array's own method when ``copy`` is not asked for (np.reshape
    is three Python frames around it: 1.0 µs against 0.2), the compat layer's otherwise."""

    def reshape(x, /, shape, *, copy=None):
        if copy is None and isinstance(x, (np.ndarray, np.generic)):
            return x.reshape(shape)  # (a view where the layout allows, else a copy: as np's)
        return compat_reshape(x, shape, copy=copy)

    return reshape


_add_reduce = np.add.reduce


def _np_any(x, /, *, axis=None, keepdims=False):
    """np.any without its wrapper: NumPy's own logical_or reduction (a bool result)."""
    return _or_reduce(x, axis=axis, keepdims=keepdims)


def _np_all(x, /, *, axis=None, keepdims=False):
    """np.all without its wrapper: NumPy's own logical_and reduction (a bool result)."""
    return _and_reduce(x, axis=axis, keepdims=keepdims)


_or_reduce, _and_reduce = np.logical_or.reduce, np.logical_and.reduce


def _np_ones(shape, *, dtype=None, device=None):
    """np.ones without its wrapper: the same empty array, filled with 1 by the array itself."""
    out = np.empty(shape, dtype=dtype, device=device)
    out.fill(1)
    return out


def _np_ones_like(x, /, *, dtype=None, device=None):
    """np.ones_like without its wrapper (the same layout: NumPy's empty_like keeps x's)."""
    out = np.empty_like(x, dtype=dtype, device=device)
    out.fill(1)
    return out


def _np_zeros_like(x, /, *, dtype=None, device=None):
    """np.zeros_like without its wrapper (the same layout: NumPy's empty_like keeps x's)."""
    out = np.empty_like(x, dtype=dtype, device=device)
    out.fill(0)
    return out


def _np_sum(x, /, *, axis=None, dtype=None, keepdims=False):
    """np.sum without its wrapper: the same ufunc reduction, the same promotions."""
    return _add_reduce(x, axis=axis, dtype=dtype, keepdims=keepdims)


def _np_mean(x, /, *, axis=None, keepdims=False):
    """np.mean's own arithmetic (the sum in the input's dtype, then one division by the count)
    for float32/float64/complex; anything else (float16, which np.mean accumulates in float32,
    integers, empty arrays) goes to np.mean."""
    dt = x.dtype
    if dt.kind not in "fc" or dt.itemsize < 4 or not x.size:
        return np.mean(x, axis=axis, keepdims=keepdims)
    total = _add_reduce(x, axis=axis, keepdims=keepdims)
    return total / (x.size // total.size)


# below this many elements a filled array is cheaper to make than np.broadcast_to's view (0.2
# against 1.8 µs); above it the view saves the memory
_FILL_MAX = 4096


def _np_broadcast_to(x, /, shape):
    """The standard's broadcast_to: a filled array when small, NumPy's read-only view else."""
    # (NumPy scalars too: ``g / n`` of a 0-d array is one; Python numbers go to NumPy's)
    if not isinstance(x, (np.ndarray, np.generic)) or math.prod(shape) > _FILL_MAX:
        return np.broadcast_to(x, shape)
    out = np.empty(shape, dtype=x.dtype)
    out[...] = x  # (a ValueError, as np.broadcast_to's, when the shapes do not broadcast)
    return out


_NAMESPACE_NATIVE = {"numpy": _numpy_native}


def _torch_same_dtype(ns) -> dict:
    """torch's own two-argument functions behind array-api-compat's promotion wrappers.

    The wrappers make torch follow the standard's type promotion when the dtypes differ (a 0-d
    tensor would otherwise be cast to the other's dtype) and cost 0.5-1 µs a call; for two
    tensors of one dtype there is nothing to fix. Functions agrad corrects itself stay.
    """
    import torch

    out = {}
    for name, fn in vars(ns).items():
        native = getattr(fn, "__wrapped__", None)
        if native is not None and native is getattr(torch, name, None):
            if name not in _NAMESPACE_FIXES.get("torch", {}):
                out[name] = native
    return out


_SAME_DTYPE_NATIVE = {"torch": _torch_same_dtype}


def _update_numpy(t, name, other) -> bool:
    """``t op= other`` on ``t``'s own NumPy array, when nobody could see the difference.

    agrad's in-place operators rebind a tensor to a new array, so that no array a node saved
    is ever written. Rebinding costs an allocation per update (an optimizer step allocates a
    new array per parameter and state buffer). When the array owns its data and nothing but
    ``t`` refers to it (no node saved it, no other tensor or view shares it: CPython's
    reference count says so), writing it in place is indistinguishable, and free.
    Returns False (and does nothing) otherwise.
    """
    ufunc = _UFUNCS.get(name)
    if ufunc is None:  # only +=, -=, *=: the others change dtype or shape too easily
        return False
    a = t._data
    if sys.getrefcount(a) != _ALONE or a.base is not None or not a.flags.writeable:
        return False
    if type(other) is float or type(other) is int:
        if a.dtype.kind != "f":
            return False
        b = other
    else:
        b = getattr(other, "_data", None)
        if type(b) is not np.ndarray or b.dtype is not a.dtype:
            return False
        if b.shape != a.shape and np.broadcast_shapes(a.shape, b.shape) != a.shape:
            return False
    ufunc(a, b, out=a)
    return True


_UFUNCS = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply}


class _Held:
    __slots__ = ("_data",)


def _refs_when_alone() -> int:
    """What ``sys.getrefcount`` says in :func:`_update_numpy` of an array only its tensor holds:
    read the same way here, on an array only ``h`` holds. Interpreted: 3 (``h._data``, the
    local ``a``, getrefcount's own argument); compiled code passes the argument without a
    reference of its own, so 2 there, and a hard-coded 3 would write arrays others can see."""
    h = _Held()
    h._data = np.empty(1)
    a = h._data
    return sys.getrefcount(a)


_ALONE = _refs_when_alone()


def _fix_numpy(r):
    """NumPy returns scalars for 0-d results; agrad always holds arrays."""
    return r if type(r) is np.ndarray else np.asarray(r)


_fix_numpy.array_type = np.ndarray  # what the fix leaves alone: the hot paths skip the call


def _leaf_grad_numpy(g, like):
    """A leaf's gradient as an array laid out like the leaf (see ``Backend.leaf_grad``)."""
    if type(g) is not np.ndarray:
        return np.asarray(g)
    if g.flags.c_contiguous or not like.flags.c_contiguous:
        return g
    # a transposed view (the weight of ``x @ W.mT``) or a broadcast one (the VJP of a sum):
    # one copy here, where every update would otherwise walk it strided
    return np.ascontiguousarray(g)


# ---- the registry of backends ------------------------------------------------------------
_BACKENDS: dict[str, Backend] = {}
_BY_ARRAY_TYPE: dict[type, Backend] = {}


def _make(name: str) -> Backend:
    spec = _SPECS.get(name)
    if spec is None:
        raise ValueError(
            f"agrad: unknown backend {name!r}; use one of {', '.join(map(repr, BACKEND_NAMES))} "
            "or pass an Array API namespace module"
        )
    module_name, cls, multi_device, fix, index_add, update, leaf_grad = spec
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        hint = _INSTALL_HINT.get(name, "")
        raise ImportError(f"agrad: backend {name!r} is not available ({e}); {hint}") from None
    return cls(
        name,
        module,
        multi_device,
        fix=fix,
        index_add=index_add,
        update=update,
        leaf_grad=leaf_grad,
    )


class _CupyBackend(Backend):
    __slots__ = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # CuPy allocates on the current device, so ops and VJPs run in their arrays' device
        # context. With one visible GPU every array lives on the current device: the context
        # (about 1 µs an op, and the backward's general path for every node) is skipped.
        self.ctx = _cupy_ctx if _cuda_device_count() != 1 else None


def _cuda_device_count() -> int:
    """How many CUDA devices CuPy sees (0 when it cannot tell: the context is then kept)."""
    try:
        return int(importlib.import_module("cupy").cuda.runtime.getDeviceCount())
    except Exception:  # no driver, no device: CuPy fails on first use, with its own message
        return 0


def _cupy_ctx(device):  # pragma: no cover - a cupy.cuda.Device is its own context manager
    return device


# name -> (namespace module, Backend class, multi-device, result fix, scatter-add fast path,
#          unseen in-place update, leaf-gradient layout)
_SPECS = {
    "numpy": (
        "array_api_compat.numpy",
        Backend,
        False,
        _fix_numpy,
        _index_add_numpy,
        _update_numpy,
        _leaf_grad_numpy,
    ),
    "cupy": ("array_api_compat.cupy", _CupyBackend, True, None, _index_add_cupy, None, None),
    "torch": ("array_api_compat.torch", Backend, True, None, _index_add_torch, None, None),
    "jax": ("jax.numpy", Backend, True, None, _index_add_jax, None, None),
    "array_api_strict": ("array_api_strict", Backend, True, None, None, None, None),
}


def get_backend(backend) -> Backend:
    """The :class:`Backend` for a name, a namespace module, or a Backend."""
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, str):
        key = backend.lower().replace("-", "_")
        bk = _BACKENDS.get(key)
        if bk is None:
            bk = _BACKENDS[key] = _make(key)
        return bk
    if isinstance(backend, types.ModuleType):
        alias = _MODULE_ALIASES.get(backend.__name__)
        if alias is not None:
            return get_backend(alias)
        if not hasattr(backend, "asarray"):
            raise TypeError(f"agrad: module {backend.__name__!r} is not an Array API namespace")
        bk = _BACKENDS.get(backend.__name__)
        if bk is None:
            bk = _BACKENDS[backend.__name__] = Backend(backend.__name__, backend, True)
        return bk
    raise TypeError(
        f"agrad: backend= must be a name ({', '.join(map(repr, BACKEND_NAMES))}) or an Array "
        f"API namespace module, got {type(backend).__name__}"
    )


def backend_of_array(raw) -> Backend | None:
    """The Backend a raw array belongs to (cached per array type), or None if not an array."""
    t = type(raw)
    bk = _BY_ARRAY_TYPE.get(t)
    if bk is not None:
        return bk
    if t.__module__.startswith("numpy") and isinstance(raw, (np.ndarray, np.generic)):
        bk = get_backend("numpy")
    else:
        try:
            import array_api_compat

            ns = array_api_compat.array_namespace(raw)
        except TypeError:
            return None
        bk = get_backend(_MODULE_ALIASES.get(ns.__name__, ns))
    _BY_ARRAY_TYPE[t] = bk
    return bk


def _backend_for_device(device) -> str:
    """Which backend a bare ``device=`` (no ``backend=``) selects."""
    if isinstance(device, str):
        d = device.lower()
        if d == "cpu":
            return "numpy"
        if d == "cuda" or d.startswith("cuda:") or d == "gpu":
            return "cupy"
        raise ValueError(
            f"agrad: device {device!r} needs a backend; pass backend=... "
            "('cpu' selects NumPy, 'cuda'/'cuda:N' selects CuPy)"
        )
    if isinstance(device, int) and not isinstance(device, bool):
        return "cupy"
    mod = type(device).__module__.split(".")[0]
    if mod in ("torch", "cupy", "jax", "jaxlib", "array_api_strict"):
        return "jax" if mod == "jaxlib" else mod
    raise TypeError(f"agrad: cannot tell the backend of device {device!r}; pass backend=...")


def _normalize_device(bk: Backend, device):
    name = bk.name
    if name == "numpy":
        if device is None or device == "cpu":
            return "cpu"
        raise ValueError(
            f"agrad: the numpy backend has only device 'cpu', got {device!r}; "
            "for CUDA use device='cuda' (CuPy) or backend='torch', device='cuda'"
        )
    if name == "cupy":  # pragma: no cover - needs a CUDA device
        import cupy

        if device is None or device == "cuda" or device == "gpu":
            return cupy.cuda.Device()
        if isinstance(device, str) and device.startswith("cuda:"):
            return cupy.cuda.Device(int(device[5:]))
        if isinstance(device, int):
            return cupy.cuda.Device(device)
        if isinstance(device, cupy.cuda.Device):
            return device
        raise ValueError(f"agrad: the cupy backend cannot use device {device!r}; use 'cuda:N'")
    if name == "torch":
        import torch

        if device is None:
            return torch.empty(0).device
        if isinstance(device, int) and not isinstance(device, bool):
            return torch.device("cuda", device)
        try:
            dev = torch.device(device)
            if dev.type != "cpu" and dev.index is None:
                # 'cuda' is the current CUDA device: named with its index ('cuda:0'), as
                # torch's tensors name theirs, so that tensors made either way compare equal
                dev = torch.empty(0, device=dev).device
            return dev
        except (TypeError, RuntimeError, AssertionError) as e:  # (no CUDA: AssertionError)
            raise ValueError(
                f"agrad: the torch backend cannot use device {device!r} ({e})"
            ) from None
    if name == "array_api_strict":
        import array_api_strict as s

        if device is None or device == "cpu":
            return s.Device("CPU_DEVICE")
        if isinstance(device, s.Device):
            return device
        if isinstance(device, str):
            try:
                return s.Device(device)
            except ValueError as e:
                raise ValueError(
                    f"agrad: array_api_strict has no device {device!r} ({e})"
                ) from None
        raise ValueError(f"agrad: the array_api_strict backend cannot use device {device!r}")
    if name == "jax":  # pragma: no cover - exercised when JAX is installed
        import jax

        if device is None:
            return jax.devices()[0]
        if isinstance(device, str):
            kind, _, idx = device.partition(":")
            kind = {"cuda": "gpu"}.get(kind, kind)
            return jax.devices(kind)[int(idx or 0)]
        return device
    # a generic namespace: take the device as given, default to whatever asarray picks
    if device is None:
        return bk.module.asarray(0).device
    return device


# resolve()'s answers: creation functions ask the same question (``device=x.device``) on
# every call of a training loop, and answering it costs 0.4 µs. Keyed by the device's type too,
# so that equal keys of different types (``1`` and ``True``) never share an answer.
_RESOLVED: dict = {}


def resolve(backend, device):
    """Resolve ``backend=`` and ``device=`` into ``(Backend, device object)``."""
    key = (backend, device, type(device))
    try:
        return _RESOLVED[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable device: nothing to remember it by
        return _resolve(backend, device)
    answer = _resolve(backend, device)  # (errors are raised, not remembered)
    if len(_RESOLVED) >= 256:  # devices that vary without end only cost the caching
        _RESOLVED.clear()
    _RESOLVED[key] = answer
    return answer


def _resolve(backend, device):
    if backend is None:
        if device is None:
            bk = get_backend("numpy")
            return bk, "cpu"
        bk = get_backend(_backend_for_device(device))
    else:
        bk = get_backend(backend)
    return bk, bk.normalize_device(device)


def move(raw, src: Backend, dst: Backend, device):
    """Copy ``raw`` (an array of ``src``) to ``device`` of backend ``dst``: the one place data
    crosses devices or libraries (``Tensor.to_device`` and its VJP)."""
    if src is dst:
        if not dst.multi_device or dst.device_of(raw) == device:
            return raw
        if dst.name == "torch":
            return raw.to(device)
        if dst.name == "cupy":  # pragma: no cover - needs a CUDA device
            with device:
                return dst.module.asarray(raw)
        import array_api_compat

        return array_api_compat.to_device(raw, device)
    if dst.name == "cupy" or src.name == "cupy" or dst.name == "numpy":
        host = src.to_numpy(raw) if src.name != "numpy" else raw
        if dst.name == "numpy":
            return host
        return dst.from_foreign(host, None, device, None)
    return dst.from_foreign(raw, None, device, None)

"""Indexing: ``x[key]``, ``take``, ``take_along_axis``, and ``index_add``.

Every indexing VJP is a scatter-add, and ``index_add`` is its one home: repeated indices
accumulate, with a fast path per library (``np.add.at``, ``cupy.add.at``, torch's
``index_add_``, JAX's ``.at[].add``) and a portable fallback (see ``agrad._backend``).
``index_add``'s own VJP is a gather, so indexing is differentiable to any order.

Examples
--------
>>> import agrad as ag
>>> x = ag.asarray([1.0, 2.0, 3.0], requires_grad=True)
>>> ag.sum(x[ag.asarray([0, 0, 2])]).backward()
>>> x.grad
Tensor([2., 0., 1.], backend='numpy', device='cpu', dtype=float64)
"""

from __future__ import annotations

import numbers

from .._op import _mismatch, primitive
from .._tensor import Tensor, ops
from ._util import as_tensor, broadcast_shape, broadcasts_to, norm_axis, shape_of

# Libraries whose own indexing follows NumPy's rules for every key agrad accepts. The others get
# keys rewritten into a form the standard specifies (see _portable_key); torch follows NumPy
# except for negative slice steps and where integer arrays are not adjacent (rewritten too).
_NUMPY_INDEXING = frozenset({"numpy", "cupy", "jax"})
_NATIVE_BASIC = _NUMPY_INDEXING | {"torch"}  # these also read x[0] on a matrix as x[0, ...]


def _raw_key(x: Tensor, key, op):
    """Unwrap Tensors inside an index key (checking their backend and device) and make the key
    mean on every backend what it means in NumPy.

    A key of ints, slices and ``None`` that names fewer axes than ``x`` has gets a trailing
    ``...`` (the standard leaves that case to libraries). Keys with integer arrays or boolean
    masks mixed with other entries, which the standard leaves unspecified, are rewritten where
    the library would refuse them or read them differently (see :func:`_portable_key`).
    """
    ndim = len(x._data.shape)
    t = type(key)
    bk = x._bk
    if (t is int or (t is slice and (key.step is None or key.step > 0))) and ndim:
        # the common case, kept fast: NumPy-like libraries take it as is
        return key if ndim == 1 or bk.name in _NATIVE_BASIC else (key, Ellipsis)
    parts, kinds = [], []
    used = 0
    arrays = negative_step = False
    for k in key if t is tuple else (key,):
        tk = type(k)
        if tk is int:
            kind = "int"
        elif tk is slice:
            kind = "slice"
            negative_step = negative_step or (k.step is not None and k.step < 0)
        elif k is None:
            kind = "none"
        elif k is Ellipsis:
            kind = "ellipsis"
        else:
            k = _raw_key_part(x, k, op)
            kind = _kind(bk, k, op)
            if kind == "mask":
                used += len(k.shape) - 1
            elif kind == "array" and bk.name == "torch":
                # torch reads a uint8 array as a boolean mask and refuses int8/int16: integer
                # indices of any dtype mean positions, as in the standard (int64 is torch's own)
                k = k.long()
            arrays = arrays or kind in ("array", "mask")
        used += kind in ("int", "slice", "array", "mask")
        parts.append(k)
        kinds.append(kind)
    if "mask0" in kinds:
        if len(parts) == 1:
            return _Mask0(bool(parts[0]))
        raise IndexError(
            f"agrad.{op}: a 0-d boolean index must be the whole key (x[m], a new first axis of "
            f"length 1 if m else 0: the one use the Array API standard specifies), got it among "
            f"{len(parts)} indices; index in two steps instead, e.g. x[m][:, 0] for x[m, 0]"
        )
    if kinds.count("ellipsis") > 1:
        raise IndexError(f"agrad.{op}: an index can only have one ellipsis (...), got {key!r}")
    if used > ndim:
        raise IndexError(
            f"agrad.{op}: too many indices for a tensor of shape {x.shape}: the key indexes "
            f"{used} axes"
        )
    if arrays and (len(parts) > 1 or kinds[0] == "mask"):
        _check_arrays(x, parts, kinds, ndim - used, op)
    if bk.name in _NUMPY_INDEXING:
        rewrite = False
    elif bk.name == "torch":
        rewrite = negative_step or (arrays and not _adjacent(kinds))
    else:
        rewrite = arrays
    if rewrite:
        return _portable_key(x, parts, kinds, ndim - used, op)
    if not arrays and "ellipsis" not in kinds and used < ndim:
        parts.append(Ellipsis)
    return parts[0] if len(parts) == 1 else tuple(parts)


class _Mask0:
    """The key ``m``, a 0-d boolean mask given alone: ``x[m]`` is ``x`` with a new first axis
    of length 1 if ``m`` else 0 (the standard's rule). Its value is read once, on the host: the
    result's shape depends on it."""

    __slots__ = ("value",)

    def __init__(self, value: bool):
        self.value = value


def _raw_key_part(x, k, op):
    if isinstance(k, Tensor):
        if k._bk is not x._bk or (x._bk.multi_device and k._dev != x._dev):
            _mismatch(op, [x, k])
        return k._data
    if isinstance(k, list):
        from .creation import asarray

        return asarray(k, device=x._dev, backend=x._bk)._data
    if isinstance(k, numbers.Integral) and not isinstance(k, bool):  # NumPy integers and such
        return int(k)
    if k is None or k is Ellipsis or isinstance(k, (bool, slice)) or hasattr(k, "shape"):
        return k
    raise IndexError(
        f"agrad.{op}: only integers, slices, ..., None, integer arrays and boolean masks are "
        f"valid indices, got {type(k).__name__}"
    )


def _kind(bk, p, op) -> str:
    if p is None:
        return "none"
    if p is Ellipsis:
        return "ellipsis"
    if isinstance(p, slice):
        return "slice"
    if isinstance(p, bool):
        raise IndexError(f"agrad.{op}: a Python bool is not a valid index (use a boolean mask)")
    if isinstance(p, int):
        return "int"
    kind = bk.dtype(p.dtype).kind
    if kind == "bool":
        return "mask" if p.shape else "mask0"
    if kind not in ("signed integer", "unsigned integer"):
        raise IndexError(f"agrad.{op}: index arrays must be integer or boolean, got {kind}")
    return "array"


def _check_arrays(x, parts, kinds, rest, op):
    """Masks must match the axes they cover and integer arrays must broadcast together (named
    errors; the libraries' own messages vary). A mask with a dimension of size 0 selects
    nothing whatever the axis' size (the standard's rule; NumPy refuses some): it becomes an
    all-False mask of the covered shape, in ``parts``."""
    axis = 0
    for i, (p, k) in enumerate(zip(parts, kinds)):
        if k == "ellipsis":
            axis += rest
        elif k == "mask":
            covered = x.shape[axis : axis + len(p.shape)]
            if tuple(p.shape) != covered and len(p.shape) == len(covered) and 0 in p.shape:
                if all(s in (0, c) for s, c in zip(p.shape, covered)):
                    bk = x._bk
                    parts[i] = bk.module.zeros(covered, dtype=bk.raw_dtype("bool"), device=x._dev)
                    p = parts[i]
            if tuple(p.shape) != covered:
                raise IndexError(
                    f"agrad.{op}: boolean index of shape {tuple(p.shape)} does not match axes "
                    f"{axis}..{axis + len(p.shape) - 1} (shape {covered}) of a tensor of shape "
                    f"{x.shape}"
                )
            axis += len(p.shape)
        elif k != "none":
            axis += 1
    if kinds.count("array") > 1:
        _broadcast_shapes([p.shape for p, k in zip(parts, kinds) if k == "array"], op)


def _adjacent(kinds) -> bool:
    """Whether the advanced entries (integer arrays, masks and, in NumPy's reading, ints) sit
    next to each other: NumPy then puts their dimensions in place, otherwise first."""
    pos = [i for i, k in enumerate(kinds) if k in ("int", "array", "mask")]
    return pos[-1] - pos[0] == len(pos) - 1


def _broadcast_shapes(shapes, op):
    return broadcast_shape(shapes, op, "index arrays of shapes", IndexError)


def _portable_key(x, parts, kinds, rest, op):
    """The key as one integer array (or int) per axis of ``x``, all broadcasting to NumPy's
    result shape for the original key: the one form of advanced indexing the standard
    specifies. Masks become their ``nonzero()`` positions and slices ``arange``s; ``rest`` is
    the number of axes the key leaves implicit (they get full slices)."""
    bk = x._bk
    xp = bk.module
    dev = x._dev
    idx_dt = bk.raw_dtype("int64")
    flat, fkinds = [], []
    for p, k in zip(parts, kinds):
        if k == "mask":
            nz = xp.nonzero(p)
            flat += nz
            fkinds += ["array"] * len(nz)
        elif k == "ellipsis":
            flat += [slice(None)] * rest
            fkinds += ["slice"] * rest
            rest = 0
        else:
            flat.append(p)
            fkinds.append(k)
    flat += [slice(None)] * rest
    fkinds += ["slice"] * rest
    arrays = "array" in fkinds
    # NumPy's layout of the result: slices and Nones in order, the broadcast shape of the
    # advanced entries in place of the first one if they are adjacent, else in front
    bshape = _broadcast_shapes([p.shape for p, k in zip(flat, fkinds) if k == "array"], op)
    nb = len(bshape) if arrays else 0
    front = arrays and not _adjacent(kinds)  # the key as given: even an empty ... separates
    pos, n_out, at = [], nb if front else 0, None
    for k in fkinds:
        if k in ("slice", "none"):
            pos.append(n_out)
            n_out += 1
        elif arrays:
            if at is None:
                at = 0 if front else n_out
                n_out += 0 if front else nb
            pos.append(at)
        else:
            pos.append(None)
    key = []
    axis = 0
    for p, k, q in zip(flat, fkinds, pos):
        if k == "none":
            continue
        n = x.shape[axis]
        axis += 1
        if k == "int":
            key.append(p)
            continue
        if k == "slice":
            r = range(*p.indices(n))
            a = xp.arange(r.start, r.stop, r.step, dtype=idx_dt, device=dev)
            shape = (1,) * q + (len(r),) + (1,) * (n_out - q - 1)
        else:
            a = p
            shape = (1,) * (q + nb - len(p.shape)) + tuple(p.shape) + (1,) * (n_out - q - nb)
        key.append(xp.reshape(a, shape))
    return tuple(key)


@primitive(saves="none", complex_grad="direct")
def _getitem(xp, x, *, key, in_shape):
    return x[key]


@_getitem.defvjp
def _(xp, g, out, x, *, key, in_shape):  # scatter g back where it came from (repeats add up)
    return xp.index_add(xp.zeros(in_shape, dtype=g.dtype, device=g.device), key, g)


def getitem(x, key):
    """``x[key]`` with ints, slices, ``...``, ``None``, integer arrays and boolean masks, read
    as NumPy reads them on every backend."""
    if not isinstance(x, Tensor):
        x = as_tensor(x, "getitem")
    in_shape = tuple(x._data.shape)
    key = _raw_key(x, key, "getitem")
    split = _split_none(key, in_shape) if type(key) is tuple or key is None else None
    if split is None:
        if type(key) is _Mask0:  # x[None], then its first (new) axis emptied if m is False
            y = getitem(x, None)
            return y if key.value else getitem(y, slice(0, 0))
        return _getitem(x, key=key, in_shape=in_shape)
    from .manipulation import reshape

    key, out_shape, _ = split
    return reshape(_getitem(x, key=key, in_shape=in_shape), out_shape)


def _split_none(key, in_shape):
    """For a key of ints, slices and ``...`` that also holds ``None``: the key without them,
    the result's shape with and without their length-one axes; else None. Not every library
    accepts ``None`` when scattering (the VJP), so the axes are added by a reshape instead."""
    if key is None:
        key = (None,)
    elif type(key) is not tuple or not any(k is None for k in key):
        return None
    if not all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in key):
        return None  # with integer arrays, None only reaches libraries that index like NumPy
    rest = len(in_shape) - sum(isinstance(k, (int, slice)) for k in key)
    out, sel, a = [], [], 0
    for k in key:
        if k is None:
            out.append(1)
        elif k is Ellipsis:
            out += in_shape[a : a + rest]
            sel += in_shape[a : a + rest]
            a += rest
        else:
            if isinstance(k, slice):
                n = len(range(*k.indices(in_shape[a])))
                out.append(n)
                sel.append(n)
            a += 1
    out += in_shape[a:]
    sel += in_shape[a:]
    return tuple(k for k in key if k is not None) or (Ellipsis,), tuple(out), tuple(sel)


def _update_args(x, key, values, op):
    """``(x, values, key)`` for index_add/index_set: scalars become 0-d tensors of x's
    dtype, the key is made portable, and ``None`` axes are folded into ``values``' shape."""
    x = as_tensor(x, op)
    if isinstance(values, (bool, int, float, complex)):
        from .creation import asarray

        values = asarray(values, dtype=x.dtype, device=x._dev, backend=x._bk)
    key = _raw_key(x, key, op)
    if type(key) is _Mask0:  # x[m] = v: v (broadcast to x[m]'s shape) everywhere if m, else nowhere
        from .manipulation import broadcast_to, reshape

        if not hasattr(values, "shape"):  # a nested list
            from .creation import asarray

            values = asarray(values, dtype=x.dtype, device=x._dev, backend=x._bk)
        shape = shape_of(x)
        sel = (int(key.value),) + shape  # x[m]'s shape
        vshape = shape_of(values)
        if not broadcasts_to(vshape, sel):
            raise ValueError(
                f"agrad.{op}: values of shape {vshape} do not broadcast to x[m]'s shape {sel} "
                f"(x of shape {shape}, m a 0-d boolean index that is {key.value})"
            )
        values = reshape(broadcast_to(values, sel), shape) if key.value else None
        return x, values, Ellipsis
    split = _split_none(key, shape_of(x))
    if split is not None:
        from .manipulation import broadcast_to, reshape

        key, out_shape, sel_shape = split
        values = reshape(broadcast_to(values, out_shape), sel_shape)
    return x, values, key


@primitive(saves="none", complex_grad="direct")
def _index_add(xp, x, values, *, key):
    return xp.index_add(x, key, values)


@_index_add.defvjp
def _(xp, g, out, x, values, *, key):  # identity for x, a gather for values
    return g, g[key]


def index_add(x, key, values, /):
    """``x`` with ``values`` added at ``x[key]``, not in place; repeated indices accumulate
    (JAX's ``x.at[key].add(values)``). Differentiable in ``x`` and ``values``.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.index_add(ag.zeros(3), ag.asarray([0, 0, 2]), 1.0)
    Tensor([2., 0., 1.], backend='numpy', device='cpu', dtype=float64)
    """
    x, values, key = _update_args(x, key, values, "index_add")
    if values is None:  # at a 0-d m that is False: nothing is added
        return getitem(x, Ellipsis)
    return _index_add(x, values, key=key)


@primitive(saves="none", complex_grad="direct")
def _index_set(xp, x, values, *, key):
    return xp.index_set(x, key, values)


@_index_set.defvjp
def _(xp, g, out, x, values, *, key):  # x's gradient stops where it was overwritten
    return xp.index_set(g, key, 0.0), g[key]


def index_set(x, key, values, /):
    """``x`` with ``x[key] = values``, not in place (JAX's ``x.at[key].set(values)``).
    Differentiable in ``x`` (zero where overwritten) and ``values``; ``x[key] = v`` on a
    Tensor records this. Where an index repeats, the last value wins on every backend (NumPy's
    order; the standard leaves it unspecified).

    Examples
    --------
    >>> import agrad as ag
    >>> ag.index_set(ag.zeros(3), 1, 5.0)
    Tensor([0., 5., 0.], backend='numpy', device='cpu', dtype=float64)
    """
    x, values, key = _update_args(x, key, values, "index_set")
    if values is None:  # x[m] = v for a 0-d m that is False: nothing changes
        return getitem(x, Ellipsis)
    return _index_set(x, values, key=key)


def take(x, indices, /, *, axis=None):
    """Elements of ``x`` at integer ``indices`` along ``axis`` (optional for 1-D ``x``)."""
    x = as_tensor(x, "take")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"agrad.take: axis is required for a tensor of shape {x.shape}")
        axis = 0
    axis = norm_axis(axis, x.ndim, "take")
    indices = as_tensor(indices, "take")
    if indices.ndim != 1:
        raise ValueError(f"agrad.take: indices must be 1-D, got shape {indices.shape}")
    if indices.dtype.kind not in ("signed integer", "unsigned integer"):
        raise TypeError(f"agrad.take: indices must have an integer dtype, got {indices.dtype}")
    return getitem(x, (slice(None),) * axis + (indices,))


def take_along_axis(x, indices, /, *, axis=-1):
    """Pick values from ``x`` at ``indices``, which match ``x``'s shape but along ``axis``."""
    from .creation import arange
    from .manipulation import reshape

    x = as_tensor(x, "take_along_axis")
    indices = as_tensor(indices, "take_along_axis")
    if indices.ndim != x.ndim:
        raise ValueError(
            f"agrad.take_along_axis: x (shape {x.shape}) and indices (shape {indices.shape}) "
            "must have the same number of dimensions"
        )
    axis = norm_axis(axis, x.ndim, "take_along_axis")
    if indices.dtype.kind not in ("signed integer", "unsigned integer"):
        raise TypeError(
            f"agrad.take_along_axis: indices must have an integer dtype, got {indices.dtype}"
        )
    bad = [
        d
        for d in range(x.ndim)
        if d != axis and 1 not in (x.shape[d], indices.shape[d]) and x.shape[d] != indices.shape[d]
    ]
    if bad:
        raise ValueError(
            f"agrad.take_along_axis: indices of shape {indices.shape} do not broadcast with x of "
            f"shape {x.shape} along axis {bad[0]} (only axis {axis} may differ)"
        )
    key = []
    for d in range(x.ndim):
        if d == axis:
            key.append(indices)
        else:  # the positions along the other axes, in int64 (in uint8 300 rows would wrap)
            shape = [1] * x.ndim
            shape[d] = x.shape[d]
            key.append(
                reshape(
                    arange(x.shape[d], dtype="int64", device=x.device, backend=x._bk),
                    tuple(shape),
                )
            )
    return getitem(x, tuple(key))


ops.getitem = getitem  # Tensor.__getitem__ dispatches here
ops.index_set = index_set  # and Tensor.__setitem__ here

"""The standard's ``fft`` extension, differentiable: each transform's VJP is its adjoint.

Write ``F`` for the unnormalised DFT of length ``n`` (``F[j, k] = exp(-2 pi i jk / n)``) and
``c`` for the ``norm=`` scale (``"backward"``: 1 forward, 1/n inverse; ``"ortho"``: 1/sqrt(n)
both ways; ``"forward"``: 1/n forward, 1 inverse). Then ``fft(norm=N) = c F`` and its adjoint
``c F^H`` is ``ifft(norm=swap(N))``, where ``swap`` exchanges ``"backward"`` and ``"forward"``
and keeps ``"ortho"``; likewise the adjoint of ``ifft(norm=N)`` is ``fft(norm=swap(N))``.
``n=`` crops or zero-pads the input along ``axis`` first (a map ``P``); its adjoint ``P^T``
zero-pads or crops the gradient back to the input's length.

Gradients follow PyTorch's convention for complex values (``dL/dRe + i dL/dIm``): for a
C-linear map ``y = A z`` the VJP is ``A^H g``; for a real input feeding a complex output it is
``real(A^H g)``. So

- ``fft``, ``ifft``, ``fftn``, ``ifftn``: ``P^T`` of the inverse transform with the swapped norm.
- ``rfft`` (``y = c R F P x``, ``R`` keeping bins ``0 .. n//2``):
  ``P^T real(ifft(g, n=n, norm=swap(N)))``; ``ifft``'s own ``n=`` is ``R^T`` (zero-pads ``g``).
- ``irfft`` (``y = real(c F^H R^T (v * Q z))`` with ``v`` = 2 on the bins that stand for a
  conjugate pair, 1 on DC and, for even ``n``, Nyquist; ``Q`` crops or pads ``z`` to
  ``n//2 + 1`` bins): ``Q^T (v * rfft(g, n=n, norm=swap(N)))``.
- ``rfftn``/``irfftn``: the same with ``ifftn``/``rfftn`` over all ``axes``; ``v`` weighs the
  last axis only.
- ``hfft``, ``ihfft`` are composites of ``irfft``/``rfft`` and ``conj`` (as NumPy defines them);
  ``fftshift``/``ifftshift`` are ``roll`` (so their VJP is the opposite roll). ``fftfreq`` and
  ``rfftfreq`` create tensors and carry no gradient.

Transforms of real input that the standard defines for complex input only (``fft``, ``ifft``,
``fftn``, ``ifftn``, ``irfft``, ``irfftn``, ``hfft``) convert it to the complex dtype of the
same precision first (as NumPy does); the gradient flowing back is then real.

Examples
--------
>>> import agrad as ag
>>> x = ag.asarray([1.0, 2.0, 0.5, -1.0], requires_grad=True)
>>> ag.sum(ag.real(ag.fft.fft(x))).backward()  # sum_k Re X_k = n x_0
>>> x.grad
Tensor([4., 0., 0., 0.], backend='numpy', device='cpu', dtype=float64)
"""

from __future__ import annotations

import numbers

from .._backend import resolve
from .._op import primitive
from ._util import as_tensor, shape_arg

__all__ = [
    "fft",
    "ifft",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}
_COMPLEX_OF = {"float32": "complex64", "float64": "complex128"}


# ---- helpers -------------------------------------------------------------------------------
def _fit_len(xp, g, axis, m):
    """``g`` cropped or zero-padded to length ``m`` along ``axis`` (the adjoint of the other)."""
    k = g.shape[axis]
    if k == m:
        return g
    if k > m:
        return g[(slice(None),) * axis + (slice(0, m), Ellipsis)]
    shape = list(g.shape)
    shape[axis] = m - k
    return xp.concat([g, xp.zeros(tuple(shape), dtype=g.dtype, device=g.device)], axis=axis)


def _fit_shape(xp, g, axes, shape):
    for a in axes:
        g = _fit_len(xp, g, a, shape[a])
    return g


def _double_pairs(xp, r, axis, n):
    """``r`` (an rfft of length ``n`` along ``axis``) with the bins standing for a conjugate
    pair doubled: ``1 .. (n-1)//2``; DC and (for even ``n``) Nyquist stay as they are."""
    j = (n + 1) // 2
    if j <= 1:
        return r
    pre = (slice(None),) * axis
    parts = [r[pre + (slice(0, 1), ...)], 2.0 * r[pre + (slice(1, j), ...)]]
    if r.shape[axis] > j:
        parts.append(r[pre + (slice(j, None), ...)])
    return xp.concat(parts, axis=axis)


def _check_norm(norm, op):
    if norm not in _NORMS:
        raise ValueError(f"agrad.fft.{op}: norm must be one of {_NORMS}, got {norm!r}")
    return norm


def _floating(x, op, *, want):
    """``x`` as a Tensor of the kind ``op`` takes: ``want="complex"`` converts real floating
    input to complex (same precision); ``want="real"`` refuses complex input."""
    x = as_tensor(x, f"fft.{op}")
    kind = x.dtype.kind
    if kind == "complex floating":
        if want == "real":
            raise TypeError(
                f"agrad.fft.{op}: needs a real floating tensor, got {x.dtype} (for complex "
                "input use the complex transform, e.g. ag.fft.fft)"
            )
        return x
    if kind != "real floating":
        raise TypeError(
            f"agrad.fft.{op}: needs a floating tensor, got {x.dtype}; convert it first, e.g. "
            "ag.astype(x, ag.float64)"
        )
    if want == "complex":
        from .manipulation import astype

        name = _COMPLEX_OF.get(x.dtype.name)
        if name is None:
            raise TypeError(f"agrad.fft.{op}: needs float32 or float64 input, got {x.dtype}")
        x = astype(x, name)
    return x


def _axis(axis, ndim, op):
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"agrad.fft.{op}: axis must be an int, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"agrad.fft.{op}: axis {axis} is out of range for a tensor with {ndim} dimensions"
        )
    return axis % ndim


def _length(n, default, op):
    if n is None:
        n = default
    elif not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"agrad.fft.{op}: n must be an int or None, got {n!r}")
    n = int(n)
    if n < 1:
        raise ValueError(
            f"agrad.fft.{op}: n must be at least 1, got {n} (invalid number of points)"
        )
    return n


def _axes_and_s(x, s, axes, op, *, last_default=None):
    """Normalise ``s`` and ``axes`` as the standard does: ``axes=None`` means every axis (or
    the last ``len(s)`` when ``s`` is given); ``s[i] == -1`` (or ``s=None``) keeps the input's
    length, except along the last axis where ``last_default(m)`` gives it (irfftn)."""
    ndim = x.ndim
    if s is not None:
        s = shape_arg(s, f"fft.{op}", "s", allow_int=False)
    if axes is None:
        axes = tuple(range(ndim)) if s is None else tuple(range(ndim - len(s), ndim))
    else:
        axes = shape_arg(axes, f"fft.{op}", "axes", allow_int=False)
    axes = tuple(_axis(a, ndim, op) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"agrad.fft.{op}: repeated axis in axes={axes!r}")
    if s is None:
        s = (-1,) * len(axes)
    if len(s) != len(axes):
        raise ValueError(
            f"agrad.fft.{op}: s and axes must have the same length, got s={s!r} and axes={axes!r}"
        )
    out = []
    for k, (a, n) in enumerate(zip(axes, s)):
        m = x.shape[a]
        if n == -1:
            n = last_default(m) if (last_default is not None and k == len(axes) - 1) else m
        out.append(_length(n, None, op))
    return tuple(out), axes


# ---- fft / ifft ----------------------------------------------------------------------------
@primitive(name="fft.fft", saves="none", complex_grad="direct")
def _fft(xp, x, *, n, axis, norm, m):
    return xp.fft.fft(x, n=n, axis=axis, norm=norm)


@_fft.defvjp
def _(xp, g, out, x, *, n, axis, norm, m):  # (c F P)^H = P^T ifft(., norm=swap)
    return _fit_len(xp, xp.fft.ifft(g, axis=axis, norm=_SWAP[norm]), axis, m)


@primitive(name="fft.ifft", saves="none", complex_grad="direct")
def _ifft(xp, x, *, n, axis, norm, m):
    return xp.fft.ifft(x, n=n, axis=axis, norm=norm)


@_ifft.defvjp
def _(xp, g, out, x, *, n, axis, norm, m):  # (c F^H P)^H = P^T fft(., norm=swap)
    return _fit_len(xp, xp.fft.fft(g, axis=axis, norm=_SWAP[norm]), axis, m)


def fft(x, /, *, n=None, axis=-1, norm="backward"):
    """The one-dimensional discrete Fourier transform along ``axis``; ``n`` crops or zero-pads
    the input first. Real input is converted to complex."""
    x = _floating(x, "fft", want="complex")
    axis = _axis(axis, x.ndim, "fft")
    m = x.shape[axis]
    n = _length(n, m, "fft")
    return _fft(x, n=n, axis=axis, norm=_check_norm(norm, "fft"), m=m)


def ifft(x, /, *, n=None, axis=-1, norm="backward"):
    """The one-dimensional inverse discrete Fourier transform along ``axis``."""
    x = _floating(x, "ifft", want="complex")
    axis = _axis(axis, x.ndim, "ifft")
    m = x.shape[axis]
    n = _length(n, m, "ifft")
    return _ifft(x, n=n, axis=axis, norm=_check_norm(norm, "ifft"), m=m)


# ---- fftn / ifftn --------------------------------------------------------------------------
@primitive(name="fft.fftn", saves="none", complex_grad="direct")
def _fftn(xp, x, *, s, axes, norm, in_shape):
    return xp.fft.fftn(x, s=s, axes=axes, norm=norm)


@_fftn.defvjp
def _(xp, g, out, x, *, s, axes, norm, in_shape):
    return _fit_shape(xp, xp.fft.ifftn(g, axes=axes, norm=_SWAP[norm]), axes, in_shape)


@primitive(name="fft.ifftn", saves="none", complex_grad="direct")
def _ifftn(xp, x, *, s, axes, norm, in_shape):
    return xp.fft.ifftn(x, s=s, axes=axes, norm=norm)


@_ifftn.defvjp
def _(xp, g, out, x, *, s, axes, norm, in_shape):
    return _fit_shape(xp, xp.fft.fftn(g, axes=axes, norm=_SWAP[norm]), axes, in_shape)


def fftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-dimensional discrete Fourier transform over ``axes`` (``s`` crops or pads)."""
    x = _floating(x, "fftn", want="complex")
    s, axes = _axes_and_s(x, s, axes, "fftn")
    return _fftn(x, s=s, axes=axes, norm=_check_norm(norm, "fftn"), in_shape=tuple(x.shape))


def ifftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-dimensional inverse discrete Fourier transform over ``axes``."""
    x = _floating(x, "ifftn", want="complex")
    s, axes = _axes_and_s(x, s, axes, "ifftn")
    return _ifftn(x, s=s, axes=axes, norm=_check_norm(norm, "ifftn"), in_shape=tuple(x.shape))


# ---- rfft / irfft --------------------------------------------------------------------------
@primitive(name="fft.rfft", saves="none", complex_grad="direct")
def _rfft(xp, x, *, n, axis, norm, m):
    return xp.fft.rfft(x, n=n, axis=axis, norm=norm)


@_rfft.defvjp
def _(xp, g, out, x, *, n, axis, norm, m):  # real(P^T c F^H R^T g); ifft's n= is R^T
    return _fit_len(xp, xp.real(xp.fft.ifft(g, n=n, axis=axis, norm=_SWAP[norm])), axis, m)


@primitive(name="fft.irfft", saves="none", complex_grad="direct")
def _irfft(xp, x, *, n, axis, norm, m):
    return xp.fft.irfft(x, n=n, axis=axis, norm=norm)


@_irfft.defvjp
def _(xp, g, out, x, *, n, axis, norm, m):  # Q^T (v * c R F g), g real
    r = _double_pairs(xp, xp.fft.rfft(g, axis=axis, norm=_SWAP[norm]), axis, n)
    return _fit_len(xp, r, axis, m)


def rfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The one-dimensional discrete Fourier transform of real input: bins ``0 .. n//2``."""
    x = _floating(x, "rfft", want="real")
    axis = _axis(axis, x.ndim, "rfft")
    m = x.shape[axis]
    n = _length(n, m, "rfft")
    return _rfft(x, n=n, axis=axis, norm=_check_norm(norm, "rfft"), m=m)


def irfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The inverse of :func:`rfft`: a real output of length ``n`` (default ``2 * (m - 1)``)
    from ``n//2 + 1`` bins (the input is cropped or zero-padded to that many first)."""
    x = _floating(x, "irfft", want="complex")
    axis = _axis(axis, x.ndim, "irfft")
    m = x.shape[axis]
    n = _length(n, 2 * (m - 1), "irfft")
    return _irfft(x, n=n, axis=axis, norm=_check_norm(norm, "irfft"), m=m)


# ---- rfftn / irfftn ------------------------------------------------------------------------
@primitive(name="fft.rfftn", saves="none", complex_grad="direct")
def _rfftn(xp, x, *, s, axes, norm, in_shape):
    return xp.fft.rfftn(x, s=s, axes=axes, norm=norm)


@_rfftn.defvjp
def _(xp, g, out, x, *, s, axes, norm, in_shape):
    r = xp.real(xp.fft.ifftn(g, s=s, axes=axes, norm=_SWAP[norm]))
    return _fit_shape(xp, r, axes, in_shape)


@primitive(name="fft.irfftn", saves="none", complex_grad="direct")
def _irfftn(xp, x, *, s, axes, norm, in_shape):
    return xp.fft.irfftn(x, s=s, axes=axes, norm=norm)


@_irfftn.defvjp
def _(xp, g, out, x, *, s, axes, norm, in_shape):
    r = _double_pairs(xp, xp.fft.rfftn(g, axes=axes, norm=_SWAP[norm]), axes[-1], s[-1])
    return _fit_shape(xp, r, axes, in_shape)


def _need_axes(axes, op):
    if not axes:
        raise ValueError(f"agrad.fft.{op}: needs at least one axis to transform")


def rfftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-dimensional discrete Fourier transform of real input (half the last axis)."""
    x = _floating(x, "rfftn", want="real")
    s, axes = _axes_and_s(x, s, axes, "rfftn")
    _need_axes(axes, "rfftn")
    return _rfftn(x, s=s, axes=axes, norm=_check_norm(norm, "rfftn"), in_shape=tuple(x.shape))


def irfftn(x, /, *, s=None, axes=None, norm="backward"):
    """The inverse of :func:`rfftn`: a real output; the last axis has length ``s[-1]``
    (default ``2 * (m - 1)``)."""
    x = _floating(x, "irfftn", want="complex")
    s, axes = _axes_and_s(x, s, axes, "irfftn", last_default=lambda m: 2 * (m - 1))
    _need_axes(axes, "irfftn")
    return _irfftn(x, s=s, axes=axes, norm=_check_norm(norm, "irfftn"), in_shape=tuple(x.shape))


# ---- hfft / ihfft: composites (as NumPy defines them) --------------------------------------
def hfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The transform of a signal with Hermitian symmetry given by its first half: a real
    output of length ``n`` (default ``2 * (m - 1)``). ``irfft(conj(x))`` with the opposite
    norm, so differentiable through those."""
    from .elementwise import conj

    x = _floating(x, "hfft", want="complex")
    return irfft(conj(x), n=n, axis=axis, norm=_SWAP[_check_norm(norm, "hfft")])


def ihfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The inverse of :func:`hfft` for real input: ``conj(rfft(x))`` with the opposite norm."""
    from .elementwise import conj

    x = _floating(x, "ihfft", want="real")
    return conj(rfft(x, n=n, axis=axis, norm=_SWAP[_check_norm(norm, "ihfft")]))


# ---- fftshift / ifftshift: rolls -----------------------------------------------------------
def _shift(x, axes, op, sign):
    from .manipulation import roll

    x = as_tensor(x, f"fft.{op}")
    if axes is None:
        axes = tuple(range(x.ndim))
    axes = tuple(_axis(a, x.ndim, op) for a in shape_arg(axes, f"fft.{op}", "axes"))
    if not axes:
        return x
    shift = tuple(sign * (x.shape[a] // 2) for a in axes)
    return roll(x, shift, axis=axes)


def fftshift(x, /, *, axes=None):
    """Move the zero-frequency bin to the centre (a roll by ``n // 2`` along each of
    ``axes``, all by default); the gradient is the opposite roll."""
    return _shift(x, axes, "fftshift", 1)


def ifftshift(x, /, *, axes=None):
    """The inverse of :func:`fftshift` (a roll by ``-(n // 2)``)."""
    return _shift(x, axes, "ifftshift", -1)


# ---- fftfreq / rfftfreq: creation, no gradient ---------------------------------------------
def _freq(op, n, d, dtype, device, backend):
    from .creation import _finish

    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"agrad.fft.{op}: n must be a positive int, got {n!r}")
    bk, dev = resolve(backend, device)
    rdt = bk.raw_dtype(dtype)
    if rdt is not None:
        from .._dtypes import canonical

        if canonical(dtype).kind != "real floating":
            raise TypeError(f"agrad.fft.{op}: dtype must be a real floating dtype, got {dtype}")
    kwargs = {"d": d}
    if rdt is not None:
        kwargs["dtype"] = rdt
    fn = getattr(bk.module.fft, op)
    if bk.name == "cupy":  # pragma: no cover - needs a CUDA device
        # array-api-compat's CuPy wrapper takes only device="cpu", and CuPy makes arrays on
        # the current device: make dev current (a cupy.cuda.Device is its own context). Not
        # bk.ctx: with one visible GPU the backend runs without it, and the wrapper refused.
        with dev:
            data = fn(int(n), **kwargs)
    else:
        data = fn(int(n), device=dev, **kwargs)
    return _finish(data, bk, False, op)


def fftfreq(n, /, *, d=1.0, dtype=None, device=None, backend=None):
    """The sample frequencies of an ``n``-point :func:`fft` with sample spacing ``d``:
    ``[0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d n)``. Not differentiable (see
    :func:`agrad.asarray` for ``device=``/``backend=``)."""
    return _freq("fftfreq", n, d, dtype, device, backend)


def rfftfreq(n, /, *, d=1.0, dtype=None, device=None, backend=None):
    """The sample frequencies of an ``n``-point :func:`rfft`: ``[0, 1, ..., n//2] / (d n)``."""
    return _freq("rfftfreq", n, d, dtype, device, backend)

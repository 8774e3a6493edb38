"""The fft extension: forward against NumPy on every backend, gradients against finite
differences (real compositions) and against the exact adjoint probed column by column with
NumPy (complex inputs), second derivatives, every ``norm``, ``n``/``s`` cropping and padding,
the rfft/irfft round trip, fftfreq/rfftfreq, fftshift/ifftshift, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.testing import gradcheck, gradgradcheck

NORMS = ("backward", "ortho", "forward")


def tensor(values, backend, dtype=None, requires_grad=False):
    return ag.asarray(np.asarray(values), dtype=dtype, backend=backend, requires_grad=requires_grad)


def cplx(x, y):
    """``x + i y`` from two real tensors, differentiable in both."""
    return ag.astype(x, ag.complex128) + ag.astype(y, ag.complex128) * 1j


# ---- the transforms, each with its NumPy reference ---------------------------------------------
# (name, kwargs, complex input?, input shape)
ONE_D = [
    ("fft", {}, True, (3, 6)),
    ("fft", {"n": 4, "norm": "ortho"}, True, (3, 6)),
    ("fft", {"n": 9, "axis": 0, "norm": "forward"}, True, (3, 6)),
    ("ifft", {}, True, (3, 6)),
    ("ifft", {"n": 4, "norm": "forward"}, True, (6,)),
    ("ifft", {"n": 8, "axis": -2, "norm": "ortho"}, True, (3, 6)),
    ("rfft", {}, False, (3, 6)),
    ("rfft", {"n": 5, "norm": "ortho"}, False, (3, 6)),
    ("rfft", {"n": 10, "axis": 0, "norm": "forward"}, False, (3, 6)),
    ("irfft", {}, True, (3, 6)),
    ("irfft", {"n": 7, "norm": "ortho"}, True, (3, 6)),
    ("irfft", {"n": 4, "norm": "forward"}, True, (3, 6)),
    ("irfft", {"n": 16, "axis": 0}, True, (3, 6)),
    ("hfft", {}, True, (3, 6)),
    ("hfft", {"n": 5, "norm": "ortho"}, True, (3, 6)),
    ("hfft", {"n": 13, "norm": "forward"}, True, (3, 6)),
    ("ihfft", {}, False, (3, 6)),
    ("ihfft", {"n": 4, "norm": "ortho"}, False, (3, 6)),
    ("ihfft", {"n": 9, "axis": 0, "norm": "forward"}, False, (3, 6)),
]
N_D = [
    ("fftn", {}, True, (3, 4)),
    ("fftn", {"s": (2, 6), "norm": "ortho"}, True, (3, 4)),
    ("fftn", {"s": (5,), "axes": (0,), "norm": "forward"}, True, (3, 4, 2)),
    ("ifftn", {}, True, (3, 4)),
    ("ifftn", {"s": (4, -1), "axes": (2, 0), "norm": "forward"}, True, (3, 4, 2)),
    ("rfftn", {}, False, (3, 4)),
    ("rfftn", {"s": (2, 7), "norm": "ortho"}, False, (3, 4)),
    ("rfftn", {"s": (3, 5), "axes": (2, 0), "norm": "forward"}, False, (3, 4, 2)),
    ("irfftn", {}, True, (3, 4)),
    ("irfftn", {"s": (2, 5), "norm": "ortho"}, True, (3, 4)),
    ("irfftn", {"s": (5, 4), "axes": (1, 0), "norm": "forward"}, True, (3, 4, 2)),
]
CASES = ONE_D + N_D


def case_id(c):
    name, kw, _, shape = c
    return f"{name}-{'-'.join(f'{k}{v}' for k, v in kw.items()) or 'default'}-{shape}"


def numpy_ref(name, kw, a):
    kw = dict(kw)
    if "s" in kw and "axes" not in kw:  # NumPy 2 warns when s comes without axes
        kw["axes"] = tuple(range(a.ndim - len(kw["s"]), a.ndim))
    if "s" in kw:  # -1 (keep the length) is the standard's, not NumPy's
        kw["s"] = tuple(a.shape[ax] if n == -1 else n for n, ax in zip(kw["s"], kw["axes"]))
    return getattr(np.fft, name)(a, **kw)


def sample(rng, shape, is_complex):
    x = rng.normal(size=shape)
    return x + 1j * rng.normal(size=shape) if is_complex else x


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_forward_matches_numpy(backend, rng, case):
    name, kw, is_complex, shape = case
    a = sample(rng, shape, is_complex)
    out = getattr(ag.fft, name)(tensor(a, backend), **kw)
    ref = numpy_ref(name, kw, a)
    assert out.shape == ref.shape
    assert out.dtype == (ag.complex128 if np.iscomplexobj(ref) else ag.float64)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["fft", "rfft", "ihfft", "irfft", "fftn", "irfftn"])
def test_single_precision_stays_single(backend, rng, name):
    real_in = name in ("rfft", "ihfft")
    a = sample(rng, (4, 4), not real_in)
    x = tensor(a, backend, dtype=ag.float32 if real_in else ag.complex64)
    out = getattr(ag.fft, name)(x)
    ref = getattr(np.fft, name)(a)
    assert out.dtype == (ag.complex64 if np.iscomplexobj(ref) else ag.float32)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["fft", "ifft", "fftn", "ifftn", "irfft", "hfft"])
def test_real_input_to_a_complex_transform_is_promoted(backend, rng, name):
    a = rng.normal(size=(3, 4))
    out = getattr(ag.fft, name)(tensor(a, backend))
    np.testing.assert_allclose(out.numpy(), getattr(np.fft, name)(a), rtol=1e-10, atol=1e-12)


# ---- gradients -------------------------------------------------------------------------------
def real_view(name, kw, is_complex):
    """A real-valued function of real tensors around the transform (so gradcheck applies):
    complex input is built as ``x + i y``; a complex output is mixed as ``a Re + b Im``."""

    def f(*xs):
        z = cplx(*xs) if is_complex else xs[0]
        out = getattr(ag.fft, name)(z, **kw)
        if out.dtype == ag.complex128:
            return ag.real(out) * 1.3 - ag.imag(out) * 0.7
        return out

    return f


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gradcheck(backend, rng, case):
    name, kw, is_complex, shape = case
    xs = [tensor(rng.normal(size=shape), backend) for _ in range(2 if is_complex else 1)]
    assert gradcheck(real_view(name, kw, is_complex), *xs)


def exact_gradient(name, kw, a, u):
    """PyTorch's gradient ``dL/dRe + i dL/dIm`` of ``L = Re sum(conj(u) * f(a))`` for the
    (real-)linear ``f``, probed with NumPy on each basis vector (and ``i`` times it)."""
    g = np.zeros(a.shape, dtype=a.dtype)
    for idx in np.ndindex(a.shape):
        e = np.zeros(a.shape, dtype=a.dtype)
        e[idx] = 1.0
        d = np.real(np.sum(np.conj(u) * numpy_ref(name, kw, e)))
        if np.iscomplexobj(a):
            d = d + 1j * np.real(np.sum(np.conj(u) * numpy_ref(name, kw, 1j * e)))
        g[idx] = d
    return g


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gradient_is_the_exact_adjoint(backend, rng, case):
    """Complex leaves get ``A^H u`` (``real(A^H u)`` for real leaves), checked exactly against
    NumPy, both for a complex leaf and for ``x + i y`` built from two real leaves."""
    name, kw, is_complex, shape = case
    a = sample(rng, shape, is_complex)
    ref_out = numpy_ref(name, kw, a)
    u = sample(rng, ref_out.shape, np.iscomplexobj(ref_out))
    want = exact_gradient(name, kw, a, u)
    ut = tensor(u, backend)

    def loss(z):
        out = getattr(ag.fft, name)(z, **kw)
        return ag.sum(ag.real(ag.conj(ut) * out)) if np.iscomplexobj(u) else ag.sum(ut * out)

    z = tensor(a, backend, requires_grad=True)
    loss(z).backward()
    np.testing.assert_allclose(z.grad.numpy(), want, rtol=1e-9, atol=1e-9)
    if is_complex:
        x = tensor(a.real, backend, requires_grad=True)
        y = tensor(a.imag, backend, requires_grad=True)
        loss(cplx(x, y)).backward()
        np.testing.assert_allclose(x.grad.numpy(), want.real, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(y.grad.numpy(), want.imag, rtol=1e-9, atol=1e-9)


SECOND = [
    ("fft", {"n": 4, "norm": "ortho"}, True, (2, 5)),
    ("ifft", {"n": 7, "norm": "forward"}, True, (2, 5)),
    ("rfft", {"n": 7}, False, (2, 5)),
    ("irfft", {"n": 6, "norm": "ortho"}, True, (2, 5)),
    ("hfft", {"n": 5}, True, (2, 4)),
    ("rfftn", {"s": (3, 4), "norm": "forward"}, False, (2, 5)),
    ("irfftn", {"s": (3, 5)}, True, (2, 4)),
    ("fftn", {"s": (3, 3)}, True, (2, 4)),
]


@pytest.mark.parametrize("case", SECOND, ids=case_id)
def test_gradgradcheck(backend, rng, case):
    """Squared, so the second derivative is not zero; the recorded backward runs ag.fft."""
    name, kw, is_complex, shape = case
    inner = real_view(name, kw, is_complex)
    xs = [tensor(rng.normal(size=shape), backend) for _ in range(2 if is_complex else 1)]
    assert gradgradcheck(lambda *t: inner(*t) * inner(*t), *xs)


@pytest.mark.parametrize("m", [5, 6])
@pytest.mark.parametrize("norm", NORMS)
def test_rfft_irfft_round_trip_gradient_is_the_identity(backend, rng, m, norm):
    x = tensor(rng.normal(size=(2, m)), backend, requires_grad=True)
    w = rng.normal(size=(2, m))
    y = ag.fft.irfft(ag.fft.rfft(x, norm=norm), n=m, norm=norm)
    np.testing.assert_allclose(y.numpy(), x.detach().numpy(), atol=1e-12)
    ag.sum(y * tensor(w, backend)).backward()
    np.testing.assert_allclose(x.grad.numpy(), w, atol=1e-12)
    assert gradcheck(lambda t: ag.fft.irfft(ag.fft.rfft(t, norm=norm), n=m, norm=norm), x)


def test_fft_gradient_of_sum_of_real_parts(backend):
    """sum_k Re X_k = n x_0: a hand-computed case (and the module's doctest)."""
    x = tensor([1.0, 2.0, 0.5, -1.0], backend, requires_grad=True)
    ag.sum(ag.real(ag.fft.fft(x))).backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 0.0, 0.0, 0.0])
    assert x.grad.dtype == ag.float64


# ---- shifts and frequencies ----------------------------------------------------------------
@pytest.mark.parametrize("axes", [None, 0, (1,), (-1, 0)])
@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
def test_shifts(backend, rng, name, axes):
    a = rng.normal(size=(5, 4))
    x = tensor(a, backend, requires_grad=True)
    out = getattr(ag.fft, name)(x, axes=axes)
    np.testing.assert_array_equal(out.numpy(), getattr(np.fft, name)(a, axes=axes))
    w = rng.normal(size=a.shape)
    ag.sum(out * tensor(w, backend)).backward()
    inverse = "ifftshift" if name == "fftshift" else "fftshift"
    np.testing.assert_array_equal(x.grad.numpy(), getattr(np.fft, inverse)(w, axes=axes))


@pytest.mark.parametrize("n", [1, 6, 7])
def test_fftfreq_and_rfftfreq(backend, n):
    f = ag.fft.fftfreq(n, d=0.25, backend=backend)
    np.testing.assert_allclose(f.numpy(), np.fft.fftfreq(n, d=0.25))
    r = ag.fft.rfftfreq(n, dtype=ag.float32, backend=backend)
    assert r.dtype == ag.float32
    np.testing.assert_allclose(r.numpy(), np.fft.rfftfreq(n), rtol=1e-6)
    assert not f.requires_grad
    g = ag.fft.fftfreq(n, device=f.device, backend=backend)
    assert g.device == f.device


def test_fftfreq_errors():
    with pytest.raises(ValueError, match=r"fftfreq: n must be a positive int, got 0"):
        ag.fft.fftfreq(0)
    with pytest.raises(TypeError, match=r"rfftfreq: dtype must be a real floating dtype"):
        ag.fft.rfftfreq(4, dtype=ag.int64)


# ---- errors -------------------------------------------------------------------------------
def test_errors(backend):
    x = tensor(np.ones((2, 3)), backend)
    z = ag.astype(x, ag.complex128)
    with pytest.raises(ValueError, match=r"fft.fft: axis 2 is out of range for a tensor with 2 d"):
        ag.fft.fft(x, axis=2)
    with pytest.raises(ValueError, match=r"fft.rfft: n must be at least 1, got 0"):
        ag.fft.rfft(x, n=0)
    with pytest.raises(TypeError, match=r"fft.ifft: n must be an int or None, got 2.5"):
        ag.fft.ifft(z, n=2.5)
    with pytest.raises(ValueError, match=r"irfft: n must be at least 1, got 0"):
        ag.fft.irfft(z[:, :1])  # the default 2 * (m - 1) is 0
    with pytest.raises(ValueError, match=r"fft.fft: norm must be one of .*got 'none'"):
        ag.fft.fft(z, norm="none")
    with pytest.raises(TypeError, match=r"fft.rfft: needs a real floating tensor, got complex128"):
        ag.fft.rfft(z)
    with pytest.raises(TypeError, match=r"fft.fft: needs a floating tensor, got int64"):
        ag.fft.fft(tensor(np.ones(3, dtype=np.int64), backend))
    with pytest.raises(ValueError, match=r"fftn: s and axes must have the same length"):
        ag.fft.fftn(z, s=(2, 2), axes=(0,))
    with pytest.raises(ValueError, match=r"fft.fftn: repeated axis in axes=\(1, 1\)"):
        ag.fft.fftn(z, axes=(1, -1))
    with pytest.raises(ValueError, match=r"fft.rfftn: needs at least one axis"):
        ag.fft.rfftn(x, axes=())
    with pytest.raises(TypeError, match=r"fft.fftn: axes must be a tuple of ints, got 0"):
        ag.fft.fftn(z, axes=0)
    with pytest.raises(ValueError, match=r"fftshift: axis -3 is out of range"):
        ag.fft.fftshift(x, axes=-3)


def test_the_namespace_is_complete():
    names = """fft ifft fftn ifftn rfft irfft rfftn irfftn hfft ihfft fftfreq rfftfreq fftshift
    ifftshift""".split()
    assert sorted(ag.fft.__all__) == sorted(names)
    assert all(callable(getattr(ag.fft, n)) for n in names)

"""Elementwise functions of the standard, each a forward and its VJP side by side.

VJPs return output-shaped cotangents; the tape un-broadcasts them to each input's shape.
Subgradients at kinks, chosen once here and tested:

- ``abs``: 0 at 0.  ``sign``, ``floor``, ``ceil``, ``round``, ``trunc``, ``floor_divide``: 0.
- ``maximum``/``minimum``: ties split the gradient equally (0.5 each), as torch and JAX do;
  so ``maximum(x, 0.0)`` (ReLU) has derivative 0.5 at 0.
- ``clip``: the gradient passes where ``min <= x <= max`` (bounds inclusive), as in torch.
- ``sqrt``: +inf at 0 (the one-sided limit); ``hypot``: 0 at the origin.

Several VJPs multiply into an array they have just made (``d = xp.cos(x); d *= g``) rather
than writing ``g * xp.cos(x)``: NumPy reuses a temporary operand's memory for an operator's
result only when the interpreter evaluates the expression, so in the compiled core the
one-line form allocated one array more (the VJPs of cos, tan, square, expm1 and reciprocal took
10-26% longer on 10^6 float32 elements). The products keep their order, so results are the
same to the bit.

Examples
--------
>>> import agrad as ag
>>> x = ag.asarray([0.5, 1.0], requires_grad=True)
>>> ag.sum(ag.exp(x) * 2.0).backward()
>>> bool(ag.all(ag.abs(x.grad - 2.0 * ag.exp(x.detach())) < 1e-12))
True
"""

from __future__ import annotations

import inspect
import math

from .._op import primitive, zero_vjp

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _scalar(v) -> bool:
    return isinstance(v, (bool, int, float, complex))


# ---- arithmetic -------------------------------------------------------------------------
@primitive(saves="none", complex_grad="holomorphic")
def add(xp, x1, x2):
    """``x1 + x2``."""
    return xp.add(x1, x2)


@add.defvjp
def _(xp, g, out, x1, x2):  # d(x+y) = dx + dy
    return g, g


@primitive(saves="none", complex_grad="holomorphic")
def subtract(xp, x1, x2):
    """``x1 - x2``."""
    return xp.subtract(x1, x2)


@subtract.defvjp
def _(xp, g, out, x1, x2):  # d(x-y) = dx - dy
    return g, -g


@primitive(complex_grad="holomorphic", selective=True)
def multiply(xp, x1, x2):
    """``x1 * x2``."""
    return xp.multiply(x1, x2)


@multiply.defvjp
def _(xp, g, out, x1, x2, needs):  # d(xy)/dx = y, d(xy)/dy = x
    return (g * x2 if needs[0] else None), (g * x1 if needs[1] else None)


@primitive(complex_grad="holomorphic", selective=True)
def divide(xp, x1, x2):
    """``x1 / x2``."""
    return xp.divide(x1, x2)


@divide.defvjp
def _(xp, g, out, x1, x2, needs):  # d(x/y)/dx = 1/y, d(x/y)/dy = -x/y^2
    gx1 = g / x2
    if not needs[1]:
        return gx1, None
    if _scalar(x1):  # c / y (1 / (1 + exp(-z)) ...): no array-times-Python-scalar for c = 1
        gx2 = gx1 / x2
        gx2 = -gx2 if x1 == 1 else gx2 * -x1
    else:
        gx2 = -gx1 * x1 / x2
    return (gx1 if needs[0] else None), gx2


@primitive(saves="none", complex_grad="holomorphic")
def negative(xp, x):
    """``-x``."""
    return xp.negative(x)


@negative.defvjp
def _(xp, g, out, x):  # d(-x) = -dx
    return -g


@primitive(saves="none", complex_grad="holomorphic")
def positive(xp, x):
    """``+x``."""
    return xp.positive(x)


@positive.defvjp
def _(xp, g, out, x):  # d(+x) = dx
    return g


@primitive(saves="all", complex_grad="holomorphic")
def pow(xp, x1, x2):
    """``x1 ** x2``. The derivative in ``x2`` is ``log(x1) x1**x2``: 0 where ``x1 == 0``, NaN
    where ``x1 < 0``."""
    return xp.pow(x1, x2)


@pow.defvjp
def _(xp, g, out, x1, x2):  # d(x^y)/dx = y x^(y-1), d(x^y)/dy = x^y log x
    if _scalar(x2):  # the common x ** 2.0: no log, no second gradient
        if x2 == 0:
            return xp.zeros_like(g), None
        if x2 == 1:
            return g, None
        d = g * x2
        d *= x1 ** (x2 - 1)
        return d, None
    if _scalar(x1):
        if x1 <= 0:
            return None, g * (0.0 if x1 == 0 else math.nan)
        return None, g * out * math.log(x1)
    # y x^(y-1), exactly 0 where y == 0 (x^0 is constant; as the scalar path above), without
    # evaluating 0^-1 there
    gx1 = g * x2 * xp.pow(x1, xp.where(x2 == 0, 1.0, x2 - 1))
    pos = x1 > 0
    logx = xp.log(xp.where(pos, x1, 1.0))
    # 0 where x == 0 and NaN where x < 0; never a where() of two Python scalars, which the
    # standard forbids and agrad's own where (the recorded backward) refuses
    edge = xp.where(x1 < 0, math.nan, xp.zeros_like(g))
    gx2 = xp.where(pos, g * out * logx, edge)
    return gx1, gx2


@primitive(saves="inputs")
def remainder(xp, x1, x2):
    """``x1 % x2`` (sign of the divisor); d/dx1 = 1, d/dx2 = -floor(x1 / x2)."""
    return xp.remainder(x1, x2)


@remainder.defvjp
def _(xp, g, out, x1, x2):  # x % y = x - floor(x/y) y
    return g, None if _scalar(x2) else -g * xp.floor(x1 / x2)


@primitive(saves="none")
def floor_divide(xp, x1, x2):
    """``x1 // x2``; piecewise constant, so its gradient is 0."""
    return xp.floor_divide(x1, x2)


floor_divide.defvjp(zero_vjp)


@primitive(saves="out", complex_grad="holomorphic")
def reciprocal(xp, x):
    """``1 / x``."""
    return xp.reciprocal(x)


@reciprocal.defvjp
def _(xp, g, out, x):  # d(1/x) = -1/x^2 = -out^2
    d = -g
    d *= out
    d *= out
    return d


@primitive(complex_grad="holomorphic")
def square(xp, x):
    """``x * x``."""
    return xp.square(x)


@square.defvjp
def _(xp, g, out, x):  # d(x^2) = 2x
    d = 2.0 * g
    d *= x
    return d


# ---- exponentials and logarithms --------------------------------------------------------
@primitive(saves="out", complex_grad="holomorphic")
def exp(xp, x):
    """``e ** x``."""
    return xp.exp(x)


@exp.defvjp
def _(xp, g, out, x):  # d e^x = e^x
    return g * out


@primitive(saves="out", complex_grad="holomorphic")
def expm1(xp, x):
    """``e ** x - 1``, accurate near 0."""
    return xp.expm1(x)


@expm1.defvjp
def _(xp, g, out, x):  # d(e^x - 1) = e^x = out + 1
    d = out + 1.0
    d *= g
    return d


@primitive(complex_grad="holomorphic")
def log(xp, x):
    """Natural logarithm."""
    return xp.log(x)


@log.defvjp
def _(xp, g, out, x):  # d log x = 1/x
    return g / x


@primitive(complex_grad="holomorphic")
def log1p(xp, x):
    """``log(1 + x)``, accurate near 0."""
    return xp.log1p(x)


@log1p.defvjp
def _(xp, g, out, x):  # d log(1+x) = 1/(1+x)
    return g / (x + 1.0)


@primitive(complex_grad="holomorphic")
def log2(xp, x):
    """Base-2 logarithm."""
    return xp.log2(x)


@log2.defvjp
def _(xp, g, out, x):  # d log2 x = 1/(x ln 2)
    return g / (x * _LN2)


@primitive(complex_grad="holomorphic")
def log10(xp, x):
    """Base-10 logarithm."""
    return xp.log10(x)


@log10.defvjp
def _(xp, g, out, x):  # d log10 x = 1/(x ln 10)
    return g / (x * _LN10)


@primitive(saves="all")
def logaddexp(xp, x1, x2):
    """``log(exp(x1) + exp(x2))``, without overflow."""
    return xp.logaddexp(x1, x2)


@logaddexp.defvjp
def _(xp, g, out, x1, x2):  # d/dx = e^(x - out), d/dy = e^(y - out)
    return (
        None if _scalar(x1) else g * xp.exp(x1 - out),
        None if _scalar(x2) else g * xp.exp(x2 - out),
    )


@primitive(saves="out", complex_grad="holomorphic")
def sqrt(xp, x):
    """Square root; its derivative at 0 is +inf (the one-sided limit)."""
    return xp.sqrt(x)


@sqrt.defvjp
def _(xp, g, out, x):  # d sqrt x = 1 / (2 sqrt x)
    return g / (2.0 * out)


# ---- trigonometric and hyperbolic ------------------------------------------------------
@primitive(complex_grad="holomorphic")
def sin(xp, x):
    """Sine."""
    return xp.sin(x)


@sin.defvjp
def _(xp, g, out, x):  # d sin = cos
    d = xp.cos(x)
    d *= g
    return d


@primitive(complex_grad="holomorphic")
def cos(xp, x):
    """Cosine."""
    return xp.cos(x)


@cos.defvjp
def _(xp, g, out, x):  # d cos = -sin
    d = -g
    d *= xp.sin(x)
    return d


@primitive(saves="out", complex_grad="holomorphic")
def tan(xp, x):
    """Tangent."""
    return xp.tan(x)


@tan.defvjp
def _(xp, g, out, x):  # d tan = 1 + tan^2
    d = out * out
    d += 1.0
    d *= g
    return d


@primitive(complex_grad="holomorphic")
def asin(xp, x):
    """Inverse sine."""
    return xp.asin(x)


@asin.defvjp
def _(xp, g, out, x):  # d asin = 1/sqrt(1 - x^2)
    return g / xp.sqrt(1.0 - x * x)


@primitive(complex_grad="holomorphic")
def acos(xp, x):
    """Inverse cosine."""
    return xp.acos(x)


@acos.defvjp
def _(xp, g, out, x):  # d acos = -1/sqrt(1 - x^2)
    return -g / xp.sqrt(1.0 - x * x)


@primitive(complex_grad="holomorphic")
def atan(xp, x):
    """Inverse tangent."""
    return xp.atan(x)


@atan.defvjp
def _(xp, g, out, x):  # d atan = 1/(1 + x^2)
    return g / (1.0 + x * x)


@primitive
def atan2(xp, x1, x2):
    """The angle of the point ``(x2, x1)``."""
    return xp.atan2(x1, x2)


@atan2.defvjp
def _(xp, g, out, x1, x2):  # d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)
    h = g / (x1 * x1 + x2 * x2)
    return h * x2, -h * x1


@primitive(complex_grad="holomorphic")
def sinh(xp, x):
    """Hyperbolic sine."""
    return xp.sinh(x)


@sinh.defvjp
def _(xp, g, out, x):  # d sinh = cosh
    d = xp.cosh(x)
    d *= g
    return d


@primitive(complex_grad="holomorphic")
def cosh(xp, x):
    """Hyperbolic cosine."""
    return xp.cosh(x)


@cosh.defvjp
def _(xp, g, out, x):  # d cosh = sinh
    d = xp.sinh(x)
    d *= g
    return d


@primitive(saves="out", complex_grad="holomorphic")
def tanh(xp, x):
    """Hyperbolic tangent."""
    return xp.tanh(x)


@tanh.defvjp
def _(xp, g, out, x):  # d tanh = 1 - tanh^2
    return g - (g * out) * out  # = g (1 - out^2), without NumPy's slow Python-scalar operand


@primitive(complex_grad="holomorphic")
def asinh(xp, x):
    """Inverse hyperbolic sine."""
    return xp.asinh(x)


@asinh.defvjp
def _(xp, g, out, x):  # d asinh = 1/sqrt(x^2 + 1)
    return g / xp.sqrt(x * x + 1.0)


@primitive(complex_grad="holomorphic")
def acosh(xp, x):
    """Inverse hyperbolic cosine."""
    return xp.acosh(x)


@acosh.defvjp
def _(xp, g, out, x):  # d acosh = 1/sqrt(x^2 - 1)
    return g / xp.sqrt(x * x - 1.0)


@primitive(complex_grad="holomorphic")
def atanh(xp, x):
    """Inverse hyperbolic tangent."""
    return xp.atanh(x)


@atanh.defvjp
def _(xp, g, out, x):  # d atanh = 1/(1 - x^2)
    return g / (1.0 - x * x)


# ---- kinks ------------------------------------------------------------------------------
@primitive(complex_grad="direct")
def abs(xp, x):
    """Absolute value; subgradient 0 at 0."""
    return xp.abs(x)


@abs.defvjp
def _(xp, g, out, x):  # d|x| = sign(x), 0 at 0
    return g * xp.sign(x)


@primitive(saves="none")
def sign(xp, x):
    """-1, 0 or 1; gradient 0."""
    return xp.sign(x)


sign.defvjp(zero_vjp)


def _split_ties(xp, g, x1, x2, first_wins):
    """Gradient of max/min: all to the winner, half each on ties."""
    win = first_wins
    tie = x1 == x2
    half = 0.5 * g
    zero = xp.zeros_like(g)
    g1 = xp.where(tie, half, xp.where(win, g, zero))
    g2 = xp.where(tie, half, xp.where(win, zero, g))
    return g1, g2


@primitive
def maximum(xp, x1, x2):
    """Elementwise maximum; ties split the gradient equally (ReLU ``maximum(x, 0.)``: 0.5 at 0)."""
    return xp.maximum(x1, x2)


@maximum.defvjp
def _(xp, g, out, x1, x2):  # to the larger input; half each on ties
    return _split_ties(xp, g, x1, x2, x1 > x2)


@primitive
def minimum(xp, x1, x2):
    """Elementwise minimum; ties split the gradient equally."""
    return xp.minimum(x1, x2)


@minimum.defvjp
def _(xp, g, out, x1, x2):  # to the smaller input; half each on ties
    return _split_ties(xp, g, x1, x2, x1 < x2)


@primitive(name="clip")  # the public clip() below gives it keyword bounds
def _clip(xp, x, lo, hi):
    return xp.clip(x, lo, hi)


@_clip.defvjp
def _(xp, g, out, x, lo, hi):  # 1 inside [lo, hi] (inclusive); the bound's own where clipped
    zero = xp.zeros_like(g)
    inside = g
    g_lo = g_hi = None
    if lo is not None:
        below = x < lo
        inside = xp.where(below, zero, inside)
        g_lo = None if _scalar(lo) else xp.where(below, g, zero)
    if hi is not None:
        above = x > hi
        inside = xp.where(above, zero, inside)
        g_hi = None if _scalar(hi) else xp.where(above, g, zero)
    return inside, g_lo, g_hi


def clip(x, /, min=None, max=None):
    """Clamp ``x`` to ``[min, max]``; the gradient passes where ``min <= x <= max``. ``min`` and
    ``max`` may be scalars or tensors (and then receive the gradient where they clip)."""
    return _clip(x, min, max)


@primitive(saves="all")
def hypot(xp, x1, x2):
    """``sqrt(x1**2 + x2**2)`` without overflow; gradient 0 at the origin."""
    return xp.hypot(x1, x2)


@hypot.defvjp
def _(xp, g, out, x1, x2):  # d hypot = (x dx + y dy) / hypot
    zero = out == 0
    h = xp.where(zero, 0.0, g / xp.where(zero, 1.0, out))
    return h * x1, h * x2


# ---- signs and complex parts -------------------------------------------------------------
@primitive
def copysign(xp, x1, x2):
    """``|x1|`` with the sign of ``x2``; d/dx1 = sign(x1) times the sign taken from ``x2``
    (0 at ``x1 == 0``), d/dx2 = 0."""
    return xp.copysign(x1, x2)


@copysign.defvjp
def _(xp, g, out, x1, x2):  # out = |x1| s with s = ±1 from x2's sign bit: d/dx1 = sign(x1) s
    if _scalar(x1):
        return None, None if _scalar(x2) else xp.zeros_like(g)
    if _scalar(x2):
        s = math.copysign(1.0, x2)
    else:
        s = 1.0 - 2.0 * xp.astype(xp.signbit(x2), g.dtype)
    return g * xp.sign(x1) * s, None if _scalar(x2) else xp.zeros_like(g)


@primitive(saves="none")
def nextafter(xp, x1, x2):
    """The next representable value after ``x1`` toward ``x2``: ``x1`` moved by one ulp, so its
    derivative is 1 in ``x1`` and 0 in ``x2``."""
    return xp.nextafter(x1, x2)


@nextafter.defvjp
def _(xp, g, out, x1, x2):  # out = x1 + one ulp
    return g, xp.zeros_like(g)


@primitive(saves="none", complex_grad="direct")
def real(xp, x):
    """The real part (for real input, ``x`` itself).

    The gradient with respect to a complex input follows PyTorch's convention (the conjugate
    Wirtinger derivative, ``dL/dRe + i dL/dIm``): here the real cotangent itself."""
    return xp.real(x)


@real.defvjp
def _(xp, g, out, x):  # Re z = x: the gradient lands on the real part (the tape casts to complex)
    return g


@primitive(name="imag", complex_grad="direct")
def _imag(xp, x):
    return xp.imag(x)


@_imag.defvjp
def _(xp, g, out, x):  # Im z = y: the gradient lands on the imaginary part, 1j * g
    return xp.astype(g, x.dtype) * 1j


def imag(x, /):
    """The imaginary part of a complex tensor. The gradient with respect to the complex input is
    ``1j * g`` (PyTorch's convention: ``dL/dRe + 1j dL/dIm``)."""
    from ._util import as_tensor

    x = as_tensor(x, "imag")
    if x.dtype.kind != "complex floating":
        raise TypeError(
            f"agrad.imag: needs a complex tensor, got {x.dtype} (the standard defines imag for "
            "complex dtypes only; the imaginary part of a real tensor is zeros_like(x))"
        )
    return _imag(x)


@primitive(saves="none", complex_grad="direct")
def conj(xp, x):
    """The complex conjugate (``x`` itself for real input); gradient ``conj(g)``."""
    return xp.conj(x)


@conj.defvjp
def _(xp, g, out, x):  # conj is its own adjoint
    return xp.conj(g)


# ---- rounding: zero gradient -----------------------------------------------------------
@primitive(saves="none")
def floor(xp, x):
    """Round down; gradient 0."""
    return xp.floor(x)


@primitive(saves="none")
def ceil(xp, x):
    """Round up; gradient 0."""
    return xp.ceil(x)


@primitive(saves="none")
def round(xp, x):
    """Round half to even; gradient 0."""
    return xp.round(x)


@primitive(saves="none")
def trunc(xp, x):
    """Round toward 0; gradient 0."""
    return xp.trunc(x)


for _p in (floor, ceil, round, trunc):
    _p.defvjp(zero_vjp)


# ---- selection ----------------------------------------------------------------------------
@primitive(saves="inputs", promote_from=1, complex_grad="direct")
def where(xp, condition, x1, x2):
    """``x1`` where ``condition`` holds, else ``x2``."""
    return xp.where(condition, x1, x2)


@where.defvjp
def _(xp, g, out, condition, x1, x2):  # routes g to the chosen branch
    zero = xp.zeros_like(g)
    return None, xp.where(condition, g, zero), xp.where(condition, zero, g)


# ---- non-differentiable: booleans and integers ------------------------------------------
def _nondiff(name):
    def forward(xp, *args):
        return getattr(xp, name)(*args)

    forward.__name__ = name
    forward.__doc__ = f"The standard's ``{name}`` (boolean or integer result; not differentiable)."
    unary = name in _UNARY_NONDIFF
    params = ("xp", "x") if unary else ("xp", "x1", "x2")  # the standard's names, for help()
    forward.__signature__ = inspect.Signature(
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_ONLY) for p in params]
    )
    return primitive(forward, name=name, saves="none", differentiable=False)


_UNARY_NONDIFF = {"logical_not", "isnan", "isinf", "isfinite", "signbit", "bitwise_invert"}


equal = _nondiff("equal")
not_equal = _nondiff("not_equal")
less = _nondiff("less")
less_equal = _nondiff("less_equal")
greater = _nondiff("greater")
greater_equal = _nondiff("greater_equal")
logical_and = _nondiff("logical_and")
logical_or = _nondiff("logical_or")
logical_xor = _nondiff("logical_xor")
logical_not = _nondiff("logical_not")
isnan = _nondiff("isnan")
isinf = _nondiff("isinf")
isfinite = _nondiff("isfinite")
signbit = _nondiff("signbit")
bitwise_and = _nondiff("bitwise_and")
bitwise_or = _nondiff("bitwise_or")
bitwise_xor = _nondiff("bitwise_xor")
bitwise_invert = _nondiff("bitwise_invert")
bitwise_left_shift = _nondiff("bitwise_left_shift")
bitwise_right_shift = _nondiff("bitwise_right_shift")

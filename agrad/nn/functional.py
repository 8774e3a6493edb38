"""Activations and losses in PyTorch's names and defaults (``axis=`` where torch says ``dim=``).

Most of what is here is a composite of agrad's public functions, so gradients (and second
derivatives) come from the tape. ``linear``, ``relu``, ``sigmoid`` and ``softplus`` are
primitives, for speed (one node each, one pass where a composite took several); their VJPs are
written against ``xp`` like every op's, so they differentiate again too. Numerical stability
comes from the forms chosen: ``softplus`` is ``max(x, 0) + log1p(exp(-|x|))`` (its VJP
``exp(x - out)`` never overflows), ``sigmoid`` is ``exp(min(x, 0)) / (1 + exp(-|x|))``,
``log_sigmoid`` is ``-softplus(-x)``, ``logsumexp`` and ``softmax`` shift by the (detached)
maximum, and the losses work in log space. Values and gradients stay finite at ``|x| = 1e4``.

Subgradients: ``relu'(0) = 0`` (as torch); ``binary_cross_entropy`` clamps each log at -100
(as torch) and gives a zero gradient where the clamp is active.

Examples
--------
>>> import agrad as ag
>>> import agrad.nn.functional as F
>>> logits = ag.asarray([[2.0, 0.5, -1.0]], requires_grad=True)
>>> loss = F.cross_entropy(logits, ag.asarray([0]))
>>> loss.backward()
>>> round(float(loss), 4)
0.2413
"""

from __future__ import annotations

import math

from .._dtypes import DTYPES
from .._info import isdtype
from .._op import primitive
from .._tensor import Tensor
from ..ops.creation import asarray
from ..ops.elementwise import exp, isfinite, log, tanh, where
from ..ops.indexing import take, take_along_axis
from ..ops.manipulation import astype, expand_dims, reshape, squeeze
from ..ops.reduction import max as _max
from ..ops.reduction import mean as _mean
from ..ops.reduction import sum as _sum

__all__ = [
    "linear",
    "relu",
    "gelu",
    "silu",
    "sigmoid",
    "log_sigmoid",
    "tanh",
    "softplus",
    "softmax",
    "log_softmax",
    "logsumexp",
    "mse_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INT64 = DTYPES["int64"]
_REDUCTIONS = ("none", "mean", "sum")


# ---- helpers ----------------------------------------------------------------------------
def _tensor(v, fn: str, name: str) -> Tensor:
    if isinstance(v, Tensor):
        return v
    try:
        return asarray(v)
    except Exception as exc:  # pragma: no cover - the message is the point
        raise TypeError(f"agrad.nn.functional.{fn}: {name} must be a tensor, got {v!r}") from exc


def _floating(v, fn: str, name: str = "input") -> Tensor:
    v = _tensor(v, fn, name)
    if v._data.dtype in v._bk.real_dtypes:  # (the raw dtype: 0.1 µs, isdtype's 1 µs)
        return v
    if not isdtype(v.dtype, "real floating"):
        raise TypeError(
            f"agrad.nn.functional.{fn}: {name} must be a real floating-point tensor, "
            f"got dtype {v.dtype} (shape {v.shape})"
        )
    return v


def _check_reduction(reduction: str, fn: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"agrad.nn.functional.{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
        )


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return _sum(loss)
    return _mean(loss)  # (one node; NaN for no elements, as torch)


def _same_shape(input: Tensor, target: Tensor, fn: str) -> None:
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"agrad.nn.functional.{fn}: target shape {tuple(target.shape)} must equal input "
            f"shape {tuple(input.shape)}"
        )


def _norm_axis(axis: int, ndim: int, fn: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"agrad.nn.functional.{fn}: axis {axis} is out of range for a {ndim}-d input"
        )
    return axis % ndim


# ---- activations ------------------------------------------------------------------------
def relu(x):
    """``max(x, 0)``, with derivative 0 at 0 (as torch; ``ag.maximum(x, 0.0)`` gives 0.5).

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import relu
    >>> relu(ag.asarray([-1.0, 0.0, 2.0]))
    Tensor([0., 0., 2.], backend='numpy', device='cpu', dtype=float64)
    """
    x = _floating(x, "relu")
    return _relu(x)


def linear(x, weight, bias=None):
    """``x @ weight.T + bias``, PyTorch's layout: ``weight`` is (out_features, in_features).

    One primitive rather than transpose, matmul and add: the weight's gradient comes out as
    ``g.T @ x``, already (out, in) and contiguous (the composite hands the optimizer a
    transposed view), the bias's as one sum over the batch, and no gradient is computed for
    the input when it needs none (a data batch).

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import linear
    >>> w = ag.asarray([[1.0, 2.0], [0.0, 1.0], [1.0, 1.0]])  # 2 -> 3
    >>> linear(ag.asarray([[1.0, 1.0]]), w, ag.asarray([0.5, 0.0, -1.0]))
    Tensor([[3.5, 1. , 1. ]], backend='numpy', device='cpu', dtype=float64)
    """
    x = _floating(x, "linear")
    weight = _floating(weight, "linear", "weight")
    xs, ws = x._data.shape, weight._data.shape  # (raw shapes: every layer of a model runs this)
    if len(ws) != 2 or len(xs) < 1 or xs[-1] != ws[1]:
        raise ValueError(
            f"agrad.nn.functional.linear: input of shape {x.shape} and weight of shape "
            f"{weight.shape}: the weight must be (out_features, in_features) with "
            "in_features equal to the input's last axis"
        )
    if bias is not None:
        bias = _floating(bias, "linear", "bias")
        if tuple(bias._data.shape) != (ws[0],):
            raise ValueError(
                f"agrad.nn.functional.linear: bias of shape {bias.shape} for weight of shape "
                f"{weight.shape}: it must be ({ws[0]},)"
            )
    return _linear(x, weight, bias)


@primitive(name="linear", complex_grad="holomorphic", selective=True)
def _linear(xp, x, w, b):
    y = xp.matmul(x, xp.matrix_transpose(w))
    if b is None:
        return y
    if y.dtype == b.dtype:  # y is new and ours: add the bias in place (one pass, no new array)
        y += b
        return y
    return y + b


@_linear.defvjp
def _(xp, g, out, x, w, b, needs):  # y = x W^T + b: gx = g W, gW = g^T x, gb = sum of g
    n_out, n_in = w.shape
    gx = xp.matmul(g, w) if needs[0] else None
    g2 = None
    if needs[1] or needs[2]:
        g2 = xp.reshape(g, (-1, n_out))  # the batch axes as rows
    gw = xp.matmul(xp.matrix_transpose(g2), xp.reshape(x, (-1, n_in))) if needs[1] else None
    gb = xp.sum(g2, axis=0) if needs[2] else None
    return gx, gw, gb


@primitive(name="relu", saves="out")
def _relu(xp, x):
    # one primitive, not where(x > 0, x, 0.0): one pass forward (NaN stays NaN, as in torch),
    # and a backward that neither builds a zeros array nor differentiates a constant branch
    return xp.maximum(x, 0.0)


@_relu.defvjp
def _(xp, g, out, x):  # relu'(x) = 1 where x > 0 (out > 0), else 0 (0 at the kink, as torch)
    # a multiply by the 0/1 mask, not where(out > 0, g, 0.0): NumPy's where branches per
    # element and ran 17x slower on a random mask (an infinite g times 0 gives NaN, not 0).
    # The product goes into the mask (a new array), in place: NumPy reuses a temporary's
    # memory only for interpreted code, so the compiled core allocated a third array here
    # (10 µs more on a (256, 1024) float32 batch)
    mask = xp.astype(out > 0, g.dtype)
    mask *= g
    return mask


def gelu(x, approximate: str = "tanh"):
    """Gaussian error linear unit, in the tanh approximation (torch's ``approximate="tanh"``):
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    The exact form ``x Phi(x)`` needs ``erf``, which the Array API standard does not have, so
    ``approximate="none"`` raises ``NotImplementedError``; the default here is ``"tanh"`` (torch's
    default is ``"none"``). The two differ by less than 5e-4.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import gelu
    >>> round(float(gelu(ag.asarray(1.0))), 6)
    0.841192
    """
    if approximate != "tanh":
        if approximate == "none":
            raise NotImplementedError(
                "agrad.nn.functional.gelu: approximate='none' (the exact erf form) is not "
                "available: the Array API standard has no erf; use approximate='tanh'"
            )
        raise ValueError(
            f"agrad.nn.functional.gelu: approximate must be 'tanh' or 'none', got {approximate!r}"
        )
    x = _floating(x, "gelu")
    return 0.5 * x * (1.0 + tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))))


# sigmoid and softplus are primitives for speed, and written so that nothing overflows: as
# composites of logaddexp they were four nodes each, and NumPy's logaddexp is a scalar loop
# (20 ms per 10^6 float64 elements, against 3-5 ms for these on the same machine)
@primitive(name="sigmoid", saves="out")
def _sigmoid(xp, x):
    # exp(min(x, 0)) / (1 + exp(-|x|)) is 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below:
    # both exponents are <= 0 (no overflow, no warning), each quotient accurate to an ulp or two
    return xp.exp(xp.minimum(x, 0.0)) / (1.0 + xp.exp(-xp.abs(x)))


@_sigmoid.defvjp
def _(xp, g, out, x):  # sigmoid' = s (1 - s)  (as torch: 0 once s rounds to 1)
    d = 1.0 - out
    d *= out
    d *= g  # (into the new array, as agrad.ops.elementwise's VJPs: one array fewer compiled)
    return d


@primitive(name="softplus", saves="all")
def _softplus(xp, x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, exact for large |x|
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


@_softplus.defvjp
def _(xp, g, out, x):  # softplus' = sigmoid(x) = exp(x - softplus(x)), an exponent <= 0
    d = xp.exp(x - out)
    d *= g  # (into the new array, as agrad.ops.elementwise's VJPs: one array fewer compiled)
    return d


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    """``log(1 + exp(beta x)) / beta``, computed as ``max(bx, 0) + log1p(exp(-|bx|))`` over
    ``beta`` (no overflow; its gradient ``sigmoid(beta x)`` is finite everywhere); ``x`` itself
    where ``beta x > threshold``, as torch.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import softplus
    >>> float(softplus(ag.asarray(1e4)))
    10000.0
    """
    x = _floating(x, "softplus")
    bx = x * beta if beta != 1.0 else x
    soft = _softplus(bx)
    if beta != 1.0:
        soft = soft / beta
    return where(bx > threshold, x, soft)


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, one op computed as ``exp(min(x, 0)) / (1 +
    exp(-|x|))``: accurate and finite (values and gradients) for large ``|x|``.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import sigmoid
    >>> float(sigmoid(ag.asarray(0.0)))
    0.5
    """
    x = _floating(x, "sigmoid")
    return _sigmoid(x)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import log_sigmoid
    >>> float(log_sigmoid(ag.asarray(-1e4)))
    -10000.0
    """
    x = _floating(x, "log_sigmoid")
    return -_softplus(-x)


def silu(x):
    """``x * sigmoid(x)`` (also called swish).

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import silu
    >>> float(silu(ag.asarray(0.0)))
    0.0
    """
    x = _floating(x, "silu")
    return x * sigmoid(x)


def _shift(x, axis, keepdims=True):
    """The detached maximum along ``axis`` (0 where it is not finite): a constant shift."""
    if x.size == 0:  # no maximum to take (and no element to shift)
        return 0.0
    m = _max(x.detach(), axis=axis, keepdims=keepdims)
    return where(isfinite(m), m, 0.0)


def logsumexp(x, axis=None, keepdims: bool = False):
    """``log(sum(exp(x), axis))``, shifted by the maximum so that it neither overflows nor
    underflows; its gradient is ``softmax(x)``, finite even at ``|x| = 1e4``.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import logsumexp
    >>> float(logsumexp(ag.asarray([1e4, 1e4])))  # doctest: +ELLIPSIS
    10000.69314718...
    """
    x = _floating(x, "logsumexp")
    if x.ndim == 0:
        return x * 1.0
    m = _shift(x, axis)
    out = log(_sum(exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        axes = tuple(range(x.ndim)) if axis is None else axis
        out = squeeze(out, axis=axes)
    return out


def log_softmax(x, axis: int = -1):
    """``x - logsumexp(x, axis)``: log-probabilities along ``axis``, finite for large ``|x|``.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import log_softmax
    >>> log_softmax(ag.asarray([1e4, -1e4]))
    Tensor([     0., -20000.], backend='numpy', device='cpu', dtype=float64)
    """
    x = _floating(x, "log_softmax")
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis: int = -1):
    """``exp(x) / sum(exp(x), axis)``, shifted by the maximum along ``axis``.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import softmax
    >>> softmax(ag.asarray([0.0, 0.0]))
    Tensor([0.5, 0.5], backend='numpy', device='cpu', dtype=float64)
    """
    x = _floating(x, "softmax")
    e = exp(x - _shift(x, axis))
    return e / _sum(e, axis=axis, keepdims=True)


# ---- losses -----------------------------------------------------------------------------
def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error ``(input - target)^2``, reduced by ``reduction`` ("mean", "sum",
    "none"). ``input`` and ``target`` must have the same shape.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import mse_loss
    >>> float(mse_loss(ag.asarray([1.0, 2.0]), ag.asarray([0.0, 0.0])))
    2.5
    """
    fn = "mse_loss"
    _check_reduction(reduction, fn)
    input = _floating(input, fn)
    target = _floating(target, fn, "target")
    _same_shape(input, target, fn)
    d = input - target
    return _reduce(d * d, reduction)


# below this, log(p) < -100: torch's clamp of binary_cross_entropy's logs is active
_E_MINUS_100 = math.exp(-100.0)


def _raw_any(p: Tensor, test) -> bool:
    """``bool(any(test(raw)))`` on ``p``'s raw array (no Tensors, no graph)."""
    bk, raw = p._bk, p._data
    if bk.ctx is None:
        return bool(bk.xp.any(test(raw)))
    with bk.ctx(p._dev):  # pragma: no cover - CuPy: on the array's device
        return bool(bk.xp.any(test(raw)))


def _clamped_log(xp, v):
    """``log(v)`` clamped at -100 (torch's), with no log of 0 taken (no warning, no -inf)."""
    pos = v > 0
    return xp.where(pos, xp.maximum(xp.log(xp.where(pos, v, 1.0)), -100.0), -100.0)


# one primitive, for speed: as a composite of clamped logs it was 15 nodes. With every p in
# (e^-100, 1) no clamp can be active (log(1 - p) >= log(2^-53) there), and the plain forms
# serve: a third of the calls
@primitive(name="binary_cross_entropy", selective=True)
def _bce(xp, p, t, *, clamp):
    if not clamp:
        return -(t * xp.log(p) + (1.0 - t) * xp.log(1.0 - p))
    return -(t * _clamped_log(xp, p) + (1.0 - t) * _clamped_log(xp, 1.0 - p))


@_bce.defvjp
def _(xp, g, out, p, t, *, needs, clamp):
    # d/dp = -t/p + (1 - t)/(1 - p) = (p - t) / (p (1 - p)); with clamps, each term is 0 where
    # its log is clamped (at p = 0 or 1 too). d/dt = log(1 - p) - log(p), both clamped
    gp = gt = None
    q = 1.0 - p
    if needs[0]:
        if not clamp:
            gp = g * ((p - t) / (p * q))
        else:
            inv_p = xp.where(_clamped_log(xp, p) > -100.0, 1.0 / xp.where(p > 0, p, 1.0), 0.0)
            inv_q = xp.where(_clamped_log(xp, q) > -100.0, 1.0 / xp.where(q > 0, q, 1.0), 0.0)
            gp = g * ((1.0 - t) * inv_q - t * inv_p)
    if needs[1]:
        if not clamp:
            gt = g * (xp.log(q) - xp.log(p))
        else:
            gt = g * (_clamped_log(xp, q) - _clamped_log(xp, p))
    return gp, gt


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """``-weight (t log p + (1 - t) log(1 - p))`` for probabilities ``p`` in [0, 1]; each log
    is clamped at -100 as in torch (where the clamp is active the gradient is 0, where torch's
    is about -1e12). Prefer :func:`binary_cross_entropy_with_logits` for stability.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import binary_cross_entropy
    >>> round(float(binary_cross_entropy(ag.asarray([0.5]), ag.asarray([1.0]))), 6)
    0.693147
    """
    fn = "binary_cross_entropy"
    _check_reduction(reduction, fn)
    p = _floating(input, fn)
    t = _floating(target, fn, "target")
    _same_shape(p, t, fn)
    # one look at the data in the common case (a host sync on a GPU, as torch's check)
    # (written so that NaN fails both tests: torch refuses NaN probabilities too)
    clamp = _raw_any(p, lambda r: ~((r > _E_MINUS_100) & (r < 1.0)))
    if clamp and _raw_any(p, lambda r: ~((r >= 0) & (r <= 1))):
        raise ValueError(f"agrad.nn.functional.{fn}: all elements of input must be in [0, 1]")
    loss = _bce(p, t, clamp=clamp)
    if weight is not None:
        loss = loss * _floating(weight, fn, "weight")
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
):
    """Binary cross-entropy on logits ``x``: ``(1 - t) x + (1 + (pos_weight - 1) t)
    softplus(-x)`` (torch's form), stable for any ``|x|``. ``pos_weight`` broadcasts along the
    last axis (one weight per class), ``weight`` over the whole loss.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import binary_cross_entropy_with_logits as bce
    >>> round(float(bce(ag.asarray([0.0]), ag.asarray([1.0]))), 6)
    0.693147
    """
    fn = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, fn)
    x = _floating(input, fn)
    t = _floating(target, fn, "target")
    _same_shape(x, t, fn)
    sp = _softplus(-x)  # softplus(-x) = -log(sigmoid(x))
    if pos_weight is not None:
        sp = (1.0 + (_floating(pos_weight, fn, "pos_weight") - 1.0) * t) * sp
    loss = (1.0 - t) * x + sp
    if weight is not None:
        loss = loss * _floating(weight, fn, "weight")
    return _reduce(loss, reduction)


def _class_axis(input: Tensor, axis: int, fn: str) -> int:
    if input.ndim == 0:
        raise ValueError(f"agrad.nn.functional.{fn}: input must have a class axis, got shape ()")
    if input.ndim == 1 and axis in (1, -1, 0):  # an unbatched (C,) input, as torch
        return 0
    return _norm_axis(axis, input.ndim, fn)


def _index_target(input, target, axis, fn) -> Tensor:
    """``target``, checked as class indices for ``input``, as int64: labels of a narrower or
    unsigned dtype (uint8, int32 ...) would be compared and matched against the classes in
    their own dtype, where 300 classes or an ignore_index of -100 do not fit (a uint8 arange of
    300 wraps: a silently wrong class), and torch gathers by int64 indices only."""
    if not isdtype(target.dtype, "integral"):
        raise TypeError(
            f"agrad.nn.functional.{fn}: class-index target must have an integer dtype, got "
            f"{target.dtype} (shape {tuple(target.shape)}); probabilities need the input's "
            f"shape {tuple(input.shape)}"
        )
    want = tuple(input.shape[:axis]) + tuple(input.shape[axis + 1 :])
    if tuple(target.shape) != want:
        raise ValueError(
            f"agrad.nn.functional.{fn}: class-index target shape {tuple(target.shape)} must be "
            f"the input shape {tuple(input.shape)} without axis {axis}, i.e. {want}"
        )
    return target if target.dtype == _INT64 else astype(target, _INT64)


def _check_class_range(target, n_classes, ignore_index, fn) -> bool:
    """Class indices outside ``[0, C)`` (other than ignore_index) are an error, as in torch:
    never a silently picked class (a negative index would wrap around).

    Returns True when every entry is a class, none of them ignored: the common case, found by
    one test (``any(t < 0 or t >= C)``: one read back from the device) when ``ignore_index`` is
    not a class itself, and the cross-entropy then needs no masks."""
    if not _raw_any(target, lambda r: (r < 0) | (r >= n_classes)):
        return not 0 <= ignore_index < n_classes  # (else an entry may be the ignored class)
    if _raw_any(target, lambda r: (r != ignore_index) & ((r < 0) | (r >= n_classes))):
        host = target._bk.to_numpy(target._data)  # (the error path only)
        bad = host[(host != ignore_index) & ((host < 0) | (host >= n_classes))]
        raise ValueError(
            f"agrad.nn.functional.{fn}: target holds class index {int(bad[0])}, outside "
            f"[0, {n_classes}) for an input with {n_classes} classes (ignore_index is "
            f"{ignore_index}); class indices must lie in that range"
        )
    return False


def _check_weight(weight, n_classes, fn):
    weight = _floating(weight, fn, "weight")
    if tuple(weight.shape) != (n_classes,):
        raise ValueError(
            f"agrad.nn.functional.{fn}: weight must have shape ({n_classes},) (one per class), "
            f"got {tuple(weight.shape)}"
        )
    return weight


def _picked_weights(weight, target, valid, input):
    """Per-element class weights ``weight[target]`` (0 where the target is ignored)."""
    if weight is None:
        return astype(valid, input.dtype)
    safe = where(valid, target, 0)
    w = take(weight, reshape(safe, (-1,)), axis=0)
    return where(valid, reshape(w, tuple(target.shape)), 0.0)


def _nll(logp, target, weight, axis, ignore_index, fn):
    """Per-element ``-weight[t] logp[t]`` (0 where ignored) and the per-element weights."""
    valid = target != ignore_index
    safe = where(valid, target, 0)
    picked = squeeze(take_along_axis(logp, expand_dims(safe, axis=axis), axis=axis), axis=axis)
    w = _picked_weights(weight, target, valid, logp)
    return -(picked * w), w


def _reduce_weighted(loss, w, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return _sum(loss)
    return _sum(loss) / _sum(w)


def nll_loss(
    input, target, weight=None, reduction: str = "mean", axis: int = 1, ignore_index: int = -100
):
    """Negative log-likelihood of class indices: ``-weight[t] input[..., t, ...]`` along the
    class ``axis`` of log-probabilities ``input`` (shape ``(N, C, d1, ...)``, or ``(C,)``).

    ``target`` holds integer class indices, shaped as ``input`` without ``axis``; entries
    equal to ``ignore_index`` contribute nothing. ``reduction="mean"`` divides by the sum of
    the weights of the counted targets, as torch does.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import nll_loss
    >>> float(nll_loss(ag.asarray([[-1.0, -2.0]]), ag.asarray([1])))
    2.0
    """
    fn = "nll_loss"
    _check_reduction(reduction, fn)
    input = _floating(input, fn)
    target = _tensor(target, fn, "target")
    axis = _class_axis(input, axis, fn)
    target = _index_target(input, target, axis, fn)
    _check_class_range(target, input.shape[axis], ignore_index, fn)
    if weight is not None:
        weight = _check_weight(weight, input.shape[axis], fn)
    loss, w = _nll(input, target, weight, axis, ignore_index, fn)
    return _reduce_weighted(loss, w, reduction)


def _class_hits(xp, z, target, axis):
    """Bool array of ``z``'s shape, True at each ``target`` class along ``axis`` (nowhere for a
    target outside ``[0, C)``, such as an ignore_index)."""
    n = z.shape[axis]
    shape = [1] * len(z.shape)
    shape[axis] = n
    classes = xp.reshape(xp.arange(n, dtype=target.dtype, device=target.device), tuple(shape))
    return xp.expand_dims(target, axis=axis) == classes


def _shifted(xp, z, axis):
    """``z`` minus its maximum along ``axis`` (not shifted where that maximum is not finite)."""
    m = xp.max(z, axis=axis, keepdims=True)
    return z - xp.where(xp.isfinite(m), m, 0.0)


# cross-entropy of class indices as one primitive, for speed: log_softmax and the pick were
# about 20 nodes (3x the time on a (256, 10) batch), and the mean over the counted targets
# five more. The common case only: no class weights, no label smoothing; those go through the
# composite. Its second output is the softmax, kept for the VJP (softmax - onehot) in place of
# the logits: recomputing it there was six array calls more than a hand-written backprop
@primitive(name="cross_entropy", promotes=False, saves="out+constants")
def _cross_entropy_indices(xp, z, target, *, axis, ignore_index, mean, all_valid):
    # all_valid: every target is a class, none ignored (_check_class_range found it): no masks,
    # six array calls fewer here and four in the VJP (each a kernel launch on a GPU)
    sh = _shifted(xp, z, axis)
    e = xp.exp(sh)
    s = xp.sum(e, axis=axis, keepdims=True)
    p = e / s
    lse = xp.log(xp.squeeze(s, axis=axis))
    if all_valid:
        picked = xp.take_along_axis(sh, xp.expand_dims(target, axis=axis), axis=axis)
        loss = lse - xp.squeeze(picked, axis=axis)
        return (xp.mean(loss) if mean else loss), p
    valid = target != ignore_index
    safe = xp.expand_dims(xp.where(valid, target, 0), axis=axis)
    picked = xp.squeeze(xp.take_along_axis(sh, safe, axis=axis), axis=axis)
    loss = xp.where(valid, lse - picked, 0.0)
    if not mean:
        return loss, p
    # over the counted targets, as torch (NaN when there are none)
    return xp.sum(loss) / xp.sum(xp.astype(valid, loss.dtype)), p


@_cross_entropy_indices.defvjp
def _(xp, g, out, z, target, *, axis, ignore_index, mean, all_valid):
    # d loss/dz = (p - onehot(t)) g, p = softmax(z) (the second output; z is not kept);
    # d p/dz (the softmax's own VJP, for a cotangent reaching p in a recorded backward):
    # p (gp - sum(gp p))
    gl, gp = g
    p = out[1]
    gz = None
    if gl is not None:
        d = p - xp.astype(_class_hits(xp, p, target, axis), p.dtype)
        if all_valid:  # gl is 0-d for the mean (each target's share: gl / N), else per target
            share = gl / math.prod(target.shape) if mean else xp.expand_dims(gl, axis=axis)
        else:
            valid = target != ignore_index
            if mean:  # each counted target's share of the mean
                gl = gl / xp.sum(xp.astype(valid, p.dtype))
            share = xp.expand_dims(xp.where(valid, gl, 0.0), axis=axis)
        gz = d * share
    if gp is not None:
        gs = p * (gp - xp.sum(gp * p, axis=axis, keepdims=True))
        gz = gs if gz is None else gz + gs
    return gz, None


def cross_entropy(
    input,
    target,
    weight=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    axis: int = 1,
    ignore_index: int = -100,
):
    """Cross-entropy between logits ``input`` and ``target`` along the class ``axis``: the
    log-softmax and the negative log-likelihood in one, stable for large logits.

    ``target`` is either integer class indices (``input``'s shape without ``axis``; entries
    equal to ``ignore_index`` are skipped) or class probabilities (``input``'s shape, floating).
    ``label_smoothing`` mixes the target with the uniform distribution, and ``weight`` (one
    per class) and ``reduction`` follow torch exactly (for index targets "mean" divides by the
    sum of the counted targets' weights; for probabilities by the number of samples).

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.nn.functional import cross_entropy
    >>> round(float(cross_entropy(ag.asarray([[0.0, 0.0]]), ag.asarray([1]))), 6)
    0.693147
    """
    fn = "cross_entropy"
    _check_reduction(reduction, fn)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"agrad.nn.functional.{fn}: label_smoothing must be in [0, 1], got {label_smoothing}"
        )
    input = _floating(input, fn)
    target = _tensor(target, fn, "target")
    axis = _class_axis(input, axis, fn)
    n_classes = input.shape[axis]
    if weight is not None:
        weight = _check_weight(weight, n_classes, fn)
    wshape = [1] * input.ndim
    wshape[axis] = n_classes
    if isdtype(target.dtype, "real floating"):  # class probabilities
        _same_shape(input, target, fn)
        logp = log_softmax(input, axis=axis)
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
        prod = logp * target
        if weight is not None:
            prod = prod * reshape(weight, tuple(wshape))
        loss = -_sum(prod, axis=axis)
        if reduction == "mean":
            return _sum(loss) / float(loss.size) if loss.size else _sum(loss) * math.nan
        return _reduce(loss, reduction)
    target = _index_target(input, target, axis, fn)
    # (an empty batch takes the masked form: its mean is 0 / 0, NaN as in torch, as before)
    all_valid = _check_class_range(target, n_classes, ignore_index, fn) and target.size != 0
    if weight is None and not label_smoothing and n_classes:
        mean = reduction == "mean"
        loss = _cross_entropy_indices(
            input, target, axis=axis, ignore_index=ignore_index, mean=mean, all_valid=all_valid
        )[0]  # (the second output, the softmax, is the VJP's)
        return loss if mean else _reduce(loss, reduction)
    logp = log_softmax(input, axis=axis)
    loss, w = _nll(logp, target, weight, axis, ignore_index, fn)
    if label_smoothing:
        wl = logp if weight is None else logp * reshape(weight, tuple(wshape))
        smooth = where(target != ignore_index, -_sum(wl, axis=axis), 0.0)
        loss = (1.0 - label_smoothing) * loss + (label_smoothing / n_classes) * smooth
    return _reduce_weighted(loss, w, reduction)

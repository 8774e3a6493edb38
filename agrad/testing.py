"""Checking derivatives: ``gradcheck`` and ``gradgradcheck``.

Both compare the full Jacobian from reverse mode with central finite differences, in float64,
on the inputs' own backend and device. On a mismatch they raise :class:`GradcheckError`
naming the input, the worst element, both values and the tolerance.
"""

from __future__ import annotations

import numpy as np

from . import _tape
from .autodiff import vjp
from .ops.creation import asarray
from .ops.manipulation import astype, concat, reshape

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Reverse-mode derivatives disagree with finite differences."""


def _float64(inputs):
    out = []
    for k, x in enumerate(inputs):
        x = x if hasattr(x, "_bk") else asarray(x)
        if not x.dtype.is_floating:
            raise TypeError(f"agrad.gradcheck: input {k} has dtype {x.dtype}; it must be floating")
        if x.dtype.kind == "complex floating":
            raise NotImplementedError("agrad.gradcheck: complex inputs are not supported yet")
        out.append(astype(x.detach(), "float64"))
    return out


def _host(t):
    return np.asarray(t.numpy(), dtype=np.float64)


def _jacobians(f, inputs, eps):
    """(reverse, numeric) Jacobians per input, each of shape (out.size, input.size)."""
    out, vjp_fn = vjp(f, *inputs)
    if not hasattr(out, "_bk"):
        raise TypeError(f"agrad.gradcheck: the function must return a tensor, got {type(out)}")
    n_out = out.size
    rev = [np.zeros((n_out, x.size)) for x in inputs]
    for k in range(n_out):
        onehot = np.zeros(n_out)
        onehot[k] = 1.0
        cot = asarray(
            onehot.reshape(out.shape), dtype=out.dtype, device=out.device, backend=out._bk
        )
        for i, g in enumerate(vjp_fn(cot)):
            rev[i][k] = _host(g).reshape(-1)
    num = [np.zeros((n_out, x.size)) for x in inputs]
    with _tape.no_grad():
        for i, x in enumerate(inputs):
            base = _host(x)
            for j in range(x.size):
                cols = []
                for sign in (1.0, -1.0):
                    pert = base.copy().reshape(-1)
                    pert[j] += sign * eps
                    xi = asarray(
                        pert.reshape(base.shape), dtype=x.dtype, device=x.device, backend=x._bk
                    )
                    args = list(inputs)
                    args[i] = xi
                    cols.append(_host(f(*args)).reshape(-1))
                num[i][:, j] = (cols[0] - cols[1]) / (2.0 * eps)
    return out, rev, num


def gradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3) -> bool:
    """Check ``f``'s reverse-mode Jacobian against central finite differences in float64.

    Returns True, or raises :class:`GradcheckError` naming the input and the worst element.

    Examples
    --------
    >>> import agrad as ag
    >>> ag.testing.gradcheck(lambda x: ag.tanh(x) * x, ag.asarray([0.3, -1.2]))
    True
    """
    inputs = _float64(inputs)
    out, rev, num = _jacobians(f, inputs, eps)
    for i, (r, n) in enumerate(zip(rev, num)):
        if r.size == 0:
            continue
        err = np.abs(r - n) - (atol + rtol * np.abs(n))
        bad = np.isnan(r) != np.isnan(n)
        err = np.where(bad, np.inf, np.where(np.isnan(err), -np.inf, err))
        k, j = np.unravel_index(int(np.argmax(err)), err.shape)
        if err[k, j] > 0:
            oidx = _index(out.shape, k)
            iidx = _index(inputs[i].shape, j)
            raise GradcheckError(
                f"gradcheck failed for input {i} (shape {inputs[i].shape}): worst element "
                f"d out{oidx} / d input{i}{iidx}: reverse mode {float(r[k, j]):.6g}, finite "
                f"differences {float(n[k, j]):.6g} (|difference| {abs(r[k, j] - n[k, j]):.3g} "
                f"> atol {atol} + rtol {rtol} * |finite difference|)"
            )
    return True


def _index(shape, flat):
    if not shape:
        return "[]"
    return "[" + ", ".join(map(str, np.unravel_index(flat, shape))) + "]"


def gradgradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0) -> bool:
    """Check second derivatives: :func:`gradcheck` applied to ``x -> vjp(f, x)(u)`` for a fixed
    random cotangent ``u`` (the backward pass must itself be differentiable).

    Examples
    --------
    >>> import agrad as ag
    >>> ag.testing.gradgradcheck(lambda x: ag.sin(x) * x, ag.asarray([0.3, -1.2]))
    True
    """
    inputs = _float64(inputs)
    out = f(*inputs)
    rng = np.random.default_rng(seed)
    u = asarray(rng.normal(size=out.shape), dtype=out.dtype, device=out.device, backend=out._bk)

    def first_derivatives(*xs):
        _, vjp_fn = vjp(f, *xs)
        grads = vjp_fn(u)
        return concat([reshape(g, (-1,)) for g in grads])

    return gradcheck(first_derivatives, *inputs, eps=eps, atol=atol, rtol=rtol)

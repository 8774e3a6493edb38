"""Anomaly mode: ``with ag.detect_anomaly():`` finds the first NaN or Inf and where it came from.

While it is on, every recorded op notes the line of user code that called it (on its Node),
checks its forward output, and the backward checks every gradient an op's VJP returns. The
first NaN or Inf raises a ``RuntimeError`` naming the op and that line; every other backward
error (a freed graph, a missing VJP) names the line too.

It costs a stack walk and a device-to-host check per op, so it is for debugging only. When it
is off it costs nothing: it swaps ``Primitive.__call__`` for a checking version while on (and
routes Tensor's operators through it), so the hot path carries no flag test. Like
``torch.autograd.set_detect_anomaly`` it is process-wide (not per thread).
"""

from __future__ import annotations

import functools

from . import _tape
from . import _tensor as _tensor_module
from ._op import Primitive
from ._tensor import Tensor

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]

_plain_call = Primitive.__call__
# Tensor's operators call the hot paths directly; in anomaly mode they go through the Primitive


def _routed_call(prim, *args):
    return prim(*args)


def _checked_call(self, *args, **static):
    """``Primitive.__call__`` in anomaly mode: note the call site, check the outputs."""
    res = _plain_call(self, *args, **static)
    outs = res if isinstance(res, tuple) else (res,)
    site = None
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor) or o._node is None:
            continue  # only ops recorded for differentiation are checked
        if site is None:
            site = _tape.user_site()
        node = o._node
        if getattr(node, "trace", None) is None:
            node.trace = site
        bk, raw = o._bk, o._data
        if bk.floating(raw.dtype) and not bool(bk.xp.all(bk.xp.isfinite(raw))):
            which = f"output {k}" if len(outs) > 1 else "output"
            raise RuntimeError(
                f"agrad.detect_anomaly: op '{self.name}' produced NaN or Inf in its forward "
                f"{which} (shape {o.shape}, {o.dtype}); it was called at {site}"
            )
    return res


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on."""
    return _tape.ANOMALY[0]


def set_detect_anomaly(mode: bool) -> None:
    """Turn anomaly mode on or off (see :class:`detect_anomaly`)."""
    mode = bool(mode)
    _tape.ANOMALY[0] = mode
    Primitive.__call__ = _checked_call if mode else _plain_call
    _tensor_module._call = _routed_call if mode else _plain_call


class detect_anomaly:
    """Context manager (and decorator) that raises at the first NaN or Inf, naming the op and
    the line of your code that called it.

    Inside it, an op recorded for differentiation whose forward output holds NaN or Inf raises
    at once; during ``backward()``, the first VJP that returns a NaN or Inf gradient raises,
    naming the op and the line that created its node. Other backward errors name that line
    too. Slow (a check per op): for debugging.

    Examples
    --------
    >>> import numpy as np
    >>> import agrad as ag
    >>> x = ag.asarray([0.0, 1.0], requires_grad=True)
    >>> with ag.detect_anomaly(), np.errstate(divide="ignore"):  # quiet NumPy's own warning
    ...     y = ag.sum(ag.sqrt(x))
    ...     y.backward()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    RuntimeError: agrad.detect_anomaly: the gradient that op 'sqrt' computed for its argument 0 \
contains NaN or Inf (op 'sqrt' was called at ...)
    """

    def __init__(self):
        self._prev = []

    def __enter__(self):
        self._prev.append(is_anomaly_enabled())
        set_detect_anomaly(True)
        return self

    def __exit__(self, *exc):
        set_detect_anomaly(self._prev.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper

"""``SGD``: stochastic gradient descent with momentum, dampening, weight decay and Nesterov."""

from __future__ import annotations

from collections.abc import Iterable

from .._tensor import Tensor
from ..ops.creation import asarray
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, with PyTorch's update rule.

    With :math:`g = \nabla + \lambda p` (weight decay :math:`\lambda`), momentum
    :math:`\mu` and dampening :math:`\tau`, the buffer is :math:`b_1 = g` on the first step and
    :math:`b_t = \mu b_{t-1} + (1 - \tau) g` after; the update is
    :math:`p \leftarrow p - \mathrm{lr}\,(g + \mu b_t)` with Nesterov, else
    :math:`p - \mathrm{lr}\,b_t` (:math:`p - \mathrm{lr}\,g` without momentum).

    Examples
    --------
    >>> import agrad as ag
    >>> w = ag.asarray([1.0, -2.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     ag.sum(w * w).backward()
    ...     opt.step()
    >>> w.numpy().round(6)
    array([ 0.46, -0.92])
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    _nonnegative = {**Optimizer._nonnegative, "momentum": "momentum value"}

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"agrad.optim.{type(self).__name__}: Nesterov momentum requires a momentum and "
                f"zero dampening, got momentum={group['momentum']!r} "
                f"dampening={group['dampening']!r}"
            )

    def _update(self, group):
        lr, momentum = group["lr"], group["momentum"]
        dampening, wd = group["dampening"], group["weight_decay"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if wd != 0:
                g = g + wd * p
            if momentum != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = asarray(g, copy=True)
                else:
                    buf *= momentum
                    buf += (1 - dampening) * g
                g = g + momentum * buf if group["nesterov"] else buf
            p -= lr * g

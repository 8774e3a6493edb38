"""``Adam`` and ``AdamW`` (decoupled weight decay), with optional AMSGrad."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .._tensor import Tensor
from ..ops.creation import zeros_like
from ..ops.elementwise import maximum, sqrt
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's update rule.

    With :math:`g = \nabla + \lambda p` and step :math:`t`:
    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
    :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`p \leftarrow p - \frac{\mathrm{lr}}{1-\beta_1^t}\,
    \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}`; AMSGrad uses the running maximum of
    :math:`v` in the denominator.

    Examples
    --------
    >>> import agrad as ag
    >>> w = ag.asarray([1.0, -2.0], requires_grad=True)
    >>> opt = ag.optim.Adam([w], lr=0.1)
    >>> ag.sum(w * w).backward()
    >>> opt.step()
    >>> w.numpy().round(6)
    array([ 0.9, -1.9])
    """

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
    ):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    _nonnegative = {**Optimizer._nonnegative, "eps": "epsilon value"}

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        betas = group["betas"]
        if len(betas) != 2:
            raise self._error("betas (need two values)", betas)
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise self._error(f"beta parameter at index {i} (must be in [0, 1))", b)

    def _update(self, group):
        lr, eps, wd, amsgrad = (
            group["lr"],
            group["eps"],
            group["weight_decay"],
            group["amsgrad"],
        )
        beta1, beta2 = group["betas"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = self.state.setdefault(p, {})
            if not state:
                state["step"] = 0
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
            if amsgrad and "max_exp_avg_sq" not in state:  # amsgrad turned on later
                state["max_exp_avg_sq"] = zeros_like(p)
            if wd != 0:
                if self._decoupled:
                    p *= 1 - lr * wd
                else:
                    g = g + wd * p
            state["step"] += 1
            t = state["step"]
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            if amsgrad:
                vmax = state["max_exp_avg_sq"] = maximum(state["max_exp_avg_sq"], v)
            else:
                vmax = v
            # bias corrections are Python numbers from the (host) step count
            step_size = lr / (1 - beta1**t)
            denom = sqrt(vmax) / math.sqrt(1 - beta2**t) + eps
            p -= step_size * (m / denom)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's rule.

    Each step first shrinks the parameter, :math:`p \leftarrow p\,(1 - \mathrm{lr}\,\lambda)`,
    then applies the Adam update to the raw gradient.

    Examples
    --------
    >>> import agrad as ag
    >>> w = ag.asarray([1.0, -2.0], requires_grad=True)
    >>> opt = ag.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> ag.sum(w * w).backward()
    >>> opt.step()
    >>> w.numpy().round(6)
    array([ 0.85, -1.8 ])
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )

"""``RMSprop``: scaling by a running root mean square, optionally centred, with momentum."""

from __future__ import annotations

from collections.abc import Iterable

from .._tensor import Tensor
from ..ops.creation import zeros_like
from ..ops.elementwise import sqrt
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes; centred form from Graves, 2013), PyTorch's rule.

    With :math:`g = \nabla + \lambda p`: :math:`v \leftarrow \alpha v + (1-\alpha) g^2`; centred,
    :math:`\bar g \leftarrow \alpha \bar g + (1-\alpha) g` and :math:`d = \sqrt{v - \bar g^2} +
    \epsilon`, else :math:`d = \sqrt{v} + \epsilon`. With momentum :math:`\mu`:
    :math:`b \leftarrow \mu b + g/d`, :math:`p \leftarrow p - \mathrm{lr}\,b`; without,
    :math:`p \leftarrow p - \mathrm{lr}\,g/d`.

    Examples
    --------
    >>> import agrad as ag
    >>> w = ag.asarray([1.0, -2.0], requires_grad=True)
    >>> opt = ag.optim.RMSprop([w], lr=0.01, alpha=0.75)
    >>> ag.sum(w * w).backward()
    >>> opt.step()
    >>> w.numpy().round(6)
    array([ 0.98, -1.98])
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)

    _nonnegative = {
        **Optimizer._nonnegative,
        "eps": "epsilon value",
        "momentum": "momentum value",
        "alpha": "alpha value",
    }

    def _update(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = self.state.setdefault(p, {})
            if not state:
                state["step"] = 0
                state["square_avg"] = zeros_like(p)
            # created when first needed, also when momentum/centered is switched on later
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = zeros_like(p)
            if centered and "grad_avg" not in state:
                state["grad_avg"] = zeros_like(p)
            state["step"] += 1
            if wd != 0:
                g = g + wd * p
            v = state["square_avg"]
            v *= alpha
            v += (1 - alpha) * (g * g)
            if centered:
                ga = state["grad_avg"]
                ga *= alpha
                ga += (1 - alpha) * g
                avg = sqrt(v - ga * ga) + eps
            else:
                avg = sqrt(v) + eps
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += g / avg
                p -= lr * buf
            else:
                p -= lr * (g / avg)

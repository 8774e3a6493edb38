"""``clip_grad_norm_``: rescale gradients in place so their joint norm is at most ``max_norm``.

PyTorch has it at ``torch.nn.utils.clip_grad_norm_``; agrad keeps it beside the optimizers, as
``ag.optim.clip_grad_norm_``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._tape import no_grad
from .._tensor import Tensor
from ..ops.creation import asarray
from ..ops.elementwise import minimum
from ..ops.linalg_ext import vector_norm
from ..ops.manipulation import astype, stack

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0
) -> Tensor:
    """Scale the ``.grad`` of ``parameters`` in place so that their total norm is at most
    ``max_norm``; return the total norm (before clipping) as a 0-d Tensor.

    The total norm is the ``norm_type``-norm of all gradients taken as one vector (``inf`` for
    the largest magnitude). Gradients are multiplied by ``min(1, max_norm / (norm + 1e-6))``,
    computed on their own backend and device (no host round trip), as PyTorch does. Parameters
    without a gradient are skipped; with none at all the result is ``0.0``.

    Examples
    --------
    >>> import agrad as ag
    >>> w = ag.asarray([3.0, 4.0], requires_grad=True)
    >>> ag.sum(w * w).backward()      # grad = [6, 8], norm 10
    >>> ag.optim.clip_grad_norm_([w], max_norm=1.0)
    Tensor(10., backend='numpy', device='cpu', dtype=float64)
    >>> ag.round(w.grad * 1e4) / 1e4
    Tensor([0.6, 0.8], backend='numpy', device='cpu', dtype=float64)
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return asarray(0.0)
    with no_grad():
        norms = [vector_norm(g, ord=norm_type) for g in grads]
        dtype = norms[0].dtype
        norms = [n if n.dtype == dtype else astype(n, dtype) for n in norms]
        total = norms[0] if len(norms) == 1 else vector_norm(stack(norms), ord=norm_type)
        coef = minimum(
            max_norm / (total + 1e-6),
            asarray(1.0, dtype=dtype, device=total.device, backend=total.backend),
        )
        for g in grads:
            g *= coef if g.dtype == dtype else astype(coef, g.dtype)
    return total

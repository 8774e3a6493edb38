"""PyTorch's home of gradient clipping: ``ag.nn.utils.clip_grad_norm_`` is
``ag.optim.clip_grad_norm_``."""

from ..optim.clip_grad import clip_grad_norm_

__all__ = ["clip_grad_norm_"]

"""Optimizers, learning-rate schedules and gradient clipping, in PyTorch's names.

``clip_grad_norm_`` lives here (``ag.optim.clip_grad_norm_``), not at ``nn.utils`` as in PyTorch.
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .clip_grad import clip_grad_norm_
from .lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "LRScheduler",
    "StepLR",
    "CosineAnnealingLR",
    "clip_grad_norm_",
    "lr_scheduler",
]

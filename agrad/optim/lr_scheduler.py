"""Learning-rate schedules: ``LRScheduler`` (base), ``StepLR`` and ``CosineAnnealingLR``.

As in PyTorch, constructing a scheduler sets each group's ``initial_lr`` and applies the epoch-0
rate; call ``scheduler.step()`` once per epoch, after ``optimizer.step()``. Rates are computed in
closed form from the epoch count (plain Python numbers, nothing on the device).
"""

from __future__ import annotations

import math
from typing import Any

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR"]


class LRScheduler:
    """Base class: subclasses implement ``get_lr()`` for the current ``last_epoch``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"agrad.optim.lr_scheduler.{name}: expected an agrad.optim.Optimizer, got "
                f"{type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"agrad.optim.lr_scheduler.{name}: param 'initial_lr' is not specified in "
                        f"param_groups[{i}] when resuming (last_epoch={last_epoch})"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return self._last_lr

    def step(self) -> None:
        """Advance one epoch and set every group's ``lr``."""
        self.last_epoch += 1
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (which has its own ``state_dict``)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    r"""Decay each group's rate by ``gamma`` every ``step_size`` epochs:
    :math:`\mathrm{lr}_e = \mathrm{lr}_0\,\gamma^{\lfloor e / \mathrm{step\_size} \rfloor}`.

    Examples
    --------
    >>> import agrad as ag
    >>> opt = ag.optim.SGD([ag.zeros(2, requires_grad=True)], lr=1.0)
    >>> sched = ag.optim.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ):
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(
                f"agrad.optim.lr_scheduler.StepLR: step_size must be a positive int, got "
                f"{step_size!r}"
            )
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from each group's rate to ``eta_min`` over ``T_max`` epochs:
    :math:`\mathrm{lr}_e = \eta_{min} + (\mathrm{lr}_0 - \eta_{min})(1 + \cos(\pi e/T_{max}))/2`
    (the closed form of PyTorch's schedule; past ``T_max`` it rises again, as in PyTorch).

    Examples
    --------
    >>> import agrad as ag
    >>> opt = ag.optim.SGD([ag.zeros(2, requires_grad=True)], lr=1.0)
    >>> sched = ag.optim.CosineAnnealingLR(opt, T_max=2)
    >>> lrs = []
    >>> for _ in range(3):
    ...     lrs.append(round(sched.get_last_lr()[0], 6))
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [1.0, 0.5, 0.0]
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ):
        if T_max <= 0:
            raise ValueError(
                f"agrad.optim.lr_scheduler.CosineAnnealingLR: T_max must be positive, got {T_max!r}"
            )
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]

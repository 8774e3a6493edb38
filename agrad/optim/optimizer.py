"""``Optimizer``: the base class holding ``param_groups`` and per-parameter ``state``.

Subclasses implement ``_update(group)``, which ``step()`` calls for each parameter group under
``ag.no_grad()`` after the optional closure. Updates happen in place, on the
parameters' own backend and device, so every parameter stays the same leaf object and no value
is copied to the host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._tape import enable_grad, no_grad
from .._tensor import Tensor

__all__ = ["Optimizer"]


class _Required:
    """Marks a hyperparameter that every parameter group must give (it has no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of agrad's optimizers, in PyTorch's layout.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        The tensors to optimize, or parameter groups: dicts with a ``"params"`` entry and any
        hyperparameters that override ``defaults`` for that group.
    defaults : dict
        Default hyperparameters for every group.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (a list of Tensors) and the hyperparameters.
    state : dict
        Per-parameter state (keyed by the parameter tensor itself): Tensors on the parameter's
        backend and device, and Python numbers (``"step"``).

    Examples
    --------
    >>> import agrad as ag
    >>> w = ag.asarray([1.0, 2.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=0.5)
    >>> ag.sum(w * w).backward()
    >>> opt.step()
    >>> w.numpy().round(6)
    array([0., 0.])
    >>> opt.zero_grad()
    >>> w.grad is None
    True
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"agrad.optim.{name}: params should be an iterable of Tensors or dicts, but got "
                "a single Tensor; pass [tensor]"
            )
        if isinstance(params, dict):
            params = [params]
        groups = list(params)
        if len(groups) == 0:
            raise ValueError(f"agrad.optim.{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``"params"``) with its own hyperparameters;
        missing hyperparameters take the optimizer's defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"agrad.optim.{name}: a parameter group must be a dict, got "
                f"{type(param_group).__name__}"
            )
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                f"agrad.optim.{name}: parameters need a deterministic order; pass a list, not a set"
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"agrad.optim.{name}: can only optimize Tensors, got {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(f"agrad.optim.{name}: can't optimize a non-leaf Tensor")
        group = {"params": params}
        for key, value in param_group.items():
            if key != "params":
                group[key] = value
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(
                    f"agrad.optim.{name}: parameter group didn't specify a value of required "
                    f"optimization parameter {key}"
                )
            group.setdefault(key, default)
        self._check_hyperparameters(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"agrad.optim.{name}: a parameter group contains a parameter twice")
        if any(id(p) in seen for p in params):
            raise ValueError(
                f"agrad.optim.{name}: some parameters appear in more than one parameter group"
            )
        self.param_groups.append(group)

    #: hyperparameters that must be >= 0, with the words an error uses for each
    _nonnegative: dict[str, str] = {"lr": "learning rate", "weight_decay": "weight_decay value"}

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        """Raise ``ValueError`` naming the optimizer and the bad value; subclasses extend it."""
        for key, what in self._nonnegative.items():
            if key in group and group[key] < 0.0:  # a subclass may not have them all
                raise self._error(what, group[key])

    def _error(self, what: str, value) -> ValueError:
        return ValueError(f"agrad.optim.{type(self).__name__}: invalid {what}: {value!r}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default) or to zeros in place."""
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if set_to_none:
                        p.grad = None
                    else:
                        g[...] = 0  # the same Tensor object, cut from any graph

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a ``.grad`` once.

        ``closure``, if given, re-evaluates the loss (with gradients recorded) before the update,
        and its result is returned, as in PyTorch.
        """
        loss = self._eval_closure(closure)
        with no_grad():
            for group in self.param_groups:
                self._update(group)
        return loss

    def _update(self, group: dict[str, Any]) -> None:
        """One group's update, in place under ``no_grad`` (implemented by each optimizer)."""
        raise NotImplementedError(f"agrad.optim.{type(self).__name__} does not implement _update()")

    @staticmethod
    def _eval_closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ---- saving and resuming ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are replaced by their index in group order (as in PyTorch). State tensors are
        returned as new Tensor objects sharing the current arrays, on the parameters' backend and
        device: later steps rebind the optimizer's own tensors and never write those arrays, so
        the returned dict is a snapshot without a copy.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {
                        k: (v.detach() if isinstance(v, Tensor) else v)
                        for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`'s output (groups must match in number and size).

        State tensors must already be on each parameter's backend and device (nothing is moved
        between devices); floating-point state is cast to the parameter's dtype.
        """
        from ..ops.creation import asarray
        from ..ops.manipulation import astype

        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"agrad.optim.{name}: loaded state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"agrad.optim.{name}: loaded parameter group {i} has {len(s['params'])} "
                    f"parameters, the optimizer's has {len(g['params'])}"
                )
        id_map = {
            saved: p
            for g, s in zip(self.param_groups, saved_groups)
            for saved, p in zip(s["params"], g["params"])
        }
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, entry in state_dict["state"].items():
            if key not in id_map:
                continue
            p = id_map[key]
            restored = {}
            for k, v in entry.items():
                if isinstance(v, Tensor):
                    if v.backend != p.backend or str(v.device) != str(p.device):
                        raise ValueError(
                            f"agrad.optim.{name}: state {k!r} of parameter {key} is on backend "
                            f"{v.backend!r} device {v.device}, the parameter on {p.backend!r} "
                            f"device {p.device}; move it with .to_device() first"
                        )
                    v = asarray(v, copy=True)
                    if v.dtype.is_floating and v.dtype != p.dtype:
                        v = astype(v, p.dtype)
                restored[k] = v
            new_state[p] = restored
        self.state = new_state
        for g, s in zip(self.param_groups, saved_groups):
            for k, v in s.items():
                if k != "params":
                    g[k] = v

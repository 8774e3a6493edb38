"""``Module``, ``Parameter``, ``Sequential`` and ``Linear``, in PyTorch's names and layouts.

Built only on agrad's public surface: a module's parameters are leaf tensors on the backend and
device chosen when the module is created, and every forward is ordinary agrad ops.

Examples
--------
>>> import agrad as ag
>>> net = ag.nn.Sequential(ag.nn.Linear(3, 4, rng=ag.random.default_rng(0)), ag.nn.Linear(4, 1))
>>> [name for name, _ in net.named_parameters()]
['0.weight', '0.bias', '1.weight', '1.bias']
>>> net(ag.ones((2, 3))).shape
(2, 1)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator

from .. import _op, _tape
from .._tensor import Tensor, _check_can_require_grad
from ..ops.creation import asarray, to_device
from ..random import default_rng
from . import functional as F

__all__ = ["Parameter", "Module", "Sequential", "Linear"]


class Parameter(Tensor):
    """A leaf tensor that a :class:`Module` registers as one of its parameters.

    ``Parameter(data)`` shares ``data``'s array (a Tensor is detached first) and requires grad.
    """

    __slots__ = ()

    def __new__(cls, data, requires_grad: bool = True):
        t = asarray(data)
        t = t.detach()
        t.__class__ = cls
        if requires_grad:
            _check_can_require_grad(t, "nn.Parameter")
        t.requires_grad = bool(requires_grad)
        return t

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


_op._TENSOR_SUBCLASS[0] = Parameter  # the op fast paths take parameters like tensors


class Module:
    """Base class of layers and models: holds parameters, buffers and sub-modules by attribute.

    Subclasses call ``super().__init__()`` first and define ``forward``; calling the module
    calls ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration ---------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"agrad.nn: call super().__init__() in {type(self).__name__}.__init__ before "
                "assigning attributes"
            )
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        for store in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(store)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """A tensor that is part of the module's state (saved, moved) but not trained."""
        self._parameters.pop(name, None)
        self._buffers[name] = tensor

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    # ---- calling --------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"agrad.nn: {type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- traversal ------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def children(self) -> Iterator[Module]:
        yield from (m for m in self._modules.values() if m is not None)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, each parameter once, in registration order."""
        seen = set()
        for mname, m in self.named_modules(prefix):
            for pname, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for mname, m in self.named_modules(prefix):
            for bname, b in m._buffers.items():
                if b is not None:
                    yield (f"{mname}.{bname}" if mname else bname), b

    # ---- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    with _tape.no_grad():
                        p.grad = p.grad * 0.0

    # ---- state ----------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """Parameters and buffers by dotted name (the tensors themselves, detached)."""
        out = OrderedDict()
        for name, p in self.named_parameters():
            out[name] = p.detach()
        for name, b in self.named_buffers():
            out[name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values in (onto each parameter's own backend and device); shapes must match."""
        own = dict(self.named_parameters())
        own.update(self.named_buffers())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"agrad.nn: load_state_dict into {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected} (pass strict=False to load what matches)"
            )
        for name, value in state_dict.items():
            if name not in own:
                continue
            target = own[name]
            value = asarray(value) if not isinstance(value, Tensor) else value
            if value.shape != target.shape:
                raise ValueError(
                    f"agrad.nn: load_state_dict: '{name}' has shape {value.shape} in the state "
                    f"dict but {target.shape} in the module"
                )
            moved = to_device(value.detach(), target.device, backend=target.backend)
            target._data = asarray(moved, dtype=target.dtype)._data
        return missing, unexpected

    def to_device(self, device, *, backend=None) -> Module:
        """Move every parameter and buffer to ``device`` (same objects: optimizers keep them)."""
        for t in list(self.parameters()) + [b for _, b in self.named_buffers()]:
            moved = to_device(t.detach(), device, backend=backend)
            t._data, t._bk, t._dev = moved._data, moved._bk, moved._dev
            if t.grad is not None:
                t.grad = to_device(t.grad.detach(), device, backend=backend)
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        return "\n".join(lines) + (")" if len(lines) == 1 else "\n)")


class Sequential(Module):
    """Modules applied in order; indexable and iterable like PyTorch's."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"agrad.nn.Sequential: argument {i} is not a Module: {m!r}")
            setattr(self, str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Linear(Module):
    """``y = x @ weight.T + bias`` with PyTorch's layout (``weight`` is (out, in)) and init:
    both drawn from U(-1/sqrt(in), 1/sqrt(in)).

    ``rng`` is an :class:`agrad.random.Generator`: it fixes the seed and places the parameters
    on its backend and device (without one, an unseeded generator on ``backend``/``device``);
    ``dtype`` defaults to the backend's default float dtype.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype=None,
        device=None,
        backend=None,
        rng=None,
    ):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"agrad.nn.Linear: in_features and out_features must be positive, got "
                f"{in_features} and {out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        if rng is None:
            rng = default_rng(None, backend=backend, device=device)
        bound = 1.0 / math.sqrt(in_features)
        w = rng.uniform(-bound, bound, (out_features, in_features), dtype=dtype)
        self.weight = Parameter(w)
        if bias:
            self.bias = Parameter(rng.uniform(-bound, bound, (out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

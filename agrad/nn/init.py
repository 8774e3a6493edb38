"""Seeded initialisers in PyTorch's names, drawing on each tensor's own backend and device.

Each fills the tensor in place (under ``no_grad``) and returns it; ``rng`` is an
:class:`agrad.random.Generator` (an unseeded one on the tensor's backend if omitted).

Examples
--------
>>> import agrad as ag
>>> w = ag.nn.Parameter(ag.zeros((3, 4)))
>>> _ = ag.nn.init.xavier_uniform_(w, rng=ag.random.default_rng(0))
>>> bool(ag.all(ag.abs(w) <= (6 / 7) ** 0.5))
True
"""

from __future__ import annotations

import math

from .. import _tape
from ..random import default_rng

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "zeros_",
    "ones_",
    "constant_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]


def calculate_gain(nonlinearity: str, param=None) -> float:
    """PyTorch's recommended gains: linear/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu, selu."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"agrad.nn.init.calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fans(t, where):
    if t.ndim < 2:
        raise ValueError(
            f"agrad.nn.init.{where}: fan in and fan out need a tensor with at least 2 "
            f"dimensions, got shape {t.shape}"
        )
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


def _fill(t, values):
    with _tape.no_grad():
        t[...] = values
    return t


def _rng(t, rng):
    return rng if rng is not None else default_rng(None, backend=t.backend, device=t.device)


def uniform_(t, a: float = 0.0, b: float = 1.0, *, rng=None):
    """Fill ``t`` from U(a, b)."""
    return _fill(t, _rng(t, rng).uniform(a, b, t.shape, dtype=t.dtype))


def normal_(t, mean: float = 0.0, std: float = 1.0, *, rng=None):
    """Fill ``t`` from N(mean, std²)."""
    return _fill(t, _rng(t, rng).normal(mean, std, t.shape, dtype=t.dtype))


def constant_(t, val: float):
    """Fill ``t`` with ``val``."""
    return _fill(t, val)


def zeros_(t):
    return _fill(t, 0.0)


def ones_(t):
    return _fill(t, 1.0)


def xavier_uniform_(t, gain: float = 1.0, *, rng=None):
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t, "xavier_uniform_")
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, rng=rng)


def xavier_normal_(t, gain: float = 1.0, *, rng=None):
    """Glorot: N(0, std²) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t, "xavier_normal_")
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng=rng)


def _kaiming_std(t, a, mode, nonlinearity, where):
    fan_in, fan_out = _fans(t, where)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"agrad.nn.init.{where}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    t, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *, rng=None
):
    """He: U(-b, b) with b = gain * sqrt(3 / fan)."""
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(t, -bound, bound, rng=rng)


def kaiming_normal_(
    t, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *, rng=None
):
    """He: N(0, std²) with std = gain / sqrt(fan)."""
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_"), rng=rng)

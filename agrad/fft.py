"""The standard's ``fft`` extension: ``ag.fft.<name>``, every transform differentiable (its VJP
is the adjoint transform; see :mod:`agrad.ops.fft`). ``fftfreq``/``rfftfreq`` create tensors and
carry no gradient; ``fftshift``/``ifftshift`` are rolls."""

from __future__ import annotations

from .ops.fft import (
    fft,
    fftfreq,
    fftn,
    fftshift,
    hfft,
    ifft,
    ifftn,
    ifftshift,
    ihfft,
    irfft,
    irfftn,
    rfft,
    rfftfreq,
    rfftn,
)

__all__ = [
    "fft",
    "ifft",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]

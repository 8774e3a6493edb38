"""The standard's ``fft`` extension: ``ag.fft.<name>`` (being filled in; see issue #3)."""

from __future__ import annotations

__all__: list[str] = []

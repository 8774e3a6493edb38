"""The standard's sets functions (being filled in; see issue #3)."""

from __future__ import annotations

__all__: list[str] = []

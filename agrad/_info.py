"""``__array_namespace_info__`` and the data-type functions (being filled in; see issue #3)."""

from __future__ import annotations

__all__: list[str] = []

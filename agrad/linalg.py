"""The standard's ``linalg`` extension: ``ag.linalg.<name>`` (being filled in; see issue #3)."""

from __future__ import annotations

from .ops.linalg import matmul, matrix_transpose, tensordot, vecdot

__all__ = ["matmul", "matrix_transpose", "tensordot", "vecdot"]

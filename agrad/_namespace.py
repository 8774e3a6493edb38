"""agrad's own Array API namespace (what ``Tensor.__array_namespace__`` returns)."""

from __future__ import annotations

import importlib


def namespace():
    """The ``agrad`` module: it holds the standard's functions, constants and dtypes."""
    return importlib.import_module("agrad")

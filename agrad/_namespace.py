"""agrad's own Array API namespace (what ``Tensor.__array_namespace__`` returns)."""

from __future__ import annotations

import importlib

#: The versions of the standard whose code runs on agrad (it implements the newest; each
#: version adds to the ones before, and agrad keeps nothing a newer one removed).
API_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12", "2025.12")


def namespace(api_version=None):
    """The ``agrad`` module: it holds the standard's functions, constants and dtypes. An
    ``api_version`` it does not implement is an error, as the standard asks."""
    if api_version is not None and api_version not in API_VERSIONS:
        raise ValueError(
            f"agrad: version {api_version!r} of the Array API standard is not implemented; "
            f"agrad implements {API_VERSIONS[-1]} and runs code written for "
            f"{', '.join(API_VERSIONS[:-1])} (pass api_version=None for the newest)"
        )
    return importlib.import_module("agrad")

"""Neural-network building blocks in PyTorch's names (being filled in; see issue #4)."""

from . import functional  # noqa: F401

"""agrad's primitives, grouped like the standard: creation, elementwise, reduction, linalg,
manipulation, indexing. Importing this package registers every primitive."""

from . import creation, elementwise, indexing, linalg, manipulation, reduction  # noqa: F401

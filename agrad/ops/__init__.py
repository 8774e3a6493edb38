"""agrad's primitives, grouped like the standard: creation, elementwise, reduction, linalg,
manipulation, indexing. Importing this package registers every primitive."""

from . import (  # noqa: F401
    creation,
    elementwise,
    indexing,
    interchange,
    linalg,
    manipulation,
    reduction,
    searching,
    sets,
    sorting,
    utility,
)

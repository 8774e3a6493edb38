"""agrad's dtype objects: one set shared by every backend.

``ag.float32`` is the same object whatever the backend; a Tensor's ``.dtype`` returns these
objects, and every function that takes ``dtype=`` accepts them (and the backend's own dtypes).
"""

from __future__ import annotations

__all__ = ["DType", "DTYPES", "by_name"]


class DType:
    """A backend-independent dtype: ``name``, ``kind`` and ``itemsize``.

    ``kind`` is one of ``"bool"``, ``"signed integer"``, ``"unsigned integer"``,
    ``"real floating"``, ``"complex floating"`` (the Array API's dtype kinds).

    Examples
    --------
    >>> import agrad as ag
    >>> ag.asarray([1.0, 2.0], dtype=ag.float32).dtype == ag.float32
    True
    """

    __slots__ = ("name", "kind", "itemsize")

    def __init__(self, name: str, kind: str, itemsize: int):
        self.name = name
        self.kind = kind
        self.itemsize = itemsize

    @property
    def is_floating(self) -> bool:
        """True for real and complex floating-point dtypes (those that can require grad)."""
        return self.kind in ("real floating", "complex floating")

    def __repr__(self) -> str:
        return f"agrad.{self.name}"

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other):
        if isinstance(other, DType):
            return self is other
        if isinstance(other, str):
            return other == self.name
        name = _foreign_name(other)
        return name == self.name if name is not None else NotImplemented

    def __hash__(self):
        return hash(self.name)

    def __reduce__(self):
        return (by_name, (self.name,))


def _foreign_name(dt) -> str | None:
    """The canonical name of a backend dtype object (NumPy, CuPy, torch, array-api-strict...)."""
    name = getattr(dt, "name", None)  # numpy/cupy dtypes
    if isinstance(name, str) and name in DTYPES:
        return name
    text = str(dt).rsplit(".", 1)[
        -1
    ]  # torch.float32, array_api_strict.float32, <class 'numpy.float32'>
    text = text.rstrip("'>")
    return text if text in DTYPES else None


_SPECS = [
    ("bool", "bool", 1),
    ("int8", "signed integer", 1),
    ("int16", "signed integer", 2),
    ("int32", "signed integer", 4),
    ("int64", "signed integer", 8),
    ("uint8", "unsigned integer", 1),
    ("uint16", "unsigned integer", 2),
    ("uint32", "unsigned integer", 4),
    ("uint64", "unsigned integer", 8),
    ("float16", "real floating", 2),
    ("float32", "real floating", 4),
    ("float64", "real floating", 8),
    ("complex64", "complex floating", 8),
    ("complex128", "complex floating", 16),
]
DTYPES: dict[str, DType] = {n: DType(n, k, s) for n, k, s in _SPECS}


def by_name(name: str) -> DType:
    """The agrad dtype called ``name`` (``"float32"`` ...)."""
    return DTYPES[name]


def canonical(dt) -> DType | None:
    """agrad's DType for ``dt`` (a DType, a name, or any backend's dtype object), else None."""
    if isinstance(dt, DType):
        return dt
    if isinstance(dt, str):
        return DTYPES.get(dt)
    name = _foreign_name(dt)
    return DTYPES[name] if name is not None else None

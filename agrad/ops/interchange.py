"""Data interchange: ``from_dlpack`` (the standard's zero-copy import).

Examples
--------
>>> import numpy as np
>>> import agrad as ag
>>> ag.from_dlpack(np.arange(3.0)).backend
'numpy'
"""

from __future__ import annotations

from .._backend import backend_of_array, get_backend
from .._tensor import Tensor, _wrap

__all__ = ["from_dlpack"]


def from_dlpack(x, /, *, device=None, copy=None, backend=None):
    """A Tensor sharing ``x``'s memory through DLPack (no graph: the result is a new leaf).

    ``x`` is any object with ``__dlpack__`` (an array of another library, or a Tensor). Without
    ``backend=`` the library ``x`` belongs to is kept (NumPy for unknown CPU producers).
    """
    if isinstance(x, Tensor):
        x = x._data
    if not hasattr(x, "__dlpack__"):
        raise TypeError(
            f"agrad.from_dlpack: {type(x).__name__} does not implement __dlpack__; use "
            "ag.asarray for other inputs"
        )
    bk = get_backend(backend) if backend is not None else backend_of_array(x)
    if bk is None:
        bk = get_backend("numpy")
    kw = {}
    if device is not None:
        kw["device"] = bk.normalize_device(device)
    if copy is not None:
        kw["copy"] = copy
    data = bk.module.from_dlpack(x, **kw)
    if bk.fix is not None:
        data = bk.fix(data)
    return _wrap(data, bk, bk.device_of(data))

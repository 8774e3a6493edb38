"""Small data sets shipped with agrad (no download): ``load_digits``; and ``train_test_split``.

The files live in ``agrad/datasets/data/`` (see the README there for where they come from and
their licenses) and are read with NumPy, then put on the backend and device asked for.

Examples
--------
>>> from agrad.datasets import load_digits, train_test_split
>>> X, y = load_digits()
>>> X.shape, y.shape, y.dtype
((1797, 64), (1797,), agrad.int64)
>>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
>>> X_train.shape, X_test.shape
((1347, 64), (450, 64))
"""

from __future__ import annotations

import functools
import os

import numpy as np

from ..data import train_test_split
from ..ops.creation import asarray

__all__ = ["load_digits", "train_test_split"]

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@functools.lru_cache(maxsize=1)
def _digits_host():
    """The digits as read from the file once: (1797, 64) float64 pixels, (1797,) int64 labels."""
    path = os.path.join(_DATA, "digits.csv.gz")
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    except FileNotFoundError as e:  # pragma: no cover - a broken install
        raise OSError(
            f"agrad.datasets.load_digits: the data file {path!r} is missing; reinstall agrad "
            "(the file ships as package data)"
        ) from e
    if table.shape != (1797, 65):  # pragma: no cover - a damaged file
        raise ValueError(
            f"agrad.datasets.load_digits: {path!r} has shape {table.shape}, expected (1797, 65)"
        )
    X = table[:, :-1]
    y = table[:, -1].astype(np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def load_digits(*, return_X_y: bool = True, backend=None, device=None, dtype=None):
    """scikit-learn's 8x8 handwritten digits: 1797 images, 10 classes.

    Parameters
    ----------
    return_X_y : bool
        Return ``(X, y)`` (the default); else a dict with ``"data"`` (X), ``"target"`` (y),
        ``"images"`` (X as ``(1797, 8, 8)``) and ``"target_names"`` (``[0, ..., 9]``).
    backend, device : optional
        Where the tensors go, as for :func:`agrad.asarray` (default: NumPy on the CPU).
    dtype : agrad dtype, optional
        The dtype of ``X`` (default float64); ``y`` is always int64.

    Returns
    -------
    X : Tensor
        ``(1797, 64)`` pixel counts, integers from 0 to 16 stored as floats (row-major 8x8).
    y : Tensor
        ``(1797,)`` int64 labels from 0 to 9.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.datasets import load_digits
    >>> X, y = load_digits(dtype=ag.float32)
    >>> X.dtype, float(ag.max(X)), int(ag.max(y))
    (agrad.float32, 16.0, 9)
    """
    X_host, y_host = _digits_host()
    X = asarray(X_host, dtype=dtype, backend=backend, device=device, copy=True)
    y = asarray(y_host, backend=backend, device=device, copy=True)
    if return_X_y:
        return X, y
    from ..ops.manipulation import reshape

    return {
        "data": X,
        "target": y,
        "images": reshape(X, (X.shape[0], 8, 8)),
        "target_names": list(range(10)),
    }

"""Minibatches and splits that stay on the data's backend and device.

``batches`` yields shuffled minibatches of ``X`` (and ``y``); ``train_test_split`` splits rows
into a training and a test part. Shuffling draws a permutation with agrad's seeded generator on
the arrays' own backend and device (:func:`agrad.random.default_rng`), and rows are gathered with
:func:`agrad.take`: nothing goes through the host.

Examples
--------
>>> import agrad as ag
>>> from agrad.data import batches
>>> X = ag.reshape(ag.arange(10.0), (5, 2))
>>> [xb.shape for xb in batches(X, batch_size=2, seed=0)]
[(2, 2), (2, 2), (1, 2)]
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from . import random as _random
from ._tensor import Tensor
from .ops.creation import asarray
from .ops.indexing import take

__all__ = ["batches", "train_test_split"]


def _as_rows(a, name, where):
    if not isinstance(a, Tensor):
        a = asarray(a)  # a raw array keeps its own backend and device
    if a.ndim == 0:
        raise ValueError(f"agrad.data.{where}: {name} must have at least one dimension (rows)")
    return a


def _check_pair(X, y, where):
    X = _as_rows(X, "X", where)
    if y is None:
        return X, None
    y = _as_rows(y, "y", where)
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"agrad.data.{where}: X and y must have the same number of rows, got X with "
            f"{X.shape[0]} (shape {X.shape}) and y with {y.shape[0]} (shape {y.shape})"
        )
    if X.backend != y.backend or X.device != y.device:
        raise ValueError(
            f"agrad.data.{where}: X is on {X.backend}/{X.device} but y is on "
            f"{y.backend}/{y.device}; move one with to_device or ag.asarray(..., backend=)"
        )
    return X, y


def batches(
    X, y=None, batch_size: int = 32, shuffle: bool = True, seed=None, drop_last: bool = False
) -> Iterator:
    """Minibatches over the rows of ``X`` (and ``y``): one pass, every row once.

    Parameters
    ----------
    X : Tensor or array
        Rows along axis 0.
    y : Tensor or array, optional
        Targets with as many rows as ``X``.
    batch_size : int
    shuffle : bool
        Visit the rows in a random order drawn on ``X``'s backend and device.
    seed : int, optional
        Seed of the order (the same seed gives the same batches on the same backend).
    drop_last : bool
        Leave out a last batch smaller than ``batch_size``.

    Yields
    ------
    ``(Xb, yb)`` tuples when ``y`` is given, else ``Xb``: tensors on the same backend and device.
    The arguments are checked when ``batches`` is called, before the first batch is asked for.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.data import batches
    >>> X, y = ag.ones((5, 3)), ag.arange(5)
    >>> [(xb.shape, yb.shape) for xb, yb in batches(X, y, batch_size=2, drop_last=True)]
    [((2, 3), (2,)), ((2, 3), (2,))]
    """
    X, y = _check_pair(X, y, "batches")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"agrad.data.batches: batch_size must be a positive int, got {batch_size!r}"
        )
    n = X.shape[0]
    order = None
    if shuffle:
        rng = _random.default_rng(seed, backend=X.backend, device=X.device)
        order = rng.permutation(n)
    return _iterate(X, y, n, batch_size, order, drop_last)


def _iterate(X, y, n, batch_size, order, drop_last):
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        if order is None:
            Xb = X[start:end]
            yb = None if y is None else y[start:end]
        else:
            idx = order[start:end]
            Xb = take(X, idx, axis=0)
            yb = None if y is None else take(y, idx, axis=0)
        yield Xb if y is None else (Xb, yb)


def train_test_split(X, y=None, test_size=0.25, seed=0):
    """Split rows at random into a training and a test part, on the data's backend.

    Parameters
    ----------
    X, y : Tensor or array
        ``y`` is optional; when given it must have as many rows as ``X``.
    test_size : float or int
        A fraction in (0, 1) of the rows (rounded up, as scikit-learn does) or a row count.
    seed : int, optional
        Seed of the shuffle (``None``: a fresh one each call).

    Returns
    -------
    ``X_train, X_test, y_train, y_test`` (scikit-learn's order), or ``X_train, X_test``
    without ``y``.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad.data import train_test_split
    >>> X, y = ag.ones((10, 2)), ag.arange(10)
    >>> [a.shape for a in train_test_split(X, y, test_size=0.3)]
    [(7, 2), (3, 2), (7,), (3,)]
    """
    X, y = _check_pair(X, y, "train_test_split")
    n = X.shape[0]
    if isinstance(test_size, bool):
        raise ValueError(f"agrad.data.train_test_split: invalid test_size {test_size!r}")
    if isinstance(test_size, int):
        n_test = test_size
    elif isinstance(test_size, float) and 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(
            "agrad.data.train_test_split: test_size must be a float in (0, 1) or an int row "
            f"count, got {test_size!r}"
        )
    if not 0 < n_test < n:
        raise ValueError(
            f"agrad.data.train_test_split: test_size={test_size!r} gives {n_test} test rows out "
            f"of {n}; both parts must be non-empty"
        )
    order = _random.default_rng(seed, backend=X.backend, device=X.device).permutation(n)
    test, train = order[:n_test], order[n_test:]
    out = [take(X, train, axis=0), take(X, test, axis=0)]
    if y is not None:
        out += [take(y, train, axis=0), take(y, test, axis=0)]
    return tuple(out)

"""ag.datasets.load_digits: the bundled 8x8 digits on every backend."""

from __future__ import annotations

import numpy as np

import agrad as ag
from agrad.datasets import load_digits, train_test_split

# class counts of scikit-learn's digits (sklearn.datasets.load_digits)
COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_load_digits(backend):
    X, y = load_digits(backend=backend)
    assert X.backend == backend and y.backend == backend
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == ag.float64 and y.dtype == ag.int64
    Xh, yh = X.numpy(), y.numpy()
    assert Xh.min() == 0.0 and Xh.max() == 16.0
    np.testing.assert_array_equal(Xh, np.round(Xh))  # integer pixel counts
    assert np.bincount(yh).tolist() == COUNTS
    assert yh[:10].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert Xh[0, :8].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]  # the first row of the first "0"


def test_dtype_and_fresh_copies(backend):
    X, y = load_digits(backend=backend, dtype=ag.float32)
    assert X.dtype == ag.float32 and y.dtype == ag.int64
    X[0, 0] = 99.0  # mutating one result leaves the next load untouched
    X2, _ = load_digits(backend=backend, dtype=ag.float32)
    assert float(X2[0, 0]) == 0.0


def test_dict_form():
    d = load_digits(return_X_y=False)
    assert d["data"].shape == (1797, 64) and d["images"].shape == (1797, 8, 8)
    assert d["target_names"] == list(range(10))
    np.testing.assert_array_equal(d["images"].numpy()[5], d["data"].numpy()[5].reshape(8, 8))


def test_split_digits(backend):
    X, y = load_digits(backend=backend)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    assert X_tr.shape == (1347, 64) and X_te.shape == (450, 64)
    assert y_tr.backend == backend and y_te.backend == backend
    counts = np.bincount(y_tr.numpy(), minlength=10) + np.bincount(y_te.numpy(), minlength=10)
    assert counts.tolist() == COUNTS

"""ag.data.batches and train_test_split: coverage, reproducibility, staying on the backend;
and the generator's permutation/integers they rely on."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag
from agrad.data import batches, train_test_split


def _data(backend, n=10):
    X = ag.reshape(ag.arange(n * 3, dtype=ag.float32, backend=backend), (n, 3))
    y = ag.arange(n, dtype=ag.int64, backend=backend)
    return X, y


def _rows(Xb):
    return (Xb.numpy()[:, 0] // 3).astype(np.int64).tolist()


@pytest.mark.parametrize("shuffle", [True, False])
def test_every_row_once(backend, shuffle):
    X, y = _data(backend)
    seen = []
    sizes = []
    for Xb, yb in batches(X, y, batch_size=4, shuffle=shuffle, seed=0):
        assert Xb.backend == backend and yb.backend == backend
        assert Xb.device == X.device and yb.device == y.device
        assert Xb.dtype == ag.float32 and yb.dtype == ag.int64
        assert _rows(Xb) == yb.numpy().tolist()  # X and y rows stay paired
        seen += yb.numpy().tolist()
        sizes.append(Xb.shape[0])
    assert sizes == [4, 4, 2]
    assert sorted(seen) == list(range(10))
    if not shuffle:
        assert seen == list(range(10))


def test_shuffle_changes_order(backend):
    X, y = _data(backend, n=50)
    seen = [v for _, yb in batches(X, y, batch_size=8, seed=1) for v in yb.numpy().tolist()]
    assert sorted(seen) == list(range(50)) and seen != list(range(50))


def test_reproducible_with_seed(backend):
    X, y = _data(backend, n=30)

    def order(seed):
        return [v for _, yb in batches(X, y, batch_size=7, seed=seed) for v in yb.numpy().tolist()]

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_x_only_and_drop_last(backend):
    X, _ = _data(backend)
    out = list(batches(X, batch_size=4, seed=0, drop_last=True))
    assert all(isinstance(b, ag.Tensor) for b in out)
    assert [b.shape for b in out] == [(4, 3), (4, 3)]
    assert len(set(sum((_rows(b) for b in out), []))) == 8
    exact = list(batches(X, batch_size=5, shuffle=False, drop_last=True))
    assert [b.shape[0] for b in exact] == [5, 5]
    assert list(batches(X, batch_size=11, drop_last=True)) == []
    assert [b.shape for b in batches(X, batch_size=11)] == [(10, 3)]


def test_gradients_flow_through_batches(backend):
    X, _ = _data(backend, n=6)
    X = ag.asarray(X, dtype=ag.float64, requires_grad=True)
    total = sum(ag.sum(Xb) for Xb in batches(X, batch_size=4, seed=0))
    total.backward()
    np.testing.assert_array_equal(X.grad.numpy(), np.ones((6, 3)))


def test_errors(backend):
    X, y = _data(backend)
    with pytest.raises(ValueError, match=r"same number of rows, got X with 10 .* y with 9"):
        batches(X, y[:9])  # raised at the call, not at the first next()
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        batches(X, y, batch_size=0)
    with pytest.raises(ValueError, match="at least one dimension"):
        batches(ag.asarray(1.0, backend=backend))


def test_mixed_backends_rejected():
    X = ag.ones((4, 2))
    y = ag.arange(4, backend="array_api_strict")
    with pytest.raises(ValueError, match="X is on numpy/cpu but y is on array_api_strict"):
        batches(X, y)


def test_raw_arrays_keep_their_backend():
    X = np.arange(12.0).reshape(6, 2)
    out = list(batches(X, np.arange(6), batch_size=4, seed=0))
    assert out[0][0].backend == "numpy" and out[0][0].shape == (4, 2)


def test_train_test_split(backend):
    X, y = _data(backend, n=20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    assert X_tr.shape == (15, 3) and X_te.shape == (5, 3)
    assert y_tr.shape == (15,) and y_te.shape == (5,)
    for t in (X_tr, X_te, y_tr, y_te):
        assert t.backend == backend and t.device == X.device
    assert _rows(X_tr) == y_tr.numpy().tolist() and _rows(X_te) == y_te.numpy().tolist()
    assert sorted(y_tr.numpy().tolist() + y_te.numpy().tolist()) == list(range(20))
    again = train_test_split(X, y, test_size=0.25, seed=0)
    np.testing.assert_array_equal(again[3].numpy(), y_te.numpy())
    assert [t.shape for t in train_test_split(X, test_size=3, seed=1)] == [(17, 3), (3, 3)]
    assert train_test_split(X, y, test_size=0.26)[1].shape == (6, 3)  # rounded up


def test_train_test_split_errors(backend):
    X, y = _data(backend, n=4)
    with pytest.raises(ValueError, match="test_size must be a float in"):
        train_test_split(X, y, test_size=1.5)
    with pytest.raises(ValueError, match="gives 4 test rows out of 4"):
        train_test_split(X, y, test_size=4)
    with pytest.raises(ValueError, match="same number of rows"):
        train_test_split(X, y[:3])


def test_permutation_and_integers(backend):
    rng = ag.random.default_rng(0, backend=backend)
    p = rng.permutation(20)
    assert p.backend == backend and p.dtype.kind == "signed integer" and not p.requires_grad
    assert sorted(p.numpy().tolist()) == list(range(20))
    assert rng.permutation(0).shape == (0,)
    q = ag.random.default_rng(0, backend=backend).permutation(20)
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    k = rng.integers(3, 7, size=(200,))
    assert k.backend == backend and k.dtype == ag.int64 and k.shape == (200,)
    assert set(k.numpy().tolist()) == {3, 4, 5, 6}
    assert rng.integers(5, size=3, dtype=ag.int32).dtype == ag.int32
    assert rng.integers(2).shape == ()
    with pytest.raises(ValueError, match="n must be a non-negative int"):
        rng.permutation(-1)
    with pytest.raises(ValueError, match=r"need low < high, got \[3, 3\)"):
        rng.integers(3, 3)

"""from_dlpack and the Tensor's DLPack export."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag


def test_from_dlpack_round_trip_keeps_backend_and_shares_memory(backend):
    x = ag.asarray(np.arange(6.0).reshape(2, 3), backend=backend)
    y = ag.from_dlpack(x)
    assert y.backend == backend and y.shape == (2, 3) and y.dtype == x.dtype
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert y.is_leaf and not y.requires_grad


def test_numpy_reads_a_tensor_through_dlpack():
    x = ag.asarray([1.0, 2.0])
    np.testing.assert_array_equal(np.from_dlpack(x), [1.0, 2.0])
    assert x.__dlpack_device__() == np.ones(1).__dlpack_device__()


def test_from_dlpack_into_another_backend():
    x = np.arange(3.0)
    y = ag.from_dlpack(x, backend="array_api_strict")
    assert y.backend == "array_api_strict"
    np.testing.assert_array_equal(y.numpy(), x)


def test_from_dlpack_rejects_objects_without_dlpack():
    with pytest.raises(TypeError, match=r"agrad\.from_dlpack: list does not implement __dlpack__"):
        ag.from_dlpack([1.0, 2.0])


def test_dlpack_signature_is_the_standards(backend):
    # introspection (the array-api-tests suite reads it) and the keywords, passed on when given
    import inspect

    x = ag.asarray(np.arange(3.0), backend=backend)
    params = inspect.signature(x.__dlpack__).parameters
    assert list(params) == ["stream", "max_version", "dl_device", "copy"]
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is None for p in params.values()
    )
    assert np.from_dlpack(x).tolist() == [0.0, 1.0, 2.0]  # (NumPy asks with max_version=...)
    assert type(x.__dlpack__(max_version=(1, 0))).__name__ == "PyCapsule"

"""The CUDA path through CuPy. Runs only where a CUDA device and CuPy are present (CI's GPU
job); elsewhere every test here is skipped with the reason."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag

pytestmark = pytest.mark.gpu


def test_cuda_device_selects_cupy(cuda):
    g = ag.zeros((3, 3), dtype=ag.float32, device="cuda:0")
    assert g.backend == "cupy" and g.dtype == ag.float32
    assert "cuda" in repr(g) or "CUDA" in repr(g) or g.device.id == 0


def test_backward_on_gpu_keeps_device_and_dtype(cuda):
    # small entries: tanh is far from saturation, so float32 on the GPU can match float64 on
    # the host to 1e-4 (tanh'(22) = 1 - tanh(22)^2 would be all rounding error in float32)
    xn = np.array([[0.1, 0.2], [0.3, 0.4]])
    x = ag.asarray(xn, dtype=ag.float32, device="cuda", requires_grad=True)
    y = ag.sum(ag.tanh(x @ x) * 2.0)
    y.backward()
    assert x.grad.backend == "cupy" and x.grad.device == x.device and x.grad.dtype == ag.float32
    ref = ag.asarray(xn, requires_grad=True)
    ag.sum(ag.tanh(ref @ ref) * 2.0).backward()
    np.testing.assert_allclose(x.grad.numpy(), ref.grad.numpy(), rtol=1e-4)


def test_to_device_between_host_and_gpu(cuda):
    x = ag.asarray([1.0, 2.0], requires_grad=True)
    y = x.to_device("cuda")
    assert y.backend == "cupy"
    ag.sum(y * y).backward()
    assert x.grad.backend == "numpy"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_no_implicit_host_conversion(cuda):
    x = ag.ones(2, device="cuda")
    with pytest.raises(TypeError, match="implicit conversion"):
        np.asarray(x)


def test_scatter_add_fast_path(cuda):
    x = ag.asarray([1.0, 2.0, 3.0], device="cuda", requires_grad=True)
    ag.sum(x[ag.asarray([0, 0, 2], device="cuda")]).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, 1.0])

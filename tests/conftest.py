"""Test configuration: every test taking ``backend`` runs once per available backend.

numpy and array_api_strict always; torch and jax when installed; cupy only with a CUDA device
(those runs carry the ``gpu`` marker). Restrict the set with ``--backends=numpy,torch`` or the
environment variable ``AGRAD_TEST_BACKENDS``.
"""

from __future__ import annotations

import importlib.util
import os

# SciPy reads this when first imported: its Array API support lets tests pass agrad tensors to
# scipy.special (tests/test_third_party.py)
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
from hypothesis import settings

# CI runs property tests with a fixed seed so a red run can be reproduced; locally they explore
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ALL = ("numpy", "array_api_strict", "torch", "jax", "cupy")


def _cuda_available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def available_backends() -> list[str]:
    found = ["numpy"]
    for name in ("array_api_strict", "torch", "jax"):
        if importlib.util.find_spec(name) is not None:
            found.append(name)
    if _cuda_available():
        found.append("cupy")
    return found


def pytest_addoption(parser):
    parser.addoption(
        "--backends",
        default=None,
        help="comma-separated backends to test (default: every available one; "
        "also AGRAD_TEST_BACKENDS)",
    )


def selected_backends(config) -> list[str]:
    spec = config.getoption("--backends") or os.environ.get("AGRAD_TEST_BACKENDS", "")
    avail = available_backends()
    if not spec.strip():
        return avail
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [w for w in wanted if w not in ALL]
    if unknown:
        raise pytest.UsageError(f"unknown backend(s) {unknown}; choose from {ALL}")
    missing = [w for w in wanted if w not in avail]
    if missing:
        raise pytest.UsageError(
            f"backend(s) {missing} requested but not available here (available: {avail})"
        )
    return wanted


def pytest_configure(config):
    # gradients are checked in float64, which JAX provides only in its 64-bit mode
    if "jax" in selected_backends(config):
        import jax

        jax.config.update("jax_enable_x64", True)


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        params = []
        for name in selected_backends(metafunc.config):
            marks = [pytest.mark.gpu] if name == "cupy" else []
            params.append(pytest.param(name, id=name, marks=marks))
        metafunc.parametrize("backend", params)


def pytest_report_header(config):
    return f"agrad backends under test: {', '.join(selected_backends(config))}"


@pytest.fixture
def rng():
    """A seeded NumPy generator for test data (converted to each backend with ag.asarray)."""
    return np.random.default_rng(1234)


@pytest.fixture
def cuda():
    """Skip unless a CUDA device and CuPy are present (the reason is printed)."""
    if not _cuda_available():
        pytest.skip("no CUDA device (or CuPy) on this machine")

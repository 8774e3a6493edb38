"""agrad is a complete Array API namespace (v2025.12, as array-api-strict implements it), and
every function in it has a declared differentiability."""

from __future__ import annotations

import array_api_strict
import pytest

import agrad as ag
from agrad._op import REGISTRY

_STRICT_ONLY = {
    "Device",
    "set_array_api_strict_flags",
    "get_array_api_strict_flags",
    "reset_array_api_strict_flags",
    "ArrayAPIStrictFlags",
    "linalg",
    "fft",
}

# differentiable: each has a VJP (or is a composite of ops that have one) and is gradchecked
DIFFERENTIABLE = set(
    """abs acos acosh add asin asinh astype atan atan2 atanh broadcast_arrays broadcast_to clip
    concat conj copysign cos cosh cumulative_prod cumulative_sum diff divide exp expand_dims
    expm1 fft.fft fft.fftn fft.fftshift fft.hfft fft.ifft fft.ifftn fft.ifftshift fft.ihfft
    fft.irfft fft.irfftn fft.rfft fft.rfftn flip hypot imag linalg.cholesky linalg.cross
    linalg.det linalg.diagonal linalg.eigh linalg.eigvalsh linalg.inv linalg.matmul
    linalg.matrix_norm linalg.matrix_power linalg.matrix_transpose linalg.outer linalg.pinv
    linalg.qr linalg.slogdet linalg.solve linalg.svd linalg.svdvals linalg.tensordot
    linalg.trace linalg.vecdot linalg.vector_norm log log10 log1p log2 logaddexp matmul
    matrix_transpose max maximum mean meshgrid min minimum moveaxis multiply negative nextafter
    permute_dims positive pow prod real reciprocal remainder repeat reshape roll sin sinh sort
    sqrt square squeeze stack std subtract sum take take_along_axis tan tanh tensordot tile tril
    triu unstack var vecdot where""".split()
)
# integer or boolean results: declared non-differentiable, they cut the graph
NON_DIFFERENTIABLE = set(
    """all any argmax argmin argsort bitwise_and bitwise_invert bitwise_left_shift bitwise_or
    bitwise_right_shift bitwise_xor count_nonzero equal greater greater_equal isfinite isin isinf
    isnan less less_equal logical_and logical_not logical_or logical_xor nonzero not_equal
    searchsorted signbit unique_all unique_counts unique_inverse unique_values
    linalg.matrix_rank fft.fftfreq fft.rfftfreq""".split()
)
# piecewise constant: differentiable, with a zero gradient almost everywhere
ZERO_GRADIENT = {"ceil", "floor", "floor_divide", "round", "sign", "trunc"}
# creation from data or shapes: nothing to differentiate with respect to
CREATION = set(
    """arange asarray empty empty_like eye from_dlpack full full_like linspace ones ones_like
    zeros zeros_like""".split()
)
# dtypes, constants, shape and dtype functions, metadata
NOT_ARRAY_FUNCTIONS = set(
    """__array_api_version__ __array_namespace_info__ __version__ bool int8 int16 int32 int64
    uint8 uint16 uint32 uint64 float32 float64 complex64 complex128 e inf nan newaxis pi
    can_cast finfo iinfo isdtype result_type broadcast_shapes""".split()
)


def standard_names():
    names = {n for n in array_api_strict.__all__ if n not in _STRICT_ONLY}
    names |= {f"linalg.{n}" for n in array_api_strict.linalg.__all__}
    names |= {f"fft.{n}" for n in array_api_strict.fft.__all__}
    return names


def resolve(name):
    obj = ag
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return obj


def test_every_standard_name_is_in_agrad():
    missing = sorted(
        n
        for n in standard_names()
        if not hasattr(ag, n.split(".")[0]) or resolve(n) is None and n not in {"newaxis"}
    )
    assert not missing, f"standard names missing from agrad: {missing}"


def test_every_standard_function_has_a_declared_differentiability():
    groups = [DIFFERENTIABLE, NON_DIFFERENTIABLE, ZERO_GRADIENT, CREATION, NOT_ARRAY_FUNCTIONS]
    names = standard_names()
    unclassified = sorted(names - set().union(*groups))
    assert not unclassified, f"classify these in tests/test_namespace.py: {unclassified}"
    stale = sorted(set().union(*groups) - names)
    assert not stale, f"not in the standard (any more): {stale}"
    twice = sorted(n for n in names if sum(n in g for g in groups) > 1)
    assert not twice, f"classified twice: {twice}"


def test_declarations_match_the_registry():
    for name in NON_DIFFERENTIABLE:
        prim = REGISTRY.get(name.split(".")[-1])
        if prim is not None and resolve(name) is prim:
            assert not prim.differentiable, name
    for name in DIFFERENTIABLE | ZERO_GRADIENT:
        prim = REGISTRY.get(name.split(".")[-1])
        if prim is not None and prim.differentiable:
            assert prim.vjp is not None, f"{name} is differentiable but has no VJP"


def test_dtypes_compare_equal_on_every_backend(backend):
    x = ag.asarray([1.0], dtype=ag.float32, backend=backend)
    assert x.dtype == ag.float32
    assert x.__array_namespace__() is ag


def test_array_namespace_takes_the_versions_agrad_implements(backend):
    from agrad._namespace import API_VERSIONS

    x = ag.asarray([1.0], backend=backend)
    assert API_VERSIONS[-1] == ag.__array_api_version__
    for version in (None, *API_VERSIONS):
        assert x.__array_namespace__(api_version=version) is ag
    for version in ("2020.10", "2026.12", "2025.13", "latest"):
        with pytest.raises(
            ValueError,
            match=rf"^agrad: version '{version}' of the Array API standard is not implemented; "
            r"agrad implements 2025\.12 and runs code written for 2021\.12, .*2024\.12",
        ):
            x.__array_namespace__(api_version=version)

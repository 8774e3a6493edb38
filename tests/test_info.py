"""``__array_namespace_info__`` and the data-type functions: can_cast, result_type, finfo,
iinfo, isdtype. Answers follow the standard's promotion table (not NumPy's where they differ)."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag

INTS = [ag.int8, ag.int16, ag.int32, ag.int64]
UINTS = [ag.uint8, ag.uint16, ag.uint32, ag.uint64]
FLOATS = [ag.float32, ag.float64]
COMPLEX = [ag.complex64, ag.complex128]
STANDARD = [ag.bool, *INTS, *UINTS, *FLOATS, *COMPLEX]


def test_info_describes_each_backend(backend):
    info = ag.__array_namespace_info__(backend=backend)
    assert info.backend == backend
    caps = info.capabilities()
    assert caps["boolean indexing"] is True and caps["data-dependent shapes"] is True
    assert "max dimensions" in caps
    x = ag.asarray([1.0, 2.0], backend=backend)
    assert info.default_device() == x.device
    assert x.device in info.devices() and type(info.devices()) is tuple
    dd = info.default_dtypes()
    assert set(dd) == {"real floating", "complex floating", "integral", "indexing"}
    assert all(isinstance(v, ag.DType) for v in dd.values())
    assert dd["real floating"] == x.dtype  # what asarray actually creates
    assert dd["integral"] == ag.asarray([1], backend=backend).dtype
    assert info.default_dtypes(device=info.default_device()) == dd
    all_dt = info.dtypes()
    assert all(isinstance(v, ag.DType) and k == v.name for k, v in all_dt.items())
    assert {"bool", "int8", "int64", "uint8", "float32", "float64", "complex128"} <= set(all_dt)
    assert info.dtypes(kind="real floating") == {"float32": ag.float32, "float64": ag.float64}
    assert set(info.dtypes(kind=("bool", "complex floating"))) == {
        "bool",
        "complex64",
        "complex128",
    }
    assert set(info.dtypes(kind="integral")) <= {d.name for d in INTS + UINTS}
    assert "bool" not in info.dtypes(kind="numeric")


def test_info_default_is_numpy():
    info = ag.__array_namespace_info__()
    assert info.backend == "numpy"
    assert info.devices() == ("cpu",)  # a tuple from the 2025.12 standard
    assert info.default_device() == "cpu"
    assert info.default_dtypes()["real floating"] is ag.float64
    assert info.dtypes() == {d.name: d for d in STANDARD}


def test_info_torch_default_float_is_float32():
    pytest.importorskip("torch")
    assert (
        ag.__array_namespace_info__(backend="torch").default_dtypes()["real floating"] is ag.float32
    )


def test_info_errors():
    with pytest.raises(ValueError, match=r"the numpy backend has only device 'cpu', got 'cuda'"):
        ag.__array_namespace_info__(backend="numpy").dtypes(device="cuda")
    try:  # without backend=, "cuda" means CuPy, as in ag.zeros(2, device="cuda")
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"agrad: backend 'cupy' is not available"):
            ag.__array_namespace_info__().dtypes(device="cuda")
    with pytest.raises(ValueError, match=r"agrad: unknown backend 'nope'"):
        ag.__array_namespace_info__(backend="nope")
    with pytest.raises(ValueError, match=r"agrad\.isdtype: unknown kind 'float'"):
        ag.__array_namespace_info__().dtypes(kind="float")


# the standard's promotion table for mixed signed/unsigned integers
MIXED_INT = {
    ("int8", "uint8"): "int16",
    ("int16", "uint8"): "int16",
    ("int32", "uint8"): "int32",
    ("int64", "uint8"): "int64",
    ("int8", "uint16"): "int32",
    ("int16", "uint16"): "int32",
    ("int32", "uint16"): "int32",
    ("int64", "uint16"): "int64",
    ("int8", "uint32"): "int64",
    ("int16", "uint32"): "int64",
    ("int32", "uint32"): "int64",
    ("int64", "uint32"): "int64",
}


def test_result_type_follows_the_standard_table():
    for i, a in enumerate(INTS):
        for b in INTS[i:]:
            assert ag.result_type(a, b) is b and ag.result_type(b, a) is b
    for i, a in enumerate(UINTS):
        for b in UINTS[i:]:
            assert ag.result_type(a, b) is b
    for (a, b), want in MIXED_INT.items():
        assert ag.result_type(getattr(ag, a), getattr(ag, b)) is getattr(ag, want)
        assert ag.result_type(getattr(ag, b), getattr(ag, a)) is getattr(ag, want)
    assert ag.result_type(ag.float32, ag.float64) is ag.float64
    assert ag.result_type(ag.float32, ag.complex64) is ag.complex64
    assert ag.result_type(ag.float64, ag.complex64) is ag.complex128
    assert ag.result_type(ag.complex64, ag.float32, ag.complex128) is ag.complex128
    assert ag.result_type(ag.bool, ag.bool) is ag.bool
    assert ag.result_type(ag.float16, ag.float32) is ag.float32  # agrad's extra dtype


def test_result_type_agrees_with_array_api_strict():
    xp = pytest.importorskip("array_api_strict")
    for a in STANDARD:
        for b in STANDARD:
            try:
                want = xp.result_type(getattr(xp, a.name), getattr(xp, b.name))
            except TypeError:
                with pytest.raises(TypeError, match=r"agrad\.result_type: .*no type promotion"):
                    ag.result_type(a, b)
                assert not ag.can_cast(a, b)
                continue
            assert ag.result_type(a, b) == want
            assert ag.can_cast(a, b) == xp.can_cast(getattr(xp, a.name), getattr(xp, b.name))


def test_result_type_with_tensors_backend_dtypes_and_scalars(backend):
    x = ag.asarray([1, 2], dtype=ag.int16, backend=backend)
    assert ag.result_type(x, ag.uint8) is ag.int16
    assert ag.result_type(x, 3) is ag.int16
    assert ag.result_type(x._data.dtype, ag.int32) is ag.int32  # a backend's own dtype
    assert ag.result_type(np.float32, 1.5, 2) is ag.float32
    assert ag.result_type(ag.complex64, 1.0, 2j) is ag.complex64
    # a Python complex makes a real dtype complex of its precision (array-api-strict agrees)
    assert ag.result_type(ag.float32, 1j) is ag.complex64
    assert ag.result_type(ag.float64, 2, 1j) is ag.complex128
    assert ag.result_type(ag.asarray([1.0], dtype=ag.float16, backend="numpy"), 1j) is ag.complex64
    assert ag.result_type(ag.uint8, 255, 0) is ag.uint8  # ints at the dtype's edges
    assert ag.result_type(ag.bool, True) is ag.bool


def test_result_type_errors():
    with pytest.raises(TypeError, match=r"no type promotion between int64 and float32"):
        ag.result_type(ag.int64, ag.float32)
    with pytest.raises(TypeError, match=r"between uint64 and int8 \(uint64 and signed integers"):
        ag.result_type(ag.uint64, ag.int8)
    with pytest.raises(TypeError, match=r"between bool and int8"):
        ag.result_type(ag.bool, ag.int8)
    with pytest.raises(TypeError, match=r"the Python float 1\.5 does not combine with int32"):
        ag.result_type(ag.int32, 1.5)
    with pytest.raises(TypeError, match=r"the Python complex 1j does not combine with int8"):
        ag.result_type(ag.int8, 1j)
    for dt, value in ((ag.uint8, 300), (ag.uint8, -1), (ag.int8, -129)):
        with pytest.raises(
            OverflowError,
            match=rf"agrad\.result_type: the Python int {value} does not fit the dtype "
            rf"{dt.name} \(from -?\d+ to \d+\).*: use a wider dtype",
        ):
            ag.result_type(dt, value)
    with pytest.raises(TypeError, match=r"the Python int 1 does not combine with bool"):
        ag.result_type(ag.bool, 1)
    with pytest.raises(TypeError, match=r"needs at least one tensor or dtype; Python scalars"):
        ag.result_type(1, 2.0)
    with pytest.raises(ValueError, match=r"agrad\.result_type: needs at least one"):
        ag.result_type()
    with pytest.raises(TypeError, match=r"agrad\.result_type: expected a dtype or a tensor"):
        ag.result_type("float64x")


def test_can_cast():
    assert ag.can_cast(ag.int8, ag.int64)
    assert not ag.can_cast(ag.int64, ag.int8)
    assert ag.can_cast(ag.uint8, ag.int16) and not ag.can_cast(ag.uint8, ag.int8)
    assert not ag.can_cast(ag.int32, ag.float64)  # no int -> float promotion in the standard
    assert not ag.can_cast(ag.bool, ag.int8)
    assert ag.can_cast(ag.float32, ag.complex64) and not ag.can_cast(ag.float64, ag.complex64)
    assert ag.can_cast(ag.asarray([1.0]), ag.float64)
    with pytest.raises(TypeError, match=r"agrad\.can_cast: expected a dtype, got"):
        ag.can_cast(ag.int8, ag.asarray([1]))


def test_isdtype():
    kinds = {
        "bool": [ag.bool],
        "signed integer": INTS,
        "unsigned integer": UINTS,
        "integral": INTS + UINTS,
        "real floating": [ag.float16, *FLOATS],
        "complex floating": COMPLEX,
        "numeric": INTS + UINTS + [ag.float16] + FLOATS + COMPLEX,
    }
    for kind, members in kinds.items():
        for dt in [*STANDARD, ag.float16]:
            assert ag.isdtype(dt, kind) == (dt in members), (dt, kind)
    assert ag.isdtype(ag.int8, ag.int8) and not ag.isdtype(ag.int8, ag.int16)
    assert ag.isdtype(ag.float32, (ag.int8, "real floating"))
    assert ag.isdtype(np.dtype("float32"), "real floating")  # a backend dtype
    with pytest.raises(ValueError, match=r"agrad\.isdtype: unknown kind 'floating'"):
        ag.isdtype(ag.float32, "floating")
    with pytest.raises(TypeError, match=r"agrad\.isdtype: expected a dtype, got Tensor"):
        ag.isdtype(ag.asarray([1.0]), "real floating")


@pytest.mark.parametrize("dt", [ag.float16, *FLOATS, *COMPLEX])
def test_finfo(dt):
    f = ag.finfo(dt)
    real = {"complex64": "float32", "complex128": "float64"}.get(dt.name, dt.name)
    ref = np.finfo(real)
    assert f.dtype is getattr(ag, real)
    assert f.bits == ref.bits and isinstance(f.bits, int)
    for name in ("eps", "max", "min", "smallest_normal"):
        assert getattr(f, name) == float(getattr(ref, name))
        assert type(getattr(f, name)) is float
    assert ag.finfo(ag.asarray([1.0], dtype=dt)) == f  # a tensor works too


@pytest.mark.parametrize("dt", INTS + UINTS)
def test_iinfo(dt):
    i = ag.iinfo(dt)
    ref = np.iinfo(dt.name)
    assert (i.bits, i.max, i.min, i.dtype) == (ref.bits, int(ref.max), int(ref.min), dt)
    assert type(i.max) is int


def test_finfo_iinfo_backend_dtypes_and_errors(backend):
    x = ag.asarray([1.0], backend=backend)
    assert ag.finfo(x._data.dtype).dtype == x.dtype
    assert ag.iinfo(ag.asarray([1], backend=backend)).bits == 64
    with pytest.raises(TypeError, match=r"agrad\.finfo: int64 is not a floating-point dtype; use"):
        ag.finfo(ag.int64)
    with pytest.raises(TypeError, match=r"agrad\.iinfo: float32 is not an integer dtype; use ag"):
        ag.iinfo(ag.float32)
    with pytest.raises(TypeError, match=r"agrad\.iinfo: bool is not an integer dtype$"):
        ag.iinfo(ag.bool)


def test_info_answers_for_the_backend_of_a_device_it_is_given(backend):
    # code written against the standard asks ag.__array_namespace_info__().dtypes(device=
    # x.device) (scikit-learn does): the device names its backend, as in creation functions
    x = ag.asarray([1.0], backend=backend)
    info, own = ag.__array_namespace_info__(), ag.__array_namespace_info__(backend=backend)
    assert info.dtypes(device=x.device) == own.dtypes()
    assert info.dtypes(device=x.device, kind="integral") == own.dtypes(kind="integral")
    assert info.default_dtypes(device=x.device) == own.default_dtypes()
    if backend != "numpy":  # an info asked for one backend refuses another's device
        with pytest.raises(ValueError, match=r"agrad: the numpy backend has only device 'cpu'"):
            ag.__array_namespace_info__(backend="numpy").dtypes(device=x.device)

"""Backends and devices: chosen at creation, followed by every op, checked on mixing."""

from __future__ import annotations

import importlib.util
import operator
import sys
import types

import numpy as np
import pytest

import agrad as ag

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None


def test_default_is_numpy_on_cpu():
    x = ag.asarray([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert (x.backend, x.device, x.dtype) == ("numpy", "cpu", ag.float64)
    assert isinstance(x.data, np.ndarray)


def test_backend_by_name_and_by_module(backend):
    mod = pytest.importorskip(
        {
            "numpy": "numpy",
            "array_api_strict": "array_api_strict",
            "torch": "torch",
            "jax": "jax.numpy",
            "cupy": "cupy",
        }[backend]
    )
    a = ag.asarray([1.0, 2.0], backend=backend)
    b = ag.asarray([1.0, 2.0], backend=mod)
    assert a.backend == b.backend == backend


def test_raw_arrays_keep_their_backend_and_device(backend):
    raw = ag.asarray(np.array([1.0, 2.0]), backend=backend).data
    t = ag.asarray(raw)
    assert t.backend == backend and t.data is raw or t.backend == backend


@pytest.mark.parametrize(
    "view", [np.s_[:, ::-1], np.s_[::-2], np.s_[:, 1:]], ids=["reversed", "step -2", "offset"]
)
def test_asarray_of_a_numpy_view_on_another_backend(backend, view):
    # torch takes no negative strides: agrad copies through a contiguous array (copy=None)
    a = np.arange(12.0).reshape(3, 4)[view]
    x = ag.asarray(a, backend=backend)
    assert x.backend == backend and x.shape == a.shape
    np.testing.assert_array_equal(x.numpy(), a)


def test_asarray_copy_false_refuses_a_copy_it_cannot_avoid():
    pytest.importorskip("torch")
    a = np.arange(6.0)[::-1]
    with pytest.raises(
        ValueError,
        match=r"agrad\.asarray: cannot make a torch array from a numpy\.ndarray without copying "
        r"it, and copy=False forbids a copy \(torch said: .*negative.*\); pass copy=None",
    ):
        ag.asarray(a, backend="torch", copy=False)
    shared = np.arange(6.0)  # a contiguous array is shared, as copy=False asks
    y = ag.asarray(shared, backend="torch", copy=False)
    shared[0] = 7.0
    assert float(y[0]) == 7.0


def test_asarray_of_a_tensor_keeps_it_and_its_graph():
    x = ag.asarray([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    assert ag.asarray(y) is y
    z = ag.asarray(y, dtype=ag.float32)
    assert z.dtype == ag.float32 and z.requires_grad
    ag.sum(z).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda b: ag.zeros((2, 3), backend=b),
        lambda b: ag.ones((2, 3), backend=b),
        lambda b: ag.empty((2, 3), backend=b),
        lambda b: ag.full((2, 3), 7.0, backend=b),
        lambda b: ag.eye(2, 3, backend=b),
        lambda b: ag.zeros_like(ag.ones((2, 3), backend=b)),
        lambda b: ag.ones_like(ag.ones((2, 3), backend=b)),
        lambda b: ag.empty_like(ag.ones((2, 3), backend=b)),
        lambda b: ag.full_like(ag.ones((2, 3), backend=b), 2.0),
    ],
)
def test_creation_functions_follow_backend(backend, make):
    t = make(backend)
    assert t.backend == backend and t.shape == (2, 3)


def test_creation_values_and_dtypes(backend):
    np.testing.assert_array_equal(ag.arange(1, 7, 2, backend=backend).numpy(), [1, 3, 5])
    np.testing.assert_allclose(
        ag.linspace(0.0, 1.0, 5, backend=backend).numpy(), np.linspace(0, 1, 5)
    )
    np.testing.assert_array_equal(ag.eye(3, k=1, backend=backend).numpy(), np.eye(3, k=1))
    z = ag.zeros((2,), dtype=ag.float32, backend=backend, requires_grad=True)
    assert z.dtype == ag.float32 and z.requires_grad
    f = ag.full_like(z, 3.0, dtype=ag.float64)
    assert f.dtype == ag.float64 and f.backend == backend
    np.testing.assert_array_equal(f.numpy(), [3.0, 3.0])


@pytest.mark.parametrize(
    "obj, dtype, value, name",
    [
        (-1, "uint8", -1, "uint8"),  # torch made 255
        ([[1, 2], [3, -4]], "uint8", -4, "uint8"),  # torch made 252
        ([1, 300], "int8", 300, "int8"),  # NumPy's and torch's own errors
        ([[1.5, 300]], "uint8", 300, "uint8"),  # (the float is cast, as the backend casts it)
        (2**63, None, 2**63, "int64"),  # NumPy made uint64, array-api-strict -2**63
        ([[1, 2], [3, -(2**63) - 1]], None, -(2**63) - 1, "int64"),
        ([1, 2**70], None, 2**70, "int64"),  # NumPy: an object array ("unknown dtype")
    ],
)
def test_asarray_python_int_outside_the_dtype_is_an_error_everywhere(
    backend, obj, dtype, value, name
):
    """The standard leaves such ints unspecified and the backends disagreed: NumPy and
    array-api-strict raised for some, NumPy widened 2**63 to uint64, torch wrapped -1 to 255 in
    uint8 and array-api-strict 2**63 to -2**63 in int64, silently."""
    pattern = (
        rf"^agrad\.asarray: the Python int {value} does not fit the dtype {name} "
        r"\(from -?\d+ to \d+\).*: ask for a dtype that holds it, e\.g\. dtype=ag\.int64 "
        r"\(or ag\.uint64, or a float\)\.$"
    )
    with pytest.raises(OverflowError, match=pattern):
        ag.asarray(obj, dtype=None if dtype is None else getattr(ag, dtype), backend=backend)


@pytest.mark.parametrize(
    "make, value, name",
    [
        (lambda b: ag.arange(250, 260, dtype=ag.uint8, backend=b), 259, "uint8"),  # all wrapped
        (lambda b: ag.arange(-2, 2, dtype=ag.uint8, backend=b), -2, "uint8"),  # torch: 254
        (lambda b: ag.arange(10, -140, -3, dtype=ag.int8, backend=b), 10 - 3 * 49, "int8"),
        (lambda b: ag.arange(2**63 - 2, 2**63 + 1, backend=b), 2**63, "int64"),  # NumPy: floats
        (lambda b: ag.full((2,), 2**63, backend=b), 2**63, "int64"),  # NumPy: uint64
        (lambda b: ag.linspace(-5, 5, 3, dtype=ag.uint8, backend=b), -5, "uint8"),  # 251 ...
    ],
)
def test_creation_python_int_outside_the_dtype_is_an_error_everywhere(backend, make, value, name):
    fname = make.__code__.co_names[1]  # (the lambda's ag.<fname>)
    pattern = (
        rf"^agrad\.{fname}: the Python int {value} does not fit the dtype {name} "
        r"\(from -?\d+ to \d+\).*: ask for a dtype that holds it, e\.g\. dtype=ag\.int64 "
        r"\(or ag\.uint64, or a float\)\.$"
    )
    with pytest.raises(OverflowError, match=pattern):
        make(backend)


def test_creation_python_ints_at_the_dtypes_edges(backend):
    assert ag.arange(250, 256, dtype=ag.uint8, backend=backend).numpy().tolist() == [
        *range(250, 256)
    ]
    assert ag.arange(10, -129, -23, dtype=ag.int8, backend=backend).numpy().tolist() == [
        *range(10, -129, -23)
    ]
    assert ag.arange(5, 5, dtype=ag.uint8, backend=backend).shape == (0,)  # (no ends to check)
    top = [2**63 - 3, 2**63 - 2]
    assert ag.arange(2**63 - 3, 2**63 - 1, backend=backend).numpy().tolist() == top
    assert ag.full((2,), -(2**63), backend=backend).dtype == ag.int64
    assert ag.full((2,), 2**63, dtype=ag.float64, backend=backend).numpy().tolist() == [2.0**63] * 2
    assert ag.linspace(0, 255, 3, dtype=ag.uint8, backend=backend).numpy().tolist() == [0, 127, 255]
    # a range's first and last values, not its stop
    assert ag.arange(257, step=257, dtype=ag.uint8, backend=backend).numpy().tolist() == [0]
    assert ag.arange(300, step=-1, dtype=ag.uint8, backend=backend).shape == (0,)


def test_asarray_python_ints_at_the_dtypes_edges(backend):
    for dtype in ("uint8", "int8", "int64"):
        info = np.iinfo(dtype)
        edges = [[int(info.min), 0], [1, int(info.max)]]
        t = ag.asarray(edges, dtype=getattr(ag, dtype), backend=backend)
        assert t.dtype == getattr(ag, dtype) and t.numpy().tolist() == edges
    big = [-(2**63), 2**63 - 1]
    assert ag.asarray(big, backend=backend).numpy().tolist() == big  # the default: int64
    assert ag.asarray([True, 2], backend=backend).dtype == ag.int64
    assert ag.asarray([], dtype=ag.uint8, backend=backend).shape == (0,)
    assert ag.asarray([[True, False]], dtype=ag.uint8, backend=backend).numpy().tolist() == [[1, 0]]
    floats = ag.asarray([[1, 2.5], [2**63, 0]], backend=backend)  # ints among floats: floats
    assert floats.dtype in (ag.float32, ag.float64)
    assert floats.numpy().tolist() == [[1.0, 2.5], [2.0**63, 0.0]]


def test_asarray_finds_a_tensor_anywhere_in_nested_sequences(backend):
    x = ag.asarray([1.0], backend=backend, requires_grad=True)
    for obj in ([x, 1.0], [[1.0, 2.0], [x, 3.0]], ([2.0, (x,)],), [[[1.0]], [[2.0], [x]]]):
        with pytest.raises(TypeError, match=r"^agrad\.asarray: a sequence of Tensors cannot"):
            ag.asarray(obj, backend=backend)


def test_device_of_an_existing_tensor_selects_its_backend(backend):
    x = ag.ones((2,), backend=backend)
    y = ag.zeros((3,), device=x.device)
    assert y.backend == backend and y.device == x.device


def test_unknown_backend_and_bad_devices_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown backend 'nump'.*'numpy'"):
        ag.zeros(2, backend="nump")
    with pytest.raises(ValueError, match=r"numpy backend has only device 'cpu', got 'cuda:0'"):
        ag.zeros(2, backend="numpy", device="cuda:0")
    with pytest.raises(ValueError, match=r"device 'tpu' needs a backend"):
        ag.zeros(2, device="tpu")
    with pytest.raises(TypeError, match="backend= must be a name"):
        ag.zeros(2, backend=3.5)


def test_cuda_device_selects_cupy_or_says_how_to_install():
    if importlib.util.find_spec("cupy") is None:
        with pytest.raises(ImportError, match=r"backend 'cupy' is not available.*agrad\[cuda12\]"):
            ag.zeros((3, 3), dtype=ag.float32, device="cuda:0")
    else:  # pragma: no cover - CI's GPU job
        pytest.skip("CuPy is installed: tests/test_cuda.py covers the CUDA path")


def _fake_cupy(count):
    """A stand-in for the ``cupy`` module that reports ``count`` CUDA devices (or raises it)."""

    def get_device_count():
        if isinstance(count, type):
            raise count("no CUDA driver")
        return count

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime))


@pytest.mark.parametrize("count, context", [(1, False), (2, True), (RuntimeError, True)])
def test_cupy_runs_without_a_device_context_on_a_single_gpu(monkeypatch, count, context):
    """CuPy allocates on the current device; with one visible GPU that is every array's device
    and the per-op device context is skipped; with several, or when CuPy cannot count them, it
    is kept. (NumPy's namespace stands in for CuPy's: only the choice is tested here, the CUDA
    path itself in tests/test_cuda.py on a GPU.)"""
    import array_api_compat.numpy as npx

    from agrad import _backend

    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(count))
    bk = _backend._CupyBackend("cupy", npx, True)
    assert (bk.ctx is not None) is context


@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8", "int64", "bool", "complex128"])
def test_cupy_scatter_add_routes_the_dtypes_its_atomics_refuse(monkeypatch, dtype):
    # cupy.add.at works through CUDA's atomicAdd: int32, uint32, uint64 and floats only. The
    # other dtypes take the portable scatter-add, complex ones add their parts apart. With no
    # GPU here, NumPy stands in for the cupy module
    from agrad._backend import _CUPY_ATOMIC, _index_add_cupy, get_backend

    calls = []

    def add_at(out, key, values):
        assert out.dtype.name in _CUPY_ATOMIC, out.dtype  # what a GPU would refuse
        calls.append(out.dtype.name)
        np.add.at(out, key, values)

    fake = types.SimpleNamespace(
        asarray=np.asarray,
        ascontiguousarray=np.ascontiguousarray,
        real=np.real,
        imag=np.imag,
        add=types.SimpleNamespace(at=add_at),
    )
    monkeypatch.setitem(sys.modules, "cupy", fake)
    x = np.zeros(4, dtype=dtype)
    key = np.array([1, 3, 1])
    values = np.array([1, 1, 1], dtype=dtype) * (1 + 2j if dtype == "complex128" else 1)
    want = x.copy()
    np.add.at(want, key, values)
    got = _index_add_cupy(get_backend("numpy"), x, key, values)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, want)
    assert bool(calls) == (dtype in ("float32", "int32", "complex128"))


def test_mixing_backends_names_the_op_both_backends_and_to_device():
    a = ag.asarray([1.0, 2.0])
    b = ag.asarray([1.0, 2.0], backend="array_api_strict")
    with pytest.raises(
        ValueError,
        match=r"agrad\.add: .*numpy on cpu.*array_api_strict on "
        r"CPU_DEVICE.*to_device",
    ):
        a + b
    with pytest.raises(ValueError, match=r"agrad\.matmul"):
        ag.matmul(a, b)


@pytest.mark.parametrize("other", ["array_api_strict", "torch"])
def test_a_0d_numpy_tensor_without_grad_joins_another_backend(other):
    # PyTorch's rule for 0-d CPU tensors with CUDA ones: what xp.asarray(0.5) makes in library
    # code that passes no device (SciPy's ttest_1samp) must not stop that code
    if other == "torch":
        pytest.importorskip("torch")
    x = ag.asarray([1.0, 2.0], dtype=ag.float64, backend=other, requires_grad=True)
    c = ag.asarray(0.5)  # NumPy, 0-d, no gradient
    for y in (x - c, c * x, ag.where(x > 1.0, c, x), ag.maximum(c, x)):
        assert y.backend == other and y.device == x.device
    y = (x - c) * (c * x)
    np.testing.assert_allclose(y.numpy(), [0.25, 1.5])
    ag.sum(y).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.75, 1.75])  # d (x - c) c x = c (2x - c)
    # anything else still needs to_device: a 1-d tensor, or a 0-d one that needs a gradient
    for bad in (ag.asarray([0.5]), ag.asarray(0.5, requires_grad=True)):
        with pytest.raises(ValueError, match=r"agrad\.subtract: inputs live on different"):
            x - bad
    with pytest.raises(ValueError, match=r"agrad\.add: inputs live on different"):
        ag.asarray(1.0, backend=other) + ag.asarray([1.0])  # only NumPy's 0-d tensors move


def test_strict_devices_are_followed_forward_and_backward():
    import array_api_strict as s

    d1 = s.Device("device1")
    x = ag.asarray(
        np.array([0.5, 1.5]), backend="array_api_strict", device="device1", requires_grad=True
    )
    w = ag.ones((2,), dtype=ag.float64, device=x.device)
    y = ag.sum(ag.tanh(x * w) @ x + ag.exp(x)[0])
    assert x.device == d1 and w.device == d1 and y.device == d1
    y.backward()
    assert x.grad.device == d1 and w.grad is None
    cpu = ag.asarray(np.ones(2), backend="array_api_strict")
    with pytest.raises(ValueError, match=r"agrad\.multiply: .*CPU_DEVICE.*device1.*to_device"):
        cpu * x


def test_to_device_is_differentiable_across_strict_devices():
    x = ag.asarray(np.array([1.0, 2.0]), backend="array_api_strict", requires_grad=True)
    y = x.to_device("device1")
    assert str(y.device).endswith("'device1')") and y.requires_grad
    ag.sum(y * y).backward()
    assert x.grad.device == x.device
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_to_device_across_backends_moves_the_gradient_back():
    x = ag.asarray([1.0, 2.0], requires_grad=True)
    y = ag.to_device(x, "cpu", backend="array_api_strict")
    assert y.backend == "array_api_strict"
    ag.sum(ag.exp(y)).backward()
    assert x.grad.backend == "numpy"
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]))
    assert x.to_device("cpu") is x


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_torch_device_strings_stay_on_torch():
    x = ag.asarray([1.0], backend="torch")
    assert x.to_device("cpu") is x
    assert ag.zeros(2, backend="torch", device="cpu").device == x.device


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_torch_cuda_is_named_with_its_index_or_refused():
    import torch

    if torch.cuda.is_available():  # 'cuda' and a tensor's own 'cuda:0' are one device
        x = ag.asarray(torch.ones(2, device="cuda"), requires_grad=True)
        y = ag.ones(2, backend="torch", device="cuda")
        assert str(y.device).startswith("cuda:") and y.device == x.device
        ag.sum(x * y).backward()  # (an op between them raised a device mismatch before)
    else:  # a clear error at creation, not torch's AssertionError later
        with pytest.raises(ValueError, match=r"torch backend cannot use device 'cuda' \(Torch"):
            ag.ones(2, backend="torch", device="cuda")


def test_python_scalars_follow_the_standard(backend):
    f32 = ag.asarray(np.ones(2, dtype=np.float32), backend=backend)
    assert (f32 * 2.0).dtype == ag.float32 and (2 + f32).dtype == ag.float32
    i64 = ag.asarray(np.array([1, 2]), backend=backend)
    assert (i64 * 2).dtype == i64.dtype
    with pytest.raises(
        TypeError,
        match=r"agrad\.multiply: cannot combine the Python float 1\.5 "
        r"with an integer tensor",
    ):
        i64 * 1.5
    with pytest.raises(TypeError, match=r"agrad\.add: cannot combine the Python bool True"):
        f32 + True
    with pytest.raises(TypeError, match=r"agrad\.add: needs at least one array argument"):
        ag.add(1.0, 2.0)


def test_random_generators_are_seeded_per_backend(backend):
    a = ag.random.default_rng(7, backend=backend).normal(size=(3, 2), dtype=ag.float64)
    b = ag.random.default_rng(7, backend=backend).normal(size=(3, 2), dtype=ag.float64)
    c = ag.random.default_rng(8, backend=backend).normal(size=(3, 2), dtype=ag.float64)
    assert a.backend == backend and a.shape == (3, 2) and a.dtype == ag.float64
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    u = ag.random.default_rng(0, backend=backend).uniform(-2.0, 3.0, size=1000, requires_grad=True)
    assert u.requires_grad and u.backend == backend
    un = u.numpy()
    assert un.min() >= -2.0 and un.max() < 3.0 and abs(un.mean() - 0.5) < 0.2


def test_random_generator_follows_device():
    rng = ag.random.default_rng(0, backend="array_api_strict", device="device1")
    assert str(rng.normal(size=2).device).endswith("'device1')")


def test_numpy_scalars_act_as_python_scalars(backend):
    x = ag.asarray(np.ones(2, dtype=np.float32), backend=backend)
    assert (x * np.float64(2.0)).dtype == ag.float32
    assert (np.int64(3) * x).dtype == ag.float32
    np.testing.assert_allclose((x * np.float64(2.0)).numpy(), [2.0, 2.0])


def test_where_needs_a_tensor_besides_the_condition(backend):
    c = ag.asarray(np.array([True, False]), backend=backend)
    with pytest.raises(TypeError, match=r"agrad\.where: only the condition is a tensor"):
        ag.where(c, 1.0, 0.0)
    np.testing.assert_array_equal(ag.where(c, ag.ones(2, backend=backend), 0.0).numpy(), [1, 0])


def test_shift_operators(backend):
    i = ag.asarray(np.array([1, 2]), backend=backend)
    np.testing.assert_array_equal((i << 1).numpy(), [2, 4])
    np.testing.assert_array_equal((8 >> i).numpy(), [4, 2])


def test_like_functions_take_backend_and_device(backend):
    x = ag.asarray(np.ones((2, 3), dtype=np.float32))
    z = ag.zeros_like(x, backend=backend)
    assert (z.backend, z.shape, z.dtype) == (backend, (2, 3), ag.float32)
    f = ag.full_like(x, 2.5, backend=backend, dtype=ag.float64, requires_grad=True)
    assert f.backend == backend and f.dtype == ag.float64 and f.requires_grad
    np.testing.assert_array_equal(f.numpy(), np.full((2, 3), 2.5))
    o = ag.ones_like(z, device=z.device)
    assert o.backend == backend and o.device == z.device


@pytest.mark.parametrize(
    "u, i", [("uint8", "int8"), ("uint16", "int8"), ("uint16", "int32"), ("uint32", "int16")]
)
def test_unsigned_with_signed_integer_tensors_promote_as_the_standard_says(backend, u, i):
    # torch refuses any promotion involving uint16, uint32 or uint64 ("not supported"); agrad
    # casts both to the standard's dtype first (uint16 with int8 is int32)
    x_np, y_np = np.array([1, 200], dtype=u), np.array([-3, 7], dtype=i)
    want = ag.result_type(getattr(ag, u), getattr(ag, i))
    x, y = ag.asarray(x_np, backend=backend), ag.asarray(y_np, backend=backend)
    wide = x_np.astype(np.int64), y_np.astype(np.int64)
    for op, ref in ((operator.add, np.add), (operator.mul, np.multiply), (ag.maximum, np.maximum)):
        for a, b, ra, rb in ((x, y, *wide), (y, x, *wide[::-1])):
            out = op(a, b)
            assert out.dtype == want
            np.testing.assert_array_equal(out.numpy(), ref(ra, rb))
    assert (x == y).numpy().tolist() == [False, False]
    cond = ag.asarray(np.array([True, False]), backend=backend)  # where's condition stays bool
    np.testing.assert_array_equal(ag.where(cond, x, y).numpy(), [1, 7])
    assert ag.where(cond, x, y).dtype == want


def test_uint64_and_signed_integer_tensors_do_not_promote(backend):
    # no integer dtype holds both: NumPy gave float64 (losing integers above 2**53), torch and
    # array-api-strict raised their own errors
    u = ag.asarray(np.array([1, 2], dtype=np.uint64), backend=backend)
    for dt in ("int8", "int64"):
        i = ag.asarray(np.array([1, 2], dtype=dt), backend=backend)
        pattern = (
            rf"^agrad\.(add|multiply|less): cannot combine uint64 and {dt} tensors: no integer "
            r"dtype holds both.*ag\.astype\(x, ag\.int64\)\."
        )
        for op, a, b in ((operator.add, u, i), (operator.mul, i, u), (operator.lt, u, i)):
            with pytest.raises(TypeError, match=pattern):
                op(a, b)  # (the operators: + * <)
    u8 = ag.asarray(np.array([1, 2], dtype=np.uint8), backend=backend)
    if backend != "torch":  # (torch promotes no uint16-uint64 with other dtypes at all)
        assert (u + u8).dtype == ag.uint64  # unsigned with unsigned: the standard's uint64


def test_tensors_of_different_kinds_do_not_promote(backend):
    f = ag.asarray(np.ones(2), backend=backend)
    i = ag.asarray(np.array([1, 2]), backend=backend)
    b = ag.asarray(np.array([True, False]), backend=backend)
    with pytest.raises(
        TypeError,
        match=r"agrad\.multiply: cannot combine float64 and int64 "
        r"tensors.*ag\.astype",
    ):
        f * i
    with pytest.raises(TypeError, match=r"agrad\.add: cannot combine int64 and bool"):
        i + b
    # within a kind the standard promotes: float32 with float64 gives float64
    f32 = ag.asarray(np.ones(2, dtype=np.float32), backend=backend)
    assert (f32 + f).dtype == ag.float64
    # where's condition is not promoted with its branches
    assert ag.where(b, f, f32).dtype == ag.float64


# ---- the NumPy namespace's own fast functions ---------------------------------------------------
@pytest.mark.parametrize("dtype", ["bool", "int8", "int64", "float16", "float32", "float64", "c16"])
@pytest.mark.parametrize(
    "kw", [{}, {"axis": 0}, {"axis": (0, 1), "keepdims": True}, {"axis": -1, "keepdims": True}]
)
def test_numpy_fast_reductions_match_numpy_bit_for_bit(dtype, kw):
    # agrad's NumPy namespace calls np.add.reduce (np.logical_or.reduce ...) where np.sum and
    # np.mean (np.any, np.all) add Python wrappers:
    # same values, same dtypes, for every dtype the standard has
    from agrad._backend import get_backend

    xp = get_backend("numpy").xp
    r = np.random.default_rng(1)
    a = (r.normal(size=(5, 7)) * 50).astype(np.dtype(dtype))
    for ours, theirs in ((xp.sum, np.sum), (xp.mean, np.mean), (xp.any, np.any), (xp.all, np.all)):
        if theirs is np.mean and a.dtype.kind == "b":
            continue
        got, want = np.asarray(ours(a, **kw)), np.asarray(theirs(a, **kw))
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    if a.dtype.kind != "c":
        assert np.asarray(xp.sum(a, dtype=np.float64)).dtype == np.float64
    for z in (a[:0], a[0, 0], a == a):  # empty, 0-d, bool
        for ours, theirs in ((xp.any, np.any), (xp.all, np.all)):
            got, want = (
                ours(z, **kw) if z.ndim == 2 else ours(z),
                theirs(z, **kw) if z.ndim == 2 else theirs(z),
            )
            assert np.asarray(got).dtype == np.asarray(want).dtype
            np.testing.assert_array_equal(got, want)


def test_numpy_fast_broadcast_to():
    from agrad._backend import _FILL_MAX, get_backend

    xp = get_backend("numpy").xp
    small = xp.broadcast_to(np.asarray([1.0, 2.0]), (3, 2))  # small: a filled array
    np.testing.assert_array_equal(small, [[1.0, 2.0]] * 3)
    assert small.dtype == np.float64 and small.flags.c_contiguous
    big = xp.broadcast_to(np.asarray(np.float32(3.0)), (_FILL_MAX + 1,))  # big: NumPy's view
    assert big.strides == (0,) and big.dtype == np.float32 and float(big[-1]) == 3.0
    with pytest.raises(ValueError):
        xp.broadcast_to(np.ones(3), (4, 2))
    scalar = xp.broadcast_to(np.float32(2.0), (2,))  # a NumPy scalar (g / n of a 0-d g)
    assert scalar.dtype == np.float32 and scalar.tolist() == [2.0, 2.0]
    assert scalar.flags.writeable  # filled, like an array's
    number = xp.broadcast_to(2, (2,))  # a Python number: NumPy's own broadcast_to
    assert number.dtype == np.asarray(2).dtype and number.tolist() == [2, 2]


def test_numpy_fast_reshape_matches_the_compat_layer():
    # agrad's NumPy namespace reshapes with the array's own method unless copy= is given:
    # views where array-api-compat's reshape gives views, copies where it copies, its errors
    import array_api_compat.numpy as compat

    from agrad._backend import get_backend

    xp = get_backend("numpy").xp
    base = np.arange(24.0).reshape(4, 6)
    for a, shape in ((base, (6, 4)), (base, (-1,)), (base.T, (24,)), (base[:, ::2], (3, 4))):
        for copy in (None, True):
            got, want = xp.reshape(a, shape, copy=copy), compat.reshape(a, shape, copy=copy)
            np.testing.assert_array_equal(got, want)
            assert got.shape == want.shape and got.dtype == want.dtype
            assert np.shares_memory(got, a) == np.shares_memory(want, a)
    assert np.shares_memory(xp.reshape(base, (24,), copy=False), base)  # a view, as asked
    with pytest.raises(ValueError, match="copy"):  # no view of a transposed array: as compat
        xp.reshape(base.T, (24,), copy=False)
    with pytest.raises(ValueError):  # NumPy's own error for a wrong size
        xp.reshape(base, (5, 5))
    scalar = xp.reshape(np.float32(2.0), (1, 1))  # a NumPy scalar (0-d results are some)
    assert scalar.shape == (1, 1) and scalar.dtype == np.float32


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint16", "int64", "float16", "float32", "c8"])
def test_numpy_fast_ones_and_likes_match_numpy(dtype):
    from agrad._backend import get_backend

    xp = get_backend("numpy").xp
    for shape in ((), (0,), 3, (2, 3)):
        got, want = xp.ones(shape, dtype=np.dtype(dtype), device="cpu"), np.ones(shape, dtype)
        assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous
        np.testing.assert_array_equal(got, want)
    assert xp.ones(2).dtype == np.float64  # the default dtype, as NumPy's
    with pytest.raises(ValueError):  # NumPy's own error for a bad shape
        xp.ones((-1,))
    base = np.arange(12).astype(dtype).reshape(3, 4)
    for like in (base, base.T, base[:, ::2], base[0, 0], np.float64(2.0)):  # layouts, 0-d, scalar
        for ours, theirs in ((xp.ones_like, np.ones_like), (xp.zeros_like, np.zeros_like)):
            for kw in ({}, {"dtype": np.float32}, {"device": "cpu"}):
                got, want = ours(like, **kw), theirs(like, **kw)
                assert type(got) is type(want) is np.ndarray
                assert got.dtype == want.dtype and got.strides == want.strides
                np.testing.assert_array_equal(got, want)


def test_resolved_backends_and_devices_are_remembered_by_type_too():
    from agrad._backend import _RESOLVED, resolve

    assert resolve(None, "cpu") is resolve(None, "cpu")  # remembered
    for _ in range(2):  # errors are raised every time, never remembered
        with pytest.raises(TypeError, match="cannot tell the backend of device True"):
            resolve(None, True)
        with pytest.raises(ValueError, match=r"device 'tpu' needs a backend"):
            resolve(None, "tpu")
    assert (None, True, bool) not in _RESOLVED
    # 1 == True, but the device's type is part of the key: device=True never gets device 1's
    _RESOLVED[None, 1, int] = "device 1's answer"
    try:
        with pytest.raises(TypeError, match="cannot tell the backend of device True"):
            resolve(None, True)
    finally:
        del _RESOLVED[None, 1, int]
    with pytest.raises(TypeError, match="cannot tell the backend of device"):
        resolve(None, ["unhashable"])  # answered without the memory


@pytest.mark.parametrize("dtype", [["float32"], "float33", 3])
def test_creation_names_a_bad_dtype(dtype):
    with pytest.raises(TypeError, match=r"agrad: .* is not a dtype; use ag\.float32"):
        ag.ones(2, dtype=dtype)
    for good in ("float32", ag.float32, np.float32, np.dtype("float32")):
        assert ag.zeros(2, dtype=good).dtype == ag.float32


def test_torch_same_dtype_fast_path_uses_torch_and_keeps_the_fixes():
    # two tensors of one dtype call torch's own function (the compat wrapper only fixes mixed
    # promotion); everything else, and the functions agrad corrects, go through the namespace
    torch = pytest.importorskip("torch")
    from agrad._backend import get_backend

    bk = get_backend("torch")
    assert bk.xp2.add is torch.add and bk.xp2.multiply is torch.multiply
    assert bk.xp.add is not torch.add  # the promoting wrapper, for mixed dtypes and scalars
    assert bk.xp2.remainder is bk.xp.remainder  # agrad's signed-zero fix stays
    a = ag.asarray([1.0, -2.0], dtype=ag.float32, backend="torch")
    b = ag.asarray(np.float64(3.0), backend="torch")  # 0-d float64: promotes, not cast down
    assert (a + b).dtype == ag.float64 and (a * a).dtype == ag.float32
    np.testing.assert_allclose((a - b).numpy(), [-2.0, -5.0])
    assert get_backend("numpy").xp2 is get_backend("numpy").xp


def test_a_backend_that_narrows_floating_data_is_an_error():
    from agrad._backend import _check_kept_dtype, get_backend

    bk = get_backend("numpy")
    with pytest.raises(
        TypeError,
        match=r"^agrad: the numpy backend would store this float64 data as float32; or ask for "
        r"float32 explicitly \(dtype=ag\.float32 in asarray, ag\.astype before to_device\)$",
    ):
        _check_kept_dtype(bk, np.ones(2), np.ones(2, dtype=np.float32))
    _check_kept_dtype(bk, np.arange(2), np.arange(2, dtype=np.int32))  # integers: the backend's
    _check_kept_dtype(bk, np.ones(2), np.ones(2))


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_jax_outside_its_64_bit_mode_refuses_to_narrow_float64_data():
    import jax

    was = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        hint = r"float64 data as float32; JAX keeps 64-bit dtypes only in its 64-bit mode"
        with pytest.raises(TypeError, match=hint):
            ag.asarray(np.ones(2), backend="jax")
        with pytest.raises(TypeError, match=hint):
            ag.to_device(ag.asarray(np.ones(2)), "cpu", backend="jax")
        assert ag.asarray(np.ones(2), dtype=ag.float32, backend="jax").dtype == ag.float32
        assert ag.asarray(np.arange(3), backend="jax").dtype == ag.int32  # JAX's own labels
    finally:
        jax.config.update("jax_enable_x64", was)


def test_torch_integer_division_by_zero_is_a_clear_error():
    pytest.importorskip("torch")
    x = ag.asarray([3, 4], backend="torch")
    zero = ag.asarray([0, 2], backend="torch")
    for expr, name in (
        (lambda: x // zero, "floor_divide"),
        (lambda: x % zero, "remainder"),
        (lambda: 7 // zero, "floor_divide"),
        (lambda: ag.remainder(x, 0), "remainder"),
    ):
        with pytest.raises(
            ZeroDivisionError,
            match=rf"^agrad\.{name}: integer division by zero on torch, which refuses it .*"
            r"keep zeros out of integer divisors",
        ):
            expr()
    np.testing.assert_array_equal((x // 2).numpy(), [1, 2])  # the rest is torch's own
    np.testing.assert_array_equal(ag.remainder(x, -3).numpy(), [-0, -2])

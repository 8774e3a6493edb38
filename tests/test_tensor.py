"""The Tensor object: attributes, conversions, repr, operators, detach/requires_grad_."""

from __future__ import annotations

import numpy as np
import pytest

import agrad as ag


def test_attributes(backend):
    x = ag.asarray(np.arange(6.0).reshape(2, 3), backend=backend, requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6
    assert x.dtype == ag.float64 and x.dtype == "float64"
    assert x.backend == backend
    assert x.is_leaf and x.requires_grad and x.grad is None
    assert (
        type(x.data).__module__.split(".")[0]
        == {
            "numpy": "numpy",
            "torch": "torch",
            "array_api_strict": "array_api_strict",
            "jax": "jaxlib",
            "cupy": "cupy",
        }[backend]
    )
    y = x * 2.0
    assert not y.is_leaf and y.requires_grad


def test_dtype_objects_are_shared_across_backends(backend):
    x = ag.asarray(np.ones(2, dtype=np.float32), backend=backend)
    assert x.dtype is ag.float32
    assert x.dtype == np.float32 and x.dtype != ag.float64


def test_transposes(backend):
    x = ag.asarray(np.arange(6.0).reshape(2, 3), backend=backend)
    np.testing.assert_array_equal(x.T.numpy(), np.arange(6.0).reshape(2, 3).T)
    b = ag.asarray(np.arange(24.0).reshape(2, 3, 4), backend=backend)
    assert b.mT.shape == (2, 4, 3)
    with pytest.raises(
        ValueError, match=r"Tensor.T needs a 2-D tensor, got shape \(2, 3, 4\).*\.mT"
    ):
        _ = b.T


def test_python_conversions(backend):
    x = ag.asarray(np.array([[2.5]]), backend=backend)
    assert float(x) == 2.5 and int(x) == 2 and bool(x) and complex(x) == 2.5 + 0j
    assert x.item() == 2.5 and isinstance(x.item(), float)
    i = ag.asarray(np.array([3]), backend=backend)
    assert [10, 20, 30, 40][i] == 40 and isinstance(i.item(), int)
    with pytest.raises(
        TypeError, match=r"float\(\) needs a tensor with one element, got shape \(2,\)"
    ):
        float(ag.asarray(np.ones(2), backend=backend))
    with pytest.raises(TypeError, match="only integer tensors can be used as an index"):
        [1, 2][x]


def test_numpy_is_an_explicit_host_copy(backend):
    x = ag.asarray(np.array([1.0, 2.0]), backend=backend)
    h = x.numpy()
    assert isinstance(h, np.ndarray)
    h[0] = 100.0
    assert float(x[0]) == 1.0


def test_implicit_numpy_conversion_refuses_tensors_requiring_grad():
    x = ag.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"requires grad.*t.detach\(\).numpy\(\) for its value"):
        np.asarray(x)
    # a library that converts to NumPy (scipy.special, for namespaces it does not know)
    with pytest.raises(TypeError, match=r"If a library converts it .* ag.custom_vjp"):
        np.exp(x)
    np.testing.assert_array_equal(np.asarray(x.detach()), [1.0, 2.0])


def test_repr_shows_backend_device_dtype_and_grad_state(backend):
    x = ag.asarray(np.array([1.0, 2.0]), backend=backend, requires_grad=True)
    r = repr(x)
    assert r.startswith("Tensor([1., 2.]") and f"backend='{backend}'" in r
    assert "dtype=float64" in r and "requires_grad=True" in r and "device=" in r
    assert "grad_fn=<exp>" in repr(ag.exp(x))
    assert "requires_grad" not in repr(ag.asarray(np.ones(1), backend=backend))


def test_repr_of_a_matrix_lines_up():
    r = repr(ag.asarray([[1.0, 2.0], [3.0, 4.0]]))
    assert r.splitlines()[1].startswith("        [3.")


def test_detach_and_requires_grad_(backend):
    x = ag.asarray(np.ones(2), backend=backend, requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.data is y.data
    z = ag.asarray(np.ones(2), backend=backend)
    assert z.requires_grad_() is z and z.requires_grad
    with pytest.raises(RuntimeError, match=r"non-leaf.*detach"):
        y.requires_grad_(False)


def test_grad_setter_checks_type():
    x = ag.asarray([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"\.grad must be a Tensor or None"):
        x.grad = [1.0]
    x.grad = None


def test_operators_match_functions(backend):
    a = ag.asarray(np.array([1.5, -2.0, 3.0]), backend=backend)
    b = ag.asarray(np.array([0.5, 4.0, -1.0]), backend=backend)
    an, bn = a.numpy(), b.numpy()
    pairs = [
        (a + b, an + bn),
        (a - b, an - bn),
        (a * b, an * bn),
        (a / b, an / bn),
        (a // b, an // bn),
        (a % b, an % bn),
        (abs(a) ** b, np.abs(an) ** bn),
        (-a, -an),
        (+a, an),
        (abs(a), np.abs(an)),
        (2.0 - a, 2.0 - an),
        (2.0 / b, 2.0 / bn),
        (2.0**b, 2.0**bn),
        (3 % b, 3 % bn),
        (a @ b, an @ bn),
    ]
    for got, want in pairs:
        np.testing.assert_allclose(got.numpy(), want)
    for got, want in [
        (a < b, an < bn),
        (a <= b, an <= bn),
        (a > b, an > bn),
        (a >= b, an >= bn),
        (a == b, an == bn),
        (a != b, an != bn),
    ]:
        assert got.dtype == ag.bool
        np.testing.assert_array_equal(got.numpy(), want)


def test_tensors_hash_by_identity():
    a = ag.asarray([1.0])
    b = ag.asarray([1.0])
    assert len({a, b, a}) == 2


def test_len_and_iteration(backend):
    x = ag.asarray(np.arange(6.0).reshape(3, 2), backend=backend)
    assert len(x) == 3
    assert [r.shape for r in x] == [(2,), (2,), (2,)]
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(ag.asarray(1.0))


def test_tensor_constructor_is_asarray():
    t = ag.Tensor([1.0, 2.0], requires_grad=True)
    assert isinstance(t, ag.Tensor) and t.requires_grad and t.backend == "numpy"


def test_array_namespace_is_agrad():
    assert ag.asarray([1.0]).__array_namespace__() is ag


def test_in_place_update_of_a_parameter_under_no_grad_keeps_the_leaf(backend):
    w = ag.asarray(np.array([1.0, 2.0]), backend=backend, requires_grad=True)
    ag.sum(w * w).backward()
    ident = id(w)
    with ag.no_grad():
        w -= 0.1 * w.grad
    assert id(w) == ident and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6])
    w.grad = None
    ag.sum(w * w).backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.6, 3.2])


def test_in_place_on_a_leaf_requiring_grad_while_recording_is_an_error(backend):
    w = ag.asarray(np.array([1.0]), backend=backend, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"leaf tensor that requires grad cannot be updated in "
        r"place \(x \+= y\).*ag.no_grad",
    ):
        w += 1.0


def test_in_place_on_intermediates_is_differentiable(backend):
    x = ag.asarray(np.array([1.0, 2.0]), backend=backend, requires_grad=True)
    h = x * 2.0
    saved = h
    h += x  # h = 3x
    h *= h  # h = 9x^2
    assert h is saved and not h.is_leaf
    ag.sum(h).backward()
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])


def test_in_place_keeps_shape_and_dtype(backend):
    a = ag.asarray(np.ones(2, dtype=np.float32), backend=backend)
    with pytest.raises(ValueError, match=r"change x's shape from \(2,\) to \(3, 2\)"):
        a += ag.ones((3, 2), dtype=ag.float32, backend=backend)
    with pytest.raises(TypeError, match="change x's dtype from float32 to float64"):
        a += ag.ones(2, dtype=ag.float64, backend=backend)
    a += 1.0
    np.testing.assert_array_equal(a.numpy(), [2.0, 2.0])


def test_setitem_is_differentiable_in_the_tensor_and_the_value(backend):
    x = ag.asarray(np.arange(6.0).reshape(2, 3), backend=backend, requires_grad=True)
    v = ag.asarray(np.array([10.0, 20.0]), backend=backend, requires_grad=True)
    h = x * 1.0
    h[:, 1] = v
    h[ag.asarray(np.array([0]), backend=backend), 2] = 7.0
    np.testing.assert_array_equal(h.numpy(), [[0.0, 10.0, 7.0], [3.0, 20.0, 5.0]])
    ag.sum(h * h).backward()
    # overwritten entries pass no gradient to x; the value gets d(sum h^2)/dh at its places
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0, 0.0], [6.0, 0.0, 10.0]])
    np.testing.assert_array_equal(v.grad.numpy(), [20.0, 40.0])


def test_setitem_with_a_mask_and_higher_order(backend):
    xn = np.array([0.5, -0.8, 2.0])
    x = ag.asarray(xn, backend=backend)

    def f(a):
        h = a * a
        h[h > 1.0] = 0.0
        return h * a

    assert ag.testing.gradcheck(f, x) and ag.testing.gradgradcheck(f, x)
    np.testing.assert_allclose(f(x).numpy(), np.where(xn**2 > 1, 0.0, xn**3))


def test_setitem_on_a_leaf_that_requires_grad(backend):
    w = ag.asarray(np.zeros(3), backend=backend, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"cannot be updated in place \(x\[key\] = v\).*no_grad"):
        w[0] = 1.0
    with ag.no_grad():
        w[0] = 1.0
    assert w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(w.numpy(), [1.0, 0.0, 0.0])


def test_setitem_leaves_earlier_saved_values_valid(backend):
    x = ag.asarray(np.array([1.0, 2.0]), backend=backend, requires_grad=True)
    h = x * 3.0
    y = ag.exp(h)  # saves exp(h) for its backward
    h[0] = 100.0  # later writes never touch the buffers a node saved
    ag.sum(y).backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * np.exp([3.0, 6.0]))


class TestUnseenUpdatesHappenInPlace:
    """On NumPy, an unrecorded x op= y writes x's own array when nothing else refers to it
    (an optimizer step allocates nothing); whenever anything could see the old value (a
    node that saved it, a tensor or view sharing it) the update rebinds as before."""

    def test_a_parameter_update_after_backward_writes_in_place(self):
        w = ag.asarray([1.0, 2.0], requires_grad=True)
        ag.sum(w * w).backward()
        before = id(w._data)
        with ag.no_grad():
            w -= 0.1 * w.grad
            w *= 2.0
            w += 1.0
        assert id(w._data) == before
        np.testing.assert_allclose(w.numpy(), [2.6, 4.2])
        assert w.requires_grad and w.is_leaf

    def test_a_saved_array_is_never_written(self):
        w = ag.asarray([1.0, 2.0], requires_grad=True)
        loss = ag.sum(w * w)  # the multiply node saved w's array
        with ag.no_grad():
            w -= 1.0
        np.testing.assert_allclose(w.numpy(), [0.0, 1.0])
        loss.backward()
        np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])  # from the old value

    def test_shared_arrays_and_views_are_never_written(self):
        w = ag.asarray([1.0, 2.0], requires_grad=True)
        d = w.detach()  # shares the array
        with ag.no_grad():
            w += 1.0
        np.testing.assert_allclose(d.numpy(), [1.0, 2.0])
        x = ag.asarray(np.arange(4.0))
        v = x[1:]  # a view of x's array
        x += 1.0
        np.testing.assert_allclose(v.numpy(), [1.0, 2.0, 3.0])
        np.testing.assert_allclose(x.numpy(), [1.0, 2.0, 3.0, 4.0])
        v += 1.0  # v does not own its data: rebinds, x unchanged
        np.testing.assert_allclose(x.numpy(), [1.0, 2.0, 3.0, 4.0])

    def test_the_callers_own_array_is_never_written(self):
        a = np.array([1.0, 2.0])
        w = ag.asarray(a, requires_grad=True)  # shares the caller's array, as np.asarray does
        with ag.no_grad():
            w -= 1.0
            w *= 2.0
        np.testing.assert_allclose(a, [1.0, 2.0])
        np.testing.assert_allclose(w.numpy(), [0.0, 2.0])

    def test_optimizer_state_snapshots_stay_snapshots(self):
        w = ag.asarray([1.0, -2.0], requires_grad=True)
        opt = ag.optim.Adam([w], lr=0.1)
        for _ in range(2):
            opt.zero_grad()
            ag.sum(w * w).backward()
            opt.step()
        snap = opt.state_dict()["state"][0]["exp_avg"].numpy().copy()
        held = opt.state_dict()
        opt.zero_grad()
        ag.sum(w * w).backward()
        opt.step()
        np.testing.assert_allclose(held["state"][0]["exp_avg"].numpy(), snap)

    def test_every_other_in_place_operator_still_works(self):
        x = ag.asarray([8.0, 6.0])
        x /= 2.0
        x **= 2.0
        x //= 3.0
        x %= 4.0
        np.testing.assert_allclose(x.numpy(), [1.0, 3.0])
        k = ag.asarray([5, 6])
        k += ag.asarray([1, 1])  # integers too
        k -= 1
        np.testing.assert_array_equal(k.numpy(), [5, 6])

    def test_broadcasting_dtype_and_kind_changes_still_rebind_or_refuse(self):
        x = ag.asarray(np.zeros((2, 3)))
        x += ag.asarray(np.ones(3))  # broadcasts into x's shape: fine
        np.testing.assert_allclose(x.numpy(), np.ones((2, 3)))
        y = ag.asarray(np.zeros(3), dtype=ag.float32)
        with pytest.raises(TypeError, match="would change x's dtype from float32 to float64"):
            y += ag.asarray(np.ones(3))
        z = ag.asarray(np.zeros(3))
        with pytest.raises(ValueError, match=r"would change x's shape from \(3,\) to \(2, 3\)"):
            z += ag.asarray(np.ones((2, 3)))

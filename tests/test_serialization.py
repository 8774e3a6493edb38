"""ag.save / ag.load: round trips, cross-backend loads, and clear errors on bad files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import agrad as ag
from agrad.serialization import load, save


def _state(backend):
    return {
        "w": ag.asarray([[1.5, -2.0], [0.25, 3.0]], dtype=ag.float32, backend=backend),
        "w64": ag.asarray([1.0, 2.0, 3.0], dtype=ag.float64, backend=backend, requires_grad=True),
        "idx": ag.asarray([0, 5, -7], dtype=ag.int64, backend=backend),
        "mask": ag.asarray([True, False, True], backend=backend),
        "scalar": ag.asarray(2.5, dtype=ag.float32, backend=backend),
        "empty": ag.zeros((0, 3), dtype=ag.float32, backend=backend),
        "step": 7,
        "lr": 1e-3,
        "flag": True,
        "name": "adam",
        "none": None,
        "z": 1 - 2j,
        "nested": {
            "layer": {"bias": ag.asarray([0.5], dtype=ag.float32, backend=backend)},
            "betas": [0.9, 0.999],
            "pair": (1, "x"),
            "tensors": [ag.asarray([1, 2], dtype=ag.int64, backend=backend)],
        },
    }


def _check_same(a, b):
    if isinstance(a, ag.Tensor):
        assert isinstance(b, ag.Tensor)
        assert b.dtype == a.dtype and b.shape == a.shape
        assert b.requires_grad == a.requires_grad
        np.testing.assert_array_equal(b.numpy(), a.numpy())
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(b) == list(a)
        for k in a:
            _check_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(b) is type(a) and len(b) == len(a)
        for u, v in zip(a, b):
            _check_same(u, v)
    else:
        assert type(b) is type(a) and b == a


def test_round_trip(backend, tmp_path):
    state = _state(backend)
    path = tmp_path / "state.npz"
    save(state, path)
    out = load(path, backend=backend)
    _check_same(state, out)
    for t in (out["w"], out["idx"], out["mask"], out["nested"]["layer"]["bias"]):
        assert t.backend == backend
    assert out["w64"].is_leaf and out["w64"].requires_grad


def test_default_load_is_numpy_cpu(backend, tmp_path):
    path = tmp_path / "s.npz"
    save(_state(backend), path)
    out = load(path)
    assert out["w"].backend == "numpy" and out["w"].device == "cpu"
    assert out["w"].dtype == ag.float32 and out["idx"].dtype == ag.int64
    assert out["mask"].dtype == ag.bool


@pytest.mark.parametrize("src", ["torch", "array_api_strict"])
def test_cross_backend(backend, src, tmp_path):
    pytest.importorskip(src)
    state = _state(src)
    save(state, tmp_path / "a.npz")
    on_target = load(tmp_path / "a.npz", backend=backend)
    _check_same(state, on_target)
    assert on_target["w"].backend == backend
    # and back again
    save(on_target, tmp_path / "b.npz")
    back = load(tmp_path / "b.npz", backend=src)
    _check_same(state, back)
    assert back["w"].backend == src


def test_path_kept_exactly_and_overwrite(tmp_path):
    path = tmp_path / "model.ckpt"  # no .npz appended
    save({"a": 1}, str(path))
    assert path.exists() and not (tmp_path / "model.ckpt.npz").exists()
    save({"a": 2}, path)
    assert load(path) == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt"]  # no temporary left


def test_saved_graph_tensor_loads_as_leaf(tmp_path):
    x = ag.asarray([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    save({"y": y}, tmp_path / "y.npz")
    out = load(tmp_path / "y.npz")["y"]
    assert out.is_leaf and out.requires_grad
    np.testing.assert_array_equal(out.numpy(), [3.0, 6.0])


def test_no_pickle_inside(tmp_path):
    save(_state("numpy"), tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz", allow_pickle=False) as npz:
        for k in npz.files:
            assert npz[k].dtype != object
        meta = json.loads(npz["__agrad__"].tobytes().decode())
    assert meta["format"] == "agrad-state" and meta["version"] == 1


def test_save_rejects_bad_values(tmp_path):
    with pytest.raises(TypeError, match="expected a dict"):
        save([1, 2], tmp_path / "x.npz")
    with pytest.raises(TypeError, match=r"cannot save ndarray at \['a'\]\['b'\]"):
        save({"a": {"b": np.zeros(2)}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match=r"dict keys must be str or int, got 1.5 \(float\)"):
        save({1.5: 2}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match=r"got True \(bool\) at \['a'\]"):
        save({"a": {True: 2}}, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


def test_missing_file(tmp_path):
    with pytest.raises(OSError, match="nope.npz"):
        load(tmp_path / "nope.npz")


def test_not_an_npz(tmp_path):
    p = tmp_path / "text.npz"
    p.write_text("hello, not an archive")
    with pytest.raises(ValueError, match=r"text\.npz.*not an agrad state file"):
        load(p)
    e = tmp_path / "empty.npz"
    e.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.npz.*not an agrad state file"):
        load(e)


def test_plain_npy_and_foreign_npz(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"a\.npy.*single \.npy array"):
        load(tmp_path / "a.npy")
    np.savez(tmp_path / "b.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match=r"b\.npz.*no '__agrad__' entry"):
        load(tmp_path / "b.npz")


def test_truncated_file(tmp_path):
    p = tmp_path / "s.npz"
    save(_state("numpy"), p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"s\.npz"):
        load(p)


def _rewrite(path, meta=None, drop=None, extra=None):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != drop}
    if meta is not None:
        arrays["__agrad__"] = np.frombuffer(meta.encode(), dtype=np.uint8)
    arrays.update(extra or {})
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_missing_array(tmp_path):
    p = tmp_path / "s.npz"
    save({"a": {"w": ag.ones(2)}}, p)
    _rewrite(p, drop="t0")
    with pytest.raises(ValueError, match=r"s\.npz.*'t0' it refers to is missing at \['a'\]\['w'\]"):
        load(p)


def test_bad_metadata(tmp_path):
    p = tmp_path / "s.npz"
    save({"w": ag.ones(2)}, p)
    _rewrite(p, meta="{not json")
    with pytest.raises(ValueError, match=r"s\.npz.*unreadable metadata"):
        load(p)
    _rewrite(p, meta=json.dumps({"format": "other", "version": 1, "tree": {}}))
    with pytest.raises(ValueError, match="has format 'other'"):
        load(p)
    _rewrite(p, meta=json.dumps({"format": "agrad-state", "version": 99, "tree": {}}))
    with pytest.raises(ValueError, match="format version 99"):
        load(p)
    _rewrite(p, meta=json.dumps({"format": "agrad-state", "version": 1, "tree": {"x": 1}}))
    with pytest.raises(ValueError, match="malformed entry"):
        load(p)
    tree = {"type": "dict", "items": [["w", {"type": "tensor", "key": "t0"}]]}
    _rewrite(p, meta=json.dumps({"format": "agrad-state", "version": 1, "tree": tree}))
    with pytest.raises(ValueError, match=r"malformed tensor entry.*at \['w'\]"):
        load(p)


def test_shape_or_dtype_mismatch(tmp_path):
    p = tmp_path / "s.npz"
    save({"w": ag.ones(2, dtype=ag.float32)}, p)
    _rewrite(p, extra={"t0": np.zeros(3, dtype=np.float32)})
    with pytest.raises(ValueError, match=r"float32 of shape \(3,\), the metadata says float32"):
        load(p)


def test_corrupt_member(tmp_path):
    p = tmp_path / "s.npz"
    tree = {
        "type": "dict",
        "items": [
            [
                "w",
                {
                    "type": "tensor",
                    "key": "t0",
                    "dtype": "float64",
                    "shape": [2],
                    "requires_grad": False,
                },
            ]
        ],
    }
    meta = json.dumps({"format": "agrad-state", "version": 1, "tree": tree}).encode()
    buf = tmp_path / "meta.npy"
    np.save(buf, np.frombuffer(meta, dtype=np.uint8))
    with zipfile.ZipFile(p, "w") as z:
        z.write(buf, "__agrad__.npy")
        z.writestr("t0.npy", b"garbage, not a .npy member")
    with pytest.raises(ValueError, match=r"s\.npz.*'t0' is not a \.npy array at \['w'\]"):
        load(p)
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("__agrad__.npy", b"garbage")
    with pytest.raises(ValueError, match=r"s\.npz.*unreadable metadata"):
        load(p)


def _train(model, opt, X, y, steps):
    for _ in range(steps):
        loss = ag.nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss)


def test_resume_training_on_another_backend(backend, tmp_path):
    """Save a model and its Adam state on NumPy, resume on `backend`: the same trajectory."""

    def make(where):
        rng = ag.random.default_rng(0)  # the same weights on NumPy, moved afterwards
        model = ag.nn.Sequential(
            ag.nn.Linear(4, 8, rng=rng, dtype=ag.float64),
            ag.nn.Tanh(),
            ag.nn.Linear(8, 3, rng=rng, dtype=ag.float64),
        ).to_device(ag.asarray(0, backend=where).device, backend=where)
        return model, ag.optim.Adam(model.parameters(), lr=0.05)

    X = np.random.default_rng(1).normal(size=(16, 4))
    y = np.arange(16) % 3
    model, opt = make("numpy")
    _train(model, opt, ag.asarray(X), ag.asarray(y), steps=3)
    save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ckpt.npz")
    want = _train(model, opt, ag.asarray(X), ag.asarray(y), steps=3)

    state = load(tmp_path / "ckpt.npz", backend=backend)
    assert sorted(state["opt"]["state"]) == [0, 1, 2, 3]  # int keys survive the round trip
    resumed, opt2 = make(backend)
    resumed.load_state_dict(state["model"])
    opt2.load_state_dict(state["opt"])
    got = _train(resumed, opt2, ag.asarray(X, backend=backend), ag.asarray(y, backend=backend), 3)
    assert got == pytest.approx(want, rel=1e-12)
    for (name, p), q in zip(model.named_parameters(), resumed.parameters()):
        assert q.backend == backend, name
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-12, err_msg=name)

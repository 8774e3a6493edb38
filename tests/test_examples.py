"""The examples: XOR's gradients against hand-derived backprop, and the scripts end to end."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import agrad as ag

ROOT = pathlib.Path(__file__).resolve().parents[1]
XOR_PATH = ROOT / "examples" / "xor.py"

X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
Y_XOR = np.array([[0], [1], [1], [0]], dtype=np.float64)


def _load_xor():
    spec = importlib.util.spec_from_file_location("agrad_example_xor", XOR_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def xor():
    return _load_xor()


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _with_bias(a):
    return np.concatenate([a, np.ones((a.shape[0], 1))], axis=1)


def backprop(X, y, theta1, theta2, *, mistake=None):
    """Forward pass and the textbook backprop of the mean cross-entropy, in NumPy.

    ``mistake`` plants one classic error, to show the comparison below can fail.
    """
    m = X.shape[0]
    L1 = _with_bias(X)
    L2 = _with_bias(_sigmoid(L1 @ theta1))
    L3 = _sigmoid(L2 @ theta2)
    d3 = L3 - y  # δ3: sigmoid output + cross-entropy
    g2 = L2.T @ d3 / m  # ∂C/∂θ2
    if mistake == "no_sigmoid_derivative":
        d2 = (d3 @ theta2.T)[:, :-1]
    elif mistake == "keep_bias_drop_first":
        d2 = ((d3 @ theta2.T) * L2 * (1 - L2))[:, 1:]
    else:
        d2 = ((d3 @ theta2.T) * L2 * (1 - L2))[:, :-1]  # δ2, bias column dropped
    g1 = L1.T @ d2 / m  # ∂C/∂θ1
    if mistake == "no_mean":
        g1, g2 = g1 * m, g2 * m
    return L2, L3, g1, g2


def _agrad_grads(xor, backend, theta1, theta2):
    X = ag.asarray(X_XOR, dtype=ag.float64, backend=backend)
    y = ag.asarray(Y_XOR, dtype=ag.float64, backend=backend)
    t1 = ag.asarray(theta1, dtype=ag.float64, backend=backend, requires_grad=True)
    t2 = ag.asarray(theta2, dtype=ag.float64, backend=backend, requires_grad=True)
    L2, L3 = xor.forward(X, t1, t2)
    C = xor.cost(L3, y)
    C.backward()
    return C, L2, L3, t1.grad, t2.grad


def test_xor_gradients_match_hand_backprop(xor, backend, rng):
    theta1 = rng.normal(size=(3, 2))
    theta2 = rng.normal(size=(3, 1))
    C, L2, L3, g1, g2 = _agrad_grads(xor, backend, theta1, theta2)

    L2_ref, L3_ref, g1_ref, g2_ref = backprop(X_XOR, Y_XOR, theta1, theta2)
    C_ref = np.mean(-Y_XOR * np.log(L3_ref) - (1 - Y_XOR) * np.log(1 - L3_ref))

    for t in (C, L2, L3, g1, g2):
        assert t.backend == backend
        assert t.dtype == ag.float64
    assert g1.shape == (3, 2) and g2.shape == (3, 1)
    np.testing.assert_allclose(float(C), C_ref, rtol=1e-12)
    np.testing.assert_allclose(L2.numpy(), L2_ref, rtol=1e-12)
    np.testing.assert_allclose(L3.numpy(), L3_ref, rtol=1e-12)
    np.testing.assert_allclose(g2.numpy(), g2_ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g1.numpy(), g1_ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("mistake", ["no_sigmoid_derivative", "keep_bias_drop_first", "no_mean"])
def test_xor_gradient_check_catches_a_wrong_formula(xor, rng, mistake):
    """The comparison above is sharp enough to reject each classic backprop mistake."""
    theta1 = rng.normal(size=(3, 2))
    theta2 = rng.normal(size=(3, 1))
    _, _, _, g1, g2 = _agrad_grads(xor, "numpy", theta1, theta2)
    _, _, g1_bad, g2_bad = backprop(X_XOR, Y_XOR, theta1, theta2, mistake=mistake)
    close = np.allclose(g1.numpy(), g1_bad, rtol=1e-10, atol=1e-14) and np.allclose(
        g2.numpy(), g2_bad, rtol=1e-10, atol=1e-14
    )
    assert not close, f"a backprop with mistake {mistake!r} was not told apart"


def _run_script(path, *args, timeout=300, cwd=ROOT, env_extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )  # agrad importable from a checkout that was not pip-installed
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, str(path), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_xor_script_solves_xor_with_defaults():
    res = _run_script(XOR_PATH)
    assert res.returncode == 0, res.stdout + res.stderr
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith("solved XOR in "), res.stdout
    assert last.endswith("predictions [0 1 1 0]"), res.stdout
    assert "backend numpy" in res.stdout


def test_xor_script_reports_failure_with_nonzero_exit():
    res = _run_script(XOR_PATH, "--steps", "3")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "not solved after 3 steps" in res.stdout


def test_xor_script_smoke_on_array_api_strict():
    pytest.importorskip("array_api_strict")
    res = _run_script(XOR_PATH, "--backend", "array_api_strict", "--smoke")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "backend array_api_strict" in res.stdout
    assert "XOR in" in res.stdout or "not solved after" in res.stdout


def test_overhead_benchmark_smoke(tmp_path):
    """benchmarks/overhead.py runs, checks every contender's gradient and writes its JSON."""
    out = tmp_path / "overhead.json"
    res = _run_script(ROOT / "benchmarks" / "overhead.py", "--smoke", "--json", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "all gradients agree" in res.stdout
    data = json.loads(out.read_text())
    names = [r["contender"] for r in data["results"]]
    assert names[:2] == ["numpy by hand", "agrad / numpy"]
    assert all(r["us_per_op"] > 0 for r in data["results"])


DIGITS = {"digits_mlp": 0.97, "digits_cnn": 0.98}  # the accuracy each must reach (issue #4)


def _accuracy(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("test accuracy: ")]
    assert lines, stdout
    return float(lines[-1].removeprefix("test accuracy: ").removesuffix("%")) / 100


@pytest.mark.parametrize("name", sorted(DIGITS))
def test_digits_example_reaches_its_accuracy(name):
    """The full default run (numpy, seed 0) reaches the accuracy the README promises."""
    res = _run_script(ROOT / "examples" / f"{name}.py")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _accuracy(res.stdout) >= DIGITS[name], res.stdout


@pytest.mark.parametrize("name", sorted(DIGITS))
def test_digits_example_smoke_writes_the_plot(name, tmp_path):
    png = tmp_path / "curves.png"
    res = _run_script(
        ROOT / "examples" / f"{name}.py", "--smoke", "--backend", "array_api_strict", "--plot", png
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "backend array_api_strict" in res.stdout
    assert 0.0 <= _accuracy(res.stdout) <= 1.0
    if importlib.util.find_spec("matplotlib") is None:
        assert "--plot needs matplotlib: pip install -e '.[examples]'" in res.stdout
    else:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

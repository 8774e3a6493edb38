"""examples/newton.py: Newton-CG on Hessian-vector products against gradient descent."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest
from test_examples import ROOT, _run_script

import agrad as ag
from agrad.autodiff import hessian

NEWTON = ROOT / "examples" / "newton.py"
RESULT = re.compile(r"^(Newton-CG|gradient descent):\s+(\d+) iterations .* loss ([0-9.]+) ")


@pytest.fixture(scope="module")
def newton():
    spec = importlib.util.spec_from_file_location("agrad_example_newton", NEWTON)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _results(stdout):
    found = {}
    for line in stdout.splitlines():
        m = RESULT.match(line)
        if m:
            found[m[1]] = (int(m[2]), float(m[3]))
    assert set(found) == {"Newton-CG", "gradient descent"}, stdout
    return found


@pytest.mark.parametrize("name", ["numpy", "array_api_strict"])
def test_smoke_run(name):
    """What CI runs: ``python examples/newton.py --backend B --smoke``."""
    pytest.importorskip(name)
    res = _run_script(NEWTON, "--backend", name, "--smoke", timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"backend {name}" in res.stdout
    _results(res.stdout)


def test_full_run_finds_one_optimum_newton_in_far_fewer_iterations():
    res = _run_script(NEWTON, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    found = _results(res.stdout)
    (it_newton, loss_newton), (it_gd, loss_gd) = found["Newton-CG"], found["gradient descent"]
    assert abs(loss_newton - loss_gd) <= 1e-6, res.stdout
    assert it_newton <= 15 and it_gd >= 20 * it_newton, res.stdout
    assert "same optimum" in res.stdout
    accuracy = re.findall(r"test accuracy ([0-9.]+)%", res.stdout)
    assert len(accuracy) == 2 and all(float(a) >= 95.0 for a in accuracy), res.stdout


def test_non_convergence_exits_nonzero():
    res = _run_script(NEWTON, "--epochs", "2", timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "not converged to one optimum" in res.stdout


def test_cg_and_power_iteration_agree_with_the_explicit_hessian(newton, backend, rng):
    X = ag.asarray(rng.normal(size=(40, 5)), backend=backend)
    y = ag.asarray((rng.normal(size=40) > 0).astype(np.float64), backend=backend)
    loss = newton.make_loss(X, y, 0.1)
    theta = ag.asarray(0.3 * rng.normal(size=5), backend=backend)
    H = hessian(loss)(theta).numpy()
    g = ag.grad(loss)(theta)
    d, _ = newton.conjugate_gradient(loss, theta, g, tol=1e-12, max_iter=50)
    np.testing.assert_allclose(d.numpy(), np.linalg.solve(H, -g.numpy()), rtol=1e-8)
    lam = newton.largest_curvature(loss, theta, iters=200)
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(H)[-1], rtol=1e-6)

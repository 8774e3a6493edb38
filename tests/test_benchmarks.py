"""benchmarks/suite.py in its smoke mode: every scenario runs, checks its gradients against the
hand-written baseline and writes valid JSON. Nothing about time is asserted (CI machines are
noisy); the figures are in benchmarks/README.md."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from test_examples import ROOT, _run_script

SUITE = ROOT / "benchmarks" / "suite.py"
SCENARIOS = "ABCDEF"
PEERS = ("torch", "autograd", "mygrad")

# Run in the child through sitecustomize: the peers look uninstalled (find_spec() is None and
# importing them raises ModuleNotFoundError), whatever this environment has.
HIDE_PEERS = f"""
import importlib.machinery
import sys

HIDDEN = {set(PEERS)!r}


class _HidePeers(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            return None
        return super().find_spec(name, path, target)


sys.meta_path[:] = [
    _HidePeers if f is importlib.machinery.PathFinder else f for f in sys.meta_path
]
"""


def _smoke(tmp_path, *args, env_extra=None):
    out = tmp_path / "suite.json"
    res = _run_script(SUITE, "--smoke", "--json", str(out), *args, env_extra=env_extra)
    assert res.returncode == 0, res.stdout + res.stderr
    return res, json.loads(out.read_text())


def _contenders(data, letter):
    scenario = data["scenarios"][letter]
    return [r["contender"] for r in scenario.get("rows", scenario.get("memory_rows"))]


def _check_report(res, data, letters):
    assert "Summary: the issue's targets" in res.stdout
    assert data["benchmark"] == "suite"
    assert list(data["scenarios"]) == list(letters)
    for letter in letters:
        scenario = data["scenarios"][letter]
        rows = scenario.get("rows", scenario.get("memory_rows"))
        assert rows[0]["role"] == "baseline", letter
        assert any(r["role"] == "agrad" for r in rows), letter
        assert scenario["targets"], letter
        for t in scenario["targets"]:
            assert t["met"] in (True, False, None), t
        if "rows" in scenario:  # timed: the gradients were checked, every contender timed
            assert scenario["max_rel_diff"] >= 0.0
            assert rows[0]["ratio"] == pytest.approx(1.0)
            assert all(r["median"] > 0 and r["min"] > 0 for r in rows), letter
        else:  # E: memory
            assert all(r["step_peak"] > 0 for r in rows)
    assert {t["scenario"] for t in data["targets"]} == set(letters)


def test_suite_smoke_runs_every_scenario(tmp_path):
    res, data = _smoke(tmp_path)
    _check_report(res, data, SCENARIOS)
    assert _contenders(data, "A")[:2] == ["numpy by hand", "agrad / numpy"]
    assert "minimal tape (no checks)" in _contenders(data, "D")  # D's floor, checked like a peer
    assert "checked tape (agrad's architecture)" in _contenders(data, "D")  # the other yardstick
    big = data["scenarios"]["C"]["big_rows"]
    assert [r["contender"] for r in big] == ["numpy by hand", "agrad / numpy"]
    assert all(r["completed"] for r in big)
    assert data["scenarios"]["B"]["blas_peak"][0]["gflops"] > 0


def test_suite_smoke_without_any_peer_installed(tmp_path):
    """torch, autograd and MyGrad missing: their rows are skipped with a note, never an error."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(HIDE_PEERS)
    pythonpath = os.pathsep.join([str(hide), str(ROOT)])
    res, data = _smoke(tmp_path, env_extra={"PYTHONPATH": pythonpath})
    _check_report(res, data, SCENARIOS)
    for peer in PEERS:
        assert f"note: {peer} not available" in res.stdout, res.stdout
    for letter in SCENARIOS:
        names = " ".join(_contenders(data, letter))
        assert not any(peer in names for peer in PEERS), (letter, names)
    by_target = {t["target"]: t for t in data["targets"]}
    assert by_target["agrad <= 1.2x torch"]["met"] is None  # F: nothing to compare with
    assert by_target["agrad faster than torch and less peak memory"]["met"] is None


def test_suite_selects_scenarios_and_peers(tmp_path):
    res, data = _smoke(tmp_path, "--scenario", "d,A", "--peers", "none", "--no-extra")
    _check_report(res, data, "AD")
    assert _contenders(data, "A") == ["numpy by hand", "agrad / numpy"]
    # D also runs the network with agrad's fused sigmoid and cross-entropy (not a backend row)
    assert _contenders(data, "D") == ["numpy by hand", "agrad / numpy", "agrad / numpy, fused ops"]
    assert "note: torch skipped (not in --peers)" in res.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scenario", "Z"], "--scenario takes letters from A,B,C,D,E,F"),
        (["--peers", "jax"], "--peers takes names from torch,autograd,mygrad"),
        (["--repeats", "0"], "--repeats must be at least 1"),
    ],
)
def test_suite_rejects_bad_arguments(args, message):
    res = _run_script(SUITE, *args)
    assert res.returncode == 2
    assert message in res.stderr


def test_suite_on_cuda_without_a_device_says_what_is_missing():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            pytest.skip("a CUDA device is present")
    except Exception:
        pass
    res = _run_script(SUITE, "--device", "cuda", "--smoke", "--scenario", "A")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "suite.py: --device cuda" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="compiled_core.sh needs bash")
def test_compiled_core_run_says_what_it_needs(tmp_path):
    """benchmarks/compiled_core.sh without a C compiler on PATH stops at once and says so
    (the script itself builds the compiled core and runs the suite: it is run by hand)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to(shutil.which("dirname"))  # all the script runs first
    r = subprocess.run(
        [shutil.which("bash"), str(ROOT / "benchmarks" / "compiled_core.sh")],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "compiled_core.sh: needs a C compiler (cc or gcc)" in r.stderr

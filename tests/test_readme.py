"""The README stays true: its quickstart runs as written (the CUDA line only with a GPU)."""

from __future__ import annotations

import importlib.util
import pathlib

from conftest import _cuda_available

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_quickstart_runs():
    text = README.read_text(encoding="utf-8")
    block = text.split("## Quickstart", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    # lines for optional backends run where those are installed (the CUDA one on a GPU)
    if not _cuda_available():
        lines = [line for line in lines if 'device="cuda' not in line]
    for name in ("torch", "array_api_strict"):
        if importlib.util.find_spec(name) is None:
            lines = [line for line in lines if f'backend="{name}"' not in line]
    namespace: dict = {}
    exec(compile("\n".join(lines), str(README), "exec"), namespace)
    assert namespace["x"].grad.shape == (2, 2)


def test_readme_names_the_two_commands_that_ci_runs():
    text = README.read_text(encoding="utf-8")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    for cmd in (
        'pip install -e ".[test]" && python -m pytest',
        "pip install -e . && python examples/xor.py",
    ):
        assert cmd in text and cmd in ci


def test_training_section_runs(tmp_path, monkeypatch):
    """The 'Training a model' block trains, saves, and resumes on torch (numpy without torch)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## Training a model", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    if importlib.util.find_spec("torch") is None:
        block = block.replace('backend="torch"', 'backend="numpy"').replace(
            'model.to_device("cpu", backend="numpy")', "pass"
        )
    monkeypatch.chdir(tmp_path)  # it writes digits.npz
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    assert float(namespace["acc"]) >= 0.95
    assert (tmp_path / "digits.npz").exists()
    expected = "torch" if importlib.util.find_spec("torch") else "numpy"
    assert all(p.backend == expected for p in namespace["model"].parameters())

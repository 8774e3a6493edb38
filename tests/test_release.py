"""What a release checks before anything is published (ci/release.sh, ci/check_install.py).

The release builds run on GitHub (.github/workflows/release.yml); these tests keep their checks
able to fail: ``check_install.py`` refuses the source tree, the wrong kind of package and a
version that pyproject.toml and ``agrad.__version__`` disagree on; ``release.sh check-tag``
refuses a tag or a file of another version. (``ci/compiled.sh``, in .ci/run, runs
``check_install.py --compiled`` on a real compiled install.)
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import agrad as ag

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECK = ROOT / "ci" / "check_install.py"


def run(args, cwd, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(env_extra or {})
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def fake_install(site: pathlib.Path, version: str) -> pathlib.Path:
    """The checkout's pure-Python package copied into ``site`` with a distribution's metadata
    of ``version``: an install as pip makes one, as far as the checks look."""
    shutil.copytree(
        ROOT / "agrad", site / "agrad", ignore=shutil.ignore_patterns("__pycache__", "*.so")
    )
    info = site / f"agrad-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: agrad\nVersion: {version}\n", encoding="utf-8"
    )
    return site


def check_only(kind: str, site, cwd):
    """``check_install.check`` alone (not the test run it starts) on the install in ``site``."""
    code = f"import check_install; check_install.check({kind == 'compiled'}); print('checked')"
    path = os.pathsep.join([str(site), str(ROOT / "ci")])
    return run([sys.executable, "-c", code], cwd, {"PYTHONPATH": path})


def test_check_install_accepts_a_pure_install(tmp_path):
    site = fake_install(tmp_path / "site", ag.__version__)
    r = check_only("pure", site, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"::: agrad {ag.__version__}, pure Python, from {site / 'agrad'}" in r.stdout
    assert r.stdout.rstrip().endswith("checked")


@pytest.mark.parametrize(
    "kind,version,message",
    [
        (  # a pure install where the compiled one was built
            "compiled",
            None,
            "agrad at {init} is not the compiled package (agrad.COMPILED is False)",
        ),
        (  # pyproject.toml's version and agrad.__version__ disagree
            "pure",
            "9.9.9",
            "agrad.__version__ is {v}, the installed distribution's 9.9.9: pyproject.toml and "
            "agrad/__init__.py disagree",
        ),
    ],
)
def test_check_install_refuses(tmp_path, kind, version, message):
    site = fake_install(tmp_path / "site", version or ag.__version__)
    r = check_only(kind, site, tmp_path)
    assert r.returncode == 1
    init = site / "agrad" / "__init__.py"
    assert "ci/check_install.py: " + message.format(init=init, v=ag.__version__) in r.stderr


def test_check_install_never_takes_the_checkout_for_the_install(tmp_path):
    """The sources must never stand in for the install, not even when PYTHONPATH names them:
    the check looks past them. What it finds depends on how this suite's agrad is installed:
    an editable install is the checkout (refused), the compiled core is not pure (refused),
    a pure wheel's install passes."""
    where = pathlib.Path(ag.__file__).resolve().parent  # this suite's agrad, to be found too
    r = check_only("pure", os.pathsep.join([str(ROOT), str(where.parent)]), tmp_path)
    if ROOT in where.parents:
        assert r.returncode == 1, r.stdout + r.stderr
        assert "ci/check_install.py: agrad imported from the checkout (" in r.stderr
    elif ag.COMPILED:
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"ci/check_install.py: agrad at {where / '__init__.py'} is not the pure" in r.stderr
    else:
        assert r.returncode == 0, r.stdout + r.stderr
        assert f", pure Python, from {where}" in r.stdout


def test_check_install_says_how_to_call_it(tmp_path):
    r = run([sys.executable, str(CHECK)], tmp_path)
    assert r.returncode == 2
    assert "python ci/check_install.py --compiled [PYTEST ARGS...]" in r.stderr


bash = pytest.mark.skipif(shutil.which("bash") is None, reason="ci/release.sh needs bash")


def release(*args):
    env = {"PATH": os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ["PATH"]])}
    return run(["bash", str(ROOT / "ci" / "release.sh"), *args], ROOT, env)


@bash
def test_check_tag_accepts_the_version_of_every_file():
    v = ag.__version__
    r = release("check-tag", f"v{v}", f"dist/agrad-{v}.tar.gz", f"x/agrad-{v}-py3-none-any.whl")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"::: 2 files, all version {v} (tag v{v})" in r.stdout


@bash
def test_check_tag_refuses_another_version():
    v = ag.__version__
    r = release("check-tag", "v9.9.9", f"dist/agrad-{v}.tar.gz")
    assert r.returncode == 1
    assert f"ci/release.sh: tag v9.9.9 does not name pyproject.toml's version {v}" in r.stderr
    r = release("check-tag", f"v{v}", f"dist/agrad-{v}.tar.gz", "dist/agrad-9.9.9-py3-none-any.whl")
    assert r.returncode == 1
    assert f"ci/release.sh: agrad-9.9.9-py3-none-any.whl is not version {v}" in r.stderr


@bash
def test_release_says_how_to_call_it():
    r = release("publish")
    assert r.returncode == 2
    assert "ci/release.sh check-tag TAG FILE..." in r.stderr

"""Check the installed agrad, then run the test suite on it.

    python ci/check_install.py --compiled [PYTEST ARGS...]   # the AGRAD_COMPILE=1 build
    python ci/check_install.py --pure [PYTEST ARGS...]       # the pure-Python package

Used by ``ci/compiled.sh`` (the compiled core built into a virtualenv), by the release's wheel
builds (cibuildwheel's test command: every compiled wheel, on every platform it is built for)
and by ``ci/release.sh`` (the pure wheel and the sdist). It stops, naming what it found, when
agrad is imported from anywhere but an install (the source tree would stand in for it), or is
not the kind asked for: every module the compiled core compiles must then be an extension
module. The tests run from this checkout's ``tests/`` against the installed package; the
AGRAD_TEST_BACKENDS variable chooses backends, as for ``ci/test.sh``. Written in Python, not
shell, so that it runs the same on Windows.
"""

from __future__ import annotations

import ast
import glob
import importlib
import importlib.machinery
import importlib.metadata
import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


def compiled_modules() -> list[str]:
    """The modules setup.py compiles, as import names: its COMPILED list, evaluated here."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    value = next(
        n.value
        for n in tree.body
        if isinstance(n, ast.Assign) and [t.id for t in n.targets] == ["COMPILED"]
    )
    here = os.getcwd()
    os.chdir(REPO)  # (its paths are the checkout's, relative)
    try:
        paths = eval(compile(ast.Expression(value), "setup.py", "eval"), {"glob": glob})
    finally:
        os.chdir(here)
    return [p[: -len(".py")].replace(os.sep, ".").replace("/", ".") for p in paths]


def check(expect_compiled: bool) -> None:
    sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != REPO]
    import agrad

    where = pathlib.Path(agrad.__file__).resolve()
    if REPO in where.parents:
        raise SystemExit(f"ci/check_install.py: agrad imported from the checkout ({where})")
    kind = "compiled" if expect_compiled else "pure Python"
    if agrad.COMPILED != expect_compiled:
        raise SystemExit(
            f"ci/check_install.py: agrad at {where} is not the {kind} package "
            f"(agrad.COMPILED is {agrad.COMPILED})"
        )
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    for name in compiled_modules():
        f = importlib.import_module(name).__file__ or ""
        if f.endswith(suffixes) != expect_compiled:
            raise SystemExit(f"ci/check_install.py: {name} is {f}, in the {kind} package")
    meta = importlib.metadata.version("agrad")
    if meta != agrad.__version__:
        raise SystemExit(
            f"ci/check_install.py: agrad.__version__ is {agrad.__version__}, the installed "
            f"distribution's {meta}: pyproject.toml and agrad/__init__.py disagree"
        )
    print(f"::: agrad {meta}, {kind}, from {where.parent}", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("--compiled", "--pure"):
        print(__doc__, file=sys.stderr)
        return 2
    check(argv[0] == "--compiled")
    import pytest

    os.chdir(REPO / "tests")  # (not the root: `python -m` and pytest's rootdir insert it)
    backends = os.environ.get("AGRAD_TEST_BACKENDS") or "every installed backend"
    print(f"::: pytest on {backends}", flush=True)
    # test paths are the checkout's (relative to its root, as for ci/test.sh); none: tests/
    extra = [str(REPO / a) if (REPO / a.split("::")[0]).exists() else a for a in argv[1:]]
    paths = [] if any(a.startswith(str(REPO)) for a in extra) else [str(REPO / "tests")]
    args = ["-q", "-p", "no:cacheprovider", "--rootdir", str(REPO)]
    return int(pytest.main([*args, "-c", str(REPO / "pyproject.toml"), *paths, *extra]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

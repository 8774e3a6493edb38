"""The compiled core's contract: the same source, compiled or not (README, "A compiled core").

``ci/compiled.sh`` runs the whole suite on an ``AGRAD_COMPILE=1`` install; these tests keep the
declarations Cython reads in step with the Python they describe, and check the build's rules.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import re
import sys
import types

import pytest

import agrad as ag
from agrad import _backend, _cython, _op, _tape, _tensor

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = pathlib.Path(_op.__file__).resolve().parent


def pxd_fields(name: str, cls: str) -> set[str]:
    """The fields ``agrad/<name>.pxd`` declares for ``cdef class <cls>``."""
    text = (PACKAGE / f"{name}.pxd").read_text(encoding="utf-8")
    body = text.split(f"cdef class {cls}:", 1)[1]
    fields = set()
    for line in body.splitlines()[1:]:
        if line and not line.startswith(" "):
            break
        m = re.match(r"\s+cdef (?:public )?\w+ (.+)$", line)
        if m:
            fields.update(f.strip() for f in m.group(1).split(","))
    return fields


@pytest.mark.parametrize(
    "name,cls,slots",
    [
        ("_tensor", "_TensorBase", _tensor._TensorBase.__slots__),
        ("_tape", "Node", _tape.Node.__slots__),
        ("_backend", "Backend", _backend.Backend.__slots__),
        ("_op", "_PrimitiveBase", _op._PrimitiveBase.__slots__),
    ],
)
def test_the_pxd_declares_every_slot_and_nothing_else(name, cls, slots):
    assert pxd_fields(name, cls) == set(slots)
    if ag.COMPILED:  # and the extension type has exactly those fields
        ext = getattr(importlib.import_module(f"agrad.{name}"), cls)
        fields = {
            k
            for k, v in vars(ext).items()
            if type(v).__name__ in ("getset_descriptor", "member_descriptor")
        }
        assert fields == set(slots) - {"__weakref__"}


def test_the_subclasses_add_no_fields():
    """Tensor, nn.Parameter and the CuPy backend add methods only: compiled, their instances
    are the extension types' layout, and ``__class__`` can move between them (Primitive adds
    a ``__dict__``, for ``functools.wraps`` and ``custom_vjp``'s own attributes)."""
    assert ag.Tensor.__slots__ == ()
    assert ag.nn.Parameter.__slots__ == ()
    assert _backend._CupyBackend.__slots__ == ()
    assert _op.Primitive.__slots__ == ("__wrapped__", "__dict__")  # functools.wraps, custom_vjp


def test_compiled_says_which_core_runs():
    assert ag.COMPILED is _op.COMPILED
    compiled_file = not _op.__file__.endswith(".py")
    assert ag.COMPILED is compiled_file


def test_interpreted_the_declarations_do_nothing():
    def f(x):
        return x

    assert _cython.compiled is False
    assert _cython.locals(t=_tensor._TensorBase)(f) is f


def test_an_unset_field_reads_as_its_default_either_way():
    """Compiled, a field is never unset: the code reads the optional ones with getattr
    defaults that equal the compiled defaults (0 for _idx, None for the others)."""
    x = ag.asarray([1.0, 2.0])
    assert getattr(x, "_idx", 0) == 0
    assert getattr(x, "_hooks", None) is None and getattr(x, "_post_hooks", None) is None
    assert x.grad is None


# ---- the build backend (_build/backend.py) ---------------------------------------------------
# Its own rules, around setuptools' hooks: setuptools is a stand-in here (the environment need
# not have it: Python 3.12's venvs do not), and ci/compiled.sh runs the real build.
def fake_build_meta():
    meta = types.ModuleType("setuptools.build_meta")
    meta.built = []

    def hook(result, record=None):
        def fn(*args, **kwargs):
            if record:
                meta.built.append(record)
            return result

        return fn

    meta.get_requires_for_build_wheel = hook(["wheel-of-setuptools"])
    meta.get_requires_for_build_editable = hook(["editable-of-setuptools"])
    meta.build_wheel = hook("agrad.whl", "wheel")
    meta.build_editable = hook("agrad-editable.whl", "editable")
    meta.build_sdist = hook("agrad.tar.gz", "sdist")
    meta.__all__ = [
        "get_requires_for_build_wheel",
        "get_requires_for_build_editable",
        "build_wheel",
        "build_editable",
        "build_sdist",
    ]
    return meta


@pytest.fixture
def build_backend(monkeypatch):
    meta = fake_build_meta()
    package = types.ModuleType("setuptools")
    package.build_meta = meta
    monkeypatch.setitem(sys.modules, "setuptools", package)
    monkeypatch.setitem(sys.modules, "setuptools.build_meta", meta)
    spec = importlib.util.spec_from_file_location("agrad_build_backend", ROOT / "_build/backend.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod._setuptools is meta
    return mod


def test_the_build_asks_for_cython_only_when_compiling(build_backend, monkeypatch):
    monkeypatch.delenv("AGRAD_COMPILE", raising=False)
    assert build_backend.get_requires_for_build_wheel() == ["wheel-of-setuptools"]
    monkeypatch.setenv("AGRAD_COMPILE", "0")
    assert build_backend.get_requires_for_build_wheel() == ["wheel-of-setuptools"]
    monkeypatch.setenv("AGRAD_COMPILE", "1")
    assert build_backend.get_requires_for_build_wheel() == ["wheel-of-setuptools", "cython>=3.0"]


def test_a_compiled_editable_install_is_refused(build_backend, monkeypatch):
    monkeypatch.delenv("AGRAD_COMPILE", raising=False)
    assert build_backend.get_requires_for_build_editable() == ["editable-of-setuptools"]
    assert build_backend.build_editable("dist") == "agrad-editable.whl"
    monkeypatch.setenv("AGRAD_COMPILE", "1")
    msg = r"AGRAD_COMPILE=1 builds a regular install, not an editable one.*pip install \."
    with pytest.raises(SystemExit, match=msg):
        build_backend.get_requires_for_build_editable()
    with pytest.raises(SystemExit, match=msg):
        build_backend.build_editable("dist")
    assert build_backend._setuptools.built == ["editable"]  # only the one before
    assert build_backend.build_sdist("dist") == "agrad.tar.gz"  # setuptools' own hook


def test_a_compiled_build_without_cython_says_how_to_get_it(build_backend, monkeypatch):
    monkeypatch.setenv("AGRAD_COMPILE", "1")
    monkeypatch.setitem(sys.modules, "Cython", None)  # as if it were not installed
    with pytest.raises(SystemExit, match=r"needs Cython.*--no-build-isolation.*pip install cython"):
        build_backend.build_wheel("dist")
    monkeypatch.delenv("AGRAD_COMPILE")
    assert build_backend.build_wheel("dist") == "agrad.whl"  # pure Python needs no Cython
    assert build_backend._setuptools.built == ["wheel"]


def test_the_sdist_carries_the_build_backend():
    """pyproject.toml names an in-tree backend (backend-path): an sdist without it cannot be
    built (found by building one); MANIFEST.in includes it."""
    # (read by hand: no tomllib on Python 3.10)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    backend = re.search(r'^build-backend = "([\w.]+)"', text, re.M).group(1)
    paths = re.findall(r'"([^"]+)"', re.search(r"^backend-path = \[(.*)\]", text, re.M).group(1))
    module = backend.replace(".", "/") + ".py"
    included = {
        line.split(None, 1)[1].strip()
        for line in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
        if line.startswith("include ")
    }
    assert paths and all(f"{path}/{module}" in included for path in paths)

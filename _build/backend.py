"""agrad's build backend: setuptools', plus Cython when ``AGRAD_COMPILE=1`` asks for the
compiled core (setup.py says what that compiles), and no compiled editable installs."""

import os

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 - every hook setuptools defines

CYTHON = "cython>=3.0"


def _compile() -> bool:
    return os.environ.get("AGRAD_COMPILE", "").strip() not in ("", "0")


def get_requires_for_build_wheel(config_settings=None):
    extra = [CYTHON] if _compile() else []
    return _setuptools.get_requires_for_build_wheel(config_settings) + extra


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if _compile():
        try:
            import Cython  # noqa: F401
        except ImportError:
            raise SystemExit(
                "agrad: AGRAD_COMPILE=1 needs Cython to build the compiled core; pip installs it "
                "for the build unless --no-build-isolation is given: then `pip install cython` "
                "first."
            ) from None
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def get_requires_for_build_editable(config_settings=None):
    _refuse_editable()
    return _setuptools.get_requires_for_build_editable(config_settings)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _refuse_editable()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def _refuse_editable():
    if _compile():
        raise SystemExit(
            "agrad: AGRAD_COMPILE=1 builds a regular install, not an editable one: compiled "
            "modules beside their sources would keep running the old code after an edit. "
            "Run `AGRAD_COMPILE=1 pip install .` (no -e), or unset AGRAD_COMPILE."
        )

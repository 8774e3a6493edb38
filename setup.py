"""agrad's build: pure Python by default; ``AGRAD_COMPILE=1`` compiles its core with Cython.

    pip install .                          # pure Python (what `pip install -e .` always is)
    AGRAD_COMPILE=1 pip install .          # the tape and the ops compiled to C (needs a C
                                           # compiler; pip fetches Cython for the build)

The compiled core is the same source: Cython compiles the modules below as they are, reading
the ``.pxd`` files beside them (the fields of Tensor, Node, Backend and Primitive as C struct
members) and the ``@cython.locals`` declarations in them. ``agrad.COMPILED`` says which one
runs. An editable install is never compiled (``_build/backend.py`` refuses): compiled modules
beside their sources would keep running the old code after an edit.
"""

import glob
import multiprocessing
import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: the modules compiled: the tape, the Tensor, the op machinery, the backends and every op family;
#: the transforms; the layers, losses and optimizers of a training step
COMPILED = [
    "agrad/_tensor.py",
    "agrad/_tape.py",
    "agrad/_op.py",
    "agrad/_backend.py",
    *sorted(p for p in glob.glob("agrad/ops/*.py") if not p.endswith("__init__.py")),
    "agrad/autodiff.py",
    "agrad/nn/functional.py",
    "agrad/nn/layers.py",
    "agrad/nn/modules.py",
    "agrad/optim/adam.py",
    "agrad/optim/optimizer.py",
    "agrad/optim/rmsprop.py",
    "agrad/optim/sgd.py",
]


def _jobs() -> int:
    """Workers for translating and compiling, one per CPU this process may use (the 18
    modules of the core took 101 s one after another on two cores, 54 s in parallel; with
    autodiff, nn and optim, 26 modules, 74 s). Cython translates in
    forked processes only where fork is the start method; the C compilers run in threads."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # (not on macOS or Windows)
        return os.cpu_count() or 1


def compile_requested() -> bool:
    return os.environ.get("AGRAD_COMPILE", "").strip() not in ("", "0")


class CythonBuildExt(build_ext):
    """Translates the modules to C when the extensions are built (pip runs this file earlier
    too, for the build's requirements and metadata, before Cython is installed)."""

    def run(self):
        from Cython.Build import cythonize

        # annotation_typing off: annotations stay documentation, as in Python (Cython would
        # check them itself otherwise, raising its own TypeErrors before agrad's clear ones).
        # The C files go to build/ and are made afresh each time: never stale.
        translated = cythonize(
            COMPILED,
            compiler_directives={"language_level": 3, "annotation_typing": False},
            build_dir="build/cython",
            force=True,
            quiet=True,
            nthreads=_jobs() if multiprocessing.get_start_method() == "fork" else 0,
        )
        c_sources = {ext.name: ext.sources for ext in translated}
        for ext in self.extensions:  # (setuptools' own, as it prepared them: keep them)
            ext.sources = c_sources[ext.name]
        if self.parallel is None:  # (``build_ext -j N`` chooses; pip passes nothing)
            self.parallel = _jobs()
        super().run()


if compile_requested():
    modules = [Extension(p[:-3].replace("/", "."), [p]) for p in COMPILED]
    setup(ext_modules=modules, cmdclass={"build_ext": CythonBuildExt})
else:
    setup()

"""A stand-in for Cython's ``cython`` module, for the declarations the compiled core reads.

``AGRAD_COMPILE=1 pip install .`` compiles agrad's tape and ops with Cython (setup.py; README,
"A compiled core"): the ``.pxd`` files beside ``_tensor.py``, ``_tape.py``, ``_backend.py`` and
``_op.py`` make the fields of Tensor, Node, Backend and Primitive C struct members, and
``@cython.locals`` gives the hot functions' locals those types. Interpreted, the declarations do
nothing: the hot modules import Cython's own module when it is installed (whose declarations
do nothing either) and this one otherwise.
"""

#: whether this code runs compiled (Cython's module says True inside compiled code)
compiled = False


def locals(**types):  # noqa: A001 - Cython's name
    """``@cython.locals(name=type, ...)``: a no-op decorator when interpreted."""
    return lambda fn: fn

# The compiled core's declarations for _op.py (read by Cython only: see agrad/_cython.py).
from agrad._backend cimport Backend
from agrad._tape cimport Node
from agrad._tensor cimport _TensorBase


# These fields must be _PrimitiveBase.__slots__, one for one (tests/test_compiled.py checks it).
cdef class _PrimitiveBase:
    cdef public object complex_grad, promotes, promote_from, name, forward, vjp, saves
    cdef public object differentiable, _save_in, _save_out, _save_const, selective, direct

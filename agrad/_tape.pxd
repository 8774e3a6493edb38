# The compiled core's declarations for _tape.py (read by Cython only: see agrad/_cython.py).
# These fields must be Node.__slots__, one for one (tests/test_compiled.py checks it).
from agrad._backend cimport Backend


cdef class Node:
    cdef public object prim, bk, dev, parents, meta, saved, out, static, retained, hooks, trace
    cdef public object seq
    cdef public Py_ssize_t nout
    cdef object __weakref__

# The compiled core's declarations for _backend.py (read by Cython only: see agrad/_cython.py).
# These fields must be Backend.__slots__, one for one (tests/test_compiled.py checks it).
cdef class Backend:
    cdef public object name, module, xp, fix, update, leaf_grad, array_type, multi_device
    cdef public object _to_agrad, _to_raw, _floating, real_dtypes, complex_dtypes, _index_add
    cdef public object ctx, meta, meta1, xp2, promote_fix
    cdef object __weakref__

# The compiled core's declarations for _tensor.py (read by Cython only: see agrad/_cython.py).
# These fields must be _TensorBase.__slots__, one for one (tests/test_compiled.py checks it).
cdef class _TensorBase:
    cdef public object _data, _bk, _dev, _node, requires_grad, _grad, _hooks, _post_hooks
    cdef public Py_ssize_t _idx
    cdef object __weakref__

# The compiled core's declarations for _op.py (read by Cython only: see agrad/_cython.py).
from agrad._backend cimport Backend
from agrad._tape cimport Node
from agrad._tensor cimport _TensorBase

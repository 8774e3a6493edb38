"""agrad: reverse-mode automatic differentiation for any Python Array API backend.

One tape runs on NumPy (CPU), CuPy (CUDA) and any other conforming library (torch, JAX,
array-api-strict). The backend and device are chosen when a tensor is created; every op,
gradient and update then follows the data.

Examples
--------
>>> import agrad as ag
>>> x = ag.asarray([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = ag.sum(ag.tanh(x @ x) * 2.0)
>>> y.backward()
>>> x.grad.shape
(2, 2)
"""

import math as _math

from . import _op, data, datasets, fft, linalg, nn, optim, random, testing, viz
from ._anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from ._backend import BACKEND_NAMES
from ._checkpoint import checkpoint
from ._dtypes import DTYPES as _DTYPES
from ._dtypes import DType
from ._info import *  # noqa: F403  (__array_namespace_info__, data-type functions)
from ._tape import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._tensor import Tensor
from .autodiff import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    value_and_grad,
    vjp,
)
from .custom import CustomVJP, custom_vjp
from .ops.creation import (
    arange,
    asarray,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    linspace,
    meshgrid,
    ones,
    ones_like,
    to_device,
    tril,
    triu,
    zeros,
    zeros_like,
)
from .ops.elementwise import (
    abs,
    acos,
    acosh,
    add,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    clip,
    conj,
    copysign,
    cos,
    cosh,
    divide,
    equal,
    exp,
    expm1,
    floor,
    floor_divide,
    greater,
    greater_equal,
    hypot,
    imag,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    nextafter,
    not_equal,
    positive,
    pow,
    real,
    reciprocal,
    remainder,
    round,
    sign,
    signbit,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    trunc,
    where,
)
from .ops.indexing import index_add, index_set, take, take_along_axis
from .ops.interchange import from_dlpack
from .ops.linalg import matmul, matrix_transpose, tensordot, vecdot
from .ops.manipulation import (
    astype,
    broadcast_arrays,
    broadcast_shapes,
    broadcast_to,
    concat,
    expand_dims,
    flip,
    moveaxis,
    permute_dims,
    repeat,
    reshape,
    roll,
    squeeze,
    stack,
    tile,
    unstack,
)
from .ops.reduction import cumulative_prod, cumulative_sum, max, mean, min, prod, std, sum, var
from .ops.searching import *  # noqa: F403
from .ops.sets import *  # noqa: F403
from .ops.sorting import *  # noqa: F403
from .ops.utility import *  # noqa: F403
from .serialization import load, save

__version__ = "0.1.0"
__array_api_version__ = "2025.12"
#: True when agrad's core runs compiled (installed with ``AGRAD_COMPILE=1``; README)
COMPILED = _op.COMPILED

bool = _DTYPES["bool"]
int8 = _DTYPES["int8"]
int16 = _DTYPES["int16"]
int32 = _DTYPES["int32"]
int64 = _DTYPES["int64"]
uint8 = _DTYPES["uint8"]
uint16 = _DTYPES["uint16"]
uint32 = _DTYPES["uint32"]
uint64 = _DTYPES["uint64"]
float16 = _DTYPES["float16"]
float32 = _DTYPES["float32"]
float64 = _DTYPES["float64"]
complex64 = _DTYPES["complex64"]
complex128 = _DTYPES["complex128"]

e = _math.e
pi = _math.pi
inf = _math.inf
nan = _math.nan
newaxis = None

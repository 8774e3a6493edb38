"""The Tensor: one raw backend array, its backend and device, and its place in the graph.

Operators dispatch to the registered primitives through :data:`ops` (filled in by
``agrad.ops`` when it is imported), so this module imports no op code. Tensors hash by identity:
the standard's ``__eq__`` is elementwise.
"""

from __future__ import annotations

import math
import types
import weakref

try:  # the compiled core's declarations (no-ops interpreted; see agrad/_cython.py)
    import cython
except ImportError:
    from . import _cython as cython

from . import _tape
from ._tape import GRAD_ENABLED, add_hook, run_backward

__all__ = ["Tensor", "ops"]

#: The primitives the operators dispatch to, by name; filled in by ``agrad.ops``.
ops = types.SimpleNamespace()


class _TensorBase:
    """A Tensor's fields, apart from its methods (:class:`Tensor` adds those).

    The compiled core (``AGRAD_COMPILE=1``, see the README) makes this class an extension type
    whose fields are C struct members (``_tensor.pxd`` declares them): the hot paths then read
    and write them without a dictionary lookup. ``Tensor`` stays a Python class, so it can be
    subclassed, patched and have its ``__class__`` changed (``nn.Parameter``) either way.
    Interpreted, the split costs nothing: a class of slots, and a subclass with none.
    """

    # _idx (output index of a multi-output op) and _hooks/_post_hooks (a leaf's hooks) are set
    # only where needed and read with getattr defaults, so creating a tensor never pays for them
    # (compiled, an unset field reads as its default: 0 for _idx, None for the others)
    __slots__ = (
        "_data",
        "_bk",
        "_dev",
        "_node",
        "_idx",
        "requires_grad",
        "_grad",
        "_hooks",
        "_post_hooks",
        "__weakref__",
    )


#: A blank Tensor, no ``__init__`` run: ``_new(Tensor)`` (``object.__new__`` when interpreted)
_new = _TensorBase.__new__

# The operators call agrad._op's hot path, Primitive.__call__'s function, directly (a function
# call, not one through a Primitive instance: 0.1 µs less per operator); agrad._op sets it when
# it loads, and anomaly mode swaps it for a call through the Primitive.
_call = None


@cython.locals(t=_TensorBase)
def _wrap(data, bk, dev, node=None, idx=0):
    """A Tensor around raw ``data`` (the one fast constructor every op uses).

    ``_grad`` and ``_idx`` (the output index of a multi-output op) stay unset unless needed:
    every attribute written here costs on every op.
    """
    t = _new(Tensor)
    t._data = data
    t._bk = bk
    t._dev = dev
    t._node = node
    t.requires_grad = node is not None
    if idx:
        t._idx = idx
    return t


class Tensor(_TensorBase):
    """An array on any Array API backend that records operations for reverse-mode autodiff.

    Create tensors with :func:`agrad.asarray` and the other creation functions; ``Tensor(obj,
    ...)`` takes the same arguments as ``asarray``.

    Attributes
    ----------
    data : array
        The raw backend array (NumPy, CuPy, torch ...).
    requires_grad : bool
        Whether gradients flow to this tensor.
    grad : Tensor or None
        The accumulated gradient of a leaf (or of a tensor that called :meth:`retain_grad`).

    Examples
    --------
    >>> import agrad as ag
    >>> x = ag.asarray([1.0, 2.0, 3.0], requires_grad=True)
    >>> ag.sum(x * x).backward()
    >>> x.grad
    Tensor([2., 4., 6.], backend='numpy', device='cpu', dtype=float64)
    """

    __slots__ = ()  # (the fields are _TensorBase's)
    __array_priority__ = 1000  # NumPy defers binary operators to us

    def __new__(cls, obj, dtype=None, device=None, copy=None, *, backend=None, requires_grad=False):
        from .ops.creation import asarray

        return asarray(
            obj, dtype=dtype, device=device, copy=copy, backend=backend, requires_grad=requires_grad
        )

    # ---- attributes ---------------------------------------------------------------------
    @property
    def grad(self):
        """The accumulated gradient (a Tensor), or None before any backward reached it."""
        try:
            return self._grad
        except AttributeError:
            return None

    @grad.setter
    def grad(self, value):
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"agrad: .grad must be a Tensor or None, got {type(value).__name__}")
        self._grad = value

    @property
    def data(self):
        """The raw backend array this tensor wraps (no copy, no graph)."""
        return self._data

    @property
    def shape(self) -> tuple:
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    @property
    def size(self) -> int:
        return math.prod(self._data.shape)

    @property
    def dtype(self):
        """agrad's dtype object (``ag.float32`` ...), the same whatever the backend."""
        return self._bk.dtype(self._data.dtype)

    @property
    def device(self):
        """The backend's device object; pass it as ``device=`` to create tensors beside this one."""
        return self._dev

    @property
    def backend(self) -> str:
        """The backend's name, as accepted by ``backend=``."""
        return self._bk.name

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (their ``.grad`` accumulates)."""
        return self._node is None

    @property
    def T(self) -> Tensor:
        if self.ndim != 2:
            raise ValueError(
                f"agrad: Tensor.T needs a 2-D tensor, got shape {self.shape}; use .mT for the last "
                "two axes or ag.permute_dims for others"
            )
        return ops.matrix_transpose(self)

    @property
    def mT(self) -> Tensor:
        return ops.matrix_transpose(self)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export the data through DLPack (the graph does not travel). The keywords are the
        standard's; those given are passed on to the backend's array."""
        kw = {}
        for name, value in (
            ("stream", stream),
            ("max_version", max_version),
            ("dl_device", dl_device),
            ("copy", copy),
        ):
            if value is not None:
                kw[name] = value
        return self._data.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __array_namespace__(self, *, api_version=None):
        from . import _namespace

        return _namespace.namespace(api_version)

    # ---- autograd -----------------------------------------------------------------------
    def backward(self, grad=None, *, retain_graph=None, create_graph=False) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        Parameters
        ----------
        grad : Tensor or array, optional
            The cotangent; required unless the tensor has one element.
        retain_graph : bool, optional
            Keep the saved values for another backward (defaults to ``create_graph``).
        create_graph : bool
            Record the backward itself, so the gradients can be differentiated again.

        Examples
        --------
        >>> import agrad as ag
        >>> x = ag.asarray(3.0, requires_grad=True)
        >>> (x * x).backward()
        >>> float(x.grad)
        6.0
        """
        if not self.requires_grad:
            raise RuntimeError(
                "agrad: backward(): this tensor does not require grad and has no graph; create "
                "its inputs with requires_grad=True (and not inside ag.no_grad())"
            )
        if retain_graph is None:
            retain_graph = create_graph
        bk = self._bk
        if grad is None and not create_graph and bk.ctx is None and self.size == 1:
            seed = bk.xp.ones_like(self._data)  # a loss's seed (CuPy's: _seed, on its device)
        else:
            from .autodiff import _seed

            seed = _seed(self, grad, create_graph, "backward")
        run_backward([self], [seed], retain_graph=retain_graph, create_graph=create_graph)

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        return _wrap(self._data, self._bk, self._dev)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf, in place; returns the tensor."""
        if self._node is not None and not requires_grad:
            raise RuntimeError(
                "agrad: requires_grad_(False) on a non-leaf tensor; use .detach() to cut it from "
                "the graph"
            )
        if requires_grad:
            _check_can_require_grad(self, "requires_grad_")
        self.requires_grad = bool(requires_grad) or self._node is not None
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor during backward (no-op for leaves)."""
        if self._node is None:
            return
        if not self.requires_grad:
            raise RuntimeError("agrad: retain_grad() on a tensor that does not require grad")
        n = self._node
        if n.retained is None:
            n.retained = {}
        n.retained[getattr(self, "_idx", 0)] = weakref.ref(self)
        if n.hooks is None:
            n.hooks = {}  # the backward checks one slot for hooks and retained gradients

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever the gradient with respect to this tensor is computed.

        The hook may return a Tensor (of the gradient's shape, dtype, backend and device) that
        replaces the gradient for the rest of the backward pass, or None to leave it. On a leaf
        the hook runs before the gradient is accumulated into ``.grad``; on a non-leaf it runs
        when the gradient is complete, before it flows on. Returns a handle whose
        ``remove()`` unregisters the hook. A non-leaf's hooks go with its graph when a backward
        frees it, so they never keep a graph alive.

        Examples
        --------
        >>> import agrad as ag
        >>> x = ag.asarray([1.0, 2.0], requires_grad=True)
        >>> y = x * 3.0
        >>> handle = y.register_hook(lambda g: g * 10.0)   # scale the gradient flowing back
        >>> ag.sum(y).backward()
        >>> x.grad
        Tensor([30., 30.], backend='numpy', device='cpu', dtype=float64)
        >>> handle.remove()
        """
        if not callable(hook):
            raise TypeError(f"agrad: register_hook() needs a callable, got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError(
                "agrad: register_hook() on a tensor that does not require grad: no gradient "
                "will ever reach it (create it with requires_grad=True)"
            )
        n = self._node
        if n is None:
            return add_hook(self, "_hooks", None, hook)
        return add_hook(n, "hooks", getattr(self, "_idx", 0), hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` on this leaf after a backward has accumulated its ``.grad``.

        PyTorch's name and semantics: the place for an optimizer step fused into backward.
        Returns a handle whose ``remove()`` unregisters the hook.

        Examples
        --------
        >>> import agrad as ag
        >>> w = ag.asarray([1.0, 2.0], requires_grad=True)
        >>> seen = []
        >>> _ = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.shape))
        >>> ag.sum(w * w).backward()
        >>> seen
        [(2,)]
        """
        if not callable(hook):
            raise TypeError(
                "agrad: register_post_accumulate_grad_hook() needs a callable, got "
                f"{type(hook).__name__}"
            )
        if self._node is not None or not self.requires_grad:
            raise RuntimeError(
                "agrad: register_post_accumulate_grad_hook() applies to leaf tensors that "
                "require grad (only leaves accumulate .grad); use register_hook() on this tensor"
            )
        return add_hook(self, "_post_hooks", None, hook)

    def to_device(self, device, /, *, stream=None) -> Tensor:
        """This tensor on ``device`` (differentiable: the gradient moves back).

        A device of another library selects that backend (``"cuda"`` from NumPy gives CuPy).
        """
        return ops.to_device(self, device)

    # ---- host conversion ----------------------------------------------------------------
    def numpy(self):
        """An explicit copy of the data in host memory, as a NumPy array."""
        return self._bk.to_numpy(self._data)

    def item(self):
        """The single element as a Python scalar."""
        self._check_size1("item")
        kind = self.dtype.kind
        conv = {"bool": bool, "real floating": float, "complex floating": complex}.get(kind, int)
        return conv(self._scalar_raw())

    def _scalar_raw(self):
        raw = self._data
        if len(raw.shape):
            raw = self._bk.module.reshape(raw, ())
        return raw

    def _check_size1(self, what):
        if self.size != 1:
            raise TypeError(
                f"agrad: {what}() needs a tensor with one element, got shape {self.shape}; "
                "reduce it first (e.g. ag.sum) or index one element"
            )

    def __float__(self):
        self._check_size1("float")
        return float(self._scalar_raw())

    def __int__(self):
        self._check_size1("int")
        return int(self._scalar_raw())

    def __bool__(self):
        self._check_size1("bool")
        return bool(self._scalar_raw())

    def __complex__(self):
        self._check_size1("complex")
        return complex(self._scalar_raw())

    def __index__(self):
        if self.dtype.kind not in ("signed integer", "unsigned integer"):
            raise TypeError(
                f"agrad: only integer tensors can be used as an index, got {self.dtype}"
            )
        self._check_size1("index")
        return int(self._scalar_raw())

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise TypeError(
                "agrad: cannot convert a tensor that requires grad to a NumPy array (that would "
                "silently leave the graph); use t.detach().numpy() for its value. If a library "
                "converts it (scipy.special falls back to NumPy for namespaces it does not know), "
                "that function cannot be differentiated as it is: write it with agrad's ops, or "
                "give it a VJP with ag.custom_vjp"
            )
        if self._bk.name in ("cupy",) or "cuda" in str(self._dev):
            raise TypeError(
                f"agrad: implicit conversion of a {self._bk.name} tensor on {self._dev} to NumPy "
                "is disabled; copy it explicitly with t.numpy()"
            )
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def __len__(self):
        if not self._data.shape:
            raise TypeError("agrad: len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        try:
            body = repr(self.numpy())
            body = (
                body[body.index("(") + 1 : body.rindex(")")] if body.startswith("array(") else body
            )
            body = body.split(", dtype=")[0]
        except Exception:  # data that cannot come to the host cheaply
            body = "..."
        body = body.replace("\n", "\n ")
        extra = ""
        if self._node is not None:
            extra = f", grad_fn=<{self._node.prim.name}>"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        return (
            f"Tensor({body}, backend={self._bk.name!r}, device={_dev_str(self._dev)!r}, "
            f"dtype={self.dtype}{extra})"
        )

    __hash__ = object.__hash__

    # ---- operators ----------------------------------------------------------------------
    def __add__(self, other):
        return _call(ops.add, self, other)

    def __radd__(self, other):
        return _call(ops.add, other, self)

    def __sub__(self, other):
        return _call(ops.subtract, self, other)

    def __rsub__(self, other):
        return _call(ops.subtract, other, self)

    def __mul__(self, other):
        return _call(ops.multiply, self, other)

    def __rmul__(self, other):
        return _call(ops.multiply, other, self)

    def __truediv__(self, other):
        return _call(ops.divide, self, other)

    def __rtruediv__(self, other):
        return _call(ops.divide, other, self)

    def __floordiv__(self, other):
        return _call(ops.floor_divide, self, other)

    def __rfloordiv__(self, other):
        return _call(ops.floor_divide, other, self)

    def __mod__(self, other):
        return _call(ops.remainder, self, other)

    def __rmod__(self, other):
        return _call(ops.remainder, other, self)

    def __pow__(self, other):
        return _call(ops.pow, self, other)

    def __rpow__(self, other):
        return _call(ops.pow, other, self)

    def __matmul__(self, other):
        return _call(ops.matmul, self, other)

    def __rmatmul__(self, other):
        return _call(ops.matmul, other, self)

    def __neg__(self):
        return _call(ops.negative, self)

    def __pos__(self):
        return _call(ops.positive, self)

    def __abs__(self):
        return _call(ops.abs, self)

    def __invert__(self):
        return _call(ops.bitwise_invert, self)

    def __and__(self, other):
        return _call(ops.bitwise_and, self, other)

    def __rand__(self, other):
        return _call(ops.bitwise_and, other, self)

    def __or__(self, other):
        return _call(ops.bitwise_or, self, other)

    def __ror__(self, other):
        return _call(ops.bitwise_or, other, self)

    def __xor__(self, other):
        return _call(ops.bitwise_xor, self, other)

    def __rxor__(self, other):
        return _call(ops.bitwise_xor, other, self)

    def __lshift__(self, other):
        return _call(ops.bitwise_left_shift, self, other)

    def __rlshift__(self, other):
        return _call(ops.bitwise_left_shift, other, self)

    def __rshift__(self, other):
        return _call(ops.bitwise_right_shift, self, other)

    def __rrshift__(self, other):
        return _call(ops.bitwise_right_shift, other, self)

    def __lt__(self, other):
        return _call(ops.less, self, other)

    def __le__(self, other):
        return _call(ops.less_equal, self, other)

    def __gt__(self, other):
        return _call(ops.greater, self, other)

    def __ge__(self, other):
        return _call(ops.greater_equal, self, other)

    def __eq__(self, other):
        if not _comparable(other):
            return NotImplemented
        return _call(ops.equal, self, other)

    def __ne__(self, other):
        if not _comparable(other):
            return NotImplemented
        return _call(ops.not_equal, self, other)

    def __getitem__(self, key):
        return ops.getitem(self, key)

    # ---- in-place operators ---------------------------------------------------------------
    # ``x op= y`` rebinds this Tensor to the result: a new raw array, and (when recording) the
    # new node. The old buffer is never written, so values saved by earlier nodes stay valid,
    # and the same code works on immutable backends (JAX). Under ``no_grad`` it is how
    # parameters are updated: ``w -= lr * w.grad`` keeps ``w`` the same leaf.
    def _inplace(self, op, other, symbol):
        recording = GRAD_ENABLED.get()
        if recording and self.requires_grad and self._node is None:  # (messages built lazily)
            _check_leaf_update(self, recording, f"x {symbol}= y", f"x = x {symbol} y")
        update = self._bk.update
        if not recording and update is not None and update(self, op.name, other):
            if self._node is not None:  # as _become: its node described the old value
                self._node = None
                self.requires_grad = False
            return self
        out = op(self, other)
        if tuple(out._data.shape) != tuple(self._data.shape):
            raise ValueError(
                f"agrad: x {symbol}= y would change x's shape from {self.shape} to {out.shape}; "
                "an in-place update keeps the shape (write x = x " + symbol + " y)"
            )
        if out._data.dtype != self._data.dtype:
            raise TypeError(
                f"agrad: x {symbol}= y would change x's dtype from {self.dtype} to {out.dtype}; "
                "an in-place update keeps the dtype (cast y first, or write x = x " + symbol + " y)"
            )
        return self._become(out, recording)

    def _become(self, out, recording):
        """Take ``out``'s array (and node, when recording) as this tensor's own."""
        self._data = out._data
        if recording:
            self._node = out._node
            self.requires_grad = out.requires_grad
        elif self._node is not None:  # under no_grad: its node would describe the old value
            self._node = None
            self.requires_grad = False
        return self

    def __setitem__(self, key, value):
        """``x[key] = value``, recorded functionally like the in-place operators: the new value
        flows to later ops, ``value`` receives its gradient, earlier saved values stay valid."""
        recording = GRAD_ENABLED.get()
        _check_leaf_update(self, recording, "x[key] = v", "x = ag.index_set(x, key, v)")
        self._become(ops.index_set(self, key, value), recording)

    def __iadd__(self, other):
        return self._inplace(ops.add, other, "+")

    def __isub__(self, other):
        return self._inplace(ops.subtract, other, "-")

    def __imul__(self, other):
        return self._inplace(ops.multiply, other, "*")

    def __itruediv__(self, other):
        return self._inplace(ops.divide, other, "/")

    def __ifloordiv__(self, other):
        return self._inplace(ops.floor_divide, other, "//")

    def __imod__(self, other):
        return self._inplace(ops.remainder, other, "%")

    def __ipow__(self, other):
        return self._inplace(ops.pow, other, "**")

    def __imatmul__(self, other):
        return self._inplace(ops.matmul, other, "@")

    def __iand__(self, other):
        return self._inplace(ops.bitwise_and, other, "&")

    def __ior__(self, other):
        return self._inplace(ops.bitwise_or, other, "|")

    def __ixor__(self, other):
        return self._inplace(ops.bitwise_xor, other, "^")

    def __ilshift__(self, other):
        return self._inplace(ops.bitwise_left_shift, other, "<<")

    def __irshift__(self, other):
        return self._inplace(ops.bitwise_right_shift, other, ">>")


def _comparable(other) -> bool:
    return isinstance(other, (Tensor, bool, int, float, complex)) or hasattr(other, "shape")


def _dev_str(dev) -> str:
    s = str(dev)
    if s.startswith("array_api_strict.Device("):
        s = s[len("array_api_strict.Device(") : -1].strip("'")
    return s.replace("<CUDA Device ", "cuda:").rstrip(">")


def _check_leaf_update(t, recording, what, instead):
    if recording and t.requires_grad and t._node is None:
        raise RuntimeError(
            f"agrad: a leaf tensor that requires grad cannot be updated in place ({what}) while "
            f"gradients are recorded; do it inside `with ag.no_grad():` (parameter updates), or "
            f"write {instead}"
        )


def _check_can_require_grad(t, where):
    if not t.dtype.is_floating:
        raise TypeError(
            f"agrad.{where}: only floating-point tensors can require gradients, got dtype "
            f"{t.dtype} (shape {t.shape}); create it with a floating dtype, e.g. dtype=ag.float64"
        )


_tape.Tensor, _tape._wrap = Tensor, _wrap  # (see _tape: it cannot import this module)

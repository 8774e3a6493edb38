"""Seeded random creation on every backend: ``ag.random.default_rng(seed, backend=, device=)``.

Each backend draws with its own generator on its own device (NumPy's and CuPy's
``default_rng``, a ``torch.Generator``, JAX keys); libraries without a generator of their own
(array-api-strict, other namespaces) draw with NumPy on the host and copy once. The same seed
gives the same numbers on the same backend, not across backends.

Examples
--------
>>> import agrad as ag
>>> rng = ag.random.default_rng(0)
>>> w = rng.normal(size=(2, 3), requires_grad=True)
>>> w.shape, w.requires_grad
((2, 3), True)
"""

from __future__ import annotations

from ._backend import resolve
from ._tensor import _check_can_require_grad, _wrap

__all__ = ["Generator", "default_rng"]


class Generator:
    """Draws tensors on one backend and device. Create with :func:`default_rng`."""

    def __init__(self, seed, bk, dev):
        self._bk = bk
        self._dev = dev
        self._seed = seed
        name = bk.name
        if name == "torch":
            import torch

            self._gen = torch.Generator(device=dev)
            self._gen.manual_seed(0 if seed is None else int(seed))
            if seed is None:
                self._gen.seed()
        elif name == "cupy":  # pragma: no cover - needs a CUDA device
            import cupy

            with dev:
                self._gen = cupy.random.default_rng(seed)
        elif name == "jax":  # pragma: no cover - exercised when JAX is installed
            import jax

            self._gen = jax.random.key(0 if seed is None else int(seed))
        else:
            import numpy as np

            self._gen = np.random.default_rng(seed)

    def __repr__(self):
        return f"Generator(seed={self._seed!r}, backend={self._bk.name!r}, device={self._dev!r})"

    def _finish(self, data, dtype, requires_grad):
        bk = self._bk
        if dtype is not None:
            data = bk.module.astype(data, bk.raw_dtype(dtype))
        if bk.fix is not None:
            data = bk.fix(data)
        t = _wrap(data, bk, self._dev)
        if requires_grad:
            _check_can_require_grad(t, "random")
            t.requires_grad = True
        return t

    def _draw(self, kind, a, b, size, dtype):
        size = () if size is None else ((size,) if isinstance(size, int) else tuple(size))
        bk = self._bk
        name = bk.name
        if name == "torch":
            import torch

            tdt = bk.raw_dtype(dtype) if dtype is not None else torch.get_default_dtype()
            fn = torch.randn if kind == "normal" else torch.rand
            r = fn(size, generator=self._gen, dtype=tdt, device=self._dev)
            return r * b + a if kind == "normal" else r * (b - a) + a
        if name == "jax":  # pragma: no cover - exercised when JAX is installed
            import jax

            self._gen, key = jax.random.split(self._gen)
            jdt = bk.raw_dtype(dtype) if dtype is not None else None
            kw = {} if jdt is None else {"dtype": jdt}
            if kind == "normal":
                return jax.random.normal(key, size, **kw) * b + a
            return jax.random.uniform(key, size, minval=a, maxval=b, **kw)
        if name == "cupy":  # pragma: no cover - needs a CUDA device
            with self._dev:
                if kind == "normal":  # (CuPy's Generator has no normal(): loc + scale * N(0, 1))
                    return self._gen.standard_normal(size) * b + a
                return self._gen.uniform(a, b, size)
        host = self._gen.normal(a, b, size) if kind == "normal" else self._gen.uniform(a, b, size)
        if name == "numpy":
            return host
        return bk.module.asarray(host, device=self._dev)

    def normal(self, loc=0.0, scale=1.0, size=None, *, dtype=None, requires_grad=False):
        """Samples from N(loc, scale²) of shape ``size``."""
        return self._finish(self._draw("normal", loc, scale, size, dtype), dtype, requires_grad)

    def uniform(self, low=0.0, high=1.0, size=None, *, dtype=None, requires_grad=False):
        """Samples from U[low, high) of shape ``size``."""
        return self._finish(self._draw("uniform", low, high, size, dtype), dtype, requires_grad)

    def permutation(self, n: int):
        """A random permutation of ``0, 1, ..., n - 1`` (an integer tensor, never requiring grad).

        Examples
        --------
        >>> import agrad as ag
        >>> p = ag.random.default_rng(0).permutation(5)
        >>> sorted(p.numpy().tolist())
        [0, 1, 2, 3, 4]
        """
        n = _count(n, "permutation")
        bk = self._bk
        name = bk.name
        if name == "torch":
            import torch

            data = torch.randperm(n, generator=self._gen, device=self._dev)
        elif name == "jax":  # pragma: no cover - exercised when JAX is installed
            import jax

            self._gen, key = jax.random.split(self._gen)
            data = jax.random.permutation(key, n)
        elif name == "cupy":  # pragma: no cover - needs a CUDA device
            import cupy

            with self._dev:
                # ranks of i.i.d. uniforms: a uniform permutation on every CuPy version
                data = cupy.argsort(self._gen.random(n))
        else:
            data = self._gen.permutation(n)
            if name != "numpy":
                data = bk.module.asarray(data, device=self._dev)
        return self._finish(data, None, False)

    def integers(self, low, high=None, size=None, *, dtype=None):
        """Random integers in ``[low, high)`` (``[0, low)`` when ``high`` is None).

        ``dtype`` defaults to int64 (the backend's default integer dtype on JAX).

        Examples
        --------
        >>> import agrad as ag
        >>> k = ag.random.default_rng(0).integers(3, 7, size=(4,))
        >>> bool(ag.all((k >= 3) & (k < 7)))
        True
        """
        if high is None:
            low, high = 0, low
        low, high = int(low), int(high)
        if high <= low:
            raise ValueError(f"agrad.random.integers: need low < high, got [{low}, {high})")
        size = () if size is None else ((size,) if isinstance(size, int) else tuple(size))
        bk = self._bk
        name = bk.name
        if name == "torch":
            import torch

            tdt = bk.raw_dtype(dtype) if dtype is not None else torch.int64
            data = torch.randint(low, high, size, generator=self._gen, dtype=tdt, device=self._dev)
        elif name == "jax":  # pragma: no cover - exercised when JAX is installed
            import jax

            self._gen, key = jax.random.split(self._gen)
            kw = {} if dtype is None else {"dtype": bk.raw_dtype(dtype)}
            data = jax.random.randint(key, size, low, high, **kw)
        elif name == "cupy":  # pragma: no cover - needs a CUDA device
            with self._dev:
                data = self._gen.integers(low, high, size, dtype="int64")
        else:
            data = self._gen.integers(low, high, size, dtype="int64")
            if name != "numpy":
                data = bk.module.asarray(data, device=self._dev)
        if name != "torch" and dtype is not None:
            data = bk.module.astype(data, bk.raw_dtype(dtype))
        return self._finish(data, None, False)


def _count(n, where) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"agrad.random.{where}: n must be a non-negative int, got {n!r}")
    return n


def default_rng(seed=None, *, backend=None, device=None) -> Generator:
    """A seeded :class:`Generator` on ``backend``/``device`` (as for :func:`agrad.asarray`)."""
    bk, dev = resolve(backend, device)
    return Generator(seed, bk, dev)

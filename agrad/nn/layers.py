"""Layers in PyTorch's names, signatures and layouts (images NCHW, ``Conv2d.weight`` is
(out, in/groups, kh, kw)), built from Array API ops only so they run on every backend.

Convolution and pooling gather the ``kh * kw`` shifted strided views of the (padded) input,
stack them and contract with a matmul: no backend-specific kernels, gradients from the tape.
Max pooling shares the gradient equally between tied maxima (``ag.max``'s rule), where PyTorch
gives it to one of them.

Examples
--------
>>> import agrad as ag
>>> conv = ag.nn.Conv2d(1, 2, 3, padding=1, rng=ag.random.default_rng(0))
>>> conv(ag.ones((4, 1, 8, 8))).shape
(4, 2, 8, 8)
"""

from __future__ import annotations

import math

from .. import _tape
from .. import ops as _ops  # noqa: F401  (registers every primitive)
from ..ops.creation import ones, zeros
from ..ops.elementwise import sqrt
from ..ops.indexing import index_set, take
from ..ops.linalg import matmul
from ..ops.manipulation import astype, reshape, stack
from ..ops.reduction import max as _max
from ..ops.reduction import mean, var
from ..random import default_rng
from . import functional as F
from .modules import Module, Parameter

__all__ = [
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Embedding",
    "LayerNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout",
    "Flatten",
    "Identity",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "GELU",
    "SiLU",
    "Softplus",
]


def _pair(v, name, what):
    if isinstance(v, int):
        return (v, v)
    v = tuple(v)
    if len(v) != 2 or not all(isinstance(a, int) for a in v):
        raise ValueError(f"agrad.nn.{name}: {what} must be an int or a pair of ints, got {v!r}")
    return v


def _pad(x, ph, pw, value):
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    base = zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype, device=x.device, backend=x._bk)
    if value:
        base = base + value
    return index_set(base, (slice(None), slice(None), slice(ph, ph + h), slice(pw, pw + w)), x)


def _patches(x, kernel, stride, padding, dilation, name, pad_value=0.0):
    """The ``kh * kw`` strided views of padded ``x`` as (N, C, kh*kw, Ho, Wo), and (Ho, Wo)."""
    if x.ndim != 4:
        raise ValueError(f"agrad.nn.{name}: expected an NCHW tensor (4-D), got shape {x.shape}")
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(
            f"agrad.nn.{name}: input of shape {x.shape} is too small for kernel {kernel}, "
            f"stride {stride}, padding {padding}, dilation {dilation}"
        )
    xp = _pad(x, ph, pw, pad_value)
    views = []
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            views.append(
                xp[:, :, r0 : r0 + sh * (ho - 1) + 1 : sh, c0 : c0 + sw * (wo - 1) + 1 : sw]
            )
    return stack(views, axis=2), ho, wo


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of NCHW ``x`` with ``weight`` (out, in/groups, kh, kw), PyTorch's
    ``conv2d`` (``padding`` is an int or a pair; zeros are padded)."""
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(
            f"agrad.nn.conv2d: expected an NCHW tensor (4-D) and a 4-D weight, got shapes "
            f"{x.shape} and {weight.shape}"
        )
    o, cg, kh, kw = weight.shape
    n, c = x.shape[0], x.shape[1]
    if c != cg * groups or o % groups:
        raise ValueError(
            f"agrad.nn.conv2d: input has {c} channels and weight shape {weight.shape} with "
            f"groups={groups}; need in_channels == weight.shape[1] * groups and "
            "out_channels divisible by groups"
        )
    stride = _pair(stride, "conv2d", "stride")
    padding = _pair(padding, "conv2d", "padding")
    dilation = _pair(dilation, "conv2d", "dilation")
    cols, ho, wo = _patches(x, (kh, kw), stride, padding, dilation, "conv2d")
    cols = reshape(cols, (n, groups, cg * kh * kw, ho * wo))
    w = reshape(weight, (groups, o // groups, cg * kh * kw))
    out = reshape(matmul(w, cols), (n, o, ho, wo))
    if bias is not None:
        out = out + reshape(bias, (1, o, 1, 1))
    return out


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """Max over ``kernel_size`` windows (stride defaults to the kernel); ties share the
    gradient equally."""
    k = _pair(kernel_size, "max_pool2d", "kernel_size")
    s = k if stride is None else _pair(stride, "max_pool2d", "stride")
    p = _pair(padding, "max_pool2d", "padding")
    cols, _, _ = _patches(
        x, k, s, p, _pair(dilation, "max_pool2d", "dilation"), "max_pool2d", pad_value=-math.inf
    )
    return _max(cols, axis=2)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over ``kernel_size`` windows (padding counts as zeros, PyTorch's default)."""
    k = _pair(kernel_size, "avg_pool2d", "kernel_size")
    s = k if stride is None else _pair(stride, "avg_pool2d", "stride")
    p = _pair(padding, "avg_pool2d", "padding")
    cols, _, _ = _patches(x, k, s, p, (1, 1), "avg_pool2d")
    return mean(cols, axis=2)


def _rng(device, backend, rng):
    """The generator parameters are drawn with: the given one, else an unseeded one."""
    return rng if rng is not None else default_rng(None, backend=backend, device=device)


class Conv2d(Module):
    """PyTorch's ``Conv2d`` (stride, padding, dilation, groups); weights and bias from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in/groups * kh * kw."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        *,
        dtype=None,
        device=None,
        backend=None,
        rng=None,
    ):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"agrad.nn.Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must be divisible by groups ({groups})"
            )
        kh, kw = _pair(kernel_size, "Conv2d", "kernel_size")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), stride, padding
        self.dilation, self.groups = dilation, groups
        rng = _rng(device, backend, rng)
        bound = 1.0 / math.sqrt(in_channels // groups * kh * kw)
        shape = (out_channels, in_channels // groups, kh, kw)
        self.weight = Parameter(rng.uniform(-bound, bound, shape, dtype=dtype))
        if bias:
            self.bias = Parameter(rng.uniform(-bound, bound, (out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = (
            kernel_size,
            stride,
            padding,
            dilation,
        )

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Embedding(Module):
    """Rows of ``weight`` (num_embeddings, embedding_dim) looked up by integer indices; the
    weight is drawn from N(0, 1) as in PyTorch."""

    def __init__(
        self, num_embeddings, embedding_dim, *, dtype=None, device=None, backend=None, rng=None
    ):
        super().__init__()
        rng = _rng(device, backend, rng)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(rng.normal(0.0, 1.0, (num_embeddings, embedding_dim), dtype=dtype))

    def forward(self, indices):
        flat = reshape(indices, (-1,))
        rows = take(self.weight, flat, axis=0)
        return reshape(rows, tuple(indices.shape) + (self.embedding_dim,))


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` axes; affine weight 1, bias 0."""

    def __init__(
        self,
        normalized_shape,
        eps=1e-5,
        elementwise_affine=True,
        *,
        dtype=None,
        device=None,
        backend=None,
    ):
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape, self.eps = shape, eps
        if elementwise_affine:
            self.weight = Parameter(ones(shape, dtype=dtype, device=device, backend=backend))
            self.bias = Parameter(zeros(shape, dtype=dtype, device=device, backend=backend))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        k = len(self.normalized_shape)
        if tuple(x.shape[-k:]) != self.normalized_shape:
            raise ValueError(
                f"agrad.nn.LayerNorm: input of shape {x.shape} does not end with "
                f"normalized_shape {self.normalized_shape}"
            )
        axes = tuple(range(x.ndim - k, x.ndim))
        mu = mean(x, axis=axes, keepdims=True)
        y = (x - mu) / sqrt(var(x, axis=axes, keepdims=True) + self.eps)
        return y * self.weight + self.bias if self.weight is not None else y


class _BatchNorm(Module):
    _dims = None

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        *,
        dtype=None,
        device=None,
        backend=None,
    ):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.track_running_stats = track_running_stats
        kw = {"dtype": dtype, "device": device, "backend": backend}
        if affine:
            self.weight = Parameter(ones((num_features,), **kw))
            self.bias = Parameter(zeros((num_features,), **kw))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros((num_features,), **kw))
            self.register_buffer("running_var", ones((num_features,), **kw))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)

    def forward(self, x):
        if x.ndim not in self._dims or x.shape[1] != self.num_features:
            raise ValueError(
                f"agrad.nn.{type(self).__name__}: expected {self._dims} dimensions with "
                f"{self.num_features} channels on axis 1, got shape {x.shape}"
            )
        ref = self.weight if self.weight is not None else self.running_mean
        if ref is not None and (
            x._bk is not ref._bk or (ref._bk.multi_device and x._dev != ref._dev)
        ):
            raise ValueError(
                f"agrad.nn.{type(self).__name__}: the input is {x.backend} on {x.device} but the "
                f"module's parameters and running statistics are {ref.backend} on {ref.device}; "
                "create it with backend= and device=, or move it with "
                f"module.to_device({x.device!r}, backend={x.backend!r})"
            )
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, self.num_features) + (1,) * (x.ndim - 2)
        if self.training or self.running_mean is None:
            mu = mean(x, axis=axes)
            v = var(x, axis=axes)
            if self.training and self.running_mean is not None:
                n = x.size // self.num_features
                with _tape.no_grad():  # running statistics: PyTorch's unbiased variance
                    m = self.momentum
                    self.running_mean[...] = (1 - m) * self.running_mean + m * mu.detach()
                    unbiased = v.detach() * (n / max(n - 1, 1))
                    self.running_var[...] = (1 - m) * self.running_var + m * unbiased
        else:
            mu, v = self.running_mean, self.running_var
        y = (x - reshape(mu, bshape)) / sqrt(reshape(v, bshape) + self.eps)
        if self.weight is not None:
            y = y * reshape(self.weight, bshape) + reshape(self.bias, bshape)
        return y


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs; running statistics in eval mode."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of NCHW inputs; running statistics in eval mode."""

    _dims = (4,)


class Dropout(Module):
    """Zero each element with probability ``p`` in training (scaling the rest by 1/(1-p));
    the mask is drawn by a seeded generator on the input's own backend and device."""

    def __init__(self, p=0.5, *, seed=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"agrad.nn.Dropout: p must be in [0, 1), got {p}")
        self.p, self.seed = p, seed
        self._rngs = {}

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        key = (x.backend, str(x.device))
        rng = self._rngs.get(key)
        if rng is None:
            rng = self._rngs[key] = default_rng(self.seed, backend=x._bk, device=x.device)
        keep = rng.uniform(0.0, 1.0, x.shape, dtype=x.dtype) >= self.p
        return x * astype(keep, x.dtype) / (1.0 - self.p)


class Flatten(Module):
    """Flatten axes ``start_dim``..``end_dim`` (PyTorch's defaults: 1..-1)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        s = self.start_dim % x.ndim
        e = self.end_dim % x.ndim
        return reshape(x, tuple(x.shape[:s]) + (-1,) + tuple(x.shape[e + 1 :]))


class Identity(Module):
    def forward(self, x):
        return x


def _activation(name, fn_name, doc):
    def forward(self, x):
        return getattr(F, fn_name)(x)

    return type(name, (Module,), {"forward": forward, "__doc__": doc})


ReLU = _activation("ReLU", "relu", "max(x, 0), derivative 0 at 0.")
Tanh = _activation("Tanh", "tanh", "tanh(x).")
Sigmoid = _activation("Sigmoid", "sigmoid", "1 / (1 + exp(-x)).")
GELU = _activation("GELU", "gelu", "GELU (tanh approximation).")
SiLU = _activation("SiLU", "silu", "x * sigmoid(x).")
Softplus = _activation("Softplus", "softplus", "log(1 + exp(x)), stable.")

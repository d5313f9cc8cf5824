"""Activations (issue 16). The elementwise ones run one kernel each way, forward and a fused
backward op (their scalar math in backends/shared/scalar.py, their derivatives in the table's
"activations" section, differentiable so that second derivatives work); the others (softsign,
glu, softmin, normalize, cosine_similarity, pairwise_distance) compose differentiable ops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backends.plan import wrap_dim
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import broadcast_shape, ew, record
from . import elementwise as _E
from . import reduce as _R

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _float_only(op: str, x: Tensor) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'"{op}" not implemented for \'{_TORCH_NAMES.get(x.dtype.name, x.dtype.name)}\' '
                                  f"(nbgrad computes it in floating point only)")


def _forward(kernel: str, node: Any, x: Tensor, params: tuple = (), **attrs: Any) -> Tensor:
    """One elementwise kernel over x (parameters as single values of x's dtype), recorded with node."""
    _float_only(kernel, x)
    be = x._backend
    d = x._data
    if params:
        out = be.elementwise(kernel, [d, *(np.asarray(p, d.dtype) for p in params)], d.shape, d.dtype)
    else:
        out = be.elementwise(kernel, [d], d.shape, d.dtype)
    return record(node, out, (x,), be, **attrs)


def _backward(kernel: str, node: Any, grad: Tensor, x: Tensor, params: tuple = (), **attrs: Any) -> Tensor:
    """A fused backward kernel over (grad, x) and single-value parameters, recorded as an op of its own."""
    be = grad._backend
    g, d = grad._data, x._data
    ps = [np.asarray(p, d.dtype) for p in params]
    if g.shape == d.shape and g.dtype == d.dtype:
        out = be.elementwise(kernel, [g, d, *ps], d.shape, d.dtype)
    else:
        out = ew(kernel, g, d, *ps, backend=be)
    return record(node, out, (grad, x), be, **attrs)


# ---------------------------------------------------------------- elementwise forwards
def silu(x: Tensor) -> Tensor:
    return _forward("silu", N.SiluBackward0, x)


def mish(x: Tensor) -> Tensor:
    return _forward("mish", N.MishBackward0, x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return _forward("leaky_relu", N.LeakyReluBackward0, x, (negative_slope,), negative_slope=negative_slope)


def elu(x: Tensor, alpha: float = 1.0, scale: float = 1.0, input_scale: float = 1.0, node: Any = None) -> Tensor:
    """scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)): elu, selu and celu."""
    node = node or N.EluBackward0
    attrs = dict(alpha=alpha, scale=scale, input_scale=input_scale)
    if scale == 1:
        return _forward("elu", node, x, (alpha, input_scale), **attrs)
    if (alpha, scale, input_scale) == (_SELU_ALPHA, _SELU_SCALE, 1.0):
        return _forward("selu", node, x, **attrs)
    _float_only("elu", x)  # a scale of its own: the elu kernel, then one multiplication
    be = x._backend
    d = x._data
    y = be.elementwise("elu", [d, np.asarray(alpha, d.dtype), np.asarray(input_scale, d.dtype)], d.shape, d.dtype)
    return record(node, ew("mul", y, np.asarray(scale, d.dtype), backend=be), (x,), be, **attrs)


def selu(x: Tensor) -> Tensor:
    return elu(x, _SELU_ALPHA, _SELU_SCALE, 1.0)


def float32_reciprocal(alpha: float) -> float:
    """1 / alpha with alpha rounded to float32 first: what PyTorch's celu backward uses, in every dtype."""
    return 1.0 / float(np.float32(alpha))


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return elu(x, alpha, 1.0, 1.0 / alpha, node=N.CeluBackward0)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return _forward("softplus", N.SoftplusBackward0, x, (beta, threshold), beta=beta, threshold=threshold)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return _forward("clamp", N.HardtanhBackward0, x, (min_val, max_val), min_val=min_val, max_val=max_val)


def hardsigmoid(x: Tensor) -> Tensor:
    return _forward("hardsigmoid", N.HardsigmoidBackward0, x)


def hardswish(x: Tensor) -> Tensor:
    return _forward("hardswish", N.HardswishBackward0, x)


def log_sigmoid(x: Tensor) -> Tensor:
    return _forward("logsigmoid", N.LogSigmoidBackward0, x)


# ---------------------------------------------------------------- fused backward ops
def silu_backward(grad_output: Tensor, self: Tensor) -> Tensor:
    """grad_output * s * (1 + self * (1 - s)), s = sigmoid(self)."""
    return _backward("silu_bw", N.SiluBackwardBackward0, grad_output, self)


def mish_backward(grad_output: Tensor, self: Tensor) -> Tensor:
    """grad_output * (t + self * sigmoid(self) * (1 - t**2)), t = tanh(softplus(self))."""
    return _backward("mish_bw", N.MishBackwardBackward0, grad_output, self)


def leaky_relu_backward(grad_output: Tensor, self: Tensor, negative_slope: float) -> Tensor:
    return _backward("leaky_relu_bw", N.LeakyReluBackwardBackward0, grad_output, self, (negative_slope,),
                     negative_slope=negative_slope)


def elu_backward(grad_output: Tensor, self: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    """grad_output * scale where self > 0, else grad_output * scale * alpha * input_scale * exp(self * input_scale)."""
    attrs = dict(alpha=alpha, scale=scale, input_scale=input_scale)
    if (alpha, scale, input_scale) == (_SELU_ALPHA, _SELU_SCALE, 1.0):
        return _backward("selu_bw", N.EluBackwardBackward0, grad_output, self, **attrs)
    if scale == 1:
        return _backward("elu_bw", N.EluBackwardBackward0, grad_output, self, (alpha, input_scale), **attrs)
    be = grad_output._backend
    g = ew("mul", grad_output._data, np.asarray(scale, grad_output._data.dtype), backend=be)
    out = ew("elu_bw", g, self._data, np.asarray(alpha, g.dtype), np.asarray(input_scale, g.dtype), backend=be)
    return record(N.EluBackwardBackward0, out, (grad_output, self), be, **attrs)


def softplus_backward(grad_output: Tensor, self: Tensor, beta: float, threshold: float) -> Tensor:
    """grad_output where self * beta > threshold, else grad_output * sigmoid(self * beta)."""
    return _backward("softplus_bw", N.SoftplusBackwardBackward0, grad_output, self, (beta, threshold),
                     beta=beta, threshold=threshold)


def hardtanh_backward(grad_output: Tensor, self: Tensor, min_val: float, max_val: float) -> Tensor:
    """grad_output where min_val < self < max_val (strictly, as PyTorch), else 0."""
    return _backward("hardtanh_bw", N.HardtanhBackwardBackward0, grad_output, self, (min_val, max_val),
                     min_val=min_val, max_val=max_val)


def hardsigmoid_backward(grad_output: Tensor, self: Tensor) -> Tensor:
    return _backward("hardsigmoid_bw", N.HardsigmoidBackwardBackward0, grad_output, self)


def hardswish_backward(grad_output: Tensor, self: Tensor) -> Tensor:
    return _backward("hardswish_bw", N.HardswishBackwardBackward0, grad_output, self)


def log_sigmoid_backward(grad_output: Tensor, self: Tensor) -> Tensor:
    """grad_output * sigmoid(-self)."""
    return _backward("logsigmoid_bw", N.LogSigmoidBackwardBackward0, grad_output, self)


# ---------------------------------------------------------------- composed activations
def softsign(x: Tensor) -> Tensor:
    return x / (x.abs() + 1)


def _dim(x: Tensor, dim: int) -> int:
    return wrap_dim(dim, x.ndim)


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), a and b the halves of x along dim."""
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _dim(x, dim)
    n = x.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    pre = (slice(None),) * d
    return x[pre + (slice(0, n // 2),)] * x[pre + (slice(n // 2, n),)].sigmoid()


def softmin(x: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1
    if dtype is not None:
        x = x.to(dtype)
    return _R.softmax(-x, dim)


def vector_norm(x: Tensor, p: float = 2.0, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The p-norm over dim, composed of differentiable ops, with PyTorch's gradient (0) where the norm is 0."""
    if dim is None:
        dim = tuple(range(x.ndim))
    if p == math.inf or p == -math.inf:
        a = x.abs()
        if x.ndim == 0:
            return a
        if len(dim) != 1:
            raise NotImplementedError("vector_norm with p=inf over several dims is not supported by nbgrad")
        return (a.max if p > 0 else a.min)(dim[0], keepdim=keepdim)[0]
    if p == 0:
        return (x != 0).to(x.dtype).sum(dim, keepdim=keepdim)
    if p == 1:
        return x.abs().sum(dim, keepdim=keepdim)
    s = (x * x).sum(dim, keepdim=keepdim) if p == 2 else (x.abs() ** p).sum(dim, keepdim=keepdim)
    zero = s == 0
    safe = _E.where(zero, 1.0, s)
    root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
    return _E.where(zero, 0.0, root)


def _no_grad_clamp_min(t: Tensor, eps: float) -> Tensor:
    """t held at or above eps, the gradient passing as if it were not (PyTorch's no_grad clamp_min_)."""
    return t + (t.clamp(min=eps) - t).detach()


def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    if out is not None:
        raise NotImplementedError("normalize(out=...) is not supported by nbgrad")
    d = _dim(x, dim) if x.ndim else 0
    denom = vector_norm(x, p, (d,) if x.ndim else (), keepdim=True).clamp(min=eps)
    return x / denom


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """<x1 / max(|x1|, eps), x2 / max(|x2|, eps)> along dim (PyTorch's formula: each operand
    normalised first; the eps clamp is not differentiated)."""
    if not (x1.dtype.is_floating_point or x2.dtype.is_floating_point):
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is {x1.dtype}")
    shape = broadcast_shape(tuple(x1.shape), tuple(x2.shape))
    if x1.shape != shape:
        x1 = x1.expand(*shape)
    if x2.shape != shape:
        x2 = x2.expand(*shape)
    d = (_dim(x1, dim) if x1.ndim else 0,)
    n1 = _no_grad_clamp_min(vector_norm(x1, 2, d, keepdim=True), eps)
    n2 = _no_grad_clamp_min(vector_norm(x2, 2, d, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(d[0] if x1.ndim else None)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """The p-norm of x1 - x2 + eps over the last dim (of the broadcast shape)."""
    nd = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    if nd == 0:
        return vector_norm(diff, p, (), keepdim=keepdim)
    return vector_norm(diff, p, (nd - 1,), keepdim=keepdim)

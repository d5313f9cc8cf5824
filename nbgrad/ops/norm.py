"""Normalisation ops (issue 17): layer_norm, rms_norm, group_norm and batch_norm with PyTorch's
arguments and errors, composed of nbgrad's differentiable ops (mean, var, sqrt, ...), so their
gradients and higher derivatives come from those ops' table entries."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import record


def _shape_list(normalized_shape: Any) -> tuple[int, ...]:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


def _check_normalized(fn: str, x: Tensor, ns: tuple, weight: Tensor | None, bias: Tensor | None) -> None:
    n = len(ns)
    if n == 0:
        raise RuntimeError(f"Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           f"element, but got normalized_shape = {list(ns)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(ns)}")
    if x.ndim < n or tuple(x.shape[x.ndim - n:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size{list(x.shape)}")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"\"{fn}\" not implemented for '{x.dtype.name}'")


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    ns = _shape_list(normalized_shape)
    _check_normalized("LayerNormKernelImpl", input, ns, weight, bias)
    wb = [t for t in (weight, bias) if t is not None]
    if not wb or any(t.dtype != input.dtype or t._backend is not input._backend for t in wb):
        return _affine(normalize_rows(input, len(ns), eps), weight, bias)
    return layer_norm_affine(input, weight, bias, len(ns), eps)


# ---- layer_norm with weight and / or bias: one row kernel forward (xhat * w + b) and one backward
# pass for all three gradients (issue 16)
def layer_norm_affine(input: Tensor, weight: Tensor | None, bias: Tensor | None,  # noqa: A002
                      normalized_ndim: int, eps: float) -> Tensor:
    """layer_norm over the last normalized_ndim dims, times weight plus bias (of those dims' shape,
    input's dtype; either may be None), in one kernel."""
    be, n = input._backend, normalized_ndim
    lead = tuple(input.shape[:input.ndim - n])
    out, mean, rstd = be.layer_norm_affine(input._data, None if weight is None else weight._data,
                                           None if bias is None else bias._data,
                                           math.prod(input.shape[input.ndim - n:]), eps)
    stat = lambda a: Tensor._wrap(be.reshape(a, lead + (1,) * n), be)  # noqa: E731
    return record(N.NativeLayerNormBackward1, out, (input, weight, bias), be,
                  save={"mean": stat(mean), "rstd": stat(rstd)}, normalized_ndim=n, eps=eps)


def layer_norm_affine_backward(grad: Tensor, input: Tensor, weight: Tensor | None, mean: Tensor,  # noqa: A002
                               rstd: Tensor, normalized_ndim: int, eps: float,
                               output_mask: Sequence[bool]) -> tuple[Tensor | None, ...]:
    """(grad_input, grad_weight, grad_bias) of layer_norm_affine, each where output_mask asks: in a
    plain backward one pass of the backend's kernel; in a create_graph backward (where they must be
    differentiable again) the same values from nbgrad's differentiable ops."""
    n = normalized_ndim
    ns = tuple(input.shape[input.ndim - n:])
    if is_grad_enabled() and any(t is not None and t.requires_grad for t in (grad, input, weight)):
        xhat = normalize_rows(input, n, eps)
        gi = gw = gb = None
        if output_mask[0]:
            gy = grad if weight is None else grad * weight
            gi = layer_norm_backward(gy, xhat, layer_norm_rstd(input, rstd, n, eps), n)
        if output_mask[1]:
            gw = (grad * xhat).sum_to_size(ns)
        if output_mask[2]:
            gb = grad.sum_to_size(ns)
        return gi, gw, gb
    be = input._backend
    g = grad._data
    if tuple(g.shape) != tuple(input.shape):
        g = be.broadcast_to(g, input.shape)
    gi, gw, gb = be.layer_norm_affine_backward(g, input._data, None if weight is None else weight._data,
                                               mean._data, rstd._data, math.prod(ns), output_mask[0])
    wrap = lambda a: Tensor._wrap(be.reshape(a, ns), be)  # noqa: E731
    return (None if gi is None else Tensor._wrap(gi, be), wrap(gw) if output_mask[1] else None,
            wrap(gb) if output_mask[2] else None)


# ---- layer_norm's normalisation: one row kernel forward and one backward, each an op with an entry
def _normalize(x: Tensor, n: int, eps: float) -> tuple[Tensor, Tensor]:
    be = x._backend
    y, rstd = be.layer_norm(x._data, math.prod(x.shape[x.ndim - n:]), eps)
    r = Tensor._wrap(be.reshape(rstd, tuple(x.shape[:x.ndim - n]) + (1,) * n), be)
    return record(N.NativeLayerNormBackward0, y, (x,), be, save={"rstd": r}, normalized_ndim=n, eps=eps), r


def normalize_rows(x: Tensor, normalized_ndim: int, eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over the last normalized_ndim dims (layer_norm without affine)."""
    return _normalize(x, normalized_ndim, eps)[0]


def layer_norm_rstd(input: Tensor, rstd: Tensor, normalized_ndim: int, eps: float) -> Tensor:  # noqa: A002
    """1 / sqrt(var + eps) of each row: the saved one, or (in a create_graph backward) the same
    value recomputed from input in differentiable ops, so that second derivatives see it depend on input."""
    if not is_grad_enabled() or not input.requires_grad:
        return rstd
    dims = tuple(range(input.ndim - normalized_ndim, input.ndim))
    return (input.var(dims, correction=0, keepdim=True) + eps) ** -0.5


def layer_norm_backward(grad_output: Tensor, output: Tensor, rstd: Tensor, normalized_ndim: int) -> Tensor:
    """The normalisation's input gradient from its output y: rstd * (g - mean(g) - y * mean(g * y))."""
    be = output._backend
    cols = math.prod(output.shape[output.ndim - normalized_ndim:])
    g = grad_output._data
    if tuple(g.shape) != tuple(output.shape):
        g = be.broadcast_to(g, output.shape)
    out = be.layer_norm_backward(g, output._data, rstd._data, cols)
    return record(N.LayerNormBackwardBackward0, out, (grad_output, output, rstd), be, normalized_ndim=normalized_ndim)


def _row_mean(x: Tensor, n: int) -> Tensor:
    return x.mean(tuple(range(x.ndim - n, x.ndim)), keepdim=True)


def layer_norm_backward_output(grad: Tensor, grad_output: Tensor, output: Tensor, rstd: Tensor,
                               normalized_ndim: int) -> Tensor:
    """d<grad, layer_norm_backward(g, y, r)>/dy = -r * (grad * mean(g * y) + g * mean(grad * y))."""
    n = normalized_ndim
    return -rstd * (grad * _row_mean(grad_output * output, n) + grad_output * _row_mean(grad * output, n))


def layer_norm_backward_rstd(grad: Tensor, grad_output: Tensor, output: Tensor, normalized_ndim: int) -> Tensor:
    """d<grad, layer_norm_backward(g, y, r)>/dr = row sums of grad * (g - mean(g) - y * mean(g * y))."""
    n = normalized_ndim
    g = grad_output
    d = grad * (g - _row_mean(g, n) - output * _row_mean(g * output, n))
    return d.sum(tuple(range(d.ndim - n, d.ndim)), keepdim=True)


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,  # noqa: A002
             eps: float | None = None) -> Tensor:
    ns = _shape_list(normalized_shape)
    _check_normalized("rms_norm", input, ns, weight, None)
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - len(ns), input.ndim))
    ms = (input * input).mean(dims, keepdim=True)
    return _affine(input / (ms + eps).sqrt(), weight, None)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.shape[0] != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {list(t.shape)} and input of shape {list(input.shape)}")
    rest = tuple(input.shape[2:])
    g = input.reshape(n, num_groups, -1)
    xc = g - g.mean(2, keepdim=True)
    var = (xc * xc).mean(2, keepdim=True)
    y = (xc / (var + eps).sqrt()).reshape(input.shape)
    bshape = (c,) + (1,) * len(rest)
    return _affine(y, None if weight is None else weight.reshape(bshape), None if bias is None else bias.reshape(bshape))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float | None = 0.1, eps: float = 1e-5) -> Tensor:
    """PyTorch's F.batch_norm: training (or no running statistics) normalises by the batch's
    statistics and, with running statistics, updates them in place (momentum=None: a cumulative
    average is the caller's, as in nn.BatchNorm, which passes 1/num_batches_tracked); else by the
    running statistics."""
    if input.ndim < 2:
        raise ValueError(f"Expected 2D or 3D input (got {input.ndim}D input)") if input.ndim == 1 else \
            ValueError(f"Expected more than 1D input (got {input.ndim}D input)")
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    dims = (0,) + tuple(range(2, input.ndim))
    bshape = (1, c) + (1,) * (input.ndim - 2)
    if training or running_mean is None or running_var is None:
        count = math.prod(input.shape[d] for d in dims)
        if training and count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(input.shape)}")
        mean = input.mean(dims, keepdim=True)
        xc = input - mean
        var = (xc * xc).mean(dims, keepdim=True)
        if training and running_mean is not None and running_var is not None:
            m = 0.0 if momentum is None else momentum
            with no_grad():
                unbiased = var.detach().reshape(c) * (count / (count - 1))
                running_mean.mul_(1 - m).add_(mean.detach().reshape(c).to(running_mean.dtype) * m)
                running_var.mul_(1 - m).add_(unbiased.to(running_var.dtype) * m)
        y = xc / (var + eps).sqrt()
    else:
        y = (input - running_mean.reshape(bshape)) / (running_var.reshape(bshape) + eps).sqrt()
    return _affine(y, None if weight is None else weight.reshape(bshape), None if bias is None else bias.reshape(bshape))

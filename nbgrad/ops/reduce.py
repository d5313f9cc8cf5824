"""Reductions: sum, mean, max/min, var/std, softmax, log_softmax, logsumexp, and the fused
backward ops of softmax, log_softmax and max/min along a dim."""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from typing import Any

import numpy as np

from .._dtype import float32
from ..backends.plan import wrap_dim, wrap_dims
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import ew, numpy_aliases, record
from . import elementwise as _E
from . import math as _M

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _axes(x: Tensor, dim: Any) -> tuple[int, ...]:
    """The reduced dims, sorted (none for a 0-d tensor, whose dims -1 and 0 are accepted)."""
    if dim is None:
        return tuple(range(x.ndim))
    axes = wrap_dims(dim, x.ndim)
    return tuple(sorted(axes)) if x.ndim else ()


@numpy_aliases
def sum(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A001
    if dtype is not None:
        x = x.to(dtype)
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None  # PyTorch: sum/mean over an empty dim list reduce every dimension
    axes = _axes(x, dim)
    be = x._backend
    src = x._data if x.dtype.name != "bool" else x._data.astype(np.int64)
    out = be.sum(src, axes, keepdim)
    if dim is None:
        return record(N.SumBackward0, out, (x,), be)
    return record(N.SumBackward1, out, (x,), be, dim=axes, keepdim=keepdim)


@numpy_aliases
def mean(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {x.dtype.name.capitalize()}"
        )
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None
    axes = _axes(x, dim)
    n = math.prod(x.shape[a] for a in axes)
    be = x._backend
    s = be.sum(x._data, axes, keepdim)
    out = ew("div", s, np.asarray(n, s.dtype), backend=be) if n else ew("mul", s, np.asarray(np.nan, s.dtype), backend=be)
    scale = 1.0 / n if n else np.nan
    if dim is None:
        return record(N.MeanBackward0, out, (x,), be, scale=scale)
    return record(N.MeanBackward1, out, (x,), be, dim=axes, keepdim=keepdim, scale=scale)


def _argext(x: Tensor, src: Any, axis: int, keepdim: bool, want_max: bool) -> tuple[Any, Any]:
    """be.argext; booleans and unsigned integers as int64 (the kernels compare signed values)."""
    be = x._backend
    if src.dtype.kind not in "bu":
        return be.argext(src, axis, keepdim, want_max)
    vals, idx = be.argext(be.astype(src, np.dtype(np.int64)), axis, keepdim, want_max)
    return be.astype(vals, src.dtype), idx


def _extreme(x: Tensor, dim: Any, keepdim: bool, want_max: bool, name: str = "") -> Any:
    be = x._backend
    name = name or ("max" if want_max else "min")
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        flat = x._data.reshape(-1)
        vals, _ = _argext(x, flat, 0, False, want_max)
        out = vals.reshape(())
        return record(N.MaxBackward0 if want_max else N.MinBackward0, out, (x,), be)
    axis = wrap_dim(dim, x.ndim)
    if x.ndim and x.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
    src = x._data if x.ndim else x._data.reshape(1)
    vals, idx = _argext(x, src, axis, keepdim or x.ndim == 0, want_max)
    if x.ndim == 0:
        vals, idx = vals.reshape(()), idx.reshape(())
    it = Tensor._wrap(idx, be)
    vt = record(N.MaxBackward1 if want_max else N.MinBackward1, vals, (x,), be, save={"indices": it},
                dim=axis, keepdim=keepdim or x.ndim == 0)
    return ValuesIndices(vt, it)


@numpy_aliases
def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    if isinstance(dim, Tensor):
        return _E.maximum(x, dim)
    return _extreme(x, dim, keepdim, True)


@numpy_aliases
def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    if isinstance(dim, Tensor):
        return _E.minimum(x, dim)
    return _extreme(x, dim, keepdim, False)


def _amax(x: Tensor, dim: Any, keepdim: bool, want_max: bool) -> Tensor:
    name = "amax" if want_max else "amin"
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None  # every dim
    if dim is None and x.numel() == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")
    axes = _axes(x, dim)
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")
    be = x._backend
    keep = [a for a in range(x.ndim) if a not in axes]
    # the reduced dims last, as one (a detached copy: no node)
    rows = x.detach().permute(*keep, *axes).reshape(*(x.shape[a] for a in keep), math.prod(x.shape[a] for a in axes))
    out, _ = _argext(x, rows._data, len(keep), False, want_max)
    if keepdim:
        out = out.reshape([1 if a in axes else s for a, s in enumerate(x.shape)])
    return record(N.AmaxBackward0 if want_max else N.AminBackward0, out, (x,), be, dim=axes, keepdim=keepdim)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """The largest value over dim (an int or a tuple; () is every dim); the gradient is shared
    evenly among the elements equal to it."""
    return _amax(input, dim, keepdim, True)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """The smallest value over dim (an int or a tuple; () is every dim); the gradient is shared
    evenly among the elements equal to it."""
    return _amax(input, dim, keepdim, False)


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """sum with the nans counted as 0 (their gradient is 0)."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        return sum(input, dim, keepdim)
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None
    axes = _axes(input, dim)
    be = input._backend
    x = input._data
    clean = ew("where", ew("isnan", x, dt=np.dtype(bool), backend=be), np.asarray(0, x.dtype), x, backend=be)
    out = be.sum(clean, axes, keepdim)
    return record(N.NansumBackward0, out, (input,), be, dim=axes, keepdim=keepdim)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """The mean of the values that are not nan (nan where there are none)."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_M._TORCH_NAMES[input.dtype.name]}")
    count = sum(input.isnan().logical_not(), dim, keepdim)
    return nansum(input, dim, keepdim) / count


def _arg(x: Tensor, dim: Any, keepdim: bool, want_max: bool) -> Tensor:
    name = "argmax" if want_max else "argmin"
    if x.dtype.name == "bool":
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if x.numel() == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        return _extreme(x.reshape(-1), 0, False, want_max, name).indices
    return _extreme(x, dim, keepdim, want_max, name).indices


@numpy_aliases
def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg(x, dim, keepdim, True)


@numpy_aliases
def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg(x, dim, keepdim, False)


def value_selecting_reduction_backward(grad: Tensor, dim: int, indices: Tensor, shape: tuple,
                                       keepdim: bool) -> Tensor:
    """max / min along dim, backward: zeros of `shape` with grad put at the selected indices."""
    be = grad._backend
    g, i = grad._data, indices._data
    if not keepdim:
        g, i = be.reshape(g, _keep_shape(g.shape, dim)), be.reshape(i, _keep_shape(i.shape, dim))
    out = be.scatter_along_axis(tuple(shape), i, g, dim)
    return record(N.ValueSelectingReductionBackwardBackward0, out, (grad,), be, save={"indices": indices},
                  dim=dim, keepdim=keepdim)


def _keep_shape(shape: tuple, dim: int) -> tuple:
    return shape[:dim] + (1,) + shape[dim:]


def _var(x: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any, std: bool) -> Tensor:
    if not x.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    axes = _axes(x, dim)
    n = math.prod(x.shape[a] for a in axes)
    be = x._backend
    m = ew("div", be.sum(x._data, axes, True), np.asarray(n, x.dtype.np), backend=be)
    d = ew("sub", x._data, m, backend=be)
    ss = be.sum(ew("mul", d, d, backend=be), axes, keepdim)
    denom = n - correction
    if denom <= 0:
        warnings.warn(f"{'std' if std else 'var'}(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the reduction factor (input numel divided by output numel).", stacklevel=4)
    out = ew("div", ss, np.asarray(denom if denom > 0 else 0, ss.dtype), backend=be)
    if std:
        out = ew("sqrt", out, backend=be)
    node = N.StdBackward0 if std else N.VarBackward0
    return record(node, out, (x,), be, dim=None if dim is None else axes, keepdim=keepdim, correction=correction)


@numpy_aliases
def var(x: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    if isinstance(unbiased, bool) is False and unbiased is not None and dim is None:
        dim, unbiased = unbiased, None
    return _var(x, dim, unbiased, keepdim, correction, False)


@numpy_aliases
def std(x: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    if isinstance(unbiased, bool) is False and unbiased is not None and dim is None:
        dim, unbiased = unbiased, None
    return _var(x, dim, unbiased, keepdim, correction, True)


_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long"}


def _float(x: Tensor, dtype: Any, kernel: str) -> Tensor:
    """x in `dtype` when given; else x, which must be floating (PyTorch's error otherwise)."""
    if dtype is not None:
        return x.to(dtype)
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_TORCH_NAMES[x.dtype.name]}\'')
    return x


def _softmax(x: Tensor, dim: int, log: bool) -> Tensor:
    axis = wrap_dim(dim, x.ndim)
    be = x._backend
    src = x._data if x.ndim else x._data.reshape(1)
    out = be.softmax(src, axis, log).reshape(x.shape)
    return record(N.LogSoftmaxBackward0 if log else N.SoftmaxBackward0, out, (x,), be, dim=axis)


@numpy_aliases
def softmax(x: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return _softmax(_float(x, dtype, "softmax_lastdim_kernel_impl"), dim, False)


@numpy_aliases
def log_softmax(x: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return _softmax(_float(x, dtype, "log_softmax_lastdim_kernel_impl"), dim, True)


def _softmax_bw(grad_output: Tensor, output: Tensor, dim: int, log: bool) -> Tensor:
    be = output._backend
    y, g = output._data, grad_output._data
    if y.ndim == 0:
        y, g = y.reshape(1), g.reshape(1)
    out = be.softmax_backward(y, g, dim, log).reshape(output.shape)
    node = N.LogSoftmaxBackwardDataBackward0 if log else N.SoftmaxBackwardDataBackward0
    return record(node, out, (grad_output, output), be, dim=dim)


def softmax_backward_data(grad_output: Tensor, output: Tensor, dim: int) -> Tensor:
    """softmax's backward, fused: output * (grad_output - sum(grad_output * output, dim))."""
    return _softmax_bw(grad_output, output, dim, False)


def log_softmax_backward_data(grad_output: Tensor, output: Tensor, dim: int) -> Tensor:
    """log_softmax's backward, fused: grad_output - exp(output) * sum(grad_output, dim)."""
    return _softmax_bw(grad_output, output, dim, True)


@numpy_aliases
def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    x = x if x.dtype.is_floating_point else x.to(float32)  # PyTorch accepts integers here
    axes = _axes(x, dim)
    be = x._backend
    keep = [a for a in range(x.ndim) if a not in axes]
    xt = be.permute(x._data, tuple(keep) + tuple(axes))
    k = math.prod(x.shape[a] for a in axes)
    rows = xt.reshape(xt.shape[: len(keep)] + (k,))
    if k == 0:  # the log of an empty sum
        out = be.full(rows.shape[:-1], -np.inf, x.dtype.np)
    else:
        out = be.logsumexp(rows, len(keep)) if x.ndim else x._data.copy()
    if keepdim:
        out = out.reshape([1 if a in axes else s for a, s in enumerate(x.shape)])
    return record(N.LogsumexpBackward0, out, (x,), be, dim=axes, keepdim=keepdim)

"""Reductions: sum, mean, max/min, var/std, softmax, log_softmax, logsumexp."""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any

import numpy as np

from .._dtype import float32
from ..backends import BroadcastTo
from ..autograd.function import Node
from ..tensor import Tensor
from ._core import ew, record

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _axes(x: Tensor, dim: Any) -> tuple[int, ...]:
    nd = builtins.max(x.ndim, 1)
    if dim is None:
        return tuple(range(x.ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not -nd <= d < nd:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {d})"
            )
        out.append(d % nd if x.ndim else 0)
    if x.ndim == 0:
        return ()
    return tuple(sorted(set(out)))


def _expand_back(be: Any, g: Any, shape: tuple, axes: tuple, keepdim: bool) -> Any:
    """Broadcast a reduced gradient back over the reduced axes."""
    if not keepdim:
        g = be.reshape(g, tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return be.view(g, BroadcastTo(shape))


class SumBackward1(Node):
    name = "SumBackward1"
    formula = "self: grad expanded over the summed dims"

    def backward(self, g: Any) -> tuple:
        shape = self.input_shapes[0][0]
        return (ew("mul", _expand_back(self.backend, g, shape, self.axes, self.keepdim),
                   np.asarray(self.scale, g.dtype), backend=self.backend),)


class SumBackward0(SumBackward1):
    name = "SumBackward0"


class MeanBackward1(SumBackward1):
    name = "MeanBackward1"
    formula = "self: grad expanded / N"


class MeanBackward0(MeanBackward1):
    name = "MeanBackward0"


def sum(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A001
    if dtype is not None:
        x = x.to(dtype)
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None  # PyTorch: sum/mean over an empty dim list reduce every dimension
    axes = _axes(x, dim)
    be = x._backend
    src = x._data if x.dtype.name != "bool" else x._data.astype(np.int64)
    out = be.sum(src, axes, keepdim)
    node = SumBackward0 if dim is None else SumBackward1
    return record(node, out, (x,), be, axes=axes, keepdim=keepdim, scale=1.0)


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
    node = MeanBackward0 if dim is None else MeanBackward1
    return record(node, out, (x,), be, axes=axes, keepdim=keepdim, scale=1.0 / n if n else np.nan)


class MaxBackward1(Node):
    name = "MaxBackward1"
    formula = "self: grad scattered to the argmax index"

    def backward(self, g: Any) -> tuple:
        idx = self.saved("indices")
        shape = self.input_shapes[0][0]
        be, ax = self.backend, self.axis
        gk = g if self.keepdim else be.view(g, lambda a: np.expand_dims(a, ax))
        ik = idx if self.keepdim else be.view(idx, lambda a: np.expand_dims(a, ax))
        return (be.scatter_along_axis(shape, ik, gk, ax),)


class MinBackward1(MaxBackward1):
    name = "MinBackward1"
    formula = "self: grad scattered to the argmin index"


class MaxBackward0(Node):
    name = "MaxBackward0"
    formula = "self: grad split evenly among the elements equal to the max"

    def backward(self, g: Any) -> tuple:
        x, y = self.saved("self"), self.saved("result")
        be = self.backend
        mask = ew("eq", x, y, dt=np.dtype(bool), backend=be)
        cnt = be.sum(mask.astype(np.int64), tuple(range(x.ndim)), False)
        share = ew("div", g, cnt, dt=g.dtype, backend=be)
        return (ew("where", mask, share, np.zeros((), g.dtype), backend=be),)


class MinBackward0(MaxBackward0):
    name = "MinBackward0"
    formula = "self: grad split evenly among the elements equal to the min"


def _extreme(x: Tensor, dim: Any, keepdim: bool, want_max: bool) -> Any:
    be = x._backend
    if x.numel() == 0:
        raise RuntimeError(f"{'max' if want_max else 'min'}(): Expected reduction dim to be specified "
                           "for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
    if dim is None:
        flat = x._data.reshape(-1)
        vals, _ = be.argext(flat.reshape(1, -1, 1).reshape(-1), 0, False, want_max)
        out = vals.reshape(())
        node = MaxBackward0 if want_max else MinBackward0
        return record(node, out, (x,), be, save={"self": x}, save_out="result")
    axis = _axes(x, dim)[0] if x.ndim else 0
    src = x._data if x.ndim else x._data.reshape(1)
    vals, idx = be.argext(src, axis, keepdim or x.ndim == 0, want_max)
    if x.ndim == 0:
        vals, idx = vals.reshape(()), idx.reshape(())
    node = MaxBackward1 if want_max else MinBackward1
    vt = record(node, vals, (x,), be, axis=axis, keepdim=keepdim or x.ndim == 0)
    it = Tensor._wrap(idx, be)
    if vt.grad_fn is not None:
        vt.grad_fn.save(indices=it)
    return ValuesIndices(vt, it)


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    if isinstance(dim, Tensor):
        from .elementwise import maximum

        return maximum(x, dim)
    return _extreme(x, dim, keepdim, True)


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    if isinstance(dim, Tensor):
        from .elementwise import minimum

        return minimum(x, dim)
    return _extreme(x, dim, keepdim, False)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return _extreme(x.reshape(-1), 0, False, True).indices
    return _extreme(x, dim, keepdim, True).indices


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return _extreme(x.reshape(-1), 0, False, False).indices
    return _extreme(x, dim, keepdim, False).indices


class VarBackward0(Node):
    name = "VarBackward0"
    formula = "self: grad * 2 * (self - mean) / (N - correction)"

    def backward(self, g: Any) -> tuple:
        x = self.saved("self")
        be = self.backend
        shape = x.shape
        d = ew("sub", x, ew("div", be.sum(x, self.axes, True), np.asarray(self.n, x.dtype), backend=be), backend=be)
        gk = _expand_back(be, g, shape, self.axes, self.keepdim)
        if self.name == "StdBackward0":
            y = self.saved("result")
            yk = _expand_back(be, y, shape, self.axes, self.keepdim)
            gk = ew("div", gk, ew("mul", yk, np.asarray(2, yk.dtype), backend=be), backend=be)
            # PyTorch masks the gradient to 0 where std == 0
            zero = ew("eq", yk, np.zeros((), yk.dtype), dt=np.dtype(bool), backend=be)
            gk = ew("where", zero, np.zeros((), gk.dtype), gk, backend=be)
        return (ew("mul", ew("mul", gk, d, backend=be), np.asarray(2.0 / self.denom, g.dtype), backend=be),)


class StdBackward0(VarBackward0):
    name = "StdBackward0"
    formula = "self: grad * (self - mean) / ((N - correction) * result)"


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
    out = ew("div", ss, np.asarray(denom if denom > 0 else 0, ss.dtype), backend=be)
    if std:
        out = ew("sqrt", out, backend=be)
    node = StdBackward0 if std else VarBackward0
    return record(node, out, (x,), be, save={"self": x}, save_out="result" if std else None,
                  axes=axes, keepdim=keepdim, n=n, denom=denom)


def var(x: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    if isinstance(unbiased, bool) is False and unbiased is not None and dim is None:
        dim, unbiased = unbiased, None
    return _var(x, dim, unbiased, keepdim, correction, False)


def std(x: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    if isinstance(unbiased, bool) is False and unbiased is not None and dim is None:
        dim, unbiased = unbiased, None
    return _var(x, dim, unbiased, keepdim, correction, True)


class SoftmaxBackward0(Node):
    name = "SoftmaxBackward0"
    formula = "self: result * (grad - sum(grad * result, dim))"

    def backward(self, g: Any) -> tuple:
        y = self.saved("result")
        return (self.backend.softmax_backward(y, g, self.axis, self.name.startswith("Log")),)


class LogSoftmaxBackward0(SoftmaxBackward0):
    name = "LogSoftmaxBackward0"
    formula = "self: grad - exp(result) * sum(grad, dim)"


_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long"}


def _float(x: Tensor, dtype: Any, kernel: str) -> Tensor:
    """x in `dtype` when given; else x, which must be floating (PyTorch's error otherwise)."""
    if dtype is not None:
        return x.to(dtype)
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_TORCH_NAMES[x.dtype.name]}\'')
    return x


def softmax(x: Tensor, dim: int, dtype: Any = None) -> Tensor:
    x = _float(x, dtype, "softmax_lastdim_kernel_impl")
    axis = _axes(x, dim)[0] if x.ndim else 0
    be = x._backend
    src = x._data if x.ndim else x._data.reshape(1)
    out = be.softmax(src, axis, False).reshape(x.shape)
    return record(SoftmaxBackward0, out, (x,), be, save_out="result", axis=axis)


def log_softmax(x: Tensor, dim: int, dtype: Any = None) -> Tensor:
    x = _float(x, dtype, "log_softmax_lastdim_kernel_impl")
    axis = _axes(x, dim)[0] if x.ndim else 0
    be = x._backend
    src = x._data if x.ndim else x._data.reshape(1)
    out = be.softmax(src, axis, True).reshape(x.shape)
    return record(LogSoftmaxBackward0, out, (x,), be, save_out="result", axis=axis)


class LogsumexpBackward0(Node):
    name = "LogsumexpBackward0"
    formula = "self: grad * exp(self - result)"

    def backward(self, g: Any) -> tuple:
        x, y = self.saved("self"), self.saved("result")
        be = self.backend
        shape = x.shape
        yk = _expand_back(be, y, shape, self.axes, self.keepdim)
        gk = _expand_back(be, g, shape, self.axes, self.keepdim)
        return (ew("mul", gk, ew("exp", ew("sub", x, yk, backend=be), backend=be), backend=be),)


def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    x = x if x.dtype.is_floating_point else x.to(float32)  # PyTorch accepts integers here
    axes = _axes(x, dim)
    be = x._backend
    keep = [a for a in range(x.ndim) if a not in axes]
    xt = be.view(x._data, lambda a: np.transpose(a, keep + list(axes)))
    rows = xt.reshape(xt.shape[: len(keep)] + (-1,))
    out = be.logsumexp(rows, len(keep)) if x.ndim else x._data.copy()
    if keepdim:
        out = out.reshape([1 if a in axes else s for a, s in enumerate(x.shape)])
    return record(LogsumexpBackward0, out, (x,), be, save={"self": x}, save_out="result",
                  axes=axes, keepdim=keepdim)

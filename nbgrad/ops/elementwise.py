"""Elementwise ops. Each forward runs one kernel whose scalar math is in
backends/shared/scalar.py ELEMENTWISE; its derivative is its node's entry in derivatives_table.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dtype import float32, result_type
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import as_tensor_like, ew, number_array, record


def _ops(a: Any, b: Any) -> tuple[Tensor, Tensor, Any]:
    """Two operands as Tensors on one device, and their result dtype (PyTorch's promotion)."""
    if a.__class__ is Tensor and b.__class__ is Tensor and a._data.dtype is b._data.dtype \
            and a._backend is b._backend:
        return a, b, a.dtype  # the common case in formulas and training loops
    if isinstance(a, Tensor):
        dt = result_type(a, b)
        return a, as_tensor_like(b, a, dt, wrap=True), dt
    dt = result_type(a, b)
    return as_tensor_like(a, b, dt, wrap=True), b, dt


def _scalar_arg(x: Any, like: Tensor) -> Any:
    return np.asarray(x, like._data.dtype)


# ---------------------------------------------------------------- add / sub
_BOOL_SUB = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert "
             "a mask, use the `~` or `logical_not()` operator instead.")


def add(a: Any, b: Any, alpha: float = 1) -> Tensor:
    a, b, dt = _ops(a, b)
    be = a._backend
    bb = b._data if alpha == 1 else ew("mul", b._data, np.asarray(alpha, b.dtype.np), backend=be)
    out = ew("add", a._data, bb, dt=dt.np, backend=be)
    return record(N.AddBackward0, out, (a, b), be, alpha=alpha)


def sub(a: Any, b: Any, alpha: float = 1) -> Tensor:
    if isinstance(a, Tensor) and a.dtype.name == "bool":
        raise RuntimeError(_BOOL_SUB)
    if not isinstance(a, Tensor):
        return rsub(b, a, alpha)
    a, b, dt = _ops(a, b)
    be = a._backend
    bb = b._data if alpha == 1 else ew("mul", b._data, np.asarray(alpha, b.dtype.np), backend=be)
    out = ew("sub", a._data, bb, dt=dt.np, backend=be)
    return record(N.SubBackward0, out, (a, b), be, alpha=alpha)


def rsub(t: Tensor, x: Any, alpha: float = 1) -> Tensor:
    """x - alpha * t for a Python number x."""
    if isinstance(x, Tensor):
        return sub(x, t, alpha)
    if t.dtype.name == "bool":
        raise RuntimeError(_BOOL_SUB)
    dt = result_type(t, x)
    be = t._backend
    td = t._data if alpha == 1 else ew("mul", t._data, np.asarray(alpha, t.dtype.np), backend=be)
    out = ew("sub", number_array(x, dt.np), td, dt=dt.np, backend=be)
    return record(N.RsubBackward1, out, (t,), be, alpha=alpha, other=x)


# ---------------------------------------------------------------- mul / div
def mul(a: Any, b: Any) -> Tensor:
    a, b, dt = _ops(a, b)
    be = a._backend
    out = ew("mul", a._data, b._data, dt=dt.np, backend=be)
    return record(N.MulBackward0, out, (a, b), be)


def div(a: Any, b: Any, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is not None:
        return _M.div_rounded(a, b, rounding_mode)
    a, b, dt = _ops(a, b)
    if not dt.is_floating_point:
        dt = float32
    a2 = a if a.dtype == dt else a.to(dt)
    b2 = b if b.dtype == dt else b.to(dt)
    be = a._backend
    out = ew("div", a2._data, b2._data, dt=dt.np, backend=be)
    return record(N.DivBackward0, out, (a, b), be, save={"self": a2, "other": b2})


# ---------------------------------------------------------------- pow
def pow(a: Any, b: Any) -> Tensor:  # noqa: A001
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        dt = result_type(a, b)
        if not dt.is_floating_point and dt.name != "bool" and b < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        x = a if a.dtype == dt else a.to(dt)
        be = a._backend
        out = ew("pow", x._data, number_array(b, dt.np, wrap=False), dt=dt.np, backend=be)
        return record(N.PowBackward0, out, (a,), be, save={"self": x}, exponent=b)
    if not isinstance(a, Tensor):
        dt = result_type(b, a)
        be = b._backend
        e = b if b.dtype == dt else b.to(dt)
        out = ew("pow", number_array(a, dt.np), e._data, dt=dt.np, backend=be)
        return record(N.PowBackward2, out, (b,), be, save={"exponent": e}, base=a)
    a, b, dt = _ops(a, b)
    x, p = (a if a.dtype == dt else a.to(dt)), (b if b.dtype == dt else b.to(dt))
    be = a._backend
    out = ew("pow", x._data, p._data, dt=dt.np, backend=be)
    return record(N.PowBackward1, out, (a, b), be, save={"self": x, "exponent": p})


# ---------------------------------------------------------------- unary
_UNARY = {  # op: (node, computes in floating point)
    "exp": (N.ExpBackward0, True), "log": (N.LogBackward0, True), "log1p": (N.Log1PBackward0, True),
    "sqrt": (N.SqrtBackward0, True), "abs": (N.AbsBackward0, False), "sin": (N.SinBackward0, True),
    "cos": (N.CosBackward0, True), "tanh": (N.TanhBackward0, True), "sigmoid": (N.SigmoidBackward0, True),
    "relu": (N.ReluBackward0, False),
}


def unary(op: str, x: Tensor) -> Tensor:
    node_cls, needs_float = _UNARY[op]
    xin = x if not needs_float or x.dtype.is_floating_point else x.to(float32)
    be = x._backend
    out = ew(op, xin._data, backend=be)
    return record(node_cls, out, (x,), be, save={"self": xin})


def neg(x: Tensor) -> Tensor:
    if x.dtype.name == "bool":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported.")
    return record(N.NegBackward0, ew("neg", x._data, backend=x._backend), (x,), x._backend)


def _sign(node: Any, x: Tensor) -> Tensor:
    be = x._backend
    if x.dtype.name == "bool":
        return Tensor._wrap(be.copy(x._data), be)
    return record(node, ew("sign", x._data, backend=be), (x,), be)


def sgn(x: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (0 for nan, as PyTorch); its gradient is zero."""
    return _sign(N.SgnBackward0, x)


def sign(x: Tensor) -> Tensor:
    """sgn for real tensors (SignBackward0)."""
    return _sign(N.SignBackward0, x)


# ---------------------------------------------------------------- fused backward ops
def _fused(kernel: str, node_cls: Any, grad: Tensor, *operands: Tensor, extra: tuple = (), **attrs: Any) -> Tensor:
    """A backward kernel over grad and operands (broadcast), recorded as an op of its own:
    grad and `operands` are its inputs, `extra` (name, tensor) pairs are saved alongside."""
    be, d = grad._backend, grad._data
    args = [d]
    for o in operands:
        args.append(o._data)
    for _, v in extra:
        args.append(v._data)
    shape, dt = d.shape, d.dtype
    for a in args:
        if a.shape != shape or a.dtype != dt:
            out = ew(kernel, *args, backend=be)  # broadcast or promote
            break
    else:
        out = be.elementwise(kernel, args, shape, dt)
    return record(node_cls, out, (grad, *operands), be, save=dict(extra) if extra else None, **attrs)


def tanh_backward(grad_output: Tensor, output: Tensor) -> Tensor:
    """grad_output * (1 - output**2)."""
    return _fused("tanh_bw", N.TanhBackwardBackward0, grad_output, output)


def sigmoid_backward(grad_output: Tensor, output: Tensor) -> Tensor:
    """grad_output * output * (1 - output)."""
    return _fused("sigmoid_bw", N.SigmoidBackwardBackward0, grad_output, output)


def threshold_backward(grad_output: Tensor, self: Tensor, threshold: float) -> Tensor:
    """grad_output where self > threshold, else 0."""
    if threshold != 0:
        return where(gt(self, threshold), grad_output, 0)
    return _fused("relu_bw", N.ThresholdBackwardBackward0, grad_output, self, threshold=threshold)


def clamp_backward(grad_output: Tensor, self: Tensor, min: float, max: float) -> Tensor:  # noqa: A002
    """grad_output where min <= self <= max, else 0."""
    dt = self._data.dtype
    lo, hi = Tensor._wrap(np.asarray(min, dt), self._backend), Tensor._wrap(np.asarray(max, dt), self._backend)
    be = grad_output._backend
    out = ew("clamp_bw", grad_output._data, self._data, lo._data, hi._data, backend=be)
    return record(N.ClampBackwardBackward0, out, (grad_output,), be, save={"self": self}, min=min, max=max)


def max_backward(grad_output: Tensor, self: Tensor, other: Tensor) -> Tensor:
    """grad_output where self > other, half of it where they are equal (maximum's rule)."""
    return _fused("max_bw_a", N.MaxBackwardBackward0, grad_output, extra=(("self", self), ("other", other)))


def min_backward(grad_output: Tensor, self: Tensor, other: Tensor) -> Tensor:
    """grad_output where self < other, half of it where they are equal (minimum's rule)."""
    return _fused("min_bw_a", N.MinBackwardBackward0, grad_output, extra=(("self", self), ("other", other)))


# ---------------------------------------------------------------- clamp / maximum / where
def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _M.clamp_tensors(x, min, max)
    dt = result_type(x, *(v for v in (min, max) if v is not None))
    xin = x if x.dtype == dt else x.to(dt)
    lo = -np.inf if min is None else min
    hi = np.inf if max is None else max
    be = x._backend
    if not dt.is_floating_point:
        lo = np.iinfo(dt.np).min if min is None else min
        hi = np.iinfo(dt.np).max if max is None else max
    # min > max: every value becomes max (the kernel is PyTorch's min(max(x, min), max)); nan bounds propagate
    out = ew("clamp", xin._data, np.asarray(lo, dt.np), np.asarray(hi, dt.np), backend=be)
    return record(N.ClampBackward1, out, (x,), be, save={"self": xin}, min=lo, max=hi)


def _maxmin(op: str, node: Any, a: Tensor, b: Any) -> Tensor:
    if not isinstance(b, Tensor):
        raise TypeError(f"{op}(): argument 'other' must be Tensor, not {type(b).__name__}")
    a, b, dt = _ops(a, b)
    a2, b2 = (a if a.dtype == dt else a.to(dt)), (b if b.dtype == dt else b.to(dt))
    be = a._backend
    out = ew(op, a2._data, b2._data, dt=dt.np, backend=be)
    return record(node, out, (a, b), be, save={"self": a2, "other": b2})


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return _maxmin("maximum", N.MaximumBackward0, a, b)


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return _maxmin("minimum", N.MinimumBackward0, a, b)


def where(condition: Tensor, a: Any, b: Any) -> Tensor:
    if not isinstance(condition, Tensor) or condition.dtype.name != "bool":
        raise RuntimeError("where expected condition to be a boolean tensor")
    like = a if isinstance(a, Tensor) else (b if isinstance(b, Tensor) else condition)
    dt = result_type(a, b)
    at = as_tensor_like(a, like, dt)
    bt = as_tensor_like(b, like, dt)
    be = like._backend
    shape = tuple(np.broadcast_shapes(condition.shape, at.shape, bt.shape))
    out = ew("where", condition._data, at._data.astype(dt.np, copy=False), bt._data.astype(dt.np, copy=False),
             shape=shape, dt=dt.np, backend=be)
    return record(N.WhereBackward0, out, (condition, at, bt), be)


# ---------------------------------------------------------------- comparisons (no grad)
def compare(op: str, a: Tensor, b: Any) -> Tensor:
    a, b, dt = _ops(a, b)
    be = a._backend
    out = ew(op, a._data.astype(dt.np, copy=False), b._data.astype(dt.np, copy=False),
             dt=np.dtype(bool), backend=be)
    return Tensor._wrap(out, be)


def gt(a: Tensor, b: Any) -> Tensor:
    return compare("gt", a, b)


def eq(a: Tensor, b: Any) -> Tensor:
    return compare("eq", a, b)


# math imports elementwise's names (_ops, compare, pow): imported once they exist
from . import math as _M  # noqa: E402

"""Elementwise ops. Each op's forward sits next to its backward node; the
scalar math of both lives in backends/scalar_math.py ELEMENTWISE."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dtype import float32, result_type
from ..autograd.function import Node
from ..tensor import Tensor
from ._core import as_tensor_like, ew, record


def _binary_operands(a: Any, b: Any) -> tuple[Tensor, Tensor, Any]:
    if not isinstance(a, Tensor):
        a, b = b, a
        t = a
        dt = result_type(t, b)
        return as_tensor_like(b, t, dt), t, dt
    dt = result_type(a, b)
    return a, as_tensor_like(b, a, dt), dt


def _ops(a: Any, b: Any, reflected: bool = False) -> tuple[Tensor, Tensor, Any]:
    if reflected:
        b_t, a_t, dt = _binary_operands(b, a)
        return b_t, a_t, dt
    if isinstance(a, Tensor):
        dt = result_type(a, b)
        return a, as_tensor_like(b, a, dt), dt
    dt = result_type(a, b)
    return as_tensor_like(a, b, dt), b, dt


# ---------------------------------------------------------------- add / sub
_BOOL_SUB = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert "
             "a mask, use the `~` or `logical_not()` operator instead.")

class AddBackward0(Node):
    name = "AddBackward0"
    formula = "self: grad; other: grad * alpha"

    def backward(self, g: Any) -> tuple:
        be = self.backend
        return g, (g if self.alpha == 1 else ew("mul", g, np.asarray(self.alpha, g.dtype), backend=be))


class SubBackward0(AddBackward0):
    name = "SubBackward0"
    formula = "self: grad; other: -grad * alpha"


class RsubBackward1(Node):
    name = "RsubBackward1"
    formula = "self: -grad"

    def backward(self, g: Any) -> tuple:
        return (ew("neg", g, backend=self.backend),)


def add(a: Any, b: Any, alpha: float = 1) -> Tensor:
    a, b, dt = _ops(a, b)
    be = a._backend
    bb = b._data if alpha == 1 else ew("mul", b._data, np.asarray(alpha, b.dtype.np), backend=be)
    out = ew("add", a._data, bb, dt=dt.np, backend=be)
    return record(AddBackward0, out, (a, b), be, backend=be, alpha=alpha)


def sub(a: Any, b: Any, alpha: float = 1) -> Tensor:
    if isinstance(a, Tensor) and a.dtype.name == "bool":
        raise RuntimeError(_BOOL_SUB)
    if not isinstance(a, Tensor):
        return rsub(b, a)
    a, b, dt = _ops(a, b)
    be = a._backend
    bb = b._data if alpha == 1 else ew("mul", b._data, np.asarray(alpha, b.dtype.np), backend=be)
    out = ew("sub", a._data, bb, dt=dt.np, backend=be)
    return record(SubBackward0, out, (a, b), be, backend=be, alpha=-alpha)


def rsub(t: Tensor, x: Any) -> Tensor:
    """x - t for a Python number x."""
    if isinstance(x, Tensor):
        return sub(x, t)
    if t.dtype.name == "bool":
        raise RuntimeError(_BOOL_SUB)
    dt = result_type(t, x)
    be = t._backend
    out = ew("sub", np.asarray(x, dt.np), t._data, dt=dt.np, backend=be)
    return record(RsubBackward1, out, (t,), be, backend=be)


# ---------------------------------------------------------------- mul / div
class MulBackward0(Node):
    name = "MulBackward0"
    formula = "self: grad * other; other: grad * self"

    def backward(self, g: Any) -> tuple:
        be = self.backend
        return (ew("mul", g, self.saved("other"), backend=be) if self.needs(0) else None,
                ew("mul", g, self.saved("self"), backend=be) if self.needs(1) else None)


def mul(a: Any, b: Any) -> Tensor:
    a, b, dt = _ops(a, b)
    be = a._backend
    out = ew("mul", a._data, b._data, dt=dt.np, backend=be)
    return record(MulBackward0, out, (a, b), be, save={"self": a, "other": b}, backend=be)


class DivBackward0(Node):
    name = "DivBackward0"
    formula = "self: grad / other; other: -grad * self / other**2"

    def backward(self, g: Any) -> tuple:
        a, b = self.saved("self"), self.saved("other")
        be = self.backend
        ga = ew("div", g, b, backend=be)
        gb = ew("neg", ew("div", ew("mul", ga, a, backend=be), b, backend=be), backend=be) if self.needs(1) else None
        return (ga if self.needs(0) else None), gb


def div(a: Any, b: Any, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is not None:
        raise NotImplementedError("div(rounding_mode=...) is not supported by nbgrad")
    a, b, dt = _ops(a, b)
    if not dt.is_floating_point:
        dt = float32
    a2 = a if a.dtype == dt else a.to(dt)
    b2 = b if b.dtype == dt else b.to(dt)
    be = a._backend
    out = ew("div", a2._data, b2._data, dt=dt.np, backend=be)
    return record(DivBackward0, out, (a, b), be, save={"self": a2, "other": b2}, backend=be)


# ---------------------------------------------------------------- pow
class PowBackward0(Node):
    name = "PowBackward0"
    formula = "self: grad * exponent * self**(exponent - 1)"

    def backward(self, g: Any) -> tuple:
        x = self.saved("self")
        return (ew("pow_bw_base", g, x, np.asarray(self.exponent, x.dtype), backend=self.backend),)


class PowBackward1(Node):
    name = "PowBackward1"
    formula = "self: grad * exponent * self**(exponent - 1); exponent: grad * result * log(self)"

    def backward(self, g: Any) -> tuple:
        x, p, y = self.saved("self"), self.saved("exponent"), self.saved("result")
        be = self.backend
        return (ew("pow_bw_base", g, x, p, backend=be) if self.needs(0) else None,
                ew("pow_bw_exp", g, y, x, backend=be) if self.needs(1) else None)


class PowBackward2(Node):
    name = "PowBackward2"
    formula = "exponent: grad * result * log(self)"

    def backward(self, g: Any) -> tuple:
        y = self.saved("result")
        return (ew("pow_bw_exp", g, y, np.asarray(self.base, y.dtype), backend=self.backend),)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        dt = result_type(a, b)
        x = a if a.dtype == dt else a.to(dt)
        be = a._backend
        out = ew("pow", x._data, np.asarray(b, dt.np), dt=dt.np, backend=be)
        return record(PowBackward0, out, (a,), be, save={"self": x}, backend=be, exponent=b)
    if not isinstance(a, Tensor):
        dt = result_type(b, a)
        be = b._backend
        out = ew("pow", np.asarray(a, dt.np), b._data.astype(dt.np, copy=False), dt=dt.np, backend=be)
        return record(PowBackward2, out, (b,), be, save_out="result", backend=be, base=a)
    a, b, dt = _ops(a, b)
    x, p = (a if a.dtype == dt else a.to(dt)), (b if b.dtype == dt else b.to(dt))
    be = a._backend
    out = ew("pow", x._data, p._data, dt=dt.np, backend=be)
    return record(PowBackward1, out, (a, b), be, save={"self": x, "exponent": p}, save_out="result",
                  backend=be)


# ---------------------------------------------------------------- unary
def _float_input(x: Tensor) -> Tensor:
    return x if x.dtype.is_floating_point else x.to(float32)


def _unary_out(op: str, x: Tensor) -> Any:
    return ew(op, x._data, backend=x._backend)


class _SavesInput(Node):
    kernel = ""

    def backward(self, g: Any) -> tuple:
        return (ew(self.kernel, g, self.saved("self"), backend=self.backend),)


class _SavesResult(Node):
    kernel = ""

    def backward(self, g: Any) -> tuple:
        return (ew(self.kernel, g, self.saved("result"), backend=self.backend),)


class NegBackward0(Node):
    name = "NegBackward0"
    formula = "self: -grad"

    def backward(self, g: Any) -> tuple:
        return (ew("neg", g, backend=self.backend),)


class ExpBackward0(_SavesResult):
    name, formula, kernel = "ExpBackward0", "self: grad * result", "mul"


class LogBackward0(_SavesInput):
    name, formula, kernel = "LogBackward0", "self: grad / self", "div"


class SqrtBackward0(_SavesResult):
    name, formula, kernel = "SqrtBackward0", "self: grad / (2 * result)", "sqrt_bw"


class AbsBackward0(_SavesInput):
    name, formula, kernel = "AbsBackward0", "self: grad * sign(self)", "abs_bw"


class SinBackward0(_SavesInput):
    name, formula, kernel = "SinBackward0", "self: grad * cos(self)", "sin_bw"


class CosBackward0(_SavesInput):
    name, formula, kernel = "CosBackward0", "self: grad * -sin(self)", "cos_bw"


class TanhBackward0(_SavesResult):
    name, formula, kernel = "TanhBackward0", "self: grad * (1 - result**2)", "tanh_bw"


class SigmoidBackward0(_SavesResult):
    name, formula, kernel = "SigmoidBackward0", "self: grad * result * (1 - result)", "sigmoid_bw"


class ReluBackward0(_SavesResult):
    name, formula, kernel = "ReluBackward0", "self: grad * (result > 0)", "relu_bw"


_UNARY = {
    "exp": (ExpBackward0, True), "log": (LogBackward0, True), "sqrt": (SqrtBackward0, True),
    "abs": (AbsBackward0, False), "sin": (SinBackward0, True), "cos": (CosBackward0, True),
    "tanh": (TanhBackward0, True), "sigmoid": (SigmoidBackward0, True), "relu": (ReluBackward0, False),
}


def unary(op: str, x: Tensor) -> Tensor:
    node_cls, needs_float = _UNARY[op]
    xin = _float_input(x) if needs_float else x
    be = x._backend
    out = _unary_out(op, xin)
    if issubclass(node_cls, _SavesResult):
        return record(node_cls, out, (x,), be, save_out="result", backend=be)
    return record(node_cls, out, (x,), be, save={"self": xin}, backend=be)


def neg(x: Tensor) -> Tensor:
    if x.dtype.name == "bool":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported.")
    return record(NegBackward0, _unary_out("neg", x), (x,), x._backend, backend=x._backend)


# ---------------------------------------------------------------- clamp / maximum / where
class ClampBackward1(Node):
    name = "ClampBackward1"
    formula = "self: grad * (min <= self <= max)"

    def backward(self, g: Any) -> tuple:
        x = self.saved("self")
        lo, hi = np.asarray(self.lo, x.dtype), np.asarray(self.hi, x.dtype)
        return (ew("clamp_bw", g, x, lo, hi, backend=self.backend),)


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        raise NotImplementedError("clamp with tensor bounds is not supported; use maximum/minimum")
    dt = result_type(x, *(v for v in (min, max) if v is not None))
    xin = x if x.dtype == dt else x.to(dt)
    lo = -np.inf if min is None else min
    hi = np.inf if max is None else max
    be = x._backend
    if not dt.is_floating_point:
        lo = np.iinfo(dt.np).min if min is None else min
        hi = np.iinfo(dt.np).max if max is None else max
    out = ew("clamp", xin._data, np.asarray(lo, dt.np), np.asarray(hi, dt.np), backend=be)
    return record(ClampBackward1, out, (x,), be, save={"self": xin}, backend=be, lo=lo, hi=hi)


class MaximumBackward0(Node):
    name = "MaximumBackward0"
    formula = "self: grad * (self > other) + grad/2 * (self == other); other: symmetric"

    def backward(self, g: Any) -> tuple:
        a, b = self.saved("self"), self.saved("other")
        be = self.backend
        sign = -1 if self.name.startswith("Min") else 1
        if sign == -1:
            a, b = ew("neg", a, backend=be), ew("neg", b, backend=be)
        return (ew("max_bw_a", g, a, b, backend=be) if self.needs(0) else None,
                ew("max_bw_a", g, b, a, backend=be) if self.needs(1) else None)


class MinimumBackward0(MaximumBackward0):
    name = "MinimumBackward0"
    formula = "self: grad * (self < other) + grad/2 * (self == other); other: symmetric"


def _maxmin(op: str, node: type[Node], a: Tensor, b: Any) -> Tensor:
    if not isinstance(b, Tensor):
        raise TypeError(f"{op}(): argument 'other' must be Tensor, not {type(b).__name__}")
    a, b, dt = _ops(a, b)
    a2, b2 = (a if a.dtype == dt else a.to(dt)), (b if b.dtype == dt else b.to(dt))
    be = a._backend
    out = ew(op, a2._data, b2._data, dt=dt.np, backend=be)
    return record(node, out, (a, b), be, save={"self": a2, "other": b2}, backend=be)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return _maxmin("maximum", MaximumBackward0, a, b)


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return _maxmin("minimum", MinimumBackward0, a, b)


class WhereBackward0(Node):
    name = "WhereBackward0"
    formula = "self: where(condition, grad, 0); other: where(condition, 0, grad)"

    def backward(self, g: Any) -> tuple:
        c = self.saved("condition")
        be = self.backend
        z = np.zeros((), dtype=g.dtype)
        return (None, ew("where", c, g, z, backend=be) if self.needs(1) else None,
                ew("where", c, z, g, backend=be) if self.needs(2) else None)


def where(condition: Tensor, a: Any, b: Any) -> Tensor:
    if not isinstance(condition, Tensor) or condition.dtype.name != "bool":
        raise RuntimeError("where expected condition to be a boolean tensor")
    like = a if isinstance(a, Tensor) else (b if isinstance(b, Tensor) else condition)
    dt = result_type(*(v for v in (a, b)))
    at = as_tensor_like(a, like, dt)
    bt = as_tensor_like(b, like, dt)
    be = like._backend
    shape = tuple(np.broadcast_shapes(condition.shape, at.shape, bt.shape))
    out = ew("where", condition._data, at._data.astype(dt.np, copy=False), bt._data.astype(dt.np, copy=False),
             shape=shape, dt=dt.np, backend=be)
    return record(WhereBackward0, out, (None, at, bt), be, save={"condition": condition}, backend=be)


# ---------------------------------------------------------------- comparisons (no grad)
def compare(op: str, a: Tensor, b: Any) -> Tensor:
    a, b, dt = _ops(a, b)
    be = a._backend
    out = ew(op, a._data.astype(dt.np, copy=False), b._data.astype(dt.np, copy=False),
             dt=np.dtype(bool), backend=be)
    return Tensor._wrap(out, be)

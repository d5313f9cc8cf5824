"""Elementwise math (issue 16): trigonometric, hyperbolic, logarithmic and special functions,
rounding, remainders, lerp, nan_to_num, tensor clamp bounds, predicates, logical and bitwise
ops, closeness. Each forward runs one kernel whose scalar math is in backends/shared/scalar.py;
the derivatives are the table's "more elementwise math" section. Results that are integers
or bools (rounding an integer tensor, predicates, logical and bitwise ops) record no node."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dtype import dtype, float32, float64, int64, result_type
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import as_tensor_like, ew, record
from .elementwise import _ops, compare
from .elementwise import pow as _pow
from . import elementwise as _E

_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
                "float32": "Float", "float64": "Double"}
_BOOL = np.dtype(bool)


def _not_implemented(kernel: str, dt: dtype) -> NotImplementedError:
    return NotImplementedError(f"\"{kernel}\" not implemented for '{_TORCH_NAMES[dt.name]}'")


def _tensor(x: Any, op: str, arg: str = "input", pos: int = 1) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _cast(t: Tensor, dt: dtype) -> Tensor:
    return t if t.dtype == dt else t.to(dt)


# ---------------------------------------------------------------- unary, computed in floating point
def _float_unary(kernel: str, node: Any, x: Tensor, **attrs: Any) -> Tensor:
    """kernel over x (integers and bools as float32), recorded with node, which saves x as `self`."""
    xin = x if x.dtype.is_floating_point else x.to(float32)
    be = x._backend
    return record(node, ew(kernel, xin._data, backend=be), (x,), be, save={"self": xin}, **attrs)


def _unary(name: str, node: Any, doc: str) -> Any:
    def fn(input: Tensor) -> Tensor:  # noqa: A002
        _tensor(input, name)
        return _float_unary(name, node, input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


tan = _unary("tan", N.TanBackward0, "tan(input), elementwise.")
asin = _unary("asin", N.AsinBackward0, "arcsin(input): nan outside [-1, 1].")
acos = _unary("acos", N.AcosBackward0, "arccos(input): nan outside [-1, 1].")
atan = _unary("atan", N.AtanBackward0, "arctan(input).")
sinh = _unary("sinh", N.SinhBackward0, "sinh(input).")
cosh = _unary("cosh", N.CoshBackward0, "cosh(input).")
asinh = _unary("asinh", N.AsinhBackward0, "arsinh(input).")
acosh = _unary("acosh", N.AcoshBackward0, "arcosh(input): nan below 1.")
atanh = _unary("atanh", N.AtanhBackward0, "artanh(input): +-inf at +-1, nan outside [-1, 1].")
log2 = _unary("log2", N.Log2Backward0, "log2(input).")
log10 = _unary("log10", N.Log10Backward0, "log10(input).")
expm1 = _unary("expm1", N.Expm1Backward0, "exp(input) - 1, exact near 0.")
exp2 = _unary("exp2", N.Exp2Backward0, "2 ** input.")
erf = _unary("erf", N.ErfBackward0, "The error function.")
erfc = _unary("erfc", N.ErfcBackward0, "1 - erf(input), exact in the tail.")
erfinv = _unary("erfinv", N.ErfinvBackward0, "The inverse of erf: +-inf at +-1, nan outside [-1, 1].")
lgamma = _unary("lgamma", N.LgammaBackward0, "log |gamma(input)|: inf at 0 and the negative integers.")
digamma = _unary("digamma", N.DigammaBackward0, "The logarithmic derivative of gamma.")
rsqrt = _unary("rsqrt", N.RsqrtBackward0, "1 / sqrt(input).")
reciprocal = _unary("reciprocal", N.ReciprocalBackward0, "1 / input.")
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def polygamma(n: int, input: Tensor) -> Tensor:  # noqa: A002
    """The n-th derivative of digamma (n = 0: digamma itself)."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    _tensor(input, "polygamma", pos=2)
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return _float_unary("digamma", N.PolygammaBackward0, input, n=0)
    xin = input if input.dtype.is_floating_point else input.to(float32)
    be = input._backend
    d = xin._data
    out = ew("polygamma", np.asarray(n, d.dtype), d, shape=d.shape, dt=d.dtype, backend=be)
    return record(N.PolygammaBackward0, out, (input,), be, save={"self": xin}, n=n)


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


# ---------------------------------------------------------------- rounding (integers stay as they are)
def _rounding(name: str, node: Any, x: Tensor) -> Tensor:
    _tensor(x, name)
    be = x._backend
    if x.dtype.name == "bool":
        raise _not_implemented(f"{name}_vml_cpu", x.dtype)
    if not x.dtype.is_floating_point:
        return Tensor._wrap(be.copy(x._data), be)
    return record(node, ew(name, x._data, backend=be), (x,), be)


def floor(input: Tensor) -> Tensor:  # noqa: A002
    return _rounding("floor", N.FloorBackward0, input)


def ceil(input: Tensor) -> Tensor:  # noqa: A002
    return _rounding("ceil", N.CeilBackward0, input)


def trunc(input: Tensor) -> Tensor:  # noqa: A002
    return _rounding("trunc", N.TruncBackward0, input)


fix = trunc


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001, A002
    """Halves to even; with decimals, round(input * 10**decimals) / 10**decimals (as PyTorch)."""
    if decimals == 0:
        return _rounding("round", N.RoundBackward0, input)
    _tensor(input, "round")
    if not input.dtype.is_floating_point:
        raise _not_implemented("round_cpu", input.dtype)
    be = input._backend
    d = input._data
    p = np.asarray(10.0 ** abs(decimals), d.dtype)
    if decimals > 0:
        out = ew("div", ew("round", ew("mul", d, p, backend=be), backend=be), p, backend=be)
    else:
        out = ew("mul", ew("round", ew("div", d, p, backend=be), backend=be), p, backend=be)
    return record(N.RoundBackward1, out, (input,), be, decimals=decimals)


def _round_method(self: Tensor, decimals: int = 0) -> Tensor:
    return round(self, decimals=decimals)


def frac(input: Tensor) -> Tensor:  # noqa: A002
    """input - trunc(input)."""
    _tensor(input, "frac")
    if not input.dtype.is_floating_point:
        raise _not_implemented("frac_cpu", input.dtype)
    be = input._backend
    return record(N.FracBackward0, ew("frac", input._data, backend=be), (input,), be)


def square(input: Tensor) -> Tensor:  # noqa: A002
    """input ** 2 (bools as int64, as PyTorch)."""
    _tensor(input, "square")
    return _pow(input.to(int64) if input.dtype.name == "bool" else input, 2)


# ---------------------------------------------------------------- binary, computed in floating point
def _binary_float(name: str, node: Any, a: Any, b: Any, ints: bool = True) -> Tensor:
    a, b, dt = _ops(a, b)
    if not dt.is_floating_point:
        if not ints:
            raise _not_implemented(f"{name}_cpu", dt)
        dt = float32
    a2, b2 = _cast(a, dt), _cast(b, dt)
    be = a._backend
    out = ew(name, a2._data, b2._data, dt=dt.np, backend=be)
    return record(node, out, (a, b), be, save={"self": a2, "other": b2})


def atan2(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    """The angle of (other, input): arctan(input / other) in the right quadrant."""
    _tensor(input, "atan2")
    _tensor(other, "atan2", "other", 2)
    return _binary_float("atan2", N.Atan2Backward0, input, other)


arctan2 = atan2


def hypot(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    """sqrt(input**2 + other**2) without overflow."""
    _tensor(input, "hypot")
    _tensor(other, "hypot", "other", 2)
    return _binary_float("hypot", N.HypotBackward0, input, other, ints=False)


def logaddexp(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    """log(exp(input) + exp(other)) without overflow."""
    _tensor(input, "logaddexp")
    _tensor(other, "logaddexp", "other", 2)
    return _binary_float("logaddexp", N.LogaddexpBackward0, input, other, ints=False)


def logaddexp2(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    """log2(2**input + 2**other) without overflow."""
    _tensor(input, "logaddexp2")
    _tensor(other, "logaddexp2", "other", 2)
    return _binary_float("logaddexp2", N.Logaddexp2Backward0, input, other, ints=False)


def xlogy(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input * log(other), 0 where input is 0 (unless other is nan)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlogy(): at least one of 'input' and 'other' must be a Tensor")
    return _binary_float("xlogy", N.XlogyBackward0, input, other)


# ---------------------------------------------------------------- remainders and rounded division
def _check_nonzero(b: Tensor) -> None:
    """Integer division by zero: PyTorch's RuntimeError."""
    if b._data.size and not np.all(b._backend.to_numpy(b._data)):
        raise RuntimeError("ZeroDivisionError")


def _remainder_like(name: str, int_kernel: str, nodes: tuple, a: Any, b: Any) -> Tensor:
    number = None if isinstance(b, Tensor) else b
    a, b, dt = _ops(a, b)
    if dt.name == "bool":
        raise _not_implemented(f"{name}_cpu", dt)
    a2, b2 = _cast(a, dt), _cast(b, dt)
    be = a._backend
    if not dt.is_floating_point:
        _check_nonzero(b2)
        return Tensor._wrap(ew(int_kernel, a2._data, b2._data, dt=dt.np, backend=be), be)
    out = ew(name, a2._data, b2._data, dt=dt.np, backend=be)
    if number is not None:
        return record(nodes[0], out, (a,), be, other=number)
    return record(nodes[1], out, (a, b), be, save={"self": a2, "other": b2})


def fmod(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    """C's fmod: the remainder of input / other with input's sign."""
    _tensor(input, "fmod")
    return _remainder_like("fmod", "fmod_int", (N.FmodBackward0, N.FmodBackward1), input, other)


def remainder(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Python's %: the remainder of input / other with other's sign."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("remainder(): at least one of 'input' and 'other' must be a Tensor")
    return _remainder_like("remainder", "remainder", (N.RemainderBackward0, N.RemainderBackward1), input, other)


_ROUNDING = {"trunc": ("div_trunc", "div_trunc_int"), "floor": ("floor_divide", "floor_divide")}


def div_rounded(a: Any, b: Any, rounding_mode: str) -> Tensor:
    """a / b rounded toward zero ("trunc") or down ("floor"); integers stay integers. Its gradient
    is zero (as PyTorch's)."""
    if rounding_mode not in _ROUNDING:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    a, b, dt = _ops(a, b)
    if dt.name == "bool":
        raise _not_implemented("div_trunc_cpu" if rounding_mode == "trunc" else "div_floor_cpu", dt)
    a2, b2 = _cast(a, dt), _cast(b, dt)
    be = a._backend
    kernel, int_kernel = _ROUNDING[rounding_mode]
    if not dt.is_floating_point:
        _check_nonzero(b2)
        return Tensor._wrap(ew(int_kernel, a2._data, b2._data, dt=dt.np, backend=be), be)
    out = ew(kernel, a2._data, b2._data, dt=dt.np, backend=be)
    return record(N.DivBackward2, out, (a, b), be, rounding_mode=rounding_mode)


def floor_divide(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input // other: div(input, other, rounding_mode="floor")."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("floor_divide(): at least one of 'input' and 'other' must be a Tensor")
    return div_rounded(input, other, "floor")


# ---------------------------------------------------------------- lerp, nan_to_num, tensor clamp bounds
_C10 = {"float32": "float", "float64": "double", "int64": "long", "int32": "int", "bool": "bool"}


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:  # noqa: A002
    """input + weight * (end - input) (weight a number or a tensor), broadcast."""
    _tensor(input, "lerp")
    _tensor(end, "lerp", "end", 2)
    dt = input.dtype
    if not dt.is_floating_point:
        raise _not_implemented("lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar", dt)
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor):
            as_tensor_like(t, input)  # same device
            if t.dtype != dt:
                raise RuntimeError(f"expected dtype {_C10.get(dt.name, dt.name)} for `{name}` but got dtype "
                                   f"{_C10.get(t.dtype.name, t.dtype.name)}")
    be = input._backend
    if isinstance(weight, Tensor):
        out = ew("lerp", input._data, end._data, weight._data, backend=be)
        return record(N.LerpBackward1, out, (input, end, weight), be)
    w = float(weight)
    out = ew("lerp", input._data, end._data, np.asarray(w, dt.np), backend=be)
    return record(N.LerpBackward0, out, (input, end), be, weight=w)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,  # noqa: A002
               neginf: float | None = None) -> Tensor:
    """nan, +inf and -inf replaced (by 0 and the dtype's largest and lowest values by default)."""
    _tensor(input, "nan_to_num")
    be = input._backend
    d = input._data
    if not input.dtype.is_floating_point:
        return Tensor._wrap(be.copy(d), be)
    fi = np.finfo(d.dtype)
    vals = [np.asarray(v, d.dtype) for v in (nan, fi.max if posinf is None else posinf,
                                             fi.min if neginf is None else neginf)]
    out = ew("nan_to_num", d, *vals, backend=be)
    return record(N.NanToNumBackward0, out, (input,), be, nan=nan, posinf=posinf, neginf=neginf)


def clamp_tensors(x: Tensor, min: Tensor | None, max: Tensor | None) -> Tensor:  # noqa: A002
    """clamp with tensor bounds (broadcast; either may be None): min(max(x, min), max), so max
    wins where min > max; the gradient flows to x and to the bounds as PyTorch's."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    for v in (min, max):
        if v is not None and not isinstance(v, Tensor):
            raise TypeError(f"clamp() received an invalid combination of arguments - got (Tensor, "
                            f"{type(min).__name__}, {type(max).__name__}): min and max must both be Tensors "
                            f"(or None), or both be numbers")
    bounds = [as_tensor_like(v, x) for v in (min, max) if v is not None]
    dt = result_type(x, *bounds)
    xin = _cast(x, dt)
    lo = None if min is None else _cast(min, dt)
    hi = None if max is None else _cast(max, dt)
    be = x._backend
    if lo is None:
        out = ew("minimum", xin._data, hi._data, dt=dt.np, backend=be)
    elif hi is None:
        out = ew("maximum", xin._data, lo._data, dt=dt.np, backend=be)
    else:
        out = ew("clamp", xin._data, lo._data, hi._data, dt=dt.np, backend=be)
    absent = {k: None for k, v in (("min", lo), ("max", hi)) if v is None}  # (check_node: a None input)
    return record(N.ClampBackward0, out, (x, min, max), be, save={"self": xin, "min": lo, "max": hi}, **absent)


# ---------------------------------------------------------------- predicates, logical and bitwise ops (no grad)
def _predicate(name: str, doc: str) -> Any:
    def fn(input: Tensor) -> Tensor:  # noqa: A002
        _tensor(input, name)
        be = input._backend
        return Tensor._wrap(ew(name, input._data, dt=_BOOL, backend=be), be)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


isnan = _predicate("isnan", "Where input is nan.")
isinf = _predicate("isinf", "Where input is +inf or -inf.")
isfinite = _predicate("isfinite", "Where input is neither nan nor infinite (integers: everywhere).")
isposinf = _predicate("isposinf", "Where input is +inf.")
isneginf = _predicate("isneginf", "Where input is -inf.")
logical_not = _predicate("logical_not", "Where input is 0 (False).")


def logical_and(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    _tensor(input, "logical_and")
    return compare("logical_and", input, other)


def logical_or(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    _tensor(input, "logical_or")
    return compare("logical_or", input, other)


def logical_xor(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    _tensor(input, "logical_xor")
    return compare("logical_xor", input, other)


def _bitwise(name: str, a: Any, b: Any) -> Tensor:
    a, b, dt = _ops(a, b)
    if dt.is_floating_point:
        raise _not_implemented(f"{name}_cpu", dt)
    be = a._backend
    return Tensor._wrap(ew(name, a._data, b._data, dt=dt.np, backend=be), be)


def bitwise_and(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _bitwise("bitwise_and", input, other)


def bitwise_or(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _bitwise("bitwise_or", input, other)


def bitwise_xor(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _bitwise("bitwise_xor", input, other)


def bitwise_not(input: Tensor) -> Tensor:  # noqa: A002
    _tensor(input, "bitwise_not")
    if input.dtype.is_floating_point:
        raise _not_implemented("bitwise_not_cpu", input.dtype)
    if input.dtype.name == "bool":
        return logical_not(input)
    be = input._backend
    return Tensor._wrap(ew("bitwise_not", input._data, backend=be), be)


def _shift(name: str, a: Any, b: Any, left: bool) -> Tensor:
    a, b, dt = _ops(a, b)
    if dt.is_floating_point:
        raise _not_implemented("lshift_cpu" if left else "rshift_cpu", dt)
    if dt.name == "bool":
        raise _not_implemented("lshift_cpu" if left else "rshift_cpu", dt)
    npdt = dt.np
    bits = np.dtype(npdt).itemsize * 8
    width = bits if left else bits - (np.issubdtype(npdt, np.signedinteger))
    be = a._backend
    out = ew(name, a._data.astype(npdt, copy=False), b._data.astype(npdt, copy=False),
             np.asarray(width, np.int64), dt=npdt, backend=be)
    return Tensor._wrap(out, be)


def bitwise_left_shift(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input << other for integers (0 where the shift is negative or not below the bit width)."""
    return _shift("bitwise_left_shift", input, other, True)


def bitwise_right_shift(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input >> other for integers, arithmetic for signed types (a negative or too large shift
    fills with the sign bit, as PyTorch)."""
    return _shift("bitwise_right_shift", input, other, False)


# ---------------------------------------------------------------- aliases and small compositions
def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    """clamp(input, min=min)."""
    return _E.clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    """clamp(input, max=max)."""
    return _E.clamp(input, max=max)


def float_power(input: Any, exponent: Any) -> Tensor:  # noqa: A002
    """input ** exponent computed in float64 (both operands converted)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): expected a Tensor as input or exponent")
    a = _cast(input, float64) if isinstance(input, Tensor) else float(input)
    b = _cast(exponent, float64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(a, Tensor):
        a = as_tensor_like(a, b, float64)
    return _pow(a, b)


def true_divide(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input / other (true division: integers give floats)."""
    return _E.div(input, other)


# ---------------------------------------------------------------- closeness
def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
            equal_nan: bool = False) -> Tensor:
    """|input - other| <= atol + rtol * |other| (a finite difference), or equal; nan close to nan
    only with equal_nan."""
    _tensor(input, "isclose")
    _tensor(other, "isclose", "other", 2)
    as_tensor_like(other, input)  # same device
    if input.dtype != other.dtype:
        raise RuntimeError(f"{_TORCH_NAMES[input.dtype.name]} did not match {_TORCH_NAMES[other.dtype.name]}")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if v < 0:
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got {v}")
    be = input._backend
    a, b = input._data, other._data
    tdt = a.dtype if input.dtype.is_floating_point else np.dtype(np.float32)
    out = ew("isclose", a, b, np.asarray(rtol, tdt), np.asarray(atol, tdt), dt=_BOOL, backend=be)
    if equal_nan and input.dtype.is_floating_point:
        both = ew("logical_and", ew("isnan", a, dt=_BOOL, backend=be), ew("isnan", b, dt=_BOOL, backend=be),
                  backend=be)
        out = ew("logical_or", out, both, backend=be)
    return Tensor._wrap(out, be)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
             equal_nan: bool = False) -> bool:
    c = isclose(input, other, rtol, atol, equal_nan)
    return bool(np.all(c._backend.to_numpy(c._data)))


def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    """The same shape and the same values."""
    _tensor(input, "equal")
    _tensor(other, "equal", "other", 2)
    if tuple(input.shape) != tuple(other.shape):
        return False
    c = compare("eq", input, other)
    return bool(np.all(c._backend.to_numpy(c._data)))


# ---------------------------------------------------------------- the Tensor methods of this module
METHODS = ("tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan",
           "arcsinh", "arccosh", "arctanh", "log2", "log10", "expm1", "exp2", "erf", "erfc", "erfinv", "lgamma",
           "digamma", "rsqrt", "reciprocal", "floor", "ceil", "trunc", "fix", "frac", "square", "atan2", "arctan2",
           "hypot", "logaddexp", "logaddexp2", "xlogy", "fmod", "remainder", "floor_divide", "lerp", "nan_to_num",
           "isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not", "logical_and", "logical_or",
           "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "isclose", "allclose",
           "equal", "bitwise_left_shift", "bitwise_right_shift", "clamp_min", "clamp_max", "float_power",
           "true_divide")
# the methods that have an in-place `_` variant in PyTorch
INPLACE = ("tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan",
           "arcsinh", "arccosh", "arctanh", "log2", "log10", "expm1", "exp2", "erf", "erfc", "erfinv", "lgamma",
           "digamma", "rsqrt", "reciprocal", "floor", "ceil", "trunc", "fix", "frac", "square", "atan2", "arctan2",
           "hypot", "xlogy", "fmod", "remainder", "floor_divide", "lerp", "nan_to_num", "logical_not",
           "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
           "bitwise_left_shift", "bitwise_right_shift", "clamp_min", "clamp_max", "true_divide")

"""The scalar math of every elementwise op, forward and backward: one plain Python function per
op, device-free, in the table ELEMENTWISE. Each device lifts these same functions into its
kernels (cpu.dispatch.lift: inlined by Numba into the CPU loops; cuda.jit(device=True) on
CUDA) and wraps them in loops of its own.

vexp, vtanh, vsigmoid and vlog1p are the primitives a device may give a body of its own: the CPU
computes float32 through vectorisable Cephes versions (cpu/vecmath.py). Their bodies here define
what they compute, and are what CUDA compiles (and what its simulator runs)."""

from __future__ import annotations

import math
from typing import Callable


def vexp(x):
    return math.exp(x)


def vtanh(x):
    return math.tanh(x)


def vsigmoid(x):
    """The logistic function without overflow: exp of -|x| only."""
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def vlog1p(x):
    return math.log1p(x)


# ------------------------------------------------------------------ forward ops

def neg(a):
    return -a


def exp(a):
    return vexp(a)


def log(a):
    return math.log(a)


def log1p(a):
    return vlog1p(a)


def sqrt(a):
    return math.sqrt(a)


def abs_(a):
    return abs(a)


def sin(a):
    return math.sin(a)


def cos(a):
    return math.cos(a)


def tanh(a):
    return vtanh(a)


def sigmoid(a):
    return vsigmoid(a)


def relu(a):
    return a if a > 0 else a * 0


def sign(a):
    """-1, 0 or 1 (0 for nan, as PyTorch's sign; stored in the output's dtype)."""
    return 1 if a > 0 else (-1 if a < 0 else 0)


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def div(a, b):
    return a / b


def pow_(a, b):
    return a ** b


def maximum(a, b):
    return a if a >= b or a != a else b


def minimum(a, b):
    return a if a <= b or a != a else b


def eq(a, b):
    return a == b


def ne(a, b):
    return a != b


def lt(a, b):
    return a < b


def le(a, b):
    return a <= b


def gt(a, b):
    return a > b


def ge(a, b):
    return a >= b


def where(a, b, c):
    return b if a else c


def sub_mul(a, b, c):
    """SGD's p - lr * d, in place."""
    return a - b * c


def clamp(a, b, c):
    """min(max(a, b), c) as PyTorch (c when b > c; nan from a nan operand or bound)."""
    t = a if a >= b or a != a else b
    return t if t <= c or t != t else c


def index_pos(a, b, c):
    """An index a into a dimension of size b and stride c: its share of an element's position, or
    a large negative number when out of range (summed shares stay negative)."""
    return (a + b if a < 0 else a) * c if -b <= a and a < b else -1152921504606846976


# ---- layers (issue 17): gelu, exact and tanh-approximated

def gelu(a):
    return 0.5 * a * (1.0 + math.erf(a * 0.7071067811865476))


def gelu_tanh(a):
    a3 = a * a * a
    u = a + a3 * _GC + a3 * _GC2
    return _FH * a * (_F1 + vtanh(u * _GK + u * _GK2))
# ------------------------------------------------------------------ math (issue 16): forward ops.
# Self-contained (no helper calls), so both devices lift them as they are. Rounding goes through
# `%` on the magnitude (exact for positive operands), as math.floor/trunc give integers in Numba.

def tan(a):
    return math.tan(a)


def asin(a):
    return math.asin(a) if -1 <= a <= 1 else a * 0 + math.nan


def acos(a):
    return math.acos(a) if -1 <= a <= 1 else a * 0 + math.nan


def atan(a):
    return math.atan(a)


def sinh(a):
    return math.sinh(a)


def cosh(a):
    return math.cosh(a)


def asinh(a):
    return math.asinh(a)


def acosh(a):
    return math.acosh(a) if a >= 1 else a * 0 + math.nan


def atanh(a):
    if a == 1 or a == -1:
        return a * math.inf
    return math.atanh(a) if -1 < a < 1 else a * 0 + math.nan


def log2(a):
    return math.log2(a) if a > 0 else (a * 0 - math.inf if a == 0 else a * 0 + math.nan)


def log10(a):
    return math.log10(a) if a > 0 else (a * 0 - math.inf if a == 0 else a * 0 + math.nan)


def expm1(a):
    return math.expm1(a)


def exp2(a):
    return 2.0 ** a


def erf(a):
    return math.erf(a)


def erfc(a):
    return math.erfc(a)


def erfinv(a):
    """The inverse of erf: Giles' single-precision approximation ("Approximating the erfinv
    function", GPU Computing Gems, 2011), then Halley steps on erf (|a| <= 0.5) or on erfc
    (above: 1 - |a| is exact there, so the tail keeps its relative precision) until they stop
    changing it."""
    y = abs(a)
    if not y < 1:
        return a * math.inf if y == 1 else a * 0 + math.nan  # +-inf at +-1; nan beyond and for nan
    w = -math.log((1.0 - y) * (1.0 + y))
    if w < 5.0:
        w = w - 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    x = p * y
    c = 1.1283791670955126  # 2 / sqrt(pi)
    for _ in range(10):  # two steps within the approximation's range; up to 8 in the far tail (1 - 1e-16)
        d = c * math.exp(-x * x)
        f = (math.erf(x) - y) if y <= 0.5 else ((1.0 - y) - math.erfc(x))
        dx = f / d
        x = x - dx / (1.0 + x * dx)
        if abs(dx) <= 1e-17 * x:
            break
    return math.copysign(x, a)


def lgamma(a):
    return math.lgamma(a) if not (a <= 0 and a % 1.0 == 0) else a * 0 + math.inf


def digamma(a):
    """psi(a): 0 gives -inf (+inf for -0), negative integers nan, negative numbers by reflection
    (on the fractional part, as PyTorch), then the recurrence up to 10 and the asymptotic series."""
    x = a * 1.0
    if x == 0:
        return math.copysign(math.inf, -x)
    if x != x or x == -math.inf:
        return x * 0 + math.nan
    if x == math.inf:
        return x
    r = 0.0
    if x < 0:
        if x % 1.0 == 0:
            return x * 0 + math.nan
        q = -x
        fr = -(q - (q - q % 1.0))  # the fractional part of x (its sign)
        r = -math.pi / math.tan(math.pi * fr)
        x = 1.0 - x
    while x < 10.0:
        r -= 1.0 / x
        x += 1.0
    z = 1.0 / (x * x)
    s = z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z * (1.0 / 132 - z * (
        691.0 / 32760 - z / 12.0))))))
    return r + math.log(x) - 0.5 / x - s


def polygamma(a, b):
    """The n-th derivative of digamma (a: n >= 1, b: x): (-1)^(n+1) n! zeta(n + 1, x), Hurwitz's zeta
    by Euler-Maclaurin summation (Cephes' zeta)."""
    n = a * 1.0
    x = b * 1.0
    s_ = n + 1.0
    if x != x:
        return x
    if x == math.inf:
        return 0.0 if n == 1 else math.nan  # (as PyTorch: its trigamma's limit; nan from its zeta)
    if x < -65536.0 and x % 1.0 != 0:  # -inf, and far negative non-integers: not computed (the sum starts
        return x * 0 + math.nan        # at x and climbs to 9 one step at a time)
    if x <= 0 and x % 1.0 == 0:
        return x * 0 + math.inf if n % 2.0 == 1 else x * 0 + math.nan
    fact = 1.0
    k = 2.0
    while k <= n:
        fact *= k
        k += 1.0
    sgn = 1.0 if n % 2.0 == 1 else -1.0
    s = x ** -s_
    q = x
    i = 0
    t = s
    while i < 9 or q <= 9.0:
        i += 1
        q += 1.0
        t = q ** -s_
        s += t
        if abs(t / s) < 1.1102230246251565e-16:
            return sgn * fact * s
    w = q
    s += t * w / (s_ - 1.0)
    s -= 0.5 * t
    m = 1.0
    k = 0.0
    coefs = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
             -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
             1.8152105401943546773e17, -7.1661652561756670113e18)
    for j in range(12):
        m *= s_ + k
        t /= w
        term = m * t / coefs[j]
        s += term
        if abs(term / s) < 1.1102230246251565e-16:
            break
        k += 1.0
        m *= s_ + k
        t /= w
        k += 1.0
    return sgn * fact * s


def rsqrt(a):
    return 1.0 / math.sqrt(a) if a >= 0 else a * 0 + math.nan


def reciprocal(a):
    return 1.0 / a


def trunc(a):
    x = abs(a)
    return math.copysign(x - x % 1.0, a) if x < 4503599627370496.0 else a


def floor(a):
    x = abs(a)
    if not x < 4503599627370496.0:
        return a
    t = math.copysign(x - x % 1.0, a)
    return t - 1.0 if t > a else t


def ceil(a):
    x = abs(a)
    if not x < 4503599627370496.0:
        return a
    t = math.copysign(x - x % 1.0, a)
    return t + 1.0 if t < a else t


def round_(a):
    """Halves to even (PyTorch's nearbyint)."""
    x = abs(a)
    if not x < 4503599627370496.0:
        return a
    f = x % 1.0
    t = x - f
    r = t + 1.0 if f > 0.5 else (t if f < 0.5 else t + t % 2.0)
    return math.copysign(r, a)


def frac(a):
    x = abs(a)
    return a - math.copysign(x - x % 1.0, a) if x < 4503599627370496.0 else a - a


def atan2(a, b):
    return math.atan2(a, b)


def hypot(a, b):
    return math.hypot(a, b)


def fmod(a, b):
    """C's fmod: the remainder with a's sign (nan for b = 0)."""
    return math.copysign(abs(a) % abs(b), a)


def fmod_int(a, b):  # (b != 0, checked by the op)
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def remainder(a, b):
    """Python's %: the remainder with b's sign (floats: nan for b = 0; integers: the op checks b),
    but a zero with a's sign (as PyTorch's, which is fmod's)."""
    r = a % b
    return r if r != 0 else abs(r) * a


def floor_divide(a, b):
    """Python's //: floats by CPython's divmod (as PyTorch's div_floor), b = 0 giving a / 0."""
    return a // b


def div_trunc(a, b):
    t = a / b
    x = abs(t)
    return math.copysign(x - x % 1.0, t) if x < 4503599627370496.0 else t


def div_trunc_int(a, b):  # (b != 0, checked by the op)
    q = a // b
    return q + 1 if (q < 0 and q * b != a) else q


def logaddexp(a, b):
    if a == b and (a == math.inf or a == -math.inf):
        return a
    m = a if a >= b or a != a else b
    return m + vlog1p(vexp(-abs(a - b)))


def logaddexp2(a, b):
    if a == b and (a == math.inf or a == -math.inf):
        return a
    m = a if a >= b or a != a else b
    return m + math.log1p(2.0 ** -abs(a - b)) * 1.4426950408889634


def xlogy(a, b):
    if b != b:
        return b
    if a == 0:
        return a - a  # +0 (as PyTorch)
    return a * math.log(b) if b > 0 else (a * -math.inf if b == 0 else a * 0.0 + math.nan)


def lerp(a, b, c):  # start, end, weight
    return a + c * (b - a) if abs(c) < 0.5 else b - (b - a) * (1 - c)


def nan_to_num(a, b, c, d):  # x, nan, posinf, neginf
    return b if a != a else (c if a == math.inf else (d if a == -math.inf else a))


def isnan(a):
    return a != a


def isinf(a):
    return a == math.inf or a == -math.inf


def isfinite(a):
    return a == a and a != math.inf and a != -math.inf


def isposinf(a):
    return a == math.inf


def isneginf(a):
    return a == -math.inf


def isclose(a, b, c, d):  # a, b, rtol, atol (nan never close: equal_nan is the op's)
    e = abs(a - b)
    return a == b or (e != math.inf and e <= d + c * abs(b))


def logical_and(a, b):
    return a != 0 and b != 0


def logical_or(a, b):
    return a != 0 or b != 0


def logical_xor(a, b):
    return (a != 0) != (b != 0)


def logical_not(a):
    return a == 0


def bitwise_and(a, b):
    return a & b


def bitwise_or(a, b):
    return a | b


def bitwise_xor(a, b):
    return a ^ b


def bitwise_not(a):
    return ~a


def bitwise_left_shift(a, b, c):  # a, shift, bit width: a shift outside [0, width) gives 0
    return a << b if b >= 0 and b < c else a - a


def bitwise_right_shift(a, b, c):  # a, shift, width less the sign bit: outside [0, c) shifts by c
    return a >> b if b >= 0 and b < c else a >> c
# activations (issue 16): forward (parameters come as single-value operands). Constants are
# float32 values (exact, so float64 math is unchanged): a Python literal would make Numba
# compute a float32 op in float64.
import numpy as _np  # noqa: E402

_F0, _F1, _F2, _F3, _F6, _F20, _FH = (_np.float32(v) for v in (0, 1, 2, 3, 6, 20, 0.5))
# gelu_tanh's constants sqrt(2 / pi), 0.044715 and 3 * 0.044715 as float32 pairs hi + lo: products
# with both keep float32 math in float32 (vtanh vectorises) and are within 2^-48 in float64
_GK = _np.float32(0.7978845608028654)
_GK2 = _np.float32(0.7978845608028654 - float(_GK))
_GC = _np.float32(0.044715)
_GC2 = _np.float32(0.044715 - float(_GC))
_GC3 = _np.float32(0.134145)
_GC32 = _np.float32(0.134145 - float(_GC3))
_FSIXTH = _np.float32(1 / 6)


def silu(a):
    return a * vsigmoid(a)


def mish(a):
    """a * tanh(softplus(a)) as a * n / (n + 2), n = e * (e + 2), e = exp(a): one exp, no log."""
    e = vexp(a if a < _F20 else a * _F0 + _F20)
    n = e * (e + _F2)
    return a if a > _F20 else a * n / (n + _F2)


def leaky_relu(a, b):  # x, negative_slope
    return a if a > _F0 else a * b


def elu(a, b, c):  # x, alpha, input_scale
    return a if a > _F0 else b * (vexp(a * c) - _F1)


def selu(a):
    return 1.0507009873554804934193349852946 * (a if a > 0 else 1.6732632423543772848170429916717 * (vexp(a) - 1))


def softplus(a, b, c):  # x, beta, threshold
    z = a * b
    return a if z > c else vlog1p(vexp(z)) / b


def hardsigmoid(a):
    return a * _F0 if a <= -_F3 else (a * _F0 + _F1 if a >= _F3 else a / _F6 + _FH)


def hardswish(a):
    return a * _F0 if a <= -_F3 else (a if a >= _F3 else a * (a + _F3) / _F6)


def logsigmoid(a):
    return (a if a < _F0 else _F0) - vlog1p(vexp(-abs(a)))


# ------------------------------------------------------------------ fused backward ops (a: the upstream gradient;
# each an op of its own, with its own entry in nbgrad/ops/derivatives_table.py)

def tanh_bw(a, b):  # g, y
    return a * (1 - b * b)


def sigmoid_bw(a, b):  # g, y
    return a * b * (1 - b)


def relu_bw(a, b):  # g, y
    return a if b > 0 else a * 0


def max_bw_a(a, b, c):  # g, x, other
    return a if b > c else (a / 2 if b == c else a * 0)


def min_bw_a(a, b, c):  # g, x, other
    return a if b < c else (a / 2 if b == c else a * 0)


def clamp_bw(a, b, c, d):  # g, x, lo, hi
    return a if (b >= c and b <= d) else a * 0


def bce_logits(a, b):  # x, y
    return max(a, 0) - a * b + vlog1p(vexp(-abs(a)))


def bce_logits_bw(a, b, c):  # g, x, y
    return a * (vsigmoid(b) - c)


def bce(a, b):  # p, y
    return -(b * max(math.log(a), -100.0) + (1 - b) * max(math.log1p(-a), -100.0))


def bce_bw(a, b, c):  # g, p, y
    return a * (b - c) / max((1 - b) * b, 1e-12)


# activations (issue 16): fused backward ops

def silu_bw(a, b):  # g, x
    s = vsigmoid(b)
    return a * (s + b * (s - s * s))


def mish_bw(a, b):  # g, x
    e = vexp(b if b < _F20 else b * _F0 + _F20)
    n = e * (e + _F2)
    t = n / (n + _F2)
    return a * (t + b * vsigmoid(b) * (_F1 - t * t))


def leaky_relu_bw(a, b, c):  # g, x, negative_slope
    return a if b > _F0 else a * c


def elu_bw(a, b, c, d):  # g, x, alpha, input_scale
    return a if b > _F0 else a * c * d * vexp(b * d)


def selu_bw(a, b):  # g, x
    return 1.0507009873554804934193349852946 * (a if b > 0 else a * 1.6732632423543772848170429916717 * vexp(b))


def softplus_bw(a, b, c, d):  # g, x, beta, threshold
    z = b * c
    return a if z > d else a * vsigmoid(z)


def hardtanh_bw(a, b, c, d):  # g, x, min_val, max_val
    return a * _F0 if (b <= c or b >= d) else a


def hardsigmoid_bw(a, b):  # g, x (times 1/6 rounded to float32 in every dtype, as PyTorch's kernel)
    return a * _FSIXTH if (b > -_F3 and b < _F3) else a * _F0


def hardswish_bw(a, b):  # g, x
    return a * _F0 if b <= -_F3 else (a * (b / _F3 + _FH) if b < _F3 else a)


def logsigmoid_bw(a, b):  # g, x
    return a * vsigmoid(-b)


# ---- layers (issue 17): gelu's backward (g * gelu'(x))

def gelu_bw(a, b):  # g, x
    return a * (0.5 * (1.0 + math.erf(b * 0.7071067811865476)) + b * 0.3989422804014327 * math.exp(-0.5 * b * b))


def gelu_tanh_bw(a, b):  # g, x
    b3 = b * b * b
    u = b + b3 * _GC + b3 * _GC2
    t = vtanh(u * _GK + u * _GK2)
    b2 = b * b
    du = _F1 + b2 * _GC3 + b2 * _GC32
    w = _FH * b * (_F1 - t * t) * du
    return a * (_FH * (_F1 + t) + w * _GK + w * _GK2)


def copy(a):  # (a device's strided and broadcast copies, casts and fills)
    return a


# ------------------------------------------------------------------ new ops go above this line

_PRIMITIVES = ("vexp", "vtanh", "vsigmoid", "vlog1p")
# every other function of this module is an op (in any order: a new op is a new function)
_OPS = tuple(f for k, f in list(globals().items()) if callable(f) and getattr(f, "__module__", None) == __name__
             and not k.startswith("_") and k not in _PRIMITIVES)

# name -> (number of operands, scalar function); a trailing _ keeps a name off a builtin
ELEMENTWISE: dict[str, tuple[int, Callable]] = {f.__name__.rstrip("_"): (f.__code__.co_argcount, f) for f in _OPS}

# ops doing transcendental math or powers per element (the CPU runs them in parallel from a
# smaller size than memory-bound ones)
TRANSCENDENTAL = frozenset({"exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "pow", "bce_logits",
                            "bce_logits_bw", "bce", "gelu", "gelu_tanh", "gelu_bw", "gelu_tanh_bw"})
# math (issue 16)
TRANSCENDENTAL |= frozenset({"tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "log2", "log10",
                             "expm1", "exp2", "erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "rsqrt",
                             "atan2", "hypot", "logaddexp", "logaddexp2", "xlogy"})
# activations (issue 16)
TRANSCENDENTAL = TRANSCENDENTAL | {"silu", "silu_bw", "mish", "mish_bw", "elu", "elu_bw", "selu", "selu_bw",
                                   "softplus", "softplus_bw", "logsigmoid", "logsigmoid_bw"}

"""The scalar math of every elementwise op, forward and backward: one plain Python function per
op, device-free, in the table ELEMENTWISE. Each device lifts these same functions into its
kernels (cpu.dispatch.lift: inlined by Numba into the CPU loops; cuda.jit(device=True) on
CUDA) and wraps them in loops of its own.

vexp, vtanh and vsigmoid are the primitives a device may give a body of its own: the CPU
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


# ------------------------------------------------------------------ forward ops

def neg(a):
    return -a


def exp(a):
    return vexp(a)


def log(a):
    return math.log(a)


def log1p(a):
    return math.log1p(a)


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
    """-1, 0 or 1 (0 for nan, as PyTorch's sign)."""
    return (1 if a > 0 else (-1 if a < 0 else 0)) + a * 0


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
    return (b if a < b else (c if a > c else a)) if a == a else a


def index_pos(a, b, c):
    """An index a into a dimension of size b and stride c: its share of an element's position, or
    a large negative number when out of range (summed shares stay negative)."""
    return (a + b if a < 0 else a) * c if -b <= a and a < b else -1152921504606846976


# activations (issue 16): forward (parameters come as single-value operands). Constants are
# float32 values (exact, so float64 math is unchanged): a Python literal would make Numba
# compute a float32 op in float64.
import numpy as _np  # noqa: E402

_F0, _F1, _F2, _F3, _F6, _F20, _FH = (_np.float32(v) for v in (0, 1, 2, 3, 6, 20, 0.5))


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
    return a if z > c else math.log1p(vexp(z)) / b


def hardsigmoid(a):
    return a * _F0 if a <= -_F3 else (a * _F0 + _F1 if a >= _F3 else a / _F6 + _FH)


def hardswish(a):
    return a * _F0 if a <= -_F3 else (a if a >= _F3 else a * (a + _F3) / _F6)


def logsigmoid(a):
    return (a if a < _F0 else a * _F0) - math.log1p(vexp(-abs(a)))


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
    return max(a, 0) - a * b + math.log1p(vexp(-abs(a)))


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


def hardsigmoid_bw(a, b):  # g, x
    return a / _F6 if (b > -_F3 and b < _F3) else a * _F0


def hardswish_bw(a, b):  # g, x
    return a * _F0 if b <= -_F3 else (a * (b / _F3 + _FH) if b < _F3 else a)


def logsigmoid_bw(a, b):  # g, x
    return a * vsigmoid(-b)


_PRIMITIVES = ("vexp", "vtanh", "vsigmoid")
# every other function of this module is an op (in any order: a new op is a new function)
_OPS = tuple(f for k, f in list(globals().items()) if callable(f) and getattr(f, "__module__", None) == __name__
             and not k.startswith("_") and k not in _PRIMITIVES)

# name -> (number of operands, scalar function); a trailing _ keeps a name off a builtin
ELEMENTWISE: dict[str, tuple[int, Callable]] = {f.__name__.rstrip("_"): (f.__code__.co_argcount, f) for f in _OPS}

# ops doing transcendental math or powers per element (the CPU runs them in parallel from a
# smaller size than memory-bound ones)
TRANSCENDENTAL = frozenset({"exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "pow", "bce_logits",
                            "bce_logits_bw", "bce"})
# activations (issue 16)
TRANSCENDENTAL = TRANSCENDENTAL | {"silu", "silu_bw", "mish", "mish_bw", "elu", "elu_bw", "selu", "selu_bw",
                                   "softplus", "softplus_bw", "logsigmoid", "logsigmoid_bw"}

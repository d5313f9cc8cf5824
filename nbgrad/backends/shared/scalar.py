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


# ---- layers (issue 17): gelu, exact and tanh-approximated

def gelu(a):
    return 0.5 * a * (1.0 + math.erf(a * 0.7071067811865476))


def gelu_tanh(a):
    return 0.5 * a * (1.0 + vtanh(0.7978845608028654 * (a + 0.044715 * a * a * a)))


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


# ---- layers (issue 17): gelu's backward (g * gelu'(x))

def gelu_bw(a, b):  # g, x
    return a * (0.5 * (1.0 + math.erf(b * 0.7071067811865476)) + b * 0.3989422804014327 * math.exp(-0.5 * b * b))


def gelu_tanh_bw(a, b):  # g, x
    t = vtanh(0.7978845608028654 * (b + 0.044715 * b * b * b))
    return a * (0.5 * (1.0 + t) + 0.5 * b * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * b * b))

# ------------------------------------------------------------------ new ops go above this line

_PRIMITIVES = ("vexp", "vtanh", "vsigmoid")
# every other function of this module is an op (in any order: a new op is a new function)
_OPS = tuple(f for k, f in list(globals().items()) if callable(f) and getattr(f, "__module__", None) == __name__
             and not k.startswith("_") and k not in _PRIMITIVES)

# name -> (number of operands, scalar function); a trailing _ keeps a name off a builtin
ELEMENTWISE: dict[str, tuple[int, Callable]] = {f.__name__.rstrip("_"): (f.__code__.co_argcount, f) for f in _OPS}

# ops doing transcendental math or powers per element (the CPU runs them in parallel from a
# smaller size than memory-bound ones)
TRANSCENDENTAL = frozenset({"exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "pow", "bce_logits",
                            "bce_logits_bw", "bce", "gelu", "gelu_tanh", "gelu_bw", "gelu_tanh_bw"})

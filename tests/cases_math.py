"""Second-derivative cases of the elementwise math family (issue 16), tiny, inside each op's
domain: (fn, arrays, no-grad indices). A zero-gradient op (floor, sign, ...) is multiplied by a
smooth one so that its node sits inside a graph that has a second derivative."""

from __future__ import annotations

import numpy as np

from torch_scenarios import lib_of as _L

X = np.array([[-0.8, -0.3, 0.4], [0.7, 1.3, -1.1]])
U = np.array([[-0.7, -0.2, 0.3], [0.55, 0.8, -0.45]])  # inside (-1, 1)
P = np.array([[0.4, 1.3, 2.2], [0.8, 3.1, 1.7]])  # positive
G = np.array([[1.2, 1.9, 3.4], [1.6, 2.5, 4.1]])  # above 1
Y = np.array([[1.3, -0.6, 0.9]])  # a row, broadcast against X
D = np.array([[0.9, -1.4, 1.7]])  # divisors away from a / d's integers for X


def _m(name, **kw):
    return lambda x: getattr(x, name)(**kw)


CASES = {
    "tan": (_m("tan"), [U]),
    "asin": (_m("asin"), [U]),
    "acos": (_m("acos"), [U]),
    "atan": (_m("atan"), [X]),
    "sinh": (_m("sinh"), [X]),
    "cosh": (_m("cosh"), [X]),
    "asinh": (_m("asinh"), [X]),
    "acosh": (_m("acosh"), [G]),
    "atanh": (_m("atanh"), [U]),
    "log2": (_m("log2"), [P]),
    "log10": (_m("log10"), [P]),
    "expm1": (_m("expm1"), [X]),
    "exp2": (_m("exp2"), [X]),
    "erf": (_m("erf"), [X]),
    "erfc": (_m("erfc"), [X]),
    "erfinv": (_m("erfinv"), [U]),
    "lgamma": (_m("lgamma"), [P]),
    "digamma": (_m("digamma"), [P]),
    "polygamma2": (lambda x: _L(x).polygamma(2, x), [P]),
    "rsqrt": (_m("rsqrt"), [P]),
    "reciprocal": (_m("reciprocal"), [P]),
    "square": (_m("square"), [X]),
    "rounding": (lambda x: x * (x.floor() + x.ceil() + x.round() + x.trunc() + x.sign() + x.sgn()), [X]),
    "round_decimals": (lambda x: x * x.round(decimals=1), [X]),
    "frac": (lambda x: x.frac() * x, [X]),
    "atan2": (lambda a, b: a.atan2(b), [X, Y]),
    "hypot": (lambda a, b: a.hypot(b), [X, Y]),
    "logaddexp": (lambda a, b: a.logaddexp(b), [X, Y]),
    "logaddexp2": (lambda a, b: a.logaddexp2(b), [X, Y]),
    "xlogy": (lambda a, b: a.xlogy(b), [X, P]),
    "fmod": (lambda a, b: a.fmod(b) * a + a.fmod(0.75) * b, [X, D]),
    "remainder": (lambda a, b: a.remainder(b) * a + a.remainder(0.75) * b, [X, D]),
    "div_rounded": (lambda a, b: a * (a.div(b, rounding_mode="trunc") + a.div(b, rounding_mode="floor")), [X, D]),
    "lerp": (lambda a, b: a.lerp(b, 0.3) * a, [X, Y]),
    "lerp_tensor_weight": (lambda a, b, w: a.lerp(b, w) * w, [X, Y, U]),
    "nan_to_num": (lambda x: (x * x).nan_to_num() * x, [X]),
    "clamp_tensors": (lambda x, lo, hi: x.clamp(lo, hi) * x, [X, Y - 1.0, Y]),
    "clamp_tensor_min": (lambda x, lo: _L(x).clamp(x, min=lo) * lo, [X, Y]),
    "clamp_tensor_max": (lambda x, hi: _L(x).clamp(x, max=hi) * x, [X, Y]),
    "clamp_min": (lambda x: x.clamp_min(-0.5) * x, [X]),
    "float_power": (lambda x, y: _L(x).float_power(x, y), [P, Y]),
}

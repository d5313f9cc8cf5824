"""Device functions of the CPU kernels: `lift` (a shared Python function as an inlined CPU device
function), the CPU bodies of the shared primitives vexp / vtanh / vsigmoid / vlog1p (float32 in plain
arithmetic, so loops that call them vectorise), the operand loads of the generated elementwise
kernels, their tiling, and the vectorised row maximum. Kernels in other files call these
(dispatch digests this file into their cache names)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from ..shared import scalar as S


@intrinsic
def _i32_as_f32(typingctx, n):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _f32_as_i32(typingctx, x):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


# float32 constants (a plain 1.0 would make Numba compute in float64): Cephes' expf and tanhf
_F = np.float32
_L2E, _C1, _C2 = _F(1.44269504088896341), _F(0.693359375), _F(-2.12194440e-4)
_P = (_F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3), _F(4.1665795894e-2),
      _F(1.6666665459e-1), _F(5.0000001201e-1))
_T = (_F(-5.70498872745e-3), _F(2.06390887954e-2), _F(-5.37397155531e-2), _F(1.33314422036e-1),
      _F(-3.33332819422e-1))
_HI, _LO, _HALF, _ONE, _TWO, _TANH_SMALL = _F(88.73), _F(-103.98), _F(0.5), _F(1), _F(2), _F(0.625)


@njit(nogil=True, error_model="numpy")
def expf(x):
    """exp of a float32 within 1 ulp (Cephes expf: Cody-Waite reduction, degree-6 polynomial,
    2**n built in the exponent bits in two halves so results down to denormals are right).
    Plain float32 arithmetic with no libm call, so loops that call it vectorise."""
    xc = min(max(x, _LO), _HI)
    n = np.floor(xc * _L2E + _HALF)
    r = xc - n * _C1
    r = r - n * _C2
    y = _P[0]
    y = y * r + _P[1]
    y = y * r + _P[2]
    y = y * r + _P[3]
    y = y * r + _P[4]
    y = y * r + _P[5]
    y = y * (r * r) + r + _ONE
    ni = np.int32(n)
    n1 = ni >> 1
    y = y * _i32_as_f32((n1 + 127) << 23) * _i32_as_f32((ni - n1 + 127) << 23)
    return y if x == x else x


@njit(nogil=True, error_model="numpy")
def tanhf(x):
    """tanh of a float32 within 1.5 ulp (Cephes tanhf): odd polynomial below 0.625, else
    1 - 2 / (exp(2|x|) + 1)."""
    ax = abs(x)
    z = x * x
    s = ((((_T[0] * z + _T[1]) * z + _T[2]) * z + _T[3]) * z + _T[4]) * z * x + x
    b = _ONE - _TWO / (expf(ax + ax) + _ONE)
    b = b if x >= 0 else -b
    y = s if ax < _TANH_SMALL else b
    return y if x == x else x


@njit(nogil=True, error_model="numpy")
def sigmoidf(x):
    """1 / (1 + exp(-x)) for a float32 with one exp of -|x| (no overflow) and one division."""
    e = expf(-abs(x))
    s = _ONE / (_ONE + e)
    return s if x >= 0 else e * s


# Cephes' logf: the polynomial of log(1 + f) - f + f**2 / 2 on [sqrt(1/2) - 1, sqrt(2) - 1]
_LG = (_F(7.0376836292e-2), _F(-1.1514610310e-1), _F(1.1676998740e-1), _F(-1.2420140846e-1),
       _F(1.4249322787e-1), _F(-1.6668057665e-1), _F(2.0000714765e-1), _F(-2.4999993993e-1),
       _F(3.3333331174e-1))
_SQRTH, _INF, _NAN = _F(0.70710678118654752440), _F(np.inf), _F(np.nan)


@njit(nogil=True, error_model="numpy")
def log1pf(x):
    """log(1 + x) of a float32 within 2 ulp: Cephes logf of u = 1 + x (its exponent and mantissa
    split in the bits), plus the rounding error of u, (x - (u - 1)) / u. Plain float32 arithmetic
    and selects, so loops that call it vectorise."""
    u = x + _ONE
    i = _f32_as_i32(u)
    e = np.float32((i >> 23) - 126)
    m = _i32_as_f32((i & 0x007FFFFF) | 0x3F000000)  # u = m * 2**e, m in [0.5, 1)
    small = m < _SQRTH
    f = (m + m - _ONE) if small else (m - _ONE)
    e = (e - _ONE) if small else e
    z = f * f
    y = _LG[0] * f + _LG[1]
    y = y * f + _LG[2]
    y = y * f + _LG[3]
    y = y * f + _LG[4]
    y = y * f + _LG[5]
    y = y * f + _LG[6]
    y = y * f + _LG[7]
    y = y * f + _LG[8]
    y = y * f * z + e * _C2 - _HALF * z
    r = f + y + e * _C1 + (x - (u - _ONE)) / u
    r = x if u == _ONE or u == _INF else r  # (tiny x; inf)
    r = -_INF if u == 0 else r
    return r if u >= 0 else _NAN  # (x < -1, nan)


def _is_f32(x: Any) -> bool:
    return isinstance(x, types.Float) and x.bitwidth == 32


@overload(S.vexp)
def _vexp(x):
    return (lambda x: expf(x)) if _is_f32(x) else S.vexp


@overload(S.vtanh)
def _vtanh(x):
    return (lambda x: tanhf(x)) if _is_f32(x) else S.vtanh


@overload(S.vsigmoid)
def _vsigmoid(x):
    return (lambda x: sigmoidf(x)) if _is_f32(x) else S.vsigmoid


@overload(S.vlog1p)
def _vlog1p(x):
    return (lambda x: log1pf(x)) if _is_f32(x) else S.vlog1p


def lift(fn: Callable) -> Any:
    """A device-free Python function (backends/shared) as a CPU device function: inlined into the
    kernels that call it, so their loops vectorise as if it were written out there."""
    return njit(inline="always", nogil=True)(fn)


def _hoist(a):
    return a


@overload(_hoist)
def _hoist_impl(a):
    """A single value may come as a 0-d array (Numba types an array argument in a fraction of
    the time it takes for a NumPy scalar): read it once, before the loop."""
    if isinstance(a, types.Array) and a.ndim == 0:
        return lambda a: a[()]
    return lambda a: a


def _ld(a, i):
    return a[i]


@overload(_ld)
def _ld_impl(a, i):
    if isinstance(a, types.Array):
        return lambda a, i: a[i]
    return lambda a, i: a


def _ld2(a, i, j):
    return a[i, j]


@overload(_ld2)
def _ld2_impl(a, i, j):
    if isinstance(a, types.Array):
        if a.ndim == 2:
            return lambda a, i, j: a[i, j]
        if a.ndim == 1:
            return lambda a, i, j: a[j]
        if a.ndim == 3:
            return lambda a, i, j: a[i, 0, 0]
        return lambda a, i, j: a[j, i, 0, 0]  # (C, R, 1, 1): the transpose of a Fortran-ordered one
    return lambda a, i, j: a


_TILE = 32


@njit(nogil=True)
def _ntiles(out):
    return ((out.shape[0] + _TILE - 1) // _TILE) * ((out.shape[1] + _TILE - 1) // _TILE)


@njit(nogil=True)
def _tile(out, t):
    nbc = (out.shape[1] + _TILE - 1) // _TILE
    i0 = (t // nbc) * _TILE
    j0 = (t - (t // nbc) * nbc) * _TILE
    return i0, min(i0 + _TILE, out.shape[0]), j0, min(j0 + _TILE, out.shape[1])


@njit(nogil=True)
def _row_ext(r, want_max):
    """max (or min) of a 1-D slice over 8 independent running maxima of r * sign: LLVM
    vectorises that, not one compare-select chain (nor a flag-dependent compare).
    NaN never wins here (callers deal with NaN)."""
    sg = r.dtype.type(1 if want_max else -1)
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = r[0] * sg
    n8 = r.size // 8 * 8
    for k in range(0, n8, 8):
        b = r[k:k + 8]
        v0, v1, v2, v3, v4, v5, v6, v7 = b[0] * sg, b[1] * sg, b[2] * sg, b[3] * sg, b[4] * sg, b[5] * sg, \
            b[6] * sg, b[7] * sg
        m0 = v0 if v0 > m0 else m0
        m1 = v1 if v1 > m1 else m1
        m2 = v2 if v2 > m2 else m2
        m3 = v3 if v3 > m3 else m3
        m4 = v4 if v4 > m4 else m4
        m5 = v5 if v5 > m5 else m5
        m6 = v6 if v6 > m6 else m6
        m7 = v7 if v7 > m7 else m7
    m = m0
    for v in (m1, m2, m3, m4, m5, m6, m7):
        m = v if v > m else m
    for k in range(n8, r.size):
        m = r[k] * sg if r[k] * sg > m else m
    return m * sg

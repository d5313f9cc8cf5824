"""Numba CPU kernels. Elementwise math is written once as scalar expressions
(scalar_math.ELEMENTWISE) and generated into serial and parallel map kernels
over flat, contiguous arrays (_cpu_elementwise.py); reductions and row kernels
(softmax) are written by hand."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ._numba_setup import ensure_cache_dir
from .scalar_math import ELEMENTWISE

ensure_cache_dir()
# Numba's OpenMP workers (GNU libgomp) spin after every parallel kernel unless told otherwise;
# with any other work on the machine, or next to BLAS / torch thread pools, the spinning takes
# the cores the next kernel needs. Measured on 2 cores with one busy: MLP M step 30-51 ms
# spinning vs 12 ms passive, elementwise chain 27-103 ms vs 23-26 ms. The user's setting wins;
# it must be in place before the first parallel kernel starts the thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
from llvmlite import ir  # noqa: E402
from numba import njit, prange, types  # noqa: E402
from numba.extending import intrinsic, overload  # noqa: E402

# ---- vector math and operand loads for the generated kernels (see codegen) ----

@intrinsic
def _i32_as_f32(typingctx, n):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


# float32 constants (a plain 1.0 would make Numba compute in float64): Cephes' expf and tanhf
_F = np.float32
_L2E, _C1, _C2 = _F(1.44269504088896341), _F(0.693359375), _F(-2.12194440e-4)
_P = (_F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3), _F(4.1665795894e-2),
      _F(1.6666665459e-1), _F(5.0000001201e-1))
_T = (_F(-5.70498872745e-3), _F(2.06390887954e-2), _F(-5.37397155531e-2), _F(1.33314422036e-1),
      _F(-3.33332819422e-1))
_HI, _LO, _HALF, _ONE, _TWO, _TANH_SMALL = _F(88.73), _F(-103.98), _F(0.5), _F(1), _F(2), _F(0.625)


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def sigmoidf(x):
    """1 / (1 + exp(-x)) for a float32 with one exp of -|x| (no overflow) and one division."""
    e = expf(-abs(x))
    s = _ONE / (_ONE + e)
    return s if x >= 0 else e * s


def _is_f32(x: Any) -> bool:
    return isinstance(x, types.Float) and x.bitwidth == 32


def vexp(x):
    """math.exp; float32 goes through expf (vectorisable)."""
    return math.exp(x)


@overload(vexp)
def _vexp(x):
    return (lambda x: expf(x)) if _is_f32(x) else (lambda x: math.exp(x))


def vtanh(x):
    """math.tanh; float32 goes through tanhf (vectorisable)."""
    return math.tanh(x)


@overload(vtanh)
def _vtanh(x):
    return (lambda x: tanhf(x)) if _is_f32(x) else (lambda x: math.tanh(x))


def vsigmoid(x):
    """The logistic function; float32 goes through sigmoidf (vectorisable)."""
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@overload(vsigmoid)
def _vsigmoid(x):
    if _is_f32(x):
        return lambda x: sigmoidf(x)

    def impl(x):
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    return impl


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


@njit(cache=True, nogil=True)
def _ntiles(out):
    return ((out.shape[0] + _TILE - 1) // _TILE) * ((out.shape[1] + _TILE - 1) // _TILE)


@njit(cache=True, nogil=True)
def _tile(out, t):
    nbc = (out.shape[1] + _TILE - 1) // _TILE
    i0 = (t // nbc) * _TILE
    j0 = (t - (t // nbc) * nbc) * _TILE
    return i0, min(i0 + _TILE, out.shape[0]), j0, min(j0 + _TILE, out.shape[1])


# ---- end of vector math ----

from . import _cpu_elementwise as _gen  # noqa: E402  (imports the helpers above)

# Below these sizes a kernel runs serially. With OMP_WAIT_POLICY=PASSIVE (above) the workers
# sleep between kernels and waking them costs about 45 us per parallel kernel, so a kernel goes
# parallel only when its serial time is well above that. Measured on 2 cores (float32): add
# broke even at about 1.5M elements, tanh / exp / sigmoid at about 250k.
PARALLEL_THRESHOLD = 1 << 18  # kernels doing transcendental math per element (exp, tanh, softmax rows)
PARALLEL_THRESHOLD_CHEAP = 1 << 20  # memory-bound kernels (+, *, comparisons, sums, copies)


def _is_cheap(expr: str) -> bool:
    return "math." not in expr and "**" not in expr


_THRESHOLD = {name: PARALLEL_THRESHOLD_CHEAP if _is_cheap(expr) else PARALLEL_THRESHOLD
              for name, (_, expr) in ELEMENTWISE.items()}
_KERNELS: dict[tuple, Any] = {}


def parallel_threshold(name: str) -> int:
    """The size from which ELEMENTWISE[name] runs its parallel kernel."""
    return _THRESHOLD[name]


def elementwise(name: str, operands: list[Any], out: np.ndarray) -> None:
    """Run scalar_math.ELEMENTWISE[name] into a contiguous `out`. out flat: each operand a flat
    contiguous array of out's size or a scalar; out (R, C): each operand (R, C), a row (C,),
    a column (R, 1, 1) or a scalar (see codegen)."""
    key = (name, out.ndim == 2, out.size >= _THRESHOLD[name])
    k = _KERNELS.get(key)
    if k is None:
        k = _KERNELS[key] = getattr(_gen, f"k_{name}_{'2' if key[1] else ''}{'p' if key[2] else 's'}")
    k(*operands, out)


def elementwise_inplace(name: str, operands: list[Any], out: np.ndarray) -> None:
    """out = ELEMENTWISE[name](out, *operands) for a flat contiguous `out` (operands as in
    elementwise's flat form)."""
    key = (name, False, out.size >= _THRESHOLD[name], True)
    k = _KERNELS.get(key)
    if k is None:
        k = _KERNELS[key] = getattr(_gen, f"k_{name}_i{'p' if key[2] else 's'}")
    k(*operands, out)


def elementwise_tiled(name: str, operands: list[Any], out: np.ndarray) -> None:
    """scalar_math.ELEMENTWISE[name] into a C-ordered (R, C) `out` by tiles; each operand an
    (R, C) C-ordered array, the (C, R, 1, 1) transpose of a Fortran-ordered one, or a scalar."""
    getattr(_gen, f"k_{name}_tp")(*operands, out)


# ---- reductions over the middle axis of a (A, K, B) contiguous array ----
# Sums accumulate in out's dtype (float64 for float input: more precise than PyTorch's float32
# cascade sum). `reassoc` lets LLVM split a running sum into vector lanes (a different but no
# less accurate order of float64 additions); nothing else in these kernels is relaxed.

_SUM_FLAGS = {"reassoc"}


@njit(cache=True, nogil=True, fastmath=_SUM_FLAGS)
def _sum_mid_s(x, out):
    A, K, B = x.shape
    for i in range(A):
        if B == 1:
            acc = out[i, 0]
            for k in range(K):
                acc += x[i, k, 0]
            out[i, 0] = acc
        else:
            for k in range(K):
                for j in range(B):
                    out[i, j] += x[i, k, j]


@njit(cache=True, nogil=True, fastmath=_SUM_FLAGS)
def sum_flat_s(x):
    """The float64 sum of a small flat float array (a whole-tensor sum: the loss's mean)."""
    acc = 0.0
    for k in range(x.size):
        acc += x[k]
    return acc


@njit(cache=True, nogil=True, parallel=True, fastmath=_SUM_FLAGS)
def _sum_rows_p(x, out, nch):
    """out[i] += sum of row i of x (A, K); each row split into nch chunks summed in parallel."""
    A, K = x.shape
    L = (K + nch - 1) // nch
    part = np.zeros(A * nch, dtype=out.dtype)
    for t in prange(A * nch):
        i = t // nch
        lo = (t - i * nch) * L
        r = x[i, lo:min(lo + L, K)]  # a slice: indexing x[i, k] for k from lo would pay
        acc = part[t]                # Numba's negative-index check and not vectorise
        for k in range(r.size):
            acc += r[k]
        part[t] = acc
    for i in range(A):
        acc = out[i]
        for c in range(nch):
            acc += part[i * nch + c]
        out[i] = acc


@njit(cache=True, nogil=True, parallel=True, fastmath=_SUM_FLAGS)
def _sum_mid_p(x, out, nch):
    """out (A, B) += x (A, K, B) summed over K, B > 1: parallel over (i, chunk of K); each task
    adds whole contiguous rows of B into its own partial row, so the j loop vectorises."""
    A, K, B = x.shape
    L = (K + nch - 1) // nch
    part = np.zeros((A * nch if nch > 1 else 1, B), dtype=out.dtype)
    for t in prange(A * nch):
        i = t // nch
        lo = (t - i * nch) * L
        p = part[t] if nch > 1 else out[i]
        xs = x[i, lo:min(lo + L, K)]
        for k in range(xs.shape[0]):
            r = xs[k]
            for j in range(B):
                p[j] += r[j]
    if nch > 1:
        for i in range(A):
            o = out[i]
            for c in range(nch):
                p = part[i * nch + c]
                for j in range(B):
                    o[j] += p[j]


@njit(cache=True, nogil=True)
def _better(v, best, want_max):
    return v > best if want_max else v < best


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _argext_row(r, want_max):
    """(max or min of a 1-D slice, index of its first occurrence); NaN wins (its first index),
    as in PyTorch."""
    nans = 0
    for k in range(r.size):
        nans += r[k] != r[k]
    m = r[0] if nans else _row_ext(r, want_max)
    bi = 0
    for k in range(r.size):
        if (r[k] != r[k]) if nans else (r[k] == m):
            bi = k
            break
    return r[bi], bi


@njit(cache=True, nogil=True)
def _argext_block(x, vb, ib, want_max):
    """vb, ib (B,) = max/min of x (K, B) over K and where: the j loop runs over contiguous rows."""
    r0 = x[0]
    for j in range(vb.size):
        vb[j] = r0[j]
        ib[j] = 0
    for k in range(1, x.shape[0]):
        r = x[k]
        for j in range(vb.size):
            v, b = r[j], vb[j]
            take = b == b and (v != v or _better(v, b, want_max))
            vb[j] = v if take else b
            ib[j] = k if take else ib[j]


# each row kernel has a parallel (_p) and a serial (_s) driver: on a busy machine one parallel
# launch can wait a whole scheduler tick for a worker, so small inputs stay on the calling thread

@njit(cache=True, nogil=True, parallel=True)
def _argext_rows_p(x, vals, idx, want_max):
    for i in prange(x.shape[0]):
        vals[i], idx[i] = _argext_row(x[i], want_max)


@njit(cache=True, nogil=True)
def _argext_rows_s(x, vals, idx, want_max):
    for i in range(x.shape[0]):
        vals[i], idx[i] = _argext_row(x[i], want_max)


@njit(cache=True, nogil=True, parallel=True)
def _argext_mid_p(x, vals, idx, want_max):
    for i in prange(x.shape[0]):
        _argext_block(x[i], vals[i], idx[i], want_max)


@njit(cache=True, nogil=True)
def _argext_mid_s(x, vals, idx, want_max):
    for i in range(x.shape[0]):
        _argext_block(x[i], vals[i], idx[i], want_max)


def _pick(par: Any, ser: Any, size: int, threshold: int = PARALLEL_THRESHOLD) -> Any:
    return par if size >= threshold else ser


def reduce_sum(x3: np.ndarray, out: np.ndarray) -> None:
    """out (A, B), zeroed, += x3 (A, K, B) summed over K."""
    A, K, B = x3.shape
    if x3.size < PARALLEL_THRESHOLD_CHEAP:
        _sum_mid_s(x3, out)
    else:
        # split K into enough chunks to keep every thread busy, none under about 4096 elements
        want = max(1, (4 * numba.get_num_threads() + A - 1) // A)
        nch = max(1, min(want, K * B // 4096))
        if B == 1:
            _sum_rows_p(x3.reshape(A, K), out.reshape(A), nch)
        else:
            _sum_mid_p(x3, out, nch)


def reduce_argext(x3: np.ndarray, vals: np.ndarray, idx: np.ndarray, want_max: bool) -> None:
    """vals, idx (A, B) = max/min of x3 (A, K, B) over K, and where (first occurrence)."""
    A, K, B = x3.shape
    if B == 1:
        k = _pick(_argext_rows_p, _argext_rows_s, x3.size, PARALLEL_THRESHOLD_CHEAP)
        k(x3.reshape(A, K), vals.reshape(A), idx.reshape(A), want_max)
    else:
        _pick(_argext_mid_p, _argext_mid_s, x3.size, PARALLEL_THRESHOLD_CHEAP)(x3, vals, idx, want_max)


# ---- row kernels on (M, K) contiguous arrays ----
# Rows run in parallel; inside a row every loop is a plain pass over a contiguous slice (sums
# with `reassoc` so they vectorise) and exp is vexp (expf for float32).

@njit(cache=True, nogil=True, fastmath=_SUM_FLAGS)
def _row_sum_exp(r, m):
    s = 0.0
    for k in range(r.size):
        s += vexp(r[k] - m)
    return s


@njit(cache=True, nogil=True, fastmath=_SUM_FLAGS)
def _softmax_row(r, o, log):
    m = _row_ext(r, True)
    if log:
        ls = math.log(_row_sum_exp(r, m)) + m
        for k in range(r.size):
            o[k] = r[k] - ls
    else:
        s = 0.0
        for k in range(r.size):
            e = vexp(r[k] - m)
            o[k] = e
            s += e
        inv = 1.0 / s
        for k in range(r.size):
            o[k] = o[k] * inv


@njit(cache=True, nogil=True, fastmath=_SUM_FLAGS)
def _softmax_row_bw(yr, gr, o, log):
    s = 0.0
    if log:
        for k in range(yr.size):
            s += gr[k]
        for k in range(yr.size):
            o[k] = gr[k] - vexp(yr[k]) * s
    else:
        for k in range(yr.size):
            s += gr[k] * yr[k]
        for k in range(yr.size):
            o[k] = yr[k] * (gr[k] - s)


@njit(cache=True, nogil=True)
def _logsumexp_row(r):
    m = _row_ext(r, True)
    return m if math.isinf(m) else math.log(_row_sum_exp(r, m)) + m


@njit(cache=True, nogil=True, parallel=True)
def _softmax_rows_p(x, out, log):
    for i in prange(x.shape[0]):
        _softmax_row(x[i], out[i], log)


@njit(cache=True, nogil=True)
def _softmax_rows_s(x, out, log):
    for i in range(x.shape[0]):
        _softmax_row(x[i], out[i], log)


@njit(cache=True, nogil=True, parallel=True)
def _softmax_rows_bw_p(y, g, out, log):
    for i in prange(y.shape[0]):
        _softmax_row_bw(y[i], g[i], out[i], log)


@njit(cache=True, nogil=True)
def _softmax_rows_bw_s(y, g, out, log):
    for i in range(y.shape[0]):
        _softmax_row_bw(y[i], g[i], out[i], log)


@njit(cache=True, nogil=True, parallel=True)
def _logsumexp_rows_p(x, out):
    for i in prange(x.shape[0]):
        out[i] = _logsumexp_row(x[i])


@njit(cache=True, nogil=True)
def _logsumexp_rows_s(x, out):
    for i in range(x.shape[0]):
        out[i] = _logsumexp_row(x[i])


def softmax_rows(x2: np.ndarray, out: np.ndarray, log: bool) -> None:
    _pick(_softmax_rows_p, _softmax_rows_s, x2.size)(x2, out, log)


def softmax_rows_backward(y2: np.ndarray, g2: np.ndarray, out: np.ndarray, log: bool) -> None:
    _pick(_softmax_rows_bw_p, _softmax_rows_bw_s, y2.size)(y2, g2, out, log)


def logsumexp_rows(x2: np.ndarray, out: np.ndarray) -> None:
    _pick(_logsumexp_rows_p, _logsumexp_rows_s, x2.size)(x2, out)


# ---- layout ----

@njit(cache=True, nogil=True, parallel=True)
def _transpose_tiles(src, dst):
    """dst (R, C) = src (C, R).T in 64 x 64 tiles, in parallel (numpy's strided copy of a
    Fortran-ordered array into C order runs about 3x slower)."""
    C, R = src.shape
    T = 64
    nbc = (C + T - 1) // T
    for t in prange(((R + T - 1) // T) * nbc):
        i0 = (t // nbc) * T
        j0 = (t - (t // nbc) * nbc) * T
        w = min(j0 + T, C) - j0
        for i in range(i0, min(i0 + T, R)):
            d = dst[i, j0:j0 + w]
            for j in range(w):
                d[j] = src[j0 + j, i]


def ascontiguous(a: np.ndarray) -> np.ndarray:
    """np.ascontiguousarray, with large Fortran-ordered 2-D arrays (e.g. a weight gradient
    computed as a transposed product) transposed by tiles in parallel."""
    if a.ndim == 2 and a.size >= PARALLEL_THRESHOLD_CHEAP and not a.flags.c_contiguous and a.flags.f_contiguous:
        out = np.empty(a.shape, a.dtype)
        _transpose_tiles(a.T, out)
        return out
    return np.ascontiguousarray(a)


# ---- gather / scatter for indexing and nll_loss ----

@njit(cache=True, nogil=True)
def _scatter_add_flat(dst, idx, src):
    for i in range(idx.size):
        dst[idx[i]] += src[i]


def scatter_add_flat(dst: np.ndarray, idx: np.ndarray, src: np.ndarray) -> None:
    _scatter_add_flat(dst, idx, src)


@njit(cache=True, nogil=True)
def nll_rows(x, t, ignore_index, w, per, valid):
    """per[i] = -w[t[i]] * x[i, t[i]] and valid[i] = w[t[i]] (w empty: weights of 1), or 0 and 0
    where t[i] == ignore_index. Returns the index of the first row whose target is out of range
    (nothing written from there), else -1."""
    C = x.shape[1]
    for i in range(x.shape[0]):
        ti = t[i]
        if ti == ignore_index:
            per[i] = 0
            valid[i] = 0
        elif ti < 0 or ti >= C:
            return i
        else:
            wi = w[ti] if w.size else 1
            per[i] = -x[i, ti] * wi
            valid[i] = wi
    return -1


@njit(cache=True, nogil=True)
def nll_rows_bw(g, t, ignore_index, w, out):
    """out (N, C), zeroed: -g * w[t[i]] at (i, t[i]) for the rows not ignored; g holds N values
    or one; w empty: weights of 1."""
    one = g.size == 1
    for i in range(t.shape[0]):
        ti = t[i]
        if ti != ignore_index:
            out[i, ti] = -(g[0] if one else g[i]) * (w[ti] if w.size else 1)

"""Reductions over the middle axis of an (A, K, B) contiguous array: sums, and max / min with
the index of their first occurrence. Sums accumulate in out's dtype (float64 for float input:
more precise than PyTorch's float32 cascade sum); `SUM_FLAGS` let the running sums vectorise."""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ..dispatch import PARALLEL_THRESHOLD_CHEAP, SUM_FLAGS, kernel, variants
from ..vecmath import _row_ext


@kernel(nogil=True, fastmath=SUM_FLAGS)
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


@kernel(nogil=True, fastmath=SUM_FLAGS)
def sum_flat_s(x):
    """The float64 sum of a small flat float array (a whole-tensor sum: the loss's mean)."""
    acc = 0.0
    for k in range(x.size):
        acc += x[k]
    return acc


@kernel(parallel=True, nogil=True, fastmath=SUM_FLAGS)
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


@kernel(parallel=True, nogil=True, fastmath=SUM_FLAGS)
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


@njit(nogil=True)
def _better(v, best, want_max):
    return v > best if want_max else v < best


@njit(nogil=True)
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


@njit(nogil=True)
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


@variants(nogil=True)
def _argext_rows(x, vals, idx, want_max):
    for i in prange(x.shape[0]):
        vals[i], idx[i] = _argext_row(x[i], want_max)


@variants(nogil=True)
def _argext_mid(x, vals, idx, want_max):
    for i in prange(x.shape[0]):
        _argext_block(x[i], vals[i], idx[i], want_max)


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
        k = _argext_rows.pick(x3.size, PARALLEL_THRESHOLD_CHEAP)
        k(x3.reshape(A, K), vals.reshape(A), idx.reshape(A), want_max)
    else:
        _argext_mid.pick(x3.size, PARALLEL_THRESHOLD_CHEAP)(x3, vals, idx, want_max)

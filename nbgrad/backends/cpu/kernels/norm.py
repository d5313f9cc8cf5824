"""Layer-norm row kernels (issue 17) on (M, K) contiguous arrays: each row normalised to zero mean
and unit variance (the row's mean and variance summed in float64, in two passes over the row), and
the input gradient of that normalisation. Rows run in parallel.

With an affine (issue 16): the forward writes xhat * w + b at once (and keeps each row's mean and
rstd); the backward makes grad_input, grad_weight and grad_bias in one pass over (g, x): rows go in
fixed blocks, each block sums its columns of g * xhat and g in float64 rows of its own, and the
blocks' sums are added in block order, so the result does not depend on the thread count."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..dispatch import PARALLEL_THRESHOLD_CHEAP, SUM_FLAGS, variants


@njit(nogil=True, fastmath=SUM_FLAGS)
def _moments(r, eps):
    """A row's mean and 1 / sqrt(var + eps), summed in float64 (two passes)."""
    n = r.size
    s = 0.0
    for k in range(n):
        s += r[k]
    m = s / n
    v = 0.0
    for k in range(n):
        d = r[k] - m
        v += d * d
    return m, 1.0 / math.sqrt(v / n + eps)


@njit(nogil=True, fastmath=SUM_FLAGS)
def _ln_row(r, o, eps):
    m, rs = _moments(r, eps)
    for k in range(r.size):
        o[k] = (r[k] - m) * rs
    return rs


@njit(nogil=True, fastmath=SUM_FLAGS)
def _ln_row_bw(g, y, o, rs):
    n = g.size
    a = 0.0
    b = 0.0
    for k in range(n):
        a += g[k]
        b += g[k] * y[k]
    a /= n
    b /= n
    for k in range(n):
        o[k] = rs * (g[k] - a - y[k] * b)


@variants(nogil=True)
def _ln_rows(x, out, rstd, eps):
    for i in prange(x.shape[0]):
        rstd[i] = _ln_row(x[i], out[i], eps)


@variants(nogil=True)
def _ln_rows_bw(g, y, rstd, out):
    for i in prange(g.shape[0]):
        _ln_row_bw(g[i], y[i], out[i], rstd[i])


@njit(nogil=True, fastmath=SUM_FLAGS)
def _ln_row_affine(r, o, w, b, eps):
    m, rs = _moments(r, eps)
    for k in range(r.size):
        o[k] = (r[k] - m) * rs * w[k] + b[k]
    return m, rs


@njit(nogil=True, fastmath=SUM_FLAGS)
def _ln_row_affine_bw(g, x, w, m, rs, o, dw, db, need_input):
    n = g.size
    a = 0.0
    c = 0.0
    if need_input:
        for k in range(n):
            gw = g[k] * w[k]
            a += gw
            c += gw * ((x[k] - m) * rs)
        a /= n
        c /= n
        for k in range(n):
            xh = (x[k] - m) * rs
            gk = g[k]
            dw[k] += gk * xh
            db[k] += gk
            o[k] = rs * (gk * w[k] - a - xh * c)
    else:
        for k in range(n):
            gk = g[k]
            dw[k] += gk * ((x[k] - m) * rs)
            db[k] += gk


@variants(nogil=True)
def _ln_rows_affine(x, w, b, out, mean, rstd, eps):
    for i in prange(x.shape[0]):
        mean[i], rstd[i] = _ln_row_affine(x[i], out[i], w, b, eps)


@variants(nogil=True)
def _ln_rows_affine_bw(g, x, w, mean, rstd, out, dw, db, block, need_input):
    M = g.shape[0]
    for p in prange(dw.shape[0]):
        dwp = dw[p]
        dbp = db[p]
        dwp[:] = 0.0
        dbp[:] = 0.0
        for i in range(p * block, min(M, (p + 1) * block)):
            _ln_row_affine_bw(g[i], x[i], w, np.float64(mean[i]), np.float64(rstd[i]), out[i], dwp, dbp, need_input)


def layer_norm_rows(x2: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    out = np.empty_like(x2)
    rstd = np.empty(x2.shape[0], dtype=x2.dtype)
    if x2.size:
        _ln_rows.pick(x2.size, PARALLEL_THRESHOLD_CHEAP)(x2, out, rstd, float(eps))
    return out, rstd


def layer_norm_rows_backward(g2: np.ndarray, y2: np.ndarray, rstd: np.ndarray) -> np.ndarray:
    out = np.empty_like(y2)
    if y2.size:
        _ln_rows_bw.pick(y2.size, PARALLEL_THRESHOLD_CHEAP)(g2, y2, rstd, out)
    return out


def layer_norm_rows_affine(x2: np.ndarray, w: np.ndarray, b: np.ndarray,
                           eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of x2 (M, K) normalised, times w plus b (K,), and each row's mean and rstd."""
    out = np.empty_like(x2)
    mean = np.empty(x2.shape[0], dtype=x2.dtype)
    rstd = np.empty(x2.shape[0], dtype=x2.dtype)
    if x2.size:
        _ln_rows_affine.pick(x2.size, PARALLEL_THRESHOLD_CHEAP)(x2, w, b, out, mean, rstd, float(eps))
    return out, mean, rstd


AFFINE_BLOCK_ROWS = 16  # the fewest rows a block of the backward's column sums holds
AFFINE_BLOCKS = 64  # the most blocks (each keeps two float64 rows of K)


def layer_norm_rows_affine_backward(g2: np.ndarray, x2: np.ndarray, w: np.ndarray, mean: np.ndarray,
                                    rstd: np.ndarray, need_input: bool
                                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(grad_input or None, grad_weight, grad_bias) of rows xhat * w + b from the upstream g2 (M, K):
    rstd * (g w - mean(g w) - xhat mean(g w xhat)) by row, and the column sums of g * xhat and g."""
    M, K = x2.shape
    out = np.empty_like(x2)  # (untouched without need_input)
    if not M or not K:
        return (out if need_input else None), np.zeros(K, x2.dtype), np.zeros(K, x2.dtype)
    block = max(AFFINE_BLOCK_ROWS, -(-M // AFFINE_BLOCKS))
    parts = -(-M // block)
    dw = np.empty((parts, K))
    db = np.empty((parts, K))
    _ln_rows_affine_bw.pick(x2.size, PARALLEL_THRESHOLD_CHEAP)(g2, x2, w, mean, rstd, out, dw, db, block,
                                                                bool(need_input))
    return ((out if need_input else None), dw.sum(0).astype(x2.dtype, copy=False),
            db.sum(0).astype(x2.dtype, copy=False))

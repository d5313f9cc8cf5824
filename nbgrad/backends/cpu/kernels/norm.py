"""Layer-norm row kernels (issue 17) on (M, K) contiguous arrays: each row normalised to zero mean
and unit variance (the row's mean and variance summed in float64, in two passes over the row), and
the input gradient of that normalisation. Rows run in parallel."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..dispatch import PARALLEL_THRESHOLD_CHEAP, SUM_FLAGS, variants


@njit(nogil=True, fastmath=SUM_FLAGS)
def _ln_row(r, o, eps):
    n = r.size
    s = 0.0
    for k in range(n):
        s += r[k]
    m = s / n
    v = 0.0
    for k in range(n):
        d = r[k] - m
        v += d * d
    rs = 1.0 / math.sqrt(v / n + eps)
    for k in range(n):
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

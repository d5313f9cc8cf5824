"""Row kernels on (M, K) contiguous arrays: softmax, log_softmax and their backward, logsumexp,
and the NLL loss's pick of each row's target. Rows run in parallel; inside a row every loop is a
plain pass over a contiguous slice (sums with SUM_FLAGS so they vectorise) and exp is the shared
vexp (vecmath's expf for float32)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ...shared.scalar import vexp
from ..dispatch import SUM_FLAGS, kernel, variants
from ..vecmath import _row_ext


@njit(nogil=True, fastmath=SUM_FLAGS)
def _row_sum_exp(r, m):
    s = 0.0
    for k in range(r.size):
        s += vexp(r[k] - m)
    return s


@njit(nogil=True, fastmath=SUM_FLAGS)
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


@njit(nogil=True, fastmath=SUM_FLAGS)
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


@njit(nogil=True)
def _logsumexp_row(r):
    m = _row_ext(r, True)
    return m if math.isinf(m) else math.log(_row_sum_exp(r, m)) + m


@variants(nogil=True)
def _softmax_rows(x, out, log):
    for i in prange(x.shape[0]):
        _softmax_row(x[i], out[i], log)


@variants(nogil=True)
def _softmax_rows_bw(y, g, out, log):
    for i in prange(y.shape[0]):
        _softmax_row_bw(y[i], g[i], out[i], log)


@variants(nogil=True)
def _logsumexp_rows(x, out):
    for i in prange(x.shape[0]):
        out[i] = _logsumexp_row(x[i])


def softmax_rows(x2: np.ndarray, out: np.ndarray, log: bool) -> None:
    _softmax_rows.pick(x2.size)(x2, out, log)


def softmax_rows_backward(y2: np.ndarray, g2: np.ndarray, out: np.ndarray, log: bool) -> None:
    _softmax_rows_bw.pick(y2.size)(y2, g2, out, log)


def logsumexp_rows(x2: np.ndarray, out: np.ndarray) -> None:
    _logsumexp_rows.pick(x2.size)(x2, out)


@kernel(nogil=True)
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


@kernel(nogil=True)
def nll_rows_bw(g, t, ignore_index, w, out):
    """out (N, C), zeroed: -g * w[t[i]] at (i, t[i]) for the rows not ignored; g holds N values
    or one; w empty: weights of 1."""
    one = g.size == 1
    for i in range(t.shape[0]):
        ti = t[i]
        if ti != ignore_index:
            out[i, ti] = -(g[0] if one else g[i]) * (w[ti] if w.size else 1)

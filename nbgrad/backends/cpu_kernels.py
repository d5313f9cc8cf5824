"""Numba CPU kernels. Elementwise math is written once as scalar expressions
(scalar_math.ELEMENTWISE) and generated into serial and parallel map kernels
over flat, contiguous arrays (_cpu_elementwise.py); reductions and row kernels
(softmax) are written by hand."""

from __future__ import annotations

import math

import numpy as np

from ._numba_setup import ensure_cache_dir

ensure_cache_dir()

from numba import njit, prange  # noqa: E402

from . import _cpu_elementwise as _gen  # noqa: E402

# below this many elements a kernel runs serially: measured on 2 cores, a parallel
# mul broke even with serial at about 65536 float32 elements
PARALLEL_THRESHOLD = 65536


def elementwise(name: str, operands: list[np.ndarray], out: np.ndarray) -> None:
    """Run scalar_math.ELEMENTWISE[name] over flat contiguous operands of out's size."""
    suffix = "_p" if out.size >= PARALLEL_THRESHOLD else "_s"
    getattr(_gen, f"k_{name}{suffix}")(*operands, out)


# ---- reductions over the middle axis of a (A, K, B) contiguous array ----

@njit(cache=True, nogil=True)
def _sum_mid_s(x, out):
    A, K, B = x.shape
    for i in range(A):
        for j in range(B):
            out[i, j] = 0
        for k in range(K):
            for j in range(B):
                out[i, j] += x[i, k, j]


@njit(cache=True, nogil=True, parallel=True)
def _sum_mid_p(x, out):
    A, K, B = x.shape
    if A >= B:
        for i in prange(A):
            for j in range(B):
                out[i, j] = 0
            for k in range(K):
                for j in range(B):
                    out[i, j] += x[i, k, j]
    else:
        for j in prange(B):
            for i in range(A):
                acc = out[i, j]  # out arrives zeroed
                for k in range(K):
                    acc += x[i, k, j]
                out[i, j] = acc


@njit(cache=True, nogil=True)
def _argext_mid(x, vals, idx, want_max):
    """max/min with indices over the middle axis; NaN wins as in PyTorch."""
    A, K, B = x.shape
    for i in range(A):
        for j in range(B):
            best = x[i, 0, j]
            bi = 0
            for k in range(1, K):
                v = x[i, k, j]
                if best != best:
                    break
                if v != v or (want_max and v > best) or ((not want_max) and v < best):
                    best = v
                    bi = k
            vals[i, j] = best
            idx[i, j] = bi


def reduce_sum(x3: np.ndarray, out: np.ndarray) -> None:
    (_sum_mid_p if x3.size >= PARALLEL_THRESHOLD else _sum_mid_s)(x3, out)


def reduce_argext(x3: np.ndarray, vals: np.ndarray, idx: np.ndarray, want_max: bool) -> None:
    _argext_mid(x3, vals, idx, want_max)


# ---- row kernels on (M, K) contiguous arrays ----

@njit(cache=True, nogil=True, parallel=True)
def _softmax_rows(x, out, log):
    M, K = x.shape
    for i in prange(M):
        m = x[i, 0]
        for k in range(1, K):
            if x[i, k] > m:
                m = x[i, k]
        s = 0.0
        for k in range(K):
            s += math.exp(x[i, k] - m)
        if log:
            ls = math.log(s) + m
            for k in range(K):
                out[i, k] = x[i, k] - ls
        else:
            for k in range(K):
                out[i, k] = math.exp(x[i, k] - m) / s


@njit(cache=True, nogil=True, parallel=True)
def _softmax_rows_bw(y, g, out, log):
    M, K = y.shape
    for i in prange(M):
        s = 0.0
        if log:
            for k in range(K):
                s += g[i, k]
            for k in range(K):
                out[i, k] = g[i, k] - math.exp(y[i, k]) * s
        else:
            for k in range(K):
                s += g[i, k] * y[i, k]
            for k in range(K):
                out[i, k] = y[i, k] * (g[i, k] - s)


@njit(cache=True, nogil=True, parallel=True)
def _logsumexp_rows(x, out):
    M, K = x.shape
    for i in prange(M):
        m = x[i, 0]
        for k in range(1, K):
            if x[i, k] > m:
                m = x[i, k]
        if math.isinf(m):
            out[i] = m
            continue
        s = 0.0
        for k in range(K):
            s += math.exp(x[i, k] - m)
        out[i] = math.log(s) + m


def softmax_rows(x2: np.ndarray, out: np.ndarray, log: bool) -> None:
    _softmax_rows(x2, out, log)


def softmax_rows_backward(y2: np.ndarray, g2: np.ndarray, out: np.ndarray, log: bool) -> None:
    _softmax_rows_bw(y2, g2, out, log)


def logsumexp_rows(x2: np.ndarray, out: np.ndarray) -> None:
    _logsumexp_rows(x2, out)


# ---- gather / scatter for indexing and nll_loss ----

@njit(cache=True, nogil=True)
def _scatter_add_flat(dst, idx, src):
    for i in range(idx.size):
        dst[idx[i]] += src[i]


def scatter_add_flat(dst: np.ndarray, idx: np.ndarray, src: np.ndarray) -> None:
    _scatter_add_flat(dst, idx, src)

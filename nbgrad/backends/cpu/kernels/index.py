"""Indexing kernels: scatter-add into a flat array (the backward of indexing), and the dim-wise
gather / scatter / index_select / index_add of the index ops (issue 16) on (A, K, B) views of
their arrays (the dims before `dim` merged into A, those after into B). Indices are checked
before a kernel runs."""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from ..dispatch import kernel, variants


@kernel(nogil=True)
def _scatter_add_flat(dst, idx, src):
    for i in range(idx.size):
        dst[idx[i]] += src[i]


def scatter_add_flat(dst: np.ndarray, idx: np.ndarray, src: np.ndarray) -> None:
    _scatter_add_flat(dst, idx, src)


# ---------------------------------------------------------------- index, gather and scatter (issue 16)
# Gathers write each output element once, so their tasks are (a, block of rows), each row's
# columns copied in one contiguous loop. Scatters may hit one element many times: a task owns
# the elements it writes (an `a`, and a block of columns or of destination rows), so duplicate
# indices accumulate in index order, as on one thread.

@njit(nogil=True, inline="always")
def _combine(c, v, mode):
    """The element after scattering v onto c: mode 0 assign, 1 sum, 2 prod, 3 amax, 4 amin
    (amax / amin propagate NaN)."""
    if mode == 0:
        return v
    if mode == 1:
        return c + v
    if mode == 2:
        return c * v
    if mode == 3:
        return v if (v > c or v != v) else c
    return v if (v < c or v != v) else c


@variants(nogil=True)
def _gather3(x, idx, out, rchunk):
    A, Ki, B = idx.shape
    nr = (Ki + rchunk - 1) // rchunk
    for t in prange(A * nr):
        a = t // nr
        k0 = (t - a * nr) * rchunk
        for k in range(k0, min(Ki, k0 + rchunk)):
            for b in range(B):
                out[a, k, b] = x[a, idx[a, k, b], b]


@variants(nogil=True)
def _gather2(x, idx, out):
    """_gather3 with B == 1 (along the last dim): one row per task."""
    A, Ki = idx.shape
    for a in prange(A):
        for k in range(Ki):
            out[a, k] = x[a, idx[a, k]]


@variants(nogil=True)
def _scatter3(dst, idx, src, mode, bchunk):
    """dst[a, idx[a, k, b], b] (op)= src[a, k, b] (see _combine)."""
    A, Ki, B = idx.shape
    nb = (B + bchunk - 1) // bchunk
    for t in prange(A * nb):
        a = t // nb
        b0 = (t - a * nb) * bchunk
        for k in range(Ki):
            for b in range(b0, min(B, b0 + bchunk)):
                j = idx[a, k, b]
                dst[a, j, b] = _combine(dst[a, j, b], src[a, k, b], mode)


@variants(nogil=True)
def _scatter2(dst, idx, src, mode):
    """_scatter3 with B == 1: one row per task."""
    A, Ki = idx.shape
    for a in prange(A):
        for k in range(Ki):
            j = idx[a, k]
            dst[a, j] = _combine(dst[a, j], src[a, k], mode)


@variants(nogil=True)
def _index_select3(x, idx, out, rchunk):
    A, n, B = out.shape
    nr = (n + rchunk - 1) // rchunk
    for t in prange(A * nr):
        a = t // nr
        i0 = (t - a * nr) * rchunk
        for i in range(i0, min(n, i0 + rchunk)):
            j = idx[i]
            for b in range(B):
                out[a, i, b] = x[a, j, b]


@variants(nogil=True)
def _index_add3(dst, idx, src, alpha, parts):
    """Task (a, p) owns destination rows [p * per, (p + 1) * per) of a, and scans every index."""
    A, V, B = dst.shape
    n = idx.size
    per = (V + parts - 1) // parts
    for t in prange(A * parts):
        a = t // parts
        lo = (t - a * parts) * per
        hi = min(V, lo + per)
        for i in range(n):
            j = idx[i]
            if j >= lo and j < hi:
                for b in range(B):
                    dst[a, j, b] += alpha * src[a, i, b]


_TASKS = 32  # tasks per parallel kernel: enough to balance the threads


def _rchunk(A: int, rows: int) -> int:
    """Rows per task, so that A * (rows / chunk) makes about _TASKS tasks."""
    return max(1, -(-rows // max(1, -(-_TASKS // A))))


def _bchunk(A: int, B: int) -> int:
    """Columns per scatter task: whole rows when A alone gives enough tasks."""
    if A >= _TASKS or B <= 16:
        return max(B, 1)
    return max(16, -(-B // (-(-_TASKS // A))))


def gather3(x: np.ndarray, idx: np.ndarray, out: np.ndarray, threshold: int) -> None:
    A, Ki, B = idx.shape
    if B == 1:
        _gather2.pick(idx.size, threshold)(x[:, :, 0], idx[:, :, 0], out[:, :, 0])
    else:
        _gather3.pick(idx.size, threshold)(x, idx, out, _rchunk(A, Ki))


def scatter3(dst: np.ndarray, idx: np.ndarray, src: np.ndarray, mode: int, threshold: int) -> None:
    A, Ki, B = idx.shape
    if B == 1:
        _scatter2.pick(idx.size, threshold)(dst[:, :, 0], idx[:, :, 0], src[:, :, 0], mode)
    else:
        _scatter3.pick(idx.size, threshold)(dst, idx, src, mode, _bchunk(A, B))


def index_select3(x: np.ndarray, idx: np.ndarray, out: np.ndarray, threshold: int) -> None:
    _index_select3.pick(out.size, threshold)(x, idx, out, _rchunk(out.shape[0], out.shape[1]))


def index_add3(dst: np.ndarray, idx: np.ndarray, src: np.ndarray, alpha: object, threshold: int) -> None:
    par = src.size >= threshold
    parts = 1 if not par or dst.shape[0] >= _TASKS else max(1, min(get_num_threads(), dst.shape[1]))
    _index_add3.pick(src.size, threshold)(dst, idx, src, alpha, parts)

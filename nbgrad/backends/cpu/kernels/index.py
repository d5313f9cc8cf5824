"""Indexing kernels: scatter-add into a flat array (the backward of indexing), and the dim-wise
gather / scatter / index_add of the index ops (issue 16) on (A, K, B) views of their arrays (the
dims before `dim` merged into A, those after into B). The (a, column block) pairs run in
parallel: every write of a pair lands in its own a and columns, so no two threads write the same
element and duplicate indices accumulate in order. Indices are checked before a kernel runs."""

from __future__ import annotations

import numpy as np
from numba import prange

from numba import njit

from ..dispatch import kernel, variants


@kernel(nogil=True)
def _scatter_add_flat(dst, idx, src):
    for i in range(idx.size):
        dst[idx[i]] += src[i]


def scatter_add_flat(dst: np.ndarray, idx: np.ndarray, src: np.ndarray) -> None:
    _scatter_add_flat(dst, idx, src)


# ---------------------------------------------------------------- index, gather and scatter (issue 16)
@njit(nogil=True)
def _block(t, nb, bchunk, B):
    """Task t of A * nb: its a and its columns [b0, b1)."""
    a = t // nb
    b0 = (t - a * nb) * bchunk
    return a, b0, min(B, b0 + bchunk)


@variants(nogil=True)
def _gather3(x, idx, out, bchunk):
    A, Ki, B = idx.shape
    nb = (B + bchunk - 1) // bchunk
    for t in prange(A * nb):
        a, b0, b1 = _block(t, nb, bchunk, B)
        for k in range(Ki):
            for b in range(b0, b1):
                out[a, k, b] = x[a, idx[a, k, b], b]


@variants(nogil=True)
def _scatter3(dst, idx, src, mode, bchunk):
    """dst[a, idx[a, k, b], b] (op)= src[a, k, b]; mode 0 assign, 1 sum, 2 prod, 3 amax, 4 amin
    (amax / amin propagate NaN)."""
    A, Ki, B = idx.shape
    nb = (B + bchunk - 1) // bchunk
    for t in prange(A * nb):
        a, b0, b1 = _block(t, nb, bchunk, B)
        for k in range(Ki):
            for b in range(b0, b1):
                j = idx[a, k, b]
                v = src[a, k, b]
                if mode == 0:
                    dst[a, j, b] = v
                elif mode == 1:
                    dst[a, j, b] += v
                elif mode == 2:
                    dst[a, j, b] *= v
                elif mode == 3:
                    c = dst[a, j, b]
                    if v > c or v != v:
                        dst[a, j, b] = v
                else:
                    c = dst[a, j, b]
                    if v < c or v != v:
                        dst[a, j, b] = v


@variants(nogil=True)
def _index_select3(x, idx, out, bchunk):
    A, n, B = out.shape
    nb = (B + bchunk - 1) // bchunk
    for t in prange(A * nb):
        a, b0, b1 = _block(t, nb, bchunk, B)
        for i in range(n):
            j = idx[i]
            for b in range(b0, b1):
                out[a, i, b] = x[a, j, b]


@variants(nogil=True)
def _index_add3(dst, idx, src, alpha, bchunk):
    A, _, B = dst.shape
    n = idx.size
    nb = (B + bchunk - 1) // bchunk
    for t in prange(A * nb):
        a, b0, b1 = _block(t, nb, bchunk, B)
        for i in range(n):
            j = idx[i]
            for b in range(b0, b1):
                dst[a, j, b] += alpha * src[a, i, b]


_THREADS_WORK = 8  # (a, column block) pairs per kernel: enough to keep the threads busy


def _bchunk(A: int, B: int) -> int:
    """Columns per parallel task: whole rows when A alone gives enough tasks."""
    if A >= _THREADS_WORK or B <= 16:
        return max(B, 1)
    return max(16, -(-B // (-(-_THREADS_WORK // A))))


def gather3(x: np.ndarray, idx: np.ndarray, out: np.ndarray, threshold: int) -> None:
    _gather3.pick(idx.size, threshold)(x, idx, out, _bchunk(idx.shape[0], idx.shape[2]))


def scatter3(dst: np.ndarray, idx: np.ndarray, src: np.ndarray, mode: int, threshold: int) -> None:
    _scatter3.pick(idx.size, threshold)(dst, idx, src, mode, _bchunk(idx.shape[0], idx.shape[2]))


def index_select3(x: np.ndarray, idx: np.ndarray, out: np.ndarray, threshold: int) -> None:
    _index_select3.pick(out.size, threshold)(x, idx, out, _bchunk(out.shape[0], out.shape[2]))


def index_add3(dst: np.ndarray, idx: np.ndarray, src: np.ndarray, alpha: object, threshold: int) -> None:
    _index_add3.pick(src.size, threshold)(dst, idx, src, alpha, _bchunk(dst.shape[0], dst.shape[2]))

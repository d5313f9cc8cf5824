"""Layout kernels: C-ordered copies of Fortran-ordered matrices by tiles."""

from __future__ import annotations

import numpy as np
from numba import prange

from ..dispatch import PARALLEL_THRESHOLD_CHEAP, kernel


@kernel(parallel=True, nogil=True)
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
    computed as a transposed product) transposed by tiles in parallel; a 0-d array stays 0-d
    (np.ascontiguousarray makes it 1-d)."""
    if a.ndim == 0:
        return np.asarray(a)
    if a.ndim == 2 and a.size >= PARALLEL_THRESHOLD_CHEAP and not a.flags.c_contiguous and a.flags.f_contiguous:
        out = np.empty(a.shape, a.dtype)
        _transpose_tiles(a.T, out)
        return out
    return np.ascontiguousarray(a)

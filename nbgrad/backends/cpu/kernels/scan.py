"""Cumulative kernels (issue 16): running sum, product, max / min (with the index of each
running extreme) and log-sum-exp along the middle axis of (A, K, B) C-ordered arrays (the dims
before the scanned one merged into A, those after into B), so no axis is moved. The (a, column
block) pairs run in parallel; inside one, the k loop runs in order over a contiguous block of
columns. Sums and products accumulate in float64 (int64 for integers), as PyTorch's CPU scans."""

from __future__ import annotations

import numpy as np
from numba import prange

from ...shared import scalar as S
from ..dispatch import PARALLEL_THRESHOLD_CHEAP, variants
from ..vecmath import lift

SUM, PROD, MAX, MIN, LOGSUMEXP = 0, 1, 2, 3, 4
KINDS = {"sum": SUM, "prod": PROD, "max": MAX, "min": MIN, "logsumexp": LOGSUMEXP}
_BCHUNK = 64  # columns of one task


_logaddexp = lift(S.logaddexp)


@variants(nogil=True)
def _scan3(x, out, idx, kind, zero, bchunk):
    A, K, B = x.shape
    nb = (B + bchunk - 1) // bchunk
    for t in prange(A * nb):
        a = t // nb
        b0 = (t - a * nb) * bchunk
        b1 = min(B, b0 + bchunk)
        if kind <= PROD and B == 1:  # one row: a scalar accumulator
            s = zero
            for k in range(K):
                if kind == SUM:
                    s += x[a, k, 0]
                elif k == 0:
                    s = zero + x[a, k, 0]
                else:
                    s *= x[a, k, 0]
                out[a, k, 0] = s
        elif kind <= PROD:  # sum / product in the accumulator's type
            acc = np.full(b1 - b0, zero)
            for k in range(K):
                for b in range(b0, b1):
                    if kind == SUM:
                        acc[b - b0] += x[a, k, b]
                    elif k == 0:
                        acc[b - b0] = x[a, k, b]
                    else:
                        acc[b - b0] *= x[a, k, b]
                    out[a, k, b] = acc[b - b0]
        elif kind == LOGSUMEXP:
            for b in range(b0, b1):
                out[a, 0, b] = x[a, 0, b]
            for k in range(1, K):
                for b in range(b0, b1):
                    out[a, k, b] = _logaddexp(out[a, k - 1, b], x[a, k, b])
        else:  # running max / min: ties and NaN take the later element; a number never replaces NaN
            for b in range(b0, b1):
                out[a, 0, b] = x[a, 0, b]
                idx[a, 0, b] = 0
            for k in range(1, K):
                for b in range(b0, b1):
                    p = out[a, k - 1, b]
                    v = x[a, k, b]
                    take = v != v or (p == p and (v >= p if kind == MAX else v <= p))
                    out[a, k, b] = v if take else p
                    idx[a, k, b] = k if take else idx[a, k - 1, b]


def cumulative3(x3: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The running `kind` of x3 (A, K, B) along K, and for max / min each one's index (int64)."""
    code = KINDS[kind]
    out = np.empty(x3.shape, dtype=x3.dtype)
    ext = code in (MAX, MIN)
    idx = np.empty(x3.shape if ext else (1, 1, 1), dtype=np.int64)
    if x3.size:
        zero = np.float64(0) if x3.dtype.kind == "f" else np.int64(0)
        _scan3.pick(x3.size, PARALLEL_THRESHOLD_CHEAP)(x3, out, idx, code, zero, _BCHUNK)
    return out, (idx if ext else None)

"""Cumulative kernels (issue 16) on (A, K, B) C-ordered buffers, scanned along K: a thread per
(a, b) column where B > 1 (neighbouring threads read neighbouring columns), a block per row
where B is 1 (each thread scans a chunk of the row, thread 0 scans the chunks' totals, then
each thread rescans its chunk from its prefix). Sums and products accumulate in `zero`'s type
(float64, or int64 for integers); max / min also give each running extreme's index (ties and
NaN take the later element; a number never replaces NaN)."""

from __future__ import annotations

from numba import cuda, float64, int64, uint64

from ...shared import scalar as S
from ..launch import MAX_THREADS
from .device import lift

SUM, PROD, MAX, MIN, LOGSUMEXP = 0, 1, 2, 3, 4
KINDS = {"sum": SUM, "prod": PROD, "max": MAX, "min": MIN, "logsumexp": LOGSUMEXP}

_logaddexp = lift(S.logaddexp)


@cuda.jit(device=True)
def _combine(kind, p, pi, v, vi):
    """The running value p (at index pi) followed by v (at vi); sum, prod, max, min."""
    if kind == SUM:
        return p + v, pi
    if kind == PROD:
        return p * v, pi
    take = v != v or (p == p and (v >= p if kind == MAX else v <= p))
    return (v, vi) if take else (p, pi)


@cuda.jit(device=True)
def _combine_lse(kind, p, pi, v, vi):
    return _logaddexp(p, v), pi


def _kernels(acc_t, combine):
    """(cols, rows) kernels accumulating in acc_t with combine (logaddexp apart, so integer
    scans never go through floats)."""

    @cuda.jit
    def cols(x, xo, out, idx, A, K, B, kind, zero):
        ext = kind == MAX or kind == MIN
        for o in range(cuda.grid(1), A * B, cuda.gridsize(1)):
            a = o // B
            b = o - a * B
            p = a * K * B + b
            acc = zero + x[uint64(xo + p)]
            ai = 0
            out[p] = acc
            if ext:
                idx[p] = 0
            for k in range(1, K):
                p += B
                acc, ai = combine(kind, acc, ai, x[uint64(xo + p)], k)
                out[p] = acc
                if ext:
                    idx[p] = ai

    @cuda.jit
    def rows(x, xo, out, idx, M, K, kind, zero):
        sm = cuda.shared.array(MAX_THREADS, acc_t)
        si = cuda.shared.array(MAX_THREADS, int64)
        ext = kind == MAX or kind == MIN
        t, nt = cuda.threadIdx.x, cuda.blockDim.x
        c = (K + nt - 1) // nt
        lo = t * c
        hi = min(K, lo + c)
        for r in range(cuda.blockIdx.x, M, cuda.gridDim.x):
            base = r * K
            if lo < hi:  # this chunk's total
                acc = zero + x[uint64(xo + base + lo)]
                ai = lo
                for k in range(lo + 1, hi):
                    acc, ai = combine(kind, acc, ai, x[uint64(xo + base + k)], k)
                sm[t] = acc
                si[t] = ai
            cuda.syncthreads()
            if t == 0:  # each chunk's prefix: the total of the chunks before it
                run, runi = sm[0], si[0]
                for j in range(1, nt):
                    if j * c >= K:
                        break
                    cur, curi = sm[j], si[j]
                    sm[j], si[j] = run, runi
                    run, runi = combine(kind, run, runi, cur, curi)
            cuda.syncthreads()
            if lo < hi:
                acc = zero + x[uint64(xo + base + lo)]
                ai = lo
                if t > 0:
                    acc, ai = combine(kind, zero + sm[t], si[t], acc, ai)
                out[base + lo] = acc
                if ext:
                    idx[base + lo] = ai
                for k in range(lo + 1, hi):
                    acc, ai = combine(kind, acc, ai, x[uint64(xo + base + k)], k)
                    out[base + k] = acc
                    if ext:
                        idx[base + k] = ai
            cuda.syncthreads()

    return cols, rows


_MADE: dict = {}


def scan_kernels(integer: bool, kind: str) -> tuple:
    """The (cols, rows) kernels of a scan of integers or floats of `kind`."""
    key = "lse" if kind == "logsumexp" else ("int" if integer else "float")
    ks = _MADE.get(key)
    if ks is None:
        ks = _MADE[key] = _kernels(int64 if key == "int" else float64, _combine_lse if key == "lse" else _combine)
    return ks

"""Reductions: the block reduction (a shared-memory tree, then warp shuffles), sums over the
middle axis of (A, K, B) in one or two passes, and max / min with their indices."""

from __future__ import annotations

from typing import Any

from numba import cuda, float64, int64, uint64

from ..launch import LAUNCH, MAX_THREADS, SIMULATOR

# reduce `acc` over the block (sum, or max when is_max): a shared-memory tree, then warp
# shuffles for the last 32 when the block has at least 64 threads; every thread gets the result
_block_reduce_src = '''
def block_reduce(sm, acc, is_max):
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    sm[tid] = acc
    cuda.syncthreads()
    s = nt // 2
    while s > 16 or (s > 0 and (nt < 64 or not USE_SHFL)):
        if tid < s:
            if is_max:
                if sm[tid + s] > sm[tid]:
                    sm[tid] = sm[tid + s]
            else:
                sm[tid] += sm[tid + s]
        cuda.syncthreads()
        s //= 2
    if nt >= 64 and USE_SHFL:
        if tid < 32:
            v = sm[tid]
            for off in (16, 8, 4, 2, 1):
                o = cuda.shfl_down_sync(0xFFFFFFFF, v, off)
                if is_max:
                    if o > v:
                        v = o
                else:
                    v += o
            if tid == 0:
                sm[0] = v
        cuda.syncthreads()
    r = sm[0]
    cuda.syncthreads()
    return r
'''
# the simulator has no warp shuffles: there the shared-memory tree runs to the end
_ns: dict = {"cuda": cuda, "USE_SHFL": not SIMULATOR}
exec(_block_reduce_src, _ns)  # noqa: S102
block_reduce = cuda.jit(device=True)(_ns["block_reduce"])


@cuda.jit(device=True)
def chunk_of(o, xo, K, B, S, chunk):
    """Output o = (a, s, b) of a reduction over chunk s of the middle axis of (A, K, B), at
    offset xo: (x's position of element (a, 0, b), first k, end k)."""
    SB = S * B
    a = o // SB
    rem = o - a * SB
    s = rem // B
    lo = s * chunk
    return xo + a * K * B + (rem - s * B), lo, min(K, lo + chunk)


def _sum_kernels(acc_t: Any) -> tuple:
    @cuda.jit
    def rows(x, xo, A, K, S, chunk, out, zero):
        """out[a, s] = sum of x[xo + a*K + k] over chunk s of k (S chunks of `chunk`): one block
        per (row, chunk); S = 1 sums whole rows."""
        sm = cuda.shared.array(MAX_THREADS, acc_t)
        for r in range(cuda.blockIdx.x, A * S, cuda.gridDim.x):
            a = r // S
            lo = (r - a * S) * chunk
            acc = zero
            for k in range(lo + cuda.threadIdx.x, min(K, lo + chunk), cuda.blockDim.x):
                acc += x[uint64(xo + a * K + k)]
            acc = block_reduce(sm, acc, False)
            if cuda.threadIdx.x == 0:
                out[r] = acc

    @cuda.jit
    def mid(x, xo, A, K, B, S, chunk, out, zero):
        """out[a, s, b] = sum of x[a, k, b] over chunk s of k: one thread per output, coalesced
        over b; S = 1 sums the whole axis."""
        for o in range(cuda.grid(1), A * S * B, cuda.gridsize(1)):
            base, lo, hi = chunk_of(o, xo, K, B, S, chunk)
            acc = zero
            for k in range(lo, hi):
                acc += x[uint64(base + k * B)]
            out[o] = acc

    return rows, mid


def reduce_chunks(outputs: int, K: int, rows: bool) -> int:
    """Into how many chunks to split a reduced axis (a sum, a max / min) so the first pass has
    enough parallel work (a block per row and chunk, or a thread per output and chunk) to fill
    the GPU; a second pass reduces the chunks' results. Each chunk keeps at least
    LAUNCH["reduce_chunk_rows"] (a block's loop) or LAUNCH["reduce_chunk_mid"] (a thread's)
    elements; 1: no split."""
    want = 2 * LAUNCH["sms"] * (8 if rows else 2048)  # blocks / threads of two full waves
    least = LAUNCH["reduce_chunk_rows" if rows else "reduce_chunk_mid"]
    if outputs >= want or K < 2 * least:
        return 1
    return max(1, min(-(-want // outputs), K // least))


SUM_F, SUM_I = _sum_kernels(float64), _sum_kernels(int64)


@cuda.jit
def argext_mid(x, xo, A, K, B, S, chunk, vals, idx, want_max, pidx, use_pidx):
    """max/min with indices over chunk s of the middle axis of (A, K, B) into (A, S, B) (S = 1:
    the whole axis); the first NaN wins, then the first extreme, as in PyTorch. use_pidx: x holds
    a first pass's partial results, whose indices are in pidx (A, K, B)."""
    for o in range(cuda.grid(1), A * S * B, cuda.gridsize(1)):
        base, lo, hi = chunk_of(o, xo, K, B, S, chunk)
        best = x[uint64(base + lo * B)]
        bk = lo
        for k in range(lo + 1, hi):
            if best != best:
                break
            v = x[uint64(base + k * B)]
            if v != v or (want_max and v > best) or ((not want_max) and v < best):
                best = v
                bk = k
        vals[o] = best
        idx[o] = pidx[uint64(base - xo + bk * B)] if use_pidx else bk

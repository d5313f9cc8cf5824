"""Gather / scatter kernels for indexing (positions computed by the backend; a negative one is
an index out of range, flagged in bad[0]), and the input check of binary_cross_entropy."""

from __future__ import annotations

from numba import cuda, uint64


@cuda.jit
def check_unit_interval(x, xo, n, bad):
    """bad[0] = 3 if an element of x is outside [0, 1] (binary_cross_entropy's input)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        v = x[uint64(xo + i)]
        if not (v >= 0 and v <= 1):
            bad[0] = 3


@cuda.jit
def gather(src, pos, out, bad):
    """out[i] = src[pos[i]]; a negative position (an index out of range) sets bad[0] = 1 instead."""
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        p = pos[i]
        if p >= 0:
            out[i] = src[p]
        else:
            bad[0] = 1


@cuda.jit
def scatter_add(dst, pos, src, bad):
    for i in range(cuda.grid(1), src.size, cuda.gridsize(1)):
        p = pos[i]
        if p >= 0:
            cuda.atomic.add(dst, p, src[i])
        else:
            bad[0] = 1


@cuda.jit
def scatter_store(dst, pos, src, so, s_step, bad):
    """dst[pos[i]] = src[so + i * s_step] (s_step 0 broadcasts one value)."""
    for i in range(cuda.grid(1), pos.size, cuda.gridsize(1)):
        p = pos[i]
        if p >= 0:
            dst[p] = src[so + i * s_step]
        else:
            bad[0] = 1


@cuda.jit
def scatter_mid(out, idx, io, g, go, A, K, B):
    """out (A, K, B) zeros; out[a, idx[a, b], b] = g[a, b] (max/min backward)."""
    for o in range(cuda.grid(1), A * B, cuda.gridsize(1)):
        a = o // B
        b = o - a * B
        out[(a * K + idx[io + o]) * B + b] = g[go + o]


# ---------------------------------------------------------------- index, gather and scatter (issue 16)
# On (A, K, B) C-ordered buffers (the dims before the op's dim merged into A, those after into B);
# an index outside [0, K) is skipped and flags bad[0] = 1.
@cuda.jit(device=True)
def _akb(o, K, B):
    """Element o of an (A, K, B) buffer: (a, k, b)."""
    t = o // B
    a = t // K
    return a, t - a * K, o - t * B


@cuda.jit
def check_range(idx, io, n, lo, hi, bad):
    """bad[0] = 1 if an index is outside [lo, hi)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        v = idx[io + i]
        if v < lo or v >= hi:
            bad[0] = 1


@cuda.jit
def gather3(x, xo, idx, io, out, Kx, Ki, B, bad):
    """out[a, k, b] = x[a, idx[a, k, b], b]."""
    for o in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        a, _k, b = _akb(o, Ki, B)
        j = idx[io + o]
        if j >= 0 and j < Kx:
            out[o] = x[xo + (a * Kx + j) * B + b]
        else:
            bad[0] = 1


@cuda.jit
def scatter3(dst, do, idx, io, src, so, s_step, n, Kd, Ki, B, mode, bad):
    """dst[a, idx[a, k, b], b] (op)= src[a, k, b] (s_step 0: one value); mode 0 assign, 1 sum
    (atomic), 3 amax, 4 amin (atomic)."""
    for o in range(cuda.grid(1), n, cuda.gridsize(1)):
        a, _k, b = _akb(o, Ki, B)
        j = idx[io + o]
        if j >= 0 and j < Kd:
            p = do + (a * Kd + j) * B + b
            v = src[so + o * s_step]
            if mode == 0:
                dst[p] = v
            elif mode == 1:
                cuda.atomic.add(dst, p, v)
            elif mode == 3:
                cuda.atomic.max(dst, p, v)
            else:
                cuda.atomic.min(dst, p, v)
        else:
            bad[0] = 1


@cuda.jit
def index_select3(x, xo, idx, io, out, K, n, B, bad):
    """out[a, i, b] = x[a, idx[i], b]."""
    for o in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        a, i, b = _akb(o, n, B)
        j = idx[io + i]
        if j >= 0 and j < K:
            out[o] = x[xo + (a * K + j) * B + b]
        else:
            bad[0] = 1


@cuda.jit
def index_add3(dst, do, idx, io, src, so, alpha, total, K, n, B, bad):
    """dst[a, idx[i], b] += alpha * src[a, i, b] (atomic: indices may repeat)."""
    for o in range(cuda.grid(1), total, cuda.gridsize(1)):
        a, i, b = _akb(o, n, B)
        j = idx[io + i]
        if j >= 0 and j < K:
            cuda.atomic.add(dst, do + (a * K + j) * B + b, alpha * src[so + o])
        else:
            bad[0] = 1

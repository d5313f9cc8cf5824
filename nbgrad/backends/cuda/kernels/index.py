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

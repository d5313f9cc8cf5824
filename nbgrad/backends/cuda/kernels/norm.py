"""Layer-norm row kernels (issue 17), one block per row of K contiguous elements: the row's mean
and variance (summed in float64 over the block, two passes), the normalised row and 1 / sqrt(var
+ eps); and the input gradient rstd * (g - mean(g) - y * mean(g * y)) from the output y."""

from __future__ import annotations

import math

from numba import cuda, float64, uint64

from ..launch import MAX_THREADS
from .reduce import block_reduce


@cuda.jit
def layer_norm_rows(x, xo, M, K, eps, out, rstd):
    sm = cuda.shared.array(MAX_THREADS, float64)
    t, nt = cuda.threadIdx.x, cuda.blockDim.x
    for i in range(cuda.blockIdx.x, M, cuda.gridDim.x):
        r = xo + i * K
        s = float64(0)
        for k in range(t, K, nt):
            s += x[uint64(r + k)]
        m = block_reduce(sm, s, False) / K
        v = float64(0)
        for k in range(t, K, nt):
            d = x[uint64(r + k)] - m
            v += d * d
        rs = 1.0 / math.sqrt(block_reduce(sm, v, False) / K + eps)
        for k in range(t, K, nt):
            out[uint64(i * K + k)] = (x[uint64(r + k)] - m) * rs
        if t == 0:
            rstd[i] = rs


@cuda.jit
def layer_norm_rows_bw(g, y, rstd, M, K, out):
    sm = cuda.shared.array(MAX_THREADS, float64)
    t, nt = cuda.threadIdx.x, cuda.blockDim.x
    for i in range(cuda.blockIdx.x, M, cuda.gridDim.x):
        r = i * K
        a = float64(0)
        b = float64(0)
        for k in range(t, K, nt):
            u = uint64(r + k)
            a += g[u]
            b += g[u] * y[u]
        a = block_reduce(sm, a, False) / K
        b = block_reduce(sm, b, False) / K
        rs = rstd[i]
        for k in range(t, K, nt):
            u = uint64(r + k)
            out[u] = rs * (g[u] - a - y[u] * b)

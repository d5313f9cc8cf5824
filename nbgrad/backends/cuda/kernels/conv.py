"""Convolution and pooling kernels (issue 17) on C-ordered (N, C, H, W) buffers at an offset, one
grid-stride loop each: im2col (the columns the backend's matmul multiplies by the weight), col2im
(their adjoint, by atomic adds), max pooling with torch's flat argmax indices, and the max
pool's scatter (atomic adds) / gather."""

from __future__ import annotations

from numba import cuda, uint64

from ...shared.pool import max_window
from .device import lift

_max_window = lift(max_window)


@cuda.jit(device=True)
def _source(t, N, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    """Column entry t of im2col's (C * kh * kw, N * OH * OW) output: the (n, c, h, w) of x it
    holds (h or w may fall outside x, in the padding)."""
    L = OH * OW
    NL = N * L
    r = t // NL
    q = t - r * NL
    n = q // L
    l_ = q - n * L
    oh = l_ // OW
    ow = l_ - oh * OW
    c = r // (kh * kw)
    i = (r // kw) % kh
    j = r % kw
    return n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw


@cuda.jit
def im2col(x, xo, N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, out):
    """out[(c * kh + i) * kw + j, (n * OH + oh) * OW + ow] = x[n, c, h, w] (0 outside x)."""
    total = C * kh * kw * N * OH * OW
    for t in range(cuda.grid(1), total, cuda.gridsize(1)):
        n, c, h, w = _source(t, N, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)
        v = 0.0
        if 0 <= h < H and 0 <= w < W:
            v = x[uint64(xo + ((n * C + c) * H + h) * W + w)]
        out[t] = v


@cuda.jit
def col2im(cols, co, N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, out):
    """out (zeroed) += cols (C * kh * kw, N, OH * OW) put back where im2col took them from."""
    total = C * kh * kw * N * OH * OW
    for t in range(cuda.grid(1), total, cuda.gridsize(1)):
        n, c, h, w = _source(t, N, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW)
        if 0 <= h < H and 0 <= w < W:
            cuda.atomic.add(out, ((n * C + c) * H + h) * W + w, cols[uint64(co + t)])


@cuda.jit
def max_pool(x, xo, NC, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, vals, idx):
    """Each window's max and its flat index h * W + w in its plane (shared.pool.max_window)."""
    total = NC * OH * OW
    for t in range(cuda.grid(1), total, cuda.gridsize(1)):
        p = t // (OH * OW)
        q = t - p * (OH * OW)
        oh = q // OW
        ow = q - oh * OW
        vals[t], idx[t] = _max_window(x, xo + p * H * W, H, W, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw)


@cuda.jit
def plane_scatter(g, go, idx, io, K, P, total, out):
    """out (N * C planes of P, zeroed): out[plane * P + idx[t]] += g[t] for t in plane * K + k."""
    for t in range(cuda.grid(1), total, cuda.gridsize(1)):
        plane = t // K
        cuda.atomic.add(out, plane * P + idx[uint64(io + t)], g[uint64(go + t)])


@cuda.jit
def plane_gather(x, xo, idx, io, K, P, total, out):
    """out[t] = x[plane * P + idx[t]] for t in plane * K + k."""
    for t in range(cuda.grid(1), total, cuda.gridsize(1)):
        plane = t // K
        out[t] = x[uint64(xo + plane * P + idx[uint64(io + t)])]

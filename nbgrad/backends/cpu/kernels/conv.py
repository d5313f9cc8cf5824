"""Convolution and pooling kernels on C-ordered (N, C, H, W) arrays: im2col (the columns a
convolution multiplies by its weight through BLAS), col2im (their adjoint: the input gradient),
a direct convolution for few input channels, max pooling with torch's flat argmax indices, and
the scatter / gather of a max pool's backward. One body per kernel, serial for small inputs and
parallel over the (image, channel) planes for large ones."""

from __future__ import annotations

import numpy as np
from numba import prange

from ..dispatch import PARALLEL_THRESHOLD_CHEAP, variants


@variants(nogil=True)
def _im2col(x, out, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    """out[n, (c * kh + i) * kw + j, oh * OW + ow] = x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw]
    (0 outside x)."""
    N, C, H, W = x.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for i in range(kh):
            for j in range(kw):
                row = out[n, (c * kh + i) * kw + j]
                for oh in range(OH):
                    h = oh * sh - ph + i * dh
                    base = oh * OW
                    if h < 0 or h >= H:
                        for ow in range(OW):
                            row[base + ow] = 0
                    else:
                        xr = x[n, c, h]
                        for ow in range(OW):
                            w = ow * sw - pw + j * dw
                            row[base + ow] = xr[w] if 0 <= w < W else 0


@variants(nogil=True)
def _col2im(cols, out, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    """out (zeroed) += the columns put back where im2col took them from."""
    N, C, H, W = out.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for i in range(kh):
            for j in range(kw):
                row = cols[n, (c * kh + i) * kw + j]
                for oh in range(OH):
                    h = oh * sh - ph + i * dh
                    if 0 <= h < H:
                        base = oh * OW
                        orow = out[n, c, h]
                        for ow in range(OW):
                            w = ow * sw - pw + j * dw
                            if 0 <= w < W:
                                orow[w] += row[base + ow]


@variants(nogil=True)
def _max_pool(x, vals, idx, kh, kw, sh, sw, ph, pw, dh, dw):
    """Each window's max and its flat index h * W + w in the plane (the last nan wins, as in torch)."""
    N, C, H, W = x.shape
    OH, OW = vals.shape[2], vals.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for oh in range(OH):
            for ow in range(OW):
                best = -np.inf
                bi = -1
                for i in range(kh):
                    h = oh * sh - ph + i * dh
                    if 0 <= h < H:
                        for j in range(kw):
                            w = ow * sw - pw + j * dw
                            if 0 <= w < W:
                                v = x[n, c, h, w]
                                if bi < 0 or v > best or np.isnan(v):
                                    best = v
                                    bi = h * W + w
                vals[n, c, oh, ow] = best
                idx[n, c, oh, ow] = bi


@variants(nogil=True)
def _plane_scatter(g, idx, out):
    """out (N, C, P) zeroed: out[n, c, idx[n, c, k]] += g[n, c, k]."""
    N, C, K = g.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for k in range(K):
            out[n, c, idx[n, c, k]] += g[n, c, k]


@variants(nogil=True)
def _plane_gather(x, idx, out):
    """out[n, c, k] = x[n, c, idx[n, c, k]]."""
    N, C, K = idx.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for k in range(K):
            out[n, c, k] = x[n, c, idx[n, c, k]]


def _pick(v, size: int):
    return v.pick(size, PARALLEL_THRESHOLD_CHEAP // 4)


def im2col(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, out_hw: tuple) -> np.ndarray:
    N, C = x.shape[:2]
    (kh, kw), (OH, OW) = kernel, out_hw
    out = np.empty((N, C * kh * kw, OH * OW), dtype=x.dtype)
    if out.size:
        _pick(_im2col, out.size)(x, out, kh, kw, *stride, *padding, *dilation, OH, OW)
    return out


def col2im(cols: np.ndarray, shape: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
           out_hw: tuple) -> np.ndarray:
    out = np.zeros(shape, dtype=cols.dtype)
    if cols.size and out.size:
        _pick(_col2im, cols.size)(cols, out, *kernel, *stride, *padding, *dilation, *out_hw)
    return out


def max_pool2d(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
               out_hw: tuple) -> tuple[np.ndarray, np.ndarray]:
    N, C = x.shape[:2]
    vals = np.empty((N, C) + tuple(out_hw), dtype=x.dtype)
    idx = np.empty((N, C) + tuple(out_hw), dtype=np.int64)
    if vals.size:
        _pick(_max_pool, vals.size * kernel[0] * kernel[1])(x, vals, idx, *kernel, *stride, *padding, *dilation)
    return vals, idx


def plane_scatter(g: np.ndarray, idx: np.ndarray, shape: tuple) -> np.ndarray:
    N, C = shape[:2]
    out = np.zeros((N, C, int(np.prod(shape[2:]))), dtype=g.dtype)
    if g.size:
        g3 = g.reshape(N, C, -1)
        _pick(_plane_scatter, g3.size)(g3, idx.reshape(N, C, -1), out)
    return out.reshape(shape)


def plane_gather(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    N, C = x.shape[:2]
    out = np.empty(idx.shape, dtype=x.dtype)
    if out.size:
        i3 = idx.reshape(N, C, -1)
        _pick(_plane_gather, i3.size)(x.reshape(N, C, -1), i3, out.reshape(N, C, -1))
    return out

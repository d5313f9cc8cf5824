"""Convolution and pooling kernels on C-ordered (N, C, H, W) arrays: im2col (the columns a
convolution multiplies by its weight through BLAS, (C * kh * kw, N * OH * OW): one product for the
batch), col2im (their adjoint: the input gradient),
a direct convolution for few input channels, max pooling with torch's flat argmax indices, and
the scatter / gather of a max pool's backward. One body per kernel, serial for small inputs and
parallel over the (image, channel) planes for large ones."""

from __future__ import annotations

import numpy as np
from numba import prange

from ...shared.pool import max_window
from ..dispatch import PARALLEL_THRESHOLD_CHEAP, variants
from ..vecmath import lift

_max_window = lift(max_window)


@variants(nogil=True)
def _im2col(x, out, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    """out[(c * kh + i) * kw + j, (n * OH + oh) * OW + ow] = x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw]
    (0 outside x): the columns of all images side by side. One task per row, written in order;
    the ow whose input column is inside x are a slice copy (unit stride)."""
    N, C, H, W = x.shape
    for r in prange(C * kh * kw):
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        row = out[r]
        off = j * dw - pw
        lo = min(OW, max(0, (sw - 1 - off) // sw))  # the ow whose w = ow * sw + off is in x
        hi = max(lo, min(OW, (W - 1 - off) // sw + 1))
        for n in range(N):
            xc = x[n, c]
            for oh in range(OH):
                h = oh * sh - ph + i * dh
                base = (n * OH + oh) * OW
                if h < 0 or h >= H:
                    row[base:base + OW] = 0
                else:
                    xr = xc[h]
                    row[base:base + lo] = 0
                    if sw == 1:
                        row[base + lo:base + hi] = xr[lo + off:hi + off]
                    else:
                        for ow in range(lo, hi):
                            row[base + ow] = xr[ow * sw + off]
                    row[base + hi:base + OW] = 0


@variants(nogil=True)
def _col2im(cols, out, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    """out (zeroed) += the columns cols (C * kh * kw, N, OH * OW) put back where im2col took them from."""
    N, C, H, W = out.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j, n]
                for oh in range(OH):
                    h = oh * sh - ph + i * dh
                    if 0 <= h < H:
                        base = oh * OW
                        orow = out[n, c, h]
                        off = j * dw - pw
                        lo = max(0, (sw - 1 - off) // sw)
                        hi = min(OW, (W - 1 - off) // sw + 1)
                        if sw == 1:
                            orow[lo + off:hi + off] += row[base + lo:base + hi]
                        else:
                            for ow in range(lo, hi):
                                orow[ow * sw + off] += row[base + ow]


@variants(nogil=True)
def _max_pool(x, vals, idx, kh, kw, sh, sw, ph, pw, dh, dw):
    """Each window's max and its flat index h * W + w in the plane (shared.pool.max_window)."""
    N, C, H, W = x.shape
    OH, OW = vals.shape[2], vals.shape[3]
    xf = x.reshape(-1)
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for oh in range(OH):
            for ow in range(OW):
                vals[n, c, oh, ow], idx[n, c, oh, ow] = _max_window(xf, nc * H * W, H, W, oh, ow, kh, kw, sh, sw,
                                                                    ph, pw, dh, dw)


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
    out = np.empty((C * kh * kw, N * OH * OW), dtype=x.dtype)
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


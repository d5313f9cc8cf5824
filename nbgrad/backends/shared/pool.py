"""Max pooling's window, device-free: plain Python that each device lifts into its kernel
(CPU: njit inlined; CUDA: a device function), so both pick the same element."""

from __future__ import annotations

import math


def max_window(x, base, H, W, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw):
    """The max of window (oh, ow) of the (H, W) plane at x[base:] (x flat) and its flat index
    h * W + w in the plane: the first max, or the last nan (as torch); (-inf, -1) if the window
    holds no element of the plane."""
    best = -math.inf
    bi = -1
    for i in range(kh):
        h = oh * sh - ph + i * dh
        if 0 <= h < H:
            for j in range(kw):
                w = ow * sw - pw + j * dw
                if 0 <= w < W:
                    v = x[base + h * W + w]
                    if bi < 0 or v > best or math.isnan(v):
                        best = v
                        bi = h * W + w
    return best, bi

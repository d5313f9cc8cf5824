"""Random numbers drawn on the device: Philox4x32-10 from a seed and an offset in device memory."""

from __future__ import annotations

import math

from numba import cuda, float64, int64, uint64

# ------------------------------------------------------------------ random numbers
# Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
# counter-based generator. Each thread computes its values from (seed, counter) alone, so a draw
# needs no per-thread state, only a 64-bit offset that sets it apart from every other draw. The
# seed and the offset live on the device (state[0], state[1]): a CUDA graph replay of a draw reads
# them there and advances the offset, so each replay draws new numbers.

@cuda.jit(device=True)
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1): four 32-bit values
    (all held in uint64s below 2**32)."""
    m = uint64(0xFFFFFFFF)
    for _ in range(10):
        p0 = uint64(0xD2511F53) * c0
        p1 = uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = (p1 >> uint64(32)) ^ c1 ^ k0, p1 & m, (p0 >> uint64(32)) ^ c3 ^ k1, p0 & m
        k0 = (k0 + uint64(0x9E3779B9)) & m
        k1 = (k1 + uint64(0xBB67AE85)) & m
    return c0, c1, c2, c3


@cuda.jit(device=True)
def _unit53(hi, lo):
    """A float64 in [0, 1) from 53 of the bits of two 32-bit values."""
    return (float64(hi >> uint64(5)) * 67108864.0 + float64(lo >> uint64(6))) * (1.0 / 9007199254740992.0)


@cuda.jit
def random_fill(out, n, state, dist, low, span, per):
    """out[0:n] from the generator's state: group g of `per` values comes from Philox of counter
    (g, offset) under the seed. dist 0: uniform in [0, 1); 1: standard normal (Box-Muller);
    2: integers low + [0, span). per 4 (float32 uniform / normal): 24-bit uniforms; per 2:
    53-bit uniforms, or 64-bit integers taken modulo span."""
    m = uint64(0xFFFFFFFF)
    seed, off = state[0], state[1]
    nu, pu = uint64(n), uint64(per)
    for g in range(cuda.grid(1), (n + per - 1) // per, cuda.gridsize(1)):
        gu = uint64(g)
        x0, x1, x2, x3 = philox(gu & m, gu >> uint64(32), off & m, off >> uint64(32), seed & m, seed >> uint64(32))
        if per == 4:
            u0, u1 = float64(x0 >> uint64(8)) * 5.9604644775390625e-08, float64(x1 >> uint64(8)) * 5.9604644775390625e-08
            u2, u3 = float64(x2 >> uint64(8)) * 5.9604644775390625e-08, float64(x3 >> uint64(8)) * 5.9604644775390625e-08
        else:
            u0, u1, u2, u3 = _unit53(x0, x1), _unit53(x2, x3), 0.0, 0.0
        v0, v1, v2, v3 = u0, u1, u2, u3
        if dist == 1:  # Box-Muller on (u0, u1) and, for float32, (u2, u3); 1 - u is in (0, 1]
            r = math.sqrt(-2.0 * math.log(1.0 - u0))
            v0, v1 = r * math.cos(6.283185307179586 * u1), r * math.sin(6.283185307179586 * u1)
            if per == 4:
                r = math.sqrt(-2.0 * math.log(1.0 - u2))
                v2, v3 = r * math.cos(6.283185307179586 * u3), r * math.sin(6.283185307179586 * u3)
        i = gu * pu
        if dist == 2:
            out[i] = low + int64((x0 | (x1 << uint64(32))) % uint64(span))
            if i + uint64(1) < nu:
                out[i + uint64(1)] = low + int64((x2 | (x3 << uint64(32))) % uint64(span))
        else:
            out[i] = v0
            if i + uint64(1) < nu:
                out[i + uint64(1)] = v1
            if per == 4:
                if i + uint64(2) < nu:
                    out[i + uint64(2)] = v2
                if i + uint64(3) < nu:
                    out[i + uint64(3)] = v3


@cuda.jit
def random_advance(state):
    """Moves the generator past a draw (a kernel of its own: the draw's blocks all read the offset)."""
    if cuda.grid(1) == 0:
        state[1] += uint64(1)

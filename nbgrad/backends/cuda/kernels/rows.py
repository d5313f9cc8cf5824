"""Row kernels, one block per row: softmax, log_softmax and their backward, logsumexp,
cross-entropy's log_softmax with the target pick, and the NLL loss's forward, reduction and
backward."""

from __future__ import annotations

import math

from numba import cuda, float64, uint64

from ..launch import MAX_THREADS
from .reduce import block_reduce


@cuda.jit(device=True)
def row_max_sumexp(x, r, K, sm):
    """(max, sum of exp(x - max)) of the row x[r : r + K], reduced over the block; the sum is 0
    when the max is infinite."""
    t, nt = cuda.threadIdx.x, cuda.blockDim.x
    m = -math.inf
    for k in range(t, K, nt):
        v = x[uint64(r + k)]
        if v > m:
            m = v
    m = block_reduce(sm, float64(m), True)
    s = 0.0
    if not math.isinf(m):
        for k in range(t, K, nt):
            s += math.exp(x[uint64(r + k)] - m)
    return m, block_reduce(sm, s, False)


@cuda.jit(device=True)
def softmax_row(x, r, K, out, o, sm, log):
    """softmax (log: log_softmax) of the row x[r : r + K] into out[o : o + K], by the block."""
    m, s = row_max_sumexp(x, r, K, sm)
    ls = math.log(s) + m
    for k in range(cuda.threadIdx.x, K, cuda.blockDim.x):
        xk = x[uint64(r + k)]
        out[uint64(o + k)] = xk - ls if log else math.exp(xk - m) / s


@cuda.jit(device=True)
def nll_pick(x, row, c, C, ignore, w, nw, per, valid, bad, i):
    """Row i's loss -w[c] * x[row + c] for target c and the row's weight w[c] (nw == 0: weights of
    1): 0 and 0 where c is ignore_index; nan, 1 and bad[0] = 2 for a target out of range (raised
    at the next copy to the host)."""
    if c == ignore:
        per[i] = 0
        valid[i] = 0
    elif c < 0 or c >= C:
        per[i] = math.nan
        valid[i] = 1
        bad[0] = 2
    else:
        wi = w[c] if nw else 1
        per[i] = -x[row + c] * wi
        valid[i] = wi


@cuda.jit
def softmax_rows(x, xo, M, K, out, log):
    sm = cuda.shared.array(MAX_THREADS, float64)
    for i in range(cuda.blockIdx.x, M, cuda.gridDim.x):
        softmax_row(x, xo + i * K, K, out, i * K, sm, log)


@cuda.jit
def log_softmax_nll_rows(x, xo, M, K, out, tg, to, ignore, w, nw, per, valid, bad):
    """log_softmax of each row into out, and cross-entropy's per-row loss -w[tg[i]] * out[i, tg[i]]
    with the row's weight (as nll_forward) in the same pass."""
    sm = cuda.shared.array(MAX_THREADS, float64)
    for i in range(cuda.blockIdx.x, M, cuda.gridDim.x):
        softmax_row(x, xo + i * K, K, out, i * K, sm, True)
        cuda.syncthreads()  # thread 0 reads the element another thread wrote
        if cuda.threadIdx.x == 0:
            nll_pick(out, i * K, tg[to + i], K, ignore, w, nw, per, valid, bad, i)


@cuda.jit
def softmax_rows_bw(y, g, M, K, out, log):
    sm = cuda.shared.array(MAX_THREADS, float64)
    t, nt = cuda.threadIdx.x, cuda.blockDim.x
    for i in range(cuda.blockIdx.x, M, cuda.gridDim.x):
        r = i * K
        s = 0.0
        for k in range(t, K, nt):
            u = uint64(r + k)
            s += g[u] if log else g[u] * y[u]
        s = block_reduce(sm, s, False)
        for k in range(t, K, nt):
            u = uint64(r + k)
            out[u] = g[u] - math.exp(y[u]) * s if log else y[u] * (g[u] - s)


@cuda.jit
def logsumexp_rows(x, M, K, out):
    sm = cuda.shared.array(MAX_THREADS, float64)
    for i in range(cuda.blockIdx.x, M, cuda.gridDim.x):
        m, s = row_max_sumexp(x, i * K, K, sm)
        if cuda.threadIdx.x == 0:
            out[i] = m if math.isinf(m) else math.log(s) + m


@cuda.jit
def nll_forward(x, xo, t, to, N, C, ignore, w, nw, per, valid, bad):
    """per[i] = -w[t[i]] * x[i, t[i]], valid[i] = w[t[i]] (nw == 0: weights of 1)."""
    for i in range(cuda.grid(1), N, cuda.gridsize(1)):
        nll_pick(x, xo + i * C, t[to + i], C, ignore, w, nw, per, valid, bad, i)


@cuda.jit
def nll_reduce(per, po, valid, vo, N, mean, out, n):
    """nll_loss's 'sum' / 'mean' in one block: n[0] = the rows' summed weights (valid), out[0] =
    the summed row losses, over n[0] for mean (summed in float64; 0 / 0 gives nan, as in torch)."""
    sm = cuda.shared.array(MAX_THREADS, float64)
    a = float64(0)
    b = float64(0)
    for i in range(cuda.threadIdx.x, N, cuda.blockDim.x):
        a += per[uint64(po + i)]
        b += valid[uint64(vo + i)]
    a = block_reduce(sm, a, False)
    b = block_reduce(sm, b, False)
    if cuda.threadIdx.x == 0:
        n[0] = b
        out[0] = (a / b if b != 0 else math.nan) if mean else a  # (b is 0 only where a is: nan, as 0 / 0)


@cuda.jit
def nll_backward(g, go, gs, t, to, N, C, ignore, w, nw, tot, tot_o, div, out):
    """out (N, C): -g[i] * w[t[i]] at (i, t[i]) and zeros elsewhere, one thread per element
    (gs: 1, or 0 for one upstream value for every row), divided by tot[tot_o] where div ('mean')."""
    for o in range(cuda.grid(1), N * C, cuda.gridsize(1)):
        i = o // C
        c = o - i * C
        if c == t[uint64(to + i)] and c != ignore:
            v = -g[uint64(go + i * gs)] * (w[c] if nw else 1)
            out[uint64(o)] = v / tot[uint64(tot_o)] if div else v
        else:
            out[uint64(o)] = 0

"""Order kernels (issue 16) on (M, K) C-ordered rows: a stable merge sort whose every pass is a
grid-stride loop over all elements (each element of a pair of sorted runs finds its place in
the merged run by a binary search in the other run), and binary search into sorted rows
(searchsorted). NaN orders after every number (before it, descending), as in PyTorch."""

from __future__ import annotations

from numba import cuda, uint64


@cuda.jit(device=True)
def _before(a, b, desc):
    """a goes strictly before b."""
    if desc:
        return a > b or (a != a and b == b)
    return a < b or (b != b and a == a)


@cuda.jit
def iota_rows(x, xo, keys, idx, n, K):
    """keys = the n elements of x from xo; idx = each one's position in its row of K."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        keys[i] = x[uint64(xo + i)]
        idx[i] = i % K


@cuda.jit
def merge_pass(sk, si, dk, di, n, K, w, desc):
    """Merge each pair of sorted runs of w elements of every row of (sk, si) into (dk, di): an
    element of a left run goes after the right run's elements that go before it, one of a right
    run after the left run's elements it does not go before (stable)."""
    for e in range(cuda.grid(1), n, cuda.gridsize(1)):
        r = e // K
        k = e - r * K
        base = r * K
        s = (k // (2 * w)) * (2 * w)
        m = min(K, s + w)
        end = min(K, s + 2 * w)
        v = sk[e]
        if k < m:
            lo, hi = m, end
            while lo < hi:
                mid = (lo + hi) // 2
                if _before(sk[base + mid], v, desc):
                    lo = mid + 1
                else:
                    hi = mid
            pos = k + lo - m
        else:
            lo, hi = s, m
            while lo < hi:
                mid = (lo + hi) // 2
                if _before(v, sk[base + mid], desc):
                    hi = mid
                else:
                    lo = mid + 1
            pos = k - m + lo
        dk[base + pos] = v
        di[base + pos] = si[e]


@cuda.jit
def searchsorted_rows(seq, so, Ks, shared, vals, vo, N, n, out, right):
    """out[i]: the first j of value i's row of seq (row 0 when shared) with seq[j] >= value
    (> with right), PyTorch's predicate (NaN values go last)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        r = 0 if shared else i // N
        base = so + r * Ks
        v = vals[uint64(vo + i)]
        lo, hi = 0, Ks
        while lo < hi:
            mid = (lo + hi) // 2
            s = seq[uint64(base + mid)]
            if (s > v) if right else (s >= v):
                hi = mid
            else:
                lo = mid + 1
        out[i] = lo

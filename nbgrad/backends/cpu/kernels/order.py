"""Order kernels (issue 16): a stable sort of every row along the middle axis of (A, K, B)
C-ordered arrays (keys with their original positions), the first k of that order without a
full sort (topk), and binary search into sorted rows (searchsorted). NaN orders after every
number (before it, descending), as in PyTorch. Rows run in parallel, a block of rows a task
(each task sorts in scratch rows of its own)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..dispatch import PARALLEL_THRESHOLD_CHEAP, variants

_RUN = 24  # runs sorted by insertion before the merges
_TASKS = 256  # at most this many tasks a call (each allocates its scratch once)


@njit(nogil=True, inline="always")
def _before(a, b, desc):
    """a goes strictly before b."""
    if desc:
        return a > b or (a != a and b == b)
    return a < b or (b != b and a == a)


@njit(nogil=True)
def _merge_sort(kb, ib, kt, it, desc):
    """Stable sort of keys kb (and their positions ib) in place; kt, it: scratch of their size."""
    n = kb.size
    for s in range(0, n, _RUN):
        e = min(n, s + _RUN)
        for i in range(s + 1, e):
            kv, iv = kb[i], ib[i]
            j = i - 1
            while j >= s and _before(kv, kb[j], desc):
                kb[j + 1] = kb[j]
                ib[j + 1] = ib[j]
                j -= 1
            kb[j + 1] = kv
            ib[j + 1] = iv
    w = _RUN
    sk, si, dk, di = kb, ib, kt, it
    swapped = False
    while w < n:
        for s in range(0, n, 2 * w):
            m = min(n, s + w)
            e = min(n, s + 2 * w)
            i, j, o = s, m, s
            if m < e and not _before(sk[m], sk[m - 1], desc):  # already in order
                i, j = m, e
                for q in range(s, e):
                    dk[q] = sk[q]
                    di[q] = si[q]
            while i < m and j < e:
                if _before(sk[j], sk[i], desc):
                    dk[o] = sk[j]
                    di[o] = si[j]
                    j += 1
                else:
                    dk[o] = sk[i]
                    di[o] = si[i]
                    i += 1
                o += 1
            while i < m:
                dk[o] = sk[i]
                di[o] = si[i]
                i += 1
                o += 1
            while j < e:
                dk[o] = sk[j]
                di[o] = si[j]
                j += 1
                o += 1
        sk, si, dk, di = dk, di, sk, si
        swapped = not swapped
        w *= 2
    if swapped:
        kb[:] = kt
        ib[:] = it


@variants(nogil=True)
def _sort3(x, out, idx, desc, per):
    A, K, B = x.shape
    R = A * B
    for t in prange((R + per - 1) // per):
        kb = np.empty(K, x.dtype)
        kt = np.empty(K, x.dtype)
        ib = np.empty(K, np.int64)
        it = np.empty(K, np.int64)
        for r in range(t * per, min(R, (t + 1) * per)):
            a = r // B
            b = r - a * B
            for k in range(K):
                kb[k] = x[a, k, b]
                ib[k] = k
            _merge_sort(kb, ib, kt, it, desc)
            for k in range(K):
                out[a, k, b] = kb[k]
                idx[a, k, b] = ib[k]


@variants(nogil=True)
def _topk3(x, out, idx, desc, per):
    """The first k (out's middle axis) of each row in stable sorted order: a sorted buffer that
    each element enters only when it goes before the buffer's last."""
    A, K, B = x.shape
    k = out.shape[1]
    R = A * B
    for t in prange((R + per - 1) // per):
        kb = np.empty(k, x.dtype)
        ib = np.empty(k, np.int64)
        for r in range(t * per, min(R, (t + 1) * per)):
            a = r // B
            b = r - a * B
            n = 0
            for j in range(K):
                v = x[a, j, b]
                if n == k:
                    if not _before(v, kb[k - 1], desc):
                        continue
                    p = k - 1
                else:
                    p = n
                    n += 1
                while p > 0 and _before(v, kb[p - 1], desc):
                    kb[p] = kb[p - 1]
                    ib[p] = ib[p - 1]
                    p -= 1
                kb[p] = v
                ib[p] = j
            for q in range(k):
                out[a, q, b] = kb[q]
                idx[a, q, b] = ib[q]


@variants(nogil=True)
def _radix3(keys, x, out, idx, passes, per):
    """Stable LSD radix sort (a byte a pass) of each row of order-preserving unsigned keys (A, K, B);
    out gets x's values in that order."""
    A, K, B = keys.shape
    R = A * B
    for t in prange((R + per - 1) // per):
        ka = np.empty(K, np.uint64)
        kb = np.empty(K, np.uint64)
        ia = np.empty(K, np.int64)
        ib = np.empty(K, np.int64)
        cnt = np.empty(256, np.int64)
        for r in range(t * per, min(R, (t + 1) * per)):
            a = r // B
            b = r - a * B
            for k in range(K):
                ka[k] = keys[a, k, b]
                ia[k] = k
            sk, si, dk, di = ka, ia, kb, ib
            for p in range(passes):
                shift = np.uint64(8 * p)
                cnt[:] = 0
                for k in range(K):
                    cnt[(sk[k] >> shift) & np.uint64(255)] += 1
                if cnt[(sk[0] >> shift) & np.uint64(255)] == K:  # one byte value: nothing moves
                    continue
                total = 0
                for d in range(256):
                    c = cnt[d]
                    cnt[d] = total
                    total += c
                for k in range(K):
                    d = (sk[k] >> shift) & np.uint64(255)
                    q = cnt[d]
                    cnt[d] = q + 1
                    dk[q] = sk[k]
                    di[q] = si[k]
                sk, si, dk, di = dk, di, sk, si
            for k in range(K):
                j = si[k]
                out[a, k, b] = x[a, j, b]
                idx[a, k, b] = j


_RADIX_FROM = 128  # rows at least this long sort float keys by radix


def _radix_keys(x3: np.ndarray, descending: bool) -> tuple[np.ndarray, int]:
    """Unsigned keys (uint64) whose order is x3's (floats: NaN canonical and last, -0.0 as 0.0),
    and the bytes they take."""
    bits = 32 if x3.dtype == np.float32 else 64
    ut = np.uint32 if bits == 32 else np.uint64
    canon = np.where(x3 != x3, x3.dtype.type(np.nan), x3 + x3.dtype.type(0))
    u = np.ascontiguousarray(canon).view(ut)
    top = ut(1 << (bits - 1))
    keys = np.where(u & top, ~u, u | top)
    if descending:
        keys = ~keys
    return keys.astype(np.uint64, copy=False), bits // 8


def _per(rows: int) -> int:
    return max(1, -(-rows // _TASKS))


def sort3(x3: np.ndarray, descending: bool, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each row x3[a, :, b] in stable order (its first k only, when k is given): (keys, positions)."""
    A, K, B = x3.shape
    kk = K if k is None else k
    out = np.empty((A, kk, B), dtype=x3.dtype)
    idx = np.empty((A, kk, B), dtype=np.int64)
    if out.size:
        partial = kk < K and kk * 8 <= K
        fn = _topk3 if partial else _sort3
        if not partial and kk < K:
            full, fidx = sort3(x3, descending)
            return np.ascontiguousarray(full[:, :kk]), np.ascontiguousarray(fidx[:, :kk])
        if not partial and K >= _RADIX_FROM and x3.dtype in (np.float32, np.float64):
            keys, passes = _radix_keys(x3, descending)
            _radix3.pick(x3.size, PARALLEL_THRESHOLD_CHEAP // 16)(keys, x3, out, idx, passes, _per(A * B))
            return out, idx
        fn.pick(x3.size, PARALLEL_THRESHOLD_CHEAP // 16)(x3, out, idx, descending, _per(A * B))
    return out, idx


@variants(nogil=True)
def _searchsorted(seq, vals, out, right, shared):
    """out[r, j]: the first i of row seq[r] (seq[0] when shared) with seq[r, i] >= vals[r, j]
    (> with right), by binary search (PyTorch's predicate: NaN values go last)."""
    R, N = vals.shape
    Ks = seq.shape[1]
    for r in prange(R):
        s = seq[0] if shared else seq[r]
        for j in range(N):
            v = vals[r, j]
            lo, hi = 0, Ks
            while lo < hi:
                mid = (lo + hi) // 2
                if (s[mid] > v) if right else (s[mid] >= v):
                    hi = mid
                else:
                    lo = mid + 1
            out[r, j] = lo


def searchsorted2(seq: np.ndarray, vals: np.ndarray, right: bool) -> np.ndarray:
    """seq (R or 1, Ks) and vals (R, N) C-ordered, of one dtype: int64 positions (R, N)."""
    out = np.empty(vals.shape, dtype=np.int64)
    if out.size:
        _searchsorted.pick(vals.size, PARALLEL_THRESHOLD_CHEAP // 16)(seq, vals, out, right, seq.shape[0] == 1)
    return out

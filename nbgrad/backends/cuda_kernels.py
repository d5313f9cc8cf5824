"""numba.cuda kernels of the CUDA backend. Imported only when a CUDA tensor is first made.

Every kernel is a grid-stride loop (or a block-stride loop over rows), so a test can
shrink the launch (`configure(threads=..., max_blocks=...)`) to run under the simulator.
Elementwise kernels are generated from the same scalar_math.ELEMENTWISE table as the
CPU ones; matmul is a generated tiled kernel with register blocking."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from numba import cuda, float32, float64, int32, int64, uint32, uint64
from numba.cuda.core import config as _cuda_config

from .cpu.kernels import optim as cpu_optim
from .cuda_launch import Launcher
from .scalar_math import ELEMENTWISE

# small grids are intended (tiny tensors, simulator launches): no per-launch warning
_cuda_config.CUDA_LOW_OCCUPANCY_WARNINGS = 0

# CUDA-only helpers in the same form as the table: identity (copies, casts, strided stores)
_EXTRA = {"_copy": (1, "a")}
_SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

# max_blocks 8192: the best measured cap (see README); sms: the GPU's multiprocessors (set from the
# device); split_k_min: the shortest K chunk a split-K product gives one block tile; sum_chunk_*:
# the shortest chunk of a split reduction (see reduce_chunks)
# mm_vector: float32 tiles read with 128-bit shared loads (see _tiled_source); mm_two_blocks: the
# float32 tiled matmul compiled for 2 blocks per multiprocessor (launch bounds: ptxas 13.5 fits the
# scalar tiles in 127 registers with no spill, the vector tiles in 128 with 16 bytes; without them
# 146 / 165 registers and 1 block). Both on by default from that static count, not yet from a GPU
# timing (NBGRAD_CUDA_MM_VECTOR=0 / NBGRAD_CUDA_MM_TWO_BLOCKS=0 turn them off; gpu_check times all
# four). ew_vector: float32 elementwise kernels move 4 values per access (_vector_source); off
# until a GPU run has timed it (NBGRAD_CUDA_EW_VECTOR=1)
LAUNCH = {"threads": 256, "max_blocks": 8192, "tile_min_flops": 1 << 18, "sms": 132, "split_k_min": 256,
          "reduce_chunk_rows": 2048, "reduce_chunk_mid": 32,
          "mm_vector": os.environ.get("NBGRAD_CUDA_MM_VECTOR", "1") != "0",
          "mm_two_blocks": os.environ.get("NBGRAD_CUDA_MM_TWO_BLOCKS", "1") != "0",
          "ew_vector": os.environ.get("NBGRAD_CUDA_EW_VECTOR") == "1"}
MAX_THREADS = 256  # shared-memory scratch size of the block reductions


def configure(threads: int | None = None, max_blocks: int | None = None, tile_min_flops: int | None = None,
              sms: int | None = None, split_k_min: int | None = None, reduce_chunks: tuple | None = None) -> None:
    """Shrink launches (tests under NUMBA_ENABLE_CUDASIM) or tune them. threads: a power of 2 <= 256;
    reduce_chunks: (rows, mid) shortest chunks of a split reduction."""
    if reduce_chunks is not None:
        LAUNCH["reduce_chunk_rows"], LAUNCH["reduce_chunk_mid"] = (max(1, int(c)) for c in reduce_chunks)
    if sms is not None:
        LAUNCH["sms"] = max(1, int(sms))
    if split_k_min is not None:
        LAUNCH["split_k_min"] = max(1, int(split_k_min))
    if threads is not None:
        if threads & (threads - 1) or not 1 <= threads <= MAX_THREADS:
            raise ValueError(f"threads must be a power of 2 in [1, {MAX_THREADS}], got {threads}")
        LAUNCH["threads"] = threads
    if max_blocks is not None:
        LAUNCH["max_blocks"] = max(1, int(max_blocks))
    if tile_min_flops is not None:
        LAUNCH["tile_min_flops"] = int(tile_min_flops)


if os.environ.get("NBGRAD_CUDA_LAUNCH"):  # "threads,max_blocks", e.g. "4,2" for the simulator
    _t, _b = (int(v) for v in os.environ["NBGRAD_CUDA_LAUNCH"].split(","))
    configure(_t, _b)

LAUNCHER = Launcher(simulator=_SIM)


def launch(kernel: Any, n: int, *args: Any, rows: bool = False, per_thread: int = 1) -> None:
    """Launch `kernel` over n items, per_thread to a thread (or n rows, one block each, when
    rows=True); grid-stride loops cover the rest when max_blocks caps the grid."""
    t = LAUNCH["threads"]
    blocks = max(1, min(n if rows else (n + t * per_thread - 1) // (t * per_thread), LAUNCH["max_blocks"]))
    LAUNCHER(kernel, (blocks, 1, 1), (t, 1, 1), args)


def launch_grid(kernel: Any, grid: tuple, block: tuple, *args: Any) -> None:
    """Launch `kernel` on an explicit 3-D grid and block (the tiled matmul)."""
    LAUNCHER(kernel, grid, block, args)


# ------------------------------------------------------------------ elementwise
# Operand kinds: 'c' contiguous with the output's shape (index i), 'g' general strided
# (offset + strides over the output's shape, stride 0 where broadcast), 's' a scalar value.

_EW: dict = {}


UNROLL = 4  # independent loads in flight per thread on the contiguous path


def _contiguous_source(expr: str, kinds: str, casts: list[str]) -> list[str]:
    """All operands contiguous (or scalars): each thread handles UNROLL elements per trip,
    loading all of them before it stores any, so more memory requests are in flight."""
    names = "abcd"[: len(kinds)]
    params = [f"{v}_" if k == "s" else f"{v}_, {v}_o" for v, k in zip(names, kinds)]

    def load(v: str, k: str, cast: str, i: str) -> str:
        return f"{cast}({v}_)" if k == "s" else f"{cast}({v}_[U({v}_o + {i})])"

    L = [f"def f({', '.join(names)}):", f"    return {expr}", "",
         f"def k(out, out_o, n, {', '.join(params)}):",
         "    start = cuda.grid(1)",
         "    step = cuda.gridsize(1)",
         f"    for i0 in range(start, n, step * {UNROLL}):"]
    for u in range(1, UNROLL):
        L.append(f"        i{u} = i{u - 1} + step")
    L.append(f"        if i{UNROLL - 1} < n:")
    for u in range(UNROLL):
        L.append(f"            r{u} = F({', '.join(load(v, k, c, f'i{u}') for v, k, c in zip(names, kinds, casts))})")
    for u in range(UNROLL):
        L.append(f"            out[U(out_o + i{u})] = r{u}")
    L += ["        else:",
          "            for i in range(i0, n, step):",
          f"                out[U(out_o + i)] = F({', '.join(load(v, k, c, 'i') for v, k, c in zip(names, kinds, casts))})"]
    return L


def _vector_source(kinds: str, casts: list[str]) -> list[str]:
    """All operands contiguous float32 (or scalars) at offsets that are multiples of 4: each thread
    moves 4 consecutive values per access (G4 / S4), a grid-stride loop over groups of 4, then
    the n % 4 tail one by one."""
    names = "abcd"[: len(kinds)]
    params = [f"{v}_" if k == "s" else f"{v}_, {v}_o" for v, k in zip(names, kinds)]
    L = [f"def k(out, out_o, n, {', '.join(params)}):",
         "    start = cuda.grid(1)",
         "    step = cuda.gridsize(1)",
         "    nv = n // 4",
         "    for g in range(start, nv, step):",
         "        i = g * 4"]
    for v, k, c in zip(names, kinds, casts):
        if k == "s":
            L.append(f"        {v}0 = {v}1 = {v}2 = {v}3 = {c}({v}_)")
        else:
            L.append(f"        {v}0, {v}1, {v}2, {v}3 = G4({v}_, {v}_o + i)")
    args = [", ".join(f"{c}({v}{u})" for v, c in zip(names, casts)) for u in range(4)]
    L.append(f"        S4(out, out_o + i, {', '.join(f'float32(F({a}))' for a in args)})")  # out is float32
    loads = ", ".join(f"{c}({v}_)" if k == "s" else f"{c}({v}_[{v}_o + i])" for v, k, c in zip(names, kinds, casts))
    L += ["    for i in range(nv * 4 + start, n, step):",
          f"        out[out_o + i] = F({loads})"]
    return L


def elementwise_kernel(op: str, kinds: str, calc: str, out_kind: str = "c", vector: bool = False,
                       idx32: bool = False) -> Any:
    """vector: the float32 kernel with 4-value accesses (kinds 'c' / 's', out contiguous).
    idx32: the strided kernel splits the flat index into coordinates in 32-bit unsigned
    arithmetic (n < 2**32): a 64-bit division is several times the instructions."""
    idx32 = idx32 and "g" in kinds + out_kind  # (only the strided kernel divides)
    key = (op, kinds, calc, out_kind, vector, idx32)
    k = _EW.get(key)
    if k is None:
        nargs, expr = ELEMENTWISE[op] if op in ELEMENTWISE else _EXTRA[op]
        params, loads, offs = [], [], []
        for i, (v, kind) in enumerate(zip("abcd", kinds)):
            cast = "" if (op == "where" and i == 0) or calc == "bool_" else calc
            if kind == "s":
                params.append(f"{v}_")
                loads.append(f"{v} = {cast}({v}_)")
            elif kind == "c":
                params += [f"{v}_", f"{v}_o"]
                loads.append(f"{v} = {cast}({v}_[U({v}_o + i)])")
            else:
                params += [f"{v}_", f"{v}_o", f"{v}_s"]
                offs.append(v)
                loads.append(f"{v} = {cast}({v}_[U({v}_i)])")
        if out_kind == "g":
            offs.append("out")
        # U: indices are never negative; as unsigned, numba leaves out its wraparound arithmetic
        ns = {"cuda": cuda, "math": math, "float32": float32, "float64": float64, "int64": int64,
              "int32": int32, "U": uint64, "I": uint32 if idx32 else int64}
        if not offs:
            casts = ["" if (op == "where" and i == 0) or calc == "bool_" else calc for i in range(len(kinds))]
            src = _contiguous_source(expr, kinds, casts)
            exec("\n".join(src[:2]), ns)  # noqa: S102  (the op's scalar expression, from the table)
            ns["F"] = cuda.jit(device=True)(ns["f"])
            if vector:
                ns.update(vector_ops())
                src = src[:3] + _vector_source(kinds, casts)
            exec("\n".join(src[3:]), ns)  # noqa: S102
            k = _EW[key] = cuda.jit(ns["k"])
            return k
        lines = [
            f"def k(out, out_o, out_s, n, shape, {', '.join(params)}):",
            "    start = cuda.grid(1)",
            "    step = cuda.gridsize(1)",
            "    for i in range(start, n, step):",
        ]
        if offs:
            lines += [f"        {v}_i = {v}_o" for v in offs]
            lines += [
                "        r = I(i)",
                "        for d in range(len(shape) - 1, -1, -1):",
                "            sd = I(shape[d])",
                "            q = r // sd",
                "            c = r - q * sd",
                "            r = q",
            ]
            lines += [f"            {v}_i += int64(c) * {v}_s[d]" for v in offs]
        lines += [f"        {ld}" for ld in loads]
        lines.append(f"        out[U({'out_i' if out_kind == 'g' else 'out_o + i'})] = {expr}")
        exec("\n".join(lines), ns)  # noqa: S102  (source built above from the scalar_math table)
        k = _EW[key] = cuda.jit(ns["k"])
    return k


# ------------------------------------------------------------------ reductions

# reduce `acc` over the block (sum, or max when is_max): a shared-memory tree, then warp
# shuffles for the last 32 when the block has at least 64 threads; every thread gets the result
_block_reduce_src = '''
def block_reduce(sm, acc, is_max):
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    sm[tid] = acc
    cuda.syncthreads()
    s = nt // 2
    while s > 16 or (s > 0 and (nt < 64 or not USE_SHFL)):
        if tid < s:
            if is_max:
                if sm[tid + s] > sm[tid]:
                    sm[tid] = sm[tid + s]
            else:
                sm[tid] += sm[tid + s]
        cuda.syncthreads()
        s //= 2
    if nt >= 64 and USE_SHFL:
        if tid < 32:
            v = sm[tid]
            for off in (16, 8, 4, 2, 1):
                o = cuda.shfl_down_sync(0xFFFFFFFF, v, off)
                if is_max:
                    if o > v:
                        v = o
                else:
                    v += o
            if tid == 0:
                sm[0] = v
        cuda.syncthreads()
    r = sm[0]
    cuda.syncthreads()
    return r
'''
# the simulator has no warp shuffles: there the shared-memory tree runs to the end
_ns: dict = {"cuda": cuda, "USE_SHFL": not _SIM}
exec(_block_reduce_src, _ns)  # noqa: S102
block_reduce = cuda.jit(device=True)(_ns["block_reduce"])


@cuda.jit(device=True)
def chunk_of(o, xo, K, B, S, chunk):
    """Output o = (a, s, b) of a reduction over chunk s of the middle axis of (A, K, B), at
    offset xo: (x's position of element (a, 0, b), first k, end k)."""
    SB = S * B
    a = o // SB
    rem = o - a * SB
    s = rem // B
    lo = s * chunk
    return xo + a * K * B + (rem - s * B), lo, min(K, lo + chunk)


def _sum_kernels(acc_t: Any) -> tuple:
    @cuda.jit
    def rows(x, xo, A, K, S, chunk, out, zero):
        """out[a, s] = sum of x[xo + a*K + k] over chunk s of k (S chunks of `chunk`): one block
        per (row, chunk); S = 1 sums whole rows."""
        sm = cuda.shared.array(MAX_THREADS, acc_t)
        for r in range(cuda.blockIdx.x, A * S, cuda.gridDim.x):
            a = r // S
            lo = (r - a * S) * chunk
            acc = zero
            for k in range(lo + cuda.threadIdx.x, min(K, lo + chunk), cuda.blockDim.x):
                acc += x[uint64(xo + a * K + k)]
            acc = block_reduce(sm, acc, False)
            if cuda.threadIdx.x == 0:
                out[r] = acc

    @cuda.jit
    def mid(x, xo, A, K, B, S, chunk, out, zero):
        """out[a, s, b] = sum of x[a, k, b] over chunk s of k: one thread per output, coalesced
        over b; S = 1 sums the whole axis."""
        for o in range(cuda.grid(1), A * S * B, cuda.gridsize(1)):
            base, lo, hi = chunk_of(o, xo, K, B, S, chunk)
            acc = zero
            for k in range(lo, hi):
                acc += x[uint64(base + k * B)]
            out[o] = acc

    return rows, mid


def reduce_chunks(outputs: int, K: int, rows: bool) -> int:
    """Into how many chunks to split a reduced axis (a sum, a max / min) so the first pass has
    enough parallel work (a block per row and chunk, or a thread per output and chunk) to fill
    the GPU; a second pass reduces the chunks' results. Each chunk keeps at least
    LAUNCH["reduce_chunk_rows"] (a block's loop) or LAUNCH["reduce_chunk_mid"] (a thread's)
    elements; 1: no split."""
    want = 2 * LAUNCH["sms"] * (8 if rows else 2048)  # blocks / threads of two full waves
    least = LAUNCH["reduce_chunk_rows" if rows else "reduce_chunk_mid"]
    if outputs >= want or K < 2 * least:
        return 1
    return max(1, min(-(-want // outputs), K // least))


SUM_F, SUM_I = _sum_kernels(float64), _sum_kernels(int64)


@cuda.jit
def argext_mid(x, xo, A, K, B, S, chunk, vals, idx, want_max, pidx, use_pidx):
    """max/min with indices over chunk s of the middle axis of (A, K, B) into (A, S, B) (S = 1:
    the whole axis); the first NaN wins, then the first extreme, as in PyTorch. use_pidx: x holds
    a first pass's partial results, whose indices are in pidx (A, K, B)."""
    for o in range(cuda.grid(1), A * S * B, cuda.gridsize(1)):
        base, lo, hi = chunk_of(o, xo, K, B, S, chunk)
        best = x[uint64(base + lo * B)]
        bk = lo
        for k in range(lo + 1, hi):
            if best != best:
                break
            v = x[uint64(base + k * B)]
            if v != v or (want_max and v > best) or ((not want_max) and v < best):
                best = v
                bk = k
        vals[o] = best
        idx[o] = pidx[uint64(base - xo + bk * B)] if use_pidx else bk


# ------------------------------------------------------------------ row kernels (softmax family)

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


@cuda.jit
def softmax_rows(x, xo, M, K, out, log):
    sm = cuda.shared.array(MAX_THREADS, float64)
    t, nt = cuda.threadIdx.x, cuda.blockDim.x
    for i in range(cuda.blockIdx.x, M, cuda.gridDim.x):
        r = xo + i * K
        m, s = row_max_sumexp(x, r, K, sm)
        ls = math.log(s) + m
        for k in range(t, K, nt):
            xk = x[uint64(r + k)]
            out[uint64(i * K + k)] = xk - ls if log else math.exp(xk - m) / s


@cuda.jit
def log_softmax_nll_rows(x, xo, M, K, out, tg, to, ignore, w, nw, per, valid, bad):
    """log_softmax of each row into out, and cross-entropy's per-row loss -w[tg[i]] * out[i, tg[i]]
    (0 where ignored; nan and bad[0] = 2 for a target out of range) in the same pass."""
    sm = cuda.shared.array(MAX_THREADS, float64)
    t, nt = cuda.threadIdx.x, cuda.blockDim.x
    for i in range(cuda.blockIdx.x, M, cuda.gridDim.x):
        r = xo + i * K
        m, s = row_max_sumexp(x, r, K, sm)
        ls = math.log(s) + m
        for k in range(t, K, nt):
            out[uint64(i * K + k)] = x[uint64(r + k)] - ls
        cuda.syncthreads()  # thread 0 reads the element another thread wrote
        if t == 0:
            c = tg[to + i]
            if c == ignore:
                per[i] = 0
                valid[i] = 0
            elif c < 0 or c >= K:
                per[i] = math.nan
                valid[i] = 1
                bad[0] = 2
            else:
                wi = w[c] if nw else 1
                per[i] = -out[i * K + c] * wi
                valid[i] = wi


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


# ------------------------------------------------------------------ gather / scatter

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


@cuda.jit
def nll_forward(x, xo, t, to, N, C, ignore, w, nw, per, valid, bad):
    """per[i] = -w[t[i]] * x[i, t[i]], valid[i] = w[t[i]] (nw == 0: weights of 1)."""
    for i in range(cuda.grid(1), N, cuda.gridsize(1)):
        c = t[to + i]
        if c == ignore:
            per[i] = 0
            valid[i] = 0
        elif c < 0 or c >= C:
            per[i] = math.nan
            valid[i] = 1
            bad[0] = 2  # a target out of range: raised at the next host copy
        else:
            wi = w[c] if nw else 1
            per[i] = -x[xo + i * C + c] * wi
            valid[i] = wi


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


_adam_element = cuda.jit(device=True)(cpu_optim.adam_element)  # the same per-element math as the CPU
_sgd_element = cuda.jit(device=True)(cpu_optim.sgd_element)


FOREACH = 16  # parameters an optimizer kernel updates in one launch (its arguments stay small)


@cuda.jit
def sgd_step(xs, xo, ds, do, bs, bo, ns, firsts, wd, momentum, one_damp, lr, maximize, nesterov):
    """SGD on up to FOREACH parameters of one dtype in one launch (PyTorch's foreach): blockIdx.y
    picks the parameter from the tuples of buffers, offsets, sizes and first-step flags; the x
    blocks stride over its elements."""
    p = cuda.blockIdx.y
    x, d, b, first = xs[p], ds[p], bs[p], firsts[p]
    ox, od, ob = xo[p], do[p], bo[p]
    for i in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x, ns[p], cuda.gridDim.x * cuda.blockDim.x):
        ix, id_, ib = uint64(ox + i), uint64(od + i), uint64(ob + i)  # (unsigned: no wraparound code)
        xi, bi = _sgd_element(x[ix], d[id_], b[ib] if momentum != 0 else x[ix], wd, momentum, one_damp, lr,
                              maximize, nesterov, first)
        x[ix] = xi
        if momentum != 0:
            b[ib] = bi


@cuda.jit
def adam_step(x, d, do, m, v, n, c_decay, wd, one_b1, b2, one_b2, step_size, sqrt_bc2, eps, maximize, decoupled):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        u = uint64(i)
        x[u], m[u], v[u] = _adam_element(x[u], d[uint64(do + i)], m[u], v[u], c_decay, wd, one_b1, b2, one_b2,
                                         step_size, sqrt_bc2, eps, maximize, decoupled)


_adam_constants = cuda.jit(device=True)(cpu_optim.adam_constants)
_ADAM_CAPTURABLE: dict = {}


def adam_step_capturable(dt: np.dtype) -> Any:
    """adam_step with the step count read from device memory (so a CUDA graph replays it):
    each thread computes the bias corrections in float64, as adam_scalars does on the host."""
    k = _ADAM_CAPTURABLE.get(dt)
    if k is None:
        DT = float32 if dt == np.float32 else float64

        def kernel(x, d, do, m, v, n, step, lr, beta1, beta2, eps, wd, maximize, decoupled):
            c_decay, step_size, sqrt_bc2 = _adam_constants(float64(step[0]), lr, beta1, beta2, wd, decoupled)
            for i in range(cuda.grid(1), n, cuda.gridsize(1)):
                u = uint64(i)
                x[u], m[u], v[u] = _adam_element(x[u], d[uint64(do + i)], m[u], v[u], DT(c_decay), DT(wd),
                                                 DT(1.0 - beta1), DT(beta2), DT(1.0 - beta2), DT(step_size),
                                                 DT(sqrt_bc2), DT(eps), maximize, decoupled)

        k = _ADAM_CAPTURABLE[dt] = cuda.jit(kernel)
    return k


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


# ------------------------------------------------------------------ matmul
# C[z] = A[z] @ B[z] with arbitrary element strides (so transposed views cost nothing);
# z runs over the flattened batch, whose offsets come from the batch shape and strides.

@cuda.jit
def matmul_simple(a, ao, asb, asr, asc, b, bo, bsb, bsr, bsc, c, M, N, K, bshape):
    """One thread per output element; for small products (and the simulator)."""
    total = M * N
    nb = 1
    for s in bshape:
        nb *= s
    for o in range(cuda.grid(1), total * nb, cuda.gridsize(1)):
        z = o // total
        rem = o - z * total
        i = rem // N
        j = rem - i * N
        za, zb, r = ao, bo, z
        for d in range(len(bshape) - 1, -1, -1):
            q = r // bshape[d]
            cc = r - q * bshape[d]
            r = q
            za += cc * asb[d]
            zb += cc * bsb[d]
        acc = 0.0
        for k in range(K):
            acc += a[za + i * asr + k * asc] * b[zb + k * bsr + j * bsc]
        c[o] = acc


BM, BN, BK, TM, TN = 128, 128, 8, 8, 8  # block tile, k-step, per-thread results
BP = BM + 4  # a shared tile row, padded (see _tiled_source)
_TILED: dict = {}


def _load4_fallback(arr, r, c):  # pragma: no cover  (the simulator's LD4: four scalar reads)
    return arr[r, c], arr[r, c + 1], arr[r, c + 2], arr[r, c + 3]


def _gload4_fallback(arr, i):  # pragma: no cover  (the simulator's G4)
    return arr[i], arr[i + 1], arr[i + 2], arr[i + 3]


def _gstore4_fallback(arr, i, v0, v1, v2, v3):  # pragma: no cover  (the simulator's S4)
    arr[i], arr[i + 1], arr[i + 2], arr[i + 3] = v0, v1, v2, v3


def _vector_intrinsics() -> tuple:
    """(LD4, G4, S4): 128-bit accesses of four float32 values, 16-byte aligned, which numba does not
    emit for four scalar ones. LD4(arr, r, c): arr[r, c:c+4] of a 2-D shared tile
    (ld.shared.v4.f32); G4(arr, i): arr[i:i+4] (ld.global.v4.f32); S4(arr, i, v0..v3): stores them."""
    from llvmlite import ir
    from numba.cuda import cgutils, types
    from numba.cuda.extending import intrinsic

    f4 = ir.VectorType(ir.FloatType(), 4)

    def pointer(context, builder, sig, args, nidx):
        aty = sig.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        idx = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:1 + nidx], sig.args[1:1 + nidx])]
        ptr = cgutils.get_item_pointer(context, builder, aty, ary, idx)
        return builder.bitcast(ptr, f4.as_pointer(ptr.type.addrspace))

    def float32_array(arr: Any, ndim: int) -> bool:
        return isinstance(arr, types.Array) and arr.dtype == types.float32 and arr.ndim == ndim

    def load(nidx: int) -> Any:
        def codegen(context, builder, sig, args):
            vec = builder.load(pointer(context, builder, sig, args, nidx), align=16)
            vals = [builder.extract_element(vec, ir.Constant(ir.IntType(32), i)) for i in range(4)]
            return context.make_tuple(builder, sig.return_type, vals)
        return codegen

    @intrinsic
    def ld4(typingctx, arr, r, c):
        if float32_array(arr, 2):
            return types.UniTuple(types.float32, 4)(arr, r, c), load(2)

    @intrinsic
    def g4(typingctx, arr, i):
        if float32_array(arr, 1):
            return types.UniTuple(types.float32, 4)(arr, i), load(1)

    @intrinsic
    def s4(typingctx, arr, i, v0, v1, v2, v3):
        if not float32_array(arr, 1):
            return None
        sig = types.none(arr, i, types.float32, types.float32, types.float32, types.float32)

        def codegen(context, builder, sig, args):
            vec = ir.Constant(f4, ir.Undefined)
            for k, v in enumerate(args[2:]):
                vec = builder.insert_element(vec, v, ir.Constant(ir.IntType(32), k))
            builder.store(vec, pointer(context, builder, sig, args, 1), align=16)
            return context.get_dummy_value()

        return sig, codegen

    return ld4, g4, s4


_VEC: dict = {}


def vector_ops() -> dict:
    """LD4 / G4 / S4 for generated kernels: the intrinsics on a GPU, scalar device functions
    reading the same elements under the simulator."""
    if not _VEC:
        if _SIM:
            _VEC.update(LD4=cuda.jit(device=True)(_load4_fallback), G4=cuda.jit(device=True)(_gload4_fallback),
                        S4=cuda.jit(device=True)(_gstore4_fallback))
        else:
            _VEC.update(zip(("LD4", "G4", "S4"), _vector_intrinsics()))
    return _VEC


def tile_loads(a_m_fast: bool, b_k_fast: bool) -> dict:
    """Where thread tid's four loads r = 0..3 of each operand tile land: ("A", "m") -> (base expression
    in tid, step per r), for the tile axes m, k of A and k, n of B. The loads run along whichever axis
    is contiguous in memory (a_m_fast: A is a transposed view; b_k_fast: B is a transposed view), so
    element e = tid + 256 r splits into one axis that is the same for every r and one that steps."""
    def split(fast: str, slow: str, width: int) -> dict:  # e % width on the fast axis, e // width on the slow
        return {fast: (f"tid % int32({width})", 0), slow: (f"tid // int32({width})", 256 // width)}
    a = split("m", "k", BM) if a_m_fast else split("k", "m", BK)
    b = split("k", "n", BK) if b_k_fast else split("n", "k", BN)
    return {("A", ax): v for ax, v in a.items()} | {("B", ax): v for ax, v in b.items()}


def _tiled_source(a_m_fast: bool, b_k_fast: bool, vector: bool = False, aligned: bool = True,
                  bias: bool = False) -> str:
    """A 128x128 block tile, 256 threads, 8x8 results per thread held in named scalars and
    the k-loop of a tile unrolled (what REFERENCES.md found fast). Interior tiles load without
    bounds checks. Thread (ty, tx) owns rows ty + 16 i and columns tx + 16 j: shared-memory
    reads are conflict-free and stores coalesce.

    Two tile buffers (rows 0..BK-1 and BK..2BK-1 of As / Bs): the next tile's global loads go
    into registers before the current tile's arithmetic, and into the other buffer after it,
    so a k step needs one barrier, not two. Rows are padded to BP = BM + 4 values, so the
    transposing shared stores of a tile loaded along k hit 32 different banks (unpadded: 4,
    an 8-way conflict). Shared indices are unsigned 64-bit, so a tile row's offsets fold into
    the load instruction (a signed 32-bit index kept 16 address registers live).

    vector (float32): thread (ty, tx) owns rows 4 ty + {0..3} and 64 + 4 ty + {0..3} (columns
    likewise), so each k step reads its 8 A and 8 B values as four 128-bit shared loads (LD4)
    instead of sixteen 32-bit ones; aligned: the shared tiles are declared 16-byte aligned
    (the simulator refuses the alignment argument); bias: C = A @ B + bias, the bias (one value
    per column, at offset co) added as the results are stored (addmm)."""
    def row(i: int, t: str = "tyu", T: str = "U") -> str:  # tile row of thread value i, as type T
        return f"{t} * {T}(4) + {T}({(i % 4) + 64 * (i // 4)})" if vector else f"{t} + {T}({16 * i})"

    def col(j: int, t: str = "txu", T: str = "U") -> str:
        return row(j, t, T)

    pos = tile_loads(a_m_fast, b_k_fast)
    L = []
    w = L.append
    align = ", alignment=16" if vector and aligned else ""
    w(f"def k(a, ao, asb, asr, asc, b, bo, bsb, bsr, bsc, c, M, N, K, bshape{', bias, co' if bias else ''}):")
    w(f"    As = cuda.shared.array(({2 * BK}, {BP}), DT{align})")
    w(f"    Bs = cuda.shared.array(({2 * BK}, {BP}), DT{align})")
    w("    tid = int32(cuda.threadIdx.x)")
    w("    tx = tid % int32(16)")
    w("    ty = tid // int32(16)")
    w("    txu = U(tx)")
    w("    tyu = U(ty)")
    w("    m0 = int32(cuda.blockIdx.y) * int32(BM)")
    w("    n0 = int32(cuda.blockIdx.x) * int32(BN)")
    w("    z = int64(cuda.blockIdx.z)")
    w("    za = int64(ao)")
    w("    zb = int64(bo)")
    w("    r = z")
    w("    for d in range(len(bshape) - 1, -1, -1):")
    w("        q = r // bshape[d]")
    w("        cc = r - q * bshape[d]")
    w("        r = q")
    w("        za += cc * asb[d]")
    w("        zb += cc * bsb[d]")
    # thread tid's load r of A is element (am + dam * r, ak + dak * r) of the tile (B: bk, bn)
    for (op, ax), (base, _) in pos.items():
        w(f"    {op.lower()}{ax} = {base}")
    (dam, dak, dbk, dbn) = (pos["A", "m"][1], pos["A", "k"][1], pos["B", "k"][1], pos["B", "n"][1])
    w("    pa = za + int64(m0 + am) * asr + int64(ak) * asc")
    w("    pb = zb + int64(bk) * bsr + int64(n0 + bn) * bsc")
    w(f"    da = int64({dam}) * asr" if dam else f"    da = int64({dak}) * asc")
    w(f"    db = int64({dbk}) * bsr" if dbk else f"    db = int64({dbn}) * bsc")
    w("    sam = U(am)")
    w("    sak = U(ak)")
    w("    sbk = U(bk)")
    w("    sbn = U(bn)")

    def loads(ind: str, kv: str) -> None:
        w(f"{ind}qa = pa + int64({kv}) * asc")
        w(f"{ind}qb = pb + int64({kv}) * bsr")
        w(f"{ind}if m0 + BM <= M and {kv} + BK <= K:")
        for r in range(4):
            w(f"{ind}    ra{r} = a[U(qa + {r} * da)]")
        w(f"{ind}else:")
        for r in range(4):
            w(f"{ind}    ra{r} = a[U(qa + {r} * da)] if (m0 + am + {dam * r} < M and {kv} + ak + {dak * r} < K) else DT(0)")
        w(f"{ind}if n0 + BN <= N and {kv} + BK <= K:")
        for r in range(4):
            w(f"{ind}    rb{r} = b[U(qb + {r} * db)]")
        w(f"{ind}else:")
        for r in range(4):
            w(f"{ind}    rb{r} = b[U(qb + {r} * db)] if ({kv} + bk + {dbk * r} < K and n0 + bn + {dbn * r} < N) else DT(0)")

    def stores(ind: str, buf: str) -> None:
        for r in range(4):
            w(f"{ind}As[{buf} + sak + U({dak * r}), sam + U({dam * r})] = ra{r}")
            w(f"{ind}Bs[{buf} + sbk + U({dbk * r}), sbn + U({dbn * r})] = rb{r}")

    for i in range(TM):
        for j in range(TN):
            w(f"    c{i}_{j} = DT(0)")
    loads("    ", "0")
    stores("    ", "U(0)")
    w("    cuda.syncthreads()")
    w("    s = U(0)")
    w("    for k0 in range(0, K, BK):")
    w("        k1 = k0 + BK")
    w("        if k1 < K:")
    loads("            ", "k1")
    for kk in range(BK):
        if vector:
            for h in range(2):
                w(f"        a{4 * h}, a{4 * h + 1}, a{4 * h + 2}, a{4 * h + 3} = LD4(As, s + U({kk}), {row(4 * h)})")
                w(f"        b{4 * h}, b{4 * h + 1}, b{4 * h + 2}, b{4 * h + 3} = LD4(Bs, s + U({kk}), {col(4 * h)})")
        else:
            for i in range(TM):
                w(f"        a{i} = As[s + U({kk}), {row(i)}]")
            for j in range(TN):
                w(f"        b{j} = Bs[s + U({kk}), {col(j)}]")
        for i in range(TM):
            for j in range(TN):
                w(f"        c{i}_{j} += a{i} * b{j}")
    w("        s = U(BK) - s")  # the other buffer
    w("        if k1 < K:")
    stores("            ", "s")
    w("        cuda.syncthreads()")
    w("    zc = z * M * N")
    for i in range(TM):
        w(f"    gm = m0 + {row(i, 'ty', 'int32')}")
        w("    if gm < M:")
        for j in range(TN):
            w(f"        gn = n0 + {col(j, 'tx', 'int32')}")
            w("        if gn < N:")
            w(f"            c[U(zc + gm * N + gn)] = c{i}_{j}" + (" + bias[U(co + gn)]" if bias else ""))
    return "\n".join(L)


def split_k(M: int, N: int, K: int, nb: int) -> int:
    """Into how many K chunks (1, 2, 4 or 8) to split a tiled product whose block tiles would not
    fill two waves of the GPU's multiprocessors (a batch of 512 rows gives 4 tile rows): each chunk
    is one more batch entry of the same kernel, and a sum over the chunks adds them up."""
    tiles = -(-M // BM) * -(-N // BN) * nb
    s = 1
    while tiles * s < 2 * LAUNCH["sms"] and s < 8 and K % (2 * s) == 0 and K // (2 * s) >= LAUNCH["split_k_min"]:
        s *= 2
    return s




@cuda.jit
def splitk_sum(part, S, n, N, bias, bo, has_bias, out):
    """out[i] = the sum of the S partial products of a split-K matmul at i (part holds them one
    after another, n values each), plus bias[bo + i % N] where has_bias; added in float64."""
    nu = uint64(n)
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        iu = uint64(i)
        acc = float64(0)
        for s in range(S):
            acc += part[iu + uint64(s) * nu]
        if has_bias:
            acc += bias[uint64(bo) + iu % uint64(N)]
        out[iu] = acc


def matmul_tiled(dt: np.dtype, a_m_fast: bool, b_k_fast: bool, bias: bool = False) -> Any:
    vector = bool(LAUNCH["mm_vector"]) and dt == np.float32
    # float64 at 128 registers would spill 2 KB (its 64 accumulators alone take 128); the simulator
    # takes no launch bounds
    two = bool(LAUNCH["mm_two_blocks"]) and dt == np.float32 and not _SIM
    key = (dt, a_m_fast, b_k_fast, vector, two, bias)
    k = _TILED.get(key)
    if k is None:
        ns = {"cuda": cuda, "int32": int32, "int64": int64, "U": uint64, "DT": float32 if dt == np.float32 else float64,
              "BM": BM, "BN": BN, "BK": BK, "BP": BP}
        if vector:
            ns["LD4"] = vector_ops()["LD4"]
        exec(_tiled_source(a_m_fast, b_k_fast, vector, aligned=not _SIM, bias=bias), ns)  # noqa: S102  (generated above)
        k = _TILED[key] = cuda.jit(ns["k"], launch_bounds=(256, 2)) if two else cuda.jit(ns["k"])
    return k

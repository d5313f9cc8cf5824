"""Matrix products: a simple kernel (one thread per output) and a generated tiled kernel with
register blocking, split-K, and a sum of the split chunks that adds the bias."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cuda, float32, float64, int32, int64, uint64

from ..launch import LAUNCH, SIMULATOR
from .vector import vector_ops

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
    two = bool(LAUNCH["mm_two_blocks"]) and dt == np.float32 and not SIMULATOR
    key = (dt, a_m_fast, b_k_fast, vector, two, bias)
    k = _TILED.get(key)
    if k is None:
        ns = {"cuda": cuda, "int32": int32, "int64": int64, "U": uint64, "DT": float32 if dt == np.float32 else float64,
              "BM": BM, "BN": BN, "BK": BK, "BP": BP}
        if vector:
            ns["LD4"] = vector_ops()["LD4"]
        exec(_tiled_source(a_m_fast, b_k_fast, vector, aligned=not SIMULATOR, bias=bias), ns)  # noqa: S102  (generated above)
        k = _TILED[key] = cuda.jit(ns["k"], launch_bounds=(256, 2)) if two else cuda.jit(ns["k"])
    return k

"""Compile every CUDA kernel nbgrad launches to PTX for sm_90 (an H100 / H200) with the CUDA
toolkit's NVVM, without a GPU: what the simulator never does. Device memory is faked (never read
or written: launches are compiled, not run), so the ops below run their Python side for real and
every kernel launch they make, with its real argument types, goes to numba's PTX compiler.

    python tests/cuda_compile_check.py   # exit 0: all compiled; 1: some failed; 77: no NVVM here

Needs numba-cuda with its toolkit pieces (pip install -e ".[cuda13]"); tests/test_cuda_compile.py
runs it where they are installed."""

import sys
import time

import numpy as np
from fake_cuda_memory import fake_array, start_without_gpu
from numba import cuda
from numba.cuda.typing.typeof import Purpose, typeof

start_without_gpu()  # no GPU: nbgrad's CUDA backend starts, its memory is fake, host copies do nothing

from nbgrad.backends.cuda import kernels as K  # noqa: E402
from nbgrad.backends.cuda import launch as cuda_launch  # noqa: E402

compiled, failed = {}, []


def compile_launch(self, kernel, grid, block, args):
    sig = tuple(typeof(a, Purpose.argument) for a in args)
    key = (kernel.py_func, sig)
    if key in compiled:
        return
    t = time.perf_counter()
    try:
        cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
        compiled[key] = time.perf_counter() - t
    except Exception as e:  # noqa: BLE001
        compiled[key] = None
        failed.append((kernel.py_func.__name__, sig, f"{type(e).__name__}: {str(e)[:2000]}"))


cuda_launch.Launcher.__call__ = compile_launch


def exercise() -> None:
    import nbgrad as ng
    import nbgrad.nn.functional as F
    from nbgrad.backends import get_backend
    from nbgrad.backends.shared.scalar import ELEMENTWISE

    ng.set_default_device("cuda")
    be = get_backend("cuda")
    rng = np.random.default_rng(0)
    for dt in (ng.float32, ng.float64):
        npdt = dt.np
        # every elementwise table entry: contiguous operands, a broadcast operand with a scalar
        for op, (nargs, _) in ELEMENTWISE.items():
            ints = op == "index_pos"
            odt = np.dtype(np.int64) if ints else npdt
            full = [be.asarray(rng.random((3, 4)).astype(odt)) for _ in range(nargs)]
            if op == "where":
                full[0] = be.asarray(rng.random((3, 4)) > 0.5)
            be.elementwise(op, full, (3, 4), odt)
            mixed = [be.asarray(rng.random((4,)).astype(odt))] + full[1:-1] + [np.asarray(2, odt)] if nargs > 1 \
                else [be.swapaxes(be.asarray(rng.random((4, 3)).astype(odt)), 0, 1)]
            if op == "where":
                mixed[0] = be.asarray(rng.random((4,)) > 0.5)
            be.elementwise(op, mixed, (3, 4), odt)
        # ops through the tensor API, forward and backward
        a = ng.tensor(rng.random((4, 6)) + 0.5, dtype=dt, requires_grad=True)
        b = ng.tensor(rng.random(6) + 0.5, dtype=dt, requires_grad=True)
        c = ng.tensor(rng.random((4, 1)) + 0.5, dtype=dt, requires_grad=True)
        y = (a * b + c).exp().log().sqrt().tanh().sigmoid().relu().sin().cos().abs()
        y = y + a ** 2.5 + a ** b + 2 ** a + 2 / (a + 1) - a.clamp(0.1, 0.9) + ng.maximum(a, c) + ng.minimum(a, b)
        y = y + ng.where(a > b, a, c) - (-a)
        z = (y.sum() + y.mean() + a.var() + a.std(1).sum() + a.max() + a.min(0).values.sum() + a.max(1)[0].sum()
             + a.sum((0, 1)) + a.T.sum(0).sum() + a.permute(1, 0)[1:, ::2].sum() + ng.logsumexp(a, 1).sum()
             + a.softmax(1).sum() + a.softmax(0).sum() + a.log_softmax(-1).sum() + ng.logsumexp(a, (0, 1)))
        t = ng.tensor([0, 2, 1, 5])
        w = ng.tensor(rng.random(6) + 0.5, dtype=dt)
        z = z + F.cross_entropy(a, t) + F.cross_entropy(a, t, weight=w, ignore_index=2, reduction="sum")
        z = z + F.nll_loss(a.log_softmax(1), t, reduction="none").sum() + F.mse_loss(a, a.detach() * 2)
        p = a.sigmoid()
        z = z + F.binary_cross_entropy(p, p.detach()) + F.binary_cross_entropy_with_logits(a, p.detach())
        z = z + F.l1_loss(a, a.detach() + 1)
        idx = ng.tensor([3, 0, -1, 3])
        z = z + a[idx].sum() + a[:, idx].sum() + a[idx, idx].sum() + a[1, 2:].sum() + a[[0, 1]].sum()
        z = z + ng.cat([a, a * 2], 0).sum() + ng.stack([a, a], 1).sum() + a.reshape(6, 4)[:, 1].sum()
        z = z + (a @ b).sum() + (a @ a.T).sum() + (ng.stack([a, a]) @ a.T).sum() + (b @ b)
        z.backward()
        v = a.detach().clone()
        v[idx] = 1.0
        v[0] = ng.tensor(rng.random(6), dtype=dt)
        v.fill_(ng.tensor(2.0, dtype=dt))
        _ = v.to(ng.int64).sum(), (v > 1).sum(), v.argmax(1), v.to(ng.float64 if dt is ng.float32 else ng.float32)
        # the tiled matmul (fake memory: sizes cost nothing), split-K, transposed operands, batches
        for m_, k_, n_ in ((512, 1024, 4096), (4096, 4096, 4096), (130, 9, 131)):
            x1 = ng.empty(m_, k_, dtype=dt, requires_grad=True)
            w1 = ng.empty(n_, k_, dtype=dt, requires_grad=True)
            F.linear(x1, w1, ng.empty(n_, dtype=dt, requires_grad=True)).sum().backward()
        ng.empty(3, 128, 64, dtype=dt) @ ng.empty(64, 128, dtype=dt)
        K.LAUNCH["ew_vector"] = True  # float32 elementwise kernels with 4-value accesses
        for op, (nargs, _) in ELEMENTWISE.items():
            if op not in ("index_pos", "where"):
                be.elementwise(op, [be.asarray(rng.random(4096).astype(npdt)) for _ in range(nargs - 1)]
                               + [np.asarray(2, npdt)], (4096,), npdt)
        be.elementwise("mul", [be.asarray(rng.random(4096).astype(np.float32)), np.asarray(2.5)], (4096,),
                       np.dtype(np.float32))  # computed in float64, stored as float32
        K.LAUNCH["ew_vector"] = False
        K.LAUNCH["mm_vector"] = False  # the float32 tiles read with 32-bit shared loads
        F.linear(ng.empty(512, 1024, dtype=dt, requires_grad=True), ng.empty(4096, 1024, dtype=dt, requires_grad=True),
                 ng.empty(4096, dtype=dt, requires_grad=True)).sum().backward()
        K.LAUNCH["mm_vector"] = True
        # random numbers drawn on the GPU (Philox)
        ng.rand(9, dtype=dt), ng.randn(9, dtype=dt), ng.randint(0, 7, (9,)), ng.randint(0, 7, (9,), dtype=dt)
        # optimizers
        for make in (lambda ps: ng.optim.SGD(ps, lr=0.1), lambda ps: ng.optim.SGD(ps, lr=0.1, momentum=0.9,
                     nesterov=True, weight_decay=0.01), lambda ps: ng.optim.Adam(ps), lambda ps: ng.optim.AdamW(ps),
                     lambda ps: ng.optim.AdamW(ps, capturable=True)):
            q = ng.tensor(rng.random((4, 6)), dtype=dt, requires_grad=True)
            q2 = ng.tensor(rng.random(5), dtype=dt, requires_grad=True)  # (SGD: both in one launch)
            opt = make([q, q2])
            ((q * q).sum() + q2.sum()).backward()
            opt.step()
            opt.step()
        # scans and order (issue 16): row and column scans (float, int, logsumexp), merge sort, searches
        s = ng.tensor(rng.random((3, 5)), dtype=dt, requires_grad=True)
        zs = (s.cumsum(1).sum() + s.cumsum(0).sum() + s.cumprod(1).sum() + s.cummax(0).values.sum()
              + s.cummin(1)[0].sum() + s.logcumsumexp(1).sum() + s.logcumsumexp(0).sum() + s.prod() + s.prod(0).sum()
              + s.tril().sum() + s.sort(1).values.sum() + s.sort(0, descending=True)[0].sum() + s.topk(2).values.sum()
              + s.median() + s.median(1).values.sum() + s.mode(0).values.sum() + s.kthvalue(2).values.sum())
        zs.backward()
        q = ng.tensor([[1, 2], [3, 4]])
        _ = q.cumsum(0), q.cumsum(1), q.cummax(0), q.cummin(1), q.sort(0), (q > 2).cumsum(1)
        sd = s.detach()
        _ = ng.searchsorted(sd.sort(1).values, sd, right=True), ng.bucketize(sd, ng.tensor([0.2, 0.5], dtype=dt))
        _ = ng.bincount(ng.tensor([0, 2]), sd[0, :2]), sd.histc(4, 0, 1), F.one_hot(ng.tensor([0, 2]), 3), sd.any(1)


def nvvm_available() -> bool:
    def k(x):
        x[0] = 1.0

    try:
        cuda.compile_ptx(k, "void(float32[:])", cc=(9, 0))
    except Exception:  # noqa: BLE001  (no NVVM / NVRTC library)
        return False
    return True


if __name__ == "__main__":
    if not nvvm_available():
        print("no NVVM here: install numba-cuda's toolkit pieces (pip install -e '.[cuda13]')")
        sys.exit(77)
    t0 = time.perf_counter()
    exercise()
    x = fake_array(10, np.float32)  # the fast launcher's self-test probe, with its argument types
    compile_launch(None, cuda_launch._probe_kernel(), (1, 1, 1), (32, 1, 1),
                   (fake_array(12), x[2:9], 3, np.float32(1.5), 2.25, 7, True, (3, 5), np.float64(-0.5),
                    np.int64(-9), np.bool_(False), (x[2:9], x), (False, True)))
    # the vector variant's k steps really are 128-bit shared loads from 16-byte aligned tiles
    from numba.cuda import types as T

    arr, i64, t1 = T.Array(T.float32, 1, "C"), T.int64, T.UniTuple(T.int64, 1)
    K.LAUNCH["mm_vector"] = True
    K._TILED.clear()
    ptx, _ = cuda.compile_ptx(K.matmul_tiled(np.dtype(np.float32), False, False).py_func,
                              (arr, i64, t1, i64, i64, arr, i64, t1, i64, i64, arr, i64, i64, i64, t1), cc=(9, 0))
    v4, scalar = ptx.count("ld.shared.v4.f32"), ptx.count("ld.shared.f32")
    print(f"vector tiles: {v4} ld.shared.v4.f32, {scalar} ld.shared.f32, 16-byte aligned: {'.align 16' in ptx}")
    if v4 != 4 * K.BK or scalar or ".align 16" not in ptx:
        failed.append(("matmul_tiled (vector)", None, "expected 4 128-bit shared loads per k step"))
    # the 2-blocks-per-SM tiles (LAUNCH["mm_two_blocks"], float32) compile with their launch bounds
    ptx, _ = cuda.compile_ptx(K.matmul_tiled(np.dtype(np.float32), False, False).py_func,
                              (arr, i64, t1, i64, i64, arr, i64, t1, i64, i64, arr, i64, i64, i64, t1), cc=(9, 0),
                              launch_bounds=(256, 2))
    print(f"two-blocks tiles: launch bounds in the PTX: {'.minnctapersm 2' in ptx}")
    if ".minnctapersm 2" not in ptx:
        failed.append(("matmul_tiled (two blocks)", None, "no launch bounds in the PTX"))
    # double-buffered tiles: one barrier per k step (the loop's only bar.sync besides the first tile's)
    bars = ptx.count("bar.sync")
    print(f"tiles: {bars} barriers in the PTX")
    if bars != 2:
        failed.append(("matmul_tiled", None, f"expected 2 barriers (first tile, k loop), found {bars}"))
    ew = K.elementwise_kernel("mul", "cc", "float32", "c", vector=True)
    ptx, _ = cuda.compile_ptx(ew.py_func, (arr, i64, i64, arr, i64, arr, i64), cc=(9, 0))
    counts = [ptx.count(x) for x in ("ld.global.v4.f32", "st.global.v4.f32")]
    print(f"vector elementwise: {counts[0]} ld.global.v4.f32, {counts[1]} st.global.v4.f32")
    if not (counts[1] and counts[0] == 2 * counts[1]):  # (LLVM unrolls the group loop: several copies)
        failed.append(("elementwise mul (vector)", None, "expected two 128-bit loads per 128-bit store"))
    # unsigned indices: no negative-index wraparound (sign shift, mask, add) on the contiguous path
    ptx, _ = cuda.compile_ptx(K.elementwise_kernel("mul", "cc", "float32", "c").py_func,
                              (arr, i64, i64, arr, i64, arr, i64), cc=(9, 0))
    wrap = ptx.count(", 63;")
    print(f"contiguous elementwise: {wrap} sign shifts (wraparound code)")
    if wrap:
        failed.append(("elementwise mul", None, "negative-index wraparound code in the contiguous kernel"))
    for name, sig, err in failed:
        print("FAILED", name, sig, "\n ", err[:1500])
    print(f"compiled {sum(1 for v in compiled.values() if v is not None)} kernels for sm_90, {len(failed)} failed, "
          f"{time.perf_counter() - t0:.0f} s")
    sys.exit(1 if failed else 0)

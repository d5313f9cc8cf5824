"""GPU check: nbgrad's CUDA backend against torch CUDA in the same run, on real hardware.

    python -m benches.gpu_check [--tiny] [--out FILE.json]

Measures elementwise bandwidth (64M float32), fp32 matmul 4096x4096 TFLOP/s, an MLP
training step (batch 512, 1024 -> 4096 -> 4096 -> 10, cross-entropy, SGD) and the
per-op cost of a tiny op; checks zero-copy interop with torch both ways. The MLP row also
times the step with split-K off and with numba's own launches (fast launch off), the host
time to queue one step, the step's big products alone (nbgrad, no split-K, torch), the step
with each float32 tile option (LAUNCH["mm_vector"], LAUNCH["mm_two_blocks"]) flipped, the step
captured in a CUDA graph (nbgrad's and torch's replay times; the graphed step's parameters
against eager steps), and each kernel of one step timed alone (kernel_ms_per_step). The matmul
row times all four float32 tile variants. The op tests on real hardware:
NBGRAD_TEST_REAL_CUDA=1 python -m pytest tests/test_cuda.py."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any, Callable

import numpy as np


def timeit(fn: Callable[[], Any], sync: Callable[[], None], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    sync()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def kernel_breakdown(step: Callable[[], None], sync: Callable[[], None]) -> dict:
    """Where one step's GPU time goes: each launch timed alone (a sync before and after it),
    summed by kernel name, in ms, largest first. Small kernels include a launch's latency."""
    from nbgrad.backends.cuda import kernels as K

    L = K.LAUNCHER
    inner = type(L).__call__
    per: dict[str, float] = {}

    def timed(self: Any, kernel: Any, grid: tuple, block: tuple, args: tuple) -> None:
        sync()
        t0 = time.perf_counter()
        inner(self, kernel, grid, block, args)
        sync()
        name = names.get(id(kernel)) or getattr(getattr(kernel, "py_func", None), "__name__", "kernel")
        per[name] = per.get(name, 0.0) + (time.perf_counter() - t0) * 1e3

    step()  # (compiled and planned)
    names = {id(k): f"elementwise {key[0]} [{key[1]}]" for key, k in K._EW.items()}  # generated kernels: "k"
    names.update({id(k): "matmul_tiled" for k in K._TILED.values()})
    type(L).__call__ = timed
    try:
        step()
    finally:
        type(L).__call__ = inner
    return dict(sorted(per.items(), key=lambda kv: -kv[1]))


def graph_step(ng: Any, factory: Callable[[], Callable[[], None]], sync: Callable[[], None], reps: int) -> dict:
    """The MLP step captured in an ng.cuda.CUDAGraph: replay time, launches per replay, and the
    parameters after 1 warm-up step + 3 replays against 4 eager steps of a same-seeded twin."""
    out: dict[str, Any] = {}
    try:
        twins = []
        for graphed in (False, True):
            step = factory()
            params = step.params  # type: ignore[attr-defined]
            step()  # warm-up (eager), then 3 more steps
            if graphed:
                g = ng.cuda.CUDAGraph()
                with ng.cuda.graph(g):
                    step()
                for _ in range(3):
                    g.replay()
            else:
                for _ in range(3):
                    step()
            sync()
            twins.append([p.detach().cpu().numpy() for p in params])
        out["graph_max_abs_diff_vs_eager"] = max(float(np.abs(a - b).max()) for a, b in zip(*twins))
        out["graph_launches_per_replay"] = g.num_launches
        out["graph_replay_s"] = timeit(g.replay, sync, reps)
        g.reset()
    except Exception as e:  # noqa: BLE001  (reported, not fatal: the rest of the run still counts)
        out["graph_replay_s"] = f"{type(e).__name__}: {e}"
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true", help="small sizes (the simulator, a smoke test)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--profile", action="store_true", help="cProfile 500 tiny ops")
    args = ap.parse_args(argv)

    import nbgrad as ng

    try:
        import torch

        tdev = "cuda" if torch.cuda.is_available() else None
    except ImportError:
        torch, tdev = None, None
    res: dict[str, Any] = {"torch": getattr(torch, "__version__", None) if tdev else None}
    if tdev:
        res["gpu"] = torch.cuda.get_device_name()
    ng_sync = ng.cuda.synchronize

    def t_sync() -> None:
        if tdev:
            torch.cuda.synchronize()

    n_ew = 1 << 10 if args.tiny else 64 << 20
    mm = 64 if args.tiny else 4096
    batch, d_in, hidden, d_out = (8, 16, 32, 10) if args.tiny else (512, 1024, 4096, 10)
    reps = 2 if args.tiny else 10

    def row(name: str, t_ng: float, t_torch: float | None, **extra: Any) -> None:
        r = {"nbgrad_s": t_ng, "torch_s": t_torch, "ratio_nbgrad_over_torch": (t_ng / t_torch) if t_torch else None}
        r.update(extra)
        res[name] = r
        print(f"{name:14s} nbgrad {t_ng * 1e3:9.3f} ms   torch {t_torch * 1e3 if t_torch else float('nan'):9.3f} ms"
              f"   ratio {r['ratio_nbgrad_over_torch'] or float('nan'):.2f}  {extra}", flush=True)
        save()

    def save() -> None:  # after every row: a run cut off by a timeout keeps what it measured
        if args.out:
            with open(args.out, "w") as f:
                json.dump(res, f, indent=2)

    # elementwise bandwidth: c = a * b (read 2, write 1)
    a, b = ng.rand(n_ew, device="cuda"), ng.rand(n_ew, device="cuda")
    t1 = timeit(lambda: a * b, ng_sync, reps)
    t2 = None
    if tdev:
        ta, tb = torch.rand(n_ew, device=tdev), torch.rand(n_ew, device=tdev)
        t2 = timeit(lambda: ta * tb, t_sync, reps)
    gb = 3 * 4 * n_ew / 1e9
    # the same multiply with other launch shapes: loads in flight per thread (UNROLL), grid cap, block size
    from nbgrad.backends.cuda import kernels as K
    from nbgrad.backends.cuda.kernels import elementwise as KE

    sweep = {}
    saved = (KE.UNROLL, dict(K.LAUNCH))
    for unroll, blocks, threads, vec in [(1, 8192, 256, 0), (8, 8192, 256, 0), (4, 2048, 256, 0),
                                         (4, 32768, 256, 0), (4, 8192, 128, 0), (4, 1 << 20, 256, 0),
                                         (4, 8192, 256, 1), (4, 2048, 256, 1), (4, 1 << 20, 256, 1)]:
        KE.UNROLL = unroll
        K._EW.clear()  # regenerate the elementwise kernels with this UNROLL
        K.configure(threads=threads, max_blocks=blocks)
        K.LAUNCH["ew_vector"] = bool(vec)  # 4 values per access (128-bit loads and stores)
        name = f"{'vector' if vec else f'unroll{unroll}'}_blocks{blocks}_threads{threads}_GBps"
        try:
            sweep[name] = gb / timeit(lambda: a * b, ng_sync, reps)
        except Exception as e:  # noqa: BLE001  (a variant that fails on this GPU)
            sweep[name] = f"{type(e).__name__}: {e}"
    KE.UNROLL = saved[0]
    K._EW.clear()
    K.LAUNCH.update(saved[1])
    row("elementwise", t1, t2, nbgrad_GBps=gb / t1, torch_GBps=gb / t2 if t2 else None,
        bandwidth_fraction=(t2 / t1) if t2 else None, **sweep)

    # fp32 matmul
    x, y = ng.randn(mm, mm, device="cuda"), ng.randn(mm, mm, device="cuda")
    t1 = timeit(lambda: x @ y, ng_sync, reps)
    t2 = None
    if tdev:
        torch.backends.cuda.matmul.allow_tf32 = False
        tx, ty = torch.randn(mm, mm, device=tdev), torch.randn(mm, mm, device=tdev)
        t2 = timeit(lambda: tx @ ty, t_sync, reps)
        err = float(np.abs((x @ y).cpu().numpy() - (torch.as_tensor(x.cpu().numpy(), device=tdev)
                    @ torch.as_tensor(y.cpu().numpy(), device=tdev)).cpu().numpy()).max())
    fl = 2 * mm ** 3 / 1e12
    # the four float32 tile variants on the same product: 128-bit or 32-bit shared loads
    # (LAUNCH["mm_vector"]), 2 blocks per SM or 1 (LAUNCH["mm_two_blocks"])
    vec_was, two_was = K.LAUNCH["mm_vector"], K.LAUNCH["mm_two_blocks"]
    ref = x.cpu().numpy() @ y.cpu().numpy()  # NumPy's float32 product on the host
    tiles: dict = {}
    for vec in (True, False):
        for two in (True, False):
            K.LAUNCH.update(mm_vector=vec, mm_two_blocks=two)
            name = f"vector_{vec}_two_blocks_{two}"
            try:
                tiles[f"{name}_TFLOPs"] = fl / timeit(lambda: x @ y, ng_sync, reps)
                tiles[f"{name}_max_abs_diff_vs_numpy"] = float(np.abs((x @ y).cpu().numpy() - ref).max())
            except Exception as e:  # noqa: BLE001  (a variant that fails on this GPU)
                tiles[f"{name}_TFLOPs"] = f"{type(e).__name__}: {e}"
    K.LAUNCH.update(mm_vector=vec_was, mm_two_blocks=two_was)
    row("matmul_fp32", t1, t2, nbgrad_TFLOPs=fl / t1, torch_TFLOPs=fl / t2 if t2 else None,
        fraction_of_torch=(t2 / t1) if t2 else None, max_abs_diff=err if tdev else None,
        mm_vector=vec_was, mm_two_blocks=two_was, **tiles)

    # MLP training step
    def ng_step_factory() -> Callable[[], None]:
        ng.manual_seed(0)
        m = ng.nn.Sequential(ng.nn.Linear(d_in, hidden), ng.nn.ReLU(), ng.nn.Linear(hidden, hidden), ng.nn.ReLU(),
                             ng.nn.Linear(hidden, d_out)).cuda()
        opt = ng.optim.SGD(m.parameters(), lr=0.01)
        xb, tb_ = ng.randn(batch, d_in, device="cuda"), ng.randint(0, d_out, (batch,), device="cuda")

        def step() -> None:
            opt.zero_grad()
            ng.nn.functional.cross_entropy(m(xb), tb_).backward()
            opt.step()
        step.params = list(m.parameters())  # type: ignore[attr-defined]
        return step

    step = ng_step_factory()
    t1 = timeit(step, ng_sync, reps)
    variants = {}  # the same step with one speed-up turned off, and where its time goes
    n0 = K.LAUNCHER.fast
    step()
    variants["fast_launches_per_step"] = K.LAUNCHER.fast - n0
    ng_sync()
    t0 = time.perf_counter()
    step()
    variants["issue_s"] = time.perf_counter() - t0  # host time to queue the step (no sync)
    ng_sync()
    split_min = K.LAUNCH["split_k_min"]
    K.configure(split_k_min=1 << 40)
    variants["no_split_k_s"] = timeit(step, ng_sync, reps)
    K.configure(split_k_min=split_min)
    was = K.LAUNCHER.enabled
    K.LAUNCHER.enabled = False
    variants["numba_launch_s"] = timeit(step, ng_sync, reps)
    K.LAUNCHER.enabled = was
    K.LAUNCH["mm_vector"] = not vec_was  # the other float32 tile variant
    try:
        variants[f"mm_vector_{not vec_was}_s"] = timeit(step, ng_sync, reps)
    except Exception as e:  # noqa: BLE001
        variants[f"mm_vector_{not vec_was}_s"] = f"{type(e).__name__}: {e}"
    K.LAUNCH["mm_vector"] = vec_was
    K.LAUNCH["mm_two_blocks"] = not two_was  # the other occupancy variant of the tile kernel
    try:
        variants[f"mm_two_blocks_{not two_was}_s"] = timeit(step, ng_sync, reps)
    except Exception as e:  # noqa: BLE001
        variants[f"mm_two_blocks_{not two_was}_s"] = f"{type(e).__name__}: {e}"
    K.LAUNCH["mm_two_blocks"] = two_was
    # the step's matrix products alone, with and without split-K
    for name, (m_, k_, n_) in {"fwd2": (batch, hidden, hidden), "fwd1": (batch, d_in, hidden),
                               "gw2": (hidden, batch, hidden)}.items():
        pa, pb = ng.randn(m_, k_, device="cuda"), ng.randn(k_, n_, device="cuda")
        variants[f"mm_{name}_s"] = timeit(lambda: pa @ pb, ng_sync, reps)
        K.configure(split_k_min=1 << 40)
        variants[f"mm_{name}_no_split_s"] = timeit(lambda: pa @ pb, ng_sync, reps)
        K.configure(split_k_min=split_min)
        if tdev:
            qa, qb = torch.randn(m_, k_, device=tdev), torch.randn(k_, n_, device=tdev)
            variants[f"mm_{name}_torch_s"] = timeit(lambda: qa @ qb, t_sync, reps)
    variants.update(graph_step(ng, ng_step_factory, ng_sync, reps))
    variants["kernel_ms_per_step"] = kernel_breakdown(step, ng_sync)
    t2 = None
    if tdev:
        tm = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                 torch.nn.ReLU(), torch.nn.Linear(hidden, d_out)).to(tdev)
        topt = torch.optim.SGD(tm.parameters(), lr=0.01)
        txb, ttb = torch.randn(batch, d_in, device=tdev), torch.randint(0, d_out, (batch,), device=tdev)

        def tstep() -> None:
            topt.zero_grad()
            torch.nn.functional.cross_entropy(tm(txb), ttb).backward()
            topt.step()
        t2 = timeit(tstep, t_sync, reps)
        try:  # torch's own CUDA graph of the same step (warmed up on a side stream, as its docs say)
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    tstep()
            torch.cuda.current_stream().wait_stream(side)
            tg = torch.cuda.CUDAGraph()
            topt.zero_grad(set_to_none=True)
            with torch.cuda.graph(tg):
                tstep()
            variants["torch_graph_replay_s"] = timeit(tg.replay, t_sync, reps)
        except Exception as e:  # noqa: BLE001
            variants["torch_graph_replay_s"] = f"{type(e).__name__}: {e}"
    row("mlp_step", t1, t2, **variants)

    # per-op cost of a tiny op (launch + dispatch + allocation)
    s = ng.ones(1, device="cuda")
    k = 20 if args.tiny else 2000
    t1 = timeit(lambda: [s + 1 for _ in range(k)], ng_sync, 3) / k
    t2 = None
    if tdev:
        ts_ = torch.ones(1, device=tdev)
        t2 = timeit(lambda: [ts_ + 1 for _ in range(k)], t_sync, 3) / k
    K.LAUNCHER.enabled = False
    t3 = timeit(lambda: [s + 1 for _ in range(k)], ng_sync, 3) / k
    K.LAUNCHER.enabled = was
    try:  # the same k tiny ops captured in a CUDA graph: what one costs inside a replay
        tg = ng.cuda.CUDAGraph()
        with ng.cuda.graph(tg):
            acc = s
            for _ in range(k):
                acc = acc + 1
        t4: Any = timeit(tg.replay, ng_sync, 3) / k * 1e6
        tg.reset()
    except Exception as e:  # noqa: BLE001
        t4 = f"{type(e).__name__}: {e}"
    row("tiny_op", t1, t2, nbgrad_us=t1 * 1e6, torch_us=t2 * 1e6 if t2 else None, numba_launch_us=t3 * 1e6,
        graph_replay_us_per_op=t4)
    res["fast_launch"] = {"enabled": K.LAUNCHER.enabled, "off_because": K.LAUNCHER.disabled_why}
    print("fast launch:", res["fast_launch"], flush=True)

    if args.profile:  # where the time of a tiny op goes (Python side)
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        for _ in range(500):
            s + 1
        ng_sync()
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(22)

    if tdev:  # zero-copy interop both ways
        tt = torch.arange(6, dtype=torch.float32, device=tdev).reshape(2, 3)
        nt = ng.as_tensor(tt)
        tt[0, 0] = 42
        back = torch.as_tensor(nt * 1, device=tdev)
        res["interop_ok"] = bool(nt[0, 0].item() == 42 and back.shape == (2, 3) and back[0, 0].item() == 42)
        try:  # DLPack both ways
            viad = torch.from_dlpack(nt.T)
            viad[1, 0] = -7
            res["dlpack_ok"] = bool(nt[0, 1].item() == -7 and ng.from_dlpack(tt).is_cuda)
        except Exception as e:  # noqa: BLE001
            res["dlpack_ok"] = f"{type(e).__name__}: {e}"
        print("dlpack both ways:", res["dlpack_ok"], flush=True)
        print("interop (torch -> nbgrad shares memory, nbgrad -> torch via __cuda_array_interface__):",
              res["interop_ok"], flush=True)
    save()
    return res


if __name__ == "__main__":
    main()

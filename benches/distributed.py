"""Distributed benchmarks: nbgrad.distributed (MPI) against torch.distributed (gloo), in the same run.

    python -m benches.distributed            # allreduce 1 KB..64 MB at 2 ranks; the MLP M step at 1 and 2 ranks
    python -m benches.distributed --quick    # tiny sizes, one repeat (what the tests run)

Each world size is one `mpiexec -n N` job on this machine; in it every rank starts both
nbgrad's MPI process group and torch's gloo one (env:// on 127.0.0.1), and the libraries are
timed alternately (in a shuffled order), so drift hits both alike. One thread per rank (NUMBA, OpenMP, BLAS, torch),
so 2 ranks use 2 cores and the 1-rank figures are the single-core baseline.

allreduce (float32 SUM, in place): time per call, algbw = bytes / time, busbw = algbw *
2(n-1)/n (the bytes each rank must send and receive in a bandwidth-optimal allreduce, as
nccl-tests and OSU report). nbgrad: dist.all_reduce as a user calls it (with its argument
check across ranks), nbgrad_nocheck: with NBGRAD_DIST_CHECK=0, mpi4py: comm.Allreduce on a
NumPy array (the MPI floor), torch_gloo: torch.distributed.all_reduce.

MLP M train step (256 per rank, 1024 -> 1024 -> 10, SGD, cross entropy), per library:
single: no communication (1 rank); ddp: DistributedDataParallel, default 25 MiB buckets (one
bucket for this model: its allreduce starts when the first layer's weight gradient, the last
one backward makes, is in); ddp_2buckets: bucket_cap_mb=0.04, so the last layer's bucket is
reduced while backward computes the first layer's gradients (overlap); no_overlap: no DDP,
one allreduce of all gradients (flattened) after backward; local (2 ranks): no communication,
each rank trains alone: what running 2 ranks at once costs before any message (the cores'
shared caches and memory bandwidth, other load). Weak scaling: 256 per rank at 1 and
2 ranks, efficiency = t(1 rank) / t(2 ranks). Strong scaling: 256 in all (128 per rank at 2
ranks), speedup = t(1 rank) / t(2 ranks), efficiency = speedup / 2. The 1-rank reference is
each library's `single` step.

Prints tables and writes bench-results/distributed.json and distributed.md."""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SIZES = [1 << k for k in range(10, 27, 2)]  # 1 KiB .. 64 MiB, x4
QUICK_SIZES = [1 << 10, 1 << 16]
LIBS = ("nbgrad", "torch")
MIN_SAMPLE_S = 0.05  # a timed sample lasts at least this long (--quick: a tenth)
SMALL_BUCKET_MB = 0.04  # splits the MLP's gradients into [fc2.*, fc1.bias] and [fc1.weight]


# --------------------------------------------------------------------------- inside the MPI job

class Job:
    """One rank: both process groups up, timing helpers that keep the ranks in step."""

    def __init__(self, port: int, min_sample_s: float) -> None:
        import nbgrad.distributed as dist

        self.min_sample_s = min_sample_s
        dist.init_process_group("mpi")
        self.dist = dist
        self.comm = dist.group.WORLD.comm
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        import torch
        import torch.distributed as tdist

        torch.set_num_threads(1)
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(self.rank),
                          WORLD_SIZE=str(self.size))
        tdist.init_process_group("gloo", init_method="env://")
        self.torch, self.tdist = torch, tdist

    def sample(self, fn: Callable[[], Any], number: int) -> float:
        """Seconds per call of fn over `number` calls: from a barrier to the slowest rank's end."""
        from mpi4py import MPI

        self.comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return self.comm.allreduce(time.perf_counter() - t0, op=MPI.MAX) / number

    def number_for(self, fn: Callable[[], Any]) -> int:
        """Calls per sample so that one lasts min_sample_s (rank 0's estimate, used by all)."""
        n = 1
        while True:
            t = self.sample(fn, n) * n
            if t >= self.min_sample_s or n >= 1 << 16:
                return n
            n = self.comm.bcast(max(n * 2, int(n * self.min_sample_s / max(t, 1e-9))), root=0)

    def timed(self, fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, dict]:
        """Warm each up, then sample them alternately `repeats` times, in a new order at each
        repeat (the same on every rank), so that what runs just after another library (while
        its threads wind down, say) is not always the same one; median and range."""
        numbers = {}
        for k, fn in fns.items():
            for _ in range(3):
                fn()
            numbers[k] = self.number_for(fn)
        samples: dict[str, list[float]] = {k: [] for k in fns}
        names = list(fns)
        for rep in range(repeats):
            random.Random(rep).shuffle(names)
            for k in names:
                samples[k].append(self.sample(fns[k], numbers[k]))
        return {k: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v), "number": numbers[k]}
                for k, v in samples.items()}


def allreduce_bench(job: Job, sizes: list[int], repeats: int) -> list[dict]:
    import numpy as np

    import nbgrad as ng

    MPI = job.dist.process_group.mpi()
    pg = job.dist.group.WORLD
    rows = []
    for nbytes in sizes:
        k = nbytes // 4
        t = ng.zeros(k)
        a = np.zeros(k, np.float32)
        tt = job.torch.zeros(k)

        def nocheck() -> None:
            pg.check = False
            try:
                job.dist.all_reduce(t)
            finally:
                pg.check = True

        fns = {"nbgrad": lambda: job.dist.all_reduce(t), "nbgrad_nocheck": nocheck,
               "mpi4py": lambda: job.comm.Allreduce(MPI.IN_PLACE, a), "torch_gloo": lambda: job.tdist.all_reduce(tt)}
        res = job.timed(fns, repeats)
        for lib, r in res.items():
            alg = nbytes / r["median_s"]
            rows.append({"bytes": nbytes, "lib": lib, **r, "algbw_GBps": alg / 1e9,
                         "busbw_GBps": alg * 2 * (job.size - 1) / job.size / 1e9})
    return rows


def mlp_steps(job: Job, lib: str, per_rank: int, dims: tuple, variants: list[str]) -> dict[str, Callable[[], None]]:
    """A fresh model, optimizer and batch per variant; returns variant -> one training step."""
    import numpy as np

    from benches.run import LR, _np_mlp_init

    _, i, h, o = dims
    x, y, _ = _np_mlp_init(np, per_rank, i, h, o, seed=job.rank)
    if lib == "nbgrad":
        import nbgrad as m
        from nbgrad.nn.parallel import DistributedDataParallel as DDP

        def allreduce_avg(t: Any) -> None:
            job.dist.all_reduce(t, job.dist.ReduceOp.AVG)
        cat = m.cat
    else:
        m = job.torch
        from torch.nn.parallel import DistributedDataParallel as DDP

        def allreduce_avg(t: Any) -> None:
            job.tdist.all_reduce(t)
            t.div_(job.size)
        cat = m.cat
    X, Y = m.as_tensor(x), m.as_tensor(y)
    F = m.nn.functional
    steps = {}
    for v in variants:
        m.manual_seed(0)
        net = m.nn.Sequential(m.nn.Linear(i, h), m.nn.ReLU(), m.nn.Linear(h, o))
        model = {"ddp": lambda n: DDP(n), "ddp_2buckets": lambda n: DDP(n, bucket_cap_mb=SMALL_BUCKET_MB)}.get(
            v, lambda n: n)(net)
        opt = m.optim.SGD(model.parameters(), lr=LR)

        def step(model: Any = model, opt: Any = opt, v: str = v) -> None:
            opt.zero_grad()
            F.cross_entropy(model(X), Y).backward()
            if v == "no_overlap":
                ps = [p for p in model.parameters() if p.grad is not None]
                flat = cat([p.grad.reshape(-1) for p in ps])
                allreduce_avg(flat)
                off = 0
                with m.no_grad():
                    for p in ps:
                        k = p.numel()
                        p.grad.copy_(flat[off:off + k].reshape(p.shape))
                        off += k
            opt.step()
        steps[f"{lib}/{v}"] = step
    return steps


def mlp_bench(job: Job, dims: tuple, repeats: int) -> list[dict]:
    b = dims[0]
    if job.size == 1:
        cases = [("single", b, ["single", "ddp"])]
    else:
        cases = [("weak", b, ["local", "ddp", "ddp_2buckets", "no_overlap"]),
                 ("strong", b // job.size, ["local", "ddp", "ddp_2buckets", "no_overlap"])]
    rows = []
    for scaling, per_rank, variants in cases:
        fns: dict[str, Callable[[], None]] = {}
        for lib in LIBS:
            fns.update(mlp_steps(job, lib, per_rank, dims, variants))
        for key, r in job.timed(fns, repeats).items():
            lib, variant = key.split("/")
            rows.append({"ranks": job.size, "scaling": scaling, "per_rank_batch": per_rank, "lib": lib,
                         "variant": variant, **r})
    return rows


def worker(args: argparse.Namespace) -> None:
    from benches.run import MLP_SIZES, QUICK_MLP

    job = Job(args.port, MIN_SAMPLE_S / 10 if args.quick else MIN_SAMPLE_S)
    repeats = 1 if args.quick else args.repeats
    out: dict[str, Any] = {"ranks": job.size}
    if job.size > 1:
        out["allreduce"] = allreduce_bench(job, QUICK_SIZES if args.quick else SIZES, repeats)
    out["mlp"] = mlp_bench(job, QUICK_MLP if args.quick else MLP_SIZES["M"], repeats)
    if job.rank == 0:
        with open(args.worker_out, "w") as f:
            json.dump(out, f)
    job.tdist.destroy_process_group()
    job.dist.destroy_process_group()


# --------------------------------------------------------------------------- the driver

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_job(n: int, args: argparse.Namespace) -> dict:
    from nbgrad.distributed.run import mpiexec_path

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    for v in THREAD_VARS:
        env[v] = "1"
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("UCX_TLS", "self,sm")
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "job.json")
        cmd = [mpiexec_path(), "-launcher", "fork", "-hosts", "localhost", "-n", str(n), sys.executable, "-m",
               "benches.distributed", "--worker", "--port", str(free_port()), "--worker-out", out,
               "--repeats", str(args.repeats)] + (["--quick"] if args.quick else [])
        print(f"running: mpiexec -n {n} ...", file=sys.stderr, flush=True)
        p = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=args.timeout)
        if p.returncode != 0:
            raise SystemExit(f"mpiexec -n {n} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-5000:]}")
        with open(out) as f:
            return json.load(f)


def fmt_bytes(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


def fmt_s(s: float) -> str:
    return f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def tables(allreduce: list[dict], mlp: list[dict]) -> str:
    lines = ["### allreduce, float32 SUM in place, 2 ranks (busbw GB/s; time per call)", "",
             "| size | nbgrad | nbgrad_nocheck | mpi4py | torch_gloo | nbgrad / torch time |", "|---|---|---|---|---|---|"]
    by = {(r["bytes"], r["lib"]): r for r in allreduce}
    for nbytes in sorted({r["bytes"] for r in allreduce}):
        cells = []
        for lib in ("nbgrad", "nbgrad_nocheck", "mpi4py", "torch_gloo"):
            r = by[(nbytes, lib)]
            cells.append(f"{r['busbw_GBps']:.3f} ({fmt_s(r['median_s'])})")
        ratio = by[(nbytes, "nbgrad")]["median_s"] / by[(nbytes, "torch_gloo")]["median_s"]
        lines.append(f"| {fmt_bytes(nbytes)} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    lines += ["", "### MLP M train step (1024 -> 1024 -> 10), time per step (median) and scaling", "",
              "| ranks | scaling | batch per rank | variant | nbgrad | torch | nbgrad efficiency | torch efficiency "
              "| nbgrad - local | torch - local |", "|---|---|---|---|---|---|---|---|---|---|"]
    t1 = {r["lib"]: r["median_s"] for r in mlp if r["ranks"] == 1 and r["variant"] == "single"}
    local = {(r["lib"], r["scaling"]): r["median_s"] for r in mlp if r["variant"] == "local"}
    keys = list(dict.fromkeys((r["ranks"], r["scaling"], r["per_rank_batch"], r["variant"]) for r in mlp))
    for ranks, scaling, b, variant in keys:
        times, effs, extra = [], [], []
        for lib in LIBS:
            t = next(x["median_s"] for x in mlp if (x["ranks"], x["scaling"], x["per_rank_batch"], x["variant"],
                                                     x["lib"]) == (ranks, scaling, b, variant, lib))
            times.append(fmt_s(t))
            sp = t1[lib] / t
            effs.append(f"{sp / ranks:.2f} (speedup {sp:.2f})" if scaling == "strong" else f"{sp:.2f}")
            base = local.get((lib, scaling))
            extra.append("-" if base is None or variant == "local" else fmt_s(t - base))
        lines.append(f"| {ranks} | {scaling} | {b} | {variant} | " + " | ".join(times + effs + extra) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--out", default="bench-results")
    p.add_argument("--timeout", type=float, default=1200)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--worker-out", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return {}
    one, two = run_job(1, args), run_job(2, args)
    res = {"quick": args.quick, "threads_per_rank": 1, "cpu_count": os.cpu_count(), "allreduce": two["allreduce"],
           "mlp": one["mlp"] + two["mlp"]}
    md = tables(res["allreduce"], res["mlp"])
    print(md)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "distributed.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(args.out, "distributed.md"), "w") as f:
        f.write(md + "\n")
    return res


if __name__ == "__main__":
    if "--worker" in sys.argv:  # one thread per rank, set before numpy, numba and torch load
        for v in THREAD_VARS:
            os.environ.setdefault(v, "1")
    main()

"""Host (Python) time of nbgrad's CUDA ops, measured without a GPU.

    python -m benches.cuda_host [--repeats N] [--quick] [--out FILE.json]

A small op on a GPU costs its Python side (autograd, dispatch, allocation, argument packing)
plus the launch. This times the Python side alone: nbgrad's CUDA backend starts on fake device
memory (numba-cuda's real array types, not the simulator; tests/fake_cuda_memory.py) with kernel
launches stubbed out, so it runs on any machine. Peers in the same run, on tiny tensors where
every library's time is its per-call cost: the same op on nbgrad's CPU backend and on torch's
CPU. What the launch itself adds on a GPU is for benches/gpu_check.py to say (tiny_op)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))


def _median_us(fn: Callable[[], Any], calls: int, repeats: int) -> float:
    for _ in range(max(3, calls // 10)):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        ts.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(ts)


def _cases(lib: Any, device: str | None) -> dict[str, Callable[[], Any]]:
    """The ops, built with lib (nbgrad or torch) on device (None: the library's CPU)."""
    kw = {"device": device} if device else {}
    x, y = lib.ones(1000, **kw), lib.ones(1000, **kw)
    w = lib.ones(64, 64, requires_grad=True, **kw)
    nn = lib.nn
    m = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
    if device:
        m = m.to(device)
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    xb, tb = lib.ones(16, 32, **kw), lib.zeros(16, dtype=lib.int64, **kw)

    def step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(m(xb), tb).backward()
        opt.step()

    return {"x * 2": lambda: x * 2, "x + y": lambda: x + y, "relu": lambda: x.relu(), "sum": lambda: x.sum(),
            "matmul 64x64": lambda: w @ w, "backward of (w @ w).sum()": lambda: (w @ w).sum().backward(),
            "MLP step 32-64-10, batch 16": step}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="few calls (a smoke test)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    calls = 20 if args.quick else 2000

    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    from fake_cuda_memory import start_without_gpu

    start_without_gpu()
    from nbgrad.backends.cuda import launch as cuda_launch

    launches = [0]

    def no_launch(self: Any, kernel: Any, grid: tuple, block: tuple, args: tuple) -> None:
        launches[0] += 1

    cuda_launch.Launcher.__call__ = no_launch
    import nbgrad as ng

    try:
        import torch
    except ImportError:
        torch = None
    libs = {"nbgrad cuda (host)": _cases(ng, "cuda"), "nbgrad cpu": _cases(ng, None)}
    if torch is not None:
        torch.set_num_threads(1)
        libs["torch cpu"] = _cases(torch, None)
    res: dict[str, dict] = {}
    print(f"{'op':30s}" + "".join(f"{name:>20s}" for name in libs) + "   launches   cuda-host / torch-cpu")
    for op in libs["nbgrad cuda (host)"]:
        n0 = launches[0]
        libs["nbgrad cuda (host)"][op]()
        row = {"launches": launches[0] - n0}
        row.update({name: _median_us(cases[op], calls, args.repeats) for name, cases in libs.items()})
        if "torch cpu" in row:
            row["ratio_cuda_host_over_torch_cpu"] = row["nbgrad cuda (host)"] / row["torch cpu"]
        res[op] = row
        print(f"{op:30s}" + "".join(f"{row[name]:17.1f} us" for name in libs) + f"{row['launches']:11d}"
              + (f"{row['ratio_cuda_host_over_torch_cpu']:24.2f}" if "torch cpu" in row else ""))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    main()

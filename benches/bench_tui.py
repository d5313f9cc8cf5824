"""nbgrad-tui on 10,000-node graphs (tensor and scalar): time to open, per step, and to continue to the end.

Run: python -m benches.bench_tui [--nodes N] [--steps K]. Targets: open < 2 s, step < 100 ms."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import numpy as np

SIZE = (150, 45)


def chain_graph(nodes: int) -> tuple[Any, dict[str, Any]]:
    """A chain of small ops, x = x * c + b repeated, with about `nodes` backward nodes."""
    import nbgrad as ng

    w = ng.tensor(np.linspace(0.5, 1.5, 8, dtype=np.float32), requires_grad=True)
    b = ng.tensor(np.full(8, 0.01, np.float32), requires_grad=True)
    x = w
    for _ in range((nodes - 3) // 2):
        x = x * 0.999 + b
    return x.sum(), {"w": w, "b": b}


def scalar_chain_graph(nodes: int) -> tuple[Any, dict[str, Any]]:
    """The same chain on nbgrad.scalar Values (each constant is a leaf node too)."""
    from nbgrad.scalar import Value

    w, b, c = Value(1.0), Value(0.01), Value(0.999)
    x = w
    for _ in range((nodes - 3) // 2):
        x = x * c + b
    return x, {"w": w, "b": b, "c": c}


async def measure(nodes: int, steps: int, scalar: bool = False) -> dict[str, float]:
    from nbgrad_tui.app import DebuggerApp

    root, names = (scalar_chain_graph if scalar else chain_graph)(nodes)
    t0 = time.perf_counter()
    app = DebuggerApp(root, None, True, names=names)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        opened = time.perf_counter() - t0

        async def press(key: str, k: int) -> tuple[list[float], list[float]]:
            wall, cpu = [], []
            for _ in range(k):
                t, c = time.perf_counter(), time.process_time()
                await pilot.press(key)
                await pilot.pause()
                wall.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            return wall, cpu

        idle, _ = await press("z", 10)  # an unbound key: Pilot's own latency per press
        times, cpu = await press("n", steps)
        t = time.perf_counter()
        await pilot.press("c")
        await pilot.pause()
        cont = time.perf_counter() - t
        assert app.bp.finished, app.state
    return {"nodes": app.bp.total, "open_s": opened, "step_ms": 1e3 * float(np.mean(times)),
            "step_max_ms": 1e3 * float(np.max(times)), "step_cpu_ms": 1e3 * float(np.mean(cpu)),
            "idle_key_ms": 1e3 * float(np.mean(idle)), "continue_s": cont}


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=10_000)
    p.add_argument("--steps", type=int, default=20)
    a = p.parse_args(argv)
    out = []
    for kind in ("tensor", "scalar"):
        r = asyncio.run(measure(a.nodes, a.steps, scalar=kind == "scalar"))
        print(f"nbgrad-tui on a {r['nodes']}-node {kind} chain: open {r['open_s']:.2f} s (target < 2)")
        print(f"  step: {r['step_ms']:.1f} ms mean / {r['step_max_ms']:.1f} ms max wall per Pilot key press over "
              f"{a.steps} steps, of which {r['idle_key_ms']:.1f} ms is Pilot's own latency (an unbound key); "
              f"{r['step_cpu_ms']:.1f} ms CPU (target < 100)")
        print(f"  continue to the end: {r['continue_s']:.2f} s")
        out.append(r)
    return out


if __name__ == "__main__":
    main()

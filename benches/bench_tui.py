"""nbgrad-tui on 10,000-node graphs (tensor and scalar).

From the shell: `nbgrad-tui run` in a pseudo-terminal, timed from process start to the
first screen on the terminal (cold, then warm), and per key from the key press to the
screen showing its result (n: step, p: step back, g: check node). In process: opening the app and stepping through Textual's
Pilot (wall and CPU per key).

Run: python -m benches.bench_tui [--nodes N] [--steps K] [--no-shell]."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import select
import sys
import tempfile
import time
from typing import Any

import numpy as np

SIZE = (150, 45)
CHAIN_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from benches.bench_tui import {fn}
root, names = {fn}({nodes})
globals().update(names)
root.backward()
"""


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


# --- in process, through Pilot -------------------------------------------------------------------

async def measure(nodes: int, steps: int, scalar: bool = False) -> dict[str, float]:
    from nbgrad.autograd.graph import BackwardCall
    from nbgrad_tui.app import DebuggerApp
    from nbgrad_tui.runner import make_session

    root, names = (scalar_chain_graph if scalar else chain_graph)(nodes)
    t0 = time.perf_counter()
    call = BackwardCall("scalar" if scalar else "tensor", [root], [None], True)
    app = DebuggerApp(make_session(call, names))
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

        idle, _ = await press("x", 10)  # an unbound key: Pilot's own latency per press
        times, cpu = await press("n", steps)
        back, _ = await press("p", max(steps // 2, 1))  # step back
        assert len(app.session.steps) == steps - max(steps // 2, 1), len(app.session.steps)
        check, _ = await press("g", 3)  # check node (finite differences) on the selected node
        t = time.perf_counter()
        await pilot.press("c")
        await pilot.pause()
        cont = time.perf_counter() - t
        assert app.session.finished, app.session.state
    return {"nodes": app.session.total, "open_s": opened, "step_ms": 1e3 * float(np.mean(times)),
            "step_max_ms": 1e3 * float(np.max(times)), "step_cpu_ms": 1e3 * float(np.mean(cpu)),
            "idle_key_ms": 1e3 * float(np.mean(idle)), "back_ms": 1e3 * float(np.mean(back)),
            "check_ms": 1e3 * float(np.mean(check)), "continue_s": cont}


# --- from the shell, in a pseudo-terminal ----------------------------------------------------------

class PtyRun:
    """A command on a pseudo-terminal of cols x rows; what it draws is read back."""

    def __init__(self, argv: list[str], cols: int = 150, rows: int = 45, stdout_path: str | None = None,
                 env: dict | None = None) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.t0 = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: its terminal is the pty (stdout maybe a file)
            if stdout_path is not None:
                out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(out, 1)
            os.execvpe(argv[0], argv, {**os.environ, "TERM": "xterm-256color", **(env or {})})
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.out = b""

    def wait_for(self, pattern: bytes, timeout: float = 120.0, start: int = 0) -> float | None:
        """Seconds (since the start) when `pattern` first shows in the output after `start`; None
        on a timeout or when the command ends first."""
        rx = re.compile(pattern)
        end = time.perf_counter() + timeout
        while True:
            if rx.search(self.out, start):
                return time.perf_counter() - self.t0
            left = end - time.perf_counter()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if r:
                try:
                    data = os.read(self.fd, 1 << 16)
                except OSError:
                    return None
                if not data:
                    return None
                self.out += data

    def send(self, text: str) -> int:
        """Type text; the output offset before it (to wait for what it draws)."""
        mark = len(self.out)
        os.write(self.fd, text.encode())
        return mark

    def close(self, timeout: float = 30.0) -> int:
        """Wait for the command to end (reading what it still writes); its exit status."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    self.out += os.read(self.fd, 1 << 16)
                except OSError:
                    pass
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        return -9


def shell(nodes: int, steps: int, scalar: bool, tool: list[str] | None = None) -> dict[str, Any]:
    """`nbgrad-tui run` on the chain in a pty: process start to first screen, then per key."""
    tool = tool or [sys.executable, "-m", "nbgrad_tui.cli"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "chain.py")
        with open(script, "w") as f:
            f.write(CHAIN_SCRIPT.format(root=root, fn="scalar_chain_graph" if scalar else "chain_graph", nodes=nodes))
        run = PtyRun([*tool, "run", script], *SIZE)
        total = None
        opened = run.wait_for(rb"0/(\d+) nodes")
        if opened is not None:
            total = int(re.search(rb"0/(\d+) nodes", run.out).group(1))
        keys = []
        for k in range(1, steps + 1 if opened is not None else 1):
            t = time.perf_counter()
            mark = run.send("n")
            if run.wait_for(rb"%d/%d nodes" % (k, total), 30.0, mark) is None:
                break
            keys.append(time.perf_counter() - t)
        back, check = [], []
        for k in range(len(keys) - 1, max(len(keys) // 2, 1) - 1, -1):  # step back to half way
            t = time.perf_counter()
            mark = run.send("p")
            if run.wait_for(rb"%d/%d nodes" % (k, total), 30.0, mark) is None:
                break
            back.append(time.perf_counter() - t)
        if keys:
            t = time.perf_counter()
            mark = run.send("g")
            if run.wait_for(rb"largest error", 60.0, mark) is not None:
                check.append(time.perf_counter() - t)
        run.send("q")
        rc = run.close()
    return {"nodes": total, "open_s": opened, "key_ms": [1e3 * k for k in keys], "back_ms": [1e3 * k for k in back],
            "check_ms": [1e3 * k for k in check], "rc": rc}


def shell_demo(name: str = "seed", tool: list[str] | None = None) -> float | None:
    """`nbgrad-tui demo NAME` in a pty: seconds from process start to its first screen."""
    run = PtyRun([*(tool or [sys.executable, "-m", "nbgrad_tui.cli"]), "demo", name], *SIZE)
    opened = run.wait_for(rb"0/\d+ nodes")
    run.send("Q")
    run.close()
    return opened


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=10_000)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--no-shell", action="store_true", help="only the in-process Pilot measurement")
    a = p.parse_args(argv)
    out = []
    if not a.no_shell:
        demo = [shell_demo("seed") for _ in range(3)]
        print(f"nbgrad-tui demo seed in a {SIZE[0]}x{SIZE[1]} pty: process start to first screen "
              f"{demo[0]:.2f} s cold, {min(demo[1:]):.2f} s warm")
        out.append({"kind": "demo seed", "open_s": demo})
    for kind in ("tensor", "scalar"):
        scalar = kind == "scalar"
        if not a.no_shell:
            cold = shell(a.nodes, 0, scalar)
            warm = shell(a.nodes, a.steps, scalar)
            keys = warm["key_ms"]
            print(f"nbgrad-tui run, {warm['nodes']}-node {kind} chain, in a {SIZE[0]}x{SIZE[1]} pty: process start to "
                  f"first screen {cold['open_s']:.2f} s cold, {warm['open_s']:.2f} s warm")
            if keys:
                print(f"  key n to the step on screen: {np.median(keys):.0f} ms median, {np.max(keys):.0f} ms max "
                      f"over {len(keys)} steps")
            for key, name in (("back_ms", "p (step back)"), ("check_ms", "g (check node)")):
                if warm[key]:
                    print(f"  key {name} to the result on screen: {np.median(warm[key]):.0f} ms median "
                          f"over {len(warm[key])}")
            out.append({"kind": kind, "shell_cold": cold, "shell_warm": warm})
        r = asyncio.run(measure(a.nodes, a.steps, scalar=scalar))
        print(f"  in process (Pilot): open {r['open_s']:.2f} s; step {r['step_ms']:.1f} ms mean / "
              f"{r['step_max_ms']:.1f} ms max wall per key, of which {r['idle_key_ms']:.1f} ms is Pilot's own "
              f"(an unbound key); {r['step_cpu_ms']:.1f} ms CPU; step back {r['back_ms']:.1f} ms; check node "
              f"{r['check_ms']:.1f} ms; continue to the end {r['continue_s']:.2f} s")
        out.append({"kind": kind, "pilot": r})
    return out


if __name__ == "__main__":
    main()

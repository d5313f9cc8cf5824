"""micrograd demo training step: micrograd vs nbgrad.scalar eager vs nbgrad.scalar compiled.

MLP(2, [16, 16, 1]), 100 two-moons-like points (numpy), SVM hinge loss + 1e-4 L2,
forward + backward + SGD update. Each run times every variant in the same process;
speed-ups are micrograd's median step time over the variant's, per run, and the
summary gives the median over runs.

    python -m benches.bench_scalar [--runs R] [--steps N] [--micrograd-steps M] [--gc-collect]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time

import numpy as np


def make_moons(n=100, noise=0.1, seed=1):
    rng = np.random.default_rng(seed)
    n1 = n // 2
    n2 = n - n1
    t1 = np.linspace(0, np.pi, n1)
    t2 = np.linspace(0, np.pi, n2)
    X = np.concatenate([np.stack([np.cos(t1), np.sin(t1)], 1), np.stack([1 - np.cos(t2), 0.5 - np.sin(t2)], 1)])
    X += rng.normal(scale=noise, size=X.shape)
    y = np.concatenate([np.zeros(n1), np.ones(n2)]) * 2 - 1
    return X.tolist(), y.tolist()


def loss_fn(model, V, X, y, alpha=1e-4, with_scores=False):
    """micrograd's demo loss (SVM hinge + L2); with_scores: also the model's outputs."""
    inputs = [list(map(V, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    total = data_loss + reg_loss
    return (total, scores) if with_scores else total


def compiled_demo(X, y, seed=1337):
    """The demo loss as a compiled function of the parameter vector: (compiled fn, initial parameters)."""
    import nbgrad.scalar as S
    from nbgrad.scalar import Value
    from nbgrad.scalar.nn import MLP

    random.seed(seed)
    model = MLP(2, [16, 16, 1])

    def f(*ps):
        old = model.load_parameters(ps)
        try:
            return loss_fn(model, Value, X, y)
        finally:
            model.load_parameters(old)

    return S.compile(f), np.array([p.data for p in model.parameters()])


COLLECT = False


def _between_steps():
    if COLLECT:
        gc.collect()


def _lr(k):
    return 1.0 - 0.9 * k / 100


def run_eager(MLP, V, X, y, steps):
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    times, losses = [], []
    for k in range(steps):
        _between_steps()
        t0 = time.perf_counter()
        c0 = time.process_time()
        total_loss = loss_fn(model, V, X, y)
        model.zero_grad()
        total_loss.backward()
        for p in model.parameters():
            p.data -= _lr(k) * p.grad
        times.append((time.perf_counter() - t0, time.process_time() - c0))
        losses.append(total_loss.data)
    return times, losses


def run_compiled(steps, X, y):
    cf, w = compiled_demo(X, y)
    t0 = time.perf_counter()
    cf(w.copy())  # trace + first replay (JIT from cache)
    trace_s = time.perf_counter() - t0
    times, losses = [], []
    for k in range(steps):
        _between_steps()
        t0 = time.perf_counter()
        c0 = time.process_time()
        loss, g = cf(w)
        w -= _lr(k) * g
        times.append((time.perf_counter() - t0, time.process_time() - c0))
        losses.append(loss)
    return times, losses, trace_s, cf.num_nodes


def one_run(X, y, steps, mg_steps):
    from micrograd.engine import Value as MV
    from micrograd.nn import MLP as MMLP

    from nbgrad.scalar import Value as SV
    from nbgrad.scalar.nn import MLP as SMLP

    tm, lm = run_eager(MMLP, MV, X, y, mg_steps)
    te, le = run_eager(SMLP, SV, X, y, steps)
    tc, lc, trace_s, nodes = run_compiled(max(steps, 50), X, y)
    n = min(mg_steps, steps)
    diff = {"eager": max(abs(a - b) for a, b in zip(lm[:n], le)),
            "compiled": max(abs(a - b) for a, b in zip(lm[:n], lc))}
    med = {name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
           for name, ts in (("micrograd", tm), ("nbgrad.scalar eager", te), ("nbgrad.scalar compiled", tc))}
    return med, diff, trace_s, nodes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="independent runs; the summary is the median over them")
    ap.add_argument("--steps", type=int, default=10, help="eager steps per run (compiled: at least 50)")
    ap.add_argument("--micrograd-steps", type=int, default=5, help="micrograd steps per run (~1.5 s each)")
    ap.add_argument("--gc-collect", action="store_true",
                    help="run gc.collect() between steps, outside the timed region (micrograd's graphs are cyclic)")
    args = ap.parse_args()
    global COLLECT
    COLLECT = args.gc_collect
    X, y = make_moons()

    from nbgrad.scalar import Value as SV

    x = SV(1.0)  # load the Numba kernels (cache=True: compiled once, then read from the cache)
    (x * x).backward()
    print(f"micrograd demo step: MLP(2,[16,16,1]), 100 points, hinge+L2; per run {args.micrograd_steps} micrograd, "
          f"{args.steps} eager, {max(args.steps, 50)} compiled steps; gc.collect between steps: {COLLECT}")
    header = f"{'variant':<26}{'wall ms':>12}{'cpu ms':>12}{'speedup(wall)':>15}{'speedup(cpu)':>14}"
    ratios: dict[str, list[tuple[float, float]]] = {}
    for r in range(args.runs):
        med, diff, trace_s, nodes = one_run(X, y, args.steps, args.micrograd_steps)
        print(f"\nrun {r + 1}/{args.runs}: max |loss - micrograd|: eager {diff['eager']:.2e}, "
              f"compiled {diff['compiled']:.2e}")
        print(header)
        w0, c0 = med["micrograd"]
        for name, (w, c) in med.items():
            ratios.setdefault(name, []).append((w0 / w, c0 / max(c, 1e-9)))
            print(f"{name:<26}{w * 1e3:>12.3f}{c * 1e3:>12.3f}{w0 / w:>15.1f}{c0 / max(c, 1e-9):>14.1f}")
        wc = med["nbgrad.scalar compiled"][0]
        print(f"compiled: trace+first call {trace_s * 1e3:.1f} ms, program {nodes} nodes, "
              f"{wc / nodes * 1e9:.1f} ns per node per step")
    from nbgrad.scalar._tape import replay_kernel

    print(f"\nreplay kernel specialisations: {len(replay_kernel.signatures)} (1 = no recompilation across runs)")
    print(f"median speed-up over {args.runs} runs (wall, cpu): " + "; ".join(
        f"{name.replace('nbgrad.scalar ', '')} {statistics.median(r[0] for r in rs):.1f}x, "
        f"{statistics.median(r[1] for r in rs):.1f}x" for name, rs in ratios.items() if name != "micrograd"))


if __name__ == "__main__":
    main()

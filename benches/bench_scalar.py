"""micrograd demo training step: micrograd vs nbgrad.scalar eager vs nbgrad.scalar compiled.

MLP(2, [16, 16, 1]), 100 two-moons-like points (numpy), SVM hinge loss + 1e-4 L2,
forward + backward + SGD update. Prints the median step time of each and ratios.

    python benches/bench_scalar.py [--steps N]
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


def loss_fn(model, V, X, y, alpha=1e-4):
    inputs = [list(map(V, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    return data_loss + reg_loss


COLLECT = False


def _between_steps():
    if COLLECT:
        gc.collect()


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
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= lr * p.grad
        times.append((time.perf_counter() - t0, time.process_time() - c0))
        losses.append(total_loss.data)
    return times, losses


def run_compiled(steps, X, y):
    import nbgrad.scalar as S
    from nbgrad.scalar import Value
    from nbgrad.scalar.nn import MLP

    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    params = model.parameters()

    def f(*ps):
        old = model.load_parameters(ps)
        try:
            return loss_fn(model, Value, X, y)
        finally:
            model.load_parameters(old)

    cf = S.compile(f)
    w = np.array([p.data for p in params])
    t0 = time.perf_counter()
    cf(w.copy())  # trace + first replay (JIT from cache)
    trace_s = time.perf_counter() - t0
    times, losses = [], []
    for k in range(steps):
        _between_steps()
        t0 = time.perf_counter()
        c0 = time.process_time()
        loss, g = cf(w)
        lr = 1.0 - 0.9 * k / 100
        w -= lr * g
        times.append((time.perf_counter() - t0, time.process_time() - c0))
        losses.append(loss)
    return times, losses, trace_s, cf.num_nodes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--gc-collect", action="store_true",
                    help="run gc.collect() between steps, outside the timed region (micrograd's graphs are cyclic)")
    args = ap.parse_args()
    global COLLECT
    COLLECT = args.gc_collect
    X, y = make_moons()

    from micrograd.engine import Value as MV
    from micrograd.nn import MLP as MMLP

    from nbgrad.scalar import Value as SV
    from nbgrad.scalar.nn import MLP as SMLP

    # warm-up the Numba kernels (cache=True: loads from cache after the first ever run)
    x = SV(1.0)
    (x * x).backward()

    tm, lm = run_eager(MMLP, MV, X, y, args.steps)
    te, le = run_eager(SMLP, SV, X, y, args.steps)
    tc, lc, trace_s, nn_ = run_compiled(args.steps, X, y)

    dl_e = max(abs(a - b) for a, b in zip(lm, le))
    dl_c = max(abs(a - b) for a, b in zip(lm, lc))
    med = {name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
           for name, ts in (("micrograd", tm), ("nbgrad.scalar eager", te), ("nbgrad.scalar compiled", tc))}
    print(f"micrograd demo step: MLP(2,[16,16,1]), 100 points, hinge+L2, {args.steps} steps each, "
          f"gc.collect between steps: {COLLECT}")
    print(f"losses step0..{args.steps - 1}: micrograd {lm[0]:.6f} -> {lm[-1]:.6f}")
    print(f"max |loss - micrograd|: eager {dl_e:.2e}, compiled {dl_c:.2e}")
    print(f"{'variant':<26}{'wall ms':>12}{'cpu ms':>12}{'speedup(wall)':>15}{'speedup(cpu)':>14}")
    w0, c0 = med["micrograd"]
    for name, (w, c) in med.items():
        print(f"{name:<26}{w * 1e3:>12.3f}{c * 1e3:>12.3f}{w0 / w:>15.1f}{c0 / max(c, 1e-9):>14.1f}")
    print(f"compiled: trace+first call {trace_s * 1e3:.1f} ms, program {nn_} nodes")


if __name__ == "__main__":
    main()

"""nbgrad benchmark suite: nbgrad vs PyTorch vs HIPS autograd vs hand-written NumPy (CPU, float32).

Run from the repository root:

    python -m benches.run                 # default suite (S and M MLPs, no L)
    python benches/run.py --quick         # tiny sizes, 1-2 repeats (what the tests use)
    python -m benches.run --cases mlp,softmax --repeats 20
    python -m benches.run --large         # adds the L MLP (512, 4096->4096->1000)
    python -m benches.run --threads 4     # NUMBA/OMP/BLAS/torch threads (default: all cores)

Prints a table (case x library: median, min-max, ratio to nbgrad), writes
bench-results/results.json and, if matplotlib is importable, bench-results/results.png.

Method: each library builds its own inputs once per case; every library is warmed up
(`--warmup` calls, the first of which is timed separately as `first_call_s`, i.e.
Numba JIT / cache load for nbgrad), then the libraries are timed alternately
A B C D A B C D ... `--repeats` times so drift (thermal, other load) hits all of them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

LIBS = ("nbgrad", "torch", "autograd", "numpy")
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# nbgrad (Numba's omp layer) and torch each bring an OpenMP pool into the same process; with the
# default spin-wait each pool burns the cores the other needs (torch went 10-50x slower on a
# 2-core box when alternated with nbgrad). PASSIVE is the fair setting; override with the env var.
OMP_WAIT_DEFAULT = "PASSIVE"
GROUPS = {
    "mlp": ("mlp_S", "mlp_M", "mlp_L"),
    "reductions": ("sum", "mean", "max", "softmax", "log_softmax"),
}
DEFAULT_CASES = ("mlp_S", "mlp_M", "elementwise", "tutorial", "sum", "mean", "max", "softmax",
                 "log_softmax", "startup")
ALL_CASES = DEFAULT_CASES[:2] + ("mlp_L",) + DEFAULT_CASES[2:]


# --------------------------------------------------------------------------- environment

def set_threads(n: int | None) -> dict:
    """Must run before numpy/numba/torch are imported. Env vars already set by the user win
    unless --threads is given explicitly."""
    n_eff = n or os.cpu_count() or 1
    for v in THREAD_VARS:
        if n is not None or v not in os.environ:
            os.environ[v] = str(n_eff)
    os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_DEFAULT)
    return {v: os.environ[v] for v in THREAD_VARS + ("OMP_WAIT_POLICY",)}


def load_libs(wanted: tuple[str, ...]) -> tuple[dict, dict]:
    libs: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in wanted:
        try:
            if name == "nbgrad":
                import nbgrad as mod
            elif name == "torch":
                import torch as mod
            elif name == "autograd":
                import autograd as mod
            else:
                import numpy as mod
            libs[name] = mod
        except Exception as e:  # noqa: BLE001  (ImportError or a broken install)
            skipped[name] = f"{type(e).__name__}: {e}"
    return libs, skipped


def thread_report(libs: dict) -> dict:
    rep: dict[str, Any] = {"env": {v: os.environ.get(v) for v in THREAD_VARS + ("OMP_WAIT_POLICY",)},
                           "cpu_count": os.cpu_count()}
    try:
        import numba
        rep["numba.get_num_threads"] = numba.get_num_threads()
        rep["numba.threading_layer"] = _numba_layer(numba)
    except Exception as e:  # noqa: BLE001
        rep["numba"] = f"unavailable: {e}"
    if "torch" in libs:
        torch = libs["torch"]
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        rep["torch.get_num_threads"] = torch.get_num_threads()
        rep["torch.get_num_interop_threads"] = torch.get_num_interop_threads()
    try:
        import threadpoolctl
        rep["threadpoolctl"] = [{k: d.get(k) for k in ("internal_api", "num_threads", "version")}
                                for d in threadpoolctl.threadpool_info()]
    except ImportError:
        rep["threadpoolctl"] = "not installed (BLAS threads = OPENBLAS/MKL/OMP env vars above)"
    return rep


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001
        return "?"


def _numba_layer(numba: Any) -> str:
    try:
        return numba.threading_layer()
    except ValueError:  # not initialised until a parallel kernel ran
        return "not yet initialised"


# --------------------------------------------------------------------------- case builders
# Each builder: (lib_module, size_dict) -> zero-arg callable doing one timed step.
# Returning None means "this library does not take part in this case".

MLP_SIZES = {"S": (64, 784, 128, 10), "M": (256, 1024, 1024, 10), "L": (512, 4096, 4096, 1000)}
QUICK_MLP = (8, 16, 8, 4)
LR = 0.01


def _np_mlp_init(np: Any, b: int, i: int, h: int, o: int, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    f = np.float32
    x = rng.standard_normal((b, i)).astype(f)
    y = rng.integers(0, o, b)
    w1 = (rng.uniform(-1, 1, (h, i)) / np.sqrt(i)).astype(f)
    b1 = np.zeros(h, f)
    w2 = (rng.uniform(-1, 1, (o, h)) / np.sqrt(h)).astype(f)
    b2 = np.zeros(o, f)
    return x, y, [w1, b1, w2, b2]


# nbgrad and torch share one API, so one function builds each case for both (`lib` is either module).
def mlp_torchlike(lib: Any, dims: tuple) -> Callable:
    b, i, h, o = dims
    x, y, _ = _np_mlp_init(__import__("numpy"), b, i, h, o)
    X, Y = lib.as_tensor(x), lib.as_tensor(y)
    model = lib.nn.Sequential(lib.nn.Linear(i, h), lib.nn.ReLU(), lib.nn.Linear(h, o))
    opt = lib.optim.SGD(model.parameters(), lr=LR)
    F = lib.nn.functional

    def step() -> None:
        opt.zero_grad()
        loss = F.cross_entropy(model(X), Y)
        loss.backward()
        opt.step()
    return step


def mlp_autograd(ag: Any, dims: tuple) -> Callable:
    import autograd.numpy as anp
    import numpy as np
    x, y, params = _np_mlp_init(np, *dims)

    def loss(ps: list) -> Any:
        w1, b1, w2, b2 = ps
        hdn = anp.maximum(anp.dot(x, w1.T) + b1, 0.0)
        z = anp.dot(hdn, w2.T) + b2
        m = anp.max(z, axis=1, keepdims=True)
        lse = m + anp.log(anp.sum(anp.exp(z - m), axis=1, keepdims=True))
        lsm = z - lse
        return -anp.mean(lsm[np.arange(len(y)), y])
    g = ag.grad(loss)

    def step() -> None:
        grads = g(params)
        for p, d in zip(params, grads):
            p -= np.float32(LR) * d.astype(np.float32, copy=False)
    return step


def mlp_numpy(np: Any, dims: tuple) -> Callable:
    x, y, params = _np_mlp_init(np, *dims)
    b = x.shape[0]
    rows = np.arange(b)

    def step() -> None:
        w1, b1, w2, b2 = params
        hpre = x @ w1.T + b1
        hdn = np.maximum(hpre, 0)
        z = hdn @ w2.T + b2
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        _loss = -np.log(p[rows, y]).mean()
        dz = p
        dz[rows, y] -= 1
        dz /= b
        dw2 = dz.T @ hdn
        db2 = dz.sum(0)
        dh = dz @ w2
        dh *= hpre > 0
        dw1 = dh.T @ x
        db1 = dh.sum(0)
        for prm, d in zip(params, (dw1, db1, dw2, db2)):
            prm -= np.float32(LR) * d
    return step


# elementwise chain: ((x * w + b).tanh() * x).sigmoid().sum(), grads for x, w, b

def _ew_data(n: int) -> tuple:
    import numpy as np
    rng = np.random.default_rng(1)
    return tuple(rng.standard_normal(n).astype(np.float32) for _ in range(3))


def ew_torchlike(lib: Any, n: int) -> Callable:
    x, w, b = (lib.as_tensor(a).requires_grad_() for a in _ew_data(n))

    def step() -> None:
        for t in (x, w, b):
            t.grad = None
        ((x * w + b).tanh() * x).sigmoid().sum().backward()
    return step


def ew_autograd(ag: Any, n: int) -> Callable:
    import autograd.numpy as anp
    ps = list(_ew_data(n))

    def f(p: list) -> Any:
        x, w, b = p
        c = anp.tanh(x * w + b) * x
        return anp.sum(1.0 / (1.0 + anp.exp(-c)))
    g = ag.grad(f)
    return lambda: g(ps)


def ew_numpy(np: Any, n: int) -> Callable:
    x, w, b = _ew_data(n)

    def step() -> tuple:
        a = x * w + b
        t = np.tanh(a)
        c = t * x
        s = 1 / (1 + np.exp(-c))
        _loss = s.sum()
        dc = s * (1 - s)
        da = dc * x * (1 - t * t)
        dx = dc * t + da * w
        return dx, da * x, da
    return step


# seed tutorial graph: x=ones(5), w=randn(5,3), b=randn(3), z=x@w+b, BCE-with-logits vs zeros(3)

def _tut_data() -> tuple:
    import numpy as np
    rng = np.random.default_rng(2)
    return rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)


def tut_torchlike(lib: Any, _: Any) -> Callable:
    w0, b0 = _tut_data()
    x, y = lib.ones(5), lib.zeros(3)
    w, b = lib.as_tensor(w0).requires_grad_(), lib.as_tensor(b0).requires_grad_()
    bce = lib.nn.functional.binary_cross_entropy_with_logits

    def step() -> None:
        w.grad = b.grad = None
        z = lib.matmul(x, w) + b
        bce(z, y).backward()
    return step


def tut_autograd(ag: Any, _: Any) -> Callable:
    import autograd.numpy as anp
    import numpy as np
    w0, b0 = _tut_data()
    x = np.ones(5, np.float32)

    def f(p: list) -> Any:
        z = anp.dot(x, p[0]) + p[1]  # target 0: loss = mean(softplus(z))
        return anp.mean(anp.maximum(z, 0) + anp.log1p(anp.exp(-anp.abs(z))))
    g = ag.grad(f)
    ps = [w0, b0]
    return lambda: g(ps)


def tut_numpy(np: Any, _: Any) -> Callable:
    w, b = _tut_data()
    x = np.ones(5, np.float32)

    def step() -> tuple:
        z = x @ w + b
        _loss = np.mean(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))))
        dz = (1 / (1 + np.exp(-z))) / z.size
        return np.outer(x, dz), dz
    return step


# reductions / softmax on (R, C), dim=1 (or all), forward + backward of (op(x) * G).sum()

def _red_data(shape: tuple, op: str) -> tuple:
    import numpy as np
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    gshape = {"sum": shape[:1], "max": shape[:1], "mean": ()}.get(op, shape)
    return x, rng.standard_normal(gshape).astype(np.float32)


def red_torchlike(lib: Any, shape: tuple, op: str) -> Callable:
    x0, g0 = _red_data(shape, op)
    x, G = lib.as_tensor(x0).requires_grad_(), lib.as_tensor(g0)
    fwd = {"sum": lambda: x.sum(dim=1), "mean": lambda: x.mean(), "max": lambda: x.max(dim=1)[0],
           "softmax": lambda: x.softmax(dim=1), "log_softmax": lambda: x.log_softmax(dim=1)}[op]

    def step() -> None:
        x.grad = None
        (fwd() * G).sum().backward()
    return step


def red_autograd(ag: Any, shape: tuple, op: str) -> Callable:
    import autograd.numpy as anp
    x0, g0 = _red_data(shape, op)

    def sm(x: Any) -> Any:
        e = anp.exp(x - anp.max(x, axis=1, keepdims=True))
        return e / anp.sum(e, axis=1, keepdims=True)

    def lsm(x: Any) -> Any:
        s = x - anp.max(x, axis=1, keepdims=True)
        return s - anp.log(anp.sum(anp.exp(s), axis=1, keepdims=True))
    fwd = {"sum": lambda x: anp.sum(x, axis=1), "mean": anp.mean, "max": lambda x: anp.max(x, axis=1),
           "softmax": sm, "log_softmax": lsm}[op]
    g = ag.grad(lambda x: anp.sum(fwd(x) * g0))
    return lambda: g(x0)


def red_numpy(np: Any, shape: tuple, op: str) -> Callable:
    x, G = _red_data(shape, op)
    rows = np.arange(shape[0])

    def step() -> Any:
        if op == "sum":
            _ = (x.sum(1) * G).sum()
            return np.broadcast_to(G[:, None], shape).copy()
        if op == "mean":
            _ = x.mean() * G
            return np.full(shape, G / x.size, np.float32)
        if op == "max":
            idx = x.argmax(1)
            _ = (x[rows, idx] * G).sum()
            d = np.zeros_like(x)
            d[rows, idx] = G
            return d
        s = x - x.max(1, keepdims=True)
        e = np.exp(s)
        se = e.sum(1, keepdims=True)
        if op == "softmax":
            p = e / se
            _ = (p * G).sum()
            return p * (G - (p * G).sum(1, keepdims=True))
        ls = s - np.log(se)
        _ = (ls * G).sum()
        return G - np.exp(ls) * G.sum(1, keepdims=True)
    return step


# start-up: fresh interpreter, import + seed tutorial graph (warm Numba cache)

STARTUP_SRC = {
    "nbgrad": ("import nbgrad as ng\n"
               "ng.manual_seed(0)\n"
               "x, y = ng.ones(5), ng.zeros(3)\n"
               "w = ng.randn(5, 3, requires_grad=True); b = ng.randn(3, requires_grad=True)\n"
               "z = ng.matmul(x, w) + b\n"
               "ng.nn.functional.binary_cross_entropy_with_logits(z, y).backward()\n"
               "assert w.grad is not None and b.grad is not None\n"),
    "torch": ("import torch\n"
              "torch.manual_seed(0)\n"
              "x, y = torch.ones(5), torch.zeros(3)\n"
              "w = torch.randn(5, 3, requires_grad=True); b = torch.randn(3, requires_grad=True)\n"
              "z = torch.matmul(x, w) + b\n"
              "torch.nn.functional.binary_cross_entropy_with_logits(z, y).backward()\n"
              "assert w.grad is not None and b.grad is not None\n"),
}


def startup(mod: Any, name: str) -> Callable | None:
    src = STARTUP_SRC.get(name)
    if src is None:
        return None
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")

    def step() -> None:
        subprocess.run([sys.executable, "-c", src], check=True, env=env, cwd=root,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return step


# --------------------------------------------------------------------------- registry

def case_spec(name: str, quick: bool) -> tuple[str, dict[str, Callable[[Any], Callable | None]]]:
    """Returns (human description, {lib: builder(module) -> step or None})."""
    if name.startswith("mlp_"):
        size = name[4:]
        dims = QUICK_MLP if quick else MLP_SIZES[size]
        desc = f"MLP train step batch {dims[0]}, {dims[1]}->{dims[2]}->{dims[3]}"
        fns = {"nbgrad": mlp_torchlike, "torch": mlp_torchlike, "autograd": mlp_autograd, "numpy": mlp_numpy}
        return desc, {k: (lambda m, f=f: f(m, dims)) for k, f in fns.items()}
    if name == "elementwise":
        n = 4096 if quick else 4 * 1024 * 1024
        fns = {"nbgrad": ew_torchlike, "torch": ew_torchlike, "autograd": ew_autograd, "numpy": ew_numpy}
        return f"((x*w+b).tanh()*x).sigmoid().sum() fwd+bwd, n={n}", \
            {k: (lambda m, f=f: f(m, n)) for k, f in fns.items()}
    if name == "tutorial":
        fns = {"nbgrad": tut_torchlike, "torch": tut_torchlike, "autograd": tut_autograd, "numpy": tut_numpy}
        return "seed tutorial graph (5x3) BCE-with-logits fwd+bwd", \
            {k: (lambda m, f=f: f(m, None)) for k, f in fns.items()}
    if name in GROUPS["reductions"]:
        shape = (64, 32) if quick else (4096, 1024)
        fns = {"nbgrad": red_torchlike, "torch": red_torchlike, "autograd": red_autograd, "numpy": red_numpy}
        what = {"sum": "sum(dim=1)", "mean": "mean()", "max": "max(dim=1)"}.get(name, name + "(dim=1)")
        return f"{what} fwd+bwd on {shape}", \
            {k: (lambda m, f=f: f(m, shape, name)) for k, f in fns.items()}
    if name == "startup":
        return "fresh process: import + seed graph (warm cache)", \
            {k: (lambda m, k=k: startup(m, k)) for k in LIBS}
    raise KeyError(name)


def resolve_cases(spec: str | None, large: bool) -> list[str]:
    if not spec:
        return list(DEFAULT_CASES[:2] + (("mlp_L",) if large else ()) + DEFAULT_CASES[2:])
    out: list[str] = []
    for tok in (t.strip() for t in spec.split(",") if t.strip()):
        names = GROUPS.get(tok) or (tok,)
        if tok == "mlp" and not large:
            names = names[:2]
        for n in names:
            if n not in ALL_CASES:
                raise SystemExit(f"unknown case {n!r}; choose from {', '.join(ALL_CASES + tuple(GROUPS))}")
            if n not in out:
                out.append(n)
    return out


# --------------------------------------------------------------------------- timing

def run_case(name: str, libs: dict, repeats: int, warmup: int, quick: bool, log: Callable = print) -> dict:
    desc, builders = case_spec(name, quick)
    steps: dict[str, Callable] = {}
    res: dict[str, Any] = {"case": name, "description": desc, "libs": {}, "skipped": {}}
    for lib, mod in libs.items():
        try:
            fn = builders[lib](mod)
        except Exception as e:  # noqa: BLE001
            res["skipped"][lib] = f"setup failed: {type(e).__name__}: {e}"
            continue
        if fn is None:
            continue
        try:
            t0 = time.perf_counter()
            fn()
            first = time.perf_counter() - t0
            for _ in range(warmup - 1):
                fn()
        except Exception as e:  # noqa: BLE001
            res["skipped"][lib] = f"run failed: {type(e).__name__}: {e}"
            continue
        steps[lib] = fn
        res["libs"][lib] = {"first_call_s": first, "times_s": []}
    for _ in range(repeats):  # A B C D A B C D ...
        for lib, fn in steps.items():
            t0 = time.perf_counter()
            fn()
            res["libs"][lib]["times_s"].append(time.perf_counter() - t0)
    for lib, r in res["libs"].items():
        ts = r["times_s"]
        r.update(median_s=statistics.median(ts), min_s=min(ts), max_s=max(ts), n=len(ts))
    base = res["libs"].get("nbgrad", {}).get("median_s")
    for r in res["libs"].values():
        r["ratio_to_nbgrad"] = (r["median_s"] / base) if base else None
    for lib, why in res["skipped"].items():
        log(f"  [{name}] {lib}: {why}")
    return res


def fmt_t(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f}us"
    if s < 1:
        return f"{s * 1e3:.2f}ms"
    return f"{s:.3f}s"


def table(results: list[dict], libs: list[str]) -> str:
    head = f"{'case':<12} {'library':<9} {'median':>10} {'min - max':>21} {'x nbgrad':>9} {'first call':>11}"
    lines = [head, "-" * len(head)]
    for res in results:
        for lib in libs:
            r = res["libs"].get(lib)
            if r is None:
                why = res["skipped"].get(lib, "n/a for this case")
                lines.append(f"{res['case']:<12} {lib:<9} {'-':>10}   ({why})")
                continue
            ratio = r["ratio_to_nbgrad"]
            rng = f"{fmt_t(r['min_s'])} - {fmt_t(r['max_s'])}"
            lines.append(f"{res['case']:<12} {lib:<9} {fmt_t(r['median_s']):>10} {rng:>21} "
                         f"{(f'{ratio:.2f}' if ratio else '-'):>9} {fmt_t(r['first_call_s']):>11}")
    return "\n".join(lines)


def slowdowns(results: list[dict]) -> str:
    """nbgrad time / peer time per case (>1: nbgrad slower)."""
    peers = ("torch", "autograd", "numpy")
    lines = [f"{'case':<12} " + " ".join(f"{'nbgrad/' + p:>16}" for p in peers)]
    for res in results:
        nb = res["libs"].get("nbgrad")
        cells = []
        for p in peers:
            r = res["libs"].get(p)
            cells.append(f"{nb['median_s'] / r['median_s']:>16.2f}" if nb and r else f"{'-':>16}")
        lines.append(f"{res['case']:<12} " + " ".join(cells))
    return "\n".join(lines)


def plot(results: list[dict], libs: list[str], path: str) -> str | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    cases = [r["case"] for r in results]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(cases)), 4))
    width = 0.8 / max(1, len(libs))
    for j, lib in enumerate(libs):
        ys = [r["libs"].get(lib, {}).get("ratio_to_nbgrad") or 0 for r in results]
        ax.bar([i + j * width for i in range(len(cases))], ys, width, label=lib)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cases))], cases, rotation=30)
    ax.set_yscale("log")
    ax.set_ylabel("median time / nbgrad median")
    ax.axhline(1, color="k", lw=0.5)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes, 1-2 repeats (for tests / smoke runs)")
    p.add_argument("--cases", default=None,
                   help=f"comma list of cases or groups: {', '.join(ALL_CASES + tuple(GROUPS))}")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per library (default 10, quick 2)")
    p.add_argument("--warmup", type=int, default=None, help="untimed warm-up calls (default 2, quick 1)")
    p.add_argument("--large", action="store_true", help="also run mlp_L (512, 4096->4096->1000)")
    p.add_argument("--libs", default=",".join(LIBS), help="comma list of libraries (default: all)")
    p.add_argument("--threads", type=int, default=None,
                   help="set NUMBA/OMP/OPENBLAS/MKL threads and torch.set_num_threads (default: all cores, "
                        "unless those env vars are already set)")
    p.add_argument("--out", default="bench-results", help="output directory (results.json, results.png)")
    p.add_argument("--no-write", action="store_true", help="do not write files")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    a = parse_args(argv)
    threads = set_threads(a.threads)
    repeats = a.repeats or (2 if a.quick else 10)
    warmup = a.warmup or (1 if a.quick else 2)
    cases = resolve_cases(a.cases, a.large)
    wanted = tuple(x.strip() for x in a.libs.split(",") if x.strip())
    libs, skipped = load_libs(wanted)
    for lib, why in skipped.items():
        print(f"skipping {lib}: not available ({why})")
    info = thread_report(libs)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, load avg {load}; "
          + ", ".join(f"{k}={v}" for k, v in threads.items()))
    print("threads: " + ", ".join(f"{k}={v}" for k, v in info.items() if k not in ("env", "cpu_count")))
    versions = {k: getattr(m, "__version__", None) or _dist_version(k) for k, m in libs.items()}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"repeats={repeats} warmup={warmup} cases={','.join(cases)}"
          + (" (quick sizes)" if a.quick else ""))
    results = []
    for c in cases:
        t0 = time.perf_counter()
        results.append(run_case(c, libs, repeats, warmup, a.quick))
        print(f"  done {c} in {time.perf_counter() - t0:.1f}s", flush=True)
    info["numba.threading_layer"] = _numba_layer(__import__("numba")) if "nbgrad" in libs else None
    order = [lib for lib in LIBS if lib in libs]
    print()
    print(table(results, order))
    print()
    print("slowdown = nbgrad median / peer median (>1 means nbgrad is slower):")
    print(slowdowns(results))
    out = {"meta": {"python": platform.python_version(), "platform": platform.platform(),
                    "threads": info, "versions": versions, "skipped_libs": skipped, "repeats": repeats,
                    "warmup": warmup, "quick": a.quick, "loadavg_start": load,
                    "loadavg_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
           "results": results}
    if not a.no_write:
        os.makedirs(a.out, exist_ok=True)
        jp = os.path.join(a.out, "results.json")
        with open(jp, "w") as f:
            json.dump(out, f, indent=1)
        print(f"\nwrote {jp}")
        png = plot(results, order, os.path.join(a.out, "results.png"))
        print(f"wrote {png}" if png else "no chart: matplotlib not importable")
    return out


if __name__ == "__main__":
    if __package__ in (None, ""):  # `python benches/run.py`
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()

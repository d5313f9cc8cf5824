"""nbgrad benchmark suite: nbgrad vs PyTorch vs HIPS autograd vs hand-written NumPy (CPU, float32).

Run from the repository root:

    python -m benches.run                 # default suite (S and M MLPs, no L)
    python benches/run.py --quick         # tiny sizes, 1-2 repeats (what the tests use)
    python -m benches.run --cases mlp,softmax --repeats 20
    python -m benches.run --large         # adds the L MLP (512, 4096->4096->1000)
    python -m benches.run --threads 4     # NUMBA/OMP/BLAS/torch threads (default: all cores)
    python -m benches.run --baseline-rev HEAD~5   # also time an older nbgrad: before/after in one run

Prints a table (case x library: median, min-max, ratio to nbgrad) and the issue's targets
(met / missed), writes bench-results/results.json, results.md (the table in markdown) and, if
matplotlib is importable, bench-results/results.png. A progress bar goes to stderr.

Cases that are not timed in-process: `startup` / `startup_cold` time a fresh interpreter that
imports the library and runs the seed example (cold: NUMBA_CACHE_DIR points at a new empty
folder each run, so every kernel it needs is compiled); `memory` runs the MLP training step
(L size) in a fresh interpreter per library and reports the peak RSS of the process during two
steps after set-up and one warm-up step, and how much the steps add above the RSS before them
(Linux: VmHWM reset through /proc/self/clear_refs; elsewhere ru_maxrss, which may include
set-up). RSS, not tracemalloc, so torch's own C++ allocations count.

Method: each library builds its own inputs once per case; every library is warmed up
(`--warmup` calls, the first of which is timed separately as `first_call_s`, i.e.
Numba JIT / cache load for nbgrad), then the libraries are timed alternately
A B C D A B C D ... `--repeats` times so drift (thermal, other load) hits all of them alike.
A timed sample of a fast step runs it `number` times in a row (chosen per library after
warm-up so the sample lasts at least 20 ms, as timeit's autorange does) and records the
mean time per call; the medians in the table are medians of those samples.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

LIBS = ("nbgrad", "torch", "autograd", "numpy")
BASELINE = "baseline"  # an older nbgrad (--baseline DIR / --baseline-rev REV) timed in the same run
SPAWNING = ("startup", "startup_cold", "memory")  # cases run in fresh interpreters
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# nbgrad (Numba's omp layer) and torch each bring an OpenMP pool into the same process; with the
# default spin-wait each pool burns the cores the other needs (torch went 10-50x slower on a
# 2-core box when alternated with nbgrad). PASSIVE is the fair setting; override with the env var.
OMP_WAIT_DEFAULT = "PASSIVE"
GROUPS = {
    "mlp": ("mlp_S", "mlp_M", "mlp_L"),
    "reductions": ("sum", "mean", "max", "softmax", "log_softmax"),
    "startup": ("startup", "startup_cold"),
    "index": ("embedding", "gather"),
    "order": ("sort", "topk"),
}
DEFAULT_CASES = ("mlp_S", "mlp_M", "elementwise", "tutorial", "sum", "mean", "max", "softmax",
                 "log_softmax", "startup", "startup_cold", "memory")
# the targets: nbgrad median / peer median at most this (memory: peak step RSS ratio)
TORCH_TARGETS = {"mlp_S": 1.5, "mlp_M": 1.0, "mlp_L": 1.0, "elementwise": 1.0, "tutorial": 1.5,
                 "startup": 1.0, "memory": 1.2, "conv2d": 1.5}
AUTOGRAD_TARGET = 0.5
COLD_START_LIMIT_S = 15.0
ALL_CASES = DEFAULT_CASES[:2] + ("mlp_L",) + DEFAULT_CASES[2:] + ("conv2d", "embedding", "gather")
ALL_CASES += ("cnn_train", "gpt_train")  # the example models (issue 17)
GROUPS["examples"] = ("cnn_train", "gpt_train")
# linear algebra (issue 16): einsum
GROUPS["einsum"] = ("einsum_attention", "einsum_bilinear")
ALL_CASES += GROUPS["einsum"]
ALL_CASES += ("sort", "topk")  # order ops (issue 16)
# a timed sample runs a step `number` times (timeit's autorange) so it lasts at least this long:
# one call of a 100 us step is mostly timer noise and cache misses from the library timed before
MIN_SAMPLE_S = 0.02
MAX_NUMBER = 1000


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


def load_baseline(root: str) -> Any:
    """Import the nbgrad package under root/nbgrad as module `nbgrad_baseline` (nbgrad's own
    imports are relative, so two versions live side by side in one process)."""
    import importlib.util
    init = os.path.join(root, "nbgrad", "__init__.py")
    spec = importlib.util.spec_from_file_location("nbgrad_baseline", init,
                                                  submodule_search_locations=[os.path.dirname(init)])
    if spec is None or spec.loader is None:
        raise ImportError(f"no nbgrad package under {root}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["nbgrad_baseline"] = mod
    spec.loader.exec_module(mod)
    return mod


def checkout_rev(rev: str) -> str:
    """`git archive REV` of this repository into a new temporary folder; returns the folder."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dest = tempfile.mkdtemp(prefix=f"nbgrad-baseline-{rev[:12]}-")
    arch = subprocess.run(["git", "-C", root, "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=arch, check=True)
    return dest


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


MLP_BUILDERS = {"nbgrad": mlp_torchlike, "torch": mlp_torchlike, "autograd": mlp_autograd, "numpy": mlp_numpy}


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


# conv2d (issue 17): F.conv2d(x, w, b, padding=1) forward, then backward of an upstream gradient G
# into w and b (x, the images, takes none), float32; nbgrad and torch only

CONV_SHAPE = (64, 3, 32, 32, 32)  # batch, in channels, height = width, out channels (3x3 kernel)
QUICK_CONV = (2, 3, 8, 8, 4)


def _conv_data(shape: tuple) -> tuple:
    import numpy as np
    n, c, h, _, co = shape
    rng = np.random.default_rng(4)
    f = np.float32
    return (rng.standard_normal((n, c, h, h)).astype(f), rng.standard_normal((co, c, 3, 3)).astype(f),
            rng.standard_normal(co).astype(f), rng.standard_normal((n, co, h, h)).astype(f))


def conv_torchlike(lib: Any, shape: tuple) -> Callable:
    x0, w0, b0, g0 = _conv_data(shape)
    x, G = lib.as_tensor(x0), lib.as_tensor(g0)
    w, b = lib.as_tensor(w0).requires_grad_(), lib.as_tensor(b0).requires_grad_()
    conv = lib.nn.functional.conv2d

    def step() -> None:
        w.grad = b.grad = None
        conv(x, w, b, padding=1).backward(G)
    return step


def conv_numpy(np: Any, shape: tuple) -> Callable:
    """The same step by hand: windows of the padded images (a strided view), tensordot."""
    from numpy.lib.stride_tricks import sliding_window_view
    x, w, b, G = _conv_data(shape)

    def step() -> tuple:
        win = sliding_window_view(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3))
        _y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b[:, None, None]
        return np.tensordot(G, win, axes=([0, 2, 3], [0, 2, 3])), G.sum((0, 2, 3))
    return step


# index ops (issue 16): an embedding-style row gather (index_select) and a dim-1 gather, forward +
# backward with a given upstream gradient (the backward is an index_add / scatter_add)

def _idx_data(name: str, quick: bool) -> tuple:
    import numpy as np
    rng = np.random.default_rng(5)
    if name == "embedding":
        v, d, n = (64, 8, 256) if quick else (10000, 128, 65536)
        x = rng.standard_normal((v, d)).astype(np.float32)
        idx = rng.integers(0, v, n)
        return x, idx, rng.standard_normal((n, d)).astype(np.float32)
    r, c, k = (16, 32, 8) if quick else (4096, 1024, 256)
    x = rng.standard_normal((r, c)).astype(np.float32)
    idx = rng.integers(0, c, (r, k))
    return x, idx, rng.standard_normal((r, k)).astype(np.float32)


def idx_torchlike(lib: Any, name: str, quick: bool) -> Callable:
    x0, i0, g0 = _idx_data(name, quick)
    x, i, G = lib.as_tensor(x0).requires_grad_(), lib.as_tensor(i0), lib.as_tensor(g0)
    fwd = (lambda: x.index_select(0, i)) if name == "embedding" else (lambda: x.gather(1, i))

    def step() -> None:
        x.grad = None
        fwd().backward(G)
    return step


def idx_numpy(np: Any, name: str, quick: bool) -> Callable:
    x, i, G = _idx_data(name, quick)
    rows = np.arange(x.shape[0])[:, None]

    def step() -> Any:
        d = np.zeros_like(x)
        if name == "embedding":
            _ = x[i]
            np.add.at(d, i, G)
        else:
            _ = np.take_along_axis(x, i, 1)
            np.add.at(d, (rows, i), G)
        return d
    return step


# example models (issue 17): one training step (forward, cross-entropy, backward, clipping for the
# GPT, AdamW and the learning-rate schedule) of examples/cnn_digits.py's CNN and
# examples/gpt_chars.py's GPT, small, float32, on fixed random batches; nbgrad and torch only

CNN_TRAIN = (64, 16)  # batch, width (the example's sizes: 1x8x8 digits, 16 and 32 channels)
QUICK_CNN_TRAIN = (4, 4)
GPT_TRAIN = (16, 64, 64, 4, 2, 103)  # batch, block size, embedding, heads, layers, vocabulary (the example's)
QUICK_GPT_TRAIN = (2, 8, 16, 2, 1, 11)
_EXAMPLES: dict[str, Any] = {}


def _example(name: str) -> Any:
    """examples/<name>.py as a module (loaded once)."""
    if name not in _EXAMPLES:
        import importlib.util
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", f"{name}.py")
        spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _EXAMPLES[name] = mod
    return _EXAMPLES[name]


def cnn_train_torchlike(lib: Any, shape: tuple) -> Callable:
    import numpy as np
    b, width = shape
    rng = np.random.default_rng(6)
    X, Y = lib.as_tensor(rng.random((b, 1, 8, 8)).astype(np.float32)), lib.as_tensor(rng.integers(0, 10, b))
    ex = _example("cnn_digits")
    lib.manual_seed(0)
    model = ex.make_model(lib, dropout=0.25, width=width)
    step, _, _ = ex.make_training(lib, model, total_steps=10 ** 7, lr=1e-3, weight_decay=1e-2)
    return lambda: step(X, Y)


def gpt_train_torchlike(lib: Any, shape: tuple) -> Callable:
    import numpy as np
    b, block, embd, heads, layers, vocab = shape
    rng = np.random.default_rng(7)
    ids = rng.integers(0, vocab, (b, block + 1))
    X, Y = lib.as_tensor(ids[:, :-1]), lib.as_tensor(ids[:, 1:])
    ex = _example("gpt_chars")
    lib.manual_seed(0)
    model = ex.make_model(lib, vocab, block, embd, heads, layers, dropout=0.0)
    step = ex.make_training(lib, model, steps=10 ** 7, lr=3e-3, weight_decay=0.1, clip=1.0)

    def one() -> None:
        _, loss = model(X, Y)
        step(loss)
    return one


# einsum (issue 16): attention scores 'bhqd,bhkd->bhqk' and a bilinear form 'bn,anm,bm->ba',
# forward + backward of an upstream gradient G into every operand, float32; nbgrad and torch

EINSUM_CASES = {"einsum_attention": ("bhqd,bhkd->bhqk", ((8, 8, 128, 64), (8, 8, 128, 64)), ((1, 2, 4, 3), (1, 2, 5, 3))),
                "einsum_bilinear": ("bn,anm,bm->ba", ((256, 128), (64, 128, 128), (256, 128)),
                                    ((4, 3), (2, 3, 5), (4, 5)))}


def _einsum_data(name: str, quick: bool) -> tuple:
    import numpy as np
    eq, full, small = EINSUM_CASES[name]
    rng = np.random.default_rng(6)
    shapes = small if quick else full
    lhs, rhs = eq.split("->")
    size = {c: n for term, s in zip(lhs.split(","), shapes) for c, n in zip(term, s)}
    ops = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return eq, ops, rng.standard_normal(tuple(size[c] for c in rhs)).astype(np.float32)


def einsum_torchlike(lib: Any, name: str, quick: bool) -> Callable:
    eq, ops0, g0 = _einsum_data(name, quick)
    ops, G = [lib.as_tensor(a).requires_grad_() for a in ops0], lib.as_tensor(g0)

    def step() -> None:
        for t in ops:
            t.grad = None
        lib.einsum(eq, *ops).backward(G)
    return step


# order ops (issue 16): sort of the rows and their k largest (topk), forward + backward with a given
# upstream gradient (the backward puts it back through the indices)

def _order_data(name: str, quick: bool) -> tuple:
    import numpy as np
    rng = np.random.default_rng(6)
    r, c = (16, 64) if quick else ((1024, 1024) if name == "sort" else (4096, 1024))
    k = c if name == "sort" else (4 if quick else 16)
    return rng.standard_normal((r, c)).astype(np.float32), k, rng.standard_normal((r, k)).astype(np.float32)


def order_torchlike(lib: Any, name: str, quick: bool) -> Callable:
    x0, k, g0 = _order_data(name, quick)
    x, G = lib.as_tensor(x0).requires_grad_(), lib.as_tensor(g0)
    fwd = (lambda: x.sort(dim=1)[0]) if name == "sort" else (lambda: x.topk(k, dim=1)[0])

    def step() -> None:
        x.grad = None
        fwd().backward(G)
    return step


def order_numpy(np: Any, name: str, quick: bool) -> Callable:
    x, k, G = _order_data(name, quick)

    def step() -> Any:
        if name == "sort":
            i = np.argsort(x, 1, kind="stable")
        else:
            i = np.argpartition(-x, k - 1, 1)[:, :k]
            i = np.take_along_axis(i, np.argsort(-np.take_along_axis(x, i, 1), 1, kind="stable"), 1)
        _ = np.take_along_axis(x, i, 1)
        d = np.zeros_like(x)
        np.put_along_axis(d, i, G, 1)
        return d
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


def _child_env() -> tuple[dict, str]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env, root


def startup(mod: Any, name: str, cold: bool = False) -> Callable | None:
    """A fresh interpreter runs STARTUP_SRC[name]; cold: with a new, empty NUMBA_CACHE_DIR."""
    src = STARTUP_SRC.get(name)
    if src is None:
        return None
    env, root = _child_env()

    def step() -> None:
        if cold:
            with tempfile.TemporaryDirectory(prefix="nbgrad-cold-cache-") as d:
                _run_child(src, dict(env, NUMBA_CACHE_DIR=d), root)
        else:
            _run_child(src, env, root)
    return step


def _run_child(src: str, env: dict, cwd: str) -> str:
    p = subprocess.run([sys.executable, "-c", src], env=env, cwd=cwd, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"child exited {p.returncode}: {p.stderr.strip()[-500:]}")
    return p.stdout


# peak memory of one training step, each library in a fresh interpreter

MEM_CHILD = """
import gc, json, resource, sys
from benches import run as B
lib, dims = sys.argv[1], tuple(int(v) for v in sys.argv[2].split(","))
mod = B.load_libs((lib,))[0][lib]
step = B.MLP_BUILDERS[lib](mod, dims)
step()  # warm-up: JIT / cache load, lazily created buffers
gc.collect()
base = B.proc_status_kib().get("VmRSS")
reset = B.reset_peak_rss()
for _ in range(2):
    step()
st = B.proc_status_kib()
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
peak = st.get("VmHWM", maxrss) if reset else maxrss
print(json.dumps({"base_kib": base, "peak_kib": peak, "peak_reset": reset}))
"""


def proc_status_kib() -> dict:
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS", "VmHWM")):
                    k, v = line.split(":")
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def reset_peak_rss() -> bool:
    """Linux >= 4.0: writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return "VmHWM" in proc_status_kib()
    except OSError:
        return False


def memory(mod: Any, name: str, dims: tuple) -> Callable:
    """Returns a callable that measures the step's peak RSS increase (MiB) in a fresh interpreter."""
    env, root = _child_env()
    arg = ",".join(map(str, dims))

    def measure() -> dict:
        p = subprocess.run([sys.executable, "-c", MEM_CHILD, name, arg], env=env, cwd=root,
                           capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError(f"child exited {p.returncode}: {p.stderr.strip()[-500:]}")
        r = json.loads(p.stdout.strip().splitlines()[-1])
        base = r["base_kib"] or 0
        return {"step_mib": max(r["peak_kib"] - base, 0) / 1024, "peak_mib": r["peak_kib"] / 1024,
                "base_mib": base / 1024, "peak_reset": r["peak_reset"]}
    return measure


# --------------------------------------------------------------------------- registry

def case_spec(name: str, quick: bool) -> tuple[str, dict[str, Callable[[Any], Callable | None]]]:
    """Returns (human description, {lib: builder(module) -> step or None}); a baseline nbgrad
    takes part in the in-process cases with nbgrad's builder."""
    desc, builders = _case_spec(name, quick)
    if name not in SPAWNING:
        builders[BASELINE] = builders["nbgrad"]
    return desc, builders


def _case_spec(name: str, quick: bool) -> tuple[str, dict[str, Callable[[Any], Callable | None]]]:
    if name.startswith("mlp_"):
        size = name[4:]
        dims = QUICK_MLP if quick else MLP_SIZES[size]
        desc = f"MLP train step batch {dims[0]}, {dims[1]}->{dims[2]}->{dims[3]}"
        return desc, {k: (lambda m, f=f: f(m, dims)) for k, f in MLP_BUILDERS.items()}
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
    if name == "conv2d":
        shape = QUICK_CONV if quick else CONV_SHAPE
        n, c, h, _, co = shape
        return (f"conv2d fwd+bwd (weight, bias) batch {n}, {c}->{co} channels, {h}x{h}, 3x3 kernel, padding 1",
                {"nbgrad": lambda m: conv_torchlike(m, shape), "torch": lambda m: conv_torchlike(m, shape),
                 "numpy": lambda m: conv_numpy(m, shape)})
    if name == "cnn_train":
        shape = QUICK_CNN_TRAIN if quick else CNN_TRAIN
        return (f"cnn_digits CNN train step (AdamW, OneCycleLR) batch {shape[0]}, 1x8x8, {shape[1]}/{2 * shape[1]} channels",
                {k: (lambda m: cnn_train_torchlike(m, shape)) for k in ("nbgrad", "torch")})
    if name == "gpt_train":
        shape = QUICK_GPT_TRAIN if quick else GPT_TRAIN
        b, block, embd, heads, layers, vocab = shape
        return (f"gpt_chars GPT train step (AdamW, clip, cosine) batch {b}x{block}, {layers} layers, embd {embd}, "
                f"{heads} heads, vocab {vocab}", {k: (lambda m: gpt_train_torchlike(m, shape)) for k in ("nbgrad", "torch")})
    if name in GROUPS["index"]:
        x, i, _ = _idx_data(name, quick)
        what = (f"index_select(0) of {i.size} rows of {x.shape[1]} from {x.shape}" if name == "embedding"
                else f"gather(1) of {i.shape} from {x.shape}")
        fns = {"nbgrad": idx_torchlike, "torch": idx_torchlike, "numpy": idx_numpy}
        return f"{what} fwd+bwd (index_add / scatter_add)", \
            {k: (lambda m, f=f: f(m, name, quick)) for k, f in fns.items()}
    if name in GROUPS["einsum"]:
        eq, ops, _ = _einsum_data(name, quick)
        return (f"einsum('{eq}') of {' and '.join(str(a.shape) for a in ops)} fwd+bwd",
                {k: (lambda m: einsum_torchlike(m, name, quick)) for k in ("nbgrad", "torch")})
    if name in GROUPS["order"]:
        x, k, _ = _order_data(name, quick)
        what = f"sort(dim=1) of {x.shape}" if name == "sort" else f"topk({k}, dim=1) of {x.shape}"
        fns = {"nbgrad": order_torchlike, "torch": order_torchlike, "numpy": order_numpy}
        return f"{what} fwd+bwd (float32)", {k_: (lambda m, f=f: f(m, name, quick)) for k_, f in fns.items()}
    if name in ("startup", "startup_cold"):
        cold = name == "startup_cold"
        desc = "fresh process: import + seed graph, " + ("empty Numba cache" if cold else "warm cache")
        return desc, {k: (lambda m, k=k: startup(m, k, cold)) for k in LIBS}
    if name == "memory":
        dims = QUICK_MLP if quick else MLP_SIZES["L"]
        return (f"peak RSS (MiB) of a fresh process during the MLP train step {dims[0]}, {dims[1]}->{dims[2]}->{dims[3]}",
                {k: (lambda m, k=k: memory(m, k, dims)) for k in LIBS})
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


# --------------------------------------------------------------------------- progress

class Progress:
    """A one-line text progress bar on stderr (redrawn in place on a terminal, else one line per case)."""

    def __init__(self, total: int, stream: Any = None, width: int = 30) -> None:
        self.total, self.done, self.width = max(total, 1), 0, width
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()

    def tick(self, label: str, n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        if self.tty:
            self._draw(label, "\r")

    def line(self, label: str) -> None:
        """Always printed: the start of a case."""
        self._draw(label, "\r" if self.tty else "")
        if not self.tty:
            self.stream.write("\n")

    def _draw(self, label: str, lead: str) -> None:
        k = int(self.width * self.done / self.total)
        el = time.perf_counter() - self.t0
        self.stream.write(f"{lead}[{'#' * k}{'.' * (self.width - k)}] {100 * self.done // self.total:3d}% "
                          f"{el:6.1f}s {label[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()


def case_units(name: str, n_libs: int, repeats: int, warmup: int) -> int:
    """How many progress ticks a case takes."""
    if name == "memory":
        return n_libs
    return n_libs * (warmup + _case_repeats(name, repeats))


def _case_repeats(name: str, repeats: int) -> int:
    # each cold start-up compiles every kernel it needs: a few of those are enough
    return min(repeats, 5) if name == "startup_cold" else repeats


# --------------------------------------------------------------------------- timing

def _summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def _autorange(fn: Callable, quick: bool) -> int:
    """How many calls of `fn` make one timed sample last MIN_SAMPLE_S (1 for slow steps)."""
    if quick:
        return 1
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return max(1, min(MAX_NUMBER, int(MIN_SAMPLE_S / one) + 1)) if one < MIN_SAMPLE_S else 1


def run_case(name: str, libs: dict, repeats: int, warmup: int, quick: bool, log: Callable = print,
             progress: Progress | None = None) -> dict:
    """Times one case. Libraries are warmed up, then timed alternately A B C D A B C D ...;
    res["order"] records the library of every timed call in the order they ran."""
    desc, builders = case_spec(name, quick)
    tick = progress.tick if progress else (lambda *a, **k: None)
    steps: dict[str, Callable] = {}
    unit = "MiB" if name == "memory" else "s"
    res: dict[str, Any] = {"case": name, "description": desc, "unit": unit, "libs": {}, "skipped": {},
                           "order": []}
    for lib, mod in libs.items():
        if lib not in builders:  # e.g. a baseline nbgrad in a fresh-interpreter case
            continue
        try:
            fn = builders[lib](mod)
        except Exception as e:  # noqa: BLE001
            res["skipped"][lib] = f"setup failed: {type(e).__name__}: {e}"
            continue
        if fn is None:
            continue
        steps[lib] = fn
        res["libs"][lib] = {"values": []}
    if name == "memory":  # one fresh interpreter per library; RSS figures do not need repeats
        for lib, fn in steps.items():
            try:
                m = fn()
            except Exception as e:  # noqa: BLE001
                res["skipped"][lib] = f"run failed: {type(e).__name__}: {e}"
                continue
            finally:
                tick(f"{name} {lib}")
            res["order"].append(lib)
            res["libs"][lib].update(values=[m["peak_mib"]], **m)
    else:
        for lib, fn in list(steps.items()):
            try:
                t0 = time.perf_counter()
                fn()
                res["libs"][lib]["first_call_s"] = time.perf_counter() - t0
                tick(f"{name} {lib} warm-up")
                for _ in range(warmup - 1):
                    fn()
                    tick(f"{name} {lib} warm-up")
            except Exception as e:  # noqa: BLE001
                res["skipped"][lib] = f"run failed: {type(e).__name__}: {e}"
                del steps[lib]
        number = {lib: _autorange(fn, quick) for lib, fn in steps.items()}
        for lib, n in number.items():
            res["libs"][lib]["number"] = n
        for i in range(_case_repeats(name, repeats)):  # A B C D A B C D ...
            for lib, fn in steps.items():
                n = number[lib]
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                res["libs"][lib]["values"].append((time.perf_counter() - t0) / n)
                res["order"].append(lib)
                tick(f"{name} {lib} {i + 1}/{_case_repeats(name, repeats)}")
    for lib in list(res["libs"]):
        if lib in res["skipped"] or not res["libs"][lib]["values"]:
            del res["libs"][lib]
            continue
        res["libs"][lib].update(_summary(res["libs"][lib]["values"]))
    base = res["libs"].get("nbgrad", {}).get("median")
    for r in res["libs"].values():
        r["ratio_to_nbgrad"] = (r["median"] / base) if base else None
    for lib, why in res["skipped"].items():
        log(f"  [{name}] {lib}: {why}")
    return res


def is_alternating(order: list[str]) -> bool:
    """True when the timed calls ran as A B C A B C ... (every round has each library once, same order)."""
    libs = list(dict.fromkeys(order))
    k = len(libs)
    return bool(k) and len(order) % k == 0 and all(order[i] == libs[i % k] for i in range(len(order)))


def fmt_v(v: float, unit: str) -> str:
    if unit == "MiB":
        return f"{v:.0f}MiB" if v >= 10 else f"{v:.1f}MiB"
    if v < 1e-3:
        return f"{v * 1e6:.1f}us"
    if v < 1:
        return f"{v * 1e3:.2f}ms"
    return f"{v:.3f}s"


def fmt_t(s: float) -> str:
    return fmt_v(s, "s")


def table(results: list[dict], libs: list[str]) -> str:
    head = f"{'case':<12} {'library':<9} {'median':>10} {'min - max':>21} {'x nbgrad':>9} {'first call':>11}"
    lines = [head, "-" * len(head)]
    for res in results:
        u = res["unit"]
        for lib in libs:
            r = res["libs"].get(lib)
            if r is None:
                why = res["skipped"].get(lib, "n/a for this case")
                lines.append(f"{res['case']:<12} {lib:<9} {'-':>10}   ({why})")
                continue
            ratio = r["ratio_to_nbgrad"]
            rng = f"{fmt_v(r['min'], u)} - {fmt_v(r['max'], u)}"
            extra = fmt_t(r["first_call_s"]) if "first_call_s" in r else (
                f"step +{fmt_v(r['step_mib'], u)}" if "step_mib" in r else "")
            lines.append(f"{res['case']:<12} {lib:<9} {fmt_v(r['median'], u):>10} {rng:>21} "
                         f"{(f'{ratio:.2f}' if ratio else '-'):>9} {extra:>11}")
    return "\n".join(lines)


PEERS = ("torch", "autograd", "numpy")


def _peers(results: list[dict]) -> tuple[str, ...]:
    """The peers to compare nbgrad with; a baseline nbgrad last (its ratio is the speed-up)."""
    base = any(BASELINE in r["libs"] for r in results)
    return PEERS + ((BASELINE,) if base else ())


def _slowdown(res: dict, peer: str) -> float | None:
    nb, r = res["libs"].get("nbgrad"), res["libs"].get(peer)
    return nb["median"] / r["median"] if nb and r and r["median"] else None


def slowdowns(results: list[dict]) -> str:
    """nbgrad time / peer time per case (>1: nbgrad slower)."""
    peers = _peers(results)
    lines = [f"{'case':<12} " + " ".join(f"{'nbgrad/' + p:>16}" for p in peers)]
    for res in results:
        cells = [_slowdown(res, p) for p in peers]
        lines.append(f"{res['case']:<12} " + " ".join(f"{c:>16.2f}" if c is not None else f"{'-':>16}"
                                                       for c in cells))
    return "\n".join(lines)


def targets(results: list[dict]) -> list[dict]:
    """The issue's targets, each with the measured figure and whether it is met."""
    out = []
    for res in results:
        c = res["case"]
        if c == "startup_cold":
            nb = res["libs"].get("nbgrad")
            if nb:
                out.append({"case": c, "what": "nbgrad first run, empty Numba cache (s)", "limit": COLD_START_LIMIT_S,
                            "value": nb["max"], "met": nb["max"] < COLD_START_LIMIT_S})
            continue
        if c in TORCH_TARGETS and (v := _slowdown(res, "torch")) is not None:
            what = "peak RSS, nbgrad / torch" if c == "memory" else "nbgrad / torch"
            out.append({"case": c, "what": what, "limit": TORCH_TARGETS[c], "value": v, "met": v <= TORCH_TARGETS[c]})
        if c == "memory":
            nb, tr = res["libs"].get("nbgrad"), res["libs"].get("torch")
            if nb and tr and tr["step_mib"]:
                v = nb["step_mib"] / tr["step_mib"]
                out.append({"case": c, "what": "RSS added by the step, nbgrad / torch", "limit": TORCH_TARGETS[c],
                            "value": v, "met": v <= TORCH_TARGETS[c]})
            continue
        if (v := _slowdown(res, "autograd")) is not None:
            out.append({"case": c, "what": "nbgrad / autograd", "limit": AUTOGRAD_TARGET, "value": v,
                        "met": v <= AUTOGRAD_TARGET})
    return out


def targets_text(ts: list[dict]) -> str:
    return "\n".join(f"{'met   ' if t['met'] else 'MISSED'} {t['case']:<12} {t['what']:<42} "
                     f"{t['value']:8.2f} (target {'<' if t['case'] == 'startup_cold' else '<='} {t['limit']})"
                     for t in ts)


def markdown(results: list[dict], libs: list[str]) -> str:
    """One row per case: each library's median, and nbgrad's ratio to each peer."""
    peers = [p for p in _peers(results) if p in libs]
    head = ["case"] + list(libs) + [f"nbgrad / {p}" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for res in results:
        u = res["unit"]
        cells = [res["case"]]
        for lib in libs:
            r = res["libs"].get(lib)
            cells.append(fmt_v(r["median"], u) if r else "-")
        for p in peers:
            v = _slowdown(res, p)
            cells.append(f"{v:.2f}" if v is not None else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: list[dict], libs: list[str], path: str) -> str | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    cases = [r["case"] for r in results]
    fig, ax = plt.subplots(figsize=(max(6, 1.0 * len(cases) + 2), 4.5))
    width = 0.8 / max(1, len(libs))
    for j, lib in enumerate(libs):
        ys = [r["libs"].get(lib, {}).get("ratio_to_nbgrad") or 0 for r in results]
        ax.bar([i + j * width for i in range(len(cases))], ys, width, label=lib)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cases))], cases, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("peer median / nbgrad median (>1: nbgrad ahead)")
    ax.set_title("nbgrad vs peers, CPU float32 (memory: peak RSS of the step)")
    ax.axhline(1, color="k", lw=0.5)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
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
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--baseline", default=None, metavar="DIR",
                   help="also time the nbgrad under DIR (an older checkout) as library 'baseline', "
                        "alternating with the others: before/after figures from one run")
    p.add_argument("--baseline-rev", default=None, metavar="REV",
                   help="like --baseline, with a `git archive` of REV of this repository")
    return p.parse_args(argv)


def limit_blas(n: int | None) -> Any:
    """With threadpoolctl, also cap BLAS / OpenMP pools already loaded (numpy's OpenBLAS, torch's)."""
    if n is None:
        return None
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl.threadpool_limits(n)


def main(argv: list[str] | None = None) -> dict:
    a = parse_args(argv)
    threads = set_threads(a.threads)
    repeats = a.repeats or (2 if a.quick else 10)
    warmup = a.warmup or (1 if a.quick else 2)
    cases = resolve_cases(a.cases, a.large)
    wanted = tuple(x.strip() for x in a.libs.split(",") if x.strip())
    libs, skipped = load_libs(wanted)
    base_dir = checkout_rev(a.baseline_rev) if a.baseline_rev else a.baseline
    if base_dir:
        try:
            libs[BASELINE] = load_baseline(base_dir)
            print(f"baseline: nbgrad from {base_dir}" + (f" (git {a.baseline_rev})" if a.baseline_rev else ""))
        except Exception as e:  # noqa: BLE001
            skipped[BASELINE] = f"{type(e).__name__}: {e}"
    for lib, why in skipped.items():
        print(f"skipping {lib}: not available ({why})")
    limits = limit_blas(a.threads)
    info = thread_report(libs)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, load avg {load}; "
          + ", ".join(f"{k}={v}" for k, v in threads.items()))
    if load and load[0] > 0.5 * (os.cpu_count() or 1):
        print(f"warning: the machine is busy (load average {load[0]:.1f} on {os.cpu_count()} CPUs): timings are "
              "noisy, and multi-threaded kernels and BLAS suffer most")
    print("threads: " + ", ".join(f"{k}={v}" for k, v in info.items() if k not in ("env", "cpu_count")))
    versions = {k: getattr(m, "__version__", None) or _dist_version(k) for k, m in libs.items()}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"repeats={repeats} warmup={warmup} cases={','.join(cases)}"
          + (" (quick sizes)" if a.quick else ""), flush=True)
    progress = None if a.no_progress else Progress(sum(case_units(c, len(libs), repeats, warmup) for c in cases))
    results = []
    for c in cases:
        t0 = time.perf_counter()
        if progress:
            progress.line(f"{c} ...")
        res = run_case(c, libs, repeats, warmup, a.quick, progress=progress)
        res["seconds"] = time.perf_counter() - t0
        res["alternating"] = is_alternating(res["order"])
        results.append(res)
    if progress:
        progress.close()
    if limits is not None:
        limits.restore_original_limits()
    info["numba.threading_layer"] = _numba_layer(__import__("numba")) if "nbgrad" in libs else None
    order = [lib for lib in LIBS + (BASELINE,) if lib in libs]
    print()
    print(table(results, order))
    print()
    print("slowdown = nbgrad median / peer median (>1 means nbgrad is slower):")
    print(slowdowns(results))
    ts = targets(results)
    if ts:
        print("\ntargets (issue 5)" + (": quick sizes, not comparable to the targets" if a.quick else ":"))
        print(targets_text(ts))
    bad = [r["case"] for r in results if not r["alternating"] and len(r["libs"]) > 1]
    print("\nruns alternated A B A B after warm-up: " + ("yes" if not bad else f"NO in {', '.join(bad)}"))
    out = {"meta": {"python": platform.python_version(), "platform": platform.platform(),
                    "threads": info, "versions": versions, "skipped_libs": skipped, "repeats": repeats,
                    "warmup": warmup, "quick": a.quick, "loadavg_start": load,
                    "loadavg_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
           "results": results, "targets": ts}
    if not a.no_write:
        os.makedirs(a.out, exist_ok=True)
        jp = os.path.join(a.out, "results.json")
        with open(jp, "w") as f:
            json.dump(out, f, indent=1)
        print(f"\nwrote {jp}")
        mp = os.path.join(a.out, "results.md")
        with open(mp, "w") as f:
            f.write(markdown(results, order) + "\n")
        print(f"wrote {mp}")
        png = plot(results, order, os.path.join(a.out, "results.png"))
        print(f"wrote {png}" if png else "no chart: matplotlib is not installed (pip install matplotlib)")
    return out


if __name__ == "__main__":
    if __package__ in (None, ""):  # `python benches/run.py`
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()

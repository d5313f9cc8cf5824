"""Numba CPU kernels. Elementwise math is written once as scalar expressions
(ELEMENTWISE) and lifted into serial and parallel map kernels over flat,
contiguous arrays; reductions and row kernels (softmax) are written by hand."""

from __future__ import annotations

import math

import numpy as np

from ._numba_setup import ensure_cache_dir

ensure_cache_dir()

from numba import njit, prange  # noqa: E402

# name -> (number of operands, scalar expression in a, b, c, d).
# Forward ops first, then the local derivatives their backward passes use.
ELEMENTWISE: dict[str, tuple[int, str]] = {
    "neg": (1, "-a"),
    "exp": (1, "math.exp(a)"),
    "log": (1, "math.log(a)"),
    "sqrt": (1, "math.sqrt(a)"),
    "abs": (1, "abs(a)"),
    "sin": (1, "math.sin(a)"),
    "cos": (1, "math.cos(a)"),
    "tanh": (1, "math.tanh(a)"),
    "sigmoid": (1, "1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))"),
    "relu": (1, "a if a > 0 else a * 0"),
    "add": (2, "a + b"),
    "sub": (2, "a - b"),
    "mul": (2, "a * b"),
    "div": (2, "a / b"),
    "pow": (2, "a ** b"),
    "maximum": (2, "a if a >= b or a != a else b"),
    "minimum": (2, "a if a <= b or a != a else b"),
    "eq": (2, "a == b"),
    "ne": (2, "a != b"),
    "lt": (2, "a < b"),
    "le": (2, "a <= b"),
    "gt": (2, "a > b"),
    "ge": (2, "a >= b"),
    "where": (3, "b if a else c"),
    "clamp": (3, "(b if a < b else (c if a > c else a)) if a == a else a"),
    # backward helpers: g is the upstream gradient
    "tanh_bw": (2, "a * (1 - b * b)"),  # g, y
    "sigmoid_bw": (2, "a * b * (1 - b)"),  # g, y
    "relu_bw": (2, "a if b > 0 else a * 0"),  # g, y
    "abs_bw": (2, "a * (1 if b > 0 else (-1 if b < 0 else 0))"),  # g, x
    "sqrt_bw": (2, "a / (2 * b)"),  # g, y
    "sin_bw": (2, "a * math.cos(b)"),  # g, x
    "cos_bw": (2, "-a * math.sin(b)"),  # g, x
    "pow_bw_base": (3, "a * c * b ** (c - 1) if c != 0 else a * 0"),  # g, x, p
    "pow_bw_exp": (3, "a * b * math.log(c) if not (c == 0 and b == 0) else a * 0"),  # g, y, x
    "max_bw_a": (3, "a if b > c else (a / 2 if b == c else a * 0)"),  # g, x, other
    "clamp_bw": (4, "a if (b >= c and b <= d) else a * 0"),  # g, x, lo, hi
    "bce_logits": (2, "max(a, 0) - a * b + math.log1p(math.exp(-abs(a)))"),  # x, y
    "bce_logits_bw": (3, "a * ((1.0 / (1.0 + math.exp(-b)) if b >= 0 else math.exp(b) / (1.0 + math.exp(b))) - c)"),
    "bce": (2, "-(b * max(math.log(a), -100.0) + (1 - b) * max(math.log1p(-a), -100.0))"),  # p, y
    "bce_bw": (3, "a * (b - c) / max((1 - b) * b, 1e-12)"),  # g, p, y
    "bce_logits_tgt_bw": (2, "-a * b"),  # g, x
    "bce_tgt_bw": (2, "a * (max(math.log1p(-b), -100.0) - max(math.log(b), -100.0))"),  # g, p
}

_ARGS = "abcd"


def _make_map(name: str, nargs: int, expr: str, parallel: bool):
    args = ", ".join(_ARGS[:nargs])
    loads = "; ".join(f"{v} = {v}_[i]" for v in _ARGS[:nargs])
    src = (
        f"def k_{name}({', '.join(v + '_' for v in _ARGS[:nargs])}, out):\n"
        f"    for i in prange(out.size):\n"
        f"        {loads}\n"
        f"        out[i] = {expr}\n"
    )
    del args
    ns: dict = {"math": math, "prange": prange}
    exec(compile(src, f"<nbgrad kernel {name}>", "exec"), ns)  # noqa: S102
    return njit(fastmath=False, parallel=parallel, nogil=True, error_model="numpy")(ns[f"k_{name}"])


_MAPS: dict[tuple[str, bool], object] = {}

# below this many elements a kernel runs serially: measured on 2 cores, a parallel
# mul broke even with serial at about 65536 float32 elements
PARALLEL_THRESHOLD = 65536


def elementwise(name: str, operands: list[np.ndarray], out: np.ndarray) -> None:
    """Run ELEMENTWISE[name] over flat contiguous operands of out's size."""
    par = out.size >= PARALLEL_THRESHOLD
    k = _MAPS.get((name, par))
    if k is None:
        nargs, expr = ELEMENTWISE[name]
        k = _MAPS[(name, par)] = _make_map(name, nargs, expr, par)
    k(*operands, out)  # type: ignore[operator]


# ---- reductions over the middle axis of a (A, K, B) contiguous array ----

@njit(cache=True, nogil=True)
def _sum_mid_s(x, out):
    A, K, B = x.shape
    for i in range(A):
        for j in range(B):
            out[i, j] = 0
        for k in range(K):
            for j in range(B):
                out[i, j] += x[i, k, j]


@njit(cache=True, nogil=True, parallel=True)
def _sum_mid_p(x, out):
    A, K, B = x.shape
    if A >= B:
        for i in prange(A):
            for j in range(B):
                out[i, j] = 0
            for k in range(K):
                for j in range(B):
                    out[i, j] += x[i, k, j]
    else:
        for j in prange(B):
            for i in range(A):
                acc = out[i, j] * 0
                for k in range(K):
                    acc += x[i, k, j]
                out[i, j] = acc


@njit(cache=True, nogil=True)
def _argext_mid(x, vals, idx, want_max):
    """max/min with indices over the middle axis; NaN wins as in PyTorch."""
    A, K, B = x.shape
    for i in range(A):
        for j in range(B):
            best = x[i, 0, j]
            bi = 0
            for k in range(1, K):
                v = x[i, k, j]
                if best != best:
                    break
                if v != v or (want_max and v > best) or ((not want_max) and v < best):
                    best = v
                    bi = k
            vals[i, j] = best
            idx[i, j] = bi


def reduce_sum(x3: np.ndarray, out: np.ndarray) -> None:
    (_sum_mid_p if x3.size >= PARALLEL_THRESHOLD else _sum_mid_s)(x3, out)


def reduce_argext(x3: np.ndarray, vals: np.ndarray, idx: np.ndarray, want_max: bool) -> None:
    _argext_mid(x3, vals, idx, want_max)


# ---- row kernels on (M, K) contiguous arrays ----

@njit(cache=True, nogil=True, parallel=True)
def _softmax_rows(x, out, log):
    M, K = x.shape
    for i in prange(M):
        m = x[i, 0]
        for k in range(1, K):
            if x[i, k] > m:
                m = x[i, k]
        s = 0.0
        for k in range(K):
            s += math.exp(x[i, k] - m)
        if log:
            ls = math.log(s) + m
            for k in range(K):
                out[i, k] = x[i, k] - ls
        else:
            for k in range(K):
                out[i, k] = math.exp(x[i, k] - m) / s


@njit(cache=True, nogil=True, parallel=True)
def _softmax_rows_bw(y, g, out, log):
    M, K = y.shape
    for i in prange(M):
        s = 0.0
        if log:
            for k in range(K):
                s += g[i, k]
            for k in range(K):
                out[i, k] = g[i, k] - math.exp(y[i, k]) * s
        else:
            for k in range(K):
                s += g[i, k] * y[i, k]
            for k in range(K):
                out[i, k] = y[i, k] * (g[i, k] - s)


@njit(cache=True, nogil=True, parallel=True)
def _logsumexp_rows(x, out):
    M, K = x.shape
    for i in prange(M):
        m = x[i, 0]
        for k in range(1, K):
            if x[i, k] > m:
                m = x[i, k]
        if math.isinf(m):
            out[i] = m
            continue
        s = 0.0
        for k in range(K):
            s += math.exp(x[i, k] - m)
        out[i] = math.log(s) + m


def softmax_rows(x2: np.ndarray, out: np.ndarray, log: bool) -> None:
    _softmax_rows(x2, out, log)


def softmax_rows_backward(y2: np.ndarray, g2: np.ndarray, out: np.ndarray, log: bool) -> None:
    _softmax_rows_bw(y2, g2, out, log)


def logsumexp_rows(x2: np.ndarray, out: np.ndarray) -> None:
    _logsumexp_rows(x2, out)


# ---- gather / scatter for indexing and nll_loss ----

@njit(cache=True, nogil=True)
def _scatter_add_flat(dst, idx, src):
    for i in range(idx.size):
        dst[idx[i]] += src[i]


def scatter_add_flat(dst: np.ndarray, idx: np.ndarray, src: np.ndarray) -> None:
    _scatter_add_flat(dst, idx, src)

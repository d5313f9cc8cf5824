"""Module-level tape: the scalar graph lives in flat arrays, Values are thin handles.

Nodes are appended to Python lists (cheap) and flushed into numpy arrays before
a Numba kernel runs. Indices increase with creation, so tape order is a
topological order and every operand index is smaller than its node's index.

Reclamation: every handle is kept in ``Tape.handles``; when the tape grows past
``limit`` a compaction keeps only nodes referenced by a handle that is still
referenced elsewhere (``sys.getrefcount``) plus their ancestors, renumbers them
(order preserved) and rewrites the surviving handles' indices.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

LEAF, ADD, MUL, POW, RELU, TANH, EXP, LOG, SIGMOID = range(9)
OP_NAMES = {LEAF: "", ADD: "+", MUL: "*", POW: "**", RELU: "ReLU", TANH: "tanh", EXP: "exp", LOG: "log",
            SIGMOID: "sigmoid"}
BACKWARD_NAMES = {LEAF: "AccumulateGrad", ADD: "AddBackward0", MUL: "MulBackward0", POW: "PowBackward0",
                  RELU: "ReluBackward0", TANH: "TanhBackward0", EXP: "ExpBackward0", LOG: "LogBackward0",
                  SIGMOID: "SigmoidBackward0"}
NARGS = {LEAF: 0, ADD: 2, MUL: 2, POW: 1, RELU: 1, TANH: 1, EXP: 1, LOG: 1, SIGMOID: 1}


@njit(cache=True, inline="always")
def local_backward(o, i, x, y, val, const, grad, g):
    """Add node i's local derivative times its gradient g into its operands x, y."""
    if o == 1:
        grad[x] += g
        grad[y] += g
    elif o == 2:
        grad[x] += val[y] * g
        grad[y] += val[x] * g
    elif o == 3:
        c = const[i]
        grad[x] += (c * val[x] ** (c - 1.0)) * g
    elif o == 4:
        grad[x] += (1.0 if val[i] > 0 else 0.0) * g
    elif o == 5:
        t = val[i]
        grad[x] += (1.0 - t * t) * g
    elif o == 6:
        grad[x] += val[i] * g
    elif o == 7:
        grad[x] += g / val[x]
    elif o == 8:
        s = val[i]
        grad[x] += s * (1.0 - s) * g


@njit(cache=True)
def _backward_kernel(op, a, b, val, const, grad, root):
    # Single reverse sweep: operands always have smaller indices, so a node's
    # gradient is complete when the sweep reaches it.
    mark = np.zeros(root + 1, dtype=np.bool_)
    mark[root] = True
    grad[root] = 1.0
    for i in range(root, -1, -1):
        if not mark[i]:
            continue
        o = op[i]
        if o == 0:
            continue
        g = grad[i]
        x = a[i]
        mark[x] = True
        if o == 1 or o == 2:
            mark[b[i]] = True
        local_backward(o, i, x, b[i], val, const, grad, g)


@njit(cache=True)
def _compact_plan(op, a, b, keep, n):
    # keep: bool[n] seeded with live handles; extend to ancestors, return new index map (-1 = dropped)
    for i in range(n - 1, -1, -1):
        if keep[i]:
            o = op[i]
            if o != 0:
                keep[a[i]] = True
                if o == 1 or o == 2:
                    keep[b[i]] = True
    newidx = np.full(n, -1, dtype=np.int64)
    k = 0
    for i in range(n):
        if keep[i]:
            newidx[i] = k
            k += 1
    return newidx, k


class Tape:
    def __init__(self, capacity: int = 1 << 12, limit: int = 1 << 17):
        self.op = np.zeros(capacity, np.int8)
        self.a = np.zeros(capacity, np.int64)
        self.b = np.zeros(capacity, np.int64)
        self.val = np.zeros(capacity, np.float64)
        self.const = np.zeros(capacity, np.float64)
        self.grad = np.zeros(capacity, np.float64)
        self.base = 0  # nodes [0, base) are in the arrays
        self.n = 0
        # pending nodes [base, n)
        self.p_op: list[int] = []
        self.p_a: list[int] = []
        self.p_b: list[int] = []
        self.p_val: list[float] = []
        self.p_const: list[float] = []
        self.handles: list = []
        self.min_limit = limit
        self.limit = limit
        self.compactions = 0

    def _grow(self, need: int) -> None:
        cap = len(self.op)
        if need <= cap:
            return
        while cap < need:
            cap *= 2
        for name in ("op", "a", "b", "val", "const", "grad"):
            old = getattr(self, name)
            new = np.zeros(cap, old.dtype)
            new[: self.base] = old[: self.base]
            setattr(self, name, new)

    def flush(self) -> None:
        k = len(self.p_op)
        if not k:
            return
        s, e = self.base, self.base + k
        self._grow(e)
        self.op[s:e] = self.p_op
        self.a[s:e] = self.p_a
        self.b[s:e] = self.p_b
        self.val[s:e] = self.p_val
        self.const[s:e] = self.p_const
        self.grad[s:e] = 0.0
        self.base = e
        for lst in (self.p_op, self.p_a, self.p_b, self.p_val, self.p_const):
            lst.clear()

    # element access (slot may be pending or flushed)
    def get_val(self, i):
        return float(self.val[i]) if i < self.base else self.p_val[i - self.base]

    def set_val(self, i, v):
        if i < self.base:
            self.val[i] = v
        else:
            self.p_val[i - self.base] = v

    def get_grad(self, i):
        return float(self.grad[i]) if i < self.base else 0.0

    def set_grad(self, i, g):
        if i >= self.base:
            if g == 0:
                return
            self.flush()
        self.grad[i] = g

    def node(self, i):
        self.flush()
        return int(self.op[i]), int(self.a[i]), int(self.b[i]), float(self.const[i])

    def backward(self, root: int) -> None:
        self.flush()
        _backward_kernel(self.op, self.a, self.b, self.val, self.const, self.grad, root)

    def maybe_compact(self) -> None:
        if self.n >= self.limit:
            self.compact()

    def compact(self) -> None:
        self.flush()
        n = self.n
        keep = np.zeros(n, np.bool_)
        alive = []
        getrc = sys.getrefcount
        for h in self.handles:
            # references: self.handles, loop variable, getrefcount argument
            if getrc(h) > 3:
                alive.append(h)
                keep[h._i] = True
        newidx, k = _compact_plan(self.op, self.a, self.b, keep, n)
        sel = np.flatnonzero(keep)
        op = self.op[sel]
        a = self.a[sel]
        b = self.b[sel]
        nz = op != 0
        a = np.where(nz, newidx[a], 0)
        two = (op == ADD) | (op == MUL)
        b = np.where(two, newidx[b], 0)
        self.op[:k] = op
        self.a[:k] = a
        self.b[:k] = b
        self.val[:k] = self.val[sel]
        self.const[:k] = self.const[sel]
        self.grad[:k] = self.grad[sel]
        self.op[k:n] = 0
        self.base = self.n = k
        for h in alive:
            h._i = int(newidx[h._i])
        self.handles = alive
        self.limit = max(self.min_limit, 2 * k)
        self.compactions += 1


TAPE = Tape()


def reset_tape(capacity: int = 1 << 12, limit: int = 1 << 17) -> None:
    """Start a fresh tape (existing Values become invalid). Mostly for tests."""
    global TAPE
    TAPE = Tape(capacity, limit)
    from . import engine
    engine._set_tape(TAPE)

"""Module-level tape: the scalar graph lives in flat arrays, Values are thin handles.

Nodes are appended to Python lists (cheap) and flushed into numpy arrays before
a Numba kernel runs. Indices increase with creation, so tape order is a
topological order and every operand index is smaller than its node's index.

Reclamation: the tape keeps no reference to its handles, so a Value that Python
drops is freed at once (no promotion into old GC generations, no cycles). When
the tape grows past ``limit``, a compaction finds the live handles with
``gc.get_objects()`` (a Value is always tracked by the cyclic GC), keeps their
nodes plus their ancestors, renumbers them (order preserved) and rewrites the
handles' indices. Values hidden from gc.get_objects() by gc.freeze() are covered by
a floor of nodes that are never moved (see Tape.compact). Not thread-safe: one
thread builds and runs a tape at a time.
"""

from __future__ import annotations

import gc
import itertools
import math

import numpy as np
from numba import njit

LEAF, ADD, MUL, POW, RELU, TANH, EXP, LOG, SIGMOID = range(9)
OP_NAMES = {LEAF: "", ADD: "+", MUL: "*", POW: "**", RELU: "ReLU", TANH: "tanh", EXP: "exp", LOG: "log",
            SIGMOID: "sigmoid"}
BACKWARD_NAMES = {LEAF: "AccumulateGrad", ADD: "AddBackward0", MUL: "MulBackward0", POW: "PowBackward0",
                  RELU: "ReluBackward0", TANH: "TanhBackward0", EXP: "ExpBackward0", LOG: "LogBackward0",
                  SIGMOID: "SigmoidBackward0"}
NARGS = {LEAF: 0, ADD: 2, MUL: 2, POW: 1, RELU: 1, TANH: 1, EXP: 1, LOG: 1, SIGMOID: 1}


# The math of every op, written once: op_forward and local_grads. Both kernels below
# (eager backward, compiled replay) call them with plain floats. Rules, measured on
# the micrograd demo program (65,818 nodes):
# - never pass the arrays to a per-node helper: Numba then increfs/decrefs each
#   array on every node (6 atomic refcount calls per node; replay 0.18 -> 2.1 ms);
# - call them with a literal op code for ADD and MUL (the hot ops) so LLVM folds the
#   switch away after inlining; a call with a run-time op code there costs 5-15%;
# - keep both kernels in this file: Numba's cache is keyed on the kernel's own file,
#   so a kernel in another file would keep a stale copy of a changed helper.


@njit(cache=True)
def sigmoid(x):
    """Overflow-free logistic function (the eager engine calls it from Python too)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(cache=True)
def op_forward(o, x, y, c):
    """Value of a node of op o from its operand values x, y and constant c (o != LEAF)."""
    if o == ADD:
        return x + y
    if o == MUL:
        return x * y
    if o == POW:
        return x ** c
    if o == RELU:
        return 0.0 if x < 0 else x
    if o == TANH:
        return math.tanh(x)
    if o == EXP:
        return math.exp(x)
    if o == LOG:
        return math.log(x)
    return sigmoid(x)


@njit(cache=True)
def local_grads(o, out, x, y, c):
    """(d out / d x, d out / d y) of a node of op o with value out, operand values x, y
    and constant c: micrograd's _backward formulas (o != LEAF)."""
    if o == ADD:
        return 1.0, 1.0
    if o == MUL:
        return y, x
    if o == POW:
        return c * x ** (c - 1.0), 0.0
    if o == RELU:
        return (1.0 if out > 0 else 0.0), 0.0
    if o == TANH:
        return 1.0 - out * out, 0.0
    if o == EXP:
        return out, 0.0
    if o == LOG:
        return 1.0 / x, 0.0
    return out * (1.0 - out), 0.0


@njit(cache=True, inline="always")
def _sweep(op, a, b, val, const, grad, root, mark, inslot, gout):
    # The backward sweep of both kernels (inlined into each: a call per node, or a
    # non-inlined sweep, measured slower). Operands always have smaller indices, so a
    # node's gradient is complete when the reverse sweep reaches it.
    # mark: reachable from root (eager tape: it also holds other graphs whose grads
    # must not flow again), None for a traced program (every node is an ancestor).
    # inslot/gout: leaf -> input slot, and the input gradients (None for the tape).
    # Node 0 is always a leaf, so marking b[i] == 0 of a unary node is harmless.
    grad[root] = 1.0
    for i in range(root, -1, -1):
        o = op[i]
        if mark is not None:
            if not mark[i]:
                continue
        g = grad[i]
        if o == LEAF:
            if inslot is not None:
                k = inslot[i]
                if k >= 0:
                    gout[k] += g
            continue
        x = a[i]
        y = b[i]
        if mark is not None:
            mark[x] = True
            mark[y] = True
        if o == ADD:
            dx, dy = local_grads(ADD, 0.0, val[x], val[y], 0.0)
            grad[x] += dx * g
            grad[y] += dy * g
        elif o == MUL:
            dx, dy = local_grads(MUL, 0.0, val[x], val[y], 0.0)
            grad[x] += dx * g
            grad[y] += dy * g
        else:
            dx, _ = local_grads(o, val[i], val[x], 0.0, const[i])
            grad[x] += dx * g


@njit(cache=True)
def _backward_kernel(op, a, b, val, const, grad, root):
    mark = np.zeros(root + 1, dtype=np.bool_)
    mark[root] = True
    _sweep(op, a, b, val, const, grad, root, mark, None, None)


@njit(cache=True)
def replay_kernel(op, a, b, const, inslot, xs, val, grad, gout):
    """Run a traced program (see compile.py) forward on inputs xs, then backward from
    its last node; adds d out / d xs into gout and returns the output value."""
    n = op.shape[0]
    for i in range(n):
        o = op[i]
        if o == LEAF:
            k = inslot[i]
            val[i] = xs[k] if k >= 0 else const[i]
        elif o == ADD:
            val[i] = op_forward(ADD, val[a[i]], val[b[i]], 0.0)
        elif o == MUL:
            val[i] = op_forward(MUL, val[a[i]], val[b[i]], 0.0)
        else:
            val[i] = op_forward(o, val[a[i]], 0.0, const[i])
    grad[:] = 0.0
    _sweep(op, a, b, val, const, grad, n - 1, None, inslot, gout)
    return val[n - 1]


@njit(cache=True)
def _compact_plan(op, a, b, keep, n):
    # keep: bool[n] seeded with live handles; extend to ancestors, return new index map (-1 = dropped)
    for i in range(n - 1, -1, -1):
        if keep[i]:
            o = op[i]
            if o != LEAF:
                keep[a[i]] = True
                if o == ADD or o == MUL:
                    keep[b[i]] = True
    newidx = np.full(n, -1, dtype=np.int64)
    k = 0
    for i in range(n):
        if keep[i]:
            newidx[i] = k
            k += 1
    return newidx, k


class Tape:
    """Nodes [0, base) are in the arrays, nodes [base, n) in the pending lists.

    ``count`` hands out node indices; ``on_renumber`` (set by the engine, which caches
    the append methods, counter and limit) is called after a compaction.
    """

    def __init__(self, capacity: int = 1 << 12, limit: int = 1 << 19):
        self.op = np.zeros(capacity, np.int8)
        self.a = np.zeros(capacity, np.int64)
        self.b = np.zeros(capacity, np.int64)
        self.val = np.zeros(capacity, np.float64)
        self.const = np.zeros(capacity, np.float64)
        self.grad = np.zeros(capacity, np.float64)
        self.base = 0
        self.p_op: list[int] = []
        self.p_a: list[int] = []
        self.p_b: list[int] = []
        self.p_val: list[float] = []
        self.p_const: dict[int, float] = {}  # node -> exponent, POW nodes only
        self.count = itertools.count()
        self.min_limit = limit
        self.limit = limit
        self.compactions = 0
        self.on_renumber = None
        self.frozen_seen = gc.get_freeze_count()
        self.floor = 0  # nodes below it are never dropped or moved (see compact)

    @property
    def n(self) -> int:
        return self.base + len(self.p_op)

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
        # np.fromiter: 3-4x faster than slice assignment from a list of Python ints
        self.op[s:e] = np.fromiter(self.p_op, np.int8, k)
        self.a[s:e] = np.fromiter(self.p_a, np.int64, k)
        self.b[s:e] = np.fromiter(self.p_b, np.int64, k)
        self.val[s:e] = np.fromiter(self.p_val, np.float64, k)
        self.const[s:e] = 0.0
        for i, c in self.p_const.items():
            self.const[i] = c
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

    @property
    def handles(self) -> list:
        """The live Values on this tape, oldest first (a handle is gone once Python
        drops it). Costs one gc.get_objects() scan."""
        from .engine import Value

        kinds, todo = {Value}, [Value]
        while todo:  # Value and its subclasses (no isinstance: it can run other objects' __class__)
            for sub in todo.pop().__subclasses__():
                kinds.add(sub)
                todo.append(sub)
        return [h for gen in (2, 1, 0) for h in gc.get_objects(gen) if type(h) in kinds and h._t is self]

    def compact(self) -> None:
        self.flush()
        n = self.n
        # gc.freeze() moves every object it finds out of gc.get_objects()' sight, so a
        # Value that existed at a freeze cannot be found (nor renumbered): nodes made
        # before a freeze we notice stay where they are, below `floor`. (Some Pythons
        # start with a nonzero freeze count, hence the comparison with the last one seen.)
        frozen = gc.get_freeze_count()
        if frozen > self.frozen_seen:
            self.floor = n
        elif frozen == 0:
            self.floor = 0
        self.frozen_seen = frozen
        alive = self.handles
        keep = np.zeros(n, np.bool_)
        keep[: self.floor] = True
        for h in alive:
            keep[h._i] = True
        newidx, k = _compact_plan(self.op, self.a, self.b, keep, n)
        sel = np.flatnonzero(keep)
        op = self.op[sel]
        a = self.a[sel]
        b = self.b[sel]
        nz = op != LEAF
        a = np.where(nz, newidx[a], 0)
        two = (op == ADD) | (op == MUL)
        b = np.where(two, newidx[b], 0)
        self.op[:k] = op
        self.a[:k] = a
        self.b[:k] = b
        self.val[:k] = self.val[sel]
        self.const[:k] = self.const[sel]
        self.grad[:k] = self.grad[sel]
        self.op[k:n] = LEAF
        self.base = k
        for h in alive:
            h._i = int(newidx[h._i])
        self.count = itertools.count(k)
        self.limit = max(self.min_limit, 2 * k)
        self.compactions += 1
        self._renumbered()

    def _renumbered(self) -> None:
        if self.on_renumber is not None:
            self.on_renumber(self)


TAPE = Tape()


def reset_tape(capacity: int = 1 << 12, limit: int = 1 << 19) -> None:
    """Start a fresh tape (existing Values become invalid). Mostly for tests."""
    global TAPE
    TAPE = Tape(capacity, limit)
    from . import engine
    engine._set_tape(TAPE)

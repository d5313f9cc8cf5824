"""Trace a scalar function once, replay forward+backward in Numba."""

from __future__ import annotations

import numpy as np

from . import engine
from ._tape import ADD, LEAF, MUL, replay_kernel
from .engine import Value


class CompiledFunction:
    """fn traced once into a straight-line tape program.

    Calling it with n numbers (or one 1-D array) returns ``(out, grads)``: the
    output value and the gradient w.r.t. each input, computed by one Numba call.
    Leaves that are not inputs (constants, captured Values) are frozen at trace time.
    """

    def __init__(self, fn):
        self.fn = fn
        self.program = None
        self.nin = None

    def trace(self, xs):
        T = engine._T
        ins = [Value(float(x)) for x in xs]
        engine._TRACING[0] = True
        try:
            out = self.fn(*ins)
        finally:
            engine._TRACING[0] = False
        if not isinstance(out, Value):
            raise TypeError("compiled scalar function must return a single Value")
        T.flush()
        root = out._i
        # ancestors of root
        op = T.op[: root + 1].copy()
        a = T.a[: root + 1].copy()
        b = T.b[: root + 1].copy()
        keep = np.zeros(root + 1, np.bool_)
        keep[root] = True
        for i in range(root, -1, -1):
            if keep[i] and op[i] != LEAF:
                keep[a[i]] = True
                if op[i] in (ADD, MUL):
                    keep[b[i]] = True
        inpos = {v._i: k for k, v in enumerate(ins)}
        sel = np.flatnonzero(keep)
        newidx = np.full(root + 1, -1, np.int64)
        newidx[sel] = np.arange(len(sel))
        p_op = op[sel]
        nz = p_op != LEAF
        p_a = np.where(nz, newidx[a[sel]], 0)
        p_b = np.where((p_op == ADD) | (p_op == MUL), newidx[b[sel]], 0)
        p_const = T.const[sel].copy()
        leafval = T.val[sel].copy()
        p_const[~nz] = leafval[~nz]
        inslot = np.array([inpos.get(int(i), -1) if o == LEAF else -1 for i, o in zip(sel, p_op)], np.int64)
        self.program = (p_op, p_a, p_b, p_const, inslot)
        self.nin = len(ins)
        self._val = np.zeros(len(sel))
        self._grad = np.zeros(len(sel))
        return out

    def __call__(self, *xs):
        if len(xs) == 1 and isinstance(xs[0], np.ndarray):
            x = np.ascontiguousarray(xs[0], dtype=np.float64)
        else:
            x = np.array([v.data if isinstance(v, Value) else v for v in xs], np.float64)
        if self.program is None:
            self.trace(x)
        elif len(x) != self.nin:
            raise TypeError(f"compiled function expects {self.nin} inputs, got {len(x)}")
        gout = np.zeros(self.nin)
        p_op, p_a, p_b, p_const, inslot = self.program
        out = replay_kernel(p_op, p_a, p_b, p_const, inslot, x, self._val, self._grad, gout)
        return float(out), gout

    @property
    def num_nodes(self):
        return 0 if self.program is None else len(self.program[0])


def compile(fn):  # noqa: A001
    return CompiledFunction(fn)

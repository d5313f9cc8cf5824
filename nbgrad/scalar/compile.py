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
    Numbers and Values made inside fn are constants of the program. Values fn
    captures from outside (made before the call) are read at every call, so
    changing their ``.data`` is seen; they get no gradient.

    While tracing, fn must not branch on a Value's data (``.data``, ``bool()``,
    ``float()``, comparisons raise ``TypeError``): the program could not follow a
    different branch on other inputs.
    """

    def __init__(self, fn):
        self.fn = fn
        self.program = None
        self.nin = None
        self._captured: list[tuple[int, Value]] = []

    def trace(self, xs):
        T = engine._T
        marker = Value(0.0)  # nodes before it were made outside fn
        ins = [Value(float(x)) for x in xs]
        engine._TRACING[0] = True
        try:
            out = self.fn(*ins)
        finally:
            engine._TRACING[0] = False
        if not isinstance(out, Value):
            raise TypeError(f"compiled scalar function must return a single Value, got {type(out).__name__}")
        T.flush()
        root, start = out._i, marker._i  # (read after fn: a compaction may have renumbered them)
        op = T.op[: root + 1].copy()
        a = T.a[: root + 1]
        b = T.b[: root + 1]
        keep = np.zeros(root + 1, np.bool_)
        keep[root] = True
        for i in range(root, start, -1):  # ancestors of root, down to the nodes made outside fn
            if keep[i] and op[i] != LEAF:
                keep[a[i]] = True
                if op[i] == ADD or op[i] == MUL:
                    keep[b[i]] = True
        outside = np.flatnonzero(keep[:start])
        op[outside] = LEAF  # captured from outside: a leaf holding its current value
        sel = np.flatnonzero(keep)
        newidx = np.full(root + 1, -1, np.int64)
        newidx[sel] = np.arange(len(sel))
        p_op = op[sel]
        nz = p_op != LEAF
        p_a = np.where(nz, newidx[a[sel]], 0)
        p_b = np.where((p_op == ADD) | (p_op == MUL), newidx[b[sel]], 0)
        p_const = np.where(nz, T.const[sel], T.val[sel])
        inpos = {v._i: k for k, v in enumerate(ins)}
        inslot = np.array([inpos.get(int(i), -1) for i in sel], np.int64)
        inslot[nz] = -1
        if len(outside):
            slot = {int(i): int(newidx[i]) for i in outside}
            self._captured = [(slot[h._i], h) for h in T.handles if h._i in slot]
        self.program = (p_op, p_a, p_b, p_const, inslot)
        self.nin = len(ins)
        self._val = np.zeros(len(sel))
        self._grad = np.zeros(len(sel))
        return out

    def __call__(self, *xs):
        if len(xs) == 1 and isinstance(xs[0], np.ndarray):
            x = np.ascontiguousarray(xs[0], dtype=np.float64)
            if x.ndim != 1:
                raise TypeError(f"compiled function takes numbers or one 1-D array, got a {x.ndim}-D array")
        else:
            try:
                x = np.array([v.data if isinstance(v, Value) else float(v) for v in xs], np.float64)
            except (TypeError, ValueError) as e:
                raise TypeError(f"compiled function takes numbers, Values or one 1-D array: {e}") from None
        if self.program is None:
            self.trace(x)
        elif len(x) != self.nin:
            raise TypeError(f"compiled function expects {self.nin} inputs, got {len(x)}")
        p_op, p_a, p_b, p_const, inslot = self.program
        for slot, h in self._captured:
            p_const[slot] = h._t.get_val(h._i)
        gout = np.zeros(self.nin)
        out = replay_kernel(p_op, p_a, p_b, p_const, inslot, x, self._val, self._grad, gout)
        return float(out), gout

    @property
    def num_nodes(self):
        return 0 if self.program is None else len(self.program[0])


def compile(fn):  # noqa: A001
    """Trace fn (a function of Values returning one Value) at its first call; see CompiledFunction."""
    return CompiledFunction(fn)

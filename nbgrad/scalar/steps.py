"""The scalar backward pass one node at a time (for the debugger).

`ScalarBackwardPass(root)` has the interface of the tensor engine's
`BackwardPass` (nodes, ready(), step() -> Step, finished, total, buffers): each
step runs one tape node in the order of the Numba kernel (descending tape
index) and writes the tape's .grad the way the kernel does, so after the last
step every .grad equals what `root.backward()` gives, bit for bit. A leaf's
gradient contributions are held until its AccumulateGrad step, which adds them
in the kernel's order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ..autograd.engine import Accumulation, Step
from . import _tape, engine
from ._tape import ADD, BACKWARD_NAMES, EXP, LEAF, LOG, MUL, POW, RELU, SIGMOID, TANH



@dataclass(eq=False)
class Node:
    """One tape slot as a graph node (attributes named like nbgrad.autograd's Node)."""

    name: str
    index: int
    next_functions: list = field(default_factory=list)
    variable: Any = None  # the Value, for a leaf (AccumulateGrad)
    tape: Any = None
    site: Any = None
    stack: Any = None
    output_shape: tuple = ()
    output_dtype: str = "float64"
    constant: bool = False  # a leaf no Python variable holds (a number, like the 2 in x * 2)
    _released: bool = False

    @property
    def sequence_nr(self) -> int:
        return self.index

    @property
    def formula(self) -> str:
        """The tensor engine's rule for the same op (tests/test_scalar.py checks the two agree)."""
        from ..ops import derivatives

        return derivatives()[BACKWARD_NAMES[int(self.tape.op[self.index])]]

    def saved_arrays(self) -> dict[str, Any]:
        """The forward values the local derivative reads."""
        T, i = self.tape, self.index
        o, val = int(T.op[i]), T.val
        x, y = int(T.a[i]), int(T.b[i])
        if o == MUL:
            return {"self": np.float64(val[x]), "other": np.float64(val[y])}
        if o in (POW, LOG):
            return {"self": np.float64(val[x])}
        if o in (RELU, TANH, EXP, SIGMOID):
            return {"result": np.float64(val[i])}
        return {}

    def __repr__(self) -> str:
        return f"<{self.name} #{self.index}>"


_kernel_local_grads = _tape.local_grads.py_func  # the kernels' own formulas, run as plain Python


def local_grads(o: int, i: int, x: int, val: Any, const: Any, g: float, y: int = 0) -> tuple[float, ...]:
    """The gradients node i (op o) sends to its operands (x, and y for + and *),
    computed as the backward kernel computes them (so the results match it bit for bit)."""
    if o in (ADD, MUL):
        dx, dy = _kernel_local_grads(o, 0.0, float(val[x]), float(val[y]), 0.0)
        return (dx * g, dy * g)
    dx, _ = _kernel_local_grads(o, float(val[i]), float(val[x]), 0.0, float(const[i]))
    return (dx * g,)


class ScalarBackwardPass:
    """`root.backward()` for a scalar Value, one tape node per step().

    live=False computes the same steps into a private buffer and leaves the
    tape's .grad untouched."""

    def __init__(self, root: Any, live: bool = True) -> None:
        T = getattr(root, "_t", None)  # the Value's own tape
        if T is None:
            T = engine._T
        self.tape = T
        T.flush()
        self.root_index = r = root._i
        self.live = live
        op, a, b = T.op, T.a, T.b
        reach = np.zeros(r + 1, dtype=bool)
        reach[r] = True
        for i in range(r, -1, -1):  # operands have smaller indices: one sweep marks them all
            if reach[i] and op[i] != LEAF:
                reach[a[i]] = True
                if op[i] in (ADD, MUL):
                    reach[b[i]] = True
        self.indices = np.flatnonzero(reach)[::-1].copy()  # backward order: root first
        handles: dict[int, Any] = {}
        for h in T.handles:  # live Values, oldest first: the first one of a slot is the user's
            handles.setdefault(h._i, h)
        self.by_index: dict[int, Node] = {
            int(i): Node(BACKWARD_NAMES[int(op[i])], int(i), tape=T) for i in self.indices
        }
        for i, nd in self.by_index.items():
            o = int(op[i])
            if o == LEAF:
                nd.variable = handles.get(i)
                if nd.variable is None:
                    nd.variable, nd.constant = engine._handle(i, T), True
            else:
                nd.next_functions.append((self.by_index[int(a[i])], 0))
                if o in (ADD, MUL):
                    nd.next_functions.append((self.by_index[int(b[i])], 0))
        self.nodes: list[Node] = [self.by_index[int(i)] for i in self.indices]
        self.total = len(self.nodes)
        self.steps_done: list[Step] = []
        self.buffers: dict[Node, float] = {self.nodes[0]: 1.0}  # gradient arrived so far, per waiting node
        self._pending: dict[int, list[float]] = {}  # a leaf's contributions, added at its own step
        self._grad: dict[int, float] = {}  # live=False: the private gradient buffer
        self._k = 0
        self._journal: list[tuple] = []  # per step: what undo() puts back

    def node_of(self, value: Any) -> Node | None:
        """The node of this pass that computes `value` (a Value on this pass's tape), if any."""
        return self.by_index.get(value._i) if getattr(value, "_t", None) is self.tape else None

    # --- the tape's gradient (or the private buffer) ---
    def _get(self, i: int) -> float:
        return float(self.tape.grad[i]) if self.live else self._grad.get(i, 0.0)

    def _add(self, i: int, g: float) -> None:
        if self.live:
            self.tape.grad[i] += g
        else:
            self._grad[i] = self._grad.get(i, 0.0) + g

    def snapshot(self) -> np.ndarray:
        """The .grad of every node of the pass (to restore on restart)."""
        return self.tape.grad[self.indices].copy()

    def restore(self, snap: np.ndarray) -> None:
        self.tape.grad[self.indices] = snap

    # --- the BackwardPass interface ---
    def ready(self) -> list[Node]:
        return [self.nodes[self._k]] if self._k < self.total else []

    def next_node(self) -> Node | None:
        return self.nodes[self._k] if self._k < self.total else None

    def ready_ids(self) -> set[int]:
        return {id(self.nodes[self._k])} if self._k < self.total else set()

    @property
    def finished(self) -> bool:
        return self._k >= self.total

    def is_done(self, node: Node) -> bool:
        return self._k > 0 and node.index >= self.nodes[self._k - 1].index

    def __iter__(self) -> Iterator[Step]:
        while not self.finished:
            yield self.step()

    def run(self) -> None:
        for _ in self:
            pass

    # --- undo (the debugger's step back), like the tensor engine's BackwardPass.undo ---
    @property
    def can_undo(self) -> bool:
        return bool(self._journal)

    def undo(self) -> Step:
        """Take the last step back: its node is next again, the gradients it passed on and what
        it added into .grad are removed. Returns the undone Step."""
        if not self._journal:
            raise RuntimeError("there is no step to undo")
        k, bufs, pending, grads = self._journal.pop()
        self._k = k
        for nd, b in bufs.items():
            if b is None:
                self.buffers.pop(nd, None)
            else:
                self.buffers[nd] = b
        for i, p in pending.items():
            if p is None:
                self._pending.pop(i, None)
            else:
                self._pending[i] = p
        for i, g in grads.items():
            if self.live:
                self.tape.grad[i] = g
            elif g is None:
                self._grad.pop(i, None)
            else:
                self._grad[i] = g
        return self.steps_done.pop()

    def _remember(self, node: Node) -> None:
        touched = [node, *(nx for nx, _ in node.next_functions)]
        idx = {nd.index for nd in touched}
        self._journal.append((
            self._k, {nd: self.buffers.get(nd) for nd in touched},
            {i: (list(self._pending[i]) if i in self._pending else None) for i in idx},
            {i: (float(self.tape.grad[i]) if self.live else self._grad.get(i)) for i in idx}))

    def step(self) -> Step:
        if self.finished:
            raise StopIteration("the backward pass has finished")
        node = self.nodes[self._k]
        self._remember(node)
        self._k += 1
        T, i = self.tape, node.index
        self.buffers.pop(node, None)
        o = int(T.op[i])
        before = float(T.grad[i])
        if i == self.root_index:  # the kernel seeds the root with 1 (it does not add)
            if self.live:
                T.grad[i] = 1.0
            else:
                self._grad[i] = 1.0
        if o == LEAF:
            contrib = self._pending.pop(i, [])
            delta = 1.0 if i == self.root_index else 0.0
            for c in contrib:
                delta += c
                if self.live:
                    T.grad[i] += c
            step = Step(len(self.steps_done), node, (delta,), ())
            if self.live:
                after = float(T.grad[i])
                step.accumulations.append(Accumulation(node.variable, np.float64(before), np.float64(after),
                                                       np.float64(delta)))
            self.steps_done.append(step)
            return step
        g = self._get(i)
        x, y = int(T.a[i]), int(T.b[i])
        outs = local_grads(o, i, x, T.val, T.const, g, y)
        for (nxt, _), go in zip(node.next_functions, outs):
            self.buffers[nxt] = self.buffers.get(nxt, 0.0) + go
            if T.op[nxt.index] == LEAF:
                self._pending.setdefault(nxt.index, []).append(go)
            else:
                self._add(nxt.index, go)
        step = Step(len(self.steps_done), node, (g,), outs)
        self.steps_done.append(step)
        return step


@dataclass
class BackwardStep:
    index: int  # the tape index of the node
    node: Node
    grads_in: tuple
    grads_out: tuple


def backward_steps(root: Any) -> Iterator[BackwardStep]:
    """Yield one BackwardStep per reachable node in backward (reverse tape) order.

    Gradients are computed in a private buffer seeded with 1 at the root; the
    tape's .grad values are not modified (call root.backward() for that)."""
    for st in ScalarBackwardPass(root, live=False):
        yield BackwardStep(st.node.index, st.node, st.grads_in, st.grads_out)

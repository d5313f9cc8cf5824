"""Pure-Python mirror of the backward kernel that yields one record per node (for the debugger)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import engine
from ._tape import ADD, BACKWARD_NAMES, EXP, LEAF, LOG, MUL, POW, RELU, SIGMOID, TANH


@dataclass(eq=False)
class Node:
    name: str
    index: int
    next_functions: list = field(default_factory=list)

    def __repr__(self):
        return f"<{self.name} #{self.index}>"


@dataclass
class BackwardStep:
    index: int
    node: Node
    grads_in: tuple
    grads_out: tuple


def backward_steps(root):
    """Yield one BackwardStep per reachable node in backward (reverse tape) order.

    Gradients are computed in a local buffer seeded with 1 at the root; the tape's
    .grad values are not modified (call root.backward() for that).
    """
    T = engine._T
    T.flush()
    r = root._i
    op, a, b, val, const = T.op, T.a, T.b, T.val, T.const
    nodes: dict[int, Node] = {}

    def node(i):
        nd = nodes.get(i)
        if nd is None:
            nd = nodes[i] = Node(BACKWARD_NAMES[int(op[i])], i)
            o = int(op[i])
            if o != LEAF:
                nd.next_functions.append((node(int(a[i])), 0))
                if o in (ADD, MUL):
                    nd.next_functions.append((node(int(b[i])), 0))
        return nd

    grad = {r: 1.0}
    reach = {r}
    for i in range(r, -1, -1):
        if i not in reach:
            continue
        o = int(op[i])
        g = grad.get(i, 0.0)
        if o == LEAF:
            yield BackwardStep(i, node(i), (g,), ())
            continue
        x = int(a[i])
        if o == ADD:
            outs = (g, g)
        elif o == MUL:
            outs = (float(val[int(b[i])]) * g, float(val[x]) * g)
        elif o == POW:
            c = float(const[i])
            outs = ((c * float(val[x]) ** (c - 1.0)) * g,)
        elif o == RELU:
            outs = ((1.0 if val[i] > 0 else 0.0) * g,)
        elif o == TANH:
            outs = ((1.0 - float(val[i]) ** 2) * g,)
        elif o == EXP:
            outs = (float(val[i]) * g,)
        elif o == LOG:
            outs = (g / float(val[x]),)
        elif o == SIGMOID:
            s = float(val[i])
            outs = (s * (1.0 - s) * g,)
        targets = (x, int(b[i])) if o in (ADD, MUL) else (x,)
        for t, go in zip(targets, outs):
            grad[t] = grad.get(t, 0.0) + go
            reach.add(t)
        yield BackwardStep(i, node(i), (g,), tuple(outs))

"""Differentiable ops. Each file holds forwards next to their backward nodes:
elementwise.py, reduce.py, shape.py, linalg.py, loss.py. `derivatives()` lists
every node's gradient formula in one table."""

from __future__ import annotations


def derivatives() -> dict[str, str]:
    from ..autograd.function import Node

    out: dict[str, str] = {}
    stack = list(Node.__subclasses__())
    while stack:
        c = stack.pop()
        stack.extend(c.__subclasses__())
        if c.formula and not c.name.startswith("_"):
            out[c.name] = c.formula
    return dict(sorted(out.items()))

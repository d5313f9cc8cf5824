"""Differentiable ops: forwards in elementwise.py, reduce.py, shape.py, linalg.py, loss.py;
every derivative in derivatives_table.py (long formulas in grad_helpers.py).
`derivatives()` lists every node's executed rule."""

from __future__ import annotations

from ..autograd import function as _function
from . import derivatives_table as _N


def derivatives() -> dict[str, str]:
    """{node name: its gradient formulas}: the rules the nodes' backward passes execute (the
    built-in nodes' lines of derivatives_table.TABLE, and AccumulateGrad's)."""
    out = {name: cls.formula for name, cls in _N.NODES.items()}
    out[_function.AccumulateGrad.name] = _function.AccumulateGrad.formula
    return dict(sorted(out.items()))

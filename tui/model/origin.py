"""Where a nan / inf was born: the first forward op whose output is known to be non-finite."""

from __future__ import annotations

from typing import Any, Callable

from .values import has_anomaly


def tensor_origin(nodes: list[Any], root_nodes: list[tuple[Any, Any]]) -> tuple[Any, bool]:
    """(node, certain) for a tensor graph, or (None, False).

    What is known about each op's forward output: the core's note in anomaly mode
    (node.forward_finite), the roots' values, the leaves' values, and every saved value
    whose producer can be told (saved_tensor_sources names it; among the consumer and
    its inputs it must be the one node of that name and shape). `certain`: every
    input of the op is known to be finite, so the nan/inf was born there and not in an
    earlier op whose output nobody saved."""
    from nbgrad.autograd.graph import saved_tensor_sources

    finite: dict[int, bool] = {}  # id(node) -> is its forward output finite (where known)

    def learn(n: Any, ok: bool) -> None:
        finite[id(n)] = finite.get(id(n), True) and ok

    for c in nodes:
        if getattr(c, "forward_finite", None) is not None:
            learn(c, c.forward_finite)
    for node, value in root_nodes:
        learn(node, not has_anomaly(value))
    for c in nodes:
        if c.name == "AccumulateGrad":
            learn(c, not has_anomaly(c.variable))
        saved = c.saved_arrays()
        for key, src in saved_tensor_sources(c).items():
            data = saved[key]
            if src is None:  # a leaf or a constant operand of c
                if has_anomaly(data):
                    learn(c, False)
                continue
            cands = {id(n): n for n in (c, *(nx for nx, _ in c.next_functions if nx is not None))
                     if n.name == src and tuple(n.output_shape) == tuple(data.shape)}
            if len(cands) == 1:
                learn(next(iter(cands.values())), not has_anomaly(data))
    bad = [n for n in nodes if finite.get(id(n)) is False]
    if not bad:
        return None, False
    origin = min(bad, key=lambda n: n.sequence_nr)
    certain = all(finite.get(id(nx)) is True for nx, _ in origin.next_functions if nx is not None)
    return origin, certain


def scalar_origin(nodes: list[Any], value_of: Callable[[Any], float]) -> tuple[Any, bool]:
    """(node, certain) for a scalar graph: every forward value is on the tape, so it is certain."""
    import math

    bad = [n for n in nodes if not math.isfinite(value_of(n))]
    if not bad:
        return None, False
    return min(bad, key=lambda n: n.sequence_nr), True

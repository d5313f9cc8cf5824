"""Which nn.Module created each graph node, for the collapsible groups of the graph panel.

Inside `track_modules()`, every `Module.__call__` records the range of node
sequence numbers created during the call; a node belongs to the innermost call
whose range holds its `sequence_nr`. Without a record, a node that feeds a
named module parameter ("model.0.weight") belongs to that module ("model.0")."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Any, Iterator

MAX_RECORDS = 100_000


@dataclass
class Call:
    lo: int  # sequence numbers lo < s <= hi were created during the call
    hi: int
    path: str  # dotted path below the outermost module ("" for the outermost itself)
    kind: str  # the module's class name
    top: tuple  # the outermost module: (class name, ((id(param), its name in the module), ...))


_calls: list[Call] = []


@contextlib.contextmanager
def track_modules() -> Iterator[None]:
    """Record the node range of every nn.Module call made inside the block.

    A profile hook (not a wrapper) sees the calls, so no extra frame lands
    between the user's code and the ops (nodes record the user's source line)."""
    import nbgrad as ng
    from nbgrad.autograd import function

    code = ng.nn.Module.__call__.__code__
    seq = function._seq
    stack: list[tuple[Any, str, tuple, int]] = []  # (module, path, top, lo)
    prev = sys.getprofile()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if prev is not None:  # a profiler that was already there keeps working
            prev(frame, event, arg)
        if frame.f_code is not code:
            return
        if event == "call":
            m = frame.f_locals.get("self")
            if stack:
                parent, ppath, top, _ = stack[-1]
                name = next((k for k, c in parent._modules.items() if c is m), type(m).__name__)
                path = f"{ppath}.{name}" if ppath else name
            else:
                path, top = "", (type(m).__name__, tuple((id(p), pn) for pn, p in m.named_parameters()))
            stack.append((m, path, top, seq[0]))
        elif event == "return" and stack:
            m, path, top, lo = stack.pop()
            _calls.append(Call(lo, seq[0], path, type(m).__name__, top))
            if len(_calls) > MAX_RECORDS:
                del _calls[: MAX_RECORDS // 2]

    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(prev)


def _top_name(top: tuple, names: dict[int, str]) -> str:
    """The user's name of an outermost module, from the names of its parameters."""
    kind, params = top
    for pid, pn in params:
        full = names.get(pid, "")
        if full.endswith("." + pn):
            return full[: -len(pn) - 1]
    return kind


def assign(nodes: list[Any], names: dict[int, str]) -> dict[int, tuple[str, str]]:
    """id(node) -> (group key, group title) for the nodes that belong to a module."""
    out: dict[int, tuple[str, str]] = {}
    seqs = [getattr(n, "sequence_nr", 0) for n in nodes]
    if not nodes or not isinstance(seqs[0], int):
        return out
    lo_all, hi_all = min(seqs), max(seqs)
    calls = sorted((c for c in _calls if c.hi >= lo_all and c.lo < hi_all), key=lambda c: (c.lo, -c.hi))
    kinds: dict[str, str] = {}
    order = sorted(range(len(nodes)), key=lambda k: seqs[k])
    open_: list[Call] = []
    ci = 0
    for k in order:
        s = seqs[k]
        while ci < len(calls) and calls[ci].lo < s:
            open_.append(calls[ci])
            ci += 1
        while open_ and open_[-1].hi < s:
            open_.pop()
        inner = next((c for c in reversed(open_) if c.lo < s <= c.hi), None)
        if inner is not None:
            top = _top_name(inner.top, names)
            key = f"{top}.{inner.path}" if inner.path else top
            kinds[key] = inner.kind
            out[id(nodes[k])] = (key, "")
    # parameters by name; a node that feeds a named parameter joins its module
    for n in nodes:
        for leaf in [n, *(nx for nx, _ in n.next_functions if nx is not None)]:
            var = getattr(leaf, "variable", None)
            pname = names.get(id(var), "") if var is not None else ""
            if "." in pname:
                if leaf is n or id(n) not in out:
                    out[id(n)] = (pname.rsplit(".", 1)[0], "")
                break
    return {k: (key, f"{key} ({kinds[key]})" if kinds.get(key, key) != key else key) for k, (key, _) in out.items()}

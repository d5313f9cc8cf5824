"""Which nn.Module call made each graph node, for the collapsible groups of the graph panel.

A `ModuleTracker` registers nbgrad's global module hooks: before a module's forward it
notes `next_sequence_nr()` and the module's path below the outermost module, after it
the next number again; a node belongs to the innermost call whose range holds its
`sequence_nr`. Without a record, a node that feeds a named module parameter
("model.0.weight") belongs to that module ("model.0")."""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterator

MAX_RECORDS = 100_000


@dataclass
class Call:
    lo: int  # nodes with lo <= sequence_nr < hi were made during the call
    hi: int
    path: str  # dotted path below the outermost module ("" for the outermost itself)
    kind: str  # the module's class name
    top: tuple  # the outermost module: (class name, ((id(param), its name in the module), ...))
    module: Any = None  # the module (for the gradient flow's ReLU statistics)


class ModuleTracker:
    """Records the node range of every nn.Module call while it is started (global module hooks).

    on_output(module, path_key, output), if given, is called after every module's forward
    (the gradient flow reads ReLU outputs there)."""

    def __init__(self, on_output: Callable[[Any, tuple, Any], None] | None = None) -> None:
        self.calls: list[Call] = []
        self.on_output = on_output
        self._stack: list[tuple[Any, str, tuple, int]] = []  # (module, path, top, lo)
        self._tops: dict[int, tuple] = {}  # id(outermost module) -> its `top` tuple
        self._top_modules: dict[int, Any] = {}  # id(outermost module) -> a weak reference to it
        self._handles: list[Any] = []

    def start(self) -> None:
        from nbgrad.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

        if not self._handles:
            self._handles = [register_module_forward_pre_hook(self._pre),
                             register_module_forward_hook(self._post, always_call=True)]

    @property
    def running(self) -> bool:
        return bool(self._handles)

    def stop(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self._stack.clear()

    def _pre(self, module: Any, args: tuple) -> None:
        from nbgrad.autograd.graph import next_sequence_nr

        if self._stack:
            parent, ppath, top, _ = self._stack[-1]
            name = next((k for k, c in parent.named_children() if c is module), type(module).__name__)
            path = f"{ppath}.{name}" if ppath else name
        else:
            path = ""
            top = self._tops.get(id(module))
            if top is None:
                top = (type(module).__name__, tuple((id(p), pn) for pn, p in module.named_parameters()))
                self._tops[id(module)] = top
                self._top_modules[id(module)] = weakref.ref(module)
        self._stack.append((module, path, top, next_sequence_nr()))

    def _post(self, module: Any, args: tuple, output: Any) -> None:
        from nbgrad.autograd.graph import next_sequence_nr

        if not self._stack or self._stack[-1][0] is not module:
            return
        m, path, top, lo = self._stack.pop()
        self.calls.append(Call(lo, next_sequence_nr(), path, type(m).__name__, top))
        if len(self.calls) > MAX_RECORDS:
            del self.calls[: MAX_RECORDS // 2]
        if self.on_output is not None:
            self.on_output(m, (top, path), output)

    def parameters(self) -> Iterator[tuple[Any, tuple, str]]:
        """(param, its outermost module's `top`, its dotted name there) for the outermost modules
        seen that are still alive."""
        for mid, ref in list(self._top_modules.items()):
            m = ref()
            if m is None:
                del self._top_modules[mid]
                continue
            for pn, p in m.named_parameters():
                yield p, self._tops[mid], pn


default_tracker = ModuleTracker()  # what track_modules() and debug_backward use


@contextlib.contextmanager
def track_modules(tracker: ModuleTracker | None = None) -> Iterator[ModuleTracker]:
    """Record the node range of every nn.Module call made inside the block."""
    t = tracker or default_tracker
    started = not t.running
    t.start()
    try:
        yield t
    finally:
        if started:
            t.stop()


def top_name(top: tuple, names: dict[int, str]) -> str:
    """The user's name of an outermost module, from the names of its parameters."""
    kind, params = top
    for pid, pn in params:
        full = names.get(pid, "")
        if full.endswith("." + pn):
            return full[: -len(pn) - 1]
    return kind


def module_key(top: tuple, path: str, names: dict[int, str]) -> str:
    t = top_name(top, names)
    return f"{t}.{path}" if path else t


def assign(nodes: list[Any], names: dict[int, str], calls: list[Call] | None = None) -> dict[int, tuple[str, str]]:
    """id(node) -> (group key, group title) for the nodes that belong to a module."""
    out: dict[int, str] = {}
    if not nodes:
        return {}
    calls = default_tracker.calls if calls is None else calls
    seqs = [n.sequence_nr for n in nodes]
    lo_all, hi_all = min(seqs), max(seqs)
    inside = sorted((c for c in calls if c.hi > lo_all and c.lo <= hi_all), key=lambda c: (c.lo, -c.hi))
    kinds: dict[str, str] = {}
    open_: list[Call] = []
    ci = 0
    for k in sorted(range(len(nodes)), key=lambda k: seqs[k]):
        s = seqs[k]
        while ci < len(inside) and inside[ci].lo <= s:
            open_.append(inside[ci])
            ci += 1
        while open_ and open_[-1].hi <= s:
            open_.pop()
        inner = next((c for c in reversed(open_) if c.lo <= s < c.hi), None)
        if inner is not None:
            key = module_key(inner.top, inner.path, names)
            kinds[key] = inner.kind
            out[id(nodes[k])] = key
    # parameters by name; a node that feeds a named parameter joins its module
    for n in nodes:
        for leaf in [n, *(nx for nx, _ in n.next_functions if nx is not None)]:
            var = getattr(leaf, "variable", None)
            pname = names.get(id(var), "") if var is not None else ""
            if "." in pname:
                if leaf is n or id(n) not in out:
                    out[id(n)] = pname.rsplit(".", 1)[0]
                break
    return {k: (key, f"{key} ({kinds[key]})" if kinds.get(key, key) != key else key) for k, key in out.items()}


def backward_of_groups(nodes: list[Any]) -> dict[int, tuple[str, str]]:
    """id(node) -> (group key, "backward of <NodeName>") for the nodes a create_graph backward
    recorded (node.backward_of: the node whose formula made them). Two producers of one name
    get keys of their own (the later one's title numbered)."""
    out: dict[int, tuple[str, str]] = {}
    keys: dict[int, tuple[str, str]] = {}  # id(producer) -> its group
    per_name: dict[str, int] = {}
    for n in sorted(nodes, key=lambda n: n.sequence_nr):
        src = getattr(n, "backward_of", None)
        if src is None:
            continue
        g = keys.get(id(src))
        if g is None:
            k = per_name[src.name] = per_name.get(src.name, 0) + 1
            title = f"backward of {src.name}" + (f" [{k}]" if k > 1 else "")
            g = keys[id(src)] = (title, title)
        out[id(n)] = g
    return out

"""The debugger's model of one backward call: the pass, where it stands, and what to show.

`Session` is the one protocol the widgets talk to. Two adapters fill in what differs
between nbgrad's engines: `TensorSession` (nbgrad Tensors: shapes, .grad Tensors,
module groups) and `ScalarSession` (nbgrad.scalar Values: one number per node, kept on
a tape). Every value shown goes through `values.to_host`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import groups as groups_mod
from .origin import scalar_origin, tensor_origin
from .values import changed_mask, fmt, has_anomaly, norm, scalar_value, summary_text, to_host

INSPECT_MAX = 16  # gradients out / saved values listed per node


@dataclass
class TensorRef:
    """A value the tensor view can open: one array, or the before / after / delta of an accumulation."""

    label: str
    views: dict[str, np.ndarray | None]  # "value", or "after", "before", "delta"
    changed: np.ndarray | None = None  # cells the accumulation changed (for "after")


@dataclass
class Entry:
    """One item of the inspector: a line of text, or a value with its summary (ref set)."""

    text: str
    style: str = ""
    ref: TensorRef | None = None


@dataclass
class LeafRow:
    leaf: Any
    name: str
    shape: str
    before: str
    after: str
    history: list[float]
    watched: bool
    just_changed: bool


@dataclass
class Stop:
    """Why a run stopped (state is also the session's state)."""

    state: str  # "paused", "breakpoint", "watch", "anomaly", "finished", "error"
    node: Any = None  # the node to select


@dataclass
class Check:
    """What `g` found for one node: its backward against finite differences of its forward."""

    ok: bool
    text: str  # the verdict, with the largest errors
    details: list[str] = field(default_factory=list)  # one line per input


@dataclass
class CallInfo:
    """Where this backward call sits in a script (for the header)."""

    script: str = ""
    number: int = 1
    title: str = ""


@dataclass
class Shared:
    """State that lives across the backward calls of one script: leaves' gradient norms,
    watches, breakpoints (by op and source line, so they hold in the next call)."""

    history: dict[int, list[float]] = field(default_factory=dict)
    watches: set[int] = field(default_factory=set)
    breakpoints: set[tuple] = field(default_factory=set)


def short_path(path: str) -> str:
    """A path relative to the working directory when it lies below it (links resolved)."""
    try:
        rel = os.path.relpath(os.path.realpath(path), os.path.realpath(os.getcwd()))
    except ValueError:  # another drive
        return path
    return path if rel.startswith("..") else rel


class Session:
    """A backward pass run one node at a time (the protocol of both adapters)."""

    kind = ""
    grad_heading = "|grad|"  # the leaves panel's column: a norm (tensors) or the value (scalars)
    change_format = "|{0} → {1}|"  # a .grad change in the event log

    def __init__(self, make_pass: Callable[[], Any], names: dict | None = None, *, retain_graph: bool = True,
                 call: CallInfo | None = None, shared: Shared | None = None) -> None:
        self.make_pass = make_pass
        self.retain_graph = retain_graph
        self.call = call or CallInfo()
        self.shared = shared or Shared()
        self.names: dict[int, str] = {}  # id(tensor or Value) -> the user's name
        self._objects: list[tuple[Any, str]] = []  # (tensor or Value, its name)
        for k, v in (names or {}).items():
            k, v = (k, v) if isinstance(k, str) else (v, k)
            self.names[id(v)] = k
            self._objects.append((v, k))
        self.break_on_anomaly = True
        self.checks: dict[int, Check | str] = {}  # id(node) -> what g found (a str: why it could not check)
        self.events: list[str] = []
        self.passes = 0
        self._snapshot = None
        self._new_pass()
        self._snapshot = self.snapshot_grads()
        for t in self.leaves:
            h = self.shared.history.setdefault(id(t), [])
            if not h:
                h.append(self._leaf_number(self.leaf_grad(t)))
        nxt = self.next_node()
        self.log(f"backward pass over {self.total} nodes; ready: {self.node_title(nxt)}" if nxt is not None
                 else "nothing to run")
        if self.origin is not None:
            self.log(f"forward: nan/inf first appears in the output of {self.where(self.origin)} (o jumps there)")

    # ------------------------------------------------------------------ adapter hooks
    def _make_names(self) -> dict[int, str]:
        """id(node) -> the user's name of the value it computes (non-leaf nodes)."""
        raise NotImplementedError

    def _find_origin(self) -> tuple[Any, bool]:
        raise NotImplementedError

    def _groups(self) -> dict[int, tuple[str, str]]:
        return {}

    def leaf_grad(self, leaf: Any) -> Any:
        """A leaf's .grad (an array, a Tensor or a number; None when it has none)."""
        raise NotImplementedError

    def leaf_shape(self, leaf: Any) -> str:
        raise NotImplementedError

    def node_value(self, node: Any) -> str:
        """What a tree label shows of a node's forward value."""
        raise NotImplementedError

    def value_lines(self, node: Any) -> list[Entry]:
        raise NotImplementedError

    def root_text(self) -> str:
        raise NotImplementedError

    def snapshot_grads(self) -> Any:
        raise NotImplementedError

    def restore_grads(self, snap: Any) -> None:
        raise NotImplementedError

    def saved_label(self, node: Any, key: str) -> str:
        """How the inspector names a saved value (the formula's name for it)."""
        return key

    def is_constant(self, node: Any) -> bool:
        """A leaf no variable holds (the scalar engine's numbers): listed apart from the leaves."""
        return False

    def grad_number(self, a: Any) -> float | None:
        """The number the leaves panel shows for a gradient: its norm (tensors), its value (scalars)."""
        return norm(a)

    def _check(self, node: Any) -> Check:
        """Compare the node's backward with finite differences of its forward (raises with a reason)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state
    def _new_pass(self) -> None:
        self.bp = self.make_pass()
        self.passes += 1
        self.nodes: list[Any] = list(self.bp.nodes)
        self.total = len(self.nodes)
        # the order step() runs nodes in: the engine pops the ready node with the highest
        # sequence_nr, and a node's consumers always have higher ones, so it is this sort
        order = sorted(self.nodes, key=lambda n: -n.sequence_nr)
        self.rank = {id(n): i + 1 for i, n in enumerate(order)}
        self.steps: dict[int, Any] = {}
        self.order: list[Any] = []  # nodes in the order they ran
        self.last_acc: dict[int, Any] = {}  # id(leaf) -> its last Accumulation
        self._accs: dict[int, list[Any]] = {}  # id(leaf) -> its Accumulations in this pass (for step back)
        self.last_step: Any = None
        self.anomalies: list[Any] = []
        self.bad_ids: set[int] = set()  # nodes with nan/inf in a gradient
        self.stopped_on_anomaly = False  # a continue stops once at the first anomaly of a pass
        self.error: BaseException | None = None
        self.state = "paused"
        self.all_leaves = [n.variable for n in self.nodes if n.name == "AccumulateGrad"]
        self.constants = [n.variable for n in self.nodes if n.name == "AccumulateGrad" and self.is_constant(n)]
        const = {id(c) for c in self.constants}
        self.leaves = [t for t in self.all_leaves if id(t) not in const]
        self.node_names = self._make_names()
        self.group_of = self._groups()
        self.ready_ids = self.bp.ready_ids()
        self.saved_bad = {id(n) for n in self.nodes if any(has_anomaly(v) for v in n.saved_arrays().values())}
        self.origin, self.origin_certain = self._find_origin()

    def log(self, msg: str) -> None:
        self.events.append(msg)

    @property
    def finished(self) -> bool:
        return self.bp.finished

    def next_node(self) -> Any:
        return self.bp.next_node()

    def status(self, node: Any) -> str:
        if id(node) in self.steps:
            return "done"
        if id(node) in self.ready_ids:
            return "ready"
        if self.bp.finished:
            return "skipped"  # no gradient reached it
        return "waiting"

    # ------------------------------------------------------------------ names
    def leaf_name(self, t: Any) -> str:
        return self.names.get(id(t)) or f"leaf{self.leaf_shape(t)}"

    def node_title(self, node: Any) -> str:
        if node is None:
            return "-"
        s = f"#{self.rank.get(id(node), '?')} {node.name}"
        if node.name == "AccumulateGrad":
            return s + f"({self.leaf_name(node.variable)})"
        name = self.node_names.get(id(node))
        return s + (f" ({name})" if name else "")

    def where(self, node: Any) -> str:
        s = self.node_title(node)
        if node.site:
            s += f" at {os.path.basename(node.site[0])}:{node.site[1]}"
        return s

    def _change(self, acc: Any) -> str:
        return self.change_format.format(fmt(self.grad_number(acc.before)), fmt(self.grad_number(acc.after)))

    def _leaf_number(self, g: Any) -> float:
        x = self.grad_number(g)
        return 0.0 if x is None else x

    # ------------------------------------------------------------------ running
    def step(self) -> Any:
        """Run one node; log it; the Step (None when finished or on an error)."""
        if self.bp.finished or self.error is not None:
            return None
        nxt = self.next_node()
        try:
            st = self.bp.step()
        except Exception as e:  # what backward() would raise: shown, then raised to the script
            self.error = e
            self.state = "error"
            self.log(f"ERROR in {self.node_title(nxt)}: {type(e).__name__}: {e}")
            return None
        self.last_step = st
        self.steps[id(st.node)] = st
        self.order.append(st.node)
        self.ready_ids = self.bp.ready_ids()
        msg = f"step {len(self.order)}: {self.node_title(st.node)}"
        for acc in st.accumulations:
            self.last_acc[id(acc.tensor)] = acc
            self._accs.setdefault(id(acc.tensor), []).append(acc)
            self.shared.history.setdefault(id(acc.tensor), []).append(self._leaf_number(acc.after))
            msg += f" → {self.leaf_name(acc.tensor)}.grad {self._change(acc)}"
        self.log(msg)
        bad = [g for g in (*st.grads_in, *st.grads_out, *(a.after for a in st.accumulations)) if has_anomaly(g)]
        if bad:
            self.anomalies.append(st)
            self.bad_ids.add(id(st.node))
            self.log(f"ANOMALY at {self.node_title(st.node)}: nan/inf in a gradient ({summary_text(bad[0])})")
        self.state = "finished" if self.bp.finished else "paused"
        return st

    @property
    def can_step_back(self) -> bool:
        return bool(self.order) and self.error is None and self.bp.can_undo

    def step_back(self) -> Any:
        """Undo the last step (the engine's undo): the node is next again, the .grad it changed
        and the gradients it passed on are as before it ran. The undone Step (None: nothing to undo).
        Hooks' side effects (a print, the gradient flow's sums) are not undone."""
        if not self.order:
            self.log("step back: nothing has run yet")
            return None
        if self.error is not None:
            self.log("step back: the pass raised an error; r restarts it")
            return None
        if not self.bp.can_undo:
            self.log("step back: this pass keeps nothing to undo with")
            return None
        k = len(self.order)
        self.bp.undo()
        node = self.order.pop()
        st = self.steps.pop(id(node))
        msg = f"step back: undid step {k}: {self.node_title(node)}"
        for acc in st.accumulations:
            key = id(acc.tensor)
            accs = self._accs.get(key, [])
            if accs:
                accs.pop()
            if accs:
                self.last_acc[key] = accs[-1]
            else:
                self.last_acc.pop(key, None)
            h = self.shared.history.get(key)
            if h and len(h) > 1:
                h.pop()
            was = "None (no gradient yet)" if acc.before is None else fmt(self.grad_number(acc.before))
            msg += f"; {self.leaf_name(acc.tensor)}.grad back to {was}"
        if self.anomalies and self.anomalies[-1].node is node:
            self.anomalies.pop()
            self.bad_ids.discard(id(node))
        self.last_step = self.steps[id(self.order[-1])] if self.order else None
        self.ready_ids = self.bp.ready_ids()
        self.state = "paused"
        self.log(msg)
        return st

    def changed_by(self, st: Any, before_ready: set[int]) -> set[int]:
        """The nodes whose label a step may have changed."""
        return {id(st.node), *(before_ready ^ self.ready_ids),
                *(id(nx) for nx, _ in st.node.next_functions if nx is not None)}

    def run(self, target: Any = None, changed: set[int] | None = None) -> Stop:
        """Continue until a breakpoint, a watch, the first anomaly of the pass, `target` being
        next, or the end. `changed` collects the ids of nodes whose labels changed."""
        changed = set() if changed is None else changed
        if self.bp.finished or self.error is not None:
            self.log("finished: nothing left to run" if self.error is None else "stopped: the pass raised an error")
            return Stop(self.state)
        stop = None
        while not self.bp.finished:
            if target is not None and self.next_node() is target:
                self.state = "paused"
                self.log(f"run to: {self.node_title(target)} is next")
                return Stop("paused", target)
            n_anom = len(self.anomalies)
            before = self.ready_ids
            last = self.step()
            if last is None:  # an error
                return Stop(self.state, stop)
            changed |= self.changed_by(last, before)
            stop = last.node
            if self.break_on_anomaly and len(self.anomalies) > n_anom and not self.stopped_on_anomaly:
                self.stopped_on_anomaly = True
                self.state = "anomaly"
                msg = f"stopped on the first anomaly, at {self.node_title(last.node)}"
                if self.origin is not None:
                    msg += f"; the nan/inf was born in {self.where(self.origin)} (press o)"
                self.log(msg + "; c runs on to the end")
                return Stop("anomaly", stop)
            hit = [a for a in last.accumulations if id(a.tensor) in self.shared.watches and _changed(a)]
            if hit:
                a = hit[0]
                self.state = "watch"
                self.log(f"watch: {self.leaf_name(a.tensor)}.grad changed {self._change(a)}")
                return Stop("watch", stop)
            nxt = self.next_node()
            if nxt is not None and self.breakpoint_key(nxt) in self.shared.breakpoints and nxt is not target:
                self.state = "breakpoint"
                self.log(f"breakpoint: stopped before {self.node_title(nxt)}")
                return Stop("breakpoint", nxt)
        self.state = "finished"
        self.log("finished: all nodes ran" if target is None else
                 f"finished: {self.node_title(target)} never became ready")
        return Stop("finished", stop)

    def finish(self) -> None:
        """Run every remaining step (after the debugger closes: .grad ends as backward() leaves it)."""
        while not self.bp.finished and self.error is None:
            self.step()

    @property
    def can_restart(self) -> bool:
        return self.retain_graph

    def restart(self) -> bool:
        """Restore the .grad values from before this call and set the pass up again."""
        if not self.can_restart:
            self.log("restart needs retain_graph=True (the graph's saved tensors are freed as it runs)")
            return False
        self.restore_grads(self._snapshot)
        for t in self.leaves:
            self.shared.history.setdefault(id(t), []).append(self._leaf_number(self.leaf_grad(t)))
        self._new_pass()
        self.log(f"restart #{self.passes - 1}: the leaves' .grad restored to what they were before this call, "
                 f"{self.total} nodes to run")
        return True

    def check_node(self, node: Any) -> Check | None:
        """Check the node's backward (g); logged, and kept for the inspector. None: it could not."""
        if node is None:
            self.log("check: select a node first")
            return None
        try:
            res = self._check(node)
        except Exception as e:  # the reason it cannot be checked, shown as it is
            why = str(e) or type(e).__name__
            self.checks[id(node)] = why
            self.log(f"check {self.node_title(node)}: cannot check: {why}")
            return None
        self.checks[id(node)] = res
        self.log(f"check {self.node_title(node)}: {'PASS' if res.ok else 'FAIL'}: {res.text}")
        return res

    # ------------------------------------------------------------------ marks
    def breakpoint_key(self, node: Any) -> tuple:
        """Breakpoints are on an op at a source line, so they hold in the script's next calls."""
        return (node.name, node.site) if node.site else ("node", id(node))

    def toggle_breakpoint(self, node: Any) -> bool:
        key = self.breakpoint_key(node)
        on = key not in self.shared.breakpoints
        (self.shared.breakpoints.add if on else self.shared.breakpoints.discard)(key)
        self.log(f"breakpoint on {self.node_title(node)} {'set' if on else 'removed'}")
        return on

    def has_breakpoint(self, node: Any) -> bool:
        return self.breakpoint_key(node) in self.shared.breakpoints

    def toggle_watch(self, node: Any) -> bool | None:
        if node is None or node.name != "AccumulateGrad":
            self.log("watch: select a leaf (an AccumulateGrad node) first")
            return None
        key = id(node.variable)
        on = key not in self.shared.watches
        (self.shared.watches.add if on else self.shared.watches.discard)(key)
        self.log(f"watch on {self.leaf_name(node.variable)}.grad {'set' if on else 'removed'}")
        return on

    def is_watched(self, node: Any) -> bool:
        return node.name == "AccumulateGrad" and id(node.variable) in self.shared.watches

    def toggle_anomaly(self) -> None:
        self.break_on_anomaly = not self.break_on_anomaly
        self.log(f"break on anomaly {'on' if self.break_on_anomaly else 'off'}")

    # ------------------------------------------------------------------ what the panels show
    def status_line(self) -> str:
        done = len(self.steps)
        parts = [f"{done}/{self.total} nodes"]
        nxt = self.next_node()
        if self.error is not None:
            parts.append(f"error: {type(self.error).__name__} (raised to the script when you quit)")
        elif nxt is None:
            skipped = self.total - done
            parts.append("finished" + (f" ({skipped} skipped: no gradient reached them)" if skipped else ""))
        else:
            parts.append(f"next: {self.node_title(nxt)}")
            parts.append({"paused": "paused", "breakpoint": "at a breakpoint", "watch": "a watched .grad changed",
                          "anomaly": "stopped on the first nan/inf"}.get(self.state, self.state))
        if self.anomalies:
            parts.append(f"{len(self.anomalies)} node(s) with nan/inf gradients (first: "
                         f"{self.node_title(self.anomalies[0].node)})")
        parts.append(f"break on nan: {'on' if self.break_on_anomaly else 'off'}")
        if self.shared.watches:
            parts.append(f"watching {len(self.shared.watches)}")
        return " · ".join(parts)

    def leaf_rows(self, constants: bool = False) -> list[LeafRow]:
        last = {id(a.tensor) for a in self.last_step.accumulations} if self.last_step is not None else set()
        rows = []
        for leaf in (self.constants if constants else self.leaves):
            acc = self.last_acc.get(id(leaf))
            before = fmt(self.grad_number(acc.before)) if acc else "-"
            after = fmt(self.grad_number(acc.after) if acc else self.grad_number(self.leaf_grad(leaf)))
            rows.append(LeafRow(leaf, self.leaf_name(leaf), self.leaf_shape(leaf), before, after,
                                self.shared.history.get(id(leaf), []), id(leaf) in self.shared.watches,
                                id(leaf) in last))
        return rows

    def leaf_ref(self, leaf: Any) -> TensorRef:
        """A leaf's .grad for the tensor view, with the before / after / delta of its last accumulation."""
        acc = self.last_acc.get(id(leaf))
        name = self.leaf_name(leaf)
        if acc is None:
            return TensorRef(f"{name}.grad", {"value": to_host(self.leaf_grad(leaf))})
        return self.accumulation_ref(acc)

    def accumulation_ref(self, acc: Any) -> TensorRef:
        after = to_host(acc.after)
        return TensorRef(f"{self.leaf_name(acc.tensor)}.grad",
                         {"after": after, "before": to_host(acc.before), "delta": to_host(acc.delta)},
                         changed_mask(acc.before, after))

    def inspect(self, node: Any, compact: bool = False) -> list[Entry]:
        """The inspector's items for a node (compact: shorter summaries, for a narrow pane)."""
        out: list[Entry] = []
        head = f"{self.node_title(node)}  [{self.status(node)}]"
        if self.has_breakpoint(node):
            head += "  ● breakpoint"
        g = self.group_of.get(id(node))
        if g:
            head += f"  in {g[1]}"
        out.append(Entry(head, "bold"))
        if node.formula:
            out.append(Entry(f"formula: {node.formula}", "italic"))
        if node.site:
            out.append(Entry(f"forward: {short_path(node.site[0])}:{node.site[1]} in {node.site[2]}", "cyan"))
        if node is self.origin:
            out.append(Entry("nan/inf first appears in this op's forward output" + (
                "" if self.origin_certain else " (as far as saved values tell: an input's value is unknown)"),
                "bold red"))
        out.extend(self.value_lines(node))
        chk = self.checks.get(id(node))
        if isinstance(chk, Check):
            out.append(Entry(f"check (g): {'PASS' if chk.ok else 'FAIL'}: {chk.text}",
                             "bold green" if chk.ok else "bold red"))
            out.extend(Entry("  " + d, "" if chk.ok else "red") for d in chk.details)
        elif chk is not None:
            out.append(Entry(f"check (g): cannot check: {chk}", "yellow"))
        st = self.steps.get(id(node))
        if st is not None:
            for i, gi in enumerate(st.grads_in):
                out.append(self._value_entry(node, f"grad in [{i}]", gi, compact))
            for i, ((nx, _), go) in enumerate(zip(node.next_functions, st.grads_out)):
                if i == INSPECT_MAX:
                    out.append(Entry(f"... {len(st.grads_out) - i} more gradients out", "dim"))
                    break
                out.append(self._value_entry(node, f"grad out[{i}] → {self.node_title(nx)}", go, compact))
            for acc in st.accumulations:
                ref = self.accumulation_ref(acc)
                n_changed = int(ref.changed.sum()) if ref.changed is not None else 0
                size = ref.views["after"].size if ref.views["after"] is not None else 0
                what = ("first gradient (no .grad before)" if acc.before is None else
                        f"{n_changed} of {size} values changed" if n_changed else "no value changed")
                out.append(Entry(f"{ref.label}: before {fmt(self.grad_number(acc.before))} → after "
                                 f"{fmt(self.grad_number(acc.after))}; {what}", "", ref))
        elif node in self.bp.buffers:
            out.append(self._value_entry(node, "grad in (so far)", self.bp.buffers[node], compact))
        elif self.status(node) == "skipped":
            out.append(Entry("no gradient reached this node: it did not run", "dim"))
        else:
            out.append(Entry("no gradient has arrived yet", "dim"))
        saved = node.saved_arrays()
        for i, (k, v) in enumerate(saved.items()):
            if i == INSPECT_MAX:
                out.append(Entry(f"... {len(saved) - i} more saved values", "dim"))
                break
            out.append(self._value_entry(node, f"saved {self.saved_label(node, k)}", v, compact))
        if not saved and not self.retain_graph and id(node) in self.steps and node.name != "AccumulateGrad":
            out.append(Entry("saved values freed after it ran (retain_graph=False)", "dim"))
        if node.stack:
            frames = [f"  {os.path.basename(f.filename)}:{f.lineno} in {f.name}" + (f": {f.line.strip()}" if f.line else "")
                      for f in node.stack[-4:]]
            out.append(Entry("forward traceback (anomaly mode), innermost last:\n" + "\n".join(frames), "dim"))
        return out

    def _value_entry(self, node: Any, label: str, value: Any, compact: bool = False) -> Entry:
        a = to_host(value)
        return Entry(f"{label}: {summary_text(a, compact)}", "red" if has_anomaly(a) else "",
                     TensorRef(f"{self.node_title(node)}: {label}", {"value": a}))


def _changed(acc: Any) -> bool:
    m = changed_mask(acc.before, acc.after)
    return m is not None and bool(m.any())


def _custom_function(node: Any) -> Any:
    """The custom autograd.Function class a node was made by, or None."""
    from nbgrad.autograd.function import BackwardCFunction

    return node.function if isinstance(node, BackwardCFunction) else None


def _source_of(fn: Any) -> str:
    """file:line of a function's definition ("" when unknown)."""
    import inspect

    fn = getattr(fn, "__func__", fn)
    try:
        path = inspect.getsourcefile(fn)
        lines, line = inspect.getsourcelines(fn)
    except (TypeError, OSError):
        return ""
    line += next((k for k, t in enumerate(lines) if t.lstrip().startswith(("def ", "async def "))), 0)
    return f"{short_path(path)}:{line}" if path else ""


class TensorSession(Session):
    """A backward call on nbgrad Tensors."""

    kind = "tensor"

    def __init__(self, make_pass: Callable[[], Any], roots: list, names: dict | None = None, *,
                 calls: list | None = None, **kw: Any) -> None:
        self.roots = roots
        self._module_calls = calls
        super().__init__(make_pass, names, **kw)

    def _make_names(self) -> dict[int, str]:
        import nbgrad as ng

        out: dict[int, str] = {}
        in_pass = {id(n) for n in self.nodes}
        for t, name in self._objects:
            if isinstance(t, ng.Tensor) and t.grad_fn is not None and id(t.grad_fn) in in_pass:
                out.setdefault(id(t.grad_fn), name)
        return out

    def _groups(self) -> dict[int, tuple[str, str]]:
        out = groups_mod.assign(self.nodes, self.names, self._module_calls)
        out.update(groups_mod.backward_of_groups(self.nodes))  # made by a create_graph backward
        return out

    def _find_origin(self) -> tuple[Any, bool]:
        roots = [(r.grad_fn, r) for r in self.roots if r.grad_fn is not None]
        return tensor_origin(self.nodes, roots)

    def _check(self, node: Any) -> Check:
        from nbgrad.autograd import check_node

        if node.name == "AccumulateGrad":
            raise RuntimeError("an AccumulateGrad adds into .grad: it has no derivative to check")
        r = check_node(node)
        text = (f"largest error {r.max_abs_error:.3g} (relative {r.max_rel_error:.3g}) against central finite "
                "differences in float64")
        if not r.ok and any(has_anomaly(v) for v in node.saved_arrays().values()):
            text += "; its inputs hold nan/inf, where finite differences say nothing"
        details = [f"{k}: max abs error {a:.3g}, max rel error {rel:.3g}" for k, (a, rel) in r.per_input.items()]
        return Check(r.ok, text, details)

    def leaf_grad(self, leaf: Any) -> Any:
        return leaf.grad

    def leaf_shape(self, leaf: Any) -> str:
        return str(tuple(leaf.shape))

    def node_value(self, node: Any) -> str:
        return str(tuple(node.output_shape))

    def value_lines(self, node: Any) -> list[Entry]:
        dt = str(node.output_dtype).replace("nbgrad.", "")
        out = [Entry(f"output: {tuple(node.output_shape)} {dt}")]
        fn = _custom_function(node)
        if fn is not None:  # a custom autograd.Function: where its forward and backward are written
            for part in ("forward", "backward"):
                where = _source_of(getattr(fn, part, None))
                if where:
                    out.append(Entry(f"{fn.__name__}.{part}: {where}", "cyan"))
        return out

    def saved_label(self, node: Any, key: str) -> str:
        return f"ctx.saved_tensors[{key}]" if _custom_function(node) is not None else key

    def root_text(self) -> str:
        r = self.roots[0]
        name = self.names.get(id(r))
        fn = r.grad_fn.name if r.grad_fn is not None else "a leaf"
        s = f"{name + ' = ' if name else ''}{tuple(r.shape)} {str(r.dtype).replace('nbgrad.', '')} ← {fn}"
        return s + (f" (+{len(self.roots) - 1} more roots)" if len(self.roots) > 1 else "")

    def snapshot_grads(self) -> Any:
        return [(t, None if t.grad is None else t.grad.detach().clone()) for t in self.all_leaves]

    def restore_grads(self, snap: Any) -> None:
        for t, g in snap:
            t.grad = None if g is None else g.clone()


def _sigmoid(x: float) -> float:
    import math

    return 1.0 / (1.0 + math.exp(-x))


_SCALAR_FORWARD: dict[str, Callable[[list[float], float], float]] = {  # the scalar engine's ops, by node name
    "AddBackward0": lambda v, c: v[0] + v[1], "MulBackward0": lambda v, c: v[0] * v[1],
    "PowBackward0": lambda v, c: v[0] ** c, "LogBackward0": lambda v, c: float(np.log(v[0])),
    "ReluBackward0": lambda v, c: max(v[0], 0.0), "TanhBackward0": lambda v, c: float(np.tanh(v[0])),
    "ExpBackward0": lambda v, c: float(np.exp(v[0])), "SigmoidBackward0": lambda v, c: _sigmoid(v[0]),
}


class ScalarSession(Session):
    """A backward call on nbgrad.scalar Values (the tape keeps every forward value)."""

    kind = "scalar"
    grad_heading = "grad"  # a scalar's gradient keeps its sign
    change_format = "{0} → {1}"

    def __init__(self, make_pass: Callable[[], Any], root: Any, names: dict | None = None, **kw: Any) -> None:
        self.root = root
        kw.setdefault("retain_graph", True)  # the tape keeps its values: a pass can always run again
        super().__init__(make_pass, names, **kw)

    def _make_names(self) -> dict[int, str]:
        from nbgrad.scalar import Value

        out: dict[int, str] = {}
        for obj, name in self._objects:
            if isinstance(obj, Value):
                n = self.bp.node_of(obj)
                if n is not None and n.name != "AccumulateGrad":
                    out.setdefault(id(n), name)
        return out

    def _find_origin(self) -> tuple[Any, bool]:
        return scalar_origin(self.nodes, self._value)

    @staticmethod
    def _value(node: Any) -> float:
        return node.tape.get_val(node.index)

    def is_constant(self, node: Any) -> bool:
        return bool(node.constant) and id(node.variable) not in self.names

    def _check(self, node: Any) -> Check:
        """The kernel's local derivative at the recorded values against central differences."""
        import math

        from nbgrad.scalar.steps import local_grads

        if node.name == "AccumulateGrad":
            raise RuntimeError("an AccumulateGrad adds into .grad: it has no derivative to check")
        fwd = _SCALAR_FORWARD.get(node.name)
        if fwd is None:
            raise RuntimeError(f"no forward known for {node.name}")
        T, i = node.tape, node.index
        c = float(T.const[i])
        xs = [self._value(nx) for nx, _ in node.next_functions]
        analytic = local_grads(int(T.op[i]), i, int(T.a[i]), T.val, T.const, 1.0, int(T.b[i]))
        ok, worst, worst_rel, details = True, 0.0, 0.0, []
        for k, (x, an) in enumerate(zip(xs, analytic)):
            eps = 1e-6 * max(1.0, abs(x))
            lo, hi = list(xs), list(xs)
            lo[k], hi[k] = x - eps, x + eps
            num = (fwd(hi, c) - fwd(lo, c)) / (2 * eps)
            err = abs(an - num)
            rel = err / max(abs(num), 1e-12)
            worst, worst_rel = max(worst, err), max(worst_rel, rel)
            ok = ok and math.isclose(an, num, rel_tol=1e-4, abs_tol=1e-6)
            details.append(f"input {k}: backward {an:.6g}, finite differences {num:.6g}")
        return Check(ok, f"largest error {worst:.3g} (relative {worst_rel:.3g}) against central finite "
                         "differences", details)

    def grad_number(self, a: Any) -> float | None:
        return scalar_value(a)

    def leaf_grad(self, leaf: Any) -> Any:
        return leaf.grad

    def leaf_shape(self, leaf: Any) -> str:
        return f"={leaf.data:.4g}"

    def leaf_name(self, t: Any) -> str:
        return self.names.get(id(t)) or f"value({t.data:g})"

    def node_value(self, node: Any) -> str:
        return f"={self._value(node):.4g}"

    def value_lines(self, node: Any) -> list[Entry]:
        g = node.tape.get_grad(node.index)
        return [Entry(f"value: data={self._value(node):.6g} grad={g:.6g}")]

    def root_text(self) -> str:
        name = self.names.get(id(self.root))
        return f"{name + ' = ' if name else ''}Value(data={self.root.data:.6g}) ← {self.nodes[0].name}"

    def snapshot_grads(self) -> Any:
        return self.bp.snapshot()

    def restore_grads(self, snap: Any) -> None:
        self.bp.restore(snap)


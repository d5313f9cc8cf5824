"""The nbgrad-tui application: step through one backward pass node by node."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Log, Static, Tree

from .stats import has_anomaly, norm, summary, value_table

HELP = """\
nbgrad-tui: one backward pass, one node at a time

  n / space  step: run the next ready node
  c          continue until a breakpoint, an anomaly (nan/inf) or the end
  b          toggle a breakpoint on the selected node (stops before it runs)
  a          toggle break-on-anomaly (on by default)
  r          restart: restore leaf grads and run the pass again (needs retain_graph=True)
  ?          this help
  q          quit (the remaining steps are run, so .grad ends as backward() leaves it)

Graph: root first; status is waiting / ready / done; '●' marks a breakpoint;
a node reached twice is shown once, then as a reference '↪'.
Press escape or ? to close."""


class HelpScreen(ModalScreen):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: 90; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help_close")]

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help_text")


class DebuggerApp(App):
    """Debugger for one BackwardPass built from (root, gradient, retain_graph)."""

    TITLE = "nbgrad-tui"
    CSS = """
    #main { height: 1fr; }
    #graph { width: 45%; border: round $primary; }
    #right { width: 55%; }
    #inspector { height: 2fr; border: round $secondary; }
    #leaves { height: auto; max-height: 12; border: round $secondary; }
    #log { height: 1fr; min-height: 5; border: round $secondary; }
    #progress { height: 1; background: $boost; padding: 0 1; }
    """
    BINDINGS = [
        Binding("n", "step", "Step", id="step"),
        Binding("space", "step", "Step", show=False, priority=True, id="step_space"),
        Binding("c", "continue", "Continue", id="continue"),
        Binding("b", "toggle_breakpoint", "Breakpoint", id="breakpoint"),
        Binding("a", "toggle_anomaly", "Break on nan", id="anomaly"),
        Binding("r", "restart", "Restart", id="restart"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self, root: Any, gradient: Any = None, retain_graph: bool | None = None,
        names: dict | None = None, auto_continue: bool = False, title: str | None = None,
    ) -> None:
        super().__init__()
        self.root = root
        self.gradient = gradient
        self.retain_graph = bool(retain_graph)
        self.auto_continue = auto_continue
        if title:
            self.sub_title = title
        self.names: dict[int, str] = {}
        for k, v in (names or {}).items():
            if isinstance(k, str):
                self.names[id(v)] = k
            else:
                self.names[id(k)] = str(v)
        self.breakpoints: set[int] = set()
        self.break_on_anomaly = True
        self.events: list[str] = []
        self.order: list[Any] = []  # nodes in the order they ran (this pass)
        self.last_acc: dict[int, Any] = {}  # id(leaf) -> last Accumulation
        self.state = "paused"
        self._tree_nodes: dict[int, list] = {}
        self._pass_no = 0
        self._new_pass()
        self._initial_grads = {id(t): (t, None if t._grad is None else t._grad._data.copy()) for t in self.leaves}

    # ------------------------------------------------------------------ model
    def _new_pass(self) -> None:
        import nbgrad as ng

        self.bp = ng.autograd.backward_pass(self.root, self.gradient, self.retain_graph, record_values=True)
        self.steps: dict[int, Any] = {}
        self.order = []
        self.last_acc = {}
        self.anomalies: list[Any] = []
        self._pass_no += 1
        self.index = {id(n): i for i, n in enumerate(self.bp.nodes)}
        self.leaves = [n.variable for n in self.bp.nodes if n.name == "AccumulateGrad"]
        self.error: BaseException | None = None
        # nodes whose saved forward values already hold nan/inf: where a NaN was born
        self.saved_bad = {id(n) for n in self.bp.nodes if any(has_anomaly(v) for v in n.saved_arrays().values())}

    def leaf_name(self, t: Any) -> str:
        if id(t) in self.names:
            return self.names[id(t)]
        if getattr(t, "_name", None):
            return t._name
        return "leaf" + str(list(t.shape))

    def status(self, node: Any) -> str:
        if id(node) in self.steps:
            return "done"
        if any(n is node for n in self.bp.ready()):
            return "ready"
        return "waiting"

    def next_node(self) -> Any:
        r = self.bp.ready()
        return r[0] if r else None

    def run_one(self) -> Any:
        """Run one step; log it; return the Step (None when finished)."""
        if self.bp.finished or self.error is not None:
            return None
        nxt = self.next_node()
        try:
            st = self.bp.step()
        except Exception as e:  # what backward() would raise: show it, re-raise after quit
            self.error = e
            self.state = "error"
            self.log_event(f"ERROR in {self.node_title(nxt)}: {type(e).__name__}: {e}")
            return None
        self.steps[id(st.node)] = st
        self.order.append(st.node)
        for acc in st.accumulations:
            self.last_acc[id(acc.tensor)] = acc
        msg = f"step {st.index + 1}: {self.node_title(st.node)}"
        for acc in st.accumulations:
            msg += f" → {self.leaf_name(acc.tensor)}.grad |{_fmt(norm(acc.before))}→{_fmt(norm(acc.after))}|"
        self.log_event(msg)
        bad = [g for g in (*st.grads_in, *st.grads_out, *(a.after for a in st.accumulations)) if has_anomaly(g)]
        if bad:
            self.anomalies.append(st)
            self.log_event(f"ANOMALY at {self.node_title(st.node)}: nan/inf in gradient ({summary(bad[0])})")
        return st

    def node_title(self, node: Any) -> str:
        s = f"#{self.index.get(id(node), '?')} {node.name}"
        if node.name == "AccumulateGrad":
            s += f"({self.leaf_name(node.variable)})"
        return s

    def finish(self) -> None:
        """Run every remaining step (used after the app quits)."""
        while not self.bp.finished and self.error is None:
            self.run_one()

    def log_event(self, msg: str) -> None:
        self.events.append(msg)
        if self.is_mounted_log:
            self.query_one("#log", Log).write_line(msg)

    @property
    def is_mounted_log(self) -> bool:
        try:
            self.query_one("#log", Log)
            return True
        except Exception:
            return False

    # ------------------------------------------------------------------ UI
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Tree("graph", id="graph")
            with Vertical(id="right"):
                with VerticalScroll(id="inspector"):
                    yield Static(id="inspector_body")
                yield Static(id="leaves")
                yield Log(id="log", max_lines=2000)
        yield Static(id="progress")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#graph").border_title = "graph (root first)"
        self.query_one("#inspector").border_title = "node"
        self.query_one("#leaves").border_title = "leaves"
        self.query_one("#log").border_title = "events"
        self._build_tree()
        for e in self.events:
            self.query_one("#log", Log).write_line(e)
        self.log_event(f"backward pass over {self.bp.total} nodes; ready: {self.node_title(self.next_node())}"
                       if self.next_node() is not None else "nothing to run")
        self.refresh_views()
        if self.auto_continue:
            self.call_after_refresh(self._autopilot)

    def _autopilot(self) -> None:
        self.finish()
        self.exit()

    def _build_tree(self) -> None:
        tree = self.query_one("#graph", Tree)
        tree.clear()
        tree.show_root = False
        self._tree_nodes = {}
        seen: set[int] = set()
        # the roots of the pass (nobody points at them), root first
        pointed = {id(nx) for n in self.bp.nodes for nx, _ in n.next_functions if nx is not None}
        roots = [n for n in self.bp.nodes if id(n) not in pointed]

        def add(parent: Any, node: Any) -> None:
            ref = id(node) in seen
            has_kids = any(nx is not None for nx, _ in node.next_functions)
            if ref or not has_kids:
                tn = parent.add_leaf("", data=(node, ref))
            else:
                tn = parent.add("", data=(node, ref), expand=True)
            self._tree_nodes.setdefault(id(node), []).append(tn)
            if ref:
                return
            seen.add(id(node))
            for nx, _ in node.next_functions:
                if nx is not None:
                    add(tn, nx)

        for r in roots:
            add(tree.root, r)
        tree.root.expand()
        self._label_tree()
        if roots:
            tree.move_cursor(self._tree_nodes[id(roots[0])][0])

    def _label_tree(self) -> None:
        ready = {id(n) for n in self.bp.ready()}
        for nid, tns in self._tree_nodes.items():
            for tn in tns:
                node, ref = tn.data
                st = "done" if nid in self.steps else "ready" if nid in ready else "waiting"
                t = Text()
                if nid in self.breakpoints:
                    t.append("● ", "bold red")
                if ref:
                    t.append(f"↪ {self.node_title(node)} (see above)", "dim italic")
                    tn.set_label(t)
                    continue
                t.append(self.node_title(node), "bold")
                t.append(f" {tuple(node.output_shape)}")
                style = {"done": "green", "ready": "yellow bold", "waiting": "dim"}[st]
                t.append(f" [{st}]", style)
                if nid in {id(s.node) for s in self.anomalies}:
                    t.append(" NaN/Inf", "bold red")
                if nid in self.saved_bad:
                    t.append(" saved NaN/Inf", "magenta")
                if node.site:
                    t.append(f" {os.path.basename(node.site[0])}:{node.site[1]}", "cyan")
                tn.set_label(t)

    def selected_node(self) -> Any:
        tn = self.query_one("#graph", Tree).cursor_node
        if tn is None or tn.data is None:
            return None
        return tn.data[0]

    def select(self, node: Any) -> None:
        if node is None or id(node) not in self._tree_nodes:
            return
        self.query_one("#graph", Tree).move_cursor(self._tree_nodes[id(node)][0])
        self._show_node(node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None:
            self._show_node(event.node.data[0])

    def _show_node(self, node: Any) -> None:
        parts: list[Any] = []
        head = Text(self.node_title(node), "bold")
        head.append(f"  [{self.status(node)}]")
        if id(node) in self.breakpoints:
            head.append("  ● breakpoint", "red")
        parts.append(head)
        if node.formula:
            parts.append(Text(f"formula: {node.formula}", "italic"))
        if node.site:
            parts.append(Text(f"forward: {node.site[0]}:{node.site[1]} in {node.site[2]}", "cyan"))
        dt = str(node.output_dtype).replace("nbgrad.", "")
        parts.append(Text(f"output: {tuple(node.output_shape)} {dt}  seq={node.sequence_nr}"))
        st = self.steps.get(id(node))

        def arr(label: str, a: Any) -> None:
            parts.append(Text(f"{label}: {summary(a)}", "red" if has_anomaly(a) else ""))
            vt = value_table(a)
            if vt is not None:
                parts.append(vt)

        if st is not None:
            for i, g in enumerate(st.grads_in):
                arr(f"grad in [{i}]", g)
            for i, ((nx, _), g) in enumerate(zip(node.next_functions, st.grads_out)):
                to = self.node_title(nx) if nx is not None else "-"
                arr(f"grad out[{i}] → {to}", g)
            for acc in st.accumulations:
                arr(f"{self.leaf_name(acc.tensor)}.grad before", acc.before)
                arr(f"{self.leaf_name(acc.tensor)}.grad after", acc.after)
        elif node in self.bp.buffers:
            arr("grad in (so far)", self.bp.buffers[node])
        else:
            parts.append(Text("no gradient has arrived yet", "dim"))
        saved = node.saved_arrays()
        if saved:
            for k, v in saved.items():
                arr(f"saved {k}", v)
        elif getattr(node, "_released", False):
            parts.append(Text("saved tensors released (retain_graph=False)", "dim"))
        self.inspector = Group(*parts)
        self.query_one("#inspector_body", Static).update(self.inspector)

    def refresh_views(self) -> None:
        self._label_tree()
        n = self.selected_node()
        if n is not None:
            self._show_node(n)
        t = Table(box=None, padding=(0, 1))
        for c in ("leaf", "shape", "|grad| before", "|grad| after"):
            t.add_column(c)
        for leaf in self.leaves:
            acc = self.last_acc.get(id(leaf))
            before = _fmt(norm(acc.before)) if acc else "-"
            after = _fmt(norm(acc.after)) if acc else _fmt(norm(leaf._grad))
            t.add_row(self.leaf_name(leaf), str(tuple(leaf.shape)), before, after)
        self.leaves_table = t
        self.query_one("#leaves", Static).update(t)
        if self.error is not None:
            self.state = "error"
        k = len(self.steps)
        msg = f"{k}/{self.bp.total} nodes"
        nxt = self.next_node()
        msg += "  finished" if nxt is None else f"  next: {self.node_title(nxt)}"
        msg += f"  [{self.state}]  break-on-anomaly: {'on' if self.break_on_anomaly else 'off'}"
        self.query_one("#progress", Static).update(Text(msg))

    @property
    def progress_text(self) -> str:
        return f"{len(self.steps)}/{self.bp.total} nodes"

    # ------------------------------------------------------------------ actions
    def action_step(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        st = self.run_one()
        if st is None:
            if self.error is None:
                self.log_event("finished: nothing left to run")
                self.state = "finished"
            else:
                self.bell()
        else:
            self.state = "finished" if self.bp.finished else "paused"
            self.select(st.node)
        self.refresh_views()

    def action_continue(self) -> None:
        if self.bp.finished or self.error is not None:
            self.log_event("finished: nothing left to run" if self.error is None else "stopped: the pass raised an error")
            self.refresh_views()
            return
        last = None
        while not self.bp.finished:
            n_anom = len(self.anomalies)
            last = self.run_one()
            if last is None:  # an error
                self.refresh_views()
                return
            if self.break_on_anomaly and len(self.anomalies) > n_anom:
                self.state = "anomaly"
                self.log_event(f"stopped on anomaly at {self.node_title(last.node)}")
                self.select(last.node)
                self.refresh_views()
                return
            nxt = self.next_node()
            if nxt is not None and id(nxt) in self.breakpoints:
                self.state = "breakpoint"
                self.log_event(f"breakpoint: stopped before {self.node_title(nxt)}")
                self.select(nxt)
                self.refresh_views()
                return
        self.state = "finished"
        self.log_event("finished: all nodes ran")
        if last is not None:
            self.select(last.node)
        self.refresh_views()

    def action_toggle_breakpoint(self) -> None:
        node = self.selected_node()
        if node is None:
            return
        if id(node) in self.breakpoints:
            self.breakpoints.discard(id(node))
            self.log_event(f"breakpoint removed: {self.node_title(node)}")
        else:
            self.breakpoints.add(id(node))
            self.log_event(f"breakpoint set: {self.node_title(node)}")
        self.refresh_views()

    def action_toggle_anomaly(self) -> None:
        self.break_on_anomaly = not self.break_on_anomaly
        self.log_event(f"break on anomaly {'on' if self.break_on_anomaly else 'off'}")
        self.refresh_views()

    def action_restart(self) -> None:
        if not self.retain_graph:
            self.log_event("restart needs retain_graph=True (the graph's saved tensors are freed as it runs)")
            return
        import nbgrad as ng

        for t, g in self._initial_grads.values():
            t._grad = None if g is None else ng.Tensor._wrap(g.copy(), t._backend)
        self._new_pass()
        self.state = "paused"
        self.log_event(f"restart #{self._pass_no - 1}: leaf grads restored, {self.bp.total} nodes to run")
        self._label_tree()
        self.select(self.next_node())
        self.refresh_views()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def _fmt(x: float | None) -> str:
    return "None" if x is None else f"{x:.4g}" if np.isfinite(x) else str(x)

"""The nbgrad-tui application: step through one backward pass node by node."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Iterator

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Log, Static, Tree

from . import groups
from .stats import as_array, has_anomaly, heatmap, norm, sparkline, summary, value_table

HELP = """\
nbgrad-tui: one backward pass, one node at a time

  n / space  step: run the next ready node
  c          continue until a breakpoint, a watch, an anomaly (nan/inf) or the end
  t          run to the selected node (stop when it is the next to run)
  b          toggle a breakpoint on the selected node (stops before it runs)
  w          toggle a watch on the selected leaf (stops when its .grad changes)
  a          toggle break-on-anomaly (on by default)
  o          jump to the node where a nan/inf was born in the forward pass
  r          restart: restore leaf grads and run the pass again (needs retain_graph=True)
  ctrl+p     command palette: find a node by name and select it
  ?          this help
  q          quit (the remaining steps are run, so .grad ends as backward() leaves it)

Graph: root first; a chain of nodes is listed flat, other inputs are nested;
status is waiting / ready / done; '●' marks a breakpoint, '◎' a watched leaf;
a node reached twice is shown in full once, then as a reference '↪'. Nodes made
inside an nn.Module are grouped under its name (▣), three or more repeats of a
block fold into one group (≡ N × [...]); enter or a click collapses a group.
Leaves: |grad| before and after the last accumulation, and a sparkline of the
gradient norm across steps and backward calls.
Press escape or ? to close."""

EXPAND_LIMIT = 300  # larger graphs open with their groups and branches collapsed
LEAF_ROWS = 100  # rows shown in the leaves panel
INSPECT_MAX = 16  # gradients out / saved values shown per node


class HelpScreen(ModalScreen):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: 90; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help_close")]

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help_text")


class NodeCommands(Provider):
    """Command palette entries: one per graph node, selecting it."""

    def _entries(self) -> Iterator[tuple[str, Any]]:
        app = self.app
        assert isinstance(app, DebuggerApp)
        for node in app.bp.nodes:
            g = app.group_of.get(id(node))
            yield app.node_title(node) + (f"  [{g[0]}]" if g else ""), node

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        for title, node in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(app.select, node), help="select this node")

    async def discover(self) -> Hits:
        app = self.app
        for title, node in list(self._entries())[:50]:
            yield DiscoveryHit(title, partial(app.select, node), help="select this node")


class GraphTree(Tree):
    """A Tree whose labels are made from the app's state when a line is painted: a step
    repaints the few nodes it changed, and only visible lines are ever labelled."""

    def __init__(self, label_fn: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_fn = label_fn
        self.exact_width = True  # else estimate label widths (large graphs)

    def render_label(self, node: Any, base_style: Any, style: Any) -> Text:
        if node.data is not None:
            node._label = self.label_fn(node)  # Textual 8.2 keeps the label here (textual is pinned)
        return super().render_label(node, base_style, style)

    def repaint_all(self) -> None:
        self._invalidate()  # drops the line cache (Textual 8.2's Tree)

    def get_label_width(self, node: Any) -> int:
        if self.exact_width or node.data is None:
            return super().get_label_width(node)
        return 60


class DebuggerApp(App):
    """Debugger for one backward pass built from (root, gradient, retain_graph).

    root may be an nbgrad Tensor or an nbgrad.scalar.Value."""

    TITLE = "nbgrad-tui"
    COMMANDS = App.COMMANDS | {NodeCommands}
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
        Binding("t", "run_to", "Run to", id="run_to"),
        Binding("b", "toggle_breakpoint", "Breakpoint", id="breakpoint"),
        Binding("w", "toggle_watch", "Watch", id="watch"),
        Binding("a", "toggle_anomaly", "Break on nan", id="anomaly"),
        Binding("o", "origin", "NaN origin", id="origin"),
        Binding("r", "restart", "Restart", id="restart"),
        Binding("ctrl+p", "command_palette", "Find node", show=False, priority=True, id="palette"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self, root: Any, gradient: Any = None, retain_graph: bool | None = None,
        names: dict | None = None, auto_continue: bool = False, title: str | None = None,
        history: dict[int, list[float]] | None = None, watches: set[int] | None = None,
    ) -> None:
        super().__init__()
        from nbgrad.scalar import Value

        self.root = root
        self.scalar = isinstance(root, Value)
        self.gradient = gradient
        self.retain_graph = bool(retain_graph) or self.scalar  # the scalar tape keeps its values
        self.auto_continue = auto_continue
        if title:
            self.sub_title = title
        self.names: dict[int, str] = {}
        self.scalar_names: dict[int, str] = {}  # tape index -> name
        for k, v in (names or {}).items():
            k, v = (k, v) if isinstance(k, str) else (str(v), k)
            self.names[id(v)] = k
            if isinstance(v, Value):
                self.scalar_names[v._i] = k
        self.breakpoints: set[int] = set()
        self.watches: set[int] = set() if watches is None else watches  # id(leaf)
        self.break_on_anomaly = True
        self.events: list[str] = []
        self.order: list[Any] = []  # nodes in the order they ran (this pass)
        self.last_acc: dict[int, Any] = {}  # id(leaf) -> last Accumulation
        self.history: dict[int, list[float]] = {} if history is None else history  # id(leaf) -> |grad| norms
        self.state = "paused"
        self._tree_nodes: dict[int, list] = {}  # id(node) -> its TreeNodes (the first one is not a reference)
        self._group_tn: dict[int, tuple] = {}  # id(node) -> the TreeNodes of the groups it is in
        self._groups: dict[int, tuple] = {}  # id(group TreeNode) -> (TreeNode, title, [id(node)])
        self._log_buffer: list[str] | None = None
        self._leaf_rows = -1
        self._pass_no = 0
        self._new_pass()
        self.group_of = {} if self.scalar else groups.assign(self.bp.nodes, self.names)
        if self.scalar:
            self._initial_snap = self.bp.snapshot()
        else:
            self._initial_grads = {id(t): (t, None if t._grad is None else t._grad._data.copy()) for t in self.leaves}
        for t in self.leaves:
            h = self.history.setdefault(id(t), [])
            if not h:
                h.append(_norm0(self.leaf_grad(t)))

    # ------------------------------------------------------------------ model
    def _new_pass(self) -> None:
        if self.scalar:
            from nbgrad.scalar.steps import ScalarBackwardPass

            self.bp = ScalarBackwardPass(self.root)
        else:
            import nbgrad as ng

            self.bp = ng.autograd.backward_pass(self.root, self.gradient, self.retain_graph, record_values=True)
        self.steps: dict[int, Any] = {}
        self.order = []
        self.last_acc = {}
        self.last_step: Any = None
        self.anomalies: list[Any] = []
        self._bad_ids: set[int] = set()  # nodes with nan/inf in a gradient
        self._pass_no += 1
        self.index = {id(n): i for i, n in enumerate(self.bp.nodes)}
        self.leaves = [n.variable for n in self.bp.nodes if n.name == "AccumulateGrad"]
        self.error: BaseException | None = None
        self._ready_ids = self._ready_now()
        # nodes whose saved forward values already hold nan/inf
        self.saved_bad = {id(n) for n in self.bp.nodes if any(has_anomaly(v) for v in n.saved_arrays().values())}
        self.origin = self._find_origin()

    def _find_origin(self) -> Any:
        """The first forward op (lowest sequence number) whose output is known to be non-finite.

        Sets origin_certain when every input of that op is known to be finite (else an earlier
        op whose output nobody saved may be where the nan/inf was born)."""
        self.origin_certain = False
        if self.scalar:
            val = self.bp.tape.val
            bad = [n for n in self.bp.nodes if not np.isfinite(val[n.index])]
            self.origin_certain = bool(bad)
            return min(bad, key=lambda n: n.sequence_nr) if bad else None
        finite: dict[int, bool] = {}  # id(node) -> is its forward output finite (where known)

        def learn(n: Any, ok: bool) -> None:
            finite[id(n)] = finite.get(id(n), True) and ok

        for c in self.bp.nodes:  # recorded by the core when the forward ran in anomaly mode
            if getattr(c, "forward_finite", None) is not None:
                learn(c, c.forward_finite)
        if self.root.grad_fn is not None:
            learn(self.root.grad_fn, not has_anomaly(self.root))
        for c in self.bp.nodes:
            if c.name == "AccumulateGrad":
                learn(c, not has_anomaly(c.variable))
            for sv in (getattr(c, "_saved", None) or {}).values():
                # the producer of a saved value: the consumer itself (a saved output) or one of its inputs
                src = sv.origin[len("output 0 of "):] if sv.origin.startswith("output 0 of ") else None
                if src is None:  # a leaf or a constant operand
                    if has_anomaly(sv.data):
                        learn(c, False)
                    continue
                cands = {id(n): n for n in (c, *(nx for nx, _ in c.next_functions if nx is not None))
                         if n.name == src and tuple(n.output_shape) == tuple(sv.shape)}
                if len(cands) == 1:
                    learn(next(iter(cands.values())), not has_anomaly(sv.data))
        bad = [n for n in self.bp.nodes if finite.get(id(n)) is False]
        if not bad:
            return None
        origin = min(bad, key=lambda n: n.sequence_nr)
        self.origin_certain = all(finite.get(id(nx)) is True for nx, _ in origin.next_functions if nx is not None)
        return origin

    def leaf_grad(self, t: Any) -> Any:
        """A leaf's .grad as an array (None when it has none)."""
        if self.scalar:
            return np.float64(t.grad)
        return None if t._grad is None else t._grad._data

    def leaf_name(self, t: Any) -> str:
        if self.scalar:
            return self.scalar_names.get(t._i) or f"value({t._d:g})"
        if id(t) in self.names:
            return self.names[id(t)]
        if getattr(t, "_name", None):
            return t._name
        return "leaf" + str(list(t.shape))

    def status(self, node: Any) -> str:
        if id(node) in self.steps:
            return "done"
        if id(node) in self._ready_ids:
            return "ready"
        return "waiting"

    def next_node(self) -> Any:
        return self.bp.next_node()

    def _ready_now(self) -> set[int]:
        return self.bp.ready_ids()

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
        self.last_step = st
        self.steps[id(st.node)] = st
        self.order.append(st.node)
        self._ready_ids = self._ready_now()
        msg = f"step {st.index + 1}: {self.node_title(st.node)}"
        for acc in st.accumulations:
            self.last_acc[id(acc.tensor)] = acc
            after = norm(acc.after)
            self.history.setdefault(id(acc.tensor), []).append(_norm0(acc.after))
            msg += f" → {self.leaf_name(acc.tensor)}.grad |{_fmt(norm(acc.before))}→{_fmt(after)}|"
        self.log_event(msg)
        bad = [g for g in (*st.grads_in, *st.grads_out, *(a.after for a in st.accumulations)) if has_anomaly(g)]
        if bad:
            self.anomalies.append(st)
            self._bad_ids.add(id(st.node))
            self.log_event(f"ANOMALY at {self.node_title(st.node)}: nan/inf in gradient ({summary(bad[0])})")
        return st

    def node_title(self, node: Any) -> str:
        s = f"#{self.index.get(id(node), '?')} {node.name}"
        if node.name == "AccumulateGrad":
            s += f"({self.leaf_name(node.variable)})"
        elif self.scalar and node.index in self.scalar_names:
            s += f" ({self.scalar_names[node.index]})"
        return s

    def finish(self) -> None:
        """Run every remaining step (used after the app quits)."""
        while not self.bp.finished and self.error is None:
            self.run_one()

    def log_event(self, msg: str) -> None:
        self.events.append(msg)
        if self._log_buffer is not None:
            self._log_buffer.append(msg)
        elif self.is_mounted_log:
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
            yield GraphTree(self.tree_label, "graph", id="graph")
            with Vertical(id="right"):
                with VerticalScroll(id="inspector"):
                    yield Static(id="inspector_body")
                with VerticalScroll(id="leaves"):
                    yield Static(id="leaves_body")
                yield Log(id="log", max_lines=2000)
        yield Static(id="progress")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#graph").border_title = "graph (root first)"
        self.query_one("#inspector").border_title = "node"
        self.query_one("#leaves").border_title = "leaves"
        self.query_one("#log").border_title = "events"
        self._build_tree()
        self.query_one("#log", Log).write_lines(self.events)
        nxt = self.next_node()
        self.log_event(f"backward pass over {self.bp.total} nodes; ready: {self.node_title(nxt)}"
                       if nxt is not None else "nothing to run")
        if self.origin is not None:
            self.log_event(f"forward: nan/inf first appears in the output of {self._where(self.origin)} (o jumps there)")
        self.refresh_views(set())
        if self.auto_continue:
            self.call_after_refresh(self._autopilot)

    def _where(self, node: Any) -> str:
        s = self.node_title(node)
        if node.site:
            s += f" at {os.path.basename(node.site[0])}:{node.site[1]}"
        return s

    def _autopilot(self) -> None:
        self.finish()
        self.exit()

    def _build_tree(self) -> None:
        """Lay the graph out from the root: each node's first-created non-leaf input continues
        the list at the same level (so chains stay flat), its other inputs are nested under it.
        Nodes of one nn.Module, and runs of three or more repeated blocks, become groups."""
        tree = self.query_one("#graph", GraphTree)
        tree.clear()
        tree.show_root = False
        self._tree_nodes = {}
        self._group_tn = {}
        self._groups = {}
        expand = self.bp.total <= EXPAND_LIMIT
        tree.exact_width = expand
        top = self._layout()
        # materialise: (TreeNode to add to, items, the enclosing groups' TreeNodes)
        work: list[tuple[Any, list[_Item], tuple]] = [(tree.root, top, ())]
        while work:
            parent, items, gtns = work.pop()
            for it in items:
                if it.node is None:
                    tn = parent.add("", data=("group", it.key), expand=expand)
                    self._groups[id(tn)] = (tn, it.title, [])
                    work.append((tn, it.kids, (*gtns, tn)))
                    continue
                if it.kids:
                    tn = parent.add("", data=(it.node, it.ref), expand=expand)
                    work.append((tn, it.kids, gtns))
                else:
                    tn = parent.add_leaf("", data=(it.node, it.ref))
                self._tree_nodes.setdefault(id(it.node), []).append(tn)
                if gtns and not it.ref:
                    self._group_tn[id(it.node)] = gtns
                    for g in gtns:
                        self._groups[id(g)][2].append(id(it.node))
        tree.root.expand()
        if top:
            first = top[0]
            while first.node is None:
                first = first.kids[0]
            self.select(first.node)

    def _layout(self) -> list[_Item]:
        """The graph as nested lists of items (before any TreeNode is made)."""
        pointed = {id(nx) for n in self.bp.nodes for nx, _ in n.next_functions if nx is not None}
        roots = [r for r in self.bp.nodes if id(r) not in pointed]
        claimed = {id(r) for r in roots}  # a node is shown in full where it is first claimed
        top: list[_Item] = []
        # (list to append to, first node of a chain, the list's module group, a reference?)
        work: list[tuple[list, Any, Any, bool]] = [(top, r, None, False) for r in reversed(roots)]
        while work:
            parent, node, pctx, ref = work.pop()
            while node is not None:
                g = self.group_of.get(id(node))
                cont, ctx = parent, pctx
                if g is not None and (pctx is None or g[0] != pctx[0]):  # into the module's group
                    if not (parent and parent[-1].node is None and parent[-1].key == g[0]):
                        parent.append(_Item(None, key=g[0], title=g[1]))
                    cont, ctx = parent[-1].kids, g
                kids = [nx for nx, _ in node.next_functions if nx is not None] if not ref else []
                trunk = [k for k in kids if k.name != "AccumulateGrad" and id(k) not in claimed]
                spine = min(trunk, key=lambda k: k.sequence_nr) if trunk else None
                if spine is not None:
                    claimed.add(id(spine))
                it = _Item(node, ref)
                cont.append(it)
                pushes = []
                for k in kids:
                    if k is not spine:
                        pushes.append((it.kids, k, ctx, id(k) in claimed))
                        claimed.add(id(k))
                work.extend(reversed(pushes))
                node, ref = spine, False
        stack = [top]
        while stack:
            items = stack.pop()
            items[:] = _fold_repeats(items)
            for it in items:  # fold inside each item (inside a fold: inside its blocks, not the fold again)
                stack.extend([k.kids for k in it.kids if k.kids] if it.key.startswith("×") else [it.kids])
        return top

    def _label_tree(self, ids: Any = None, refs: bool = False) -> None:
        """Repaint the tree nodes of `ids` (every node when None) and their groups; references
        only with `refs` (their labels change only with breakpoints and watches)."""
        if ids is None:
            self.query_one("#graph", GraphTree).repaint_all()
            return
        groups_: dict[int, Any] = {}
        for nid in ids:
            tns = self._tree_nodes.get(nid, ())
            for tn in tns if refs else tns[:1]:
                tn.refresh()
            for g in self._group_tn.get(nid, ()):
                groups_[id(g)] = g
        for g in groups_.values():
            g.refresh()

    def tree_label(self, tn: Any) -> Text:
        """The label of a graph tree node, from the current state (drawn when its line is painted)."""
        if tn.data[0] == "group":
            _, title, members = self._groups[id(tn)]
            done = sum(m in self.steps for m in members)
            t = Text(f"≡ {title}" if tn.data[1].startswith("×") else f"▣ {title}", "bold magenta")
            t.append(f"  {done}/{len(members)} done", "green" if done == len(members) else "dim")
            return t
        node, ref = tn.data
        return self._label(node, ref, id(node) in self._bad_ids)

    def _label(self, node: Any, ref: bool, anomalous: bool) -> Text:
        nid = id(node)
        t = Text()
        if nid in self.breakpoints:
            t.append("● ", "bold red")
        if node.name == "AccumulateGrad" and id(node.variable) in self.watches:
            t.append("◎ ", "bold blue")
        if ref:
            t.append(f"↪ {self.node_title(node)} (a reference: shown in full once)", "dim italic")
            return t
        st = self.status(node)
        t.append(self.node_title(node), "bold")
        if self.scalar:
            t.append(f" ={float(self.bp.tape.val[node.index]):.4g}")
        else:
            t.append(f" {tuple(node.output_shape)}")
        t.append(f" [{st}]", {"done": "green", "ready": "yellow bold", "waiting": "dim"}[st])
        if anomalous:
            t.append(" NaN/Inf", "bold red")
        if node is self.origin:
            t.append(" ☠ NaN born here" if self.origin_certain else " ☠ first op known to output NaN",
                     "bold red reverse")
        elif nid in self.saved_bad:
            t.append(" saved NaN/Inf", "magenta")
        if node.site:
            t.append(f" {os.path.basename(node.site[0])}:{node.site[1]}", "cyan")
        return t

    def selected_node(self) -> Any:
        tn = self.query_one("#graph", Tree).cursor_node
        if tn is None or tn.data is None or tn.data[0] == "group":
            return None
        return tn.data[0]

    def select(self, node: Any) -> None:
        if node is None or id(node) not in self._tree_nodes:
            return
        tn = self._tree_nodes[id(node)][0]
        p = tn.parent
        while p is not None:
            if not p.is_expanded:
                p.expand()
            p = p.parent
        self.query_one("#graph", Tree).move_cursor(tn)
        self._show_node(node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None and event.node.data[0] != "group":
            self._show_node(event.node.data[0])

    def _show_node(self, node: Any) -> None:
        parts: list[Any] = []
        head = Text(self.node_title(node), "bold")
        head.append(f"  [{self.status(node)}]")
        if id(node) in self.breakpoints:
            head.append("  ● breakpoint", "red")
        g = self.group_of.get(id(node))
        if g:
            head.append(f"  in {g[1]}", "magenta")
        parts.append(head)
        if node.formula:
            parts.append(Text(f"formula: {node.formula}", "italic"))
        if node.site:
            parts.append(Text(f"forward: {_short_path(node.site[0])}:{node.site[1]} in {node.site[2]}", "cyan"))
        if node is self.origin:
            parts.append(Text("nan/inf first appears in this op's forward output" + (
                "" if self.origin_certain else " (as far as saved values tell: an input's value is unknown)"),
                "bold red"))
        if self.scalar:
            parts.append(Text(f"value: data={self.bp.tape.val[node.index]:.6g} grad={self.bp.tape.grad[node.index]:.6g}"))
        else:
            dt = str(node.output_dtype).replace("nbgrad.", "")
            parts.append(Text(f"output: {tuple(node.output_shape)} {dt}"))
        st = self.steps.get(id(node))

        def arr(label: str, a: Any, changed: Any = None) -> None:
            parts.append(Text(f"{label}: {summary(a)}", "red" if has_anomaly(a) else ""))
            vt = value_table(a, changed)
            if vt is None:
                vt = heatmap(a)
            if vt is not None:
                parts.append(vt)

        if st is not None:
            for i, gi in enumerate(st.grads_in):
                arr(f"grad in [{i}]", gi)
            for i, ((nx, _), go) in enumerate(zip(node.next_functions, st.grads_out)):
                if i == INSPECT_MAX:
                    parts.append(Text(f"... {len(st.grads_out) - i} more gradients out", "dim"))
                    break
                to = self.node_title(nx) if nx is not None else "-"
                arr(f"grad out[{i}] → {to}", go)
            for acc in st.accumulations:
                arr(f"{self.leaf_name(acc.tensor)}.grad before", acc.before)
                arr(f"{self.leaf_name(acc.tensor)}.grad after (changed in yellow)", acc.after,
                    _changed_mask(acc.before, acc.after))
        elif node in self.bp.buffers:
            arr("grad in (so far)", self.bp.buffers[node])
        else:
            parts.append(Text("no gradient has arrived yet", "dim"))
        saved = node.saved_arrays()
        if saved:
            for i, (k, v) in enumerate(saved.items()):
                if i == INSPECT_MAX:
                    parts.append(Text(f"... {len(saved) - i} more saved values", "dim"))
                    break
                arr(f"saved {k}", v)
        elif getattr(node, "_released", False):
            parts.append(Text("saved tensors released (retain_graph=False)", "dim"))
        if getattr(node, "stack", None):
            import traceback

            parts.append(Text("forward traceback (anomaly mode):\n" + "".join(traceback.format_list(node.stack[-4:])),
                              "dim"))
        self.inspector = Group(*parts)
        self.query_one("#inspector_body", Static).update(self.inspector)

    def refresh_views(self, changed: Any = None, show: bool = True) -> None:
        """Redraw; `changed` is the ids of the nodes whose labels may differ (None: all)."""
        self._label_tree(changed)
        n = self.selected_node() if show else None
        if n is not None:
            self._show_node(n)
        self._show_leaves()
        if self.error is not None:
            self.state = "error"
        msg = self.progress_text
        nxt = self.next_node()
        msg += "  finished" if nxt is None else f"  next: {self.node_title(nxt)}"
        msg += f"  [{self.state}]  break-on-anomaly: {'on' if self.break_on_anomaly else 'off'}"
        if self.watches:
            msg += f"  watching {len(self.watches)}"
        self.query_one("#progress", Static).update(Text(msg), layout=False)  # one line, fixed height

    def _show_leaves(self) -> None:
        t = Table(box=None, padding=(0, 1))
        for c in ("leaf", "shape", "|grad| before", "|grad| after", "history"):
            t.add_column(c)
        last = {id(a.tensor) for a in self.last_step.accumulations} if self.last_step is not None else set()
        for leaf in self.leaves[:LEAF_ROWS]:
            acc = self.last_acc.get(id(leaf))
            before = _fmt(norm(acc.before)) if acc else "-"
            after = Text(_fmt(norm(acc.after)) if acc else _fmt(norm(self.leaf_grad(leaf))))
            name = Text(self.leaf_name(leaf))
            if id(leaf) in self.watches:
                name = Text("◎ ", "bold blue") + name
            if id(leaf) in last:
                after.stylize("bold black on yellow")
                name.stylize("bold")
            shape = "()" if self.scalar else str(tuple(leaf.shape))
            t.add_row(name, shape, before, after, Text(sparkline(self.history.get(id(leaf), [])), "cyan"))
        if len(self.leaves) > LEAF_ROWS:
            t.add_row(Text(f"... {len(self.leaves) - LEAF_ROWS} more", "dim"), "", "", "", "")
        self.leaves_table = t
        self.query_one("#leaves_body", Static).update(t, layout=t.row_count != self._leaf_rows)
        self._leaf_rows = t.row_count

    @property
    def progress_text(self) -> str:
        return f"{len(self.steps)}/{self.bp.total} nodes"

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # space steps with priority over the tree; on another screen (help, palette) it is a plain key
        if action == "step" and len(self.screen_stack) > 1:
            return False
        return True

    def _changed_by(self, st: Any, before_ready: set[int]) -> set[int]:
        return {id(st.node), *(before_ready ^ self._ready_ids),
                *(id(nx) for nx, _ in st.node.next_functions if nx is not None)}

    def action_step(self) -> None:
        before = self._ready_ids
        st = self.run_one()
        if st is None:
            if self.error is None:
                self.log_event("finished: nothing left to run")
                self.state = "finished"
            else:
                self.bell()
            self.refresh_views(set())
            return
        self.state = "finished" if self.bp.finished else "paused"
        self.refresh_views(self._changed_by(st, before), show=False)
        self.select(st.node)

    def _run(self, target: Any = None) -> None:
        """Continue until a breakpoint, a watch, an anomaly, `target` being next, or the end."""
        if self.bp.finished or self.error is not None:
            self.log_event("finished: nothing left to run" if self.error is None else "stopped: the pass raised an error")
            self.refresh_views(set())
            return
        changed: set[int] = set()
        self._log_buffer = []
        stop = None
        try:
            while not self.bp.finished:
                if target is not None and self.next_node() is target:
                    self.state = "paused"
                    self.log_event(f"run to: {self.node_title(target)} is next")
                    stop = target
                    break
                n_anom = len(self.anomalies)
                before = self._ready_ids
                last = self.run_one()
                if last is None:  # an error
                    break
                changed |= self._changed_by(last, before)
                stop = last.node
                if self.break_on_anomaly and len(self.anomalies) > n_anom:
                    self.state = "anomaly"
                    msg = f"stopped on anomaly at {self.node_title(last.node)}"
                    if self.origin is not None:
                        msg += f"; the nan/inf was born in {self._where(self.origin)} (press o)"
                    self.log_event(msg)
                    break
                hit = [a for a in last.accumulations if id(a.tensor) in self.watches and _changed(a)]
                if hit:
                    self.state = "watch"
                    a = hit[0]
                    self.log_event(f"watch: {self.leaf_name(a.tensor)}.grad changed "
                                   f"|{_fmt(norm(a.before))}→{_fmt(norm(a.after))}|")
                    break
                nxt = self.next_node()
                if nxt is not None and id(nxt) in self.breakpoints and nxt is not target:
                    self.state = "breakpoint"
                    self.log_event(f"breakpoint: stopped before {self.node_title(nxt)}")
                    stop = nxt
                    break
            else:
                self.state = "finished"
                self.log_event("finished: all nodes ran" if target is None
                               else f"finished: {self.node_title(target)} never became ready")
        finally:
            lines, self._log_buffer = self._log_buffer, None
            if self.is_mounted_log:
                self.query_one("#log", Log).write_lines(lines[-2000:])
        self.refresh_views(changed, show=stop is None)
        self.select(stop)

    def action_continue(self) -> None:
        self._run()

    def action_run_to(self) -> None:
        node = self.selected_node()
        if node is None:
            return
        if id(node) in self.steps:
            self.log_event(f"run to: {self.node_title(node)} already ran")
            self.refresh_views(set())
            return
        self._run(target=node)

    def action_toggle_breakpoint(self) -> None:
        node = self.selected_node()
        if node is not None:
            self._toggle(self.breakpoints, id(node), f"breakpoint on {self.node_title(node)}", node, refs=True)

    def action_toggle_watch(self) -> None:
        node = self.selected_node()
        if node is None or node.name != "AccumulateGrad":
            self.log_event("watch: select a leaf (an AccumulateGrad node) first")
            return
        self._toggle(self.watches, id(node.variable), f"watch on {self.leaf_name(node.variable)}.grad", node,
                     refs=True)

    def _toggle(self, marks: set[int], key: int, what: str, node: Any, refs: bool) -> None:
        if key in marks:
            marks.discard(key)
            self.log_event(f"{what} removed")
        else:
            marks.add(key)
            self.log_event(f"{what} set")
        self._label_tree({id(node)}, refs=refs)
        self.refresh_views(set())

    def action_toggle_anomaly(self) -> None:
        self.break_on_anomaly = not self.break_on_anomaly
        self.log_event(f"break on anomaly {'on' if self.break_on_anomaly else 'off'}")
        self.refresh_views(set())

    def action_origin(self) -> None:
        if self.origin is None:
            self.log_event("no nan/inf in the forward values of this graph")
            return
        self.select(self.origin)
        self.log_event(f"nan/inf born in {self._where(self.origin)}")

    def action_restart(self) -> None:
        if not self.retain_graph:
            self.log_event("restart needs retain_graph=True (the graph's saved tensors are freed as it runs)")
            return
        if self.scalar:
            self.bp.restore(self._initial_snap)
        else:
            import nbgrad as ng

            for t, g in self._initial_grads.values():
                t._grad = None if g is None else ng.Tensor._wrap(g.copy(), t._backend)
        for t in self.leaves:
            self.history.setdefault(id(t), []).append(_norm0(self.leaf_grad(t)))
        old = {id(n): n for n in self.bp.nodes}
        self._new_pass()
        # the new pass has the same node objects (tensors) or equal ones (scalars): keep the tree, remap
        if self.scalar:
            by_index = {n.index: n for n in self.bp.nodes}
            remap = {nid: by_index[n.index] for nid, n in old.items()}
            self.breakpoints = {id(remap[b]) for b in self.breakpoints if b in remap}
            self._build_tree()
        self.state = "paused"
        self.log_event(f"restart #{self._pass_no - 1}: leaf grads restored, {self.bp.total} nodes to run")
        self.refresh_views()
        self.select(self.next_node())

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


@dataclass(eq=False)
class _Item:
    """One line of the graph panel before it becomes a TreeNode: a node, or a group (node None)."""

    node: Any
    ref: bool = False
    kids: list = field(default_factory=list)
    key: str = ""
    title: str = ""


MAX_PERIOD = 8  # longest repeated block looked for, in nodes


def _fold_repeats(items: list[_Item]) -> list[_Item]:
    """Wrap runs of a block of items repeated three or more times into one group."""
    def sig(it: _Item) -> tuple:
        if it.node is None:  # a module group: by its class ("model.3 (Linear)" -> "Linear")
            return ("group", it.title.rsplit(" (", 1)[-1].rstrip(")"), len(it.kids))
        return (it.node.name, tuple(k.node.name if k.node is not None else k.key for k in it.kids))

    sigs = [sig(it) for it in items]
    out: list[_Item] = []
    i, n = 0, len(items)
    while i < n:
        best = (1, 1)
        for p in range(1, MAX_PERIOD + 1):
            if i + 3 * p > n:
                break
            k = 1
            while i + (k + 1) * p <= n and sigs[i + k * p: i + (k + 1) * p] == sigs[i: i + p]:
                k += 1
            if k >= 3 and k * p > best[0] * best[1]:
                best = (k, p)
        k, p = best
        if k >= 3:
            block = " → ".join(s[0] if s[0] != "group" else s[1] for s in sigs[i: i + p])
            out.append(_Item(None, kids=items[i: i + k * p], key=f"×{k}:{i}", title=f"{k} × [{block}]"))
            i += k * p
        else:
            out.append(items[i])
            i += 1
    return out


def _changed(acc: Any) -> bool:
    a = np.asarray(0.0) if acc.before is None else as_array(acc.before)
    b = as_array(acc.after)
    return a.shape != b.shape or not np.array_equal(a, b, equal_nan=True)


def _changed_mask(before: Any, after: Any) -> Any:
    a = as_array(after)
    if before is None:
        return np.ones(a.shape, bool)
    b = as_array(before)
    return np.ones(a.shape, bool) if b.shape != a.shape else ~((a == b) | (np.isnan(a) & np.isnan(b)))


def _short_path(path: str) -> str:
    """A path relative to the working directory when it lies below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if rel.startswith("..") else rel


def _norm0(a: Any) -> float:
    n = norm(a)
    return 0.0 if n is None else n


def _fmt(x: float | None) -> str:
    return "None" if x is None else f"{x:.4g}" if np.isfinite(x) else str(x)

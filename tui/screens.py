"""The debugger's main screen: the panels, the debugging keys, and the messages between them."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen

from .model.flow import GradientFlow
from .model.session import Session
from .widgets.events import EventsPanel
from .widgets.graph import GraphPanel
from .widgets.inspector import InspectorPanel
from .widgets.leaves import LeavesPanel
from .widgets.panels import DebugFooter, DebugHeader, FlowPanel, StatusLine

NARROW = 110  # below this many columns the layout tightens (80x24 keeps every pane and key)


class DebugScreen(Screen):
    DEFAULT_CSS = """
    DebugScreen #main { height: 1fr; }
    DebugScreen #right { width: 1fr; }
    DebugScreen.-narrow GraphPanel { width: 46%; }
    DebugScreen.-narrow InspectorPanel { height: 1fr; }
    DebugScreen.-narrow LeavesPanel { max-height: 6; }
    DebugScreen.-narrow FlowPanel { max-height: 7; }
    DebugScreen.-narrow EventsPanel { height: 5; min-height: 5; }
    """
    ALLOW_IN_MAXIMIZED_VIEW = "DebugHeader, StatusLine, Footer"
    BINDINGS = [
        Binding("n", "step", "Step", id="step"),
        Binding("space", "step", "Step", show=False, priority=True, id="step_space"),
        Binding("p", "step_back", "Back", id="step_back"),
        Binding("c", "continue", "Continue", id="continue"),
        Binding("t", "run_to", "Run to", id="run_to"),
        Binding("g", "check_node", "Check node", id="check_node"),
        Binding("b", "toggle_breakpoint", "Breakpoint", id="breakpoint"),
        Binding("w", "toggle_watch", "Watch", id="watch"),
        Binding("a", "toggle_anomaly", "Break on nan", id="anomaly"),
        Binding("o", "origin", "NaN origin", id="origin"),
        Binding("r", "restart", "Restart", id="restart"),
        Binding("e", "export", "Export", id="export"),
        Binding("z", "zoom", "Zoom pane", id="zoom"),
        Binding("tab", "app.focus_next", "Next pane", id="next_pane"),
    ]

    def __init__(self, session: Session, flow: GradientFlow | None = None, export_dir: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.flow = flow
        self.export_dir = export_dir or "nbgrad-tui-export"

    def compose(self) -> ComposeResult:
        s = self.session
        yield DebugHeader(s, id="header")
        with Horizontal(id="main"):
            yield GraphPanel(s, id="graph")
            with Vertical(id="right"):
                yield InspectorPanel(s, id="inspector")
                yield LeavesPanel(s, id="leaves")
                yield FlowPanel(self.flow, s, id="flow")
                yield EventsPanel(s, id="events")
        yield StatusLine(s, id="status")
        yield DebugFooter()

    @property
    def graph(self) -> GraphPanel:
        return self.query_one(GraphPanel)

    @property
    def inspector(self) -> InspectorPanel:
        return self.query_one(InspectorPanel)

    def on_mount(self) -> None:
        self.graph.focus()
        self.sync(set())

    def on_resize(self, event: Resize) -> None:
        narrow = event.size.width < NARROW
        self.set_class(narrow, "-narrow")
        self.query_one(DebugFooter).compact = narrow
        self.graph.guide_depth = 2 if narrow else 4

    # --- routing ---
    def sync(self, changed: set[int] | None, select: Any = None) -> None:
        """Redraw after the session changed: the graph lines of `changed` (None: all), the other
        panels, and the inspector on `select` (or the node under the cursor)."""
        self.graph.repaint(changed)
        if select is not None:
            self.graph.select(select)
        self.inspector.show(select if select is not None else self.graph.selected_node())
        self.query_one(LeavesPanel).sync()
        self.query_one(EventsPanel).sync()
        self.query_one(FlowPanel).sync()
        self.query_one(StatusLine).sync()
        self.query_one(DebugHeader).sync()

    def on_graph_panel_node_chosen(self, message: GraphPanel.NodeChosen) -> None:
        if message.node is not None and message.node is not self.inspector.node:
            self.inspector.show(message.node)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # space steps with priority over the panes; on another screen (help, palette) it is a plain key
        if action == "step" and self.app.screen is not self:
            return False
        return True

    # --- actions ---
    def action_step(self) -> None:
        s = self.session
        before = s.ready_ids
        st = s.step()
        if st is None:
            if s.error is None:
                s.log("finished: nothing left to run")
            else:
                self.app.bell()
            self.sync(set())
            return
        self.sync(s.changed_by(st, before), select=st.node)

    def action_step_back(self) -> None:
        s = self.session
        before = s.ready_ids
        st = s.step_back()
        if st is None:
            self.app.bell()
            self.sync(set())
            return
        self.sync(s.changed_by(st, before), select=st.node)

    def _run(self, target: Any = None) -> None:
        changed: set[int] = set()
        stop = self.session.run(target, changed)
        self.sync(changed, select=stop.node)

    def action_continue(self) -> None:
        self._run()

    def action_run_to(self) -> None:
        node = self.graph.selected_node()
        if node is None:
            return
        if id(node) in self.session.steps:
            self.session.log(f"run to: {self.session.node_title(node)} already ran")
            self.sync(set())
            return
        self._run(target=node)

    def action_check_node(self) -> None:
        node = self.graph.selected_node()
        if self.session.check_node(node) is None:
            self.app.bell()
        self.sync(set())

    def action_toggle_breakpoint(self) -> None:
        node = self.graph.selected_node()
        if node is None:
            return
        self.session.toggle_breakpoint(node)
        key = self.session.breakpoint_key(node)
        same = {id(n) for n in self.session.nodes if self.session.breakpoint_key(n) == key}
        self.graph.repaint(same, refs=True)
        self.sync(set())

    def action_toggle_watch(self) -> None:
        node = self.graph.selected_node()
        if self.session.toggle_watch(node) is not None:
            self.graph.repaint({id(node)}, refs=True)
        self.sync(set())

    def action_toggle_anomaly(self) -> None:
        self.session.toggle_anomaly()
        self.sync(set())

    def action_origin(self) -> None:
        s = self.session
        if s.origin is None:
            s.log("no nan/inf in the forward values of this graph")
            self.sync(set())
            return
        s.log(f"nan/inf born in {s.where(s.origin)}")
        self.sync(set(), select=s.origin)

    def action_restart(self) -> None:
        s = self.session
        if s.restart():
            self.graph.rebuild()  # a scalar pass makes new node objects
            self.sync(None, select=s.next_node())
        else:
            self.sync(set())

    def action_export(self) -> None:
        from .model import export

        try:
            paths = export.write_all(self.session, self.export_dir, flow=self.flow)
        except OSError as e:
            self.session.log(f"export failed: {e}")
        else:
            self.session.log("exported " + ", ".join(paths))
        self.sync(set())

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused)

"""The nbgrad-tui application: one backward call, stepped node by node."""

from __future__ import annotations

from functools import partial
from typing import Any, Iterator

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from .model.flow import GradientFlow
from .model.session import Session
from .screens import DebugScreen
from .widgets.help import HelpScreen
from .widgets.inspector import InspectorPanel
from .widgets.tensor_view import TensorScreen


class NodeCommands(Provider):
    """Command palette entries: one per graph node, selecting it."""

    def _entries(self) -> Iterator[tuple[str, Any]]:
        app = self.app
        assert isinstance(app, DebuggerApp)
        s = app.session
        for node in sorted(s.nodes, key=lambda n: s.rank[id(n)]):
            g = s.group_of.get(id(node))
            yield s.node_title(node) + (f"  [{g[0]}]" if g else ""), node

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        assert isinstance(app, DebuggerApp)
        for title, node in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(app.select, node), help="select this node")

    async def discover(self) -> Hits:
        app = self.app
        assert isinstance(app, DebuggerApp)
        for title, node in list(self._entries())[:50]:
            yield DiscoveryHit(title, partial(app.select, node), help="select this node")


class DebuggerApp(App):
    """The debugger on one Session. After it exits, `stop_requested` says whether the user
    asked to stop debugging the script (Q / ctrl+c), and `printed` holds what the user's code
    printed while it ran (hooks run inside steps), to be passed on."""

    TITLE = "nbgrad-tui"
    COMMANDS = App.COMMANDS | {NodeCommands}
    BINDINGS = [
        Binding("q", "quit_call", "Quit", id="quit"),
        Binding("Q", "stop_script", "Stop", id="stop"),
        Binding("ctrl+c", "stop_script", "Stop script", show=False, priority=True, id="stop_ctrl_c"),
        Binding("ctrl+q", "stop_script", "Stop script", show=False, priority=True, id="stop_ctrl_q"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("ctrl+p", "command_palette", "Find node", show=False, priority=True, id="palette"),
    ]

    def __init__(self, session: Session, *, flow: GradientFlow | None = None, auto_continue: bool = False,
                 export_dir: str | None = None, driver_class: Any = None) -> None:
        super().__init__(driver_class=driver_class)
        self.session = session
        self.flow = flow
        self.auto_continue = auto_continue
        self.export_dir = export_dir
        self.stop_requested = False
        self.printed: list[tuple[str, bool]] = []  # (text, to stderr)

    def on_mount(self) -> None:
        if not self.is_headless:
            self.begin_capture_print(self)
        self.push_screen(DebugScreen(self.session, self.flow, self.export_dir))
        if self.auto_continue:
            self.call_after_refresh(self._autopilot)

    def on_print(self, event: events.Print) -> None:
        self.printed.append((event.text, event.stderr))

    def _autopilot(self) -> None:
        self.session.finish()
        self.exit()

    @property
    def debug_screen(self) -> DebugScreen:
        return next(s for s in self.screen_stack if isinstance(s, DebugScreen))

    def select(self, node: Any) -> None:
        self.debug_screen.sync(set(), select=node)

    # --- routing ---
    def on_inspector_panel_open_tensor(self, message: InspectorPanel.OpenTensor) -> None:
        self.push_screen(TensorScreen(message.ref))

    # --- actions ---
    def action_quit_call(self) -> None:
        self.exit()

    def action_stop_script(self) -> None:
        self.stop_requested = True
        self.exit()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

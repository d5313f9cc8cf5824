"""The small panels: header, status line, gradient flow, and the footer that keeps help and quit."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from ..model.flow import GradientFlow
from ..model.session import Session
from ..model.values import abbreviate
from ..render import flow_table


class DebugHeader(Static):
    """The script, the backward call's number and its root."""

    DEFAULT_CSS = """
    DebugHeader { height: 1; background: $primary; color: $text; padding: 0 1; text-style: bold; }
    """

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session

    def on_mount(self) -> None:
        self.sync()

    def header_text(self) -> str:
        c = self.session.call
        parts = ["nbgrad-tui", c.title or c.script or "", f"backward #{c.number}", f"root: {self.session.root_text()}"]
        if self.session.passes > 1:
            parts.append(f"restart {self.session.passes - 1}")
        return " │ ".join(p for p in parts if p)

    def sync(self) -> None:
        width = self.size.width - 2 if self.size.width else 200
        t = self.header_text()
        self.update(t if len(t) <= width else abbreviate(t[::-1], width)[::-1])

    def on_resize(self) -> None:
        self.sync()


class StatusLine(Static):
    """Progress, the next node, why it stopped, and the anomalies so far."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $boost; padding: 0 1; }
    """

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session

    def sync(self) -> None:
        self.update(Text(self.session.status_line(), no_wrap=True, overflow="ellipsis"), layout=False)


class FlowPanel(VerticalScroll, can_focus=True):
    """Per-module gradient norms across the script's backward calls (shown from the second call)."""

    DEFAULT_CSS = """
    FlowPanel { border: round $secondary; height: auto; max-height: 14; display: none; }
    FlowPanel.-shown { display: block; }
    FlowPanel:focus { border: round $accent; }
    FlowPanel > Static { width: auto; }
    """
    BINDINGS = [Binding("pagedown", "page_down", "Scroll", id="flow_page_down")]

    def __init__(self, flow: GradientFlow | None, session: Session, **kw: Any) -> None:
        super().__init__(**kw)
        self.flow = flow
        self.session = session

    def compose(self) -> ComposeResult:
        yield Static(id="flow_body")

    def on_mount(self) -> None:
        self.sync()

    def sync(self) -> None:
        f = self.flow
        shown = f is not None and len(f.calls) >= 2
        self.set_class(shown, "-shown")
        if not shown:
            return
        assert f is not None
        self.border_title = f"gradient flow: backward calls {f.calls[0]}..{f.calls[-1]} (the last one live)"
        self.query_one("#flow_body", Static).update(flow_table(f.rows(self.session.names), f.calls,
                                                               name_width=max(10, self.size.width // 4)))


class DebugFooter(Footer):
    """Textual's footer with quit, help, step and continue first, so a narrow terminal never
    hides them."""

    FIRST = ("quit_call", "help", "step", "step_back", "continue", "stop_script", "dismiss")

    def compose(self) -> ComposeResult:
        def rank(w: Any) -> int:
            action = str(getattr(w, "action", "")).rpartition(".")[2]
            return self.FIRST.index(action) if action in self.FIRST else len(self.FIRST)

        yield from sorted(super().compose(), key=rank)  # stable: the others keep their order

"""The event log: every step, accumulation, stop and anomaly, wrapped to the pane."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.widgets import RichLog

from ..model.session import Session

SHOWN = 2000  # lines kept in the pane (the session keeps them all)


class EventsPanel(RichLog):
    DEFAULT_CSS = """
    EventsPanel { border: round $secondary; height: 1fr; min-height: 4; }
    EventsPanel:focus { border: round $accent; }
    """
    BINDINGS = [Binding("pagedown", "page_down", "Scroll", id="events_page_down")]

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(wrap=True, max_lines=SHOWN, min_width=20, markup=False, **kw)
        self.session = session
        self.shown = 0
        self.border_title = "events"

    def sync(self) -> None:
        """Write the session's events not shown yet."""
        new = self.session.events[self.shown:]
        self.shown = len(self.session.events)
        for line in new[-SHOWN:]:
            self.write(line)

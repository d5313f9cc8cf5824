"""The leaves panel: every leaf's .grad before and after its last accumulation, across calls."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from ..model.session import Session
from ..model.values import abbreviate, sparkline
from .inspector import InspectorPanel

ROWS = 100  # leaves listed


class LeavesPanel(DataTable):
    """One row per leaf: name, shape, the gradient (a norm for tensors, the signed value for
    scalars) before and after its last accumulation, and a sparkline of it across steps and
    backward calls. Enter opens the leaf's .grad; `k` lists the constants of a scalar graph."""

    DEFAULT_CSS = """
    LeavesPanel { border: round $secondary; height: auto; max-height: 12; }
    LeavesPanel:focus { border: round $accent; }
    """
    BINDINGS = [
        Binding("enter", "select_cursor", "Open .grad", id="leaves_open"),
        Binding("k", "toggle_constants", "Constants", id="leaves_constants"),
    ]

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)
        self.session = session
        self.show_constants = False
        self.rows_shown: list[Any] = []

    def on_mount(self) -> None:
        self.sync()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_constants":
            return bool(self.session.constants)
        return True

    def action_toggle_constants(self) -> None:
        self.show_constants = not self.show_constants
        self.sync()

    def sync(self) -> None:
        """Redraw from the session."""
        s = self.session
        rows = s.leaf_rows(constants=self.show_constants)
        what = "constants (numbers no variable holds)" if self.show_constants else "leaves"
        extra = f"; {len(s.constants)} constants hidden (k)" if s.constants and not self.show_constants else ""
        self.border_title = f"{what}: {s.grad_heading} at their last accumulation{extra}"
        width = self.scrollable_content_region.width or 80
        narrow = width < 60  # the shape column goes (the inspector has it), the sparkline shrinks
        spark = 6 if narrow else 12
        name_w = max(10, min(32, width - (22 if narrow else 34) - spark))
        cursor = self.cursor_row
        self.clear(columns=True)
        change = "before → after" if narrow else f"{s.grad_heading} before → after"  # the title says which
        columns = ["leaf", "shape" if s.kind == "tensor" else "data", change, "history"]
        self.add_columns(*(columns[:1] + columns[2:] if narrow else columns))
        self.rows_shown = []
        for r in rows[:ROWS]:
            name = Text(("◎ " if r.watched else "") + abbreviate(r.name, name_w), "bold" if r.just_changed else "")
            cell = Text(f"{r.before} → ")
            cell.append(r.after, "bold black on yellow" if r.just_changed else "")
            cells = [name, r.shape, cell, Text(sparkline(r.history, spark), "cyan")]
            self.add_row(*(cells[:1] + cells[2:] if narrow else cells))
            self.rows_shown.append(r.leaf)
        if len(rows) > ROWS:
            self.add_row(Text(f"... {len(rows) - ROWS} more", "dim"), *[""] * (len(self.columns) - 1))
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.cursor_row < len(self.rows_shown):
            self.post_message(InspectorPanel.OpenTensor(self.session.leaf_ref(self.rows_shown[event.cursor_row])))

    def on_resize(self) -> None:
        self.sync()

"""The inspector: what is known about the selected node, each value one selectable item."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ..model.session import Session, TensorRef
from ..render import entry_renderable


class InspectorPanel(OptionList):
    """The node's formula, source line, value, gradients in and out, accumulations and saved
    values, each value with its summary and first numbers; enter opens one in the tensor view."""

    DEFAULT_CSS = """
    InspectorPanel { border: round $secondary; height: 2fr; min-height: 8; }
    InspectorPanel:focus { border: round $accent; }
    InspectorPanel > .option-list--option-disabled { color: $text; }  /* lines of text, not disabled items */
    """
    BINDINGS = [
        Binding("enter", "select", "Open value", id="inspector_open"),
        Binding("pagedown", "page_down", "Scroll", id="inspector_page_down"),
    ]

    class OpenTensor(Message):
        """Open a value in the tensor view."""

        def __init__(self, ref: TensorRef) -> None:
            super().__init__()
            self.ref = ref

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session
        self.node: Any = None
        self.refs: list[TensorRef | None] = []
        self.border_title = "node (enter opens a value)"

    def show(self, node: Any) -> None:
        """Show a node (None: keep the current one, refreshed)."""
        if node is not None:
            self.node = node
        if self.node is None:
            return
        width = max(self.scrollable_content_region.width, 20)
        entries = self.session.inspect(self.node, compact=width < 70)
        keep = self.highlighted
        self.clear_options()
        self.refs = [e.ref for e in entries]
        self.add_options([Option(entry_renderable(e, width), disabled=e.ref is None) for e in entries])
        if keep is not None and keep < len(entries) and entries[keep].ref is not None and node is None:
            self.highlighted = keep

    def text(self) -> str:
        """The panel's content as plain text (what a test reads)."""
        return "\n".join(e.text for e in self.session.inspect(self.node)) if self.node is not None else ""

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        ref = self.refs[event.option_index]
        if ref is not None:
            self.post_message(self.OpenTensor(ref))

    def on_resize(self) -> None:
        self.show(None)

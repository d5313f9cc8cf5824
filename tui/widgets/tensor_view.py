"""The tensor view: any gradient, saved value or .grad as a scrollable table of numbers or a
heatmap, for any size (only the visible cells are drawn), sliced by the leading dimensions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Static

from ..model.session import TensorRef
from ..model.values import number_format
from ..render import heat_style

ROW_LEN_1D = 10  # a 1-D array is shown 10 values a row (row r, column c is element 10r + c)
VIEW_NAMES = {"value": "", "after": "after", "before": "before", "delta": "delta (the gradient added)"}
CHANGED = Style.parse("bold black on yellow")
HEADER = Style.parse("bold")
LABEL = Style.parse("dim")


class TensorGrid(ScrollView, can_focus=True):
    """A 2-D window on an array: a header row of column indices, a column of row indices."""

    DEFAULT_CSS = """
    TensorGrid { height: 1fr; border: round $secondary; }
    TensorGrid:focus { border: round $accent; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.array: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.heatmap = False
        self.slice_index = 0
        self._fmt: Any = str
        self._cell = 1
        self._label_w = 1
        self._scale = 0.0

    # --- what is shown ---
    def set_array(self, a: np.ndarray | None, mask: np.ndarray | None) -> None:
        self.array, self.mask = a, mask
        if a is not None:
            self._fmt = number_format(a)
            fin = np.abs(a[np.isfinite(a)]) if a.dtype.kind in "fc" else np.abs(a.astype(np.float64))
            self._scale = float(fin.max()) if fin.size else 0.0
            self.slice_index = min(self.slice_index, self.slices - 1)
        self._layout()

    @property
    def slices(self) -> int:
        a = self.array
        return 1 if a is None or a.ndim <= 2 else int(np.prod(a.shape[:-2]))

    def slice_label(self) -> str:
        a = self.array
        if a is None or a.ndim <= 2:
            return ""
        lead = np.unravel_index(self.slice_index, a.shape[:-2])
        return f"slice [{', '.join(str(int(i)) for i in lead)}, :, :] ({self.slice_index + 1} of {self.slices})"

    def matrix(self) -> tuple[np.ndarray, np.ndarray | None, int]:
        """The 2-D array on screen, its changed-cells mask, and how many of its cells are real
        (a 1-D array's last row is padded)."""
        a, m = self.array, self.mask
        assert a is not None
        if a.ndim == 0:
            return a.reshape(1, 1), None if m is None else np.asarray(m).reshape(1, 1), 1
        if a.ndim == 1:
            rows = max(1, math.ceil(a.size / ROW_LEN_1D))
            cols = min(ROW_LEN_1D, a.size) or 1
            pad = np.zeros(rows * cols, a.dtype)
            pad[: a.size] = a
            mpad = None
            if m is not None:
                mpad = np.zeros(rows * cols, bool)
                mpad[: a.size] = np.asarray(m).reshape(-1)
            return pad.reshape(rows, cols), None if mpad is None else mpad.reshape(rows, cols), a.size
        if a.ndim == 2:
            return a, m, a.size
        lead = np.unravel_index(self.slice_index, a.shape[:-2])
        return a[lead], None if m is None else np.asarray(m)[lead], a.shape[-2] * a.shape[-1]

    def _layout(self) -> None:
        if self.array is None:
            self.virtual_size = Size(0, 0)
            self.refresh()
            return
        mat, _, _ = self.matrix()
        self._label_w = len(str(mat.shape[0] * (ROW_LEN_1D if self.array.ndim == 1 else 1))) + 1
        self._cell = 2 if self.heatmap else max(len(self._fmt(v)) for v in mat.reshape(-1)[:1000]) + 1
        self.virtual_size = Size(self._label_w + mat.shape[1] * self._cell, mat.shape[0] + 1)
        self.refresh()

    def toggle_heatmap(self) -> None:
        self.heatmap = not self.heatmap
        self._layout()

    def move_slice(self, by: int) -> None:
        self.slice_index = (self.slice_index + by) % self.slices
        self._layout()

    # --- drawing (only the visible window) ---
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if self.array is None:
            return Strip.blank(width)
        mat, mask, real = self.matrix()
        scroll_x, scroll_y = self.scroll_offset
        c0 = scroll_x // self._cell
        ncols = max(1, (width - self._label_w) // self._cell + 1)
        cols = range(c0, min(mat.shape[1], c0 + ncols))
        one_d = self.array.ndim == 1
        if y == 0:
            segs = [Segment(" " * self._label_w, LABEL)]
            for c in cols:  # a heatmap's narrow cells: every fifth column numbered
                text = (f"{c % 100:<2d}" if c % 5 == 0 else "  ") if self.heatmap else str(c).rjust(self._cell)
                segs.append(Segment(text, HEADER))
            return Strip(segs).crop(0, width)
        r = y - 1 + scroll_y
        if r >= mat.shape[0]:
            return Strip.blank(width)
        label = str(r * ROW_LEN_1D if one_d else r)
        segs = [Segment(label.rjust(self._label_w - 1) + " ", LABEL)]
        for c in cols:
            if one_d and r * mat.shape[1] + c >= real:
                segs.append(Segment(" " * self._cell))
                continue
            v = mat[r, c]
            hit = mask is not None and bool(mask[r, c])
            if self.heatmap:
                fv = float(v)
                if not math.isfinite(fv):
                    segs.append(Segment("! ", Style.parse("bold white on magenta")))
                else:
                    segs.append(Segment("• " if hit else "  ", Style.parse("black " + heat_style(fv, self._scale))))
            else:
                segs.append(Segment(" " + self._fmt(v), CHANGED if hit else Style()))
        return Strip(segs).crop(0, width)


class TensorScreen(ModalScreen):
    """A value opened from the inspector or the leaves panel."""

    DEFAULT_CSS = """
    TensorScreen { align: center middle; }
    TensorScreen > #tensor_box { width: 96%; height: 94%; background: $surface; border: thick $accent; }
    TensorScreen #tensor_title { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="tensor_close"),
        Binding("m", "toggle_mode", "Numbers/heatmap", id="tensor_mode"),
        Binding("v", "next_view", "Before/after/delta", id="tensor_view"),
        Binding("right_square_bracket", "slice(1)", "Next slice", id="tensor_next_slice"),
        Binding("left_square_bracket", "slice(-1)", "Prev slice", id="tensor_prev_slice"),
    ]

    def __init__(self, ref: TensorRef) -> None:
        super().__init__()
        self.ref = ref
        self.view = next(iter(ref.views))

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="tensor_box"):
            yield Static(id="tensor_title")
            yield TensorGrid(id="tensor_grid")
        yield Footer()

    @property
    def grid(self) -> TensorGrid:
        return self.query_one(TensorGrid)

    def on_mount(self) -> None:
        self._show()
        self.grid.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_view":
            return len(self.ref.views) > 1
        if action == "slice":
            return self.grid.slices > 1
        return True

    def _show(self) -> None:
        a = self.ref.views[self.view]
        mask = self.ref.changed if self.view == "after" else None
        self.grid.set_array(a, mask)
        self.query_one("#tensor_title", Static).update(self.title_text())
        self.refresh_bindings()

    def title_text(self) -> str:
        """What is on screen, said plainly (highlighting is mentioned only when there is some)."""
        a = self.ref.views[self.view]
        head = self.ref.label if self.view == "value" else f"{self.ref.label} {VIEW_NAMES[self.view]}"
        if a is None:
            return head + ": None (there was no .grad before this accumulation)" if self.view == "before" else \
                head + ": None"
        parts = [head, f"{tuple(a.shape)} {a.dtype}", "heatmap (red > 0, blue < 0)" if self.grid.heatmap else "numbers"]
        if self.grid.slices > 1:
            parts.append(self.grid.slice_label())
        if a.ndim == 1 and a.size > 1:
            parts.append(f"{ROW_LEN_1D} values a row")
        if self.view == "after" and self.ref.changed is not None:
            n = int(np.asarray(self.ref.changed).sum())
            if self.ref.views.get("before") is None:
                parts.append(f"all {a.size} values new (no .grad before)")
            else:
                parts.append(f"{n} of {a.size} values changed" + (" (highlighted)" if n else ""))
        return " · ".join(parts)

    def action_toggle_mode(self) -> None:
        self.grid.toggle_heatmap()
        self.query_one("#tensor_title", Static).update(self.title_text())

    def action_next_view(self) -> None:
        names = list(self.ref.views)
        self.view = names[(names.index(self.view) + 1) % len(names)]
        self._show()

    def action_slice(self, by: int) -> None:
        self.grid.move_slice(by)
        self.query_one("#tensor_title", Static).update(self.title_text())

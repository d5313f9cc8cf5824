"""The help screen: every key, and how to read the panels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
nbgrad-tui: one backward pass, one node at a time

 n / space  step: run the next node     c  continue to a stop or the end
 p   step back: undo the last step      g  check the node (finite diffs)
 t   run to the selected node           b  breakpoint on the selected op
 w   watch the selected leaf's .grad    a  break on nan/inf on / off
 o   go to where a nan/inf was born     r  restart the pass (retain_graph)
 e   export graph (DOT, SVG) and log    f  nested / chain-flat graph
 enter  open a value (inspector, leaves)  k  constants (scalar graphs)
 tab  next pane    z  zoom the pane     ctrl+p  find a node by name
 ↑ ↓ PgUp PgDn Home End scroll the focused pane; the wheel scrolls any
 q  quit this backward call (the rest runs, the script goes on)
 Q, ctrl+c, ctrl+q  stop debugging: the script runs on undisturbed

c stops at a breakpoint (before the op runs, in every backward call of
the script), when a watched leaf's .grad changes, and at the first
nan/inf of a pass. Graph: #n is the order nodes run in; a node's inputs
are under it; ▣ an nn.Module call, ≡ repeats folded, ↪ a node shown
already, ● a breakpoint. Tensor view: m numbers / heatmap, v before /
after / delta, [ ] slices. escape, q or ? closes this help."""


class HelpScreen(ModalScreen):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 78; max-width: 100%; height: auto; max-height: 100%;
                                  border: thick $accent; background: $surface; padding: 0 1; }
    HelpScreen Static { width: auto; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help_close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP, id="help_text")

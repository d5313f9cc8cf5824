"""The graph panel: the backward graph as a tree from the root."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ..model import layout
from ..model.session import Session
from ..render import group_label, node_label

EXPAND_LIMIT = 300  # larger graphs open with their groups and branches collapsed


class GraphPanel(Tree):
    """Nodes, numbered in the order they run, under the nodes that feed them their gradient
    (or, in the chain-flat form, a chain as one column). Labels are made from the session
    when a line is painted: a step repaints the few lines it changed."""

    DEFAULT_CSS = """
    GraphPanel { border: round $primary; width: 45%; height: 1fr; }
    GraphPanel:focus { border: round $accent; }
    """
    BINDINGS = [
        Binding("f", "toggle_form", "Flat/nested", id="graph_form"),
        Binding("pagedown", "page_down", "Scroll", id="graph_page_down"),
    ]

    class NodeChosen(Message):
        """The cursor moved onto a node (None: onto a group)."""

        def __init__(self, node: Any) -> None:
            super().__init__()
            self.node = node

    def __init__(self, session: Session, *, nested: bool = True, **kw: Any) -> None:
        super().__init__("graph", **kw)
        self.session = session
        self.nested = nested
        self.show_root = False
        self.tree_nodes: dict[int, list[TreeNode]] = {}  # id(node) -> its lines (the first is not a reference)
        self.groups: dict[int, tuple[TreeNode, str, list[int]]] = {}  # id(group line) -> (line, title, members)
        self._group_lines: dict[int, tuple[TreeNode, ...]] = {}  # id(node) -> the groups it is in

    # --- building ---
    def on_mount(self) -> None:
        self.rebuild()

    def _title(self) -> str:
        return f"graph ({'nested' if self.nested else 'chain-flat'}; #n = run order)"

    def rebuild(self) -> None:
        s = self.session
        self.border_title = self._title()
        keep = self.selected_node()
        self.clear()
        self.tree_nodes, self.groups, self._group_lines = {}, {}, {}
        expand = s.total <= EXPAND_LIMIT
        items = layout.build(s.nodes, s.rank, s.group_of, self.nested)
        work: list[tuple[TreeNode, list[layout.Item], tuple]] = [(self.root, items, ())]
        while work:
            parent, its, gtns = work.pop()
            for it in its:
                if it.node is None:
                    tn = parent.add("", data=("group", it.key), expand=expand)
                    self.groups[id(tn)] = (tn, it.title, [])
                    work.append((tn, it.kids, (*gtns, tn)))
                    continue
                if it.kids:
                    tn = parent.add("", data=("node", it.node, it.ref), expand=expand)
                    work.append((tn, it.kids, gtns))
                else:
                    tn = parent.add_leaf("", data=("node", it.node, it.ref))
                self.tree_nodes.setdefault(id(it.node), []).append(tn)
                if gtns and not it.ref:
                    self._group_lines[id(it.node)] = gtns
                    for g in gtns:
                        self.groups[id(g)][2].append(id(it.node))
        self.root.expand()
        first = keep
        if first is None and items:
            top = items[0]
            while top.node is None and top.kids:
                top = top.kids[0]
            first = top.node
        self.select(first)

    def action_toggle_form(self) -> None:
        self.nested = not self.nested
        self.rebuild()

    # --- labels ---
    def _width_for(self, tn: TreeNode) -> int:
        depth, p = 0, tn.parent
        while p is not None and p is not self.root:
            depth, p = depth + 1, p.parent
        return max(self.scrollable_content_region.width - depth * self.guide_depth - 2, 12)

    def render_label(self, tn: TreeNode, base_style: Style, style: Style) -> Text:
        label = self.label_of(tn, self._width_for(tn))
        label.stylize(style)
        if tn.allow_expand:
            prefix = Text(self.ICON_NODE_EXPANDED if tn.is_expanded else self.ICON_NODE, base_style + Style(bold=True))
        else:
            prefix = Text("", base_style)
        return prefix + label

    def label_of(self, tn: TreeNode, width: int | None = None) -> Text:
        data = tn.data
        if data is None:
            return Text("graph")
        if data[0] == "group":
            _, title, members = self.groups[id(tn)]
            done = sum(m in self.session.steps for m in members)
            return group_label(title, done, len(members), data[1].startswith("×"), width)
        return node_label(self.session, data[1], data[2], width)

    def get_label_width(self, tn: TreeNode) -> int:
        if self.session.total <= EXPAND_LIMIT or tn.data is None:
            return super().get_label_width(tn)
        return 60  # an estimate: labelling 10,000 lines to size the scroll area costs seconds

    def repaint(self, ids: set[int] | None = None, refs: bool = False) -> None:
        """Repaint the lines of the nodes `ids` (every line when None) and of their groups;
        references only with `refs` (their labels change only with breakpoints and watches)."""
        if ids is None:
            self._invalidate()  # drops Textual's line cache (Tree, pinned Textual 8.2)
            return
        groups: dict[int, TreeNode] = {}
        for nid in ids:
            tns = self.tree_nodes.get(nid, ())
            for tn in tns if refs else tns[:1]:
                tn.refresh()
            for g in self._group_lines.get(nid, ()):
                groups[id(g)] = g
        for g in groups.values():
            g.refresh()

    def on_resize(self) -> None:
        self.repaint()

    # --- the cursor ---
    def selected_node(self) -> Any:
        tn = self.cursor_node
        if tn is None or tn.data is None or tn.data[0] != "node":
            return None
        return tn.data[1]

    def select(self, node: Any) -> None:
        """Move the cursor to a node's full line (expanding its groups)."""
        if node is None or id(node) not in self.tree_nodes:
            return
        tn = self.tree_nodes[id(node)][0]
        p = tn.parent
        while p is not None:
            if not p.is_expanded:
                p.expand()
            p = p.parent
        self.move_cursor(tn)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        data = event.node.data
        self.post_message(self.NodeChosen(data[1] if data is not None and data[0] == "node" else None))

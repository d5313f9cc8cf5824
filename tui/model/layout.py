"""The graph as a tree of items from the root, before any widget is made.

Each node's inputs are its children. A node's "spine" is its first-created input that
is not a leaf and not shown yet: in the nested form it is its last child (inputs are
listed in the order they run); in the chain-flat form it continues the list at the
same level, so a long chain reads as one column. A node reached twice is shown in
full once, then as a reference. Nodes of one nn.Module call are wrapped in a group,
and three or more repeats of a block of items fold into one group. Nesting stops at
MAX_NEST levels: a deeper chain continues flat (a 10,000-node chain stays readable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

MAX_PERIOD = 8  # longest repeated block looked for, in items
MAX_NEST = 48  # deepest nesting of the nested form


@dataclass(eq=False)
class Item:
    """One line of the graph panel: a node, or a group of items (node None)."""

    node: Any
    ref: bool = False
    kids: list[Item] = field(default_factory=list)
    key: str = ""  # a group's key: a module's dotted name, or "×k:i" for a fold of repeats
    title: str = ""
    follows: bool = False  # the item continues the previous sibling's chain (its spine)

    @property
    def is_fold(self) -> bool:
        return self.node is None and self.key.startswith("×")


def build(nodes: list[Any], rank: dict[int, int], group_of: dict[int, tuple[str, str]], nested: bool) -> list[Item]:
    """The top-level items of the graph of `nodes` (rank: id(node) -> its place in the run order)."""
    items = _flat(nodes, rank, group_of)
    stack = [items]
    while stack:  # fold inside each list (inside a fold: inside its blocks, not the fold again)
        lst = stack.pop()
        lst[:] = _fold_repeats(lst)
        for it in lst:
            stack.extend([k.kids for k in it.kids if k.kids] if it.is_fold else [it.kids])
    return _nest(items) if nested else items


def _flat(nodes: list[Any], rank: dict[int, int], group_of: dict[int, tuple[str, str]]) -> list[Item]:
    pointed = {id(nx) for n in nodes for nx, _ in n.next_functions if nx is not None}
    roots = sorted((r for r in nodes if id(r) not in pointed), key=lambda n: rank.get(id(n), 0))
    claimed = {id(r) for r in roots}  # a node is shown in full where it is first claimed
    top: list[Item] = []
    # (list to append to, first node of a chain, the list's module group, a reference?)
    work: list[tuple[list, Any, Any, bool]] = [(top, r, None, False) for r in reversed(roots)]
    while work:
        parent, node, pctx, ref = work.pop()
        first = True
        while node is not None:
            g = group_of.get(id(node))
            cont, ctx = parent, pctx
            if g is not None and (pctx is None or g[0] != pctx[0]):  # into the module's group
                if not (parent and parent[-1].node is None and parent[-1].key == g[0]):
                    parent.append(Item(None, key=g[0], title=g[1], follows=not first))
                cont, ctx = parent[-1].kids, g
            kids = [nx for nx, _ in node.next_functions if nx is not None] if not ref else []
            trunk = [k for k in kids if k.name != "AccumulateGrad" and id(k) not in claimed]
            spine = min(trunk, key=lambda k: k.sequence_nr) if trunk else None
            if spine is not None:
                claimed.add(id(spine))
            it = Item(node, ref, follows=not first and bool(cont))
            cont.append(it)
            pushes = []
            for k in sorted(dict.fromkeys(kids), key=lambda k: rank.get(id(k), 0)):
                if k is not spine:
                    pushes.append((it.kids, k, ctx, id(k) in claimed))
                    claimed.add(id(k))
            work.extend(reversed(pushes))
            node, ref, first = spine, False, False
    return top


def _fold_repeats(items: list[Item]) -> list[Item]:
    """Wrap runs of a block of items repeated three or more times into one group."""
    def sig(it: Item) -> tuple:
        if it.node is None:  # a module group: by its class ("model.3 (Linear)" -> "Linear")
            return ("group", it.title.rsplit(" (", 1)[-1].rstrip(")"), len(it.kids))
        return (it.node.name, tuple(k.node.name if k.node is not None else k.key for k in it.kids))

    sigs = [sig(it) for it in items]
    out: list[Item] = []
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
            kids = items[i: i + k * p]
            out.append(Item(None, kids=kids, key=f"×{k}:{i}", title=f"{k} × [{block}]", follows=kids[0].follows))
            i += k * p
        else:
            out.append(items[i])
            i += 1
    return out


def _nest(top: list[Item]) -> list[Item]:
    """Turn the chain-flat lists into nesting: an item that follows the previous item of its
    chain becomes the last child of that chain's tail (for a group: of the last node inside
    it), down to MAX_NEST levels; below that the chain goes on flat at the deepest level."""
    def place(lst: list[Item], depth: int) -> tuple[list[Item], Item | None, list[Item], int]:
        """The list with its chains nested; and the tail of its last chain, the list the tail
        is in, and the tail's depth."""
        out: list[Item] = []
        tail: Item | None = None
        tail_list, tail_depth = out, depth
        for it in lst:
            if it.follows and tail is not None:
                home, here = (tail.kids, tail_depth + 1) if tail_depth < MAX_NEST else (tail_list, tail_depth)
            else:
                home, here = out, depth
            home.append(it)
            if it.is_fold:  # a fold lists its repeated blocks flat
                for k in it.kids:
                    k.kids[:] = place(k.kids, here + 2)[0]
                tail, tail_list, tail_depth = (it.kids[-1], it.kids, here + 1) if it.kids else (it, home, here)
            elif it.node is None:  # a module group: its members nest inside it
                it.kids[:], inner, inner_list, inner_depth = place(it.kids, here + 1)
                tail, tail_list, tail_depth = (inner, inner_list, inner_depth) if inner is not None else (it, home, here)
            else:
                it.kids[:] = place(it.kids, here + 1)[0]
                tail, tail_list, tail_depth = it, home, here
        return out, tail, tail_list, tail_depth

    return place(top, 0)[0]


def walk(items: list[Item], fn: Callable[[Item, int], None]) -> None:
    """fn(item, depth) for every item, parents first."""
    stack = [(it, 0) for it in reversed(items)]
    while stack:
        it, d = stack.pop()
        fn(it, d)
        stack.extend((k, d + 1) for k in reversed(it.kids))

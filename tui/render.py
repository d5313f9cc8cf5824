"""Rich renderables made from the session model: tree labels, inspector items, leaf cells,
the gradient-flow table and heatmap colours. No Textual here."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

from .model.flow import EXPLODING, VANISHING, FlowRow
from .model.session import Entry, Session
from .model.values import abbreviate, fmt, number_format, sparkline

STATUS_STYLE = {"done": "green", "ready": "yellow bold", "waiting": "dim", "skipped": "dim italic"}


def node_label(s: Session, node: Any, ref: bool, width: int | None = None) -> Text:
    """A graph line: marks, number and name, value, status, flags, source line. When `width`
    is short, the source line goes first, then names are abbreviated from the left."""
    marks = Text()
    if s.has_breakpoint(node):
        marks.append("● ", "bold red")
    if s.is_watched(node):
        marks.append("◎ ", "bold blue")
    if ref:
        t = marks + Text(f"↪ {s.node_title(node)} (a reference: shown in full once)", "dim italic")
        return _fit(t, width)
    number = f"#{s.rank.get(id(node), '?')} "
    head = number + node.name
    if node.name == "AccumulateGrad":
        name, wrap = s.leaf_name(node.variable), "({})"
    else:
        name, wrap = s.node_names.get(id(node), ""), " ({})"
    st = s.status(node)
    value = f" {s.node_value(node)}"
    tail = Text()
    tail.append(f" [{st}]", STATUS_STYLE[st])
    if id(node) in s.bad_ids:
        tail.append(" NaN/Inf", "bold red")
    if node is s.origin:
        tail.append(" ☠ NaN born here" if s.origin_certain else " ☠ first op known to output NaN", "bold red reverse")
    elif id(node) in s.saved_bad:
        tail.append(" saved NaN/Inf", "magenta")
    site = Text(f" {os.path.basename(node.site[0])}:{node.site[1]}", "cyan") if node.site else Text()

    def assemble(nm: str, with_value: bool, with_site: bool) -> Text:
        t = marks.copy()
        t.append(head, "bold")
        if nm:
            t.append(wrap.format(nm), "bold")
        if with_value:
            t.append(value)
        t.append_text(tail)
        if with_site:
            t.append_text(site)
        return t

    # what goes first when the line is short: the source line, the value, the op's long name
    # (AccumulateGrad -> Acc, MulBackward0 -> Mul), then the start of the leaf's name
    for with_value, with_site in ((True, True), (True, False), (False, False)):
        t = assemble(name, with_value, with_site)
        if width is None or t.cell_len <= width:
            return t
    head = number + short_op(node.name)
    t = assemble(name, False, False)
    if t.cell_len <= width or not name:
        return _fit(t, width)
    room = width - (t.cell_len - len(name))
    return _fit(assemble(abbreviate(name, max(room, 6)), False, False), width)


def short_op(name: str) -> str:
    """An op's name in a few letters: AccumulateGrad -> Acc, LogSoftmaxBackward0 -> LogSoftmax."""
    if name == "AccumulateGrad":
        return "Acc"
    base = name.rstrip("0123456789")
    return base[: -len("Backward")] if base.endswith("Backward") and len(base) > len("Backward") else name


def _fit(t: Text, width: int | None) -> Text:
    if width is not None and t.cell_len > width:
        t.truncate(max(width, 1), overflow="ellipsis")
    return t


def group_label(title: str, done: int, total: int, fold: bool, width: int | None = None) -> Text:
    t = Text(f"≡ {title}" if fold else f"▣ {title}", "bold magenta")
    count = Text(f"  {done}/{total} done", "green" if done == total else "dim")
    if width is not None and t.cell_len + count.cell_len > width:
        count = Text(f" {done}/{total}", count.style)
        if t.cell_len + count.cell_len > width:
            t = Text(("≡ " if fold else "▣ ") + abbreviate(title, max(width - count.cell_len - 2, 4)), t.style)
    return _fit(t + count, width)


def preview(a: np.ndarray | None, width: int, lines: int = 3, indent: str = "") -> Text | None:
    """The first values of an array as numbers (a matrix row by row), wrapped to `width`, at most
    `lines` lines, each after `indent`; says how many values are not shown."""
    if a is None or a.size <= 1 or a.dtype.kind not in "biuf":
        return None
    f = number_format(a)
    rows = a.reshape(1, -1) if a.ndim < 2 else a.reshape(-1, a.shape[-1])
    out: list[str] = []
    shown = 0
    for row in rows:
        line = ""
        for v in row:
            cell = f(v)
            if line and len(line) + 1 + len(cell) > width:
                out.append(line)
                line = ""
                if len(out) == lines:
                    break
            line = f"{line} {cell}" if line else cell
            shown += 1
        if len(out) == lines:
            break
        out.append(line)
        if len(out) == lines:
            break
    t = Text("\n".join(indent + line for line in out))
    if shown < a.size:
        t.append(f"\n{indent}… {shown} of {a.size} values shown; enter opens them all", "dim")
    return t


def entry_renderable(e: Entry, width: int) -> Any:
    """An inspector item: its line, and for a value the first numbers."""
    t = Text(e.text, e.style)
    if e.ref is None:
        return t
    first = next(iter(e.ref.views.values()))
    p = preview(first, max(width - 2, 10), indent="  ")
    if p is not None:
        t.append("\n")
        t.append_text(p)
    return t


def flow_table(rows: list[FlowRow], calls: list[int], name_width: int = 24) -> Table:
    """The gradient flow: per module |grad| across the calls (sparkline), the last value as a bar
    on a log scale against the largest module, flags, and the dead ReLU units."""
    t = Table(box=None, padding=(0, 1), expand=False)
    for c in ("module", f"|grad| over {len(calls)} calls", "last", "vs largest (log)", "flag"):
        t.add_column(c, no_wrap=True)
    lasts = [r.norms[-1] for r in rows if r.dead is None and r.norms and r.norms[-1] is not None
             and math.isfinite(r.norms[-1]) and r.norms[-1] > 0]
    top = max(lasts, default=0.0)
    for r in rows:
        name = abbreviate(r.module, name_width)
        if r.dead is not None:
            t.add_row(name, "", "", _bar(r.dead, 10, "yellow"), Text(f"{100 * r.dead:.0f}% dead ReLU units",
                                                                      "yellow" if r.dead > 0.5 else ""))
            continue
        vals = [math.nan if v is None else v for v in r.norms]
        last = r.norms[-1] if r.norms else None
        rel = 0.0
        if last is not None and math.isfinite(last) and last > 0 and top > 0:
            rel = max(0.0, 1 + math.log10(last / top) / 8)  # 8 decades across the bar
        style = {"vanishing": "blue", "exploding": "bold red"}.get(r.flag, "green")
        t.add_row(name, Text(sparkline(vals, 24), "cyan"), fmt(last), _bar(rel, 10, style), Text(r.flag, style))
    t.caption = (f"vanishing: |grad| < {VANISHING:g} × the largest module's; exploding: |grad| > {EXPLODING:g} "
                 "or nan/inf")
    return t


def _bar(frac: float, width: int, style: str) -> Text:
    n = int(round(max(0.0, min(1.0, frac)) * width))
    return Text("█" * n + "·" * (width - n), style)


def heat_style(v: float, scale: float) -> str:
    """A cell's background: red for positive, blue for negative, by magnitude."""
    x = 0.0 if scale == 0 else v / scale
    k = 255 - int(round(min(1.0, abs(x)) * 200))
    return f"on rgb(255,{k},{k})" if x > 0 else f"on rgb({k},{k},255)" if x < 0 else "on rgb(255,255,255)"

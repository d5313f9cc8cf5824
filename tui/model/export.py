"""Export a session: the graph as Graphviz DOT and SVG, the step log as JSON.

The SVG comes from Graphviz's `dot` when it is installed, else from a layered layout
drawn here (nodes in rows by their distance from the root, edges as lines)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any
from xml.sax.saxutils import escape

from .flow import GradientFlow
from .session import Session, short_path
from .values import summarize

STATUS_FILL = {"done": "#c8e6c9", "ready": "#fff59d", "waiting": "#eeeeee", "skipped": "#fafafa"}


def _label_lines(s: Session, node: Any) -> list[str]:
    lines = [s.node_title(node), s.node_value(node)]
    if node.site:
        lines.append(f"{os.path.basename(node.site[0])}:{node.site[1]}")
    return lines


def _fill(s: Session, node: Any) -> str:
    if node is s.origin or id(node) in s.bad_ids:
        return "#ffcdd2"
    return STATUS_FILL[s.status(node)]


def _ordered(s: Session) -> list[Any]:
    return sorted(s.nodes, key=lambda n: s.rank[id(n)])


def dot(s: Session) -> str:
    """The graph in Graphviz's DOT: an edge from each node to the inputs it sends gradients to."""
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = ["digraph backward {", '  rankdir=TB; node [shape=box, style="rounded,filled", fontname="monospace"];']
    for n in _ordered(s):
        label = "\\n".join(x.replace("\\", "\\\\").replace('"', '\\"') for x in _label_lines(s, n))
        extra = ', color="red", penwidth=2' if n is s.origin else ""
        out.append(f'  n{s.rank[id(n)]} [label="{label}", fillcolor="{_fill(s, n)}"{extra}];')
    for n in _ordered(s):
        for i, (nx, _) in enumerate(n.next_functions):
            if nx is not None:
                out.append(f"  n{s.rank[id(n)]} -> n{s.rank[id(nx)]} [label={q(str(i))}];")
    out.append("}")
    return "\n".join(out) + "\n"


def svg(s: Session) -> str:
    """The graph as SVG, laid out here: a row per distance from the root (the longest path),
    each row ordered by where its consumers sit."""
    nodes = _ordered(s)
    depth: dict[int, int] = {id(n): 0 for n in nodes}
    for n in nodes:  # run order: every consumer comes before the nodes it feeds
        for nx, _ in n.next_functions:
            if nx is not None:
                depth[id(nx)] = max(depth[id(nx)], depth[id(n)] + 1)
    rows: dict[int, list[Any]] = {}
    for n in nodes:
        rows.setdefault(depth[id(n)], []).append(n)
    char_w, line_h, pad, gap_x, gap_y = 7.2, 15, 8, 24, 40
    size = {id(n): (max(len(x) for x in _label_lines(s, n)) * char_w + 2 * pad,
                    len(_label_lines(s, n)) * line_h + pad) for n in nodes}
    pos: dict[int, tuple[float, float]] = {}
    consumers: dict[int, list[Any]] = {}
    for n in nodes:
        for nx, _ in n.next_functions:
            if nx is not None:
                consumers.setdefault(id(nx), []).append(n)
    y = 20.0
    width = 0.0
    for d in sorted(rows):
        row = rows[d]
        if d:
            row.sort(key=lambda n: sum(pos[id(c)][0] for c in consumers.get(id(n), [])) /
                     max(1, len(consumers.get(id(n), []))))
        x = 20.0
        h = max(size[id(n)][1] for n in row)
        for n in row:
            w = size[id(n)][0]
            pos[id(n)] = (x + w / 2, y)
            x += w + gap_x
        width = max(width, x)
        y += h + gap_y
    parts = []
    for n in nodes:
        x0, y0 = pos[id(n)]
        for nx, _ in n.next_functions:
            if nx is not None:
                x1, y1 = pos[id(nx)]
                parts.append(f'<line x1="{x0:.1f}" y1="{y0 + size[id(n)][1]:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
                             'stroke="#777" marker-end="url(#arrow)"/>')
    for n in nodes:
        (cx, y0), (w, h) = pos[id(n)], size[id(n)]
        stroke = ' stroke="red" stroke-width="2"' if n is s.origin else ' stroke="#555"'
        parts.append(f'<rect x="{cx - w / 2:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" '
                     f'fill="{_fill(s, n)}"{stroke}/>')
        for i, line in enumerate(_label_lines(s, n)):
            parts.append(f'<text x="{cx:.1f}" y="{y0 + pad / 2 + (i + 0.8) * line_h:.1f}" text-anchor="middle" '
                         f'font-family="monospace" font-size="12">{escape(line)}</text>')
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 20:.0f}" height="{y:.0f}" '
            f'viewBox="0 0 {width + 20:.0f} {y:.0f}">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
            'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>'
            '<rect width="100%" height="100%" fill="white"/>')
    return head + "\n".join(parts) + "</svg>\n"


def _summary(x: Any) -> dict | None:
    sm = summarize(x)
    return None if sm is None else sm.to_json()


def step_log(s: Session) -> dict:
    """The call's graph and every step run so far: node, gradient summaries, accumulations; and
    the event log's lines (communication events included)."""
    def rank(n: Any) -> int | None:
        return None if n is None else s.rank[id(n)]

    nodes = [{"id": rank(n), "name": n.name, "title": s.node_title(n), "value": s.node_value(n),
              "status": s.status(n), "group": (s.group_of.get(id(n)) or (None,))[0],
              "site": None if not n.site else [short_path(n.site[0]), n.site[1], n.site[2]],
              "inputs": [rank(nx) for nx, _ in n.next_functions]} for n in _ordered(s)]
    steps = []
    for k, n in enumerate(s.order):
        st = s.steps[id(n)]
        steps.append({"index": k, "node": rank(n), "title": s.node_title(n),
                      "grads_in": [_summary(g) for g in st.grads_in],
                      "grads_out": [_summary(g) for g in st.grads_out],
                      "accumulations": [{"leaf": s.leaf_name(a.tensor), "before": _summary(a.before),
                                         "after": _summary(a.after), "delta": _summary(a.delta)}
                                        for a in st.accumulations]})
    return {"call": s.call.number, "script": s.call.script or None, "title": s.call.title or None, "kind": s.kind,
            "root": s.root_text(), "state": s.state,
            "error": None if s.error is None else f"{type(s.error).__name__}: {s.error}",
            "origin": rank(s.origin), "origin_certain": s.origin_certain,
            "anomalies": [rank(st.node) for st in s.anomalies], "nodes": nodes, "steps": steps,
            "events": list(s.events)}


def write_all(s: Session, directory: str, flow: GradientFlow | None = None) -> list[str]:
    """Write backward-N.dot, .svg and .json (and gradient-flow.json) into directory; the paths."""
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, f"backward-{s.call.number}")
    if s.passes > 1:
        stem += f"-restart{s.passes - 1}"
    paths = [stem + ".dot", stem + ".svg", stem + ".json"]
    with open(paths[0], "w") as f:
        f.write(dot(s))
    graphviz = shutil.which("dot")
    done = False
    if graphviz:
        done = subprocess.run([graphviz, "-Tsvg", paths[0], "-o", paths[1]], capture_output=True).returncode == 0
    if not done:
        with open(paths[1], "w") as f:
            f.write(svg(s))
    with open(paths[2], "w") as f:
        json.dump(step_log(s), f, indent=1)
    if flow is not None and flow.calls:
        paths.append(os.path.join(directory, "gradient-flow.json"))
        with open(paths[-1], "w") as f:
            json.dump(flow.to_json(s.names), f, indent=1)
    return paths

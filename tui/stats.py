"""One-line summaries and small value tables for gradient / saved arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

SMALL = 25  # tensors with at most this many elements also get a value table


def as_array(a: Any) -> np.ndarray | None:
    if a is None:
        return None
    if hasattr(a, "_data"):  # a Tensor
        return a._backend.to_numpy(a._data)
    if not isinstance(a, np.ndarray) and hasattr(a, "backend"):  # a device array (CUDA): copied to the host
        return a.backend.to_numpy(a)
    return np.asarray(a)


def has_anomaly(a: Any) -> bool:
    a = as_array(a)
    if a is None or a.dtype.kind not in "fc":
        return False
    return not bool(np.isfinite(a).all())


def summary(a: Any) -> str:
    a = as_array(a)
    if a is None:
        return "None"
    head = f"{tuple(a.shape)} {a.dtype}"
    if a.size == 0:
        return head + " (empty)"
    x = a.astype(np.float64) if a.dtype.kind in "biu" else a
    if x.dtype.kind not in "fc":
        return head
    x = np.real(x)
    fin = np.isfinite(x)
    nan = int(np.isnan(x).sum())
    inf = int(np.isinf(x).sum())
    zero = int((x == 0).sum())
    v = x[fin]
    if v.size:
        body = f"min={v.min():.4g} max={v.max():.4g} mean={v.mean():.4g} std={v.std():.4g}"
    else:
        body = "no finite values"
    return f"{head} {body} nan={nan} inf={inf} zero={zero}"


def value_table(a: Any, changed: Any = None) -> Table | None:
    """The values of a small array; cells where `changed` (a bool mask) is set are highlighted."""
    a = as_array(a)
    if a is None or a.size == 0 or a.size > SMALL or a.ndim > 2:
        return None
    m = a.reshape(1, -1) if a.ndim < 2 else a
    mask = np.broadcast_to(np.asarray(changed, bool), a.shape).reshape(m.shape) if changed is not None else None
    t = Table(show_header=False, box=None, padding=(0, 1))
    for _ in range(m.shape[1]):
        t.add_column(justify="right")
    for r, row in enumerate(m):
        cells = [f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v) for v in row.tolist()]
        if mask is not None:
            cells = [Text(c, "bold black on yellow" if mask[r, k] else "") for k, c in enumerate(cells)]
        t.add_row(*cells)
    return t


def heatmap(a: Any, rows: int = 8, cols: int = 48) -> Text | None:
    """A colour map of a larger array (red positive, blue negative, magenta nan/inf), sampled
    down to at most rows x cols cells; rank > 2 shows the slice [0, ..., 0, :, :]."""
    a = as_array(a)
    if a is None or a.size <= SMALL or a.dtype.kind not in "fiub":
        return None
    sliced = a.ndim > 2
    while a.ndim > 2:
        a = a[0]
    m = np.asarray(a, np.float64).reshape(1, -1) if a.ndim < 2 else np.asarray(a, np.float64)
    r = np.unique(np.linspace(0, m.shape[0] - 1, min(rows, m.shape[0])).astype(int))
    c = np.unique(np.linspace(0, m.shape[1] - 1, min(cols, m.shape[1])).astype(int))
    m = m[np.ix_(r, c)]
    fin = np.isfinite(m)
    scale = float(np.abs(m[fin]).max()) if fin.any() else 0.0
    t = Text()
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if not fin[i, j]:
                t.append("!", "bold white on magenta")
                continue
            v = 0.0 if scale == 0 else m[i, j] / scale
            k = 255 - int(round(abs(v) * 200))
            t.append(" ", f"on rgb(255,{k},{k})" if v > 0 else f"on rgb({k},{k},255)")
        t.append("\n")
    t.append(f"{'slice [0, ..., :, :]: ' if sliced else ''}{len(r)}x{len(c)} sampled cells, |max|={scale:.3g}",
             "dim")
    return t


BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 16) -> str:
    """The last `width` values as bar characters scaled between their min and max (non-finite: '!')."""
    v = values[-width:]
    fin = [x for x in v if np.isfinite(x)]
    if not fin:
        return "!" * len(v)
    lo, hi = min(fin), max(fin)
    span = hi - lo

    def bar(x: float) -> str:
        if not np.isfinite(x):
            return "!"
        if span == 0:
            return BARS[0 if x == 0 else 3]
        return BARS[int((x - lo) / span * (len(BARS) - 1))]

    return "".join(bar(x) for x in v)


def norm(a: Any) -> float | None:
    a = as_array(a)
    if a is None:
        return None
    return float(np.sqrt(np.sum(np.abs(a.astype(np.float64)) ** 2)))

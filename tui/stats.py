"""One-line summaries and small value tables for gradient / saved arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.table import Table

SMALL = 25  # tensors with at most this many elements also get a value table


def as_array(a: Any) -> np.ndarray | None:
    if a is None:
        return None
    if hasattr(a, "_data"):  # a Tensor
        a = a._data
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


def value_table(a: Any) -> Table | None:
    a = as_array(a)
    if a is None or a.size == 0 or a.size > SMALL or a.ndim > 2:
        return None
    m = a.reshape(1, -1) if a.ndim < 2 else a
    t = Table(show_header=False, box=None, padding=(0, 1))
    for _ in range(m.shape[1]):
        t.add_column(justify="right")
    for row in m:
        t.add_row(*(f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v) for v in row.tolist()))
    return t


def norm(a: Any) -> float | None:
    a = as_array(a)
    if a is None:
        return None
    return float(np.sqrt(np.sum(np.abs(a.astype(np.float64)) ** 2)))

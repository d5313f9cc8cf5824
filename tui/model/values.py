"""Every value the debugger shows, as a host NumPy array, and the numbers it prints about it.

`to_host` is the one place a gradient, saved value or .grad is read: an nbgrad Tensor,
a NumPy array, a CUDA device array or a Python number all come out as a NumPy array."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np


def to_host(x: Any) -> np.ndarray | None:
    """x as a NumPy array on the host (None stays None)."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # an nbgrad Tensor
        return x.detach().cpu().numpy()
    if hasattr(x, "copy_to_host"):  # a numba device array
        return x.copy_to_host()
    backend = getattr(x, "backend", None)  # nbgrad's CUDA array (a strided view of a device buffer)
    if backend is not None and hasattr(backend, "to_numpy"):
        return backend.to_numpy(x)
    return np.asarray(x)


def _real(a: np.ndarray) -> np.ndarray | None:
    """The values as floats, or None for a non-numeric array."""
    if a.dtype.kind in "biu":
        return a.astype(np.float64)
    if a.dtype.kind == "c":
        return np.real(a)
    return a if a.dtype.kind == "f" else None


def has_anomaly(x: Any) -> bool:
    """Whether x holds a nan or an inf."""
    a = to_host(x)
    if a is None or a.dtype.kind not in "fc":
        return False
    return not bool(np.isfinite(a).all())


def norm(x: Any) -> float | None:
    a = to_host(x)
    if a is None:
        return None
    r = _real(a)
    if r is None:
        return None
    return float(np.sqrt(np.sum(np.square(r, dtype=np.float64))))


def scalar_value(x: Any) -> float | None:
    """The number in a one-element value (None when there is none)."""
    a = to_host(x)
    if a is None or a.size != 1:
        return None
    r = _real(a)
    return None if r is None else float(r.reshape(-1)[0])


@dataclass
class Summary:
    """What the inspector, the event log and the JSON export say about one array."""

    shape: tuple
    dtype: str
    size: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    norm: float | None = None
    nan: int = 0
    inf: int = 0
    zero: int = 0

    def text(self, compact: bool = False) -> str:
        """shape, dtype, min / max / mean / std and the nan / inf / zero counts; compact: the
        range and mean, and only the counts that are not zero."""
        head = f"{self.shape} {self.dtype}"
        if self.size == 0:
            return head + " (empty)"
        if self.min is None and self.nan + self.inf == 0:
            return head
        if self.min is None:
            body = "no finite values"
        elif compact:
            body = f"[{self.min:.3g}, {self.max:.3g}] mean={self.mean:.3g}"
        else:
            body = f"min={self.min:.4g} max={self.max:.4g} mean={self.mean:.4g} std={self.std:.4g}"
        if compact:
            counts = " ".join(f"{k}={v}" for k, v in (("nan", self.nan), ("inf", self.inf)) if v)
            return f"{head} {body}" + (f" {counts}" if counts else "")
        return f"{head} {body} nan={self.nan} inf={self.inf} zero={self.zero}"

    def to_json(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def summarize(x: Any) -> Summary | None:
    a = to_host(x)
    if a is None:
        return None
    s = Summary(tuple(a.shape), str(a.dtype), int(a.size))
    r = _real(a)
    if a.size == 0 or r is None:
        return s
    fin = np.isfinite(r)
    s.nan, s.inf, s.zero = int(np.isnan(r).sum()), int(np.isinf(r).sum()), int((r == 0).sum())
    v = r[fin]
    if v.size:
        s.min, s.max, s.mean, s.std = float(v.min()), float(v.max()), float(v.mean()), float(v.std())
        s.norm = float(np.sqrt(np.sum(np.square(v, dtype=np.float64))))
    return s


def summary_text(x: Any, compact: bool = False) -> str:
    s = summarize(x)
    return "None" if s is None else s.text(compact)


def changed_mask(before: Any, after: Any) -> np.ndarray | None:
    """Cells of `after` that differ from `before` (nan equal to nan); all of them when there was
    no `before`; None when there is no `after`."""
    a = to_host(after)
    if a is None:
        return None
    b = to_host(before)
    if b is None or b.shape != a.shape:
        return np.ones(a.shape, bool)
    same = a == b
    if a.dtype.kind in "fc":
        same |= np.isnan(a) & np.isnan(b)
    return ~same


def number_format(x: Any) -> Callable[[Any], str]:
    """One format for every number of an array, so a column of them lines up: whole numbers as
    "3.", others with 4 decimals, or 4 significant digits in scientific notation where the
    magnitudes span more than 1000x, pass 1e8 or go below 1e-4. Right-aligned to one width."""
    a = to_host(x)
    r = _real(a) if a is not None else None
    if r is None or r.size == 0:
        return lambda v: str(v)
    flat = r.reshape(-1)
    if flat.size > 100_000:  # the format comes from a spread sample of a very large array
        flat = flat[:: flat.size // 100_000]
    fin = flat[np.isfinite(flat)]
    nz = np.abs(fin[fin != 0])
    whole = bool(np.all(fin == np.round(fin))) if fin.size else True
    lo, hi = (float(nz.min()), float(nz.max())) if nz.size else (1.0, 1.0)
    sci = hi / lo > 1000 or hi >= 1e8 or (not whole and lo < 1e-4)

    def one(v: Any) -> str:
        v = float(v)
        if not math.isfinite(v):
            return str(v)
        return f"{v:.3e}" if sci else (f"{v:.0f}." if whole else f"{v:.4f}")

    width = max([1, *(len(one(v)) for v in fin[:10_000])], default=1)
    if fin.size < flat.size:
        width = max(width, 4)  # room for nan / -inf
    return lambda v: one(v).rjust(width)


BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 16) -> str:
    """The last `width` values as bars between their min and max ('!' for a non-finite value)."""
    v = values[-width:]
    fin = [x for x in v if math.isfinite(x)]
    if not fin:
        return "!" * len(v)
    lo, hi = min(fin), max(fin)
    span = hi - lo

    def bar(x: float) -> str:
        if not math.isfinite(x):
            return "!"
        if span == 0:
            return BARS[0 if x == 0 else 3]
        return BARS[int((x - lo) / span * (len(BARS) - 1))]

    return "".join(bar(x) for x in v)


def fmt(x: float | None) -> str:
    """A number for a label: 4 significant digits, the sign kept."""
    if x is None:
        return "None"
    return f"{x:.4g}" if math.isfinite(x) else str(x)


def abbreviate(name: str, width: int) -> str:
    """name cut to `width` cells from the left ("…ers.0.weight"): the end of a dotted name is its
    most telling part."""
    if width <= 0:
        return ""
    if len(name) <= width:
        return name
    return "…" + name[len(name) - width + 1:] if width > 1 else "…"

"""Anomaly detection: record where each node was created in the forward pass,
and check every backward output for nan / inf."""

from __future__ import annotations

import threading
import traceback
from typing import Any

import numpy as np

_state = threading.local()


def is_anomaly_enabled() -> bool:
    return getattr(_state, "enabled", False)


class set_detect_anomaly:  # noqa: N801
    def __init__(self, mode: bool) -> None:
        self._prev = is_anomaly_enabled()
        _state.enabled = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev


class detect_anomaly:  # noqa: N801
    def __enter__(self) -> None:
        self._prev = is_anomaly_enabled()
        _state.enabled = True

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev


def summary(a: Any) -> str:
    a = np.asarray(a)
    if a.size == 0:
        return f"shape={list(a.shape)} empty"
    f = a.astype(np.float64)
    finite = f[np.isfinite(f)]
    rng = f"[{finite.min():.4g}, {finite.max():.4g}]" if finite.size else "[-]"
    return (
        f"shape={list(a.shape)} dtype={a.dtype} range={rng} "
        f"nan={int(np.isnan(f).sum())} inf={int(np.isinf(f).sum())}"
    )


def check_outputs(node: Any, outs: tuple, backend: Any) -> None:
    for i, g in enumerate(outs):
        if g is None:
            continue
        a = backend.to_numpy(g)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            where = ""
            if node.site is not None:
                fn, ln, func = node.site
                where = f" The op was created at {fn}:{ln} in {func}."
            ops = "; ".join(f"{k}: {summary(backend.to_numpy(v))}" for k, v in node.saved_arrays().items())
            tb = "".join(traceback.format_list(node.stack)) if node.stack else ""
            bad = "nan" if np.isnan(a).any() else "inf"
            raise RuntimeError(
                f"Function '{node.name}' returned {bad} values in its {i}th output.{where}"
                + (f" Saved operands: {ops}." if ops else "")
                + (f"\nForward traceback:\n{tb}" if tb else "")
            )

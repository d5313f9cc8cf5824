"""Anomaly detection: record where each node was created in the forward pass,
and check every backward output for nan / inf."""

from __future__ import annotations

import threading
import traceback
from typing import Any

import numpy as np

class _State(threading.local):
    enabled = False
    first_nonfinite = None


_state = _State()


def is_anomaly_enabled() -> bool:
    return _state.enabled


def note_forward(node: Any, out: Any, backend: Any) -> None:
    """In anomaly mode, record whether a node's forward output is finite, and remember the
    first op whose output was not (where a nan / inf was born)."""
    a = backend.to_numpy(out)
    node.forward_finite = a.dtype.kind != "f" or bool(np.isfinite(a).all())
    if not node.forward_finite and getattr(_state, "first_nonfinite", None) is None:
        _state.first_nonfinite = node


def first_nonfinite() -> Any:
    """The first node, since anomaly mode was turned on, whose forward output was not finite."""
    return getattr(_state, "first_nonfinite", None)


def _site(node: Any) -> str:
    if node.site is None:
        return ""
    fn, ln, func = node.site
    return f" created at {fn}:{ln} in {func}"


class set_detect_anomaly:  # noqa: N801
    def __init__(self, mode: bool) -> None:
        self._prev = is_anomaly_enabled()
        _state.enabled = bool(mode)
        if mode and not self._prev:
            _state.first_nonfinite = None

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev


class detect_anomaly:  # noqa: N801
    def __enter__(self) -> None:
        self._prev = is_anomaly_enabled()
        _state.enabled = True
        if not self._prev:
            _state.first_nonfinite = None

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
            where = f" The op was{_site(node)}." if node.site is not None else ""
            born = first_nonfinite()
            if born is not None and born is not node:
                where += f" The nan/inf was born in the forward pass in '{born.name}'{_site(born)}."
            ops = "; ".join(f"{k}: {summary(backend.to_numpy(v))}" for k, v in node.saved_arrays().items())
            tb = "".join(traceback.format_list(node.stack)) if node.stack else ""
            bad = "nan" if np.isnan(a).any() else "inf"
            raise RuntimeError(
                f"Function '{node.name}' returned {bad} values in its {i}th output.{where}"
                + (f" Saved operands: {ops}." if ops else "")
                + (f"\nForward traceback:\n{tb}" if tb else "")
            )

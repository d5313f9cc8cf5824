"""Helpers for tests that run one scenario in nbgrad and in torch and compare the results."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import nbgrad as ng

try:
    import torch
except ImportError:  # the modules that use this skip themselves without torch
    torch = None


def lib_of(x: Any) -> Any:
    """nbgrad for an nbgrad tensor, else torch: a case written once runs in either library."""
    return ng if isinstance(x, ng.Tensor) else torch


def functional_of(x: Any) -> Any:
    """nn.functional of x's library."""
    return lib_of(x).nn.functional


def to_numpy(x: Any) -> Any:
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, ng.Tensor):
        return x.detach().cpu().numpy()
    return x


def compare(a: dict, b: dict, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """The two results have the same keys and, key by key, the same values (arrays within
    rtol / atol; lists of arrays or floats element by element; anything else equal)."""
    assert a.keys() == b.keys()
    for k in a:
        x, y = to_numpy(a[k]), to_numpy(b[k])
        if isinstance(y, np.ndarray) or isinstance(x, np.ndarray):
            assert x is not None and y is not None, k
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=k)
        elif isinstance(y, (list, tuple)) and y and (hasattr(y[0], "shape") or isinstance(y[0], float)):
            assert len(x) == len(y), k
            for u, v in zip(x, y):
                np.testing.assert_allclose(to_numpy(u), to_numpy(v), rtol=rtol, atol=atol, err_msg=k)
        else:
            assert x == y, (k, x, y)


def both(scenario: Callable[[Any], dict], **tol: float) -> None:
    """scenario(lib) for lib = nbgrad and torch: the same results."""
    compare(scenario(ng), scenario(torch), **tol)


def T(lib: Any, a: Any, **kw: Any) -> Any:
    """A float64 tensor of lib from array-like a."""
    return lib.tensor(np.asarray(a, dtype=np.float64), **kw)


def error_of(fn: Callable[[], Any], needle: str | None = None) -> Any:
    """None if fn() runs; else the exception's type name, or (with needle) whether its message
    contains needle."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - which error is the point
        return needle in str(e) if needle is not None else type(e).__name__
    return None

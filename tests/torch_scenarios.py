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


# ---------------------------------------------------------------- linear algebra (issue 16)
def check_both(fn: Callable[..., Any], arrays: list, dt: Any, tol: dict, nograd: tuple = (), seed: int = 0,
               transpose: tuple = ()) -> None:
    """fn(lib, *tensors) in both libraries on the same inputs: outputs and input gradients under a
    random upstream gradient (none when the output takes no gradient); an input whose torch gradient
    is None or zero has none or zero in nbgrad too. Indices in `transpose` are passed as
    non-contiguous (transposed) views."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=dt) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    rg = [a.dtype.kind == "f" and i not in nograd for i, a in enumerate(arrays)]

    def make(lib, i, a, r):
        if i in transpose:
            t = lib.tensor(np.ascontiguousarray(a.swapaxes(-1, -2)), requires_grad=r)
            return t, t.transpose(-1, -2)
        t = lib.tensor(a, requires_grad=r)
        return t, t

    xs = [make(ng, i, a, r) for i, (a, r) in enumerate(zip(arrays, rg))]
    ts = [make(torch, i, a, r) for i, (a, r) in enumerate(zip(arrays, rg))]
    yn, yt = fn(ng, *[v for _, v in xs]), fn(torch, *[v for _, v in ts])
    assert tuple(yn.shape) == tuple(yt.shape)
    assert yn.dtype.name == str(yt.dtype).replace("torch.", "")
    np.testing.assert_allclose(to_numpy(yn), to_numpy(yt), **tol)
    if not yt.requires_grad:
        return
    g = rng.standard_normal(tuple(yt.shape)).astype(to_numpy(yt).dtype)
    yn.backward(ng.tensor(g))
    yt.backward(torch.tensor(g))
    for (xn, _), (xt, _) in zip(xs, ts):
        if xt.grad is None or not np.any(to_numpy(xt.grad)):
            assert xn.grad is None or not np.any(to_numpy(xn.grad))
            continue
        assert xn.grad is not None
        np.testing.assert_allclose(to_numpy(xn.grad), to_numpy(xt.grad), **tol)

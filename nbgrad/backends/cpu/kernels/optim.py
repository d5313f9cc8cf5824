"""Fused optimizer update kernels for the CPU backend (in place, one pass over memory), and the
drivers that prepare their scalars and pick the serial or parallel variant."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...shared.optim import adam_element, adam_scalars, sgd_element, sgd_scalars
from ..dispatch import PARALLEL_THRESHOLD, PARALLEL_THRESHOLD_CHEAP, variants
from ..vecmath import lift

_adam_element = lift(adam_element)


@variants(error_model="numpy")
def _adam(x, d, m, v, c_decay, wd, one_b1, b2, one_b2, step_size, sqrt_bc2, eps, maximize, decoupled):  # pragma: no cover
    """Adam/AdamW for one parameter in place; scalars come in x's dtype so float32 stays float32."""
    for i in prange(x.size):
        x[i], m[i], v[i] = _adam_element(x[i], d[i], m[i], v[i], c_decay, wd, one_b1, b2, one_b2, step_size,
                                         sqrt_bc2, eps, maximize, decoupled)


adam_step_serial, adam_step = _adam


_sgd_element = lift(sgd_element)


@njit(inline="always")
def _sgd_at(x, d, b, i, wd, momentum, one_damp, lr, maximize, nesterov, first):  # pragma: no cover
    """sgd_element on element i in place; b (the momentum buffer) is read and written only with momentum."""
    xi, bi = _sgd_element(x[i], d[i], b[i] if momentum != 0 else x[i], wd, momentum, one_damp, lr, maximize,
                          nesterov, first)
    x[i] = xi
    if momentum != 0:
        b[i] = bi


@variants(error_model="numpy")
def _sgd(x, d, b, wd, momentum, one_damp, lr, maximize, nesterov, first):  # pragma: no cover
    """SGD for one parameter in place."""
    for i in prange(x.size):
        _sgd_at(x, d, b, i, wd, momentum, one_damp, lr, maximize, nesterov, first)


sgd_step_serial, sgd_step = _sgd


def sgd(x: np.ndarray, d: np.ndarray, buf: np.ndarray | None, lr: float, momentum: float, dampening: float,
        weight_decay: float, nesterov: bool, maximize: bool, first: bool) -> None:
    """One SGD update of x (and of the momentum buffer buf) in place, x and buf contiguous."""
    c = sgd_scalars(x.dtype, lr, momentum, dampening, weight_decay)
    xf = x.reshape(-1)
    bf = xf[:1] if buf is None else buf.reshape(-1)
    if not (np.shares_memory(xf, x) and (buf is None or np.shares_memory(bf, buf))):
        raise RuntimeError("sgd_step needs contiguous parameter and momentum arrays")
    dflat = np.ascontiguousarray(d, dtype=x.dtype).reshape(-1)
    _sgd.pick(x.size, PARALLEL_THRESHOLD_CHEAP)(xf, dflat, bf, *c, maximize, nesterov, first)


def adam(x: np.ndarray, d: np.ndarray, m: np.ndarray, v: np.ndarray, step: int, lr: float, beta1: float,
         beta2: float, eps: float, weight_decay: float, decoupled: bool, maximize: bool) -> None:
    """One Adam/AdamW update of x, m, v in place (x, m, v contiguous, as the optimizer makes them)."""
    c = adam_scalars(x.dtype, step, lr, beta1, beta2, eps, weight_decay, decoupled)
    flat = [a.reshape(-1) for a in (x, m, v)]
    if not all(np.shares_memory(f, a) for f, a in zip(flat, (x, m, v))):
        raise RuntimeError("adam_step needs contiguous parameter and state arrays")
    dflat = np.ascontiguousarray(d, dtype=x.dtype).reshape(-1)
    _adam.pick(x.size, PARALLEL_THRESHOLD)(flat[0], dflat, flat[1], flat[2], *c[:6], c[6], c[7], maximize, decoupled)

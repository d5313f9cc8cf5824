"""Fused optimizer update kernels for the CPU backend (in place, one pass over memory)."""

from __future__ import annotations

import math

import numpy as np

from ._numba_setup import ensure_cache_dir

ensure_cache_dir()

from numba import njit, prange  # noqa: E402


def adam_element(xi, di, mi, vi, c_decay, wd, one_b1, b2, one_b2, step_size, sqrt_bc2, eps, maximize, decoupled):
    """PyTorch's Adam/AdamW on one element, in its operation order: returns the new (x, m, v).
    Plain Python: compiled here for the CPU and by cuda_kernels for the GPU."""
    if maximize:
        di = -di
    if decoupled:
        xi = xi * c_decay
    else:
        di = di + xi * wd
    mi = mi + (di - mi) * one_b1
    vi = vi * b2 + di * di * one_b2
    return xi - step_size * (mi / (math.sqrt(vi) / sqrt_bc2 + eps)), mi, vi


_adam_element = njit(inline="always")(adam_element)  # same file as its caller: Numba's cache stays valid


@njit(cache=True, parallel=True, error_model="numpy")
def adam_step(x, d, m, v, c_decay, wd, one_b1, b2, one_b2, step_size, sqrt_bc2, eps, maximize, decoupled):  # pragma: no cover
    """Adam/AdamW for one parameter in place; scalars come in x's dtype so float32 stays float32."""
    for i in prange(x.size):
        x[i], m[i], v[i] = _adam_element(x[i], d[i], m[i], v[i], c_decay, wd, one_b1, b2, one_b2, step_size,
                                         sqrt_bc2, eps, maximize, decoupled)


@njit(cache=True, error_model="numpy")
def adam_step_serial(x, d, m, v, c_decay, wd, one_b1, b2, one_b2, step_size, sqrt_bc2, eps, maximize,
                     decoupled):  # pragma: no cover
    """adam_step on one thread, for parameters too small to pay for waking the others."""
    for i in range(x.size):
        x[i], m[i], v[i] = _adam_element(x[i], d[i], m[i], v[i], c_decay, wd, one_b1, b2, one_b2, step_size,
                                         sqrt_bc2, eps, maximize, decoupled)


def adam_scalars(dtype: np.dtype, step: int, lr: float, beta1: float, beta2: float, eps: float,
                 weight_decay: float, decoupled: bool) -> tuple:
    """The per-step constants of adam_step, cast to the parameter's dtype (shared with the CUDA backend)."""
    t = dtype.type
    bc1, bc2 = 1 - beta1 ** step, 1 - beta2 ** step
    c_decay = 1 - lr * weight_decay if decoupled else 1.0
    return (t(c_decay), t(weight_decay), t(1 - beta1), t(beta2), t(1 - beta2), t(lr / bc1),
            t(math.sqrt(bc2)), t(eps))

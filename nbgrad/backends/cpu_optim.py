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


def sgd_element(xi, di, bi, wd, momentum, one_damp, lr, maximize, nesterov, first):
    """PyTorch's SGD on one element, in its operation order: returns the new (x, momentum buffer).
    first: the buffer starts as the direction. Compiled here and by cuda_kernels, as adam_element."""
    if maximize:
        di = -di
    if wd != 0:
        di = di + xi * wd
    if momentum != 0:
        if first:
            bi = di
        else:
            bi = bi * momentum + di * one_damp
        if nesterov:
            di = di + bi * momentum
        else:
            di = bi
    return xi - di * lr, bi


_sgd_element = njit(inline="always")(sgd_element)


@njit(inline="always")
def _sgd_at(x, d, b, i, wd, momentum, one_damp, lr, maximize, nesterov, first):  # pragma: no cover
    """sgd_element on element i in place; b (the momentum buffer) is read and written only with momentum."""
    xi, bi = _sgd_element(x[i], d[i], b[i] if momentum != 0 else x[i], wd, momentum, one_damp, lr, maximize,
                          nesterov, first)
    x[i] = xi
    if momentum != 0:
        b[i] = bi


@njit(cache=True, parallel=True, error_model="numpy")
def sgd_step(x, d, b, wd, momentum, one_damp, lr, maximize, nesterov, first):  # pragma: no cover
    """SGD for one parameter in place."""
    for i in prange(x.size):
        _sgd_at(x, d, b, i, wd, momentum, one_damp, lr, maximize, nesterov, first)


@njit(cache=True, error_model="numpy")
def sgd_step_serial(x, d, b, wd, momentum, one_damp, lr, maximize, nesterov, first):  # pragma: no cover
    """sgd_step on one thread (small parameters)."""
    for i in range(x.size):
        _sgd_at(x, d, b, i, wd, momentum, one_damp, lr, maximize, nesterov, first)


def sgd_scalars(dtype: np.dtype, lr: float, momentum: float, dampening: float, weight_decay: float) -> tuple:
    """sgd_step's (wd, momentum, 1 - dampening, lr) in the parameter's dtype."""
    t = dtype.type
    return t(weight_decay), t(momentum), t(1 - dampening), t(lr)


def adam_constants(step, lr, beta1, beta2, weight_decay, decoupled):
    """Adam's constants that change with the step count, in float64: (1 - lr * wd or 1, lr / (1 -
    beta1^step), sqrt(1 - beta2^step)). Plain Python: also compiled by cuda_kernels for capturable
    Adam, which reads the step count on the GPU."""
    bc1 = 1.0 - beta1 ** step
    bc2 = 1.0 - beta2 ** step
    c_decay = 1.0 - lr * weight_decay if decoupled else 1.0
    return c_decay, lr / bc1, math.sqrt(bc2)


def adam_scalars(dtype: np.dtype, step: int, lr: float, beta1: float, beta2: float, eps: float,
                 weight_decay: float, decoupled: bool) -> tuple:
    """The per-step constants of adam_step, cast to the parameter's dtype (shared with the CUDA backend)."""
    t = dtype.type
    c_decay, step_size, sqrt_bc2 = adam_constants(float(step), lr, beta1, beta2, weight_decay, decoupled)
    return (t(c_decay), t(weight_decay), t(1 - beta1), t(beta2), t(1 - beta2), t(step_size),
            t(sqrt_bc2), t(eps))

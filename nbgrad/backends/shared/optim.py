"""The optimizers' math, device-free: PyTorch's SGD and Adam / AdamW on one element (plain
Python that each device compiles into its fused kernels), and the per-step constants the
kernels take, computed on the host."""

from __future__ import annotations

import math

import numpy as np


def adam_element(xi, di, mi, vi, c_decay, wd, one_b1, b2, one_b2, step_size, sqrt_bc2, eps, maximize, decoupled):
    """PyTorch's Adam/AdamW on one element, in its operation order: returns the new (x, m, v).
    Each device compiles this same function (CPU: inlined in its kernels; CUDA: a device function)."""
    if maximize:
        di = -di
    if decoupled:
        xi = xi * c_decay
    else:
        di = di + xi * wd
    mi = mi + (di - mi) * one_b1
    vi = vi * b2 + di * di * one_b2
    return xi - step_size * (mi / (math.sqrt(vi) / sqrt_bc2 + eps)), mi, vi


def sgd_element(xi, di, bi, wd, momentum, one_damp, lr, maximize, nesterov, first):
    """PyTorch's SGD on one element, in its operation order: returns the new (x, momentum buffer).
    first: the buffer starts as the direction. Compiled by each device, as adam_element."""
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


def sgd_scalars(dtype: np.dtype, lr: float, momentum: float, dampening: float, weight_decay: float) -> tuple:
    """The SGD kernels' (wd, momentum, 1 - dampening, lr) in the parameter's dtype."""
    t = dtype.type
    return t(weight_decay), t(momentum), t(1 - dampening), t(lr)


def adam_constants(step, lr, beta1, beta2, weight_decay, decoupled):
    """Adam's constants that change with the step count, in float64: (1 - lr * wd or 1, lr / (1 -
    beta1^step), sqrt(1 - beta2^step)). Also compiled for CUDA's capturable Adam, which reads the step
    count on the GPU."""
    bc1 = 1.0 - beta1 ** step
    bc2 = 1.0 - beta2 ** step
    c_decay = 1.0 - lr * weight_decay if decoupled else 1.0
    return c_decay, lr / bc1, math.sqrt(bc2)


def adam_scalars(dtype: np.dtype, step: int, lr: float, beta1: float, beta2: float, eps: float,
                 weight_decay: float, decoupled: bool) -> tuple:
    """The per-step constants of the Adam kernels, cast to the parameter's dtype."""
    t = dtype.type
    c_decay, step_size, sqrt_bc2 = adam_constants(float(step), lr, beta1, beta2, weight_decay, decoupled)
    return (t(c_decay), t(weight_decay), t(1 - beta1), t(beta2), t(1 - beta2), t(step_size),
            t(sqrt_bc2), t(eps))

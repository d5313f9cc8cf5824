"""Fused optimizer kernels: SGD on several parameters per launch, Adam / AdamW per parameter (with
the step count on the device for CUDA graphs); the per-element math is shared.optim's, which the
CPU kernels compile too."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cuda, float32, float64, uint64

from ...shared import optim as O
from .device import lift

_adam_element = lift(O.adam_element)
_sgd_element = lift(O.sgd_element)


FOREACH = 16  # parameters an optimizer kernel updates in one launch (its arguments stay small)


@cuda.jit
def sgd_step(xs, xo, ds, do, bs, bo, ns, firsts, wd, momentum, one_damp, lr, maximize, nesterov):
    """SGD on up to FOREACH parameters of one dtype in one launch (PyTorch's foreach): blockIdx.y
    picks the parameter from the tuples of buffers, offsets, sizes and first-step flags; the x
    blocks stride over its elements."""
    p = cuda.blockIdx.y
    x, d, b, first = xs[p], ds[p], bs[p], firsts[p]
    ox, od, ob = xo[p], do[p], bo[p]
    for i in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x, ns[p], cuda.gridDim.x * cuda.blockDim.x):
        ix, id_, ib = uint64(ox + i), uint64(od + i), uint64(ob + i)  # (unsigned: no wraparound code)
        xi, bi = _sgd_element(x[ix], d[id_], b[ib] if momentum != 0 else x[ix], wd, momentum, one_damp, lr,
                              maximize, nesterov, first)
        x[ix] = xi
        if momentum != 0:
            b[ib] = bi


@cuda.jit
def adam_step(x, d, do, m, v, n, c_decay, wd, one_b1, b2, one_b2, step_size, sqrt_bc2, eps, maximize, decoupled):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        u = uint64(i)
        x[u], m[u], v[u] = _adam_element(x[u], d[uint64(do + i)], m[u], v[u], c_decay, wd, one_b1, b2, one_b2,
                                         step_size, sqrt_bc2, eps, maximize, decoupled)


_adam_constants = lift(O.adam_constants)
_ADAM_CAPTURABLE: dict = {}


def adam_step_capturable(dt: np.dtype) -> Any:
    """adam_step with the step count read from device memory (so a CUDA graph replays it):
    each thread computes the bias corrections in float64, as adam_scalars does on the host."""
    k = _ADAM_CAPTURABLE.get(dt)
    if k is None:
        DT = float32 if dt == np.float32 else float64

        def kernel(x, d, do, m, v, n, step, lr, beta1, beta2, eps, wd, maximize, decoupled):
            c_decay, step_size, sqrt_bc2 = _adam_constants(float64(step[0]), lr, beta1, beta2, wd, decoupled)
            for i in range(cuda.grid(1), n, cuda.gridsize(1)):
                u = uint64(i)
                x[u], m[u], v[u] = _adam_element(x[u], d[uint64(do + i)], m[u], v[u], DT(c_decay), DT(wd),
                                                 DT(1.0 - beta1), DT(beta2), DT(1.0 - beta2), DT(step_size),
                                                 DT(sqrt_bc2), DT(eps), maximize, decoupled)

        k = _ADAM_CAPTURABLE[dt] = cuda.jit(kernel)
    return k

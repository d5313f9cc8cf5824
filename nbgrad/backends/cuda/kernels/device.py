"""Device functions from the shared Python functions (backends/shared): `lift`, and the CUDA
bodies of the shared primitives vexp / vtanh / vsigmoid / vlog1p, which are their shared bodies
(libdevice's exp, tanh and log1p; the simulator runs them as plain Python)."""

from __future__ import annotations

from typing import Any, Callable

from numba import cuda

from ...shared import scalar as S
from ..launch import SIMULATOR

if not SIMULATOR:
    from numba.cuda.extending import register_jitable

    for _primitive in (S.vexp, S.vtanh, S.vsigmoid, S.vlog1p):
        register_jitable(_primitive)

_LIFTED: dict[Callable, Any] = {}


def lift(fn: Callable) -> Any:
    """A device-free Python function as a CUDA device function (compiled into the kernels that
    call it), made once per function."""
    d = _LIFTED.get(fn)
    if d is None:
        d = _LIFTED[fn] = cuda.jit(device=True)(fn)
    return d

"""Device functions from the shared Python functions (backends/shared): `lift`, and the CUDA
bodies of the shared primitives vexp / vtanh / vsigmoid / vlog1p, which are their shared bodies
(libdevice's exp, tanh and log1p; the simulator runs them as plain Python)."""

from __future__ import annotations

import math
import types
from typing import Any, Callable

import numpy as np
from numba import cuda

from ...shared import scalar as S
from ..launch import SIMULATOR

if not SIMULATOR:
    from numba.cuda.extending import register_jitable

    for _primitive in (S.vexp, S.vtanh, S.vsigmoid, S.vlog1p):
        register_jitable(_primitive)

_LIFTED: dict[Callable, Any] = {}


class _TypedMath:
    """`math` for the simulator: a NumPy scalar in, the same NumPy type out. Compiled, Numba keeps
    float64 math in float64; run as Python, math.exp returns a Python float, which NEP 50 lets a
    float32 constant (scalar._F1, ...) pull down to float32."""

    def __getattr__(self, name: str) -> Any:
        f = getattr(math, name)
        if not callable(f):
            return f

        def typed(x: Any, *rest: Any) -> Any:
            r = f(x, *rest)
            return type(x)(r) if isinstance(x, np.floating) and isinstance(r, float) else r
        return typed


def _simulated(fn: Callable) -> Callable:
    """fn as the simulator runs it: shared.scalar's functions see _TypedMath as `math`."""
    if getattr(fn, "__module__", None) != S.__name__:
        return fn
    if not _SIM_SCALAR:
        ns = dict(vars(S), math=_TypedMath())
        for k, v in vars(S).items():
            if isinstance(v, types.FunctionType) and v.__module__ == S.__name__:
                ns[k] = types.FunctionType(v.__code__, ns, k, v.__defaults__, v.__closure__)
        _SIM_SCALAR.update(ns)
    return _SIM_SCALAR.get(fn.__name__, fn)


_SIM_SCALAR: dict[str, Any] = {}


def lift(fn: Callable) -> Any:
    """A device-free Python function as a CUDA device function (compiled into the kernels that
    call it), made once per function."""
    d = _LIFTED.get(fn)
    if d is None:
        d = _LIFTED[fn] = cuda.jit(device=True)(_simulated(fn) if SIMULATOR else fn)
    return d

"""Backends: one object per device that owns its arrays and runs the kernels.

The autograd layer (nbgrad.tensor, nbgrad.ops) talks only to this interface and
never imports numba. `get_backend('cpu')` returns the Numba CPU backend;
a CUDA backend would implement the same methods (see Backend)."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np


class Backend(Protocol):
    name: str

    def asarray(self, a: np.ndarray) -> Any: ...
    def to_numpy(self, x: Any) -> np.ndarray: ...
    def elementwise(self, op: str, operands: Sequence[Any], shape: tuple, dtype: np.dtype) -> Any: ...
    def sum(self, x: Any, axes: tuple[int, ...], keepdim: bool) -> Any: ...
    def argext(self, x: Any, axis: int, keepdim: bool, want_max: bool) -> tuple[Any, Any]: ...
    def sum_to(self, x: Any, shape: tuple) -> Any: ...
    def matmul(self, a: Any, b: Any) -> Any: ...
    def softmax(self, x: Any, axis: int, log: bool) -> Any: ...
    def softmax_backward(self, y: Any, g: Any, axis: int, log: bool) -> Any: ...
    def logsumexp(self, x: Any, axis: int) -> Any: ...
    def index_add(self, shape: tuple, index: Any, src: Any) -> Any: ...


_BACKENDS: dict[str, Backend] = {}


def get_backend(device: str) -> Backend:
    be = _BACKENDS.get(device)
    if be is None:
        if device == "cpu":
            from .cpu import CpuBackend

            be = CpuBackend()
        elif device.startswith("cuda"):
            raise RuntimeError(
                "nbgrad's CUDA backend is not implemented yet: only device='cpu' works in this version"
            )
        else:
            raise RuntimeError(f"unknown device {device!r}: expected 'cpu'")
        _BACKENDS[device] = be
    return be

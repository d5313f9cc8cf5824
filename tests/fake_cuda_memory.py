"""Device arrays over fake device memory, for checks that need numba-cuda's real (not simulated)
array types without a GPU: the memory is never read or written."""

from __future__ import annotations

import ctypes

import numpy as np


class FakeMemory:
    """Stands in for a device allocation: a pointer, which views offset."""

    def __init__(self, ptr: int, size: int) -> None:
        self.ptr, self.size = ptr, size

    @property
    def device_ctypes_pointer(self) -> ctypes.c_void_p:
        return ctypes.c_void_p(self.ptr)

    def view(self, start: int, stop: int | None = None) -> FakeMemory:
        return FakeMemory(self.ptr + start, (self.size if stop is None else stop) - start)


def fake_array(n: int, dtype: object = np.float64, base: int = 0x7F0000000000):
    """A 1-D numba DeviceNDArray of n elements at address `base`."""
    from numba.cuda.cudadrv.devicearray import DeviceNDArray

    dt = np.dtype(dtype)
    return DeviceNDArray((n,), (dt.itemsize,), dt, gpu_data=FakeMemory(base, max(n, 1) * dt.itemsize))


def fake_slice(a, start: int, stop: int):
    """a[start:stop] through the undecorated slicing (no CUDA context needed)."""
    return a._do_getitem(slice(start, stop))

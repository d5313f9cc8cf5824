"""Device arrays over fake device memory, for checks that need numba-cuda's real (not simulated)
array types without a GPU: the memory is never read or written. start_without_gpu() starts
nbgrad's CUDA backend on such memory (tests/cuda_compile_check.py, benches/cuda_host.py)."""

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


def start_without_gpu(sms: int = 132, cc: tuple = (9, 0)) -> None:
    """Let nbgrad's CUDA backend start with no GPU (numba-cuda's real array types, not the
    simulator): allocations are fake, host copies do nothing, the device reports `sms`
    multiprocessors and compute capability `cc` (what device functions compile for). Kernel
    launches are the caller's to stub out or compile."""
    import types

    import numba.cuda.dispatcher as disp
    from numba import cuda
    from numba.cuda.cudadrv import driver
    from numba.cuda.cudadrv.devicearray import DeviceNDArray

    import nbgrad.backends as B

    B.cuda_status = lambda: None
    cuda.device_array = lambda n, dtype=np.float64, **k: fake_array(n if isinstance(n, int) else int(np.prod(n)), dtype)
    cuda.to_device = lambda a, **k: fake_array(np.asarray(a).size, np.asarray(a).dtype)
    dev = types.SimpleNamespace(MULTIPROCESSOR_COUNT=sms, compute_capability=cc)
    cuda.get_current_device = lambda: dev
    disp.get_current_device = lambda: dev
    driver.host_to_device = lambda *a, **k: None
    DeviceNDArray.__getitem__ = lambda self, item: self._do_getitem(item)  # slicing without a context

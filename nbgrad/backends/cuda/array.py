"""CudaArray: a strided view of a device buffer (storage, shape, strides in elements, offset), and
shapes and strides as kernels take them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..plan import is_c_contiguous
from .pool import Storage

if TYPE_CHECKING:
    from .backend import CudaBackend


def _from_host(device: str, a: np.ndarray) -> CudaArray:
    from .. import get_backend

    return get_backend(device).asarray(a)


class CudaArray:
    """A strided view of a device buffer (strides and offset in elements)."""

    __slots__ = ("_storage", "shape", "strides", "offset", "dtype", "backend", "host", "_contig")

    def __init__(self, storage: Storage | None, shape: tuple, strides: tuple, offset: int, dtype: np.dtype,
                 backend: CudaBackend, host: Any = None, contig: bool | None = None) -> None:
        self._storage, self.shape, self.strides, self.offset = storage, tuple(shape), tuple(strides), int(offset)
        self.dtype, self.backend = np.dtype(dtype), backend
        # a one-element value made from a Python number stays on the host until a kernel
        # needs it in device memory: elementwise kernels take it as a scalar argument
        self.host = host
        self._contig = contig  # C-contiguous, when known (else computed on first use)

    def __reduce__(self) -> tuple:
        # copy / pickle through the host, as PyTorch pickles CUDA tensors; restored on the device
        return (_from_host, (self.backend.name, self.backend.to_numpy(self)))

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            self._storage = self.backend.upload(np.asarray(self.host, dtype=self.dtype)).storage
            self.host = None
        return self._storage

    @property
    def buf(self) -> Any:
        return self.storage.buf

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def is_c_contiguous(self) -> bool:
        c = self._contig
        if c is None:
            c = self._contig = is_c_contiguous(self.shape, self.strides)
        return c

    def reshape(self, *shape: Any) -> CudaArray:
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return self.backend.reshape(self, shape)

    def astype(self, dtype: Any, copy: bool = True) -> CudaArray:
        dt = np.dtype(dtype)
        if dt == self.dtype:
            return self.backend.copy(self) if copy else self
        return self.backend.astype(self, dt)

    def copy(self) -> CudaArray:
        return self.backend.copy(self)

    def __getitem__(self, index: Any) -> CudaArray:
        return self.backend.getitem(self, index)

    def __array__(self, *a: Any, **k: Any) -> np.ndarray:
        raise TypeError("a CUDA array cannot be converted to NumPy implicitly; use .cpu() or .numpy() on the tensor")

    def __repr__(self) -> str:
        return f"CudaArray(shape={self.shape}, dtype={self.dtype}, strides={self.strides}, offset={self.offset})"

    @property
    def __cuda_array_interface__(self) -> dict:
        it = self.dtype.itemsize
        ptr = self.buf.__cuda_array_interface__["data"][0] + self.offset * it if self.size else 0
        return {"shape": self.shape, "strides": None if self.is_c_contiguous else tuple(s * it for s in self.strides),
                "typestr": self.dtype.str, "data": (ptr, False), "version": 3, "stream": None}


_CALC_NAMES: dict[np.dtype, str] = {}


def kshape(shape: tuple) -> tuple:
    """A shape as kernels take it: at least one dimension (a 0-d tensor is (1,))."""
    return tuple(int(v) for v in shape) or (1,)


def kstrides(strides: tuple, n: int = 1) -> tuple:
    """Strides as kernels take them: left-padded with zeros (broadcast) to n entries."""
    st = tuple(int(v) for v in strides)
    return (0,) * (n - len(st)) + st

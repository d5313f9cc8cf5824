"""Sharing device memory with other libraries: __cuda_array_interface__ (PyTorch, CuPy) and DLPack
(through cuda.core's StridedMemoryView, on a GPU)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plan import contiguous_strides
from .array import CudaArray
from .launch import SIMULATOR
from .pool import Storage


class _Exported:
    """__cuda_array_interface__ for memory another library owns (`keep` holds it alive)."""

    def __init__(self, desc: dict, keep: Any) -> None:
        self.__cuda_array_interface__, self.keep = desc, keep


def _strided_memory_view() -> Any:
    try:
        from cuda.core.utils import StridedMemoryView
    except ImportError:
        return None
    return StridedMemoryView if hasattr(StridedMemoryView, "__dlpack__") else None


class InteropMixin:
    """CudaBackend's exchange of device memory with other libraries, without copies."""

    def from_cuda_array_interface(self, obj: Any) -> CudaArray:
        """Wrap foreign device memory (PyTorch, CuPy) without a copy; `obj` is kept alive."""
        desc = obj.__cuda_array_interface__
        dt = np.dtype(desc["typestr"])
        shape = tuple(desc["shape"])
        it = dt.itemsize
        strides = tuple(s // it for s in desc["strides"]) if desc.get("strides") else contiguous_strides(shape)
        span = 1 + sum((s - 1) * abs(st) for s, st in zip(shape, strides)) if all(shape) else 1
        low = sum((s - 1) * st for s, st in zip(shape, strides) if st < 0) if all(shape) else 0
        flat = {"shape": (span,), "strides": None, "typestr": desc["typestr"], "version": 3,
                "data": (desc["data"][0] + low * it, False), "stream": desc.get("stream")}
        buf = self.cuda.from_cuda_array_interface(flat, owner=obj, sync=True)
        return CudaArray(Storage(buf, None, None, owner=obj), shape, strides, -low, dt, self)

    def to_dlpack(self, x: CudaArray, **kwargs: Any) -> Any:
        """A DLPack capsule of x's device memory (cuda.core's StridedMemoryView builds it from
        __cuda_array_interface__); the capsule keeps x's buffer alive."""
        smv = _strided_memory_view()
        if smv is None or SIMULATOR:
            raise BufferError("DLPack export of a CUDA tensor needs cuda.core's StridedMemoryView and a GPU (the "
                              "simulator has no device memory); __cuda_array_interface__ shares it without a copy")
        return smv.from_cuda_array_interface(x, stream_ptr=-1).__dlpack__(**kwargs)

    def from_dlpack(self, ext: Any) -> CudaArray:
        """Wrap a CUDA DLPack producer's memory without a copy (kept alive with the wrapper)."""
        smv = _strided_memory_view()
        if smv is None or SIMULATOR:
            raise RuntimeError("from_dlpack of a CUDA object needs cuda.core's StridedMemoryView and a GPU; objects "
                               "with __cuda_array_interface__ (PyTorch, CuPy) go through ng.as_tensor")
        v = smv.from_dlpack(ext, stream_ptr=-1)
        it = v.dtype.itemsize
        desc = {"shape": tuple(v.shape), "strides": None if v.strides is None else tuple(st * it for st in v.strides),
                "typestr": v.dtype.str, "data": (v.ptr, v.readonly), "version": 3, "stream": None}
        return self.from_cuda_array_interface(_Exported(desc, (v, ext)))

"""The CUDA backend (numba.cuda). backend.py is the Backend, with its indexing (indexing.py), CUDA
graph capture (graph.py), memory sharing with other libraries (interop.py) and fused ops
(fused.py); array.py is the strided device array, pool.py the caching allocator, launch.py the
launch configuration and the fast launch path, kernels/ the kernels by family. Nothing here
imports numba.cuda until the backend is first used."""

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("CudaBackend", "CudaArray"):
        from . import backend

        return getattr(backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

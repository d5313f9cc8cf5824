"""ng.cuda: availability, synchronisation, seeding and the memory pool of the CUDA backend
(PyTorch's torch.cuda names).

numba.cuda is imported by these functions (and by the first CUDA tensor), never by `import nbgrad`."""

from __future__ import annotations

from typing import Any

from .backends import cuda_status, get_backend


def is_available() -> bool:
    return cuda_status() is None


def device_count() -> int:
    return 1 if is_available() else 0


def current_device() -> int:
    """The index of the GPU nbgrad uses (always 0: one GPU)."""
    get_backend("cuda")  # raises, saying why, where there is none
    return 0


def get_device_name(device: Any = None) -> str:
    from numba import cuda

    get_backend("cuda")
    name = getattr(cuda.get_current_device(), "name", "numba CUDA simulator")  # (the simulator has none)
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize() -> None:
    """Wait for every kernel launched so far (use before timing)."""
    get_backend("cuda").synchronize()


def manual_seed(seed: int) -> None:
    """Seed the stream that device='cuda' random tensors draw from (ng.manual_seed seeds it too)."""
    from .creation import _seed_cuda

    _seed_cuda(seed)


manual_seed_all = manual_seed


def empty_cache() -> None:
    """Free the device buffers the caching allocator holds for reuse."""
    if is_available():
        get_backend("cuda").pool.empty_cache()


def memory_cached() -> int:
    """Bytes held by the caching allocator's free lists."""
    return get_backend("cuda").pool.cached_bytes if is_available() else 0


def memory_allocated(device: Any = None) -> int:
    """Bytes of device memory in tensors now (whole buffers of the allocator's size classes)."""
    if not is_available():
        return 0
    pool = get_backend("cuda").pool
    return pool.total_bytes - pool.cached_bytes


def max_memory_allocated(device: Any = None) -> int:
    """The most bytes memory_allocated() has reached."""
    return get_backend("cuda").pool.peak_in_use if is_available() else 0


def memory_reserved(device: Any = None) -> int:
    """Bytes the caching allocator holds: in tensors, or cached for reuse."""
    return get_backend("cuda").pool.total_bytes if is_available() else 0

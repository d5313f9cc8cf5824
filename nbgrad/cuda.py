"""ng.cuda: availability, synchronisation, seeding and the memory pool of the CUDA backend.

numba.cuda is imported by these functions (and by the first CUDA tensor), never by `import nbgrad`."""

from __future__ import annotations

from .backends import cuda_status, get_backend


def is_available() -> bool:
    return cuda_status() is None


def device_count() -> int:
    return 1 if is_available() else 0


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

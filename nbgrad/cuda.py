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


# ------------------------------------------------------------------ CUDA graphs (backends/cuda/graph.py)
class CUDAGraph:
    """A recorded sequence of CUDA kernel launches, replayed with one call (PyTorch's
    torch.cuda.CUDAGraph). Capture with `ng.cuda.graph(g)`; run the same steps again, on the
    same tensors, with `g.replay()`. Warm up first: run the region once eagerly before capture."""

    def __init__(self) -> None:
        self._graph: Any = None
        self._pool: Any = None
        self._capturing = False

    def capture_begin(self, pool: Any = None, capture_error_mode: str = "global") -> None:
        if self._graph is not None or self._capturing:
            raise RuntimeError("this CUDAGraph already holds a capture; call reset() before capturing again")
        self._pool = get_backend("cuda").capture_begin(pool, capture_error_mode)
        self._capturing = True

    def capture_end(self) -> None:
        if not self._capturing:
            raise RuntimeError("capture_end() without capture_begin()")
        self._capturing = False
        self._graph = get_backend("cuda").capture_end()

    def replay(self) -> None:
        """Run every captured launch again, in order, on the default stream (asynchronously)."""
        if self._graph is None:
            raise RuntimeError("replay() called before a graph was captured (use ng.cuda.graph(g) first)")
        get_backend("cuda").replay(self._graph)

    def reset(self) -> None:
        """Drop the graph; its memory goes back to the caching allocator (buffers still in
        tensors when those tensors die)."""
        if self._capturing:
            get_backend("cuda").capture_abort()
            self._capturing = False
        if self._graph is not None:
            get_backend("cuda").release_graph(self._graph, self._pool)
            self._graph = None

    def pool(self) -> Any:
        """A handle of this graph's memory pool, for `graph(other, pool=g.pool())`."""
        if self._pool is None:
            raise RuntimeError("pool() of a CUDAGraph that has not been captured")
        return self._pool

    @property
    def num_launches(self) -> int:
        """How many kernel launches one replay makes (nbgrad's own)."""
        return 0 if self._graph is None else self._graph.launches

    def __del__(self) -> None:
        try:
            if self._graph is not None or self._capturing:
                self.reset()
        except Exception:  # noqa: BLE001, S110  (interpreter shutdown)
            pass


class graph:
    """Capture the CUDA launches of a `with` block into `cuda_graph` (PyTorch's
    torch.cuda.graph). Nothing in the block runs on the GPU until `cuda_graph.replay()`."""

    def __init__(self, cuda_graph: CUDAGraph, pool: Any = None, capture_error_mode: str = "global") -> None:
        if not isinstance(cuda_graph, CUDAGraph):
            raise TypeError(f"ng.cuda.graph expects an ng.cuda.CUDAGraph, got {type(cuda_graph).__name__}")
        self.cuda_graph, self.pool, self.mode = cuda_graph, pool, capture_error_mode

    def __enter__(self) -> CUDAGraph:
        import gc

        gc.collect()  # tensors that are garbage now must not be freed into the graph's pool later
        self.cuda_graph.capture_begin(self.pool, self.mode)
        return self.cuda_graph

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.cuda_graph.capture_end()
        else:
            self.cuda_graph.reset()


def graph_pool_handle() -> Any:
    """A new memory pool that several graphs can share (pass it as `pool=`)."""
    return get_backend("cuda").graph_pool()


def is_current_stream_capturing() -> bool:
    """True inside `ng.cuda.graph(...)` (between capture_begin and capture_end)."""
    return is_available() and get_backend("cuda").capturing

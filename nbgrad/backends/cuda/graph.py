"""CUDA graphs: capture the kernel launches of a region once, replay them with one call.

During capture no kernel runs: each launch is recorded (on a GPU, by stream capture through
cuda.core's GraphBuilder on a stream of its own; under the simulator, as a Python list that
replay walks), with its arguments (buffer addresses and scalars) fixed.

Memory: every buffer allocated or freed during capture belongs to the graph's pool from then
on. The graph's kernels read and write those buffers at each replay, so none of them is handed
to an allocation outside the graph while the graph lives (a pool shared by several graphs,
PyTorch's `pool=`, serves each capture in turn). reset() gives the free ones back to the
caching allocator, and the ones still in tensors when those tensors die.

What a graph cannot hold is refused with an error while capturing: copies between the host and
the GPU (`item()`, `print`, `cpu()`, `ng.tensor(list, device="cuda")`), waits for the GPU, and
reseeding the generator. Numbers and host-computed index positions are the exception: copied
once, at capture, into buffers the graph keeps. Random draws are kernels that read and advance
the generator on the device, so each replay draws new numbers."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from .launch import LAUNCHER, SIMULATOR

if TYPE_CHECKING:
    from .array import CudaArray


class GraphPool:
    """Buffers that belong to one or more graphs: free ones by (dtype, size class), and the
    ids of all of them (in tensors or free)."""

    def __init__(self) -> None:
        self.free: dict[tuple, list] = defaultdict(list)
        self.members: dict[int, Any] = {}
        self.graphs = 0  # graphs captured into this pool that have not been reset


def capture_refusal(what: str) -> RuntimeError:
    return RuntimeError(
        f"{what} is not allowed while a CUDA graph is being captured: a graph holds kernel launches only, "
        "not copies between the host and the GPU or waits for it (PyTorch: operation not permitted when "
        "stream is capturing); do it before capture_begin() or after capture_end()")


class SimCapture:
    """Stream capture for the simulator: the launches are kept, in order, and replayed."""

    def __init__(self, pool: GraphPool) -> None:
        self.pool = pool
        self.ops: list[tuple] = []
        self.constants: list = []  # arrays copied at capture time that replays read

    def upload_constant(self, out: Any, a: Any) -> None:
        out.buf[: a.size].copy_to_device(a.reshape(-1))
        self.constants.append(out)

    def add(self, launcher: Any, kernel: Any, grid: tuple, block: tuple, args: tuple) -> None:
        self.ops.append((kernel, grid, block, args))

    def relaxed(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def end(self) -> SimGraph:
        return SimGraph(self.ops, self.constants)

    def abort(self) -> None:
        self.ops, self.constants = [], []


class SimGraph:
    def __init__(self, ops: list[tuple], constants: list) -> None:
        self.ops, self.constants = ops, constants
        self.launches = len(ops)

    def replay(self, launcher: Any) -> None:
        for kernel, grid, block, args in self.ops:
            launcher.configured_kernel(kernel, grid, block)(*args)

    def close(self) -> None:
        self.ops, self.constants = [], []


class GpuCapture:
    """Stream capture on a GPU: each launch goes to cuda.core's GraphBuilder on a stream of its
    own that synchronises with the default stream (so a stray default-stream operation fails
    the capture instead of running outside it)."""

    def __init__(self, pool: GraphPool, mode: str) -> None:
        from cuda.core import Device
        from numba import cuda

        self.pool = pool
        self.launches = 0
        self.constants: list = []
        self._side: Any = None  # a non-blocking stream for constants (see upload_constant)
        self._defer: Any = cuda.defer_cleanup()  # numba frees no device memory (cuMemFree) during capture
        self._defer.__enter__()
        try:
            dev = Device(cuda.get_current_device().id)
            dev.set_current()
            self._numba_stream = cuda.stream()  # flags 0: waits for / is waited on by the default stream
            self.stream = dev.create_stream(self._numba_stream)
            self.builder = self.stream.create_graph_builder()
            self.builder.begin_building(mode)
        except BaseException:
            self._finish()
            raise

    def upload_constant(self, out: Any, a: Any) -> None:
        """Copy now, on a stream that does not synchronise with the capturing one (no eager
        work is pending: capture began after a synchronize)."""
        from cuda.bindings import driver
        from cuda.core import Device, StreamOptions

        with self.relaxed():
            if self._side is None:
                self._side = Device().create_stream(options=StreamOptions(nonblocking=True))
            (err,) = driver.cuMemcpyHtoDAsync(out.buf.device_ctypes_pointer.value + out.offset * a.itemsize,
                                              a.ctypes.data, a.nbytes, int(self._side.handle))
            if err != driver.CUresult.CUDA_SUCCESS:
                raise RuntimeError(f"copying a constant for a CUDA graph failed: {err}")
            self._side.sync()
        self.constants.append(out)

    def add(self, launcher: Any, kernel: Any, grid: tuple, block: tuple, args: tuple) -> None:
        kern, flat = launcher.plan_for(kernel, args, self.relaxed)
        cfg = launcher.configs.get((grid, block)) or launcher._config(kernel, grid, block)
        launcher._core.launch(self.builder, cfg, kern, *flat(*args))
        self.launches += 1

    @contextlib.contextmanager
    def relaxed(self) -> Iterator[None]:
        """Let this thread allocate device memory or load a module (unsafe in "global" mode)."""
        from cuda.bindings import driver

        _, old = driver.cuThreadExchangeStreamCaptureMode(driver.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED)
        try:
            yield
        finally:
            driver.cuThreadExchangeStreamCaptureMode(old)

    def end(self) -> GpuGraph:
        try:
            self.builder.end_building()
            graph = self.builder.complete()
        finally:
            self._finish()
        return GpuGraph(graph, self.launches, (self.builder, self._numba_stream, self.stream, self.constants))

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.builder.end_building()
        with contextlib.suppress(Exception):
            self.builder.close()
        self._finish()
        self.constants = []

    def _finish(self) -> None:
        if self._defer is not None:
            self._defer.__exit__(None, None, None)
            self._defer = None
        if self._side is not None:
            with contextlib.suppress(Exception):
                self._side.close()
            self._side = None


class GpuGraph:
    def __init__(self, graph: Any, launches: int, keep: tuple) -> None:
        self.graph, self.launches, self._keep = graph, launches, keep

    def replay(self, launcher: Any) -> None:
        from cuda.core import LEGACY_DEFAULT_STREAM

        self.graph.launch(LEGACY_DEFAULT_STREAM)  # ordered with every other launch (the default stream)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.graph.close()
        with contextlib.suppress(Exception):
            self._keep[0].close()  # the builder, after the graph made from it
        self._keep = ()


class CaptureMixin:
    """CudaBackend's CUDA graph capture and replay."""

    @property
    def capturing(self) -> bool:
        return self._capture is not None

    def graph_pool(self) -> GraphPool:
        """A new memory pool that several graphs can share."""
        return GraphPool()

    def capture_begin(self, pool: GraphPool | None = None, mode: str = "global") -> GraphPool:
        """Start recording launches into a graph; returns the graph's memory pool (pool: share
        another graph's)."""
        if self._capture is not None:
            raise RuntimeError("a CUDA graph is already being captured (captures do not nest)")
        if pool is not None and not isinstance(pool, GraphPool):
            raise TypeError(f"pool must come from CUDAGraph.pool() or ng.cuda.graph_pool_handle(), got "
                            f"{type(pool).__name__}")
        if mode not in ("global", "thread_local", "relaxed"):
            raise ValueError(f"capture_error_mode must be 'global', 'thread_local' or 'relaxed', got {mode!r}")
        L = LAUNCHER
        if not SIMULATOR:
            if L.enabled and not L.tested:
                L._self_test()
            if not L.enabled:
                raise RuntimeError("CUDA graphs need nbgrad's fast kernel launches, which are off "
                                   f"({L.disabled_why or 'NBGRAD_CUDA_FAST_LAUNCH=0'})")
        self.synchronize()  # (also reports errors flagged before the capture)
        if self._bad is None:
            self._bad = self.cuda.to_device(np.zeros(1, np.int32))
        gp = pool if pool is not None else GraphPool()
        cap = SimCapture(gp) if SIMULATOR else GpuCapture(gp, mode)
        self._capture = L.capture = cap
        self.pool.capturing, self.pool.alloc_guard = gp, cap.relaxed
        return gp

    def capture_end(self) -> Any:
        """Stop recording; returns the graph (see replay), whose pool now counts it."""
        cap = self._stop_capture()
        if cap is None:
            raise RuntimeError("capture_end() without capture_begin()")
        try:
            graph = cap.end()
        except BaseException:
            self._drop(cap)
            raise
        cap.pool.graphs += 1
        return graph

    def capture_abort(self) -> None:
        """Drop a capture that failed (its pool's buffers go back unless another graph holds it)."""
        cap = self._stop_capture()
        if cap is not None:
            self._drop(cap)

    def _stop_capture(self) -> Any:
        cap = self._capture
        self._capture = LAUNCHER.capture = self.pool.capturing = None
        self.pool.alloc_guard = contextlib.nullcontext
        return cap

    def _drop(self, cap: Any) -> None:
        cap.abort()
        if cap.pool.graphs == 0:
            self.pool.release(cap.pool)

    def replay(self, graph: Any) -> None:
        if self._capture is not None:
            raise capture_refusal("replay() of a CUDA graph")
        graph.replay(LAUNCHER)
        self._bad_pending = True  # its gather / scatter kernels may have flagged a bad index

    def release_graph(self, graph: Any, gp: GraphPool) -> None:
        graph.close()
        gp.graphs -= 1
        if gp.graphs <= 0:
            self.pool.release(gp)

    def _constant(self, a: np.ndarray) -> CudaArray:
        """A host-computed array of an op (index positions: they depend on shapes and host indices
        only), or a number. In a capture it is copied to the GPU now, into a buffer the graph
        never reuses and keeps, so every replay reads it."""
        if self._capture is None:
            return self.asarray(a)
        a = np.asarray(a, order="C")
        gp, self.pool.capturing = self.pool.capturing, None  # (not a buffer the graph's kernels use)
        try:
            with self._capture.relaxed():  # (a fresh allocation, allowed in any capture mode)
                out = self.empty(a.shape, a.dtype)
        finally:
            self.pool.capturing = gp
        if a.size:
            self._capture.upload_constant(out, a)
        return out

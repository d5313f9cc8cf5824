"""The CUDA backend: device memory from a caching pool, strided views, numba.cuda kernels.

A CudaArray is (storage, shape, strides in elements, offset): views (transpose, expand,
slicing) only change those numbers. Their layout is computed by applying NumPy's own view
functions to a "phantom" ndarray that points at a fake address and is never read."""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from typing import Any, Sequence

import numpy as np
from numba import cuda  # (this module loads with the CUDA backend: numba.cuda is wanted by then)

from .._dtype import promote_np
from . import cuda_kernels as K
from . import BroadcastTo, SharedBackend, mT, with_ellipsis
from .cuda_graph import GpuCapture, GraphPool, SimCapture, capture_refusal
from .cuda_kernels import launch
from .ownership import SoleHolder
from .plan import (RowsPlan, advanced_layout, argext_plan, broadcast_strides, contiguous_strides, element_positions,
                   is_c_contiguous, matmul_plan, permuted, reduce_plan, resolve_shape, rows_plan)

_FAKE_BASE = 1 << 44  # phantom arrays point here; NumPy never reads through them
_SIMULATOR = K._SIM


class _Pool:
    """Caching allocator: freed buffers go back to a free list by (dtype, size class)."""

    def __init__(self) -> None:
        self.free: dict[tuple, list] = defaultdict(list)
        # a strong reference to every buffer handed out: a buffer is never part of cyclic
        # garbage (autograd graphs are cycles), whose collection would free its memory
        # before _Storage.__del__ could put it back on a free list
        self.owned: dict[int, Any] = {}
        self.cached_bytes = 0
        self.total_bytes = 0  # every buffer the pool holds, handed out or cached
        self.peak_in_use = 0  # the most bytes handed out at once
        self.limit_bytes = 8 << 30
        self.capturing: GraphPool | None = None  # the pool of the CUDA graph being captured
        self.alloc_guard: Any = contextlib.nullcontext  # during capture: lets this thread allocate
        self.graph_owned: dict[int, GraphPool] = {}  # id(buffer) -> the graph pool it belongs to

    @staticmethod
    def size_class(n: int) -> int:
        if n <= 512:
            return 512
        p = 1 << (n - 1).bit_length()  # classes: p/2 * {1, 1.25, 1.5, 1.75, 2}
        for f in (5, 6, 7, 8):
            c = (p // 2) * f // 4
            if c >= n:
                return c
        return p

    def alloc(self, n: int, dtype: np.dtype) -> _Storage:
        key = _KEYS.get((dtype, n))
        if key is None:
            if len(_KEYS) > 4096:
                _KEYS.clear()
            key = _KEYS[dtype, n] = (dtype.str, self.size_class(n))
        gp = self.capturing
        if gp is not None and gp.free.get(key):  # capturing: the graph's own free buffers first
            return _Storage(gp.free[key].pop(), key, self)
        lst = self.free.get(key)
        if lst:
            buf = lst.pop()
            self.cached_bytes -= buf.nbytes
        else:
            with self.alloc_guard() if gp is not None else contextlib.nullcontext():
                try:
                    buf = cuda.device_array(key[1], dtype=dtype)
                except Exception:  # out of memory: drop the cache and try once more
                    self.empty_cache()
                    buf = cuda.device_array(key[1], dtype=dtype)
            self.owned[id(buf)] = buf
            self.total_bytes += buf.nbytes
        if gp is not None:
            self.graph_owned[id(buf)] = gp
            gp.members[id(buf)] = buf
        in_use = self.total_bytes - self.cached_bytes
        if in_use > self.peak_in_use:
            self.peak_in_use = in_use
        return _Storage(buf, key, self)

    def give_back(self, key: tuple, buf: Any) -> None:
        if self.graph_owned or self.capturing is not None:
            gp = self.graph_owned.get(id(buf))
            if gp is None and self.capturing is not None:  # freed during capture: a replay may still read it
                gp = self.graph_owned[id(buf)] = self.capturing
                gp.members[id(buf)] = buf
            if gp is not None:
                gp.free[key].append(buf)
                return
        if self.cached_bytes + buf.nbytes <= self.limit_bytes:
            self.free[key].append(buf)
            self.cached_bytes += buf.nbytes
        elif self.owned.pop(id(buf), None) is not None:
            self.total_bytes -= buf.nbytes

    def release(self, gp: GraphPool) -> None:
        """The last graph of pool gp is gone: its free buffers back to the cache, and the ones in
        tensors back to it when those tensors die."""
        free = [(key, buf) for key, lst in gp.free.items() for buf in lst]
        gp.free.clear()
        for i in gp.members:
            self.graph_owned.pop(i, None)
        gp.members.clear()
        for key, buf in free:
            self.give_back(key, buf)

    def empty_cache(self) -> None:
        for lst in self.free.values():
            for buf in lst:
                self.owned.pop(id(buf), None)
        self.free.clear()
        self.total_bytes -= self.cached_bytes
        self.cached_bytes = 0


class _Storage:
    __slots__ = ("buf", "key", "pool", "owner")

    def __init__(self, buf: Any, key: tuple | None, pool: _Pool | None, owner: Any = None) -> None:
        self.buf, self.key, self.pool, self.owner = buf, key, pool, owner

    def __del__(self) -> None:
        if self.pool is not None:
            self.pool.give_back(self.key, self.buf)


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


class _Iface:
    def __init__(self, d: dict) -> None:
        self.__array_interface__ = d


# memo of the pool key every allocation computes (a training loop repeats its shapes)
_KEYS: dict[tuple, tuple] = {}  # (dtype, elements) -> the pool's (dtype string, size class) key


def _is_index_array(it: Any) -> bool:
    return isinstance(it, (np.ndarray, CudaArray))


def _from_host(device: str, a: np.ndarray) -> CudaArray:
    from . import get_backend

    return get_backend(device).asarray(a)


class CudaArray:
    """A strided view of a device buffer (strides and offset in elements)."""

    __slots__ = ("_storage", "shape", "strides", "offset", "dtype", "backend", "host", "_contig")

    def __init__(self, storage: _Storage | None, shape: tuple, strides: tuple, offset: int, dtype: np.dtype,
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
    def storage(self) -> _Storage:
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


def _calc_name(dt: np.dtype) -> str:
    """The numba type a kernel computes in for NumPy dtype dt."""
    name = _CALC_NAMES.get(dt)
    if name is None:
        name = _CALC_NAMES[dt] = {"f": {4: "float32", 8: "float64"}, "i": {8: "int64", 4: "int32"}}.get(
            dt.kind, {}).get(dt.itemsize, "") or ("bool_" if dt.kind == "b" else "int64")
    return name


class CudaBackend(SharedBackend):
    device_type = "cuda"

    def __init__(self, index: int = 0) -> None:
        self.name = f"cuda:{index}"
        self.cuda = cuda
        self.pool = _Pool()
        self._bad: Any = None  # device flag: an index out of range (see check_errors)
        self._dummies: dict[np.dtype, CudaArray] = {}  # one-element stand-ins for absent arrays
        self._bad_pending = False
        self._capture: Any = None  # the CUDA graph capture in progress
        sms = getattr(cuda.get_current_device(), "MULTIPROCESSOR_COUNT", None)
        if sms:  # (the simulator has no count: tests set it with cuda_kernels.configure)
            K.configure(sms=sms)
        from . import cuda_seed

        self._rng_state = self.empty((2,), np.dtype(np.uint64))  # the generator's seed and offset
        self.manual_seed(cuda_seed())

    # -------------------------------------------------------------- random numbers
    def manual_seed(self, seed: int) -> None:
        """Seed the device generator (Philox) and rewind it: (seed, 0) copied into its state, in
        place, so graphs that draw from it see the new seed."""
        if self._capture is not None:
            raise capture_refusal("seeding the CUDA generator")
        self._copy_in(self._rng_state, np.array([seed & 0xFFFF_FFFF_FFFF_FFFF, 0], np.uint64))

    def random(self, shape: tuple, dtype: np.dtype, dist: str, low: int = 0, high: int = 1) -> CudaArray:
        """Random values drawn on the device (see cuda_kernels.random_fill): dist "uniform" in
        [0, 1), "normal", or "integers" in [low, high). Each draw advances the generator, on the
        device, so a CUDA graph's replays of it draw new values."""
        dtype = np.dtype(dtype)
        if dist == "integers" and not 0 < high - low < 2**63:
            raise RuntimeError(f"randint on CUDA: high - low must be in [1, 2**63), got low={low}, high={high}")
        out = self.empty(shape, dtype)
        n = math.prod(out.shape)
        if n:
            code = ("uniform", "normal", "integers").index(dist)
            per = 4 if dtype == np.float32 and code != 2 else 2
            launch(K.random_fill, -(-n // per), out.buf, n, self._rng_state.buf, code, int(low), int(high - low), per)
            launch(K.random_advance, 1, self._rng_state.buf)
        return out

    # -------------------------------------------------------------- memory and transfer
    def empty(self, shape: tuple, dtype: np.dtype) -> CudaArray:
        shape = tuple(int(s) for s in shape)
        st = self.pool.alloc(max(math.prod(shape), 1), np.dtype(dtype))
        return CudaArray(st, shape, contiguous_strides(shape), 0, dtype, self, contig=True)

    def asarray(self, a: Any) -> CudaArray:
        if isinstance(a, CudaArray):
            return a
        a = np.asarray(a, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
        if a.ndim == 0:
            return CudaArray(None, (), (), 0, a.dtype, self, host=a[()])
        return self.upload(a)

    def upload(self, a: np.ndarray) -> CudaArray:
        a = np.asarray(a, order="C")
        if self._capture is not None:  # a number (a one-element array): copied once, kept by the graph
            if a.size == 1:
                return self._constant(a)
            raise capture_refusal(f"copying a host array of shape {list(a.shape)} to the GPU")
        out = self.empty(a.shape, a.dtype)
        self._copy_in(out, a)
        return out

    @staticmethod
    def _copy_in(out: CudaArray, a: np.ndarray) -> None:
        """Host values a (C-ordered) into the start of out's buffer."""
        if a.size:
            if _SIMULATOR:
                out.buf[: a.size].copy_to_device(a.reshape(-1))
            else:  # no device-array slice (a view object and a finalizer per call)
                from numba.cuda.cudadrv import driver

                driver.host_to_device(out.buf, a, a.nbytes)

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
        return CudaArray(_Storage(buf, None, None, owner=obj), shape, strides, -low, dt, self)

    def to_dlpack(self, x: CudaArray, **kwargs: Any) -> Any:
        """A DLPack capsule of x's device memory (cuda.core's StridedMemoryView builds it from
        __cuda_array_interface__); the capsule keeps x's buffer alive."""
        smv = _strided_memory_view()
        if smv is None or _SIMULATOR:
            raise BufferError("DLPack export of a CUDA tensor needs cuda.core's StridedMemoryView and a GPU (the "
                              "simulator has no device memory); __cuda_array_interface__ shares it without a copy")
        return smv.from_cuda_array_interface(x, stream_ptr=-1).__dlpack__(**kwargs)

    def from_dlpack(self, ext: Any) -> CudaArray:
        """Wrap a CUDA DLPack producer's memory without a copy (kept alive with the wrapper)."""
        smv = _strided_memory_view()
        if smv is None or _SIMULATOR:
            raise RuntimeError("from_dlpack of a CUDA object needs cuda.core's StridedMemoryView and a GPU; objects "
                               "with __cuda_array_interface__ (PyTorch, CuPy) go through ng.as_tensor")
        v = smv.from_dlpack(ext, stream_ptr=-1)
        it = v.dtype.itemsize
        desc = {"shape": tuple(v.shape), "strides": None if v.strides is None else tuple(st * it for st in v.strides),
                "typestr": v.dtype.str, "data": (v.ptr, v.readonly), "version": 3, "stream": None}
        return self.from_cuda_array_interface(_Exported(desc, (v, ext)))

    def to_numpy(self, x: CudaArray) -> np.ndarray:
        if self._capture is not None:
            raise capture_refusal("copying a CUDA tensor to the host (item(), tolist(), numpy(), cpu(), print)")
        self.check_errors()
        if not isinstance(x, CudaArray):
            return np.asarray(x)
        if x.host is not None:
            return np.full(x.shape, x.host, dtype=x.dtype)
        c = self.contiguous(x)
        if c.size == 0:
            return np.empty(c.shape, c.dtype)
        return c.buf[c.offset: c.offset + c.size].copy_to_host().reshape(c.shape)

    def synchronize(self) -> None:
        if self._capture is not None:
            raise capture_refusal("synchronize()")
        self.cuda.synchronize()
        self.check_errors()

    # -------------------------------------------------------------- CUDA graphs (see cuda_graph.py)
    @property
    def capturing(self) -> bool:
        return self._capture is not None

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
        L = K.LAUNCHER
        if not _SIMULATOR:
            if L.enabled and not L.tested:
                L._self_test()
            if not L.enabled:
                raise RuntimeError("CUDA graphs need nbgrad's fast kernel launches, which are off "
                                   f"({L.disabled_why or 'NBGRAD_CUDA_FAST_LAUNCH=0'})")
        self.synchronize()  # (also reports errors flagged before the capture)
        if self._bad is None:
            self._bad = self.cuda.to_device(np.zeros(1, np.int32))
        gp = pool if pool is not None else GraphPool()
        cap = SimCapture(gp) if _SIMULATOR else GpuCapture(gp, mode)
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
        self._capture = K.LAUNCHER.capture = self.pool.capturing = None
        self.pool.alloc_guard = contextlib.nullcontext
        return cap

    def _drop(self, cap: Any) -> None:
        cap.abort()
        if cap.pool.graphs == 0:
            self.pool.release(cap.pool)

    def replay(self, graph: Any) -> None:
        if self._capture is not None:
            raise capture_refusal("replay() of a CUDA graph")
        graph.replay(K.LAUNCHER)
        self._bad_pending = True  # its gather / scatter kernels may have flagged a bad index

    def release_graph(self, graph: Any, gp: GraphPool) -> None:
        graph.close()
        gp.graphs -= 1
        if gp.graphs <= 0:
            self.pool.release(gp)

    # -------------------------------------------------------------- elementwise
    def _operand(self, o: Any, shape: tuple, calc: np.dtype) -> tuple[str, tuple]:
        if isinstance(o, CudaArray):
            # a number kept on the host: a scalar argument in the compute dtype; but a graph reads it
            # from device memory (moved there at capture), so a later copy_ into it reaches replays
            if o.host is not None and self._capture is None:
                return "s", ((calc if o.dtype.kind != "b" else o.dtype).type(o.host),)
            if o.shape == shape and o.is_c_contiguous:
                return "c", (o.buf, o.offset)
            v = self.view(o, BroadcastTo(shape))
            return "g", (v.buf, v.offset, _kstrides(v.strides))
        a = np.asarray(o)
        if a.ndim == 0 or a.size == 1:
            return "s", (a.reshape(()).astype(calc if a.dtype.kind != "b" else a.dtype)[()],)
        return self._operand(self.asarray(a), shape, calc)

    def elementwise(self, op: str, operands: Sequence[Any], shape: tuple, dtype: np.dtype,
                    out: CudaArray | None = None) -> CudaArray:
        dts = [o.dtype if isinstance(o, CudaArray) else np.asarray(o).dtype for o in operands]
        calc = promote_np(*(dts[1:] if op == "where" else dts))
        shape = tuple(shape)
        if out is None:
            out = self.empty(shape, dtype)
        n = math.prod(shape)
        if n == 0:
            return out
        kinds, args = "", []
        for i, o in enumerate(operands):
            kind, a = self._operand(o, shape, np.dtype(bool) if (op == "where" and i == 0) else calc)
            kinds += kind
            args += a
        if out.shape == shape and out.is_c_contiguous:
            ok, oargs = "c", (out.buf, out.offset, (0,))
        else:
            ok, oargs = "g", (out.buf, out.offset, _kstrides(out.strides))
        if ok == "c" and "g" not in kinds:  # the unrolled contiguous kernel: no shape or strides
            vec = K.LAUNCH["ew_vector"] and out.dtype == np.float32 and out.offset % 4 == 0 and _vectorizable(
                kinds, args)
            k = K.elementwise_kernel(op, kinds, _calc_name(calc), ok, vector=vec)
            launch(k, n, out.buf, out.offset, n, *args, per_thread=4 if vec else K.UNROLL)
        else:
            k = K.elementwise_kernel(op, kinds, _calc_name(calc), ok, idx32=n <= 0xFFFFFFFF)
            launch(k, n, *oargs, n, _kshape(shape), *args)
        return out

    # -------------------------------------------------------------- layout
    def _phantom(self, x: CudaArray) -> np.ndarray:
        it = x.dtype.itemsize
        return np.asarray(_Iface({"data": (_FAKE_BASE + x.offset * it, True), "shape": x.shape,
                                  "strides": tuple(s * it for s in x.strides), "typestr": x.dtype.str,
                                  "version": 3}))

    def view(self, x: CudaArray, fn: Any) -> CudaArray:
        # the common views from shape and strides alone (a linear layer's weight, a gradient, a
        # broadcast operand); any other through a NumPy stand-in of x
        if fn is np.transpose:
            return CudaArray(x.storage, x.shape[::-1], x.strides[::-1], x.offset, x.dtype, self)
        if fn is mT and x.ndim >= 2:
            shape, st = x.shape, x.strides
            return CudaArray(x.storage, shape[:-2] + shape[:-3:-1], st[:-2] + st[:-3:-1], x.offset, x.dtype, self)
        if isinstance(fn, BroadcastTo):
            st = broadcast_strides(x.shape, x.strides, fn.shape)
            if st is not None:
                return CudaArray(x.storage, fn.shape, st, x.offset, x.dtype, self)
        r = fn(self._phantom(x))
        if r.flags.owndata:
            raise RuntimeError("internal error: a CUDA view function made a copy")
        it = x.dtype.itemsize
        off = (r.__array_interface__["data"][0] - _FAKE_BASE) // it
        return CudaArray(x.storage, r.shape, tuple(s // it for s in r.strides), off, x.dtype, self)

    def reshape(self, x: CudaArray, shape: tuple) -> CudaArray:
        shape = resolve_shape(x.size, shape)
        if x.is_c_contiguous:
            return CudaArray(x.storage, shape, contiguous_strides(shape), x.offset, x.dtype, self, contig=True)
        try:  # NumPy >= 2.1 raises instead of copying when a view is impossible
            return self.view(x, lambda a: a.reshape(shape, copy=False))
        except ValueError:
            c = self.contiguous(x)
            return CudaArray(c.storage, shape, contiguous_strides(shape), c.offset, c.dtype, self)

    def is_contiguous(self, x: CudaArray) -> bool:
        return x.is_c_contiguous

    def contiguous(self, x: CudaArray) -> CudaArray:
        return x if x.is_c_contiguous else self.copy(x)

    def copy(self, x: CudaArray) -> CudaArray:
        return self.elementwise("_copy", [x], x.shape, x.dtype)

    def astype(self, x: CudaArray, dtype: np.dtype) -> CudaArray:
        if not isinstance(x, CudaArray):
            return self.asarray(np.asarray(x, dtype=dtype))
        return x if x.dtype == np.dtype(dtype) else self.elementwise("_copy", [x], x.shape, np.dtype(dtype))

    def full(self, shape: tuple, value: Any, dtype: np.dtype) -> CudaArray:
        return self.elementwise("_copy", [np.asarray(value, dtype=dtype)], tuple(shape), np.dtype(dtype))

    @staticmethod
    def _is_basic(index: Any) -> bool:
        items = index if isinstance(index, tuple) else (index,)
        return not any(isinstance(i, (np.ndarray, list, CudaArray)) for i in items)

    def _positions(self, x: CudaArray, index: Any) -> CudaArray:
        """Buffer positions (int64, on the device) of x[index] for an advanced index. Integer
        index arrays on the device add their part there, with no host round trip: an index out
        of range gives a negative position, which the gather / scatter kernels report through
        the error flag (checked at the next copy to the host, like PyTorch's device-side
        assert). Host index arrays (and masks) are applied on the host."""
        items = index if isinstance(index, tuple) else (index,)
        dev = [k for k, it in enumerate(items) if isinstance(it, CudaArray)]
        if dev and any(isinstance(it, np.ndarray) and it.dtype == np.bool_ for it in items):
            items = tuple(self.to_numpy(it) if isinstance(it, CudaArray) else it for it in items)
            dev = []
        if not dev:
            return self._constant(np.ascontiguousarray(element_positions(x.shape, x.strides, x.offset, items)))
        # the other items' part, with zeros standing in for the device arrays
        zeros = tuple(np.zeros(it.shape, np.int64) if k in dev else it for k, it in enumerate(items))
        base = np.ascontiguousarray(element_positions(x.shape, x.strides, x.offset, zeros))
        dims, first, block = advanced_layout(items, x.ndim, _is_index_array)
        part = None
        for k in dev:
            d = dims[k]
            idx = self.astype(items[k], np.dtype(np.int64))
            term = self.elementwise("index_pos", [idx, np.asarray(x.shape[d], np.int64), np.asarray(x.strides[d], np.int64)],
                                    idx.shape, np.dtype(np.int64))
            part = term if part is None else self.elementwise(
                "add", [part, term], tuple(np.broadcast_shapes(part.shape, term.shape)), np.dtype(np.int64))
        lead = (1,) * (block - part.ndim) + part.shape  # the broadcast block of the advanced indices
        placed = self.reshape(part, (1,) * first + lead + (1,) * (base.ndim - first - len(lead)))
        return self.elementwise("add", [self._constant(base), placed], base.shape, np.dtype(np.int64))

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

    def _bad_flag(self) -> Any:
        """The device flag the gather / scatter kernels set for an index out of range."""
        if self._bad is None:
            self._bad = self.cuda.to_device(np.zeros(1, np.int32))
        self._bad_pending = True
        return self._bad

    def check_errors(self) -> None:
        """Raise for bad input a kernel flagged since the last check (an index or a target out
        of range, a binary_cross_entropy input outside [0, 1]): reported at the next copy to the
        host, as PyTorch's device-side asserts are, so no op waits for the GPU."""
        if self._bad_pending:
            self._bad_pending = False
            code = int(self._bad.copy_to_host()[0])
            if code:
                self._bad.copy_to_device(np.zeros(1, np.int32))
                where = " (reported at the next copy to the host, as PyTorch's device-side assert is)"
                if code == 3:
                    raise RuntimeError("all elements of input should be between 0 and 1" + where)
                raise IndexError(("Target out of bounds in nll_loss / cross_entropy" if code == 2
                                  else "index out of range in an indexing op on a CUDA tensor") + where)

    def check_unit_interval(self, x: CudaArray) -> None:
        """Flag (see check_errors) an element of x outside [0, 1]."""
        c = self.contiguous(x)
        if c.size:
            launch(K.check_unit_interval, c.size, c.buf, c.offset, c.size, self._bad_flag())

    def getitem(self, x: CudaArray, index: Any) -> CudaArray:
        if self._is_basic(index):
            return self.view(x, lambda a: a[with_ellipsis(index)])
        pos = self._positions(x, index)
        out = self.empty(pos.shape, x.dtype)
        if pos.size:
            launch(K.gather, pos.size, x.buf, pos.buf[pos.offset: pos.offset + pos.size], out.buf[: pos.size],
                   self._bad_flag())
        return out

    def setitem(self, x: CudaArray, index: Any, value: Any) -> None:
        if self._is_basic(index):
            v = self.view(x, lambda a: a[with_ellipsis(index)])
            self.elementwise("_copy", [self._same_device(value, v.dtype)], v.shape, x.dtype, out=v)
            return
        pos = self._positions(x, index)
        if not pos.size:
            return
        val = self._same_device(value, x.dtype)
        val = self.contiguous(self.view(self.astype(val, x.dtype), BroadcastTo(pos.shape)))
        launch(K.scatter_store, pos.size, x.buf, pos.buf[pos.offset: pos.offset + pos.size], val.buf, val.offset, 1,
               self._bad_flag())

    def _same_device(self, value: Any, dtype: np.dtype) -> Any:
        if isinstance(value, CudaArray):
            return value
        a = np.asarray(value, dtype=dtype)
        return a if a.ndim == 0 else self.asarray(a)

    def concatenate(self, arrays: Sequence[CudaArray], axis: int) -> CudaArray:
        shape = list(arrays[0].shape)
        shape[axis] = sum(a.shape[axis] for a in arrays)
        out = self.empty(tuple(shape), arrays[0].dtype)
        start = 0
        for a in arrays:
            sl = (slice(None),) * axis + (slice(start, start + a.shape[axis]),)
            self.setitem(out, sl, a)
            start += a.shape[axis]
        return out

    def shares_memory(self, a: Any, b: Any) -> bool:
        return (isinstance(a, CudaArray) and isinstance(b, CudaArray) and a._storage is not None
                and a._storage is b._storage)

    def is_private(self, g: Any, other: Any = None) -> bool:
        """Nothing but g (and `other`, which may view the same buffer) refers to g's buffer from
        the pool (see CpuBackend.is_private): counted by the references to its _Storage, which
        every view of the buffer holds."""
        if type(g) is not CudaArray:
            return False
        s = g._storage
        if s is None or s.pool is None:  # a host value, or memory another library owns
            return False
        extra = 1 if type(other) is CudaArray and other._storage is s else 0
        del s  # (SoleHolder.refs counts the references to g._storage: none may stay in this frame)
        return _STORAGE.is_sole(g, extra)

    def index_add(self, shape: tuple, index: Any, src: CudaArray) -> CudaArray:
        dst = self.full(shape, 0, src.dtype)
        if self._is_basic(index):  # a basic index never repeats an element
            self.setitem(dst, index, src)
            return dst
        pos = self._positions(dst, index)
        s = self.contiguous(self.view(src, BroadcastTo(pos.shape)))
        if pos.size:
            launch(K.scatter_add, pos.size, dst.buf, pos.buf[pos.offset: pos.offset + pos.size],
                   s.buf[s.offset: s.offset + s.size], self._bad_flag())
        return dst

    def scatter_along_axis(self, shape: tuple, index: CudaArray, src: CudaArray, axis: int) -> CudaArray:
        out = self.full(shape, 0, src.dtype)
        A, B = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
        idx, g = self.contiguous(index), self.contiguous(src)
        if A * B:
            launch(K.scatter_mid, A * B, out.buf, idx.buf, idx.offset, g.buf, g.offset, A, shape[axis], B)
        return out

    # -------------------------------------------------------------- reductions
    def sum(self, x: CudaArray, axes: tuple[int, ...], keepdim: bool) -> CudaArray:
        p = reduce_plan(x.shape, axes)
        xc = self.contiguous(x if p.perm is None else self._permute(x, p.perm))
        A, Kr, B = p.outer, p.reduced, p.inner
        flt = x.dtype.kind == "f"
        acc = np.dtype(np.float64 if flt else np.int64)  # the kernels add in acc, store in res's dtype
        rdt = x.dtype if flt else acc
        res = self.empty((A * B,), rdt) if A * B and Kr else self.full((A * B,), 0, rdt)
        rows, mid = K.SUM_F if flt else K.SUM_I
        if A * B and Kr:
            zero = acc.type(0)
            S = K.reduce_chunks(A * B, Kr, B == 1)
            if S > 1:  # too few outputs to fill the GPU: partial sums over S chunks (in acc), then theirs
                chunk = -(-Kr // S)
                S = -(-Kr // chunk)
                part = self.empty((A * S * B,), acc)
                self._sum_pass(rows, mid, xc.buf, xc.offset, A, Kr, B, S, chunk, part.buf, zero)
                self._sum_pass(rows, mid, part.buf, 0, A, S, B, 1, S, res.buf, zero)
            else:
                self._sum_pass(rows, mid, xc.buf, xc.offset, A, Kr, B, 1, Kr, res.buf, zero)
        return self.reshape(res, p.keepdim_shape if keepdim else p.shape)

    @staticmethod
    def _sum_pass(rows: Any, mid: Any, x: Any, xo: int, A: int, Kr: int, B: int, S: int, chunk: int, out: Any,
                  zero: Any) -> None:
        """out[a, s, b] = the sum of x[a, k, b] over chunk s of k (a block per row and chunk where
        B is 1, else a thread per output)."""
        if B == 1:
            launch(rows, A * S, x, xo, A, Kr, S, chunk, out, zero, rows=True)
        else:
            launch(mid, A * S * B, x, xo, A, Kr, B, S, chunk, out, zero)

    def argext(self, x: CudaArray, axis: int, keepdim: bool, want_max: bool) -> tuple[CudaArray, CudaArray]:
        A, Kr, B, oshape = argext_plan(x.shape, axis, keepdim)
        xc = self.contiguous(x)
        i64 = np.dtype(np.int64)
        vals, idx = self.empty((A * B,), x.dtype), self.empty((A * B,), i64)
        if A * B:
            none = self._one_dummy(i64).buf
            S = K.reduce_chunks(A * B, Kr, rows=False)
            if S > 1:  # too few outputs to fill the GPU: the extremes of S chunks, then the extreme of those
                chunk = -(-Kr // S)
                S = -(-Kr // chunk)
                pv, pi = self.empty((A * S * B,), x.dtype), self.empty((A * S * B,), i64)
                launch(K.argext_mid, A * S * B, xc.buf, xc.offset, A, Kr, B, S, chunk, pv.buf, pi.buf, want_max,
                       none, False)
                launch(K.argext_mid, A * B, pv.buf, 0, A, S, B, 1, S, vals.buf, idx.buf, want_max, pi.buf, True)
            else:
                launch(K.argext_mid, A * B, xc.buf, xc.offset, A, Kr, B, 1, Kr, vals.buf, idx.buf, want_max,
                       none, False)
        return self.reshape(vals, oshape), self.reshape(idx, oshape)

    def _permute(self, x: CudaArray, perm: tuple) -> CudaArray:
        shape, strides = permuted(x.shape, x.strides, perm)
        return CudaArray(x.storage, shape, strides, x.offset, x.dtype, self)

    def _rows(self, x: CudaArray, axis: int) -> tuple[CudaArray, RowsPlan]:
        p = rows_plan(x.shape, axis)
        return self.contiguous(x if p.perm is None else self._permute(x, p.perm)), p

    def _unrows(self, out: CudaArray, p: RowsPlan) -> CudaArray:
        out = self.reshape(out, p.moved)
        return out if p.inverse is None else self._permute(out, p.inverse)

    def softmax(self, x: CudaArray, axis: int, log: bool) -> CudaArray:
        if x.size == 0:
            return self.copy(x)
        x2, p = self._rows(x, axis)
        Kc = p.cols
        M = x.size // Kc
        out = self.empty((M * Kc,), x.dtype)
        launch(K.softmax_rows, M, x2.buf, x2.offset, M, Kc, out.buf, log, rows=True)
        return self._unrows(out, p)

    def softmax_backward(self, y: CudaArray, g: CudaArray, axis: int, log: bool) -> CudaArray:
        y2, p = self._rows(y, axis)
        g2, _ = self._rows(self.astype(g, y.dtype), axis)
        Kc = p.cols
        M = y.size // max(Kc, 1)
        out = self.empty((M * Kc,), y.dtype)
        if y.size:
            launch(K.softmax_rows_bw, M, self._flat(y2), self._flat(g2), M, Kc, out.buf, log, rows=True)
        return self._unrows(out, p)

    def logsumexp(self, x: CudaArray, axis: int) -> CudaArray:
        x2, p = self._rows(x, axis)
        M = math.prod(p.moved[:-1])
        out = self.empty((M,), x.dtype)
        if M:
            launch(K.logsumexp_rows, M, self._flat(x2), M, p.cols, out.buf, rows=True)
        return self.reshape(out, p.moved[:-1])

    @staticmethod
    def _flat(c: CudaArray) -> Any:
        return c.buf[c.offset: c.offset + c.size]

    # -------------------------------------------------------------- losses and optimizers
    def _class_weights(self, weight: CudaArray | None, dtype: np.dtype) -> tuple[Any, int]:
        """(device buffer, count) of nll's class weights in `dtype`; a 1-element dummy and 0 without."""
        if weight is None:
            return self._one_dummy(dtype).buf, 0
        w = self.contiguous(self.astype(weight, dtype))
        return w.buf[w.offset: w.offset + w.size], w.size

    def _one_dummy(self, dtype: np.dtype) -> CudaArray:
        d = self._dummies.get(np.dtype(dtype))
        if d is None:
            d = self._dummies[np.dtype(dtype)] = self.empty((1,), dtype)
        return d

    def log_softmax_nll(self, x: CudaArray, t: CudaArray, ignore_index: int,
                        weight: CudaArray | None = None) -> tuple[CudaArray, CudaArray, CudaArray]:
        """cross_entropy's forward in one row kernel: log_softmax of rows x (N, C), and the per-row
        -w[t[i]] * logp[i, t[i]] with the rows' weights (as nll_forward)."""
        N, C = x.shape
        if not (N and C):
            logp = self.empty((N, C), x.dtype)
            return logp, *self.nll_forward(logp, t, ignore_index, weight)
        xc, tc = self.contiguous(x), self.contiguous(t)
        logp = self.empty((N, C), x.dtype)
        per, valid = self.empty((N,), x.dtype), self.empty((N,), x.dtype)
        w, nw = self._class_weights(weight, x.dtype)
        launch(K.log_softmax_nll_rows, N, xc.buf, xc.offset, N, C, logp.buf, tc.buf, tc.offset, ignore_index,
               w, nw, per.buf, valid.buf, self._bad_flag(), rows=True)
        return logp, per, valid

    def nll_forward(self, x: CudaArray, t: CudaArray, ignore_index: int,
                    weight: CudaArray | None = None) -> tuple[CudaArray, CudaArray]:
        N, C = x.shape
        xc, tc = self.contiguous(x), self.contiguous(t)
        per, valid = self.empty((N,), x.dtype), self.empty((N,), x.dtype)
        if N:
            w, nw = self._class_weights(weight, x.dtype)
            launch(K.nll_forward, N, xc.buf, xc.offset, tc.buf, tc.offset, N, C, ignore_index, w, nw, per.buf,
                   valid.buf, self._bad_flag())
        return per, valid

    def nll_reduce(self, per: CudaArray, valid: CudaArray, mean: bool) -> tuple[CudaArray, CudaArray]:
        """The 'sum' / 'mean' of per-row losses and the summed row weights, in one kernel."""
        pc, vc = self.contiguous(per), self.contiguous(valid)
        out, n = self.empty((), per.dtype), self.empty((), valid.dtype)
        launch(K.nll_reduce, 1, pc.buf, pc.offset, vc.buf, vc.offset, pc.size, mean, out.buf, n.buf, rows=True)
        return out, n

    def nll_backward(self, g: CudaArray, t: CudaArray, classes: int, ignore_index: int,
                     weight: CudaArray | None = None, total: CudaArray | None = None) -> CudaArray:
        N = t.shape[0]
        out = self.empty((N, classes), g.dtype)
        gc, tc = self.contiguous(g), self.contiguous(t)
        if N * classes:
            gs = 0 if gc.size == 1 else 1
            w, nw = self._class_weights(weight, g.dtype)
            tot = self.contiguous(total) if total is not None else gc  # (not read without a total)
            launch(K.nll_backward, N * classes, gc.buf, gc.offset, gs, tc.buf, tc.offset, N, classes, ignore_index,
                   w, nw, tot.buf, tot.offset, total is not None, out.buf)
        return out

    def sgd_step(self, x: CudaArray, d: CudaArray, buf: CudaArray | None, *, first: bool, **hyper: Any) -> None:
        self.sgd_foreach([x], [d], [buf], [first], **hyper)

    def sgd_foreach(self, xs: list, ds: list, bufs: list, firsts: list, *, lr: float, momentum: float,
                    dampening: float, weight_decay: float, nesterov: bool, maximize: bool) -> None:
        """sgd_step on contiguous parameters of one dtype (bufs: their momentum buffers, or None),
        K.FOREACH to a launch."""
        from .cpu.kernels.optim import sgd_scalars

        bs = [x if b is None else b for x, b in zip(xs, bufs)]
        if not all(a.is_c_contiguous for a in xs + bs) or len({x.dtype for x in xs}) > 1:
            raise RuntimeError("sgd_step needs contiguous parameter and momentum arrays of one dtype")
        dcs = [self.contiguous(self.astype(d, x.dtype)) for x, d in zip(xs, ds)]
        consts = sgd_scalars(xs[0].dtype, lr, momentum, dampening, weight_decay)
        t = K.LAUNCH["threads"]
        for s in range(0, len(xs), K.FOREACH):
            X, D, B = xs[s: s + K.FOREACH], dcs[s: s + K.FOREACH], bs[s: s + K.FOREACH]
            blocks = min(max(-(-x.size // t) for x in X), K.LAUNCH["max_blocks"])
            if blocks:
                arrays = [part for A in (X, D, B) for part in (tuple(a.buf for a in A), tuple(a.offset for a in A))]
                K.launch_grid(K.sgd_step, (blocks, len(X), 1), (t, 1, 1), *arrays, tuple(x.size for x in X),
                              tuple(bool(f) for f in firsts[s: s + K.FOREACH]), *consts, maximize, nesterov)

    def adam_step(self, x: CudaArray, d: CudaArray, m: CudaArray, v: CudaArray, *, step: int | CudaArray, lr: float,
                  beta1: float, beta2: float, eps: float, weight_decay: float, decoupled: bool, maximize: bool) -> None:
        from .cpu.kernels.optim import adam_scalars

        for a in (x, m, v):
            if not (a.is_c_contiguous and a.offset == 0):
                raise RuntimeError("adam_step needs contiguous parameter and state arrays")
        dc = self.contiguous(self.astype(d, x.dtype))
        if isinstance(step, CudaArray):  # capturable: the count lives on the device
            if x.size:
                launch(K.adam_step_capturable(x.dtype), x.size, x.buf, dc.buf, dc.offset, m.buf, v.buf, x.size,
                       self._flat(self.contiguous(step)), float(lr), float(beta1), float(beta2), float(eps),
                       float(weight_decay), maximize, decoupled)
            return
        c = adam_scalars(x.dtype, step, lr, beta1, beta2, eps, weight_decay, decoupled)
        if x.size:
            launch(K.adam_step, x.size, x.buf, dc.buf, dc.offset, m.buf, v.buf, x.size, *c, maximize, decoupled)

    # -------------------------------------------------------------- matmul
    def addmm(self, bias: CudaArray, a: CudaArray, b: CudaArray) -> CudaArray:
        """a @ b + bias (2-D a and b, a bias of b's columns): a tiled product adds the bias where it
        stores its results, a split-K product where it sums the chunks; no pass of its own."""
        return self.matmul(a, b, bias)

    def matmul(self, a: CudaArray, b: CudaArray, bias: CudaArray | None = None) -> CudaArray:
        if a.dtype.kind != "f" or b.dtype.kind != "f":
            raise RuntimeError(f"matmul on CUDA supports float32 and float64, got {a.dtype} and {b.dtype}")
        plan = matmul_plan(a.shape, b.shape)
        batch, M, Kd, N = plan.batch, plan.M, plan.K, plan.N
        a2 = self.reshape(a, (1, -1)) if plan.a_vector else a
        b2 = self.reshape(b, (-1, 1)) if plan.b_vector else b
        if a2.ndim == 2 and b2.ndim == 2:
            ab, bb = a2, b2
        else:
            ab = self.view(a2, BroadcastTo(batch + (M, Kd)))
            bb = self.view(b2, BroadcastTo(batch + (Kd, N)))
        nb = math.prod(batch)
        tiled = nb * M * N and Kd and M * N * Kd >= K.LAUNCH["tile_min_flops"]
        S = K.split_k(M, N, Kd, nb) if tiled else 1
        fuse = bias is not None and bool(tiled)  # else: the bias is added below
        if fuse:
            bias = self.contiguous(bias)
        if Kd == 0:
            out = self.full(batch + (M, N), 0, a.dtype)
        else:  # split K: S partial products side by side, summed below
            out = self.empty(((S,) if S > 1 else ()) + batch + (M, N), a.dtype)
        if nb * M * N and Kd:
            bshape = batch or (1,)
            sa = _kstrides(ab.strides[:-2], len(bshape))
            sb = _kstrides(bb.strides[:-2], len(bshape))
            if S > 1:  # chunk s of K is batch entry s: A and B step by Kd // S along K
                bshape, sa, sb = (S,) + bshape, (Kd // S * ab.strides[-1],) + sa, (Kd // S * bb.strides[-2],) + sb
            args = (ab.buf, ab.offset, sa, ab.strides[-2], ab.strides[-1],
                    bb.buf, bb.offset, sb, bb.strides[-2], bb.strides[-1], out.buf, M, N, Kd // S, bshape)
            if tiled:
                grid = ((N + K.BN - 1) // K.BN, (M + K.BM - 1) // K.BM, nb * S)
                a_m_fast = ab.strides[-1] != 1 and ab.strides[-2] == 1
                b_k_fast = bb.strides[-1] != 1 and bb.strides[-2] == 1
                in_tiles = fuse and S == 1
                K.launch_grid(K.matmul_tiled(a.dtype, a_m_fast, b_k_fast, in_tiles), grid, (256, 1, 1),
                              *(args + ((bias.buf, bias.offset) if in_tiles else ())))
            else:
                launch(K.matmul_simple, nb * M * N, *args)
            if S > 1:  # the chunks' sum (and the bias)
                part, n = out, nb * M * N
                out = self.empty(batch + (M, N), a.dtype)
                add = bias if fuse else part  # (not read without a bias)
                launch(K.splitk_sum, n, part.buf, S, n, N, add.buf, add.offset, fuse, out.buf)
        if bias is not None and not fuse:
            out = self.elementwise("add", [out, bias], out.shape, out.dtype)
        return self.reshape(out, plan.shape) if plan.a_vector or plan.b_vector else out


def _vectorizable(kinds: str, args: list) -> bool:
    """Every array operand ('c': a buffer and an offset in args) is float32 at an offset that is a
    multiple of 4: 16-byte aligned groups of 4 values (pool buffers start aligned)."""
    pos = 0
    for kind in kinds:
        if kind == "c":
            if args[pos].dtype != np.float32 or args[pos + 1] % 4:
                return False
            pos += 2
        else:
            pos += 1
    return True


_STORAGE = SoleHolder("_storage", lambda: CudaArray(_Storage(None, None, None), (1,), (1,), 0, np.dtype(np.float32), None))


def _kshape(shape: tuple) -> tuple:
    """A shape as kernels take it: at least one dimension (a 0-d tensor is (1,))."""
    return tuple(int(v) for v in shape) or (1,)


def _kstrides(strides: tuple, n: int = 1) -> tuple:
    """Strides as kernels take them: left-padded with zeros (broadcast) to n entries."""
    st = tuple(int(v) for v in strides)
    return (0,) * (n - len(st)) + st


"""Kernel launches: the launch configuration every kernel shares (LAUNCH, configure), `launch`
over n items or rows, and launches without numba-cuda's per-call dispatch.

`kernel[grid, block](*args)` in numba-cuda types every argument, looks up the compiled
overload, does launch-configuration bookkeeping, converts each array through a strided
memory view and builds a new cuda.core LaunchConfig: tens of microseconds a launch, most
of a small op's time (see REFERENCES.md). The first launch of a kernel with given argument
types goes that way (it compiles) and leaves a plan: the compiled kernel and a generated
function that flattens the arguments as numba's `_Kernel._prepare_args` does (an array is
meminfo, parent, size, itemsize, data pointer, shape, strides). Later launches with the same
types hand that list to cuda.core's `launch`, with a LaunchConfig made once per grid.

Off under the simulator (its kernels are Python). On a GPU a self-test at the first launch
runs a probe kernel that takes every kind of argument nbgrad passes, both ways, and turns
the fast path off with a warning if the results differ or anything fails.
NBGRAD_CUDA_FAST_LAUNCH=0 turns it off."""

from __future__ import annotations

import ctypes
import os
import warnings
from typing import Any, Callable

import numpy as np

_MISSING = object()
SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
_SCALAR_KEYS = {int: "i", float: "d", bool: "b"}


def arg_key(v: Any) -> Any:
    """A cheap stand-in for numba's type of a kernel argument: equal keys, equal types."""
    k = _SCALAR_KEYS.get(type(v))
    if k is not None:
        return k
    if type(v) is tuple:
        return tuple([arg_key(x) for x in v])
    if isinstance(v, np.generic):
        return type(v)
    t = getattr(v, "_numba_type_", None)  # a device array (cached on the array)
    if t is None:
        raise TypeError(f"no fast-launch key for a {type(v).__name__}")
    return t


def flattener(argtypes: tuple) -> Callable[..., list]:
    """A function of the kernel's arguments that returns numba's flat kernel-argument list
    for these numba types (raises NotImplementedError for a type it does not handle)."""
    from numba.cuda import types

    ns: dict[str, Any] = {"ctypes": ctypes}
    parts: list[str] = []

    def emit(ty: Any, e: str) -> None:
        if isinstance(ty, types.Array):
            parts.append(f"0, 0, {e}.size, {e}.dtype.itemsize, {e}.device_ctypes_pointer.value or 0, "
                         f"*{e}.shape, *{e}.strides")
        elif isinstance(ty, types.Boolean):
            parts.append(e)
        elif isinstance(ty, types.Integer):
            parts.append(f"ctypes.c_{ty}({e})")
        elif ty == types.float64:
            parts.append(f"ctypes.c_double({e})")
        elif ty == types.float32:
            parts.append(f"ctypes.c_float({e})")
        elif isinstance(ty, types.BaseTuple):
            for i, t in enumerate(ty):
                emit(t, f"{e}[{i}]")
        else:
            raise NotImplementedError(f"fast launch does not pass {ty}")

    names = [f"a{i}" for i in range(len(argtypes))]
    for ty, n in zip(argtypes, names):
        emit(ty, n)
    src = f"def flat({', '.join(names)}):\n    return [{', '.join(parts)}]\n"
    exec(src, ns)  # noqa: S102  (generated from numba types only)
    return ns["flat"]


class Launcher:
    """Launches kernels: the fast path when it is on and has a plan, else numba's own."""

    def __init__(self, simulator: bool) -> None:
        self.simulator = simulator
        self.enabled = not simulator and os.environ.get("NBGRAD_CUDA_FAST_LAUNCH", "1") != "0"
        self.tested = False
        self.plans: dict = {}  # (kernel, argument keys) -> (compiled kernel, flattener), or None
        self.configured: dict = {}  # (kernel, grid, block) -> numba's configured kernel
        self.configs: dict = {}  # (grid, block) -> cuda.core LaunchConfig
        self.fast = 0  # launches that took the fast path
        self.disabled_why: str | None = None
        self._core: Any = None  # numba's dispatcher module: its cuda.core launch and LaunchConfig
        self._stream: Any = None
        self.capture: Any = None  # a graph.py capture that records launches instead of running them

    def configured_kernel(self, kernel: Any, grid: tuple, block: tuple) -> Any:
        if self.simulator:  # the simulator's kernel[grid, block] sets the dims on the kernel itself
            return kernel[grid, block]
        key = (kernel, grid, block)
        k = self.configured.get(key)
        if k is None:
            if len(self.configured) > 4096:
                self.configured.clear()
            k = self.configured[key] = kernel[grid, block]
        return k

    def __call__(self, kernel: Any, grid: tuple, block: tuple, args: tuple) -> None:
        if self.capture is not None:
            self.capture.add(self, kernel, grid, block, args)
            return
        key = plan = None
        if self.enabled:
            if not self.tested:
                self._self_test()
            if self.enabled:
                try:
                    key = (kernel, tuple([arg_key(a) for a in args]))
                except TypeError:
                    key = None
                if key is not None:
                    plan = self.plans.get(key, _MISSING)
                    if plan is not _MISSING and plan is not None:
                        cfg = self.configs.get((grid, block)) or self._config(kernel, grid, block)
                        self._core.launch(self._stream, cfg, plan[0], *plan[1](*args))
                        self.fast += 1
                        return
        self.configured_kernel(kernel, grid, block)(*args)
        if key is not None and plan is _MISSING:
            self.plans[key] = self._plan(kernel, args)

    def plan_for(self, kernel: Any, args: tuple, relaxed: Callable[[], Any]) -> tuple:
        """The fast-launch plan for these arguments, compiling the kernel (under relaxed(): no
        launch) where it has none yet; a graph capture launches every kernel this way."""
        name = getattr(getattr(kernel, "py_func", None), "__name__", kernel)
        try:
            key = (kernel, tuple([arg_key(a) for a in args]))
        except TypeError as e:
            raise RuntimeError(f"kernel {name} cannot be launched into a CUDA graph ({e})") from None
        plan = self.plans.get(key)
        if plan is None:
            with relaxed():
                kernel.compile(tuple(kernel.typeof_pyval(a) for a in args))
            plan = self.plans[key] = self._plan(kernel, args)
            if plan is None:
                raise RuntimeError(f"kernel {name} cannot be launched into a CUDA graph (an argument type the "
                                   "fast launch path does not pass)")
        return plan

    def _plan(self, kernel: Any, args: tuple) -> tuple | None:
        """The compiled overload numba just launched, and its flattener; None: always numba's path."""
        try:
            argtypes = tuple(kernel.typeof_pyval(a) for a in args)
            kern = kernel.overloads.get(argtypes)
            if (kern is None or getattr(kern, "debug", False) or getattr(kern, "cooperative", False)
                    or getattr(kern, "extensions", None)):
                return None
            return kern._codelibrary.get_cufunc().kernel, flattener(argtypes)
        except Exception:  # noqa: BLE001  (an argument type or numba version it does not know)
            return None

    def _config(self, kernel: Any, grid: tuple, block: tuple) -> Any:
        lc = self.configured_kernel(kernel, grid, block)  # numba's normalised dims and stream
        D = self._core
        if D.CUDA_CORE_GE_1_0:
            cfg = D.LaunchConfig(grid=lc.griddim, block=lc.blockdim, shmem_size=lc.sharedmem, is_cooperative=False)
        else:
            cfg = D.LaunchConfig(grid=lc.griddim, block=lc.blockdim, shmem_size=lc.sharedmem,
                                 cooperative_launch=False)
        self._stream = lc.stream
        if len(self.configs) > 4096:
            self.configs.clear()
        self.configs[(grid, block)] = cfg
        return cfg

    def disable(self, why: str) -> None:
        self.enabled = False
        self.disabled_why = why

    def _self_test(self) -> None:
        """Launch a probe kernel with every kind of argument nbgrad passes, through numba and
        through the fast path, and compare what it wrote."""
        self.tested = True
        try:
            from numba import cuda
            from numba.cuda import dispatcher as D

            for name in ("launch", "LaunchConfig", "CUDA_CORE_GE_1_0"):
                if not hasattr(D, name):
                    raise RuntimeError(f"numba.cuda.dispatcher has no {name} in this numba-cuda version")
            self._core = D
            probe = _probe_kernel()
            x = cuda.to_device(np.arange(10, dtype=np.float32))
            outs = [cuda.to_device(np.zeros(14)) for _ in range(2)]
            before = self.fast
            for out in outs:  # the first through numba (it compiles and leaves a plan), the second fast
                self(probe, (1, 1, 1), (32, 1, 1), (out, x[2:9], 3, np.float32(1.5), 2.25, 7, True, (3, 5),
                                                    np.float64(-0.5), np.int64(-9), np.bool_(False), (x[2:9], x),
                                                    (False, True)))
            got = [o.copy_to_host() for o in outs]
            want = [5.0, 1.5, 2.25, 7.0, 1.0, 3.0, 5.0, 7.0, -0.5, -9.0, 0.0, 4.0, 1.0, 0.0]
            if self.fast != before + 1:
                raise RuntimeError("the probe did not take the fast path")
            if not (np.array_equal(got[0], want) and np.array_equal(got[1], want)):
                raise RuntimeError(f"the probe wrote {got[1].tolist()} fast and {got[0].tolist()} through numba")
            self.fast = before
        except Exception as e:  # noqa: BLE001
            self.disable(f"{type(e).__name__}: {e}")
            warnings.warn(f"nbgrad: fast CUDA kernel launches are off ({self.disabled_why}); kernels launch "
                          "through numba-cuda's dispatcher", RuntimeWarning, stacklevel=3)


_PROBE: list = []


def _probe_kernel() -> Any:
    if not _PROBE:
        from numba import cuda

        @cuda.jit
        def probe(out, x, xo, f32, f64, i, flag, shape, g64, i64, b, xs, flags):
            if cuda.grid(1) == 0:
                out[11] = xs[1][4]  # tuples of arrays and of flags: the foreach optimizer kernels
                out[12] = 1.0 if flags[1] else 0.0
                out[0] = x[xo]
                out[1] = f32
                out[2] = f64
                out[3] = i
                out[4] = 1.0 if flag else 0.0
                out[5] = shape[0]
                out[6] = shape[1]
                out[7] = x.size
                out[8] = g64
                out[9] = i64
                out[10] = 1.0 if b else 0.0

        _PROBE.append(probe)
    return _PROBE[0]


# ------------------------------------------------------------------ configuration

# max_blocks 8192: the best measured cap (the GPU run in benches/results.md); sms: the GPU's
# multiprocessors (set from the device); split_k_min: the shortest K chunk a split-K product gives
# one block tile; reduce_chunk_*: the shortest chunk of a split reduction (see reduce_chunks)
# mm_vector: float32 tiles read with 128-bit shared loads (see _tiled_source); mm_two_blocks: the
# float32 tiled matmul compiled for 2 blocks per multiprocessor (launch bounds: ptxas 13.5 fits the
# scalar tiles in 127 registers with no spill, the vector tiles in 128 with 16 bytes; without them
# 146 / 165 registers and 1 block). Both on by default from that static count, not yet from a GPU
# timing (NBGRAD_CUDA_MM_VECTOR=0 / NBGRAD_CUDA_MM_TWO_BLOCKS=0 turn them off; gpu_check times all
# four). ew_vector: float32 elementwise kernels move 4 values per access (_vector_source); off
# until a GPU run has timed it (NBGRAD_CUDA_EW_VECTOR=1)
LAUNCH = {"threads": 256, "max_blocks": 8192, "tile_min_flops": 1 << 18, "sms": 132, "split_k_min": 256,
          "reduce_chunk_rows": 2048, "reduce_chunk_mid": 32,
          "mm_vector": os.environ.get("NBGRAD_CUDA_MM_VECTOR", "1") != "0",
          "mm_two_blocks": os.environ.get("NBGRAD_CUDA_MM_TWO_BLOCKS", "1") != "0",
          "ew_vector": os.environ.get("NBGRAD_CUDA_EW_VECTOR") == "1"}
MAX_THREADS = 256  # shared-memory scratch size of the block reductions


def configure(threads: int | None = None, max_blocks: int | None = None, tile_min_flops: int | None = None,
              sms: int | None = None, split_k_min: int | None = None, reduce_chunks: tuple | None = None) -> None:
    """Shrink launches (tests under NUMBA_ENABLE_CUDASIM) or tune them. threads: a power of 2 <= 256;
    reduce_chunks: (rows, mid) shortest chunks of a split reduction."""
    if reduce_chunks is not None:
        LAUNCH["reduce_chunk_rows"], LAUNCH["reduce_chunk_mid"] = (max(1, int(c)) for c in reduce_chunks)
    if sms is not None:
        LAUNCH["sms"] = max(1, int(sms))
    if split_k_min is not None:
        LAUNCH["split_k_min"] = max(1, int(split_k_min))
    if threads is not None:
        if threads & (threads - 1) or not 1 <= threads <= MAX_THREADS:
            raise ValueError(f"threads must be a power of 2 in [1, {MAX_THREADS}], got {threads}")
        LAUNCH["threads"] = threads
    if max_blocks is not None:
        LAUNCH["max_blocks"] = max(1, int(max_blocks))
    if tile_min_flops is not None:
        LAUNCH["tile_min_flops"] = int(tile_min_flops)


if os.environ.get("NBGRAD_CUDA_LAUNCH"):  # "threads,max_blocks", e.g. "4,2" for the simulator
    _t, _b = (int(v) for v in os.environ["NBGRAD_CUDA_LAUNCH"].split(","))
    configure(_t, _b)

LAUNCHER = Launcher(simulator=SIMULATOR)


def launch(kernel: Any, n: int, *args: Any, rows: bool = False, per_thread: int = 1) -> None:
    """Launch `kernel` over n items, per_thread to a thread (or n rows, one block each, when
    rows=True); grid-stride loops cover the rest when max_blocks caps the grid."""
    t = LAUNCH["threads"]
    blocks = max(1, min(n if rows else (n + t * per_thread - 1) // (t * per_thread), LAUNCH["max_blocks"]))
    LAUNCHER(kernel, (blocks, 1, 1), (t, 1, 1), args)


def launch_grid(kernel: Any, grid: tuple, block: tuple, *args: Any) -> None:
    """Launch `kernel` on an explicit 3-D grid and block (the tiled matmul)."""
    LAUNCHER(kernel, grid, block, args)

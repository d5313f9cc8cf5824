"""The CUDA backend: device memory from a caching pool (pool.py), strided views (array.py),
numba.cuda kernels (kernels/). Indexing, CUDA graphs, interop and the fused ops are mixins of
CudaBackend in indexing.py, graph.py, interop.py and fused.py.

A CudaArray is (storage, shape, strides in elements, offset): views (transpose, expand,
slicing) only change those numbers, which plan.py computes (contract.Fused's view ops end in
as_strided)."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from numba import cuda  # (this module loads with the CUDA backend: numba.cuda is wanted by then)

from ..._dtype import promote_np
from .. import SharedBackend
from ..ownership import SoleHolder
from ..plan import (argext_plan, contiguous_strides, matmul_plan, reduce_plan, reshape_strides, resolve_shape)
from . import kernels as K
from .kernels import elementwise as EK
from .array import CudaArray, kshape, kstrides
from .graph import CaptureMixin, capture_refusal
from .indexing import IndexingMixin
from .interop import InteropMixin
from .fused import FusedMixin
from .launch import SIMULATOR, launch
from .pool import Pool, Storage

_STORAGE = SoleHolder("_storage", lambda: CudaArray(Storage(None, None, None), (1,), (1,), 0, np.dtype(np.float32), None))


_CALC_NAMES: dict[np.dtype, str] = {}


def _calc_name(dt: np.dtype) -> str:
    """The numba type a kernel computes in for NumPy dtype dt."""
    name = _CALC_NAMES.get(dt)
    if name is None:
        name = _CALC_NAMES[dt] = {"f": {4: "float32", 8: "float64"}, "i": {8: "int64", 4: "int32"}}.get(
            dt.kind, {}).get(dt.itemsize, "") or ("bool_" if dt.kind == "b" else "int64")
    return name


class CudaBackend(InteropMixin, CaptureMixin, IndexingMixin, FusedMixin, SharedBackend):
    device_type = "cuda"
    foreach = True  # sgd_foreach: many tensors in one launch
    can_capture = True  # CUDA graphs

    def __init__(self, index: int = 0) -> None:
        self.name = f"cuda:{index}"
        self.cuda = cuda
        self.pool = Pool()
        self._bad: Any = None  # device flag: an index out of range (see check_errors)
        self._dummies: dict[np.dtype, CudaArray] = {}  # one-element stand-ins for absent arrays
        self._bad_pending = False
        self._capture: Any = None  # the CUDA graph capture in progress
        sms = getattr(cuda.get_current_device(), "MULTIPROCESSOR_COUNT", None)
        if sms:  # (the simulator has no count: tests set it with kernels.configure)
            K.configure(sms=sms)
        from .. import cuda_seed

        self._rng_state = self.empty((2,), np.dtype(np.uint64))  # the generator's seed and offset
        self.manual_seed(cuda_seed())

    # -------------------------------------------------------------- random numbers
    def manual_seed(self, seed: int) -> None:
        """Seed the device generator (Philox) and rewind it: (seed, 0) copied into its state, in
        place, so graphs that draw from it see the new seed."""
        if self._capture is not None:
            raise capture_refusal("seeding the CUDA generator")
        self._copy_in(self._rng_state, np.array([seed & 0xFFFF_FFFF_FFFF_FFFF, 0], np.uint64))

    def random(self, shape: tuple, dtype: np.dtype, dist: str, low: int = 0, high: int = 1,
               host: Any = None) -> CudaArray:
        """Random values drawn on the device (see kernels/random.py, random_fill): dist "uniform" in
        [0, 1), "normal", or "integers" in [low, high). Each draw advances the generator, on the
        device, so a CUDA graph's replays of it draw new values (`host`, the host stream's draw, is
        not used)."""
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
    def dlpack_device(self, x: CudaArray) -> tuple:
        return (2, int(self.name.split(":")[1]))  # kDLCUDA

    def host_buffer(self, x: CudaArray) -> np.ndarray | None:
        """None: x is device memory."""
        return None

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
            if SIMULATOR:
                out.buf[: a.size].copy_to_device(a.reshape(-1))
            else:  # no device-array slice (a view object and a finalizer per call)
                from numba.cuda.cudadrv import driver

                driver.host_to_device(out.buf, a, a.nbytes)

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

    # -------------------------------------------------------------- elementwise
    def _operand(self, o: Any, shape: tuple, calc: np.dtype) -> tuple[str, tuple]:
        if isinstance(o, CudaArray):
            # a number kept on the host: a scalar argument in the compute dtype; but a graph reads it
            # from device memory (moved there at capture), so a later copy_ into it reaches replays
            if o.host is not None and self._capture is None:
                return "s", ((calc if o.dtype.kind != "b" else o.dtype).type(o.host),)
            if o.shape == shape and o.is_c_contiguous:
                return "c", (o.buf, o.offset)
            v = self.broadcast_to(o, shape)
            return "g", (v.buf, v.offset, kstrides(v.strides))
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
            ok, oargs = "g", (out.buf, out.offset, kstrides(out.strides))
        if ok == "c" and "g" not in kinds:  # the unrolled contiguous kernel: no shape or strides
            vec = K.LAUNCH["ew_vector"] and out.dtype == np.float32 and out.offset % 4 == 0 and _vectorizable(
                kinds, args)
            k = EK.elementwise_kernel(op, kinds, _calc_name(calc), ok, vector=vec)
            launch(k, n, out.buf, out.offset, n, *args, per_thread=4 if vec else EK.UNROLL)
        else:
            k = EK.elementwise_kernel(op, kinds, _calc_name(calc), ok, idx32=n <= 0xFFFFFFFF)
            launch(k, n, *oargs, n, kshape(shape), *args)
        return out

    # -------------------------------------------------------------- layout
    def as_strided(self, x: CudaArray, shape: tuple, strides: tuple, offset: int = 0) -> CudaArray:
        """A view of x's buffer (strides and offset in elements, the offset from x's first element)."""
        return CudaArray(x.storage, shape, strides, x.offset + offset, x.dtype, self)

    def strides(self, x: CudaArray) -> tuple:
        return x.strides

    def reshape(self, x: CudaArray, shape: tuple) -> CudaArray:
        shape = resolve_shape(x.size, shape)
        if x.is_c_contiguous:
            return CudaArray(x.storage, shape, contiguous_strides(shape), x.offset, x.dtype, self, contig=True)
        st = reshape_strides(x.shape, x.strides, shape)
        if st is not None:
            return CudaArray(x.storage, shape, st, x.offset, x.dtype, self)
        c = self.contiguous(x)
        return CudaArray(c.storage, shape, contiguous_strides(shape), c.offset, c.dtype, self)

    def is_contiguous(self, x: CudaArray) -> bool:
        return x.is_c_contiguous

    def contiguous(self, x: CudaArray) -> CudaArray:
        return x if x.is_c_contiguous else self.copy(x)

    def astype(self, x: CudaArray, dtype: np.dtype) -> CudaArray:
        if not isinstance(x, CudaArray):
            return self.asarray(np.asarray(x, dtype=dtype))
        return x if x.dtype == np.dtype(dtype) else self.elementwise("copy", [x], x.shape, np.dtype(dtype))

    def _unfilled(self, shape: tuple, dtype: Any) -> CudaArray:
        return self.empty(shape, dtype)

    def shares_memory(self, a: Any, b: Any) -> bool:
        return (isinstance(a, CudaArray) and isinstance(b, CudaArray) and a._storage is not None
                and a._storage is b._storage)

    def is_private(self, g: Any, other: Any = None) -> bool:
        """Nothing but g (and `other`, which may view the same buffer) refers to g's buffer from
        the pool (see CpuBackend.is_private): counted by the references to its Storage, which
        every view of the buffer holds."""
        if type(g) is not CudaArray:
            return False
        s = g._storage
        if s is None or s.pool is None:  # a host value, or memory another library owns
            return False
        extra = 1 if type(other) is CudaArray and other._storage is s else 0
        del s  # (SoleHolder.refs counts the references to g._storage: none may stay in this frame)
        return _STORAGE.is_sole(g, extra)

    # -------------------------------------------------------------- reductions
    def sum(self, x: CudaArray, axes: tuple[int, ...], keepdim: bool) -> CudaArray:
        p = reduce_plan(x.shape, axes)
        xc = self.contiguous(x if p.perm is None else self.permute(x, p.perm))
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

    # ------------------------------------------------------------ layers (issue 17)
    def layer_norm(self, x: CudaArray, cols: int, eps: float) -> tuple[CudaArray, CudaArray]:
        """Each run of the last `cols` elements normalised (one block a row), and each row's rstd."""
        from .kernels.norm import layer_norm_rows

        xc = self.contiguous(x)
        M = x.size // cols if cols else 0
        out, rstd = self.empty((x.size,), x.dtype), self.empty((M,), x.dtype)
        if x.size:
            launch(layer_norm_rows, M, self._flat(xc), 0, M, cols, float(eps), out.buf, rstd.buf, rows=True)
        return self.reshape(out, x.shape), rstd

    def layer_norm_backward(self, g: CudaArray, y: CudaArray, rstd: CudaArray, cols: int) -> CudaArray:
        from .kernels.norm import layer_norm_rows_bw

        g2, y2, r2 = self.contiguous(self.astype(g, y.dtype)), self.contiguous(y), self.contiguous(rstd)
        M = y.size // cols if cols else 0
        out = self.empty((y.size,), y.dtype)
        if y.size:
            launch(layer_norm_rows_bw, M, self._flat(g2), self._flat(y2), self._flat(r2), M, cols, out.buf, rows=True)
        return self.reshape(out, y.shape)

    def _one_dummy(self, dtype: np.dtype) -> CudaArray:
        d = self._dummies.get(np.dtype(dtype))
        if d is None:
            d = self._dummies[np.dtype(dtype)] = self.empty((1,), dtype)
        return d


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
            ab = self.broadcast_to(a2, batch + (M, Kd))
            bb = self.broadcast_to(b2, batch + (Kd, N))
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
            sa = kstrides(ab.strides[:-2], len(bshape))
            sb = kstrides(bb.strides[:-2], len(bshape))
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

    # -------------------------------------------------------------- convolution and pooling (issue 17)
    def im2col(self, x: CudaArray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
               out_hw: tuple) -> CudaArray:
        """(N, C, H, W) -> (C * kh * kw, N * OH * OW): each output position's window (a column), 0 outside x."""
        x = self.contiguous(x)
        N, C, H, W = x.shape
        OH, OW = out_hw
        out = self.empty((C * kernel[0] * kernel[1], N * OH * OW), x.dtype)
        if out.size:
            launch(K.im2col, out.size, x.buf, x.offset, N, C, H, W, *kernel, *stride, *padding, *dilation, OH, OW,
                   out.buf)
        return out

    def col2im(self, cols: CudaArray, shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
               dilation: tuple, out_hw: tuple) -> CudaArray:
        """im2col's adjoint: columns (C * kh * kw, N, OH * OW) summed back into an array of `shape`."""
        cols = self.contiguous(cols)
        N, C, H, W = shape
        out = self.full(tuple(shape), 0, cols.dtype)
        if cols.size and out.size:
            launch(K.col2im, cols.size, cols.buf, cols.offset, N, C, H, W, *kernel, *stride, *padding, *dilation,
                   *out_hw, out.buf)
        return out

    def max_pool2d(self, x: CudaArray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                   out_hw: tuple) -> tuple[CudaArray, CudaArray]:
        """Each window's max and its flat index in its (H, W) plane (int64), as torch's indices."""
        x = self.contiguous(x)
        N, C, H, W = x.shape
        vals = self.empty((N, C) + tuple(out_hw), x.dtype)
        idx = self.empty((N, C) + tuple(out_hw), np.dtype(np.int64))
        if vals.size:
            launch(K.max_pool, vals.size, x.buf, x.offset, N * C, H, W, *kernel, *stride, *padding, *dilation,
                   *out_hw, vals.buf, idx.buf)
        return vals, idx

    def plane_scatter(self, g: CudaArray, idx: CudaArray, shape: tuple) -> CudaArray:
        """Zeros of `shape` (N, C, ...) with g[n, c, k] added at the flat position idx[n, c, k] of plane (n, c)."""
        g, idx = self.contiguous(g), self.contiguous(idx)
        out = self.full(tuple(shape), 0, g.dtype)
        planes = shape[0] * shape[1]
        if g.size and planes:
            launch(K.plane_scatter, g.size, g.buf, g.offset, idx.buf, idx.offset, g.size // planes,
                   math.prod(shape[2:]), g.size, out.buf)
        return out

    def plane_gather(self, x: CudaArray, idx: CudaArray) -> CudaArray:
        """out[n, c, k] = x[n, c].flat[idx[n, c, k]] (out shaped as idx)."""
        x, idx = self.contiguous(x), self.contiguous(idx)
        out = self.empty(idx.shape, x.dtype)
        planes = x.shape[0] * x.shape[1]
        if out.size and planes:
            launch(K.plane_gather, out.size, x.buf, x.offset, idx.buf, idx.offset, out.size // planes,
                   math.prod(x.shape[2:]), out.size, out.buf)
        return out

    # -------------------------------------------------------------- scans and order (issue 16)
    def cumulative(self, x: CudaArray, axis: int, kind: str) -> tuple[CudaArray, CudaArray | None]:
        """The running sum / prod / max / min / logsumexp of x along axis (and for max / min the
        int64 index of each running extreme): a block a row when axis is the last (and rows are
        not short), else a thread a column."""
        from .kernels.scan import KINDS, scan_kernels

        A, Kd, B = math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1:])
        xc = self.contiguous(x)
        i64 = np.dtype(np.int64)
        ext = kind in ("max", "min")
        out = self.empty(x.shape, x.dtype)
        idx = self.empty(x.shape, i64) if ext else self._one_dummy(i64)
        if x.size:
            integer = x.dtype.kind != "f"
            cols, rows = scan_kernels(integer, kind)
            zero = np.int64(0) if integer else np.float64(0)
            if B == 1 and Kd >= K.LAUNCH["threads"] // 4:  # (short rows: a thread a row)
                launch(rows, A, xc.buf, xc.offset, out.buf, idx.buf, A, Kd, KINDS[kind], zero, rows=True)
            else:
                launch(cols, A * B, xc.buf, xc.offset, out.buf, idx.buf, A, Kd, B, KINDS[kind], zero)
        return out, (idx if ext else None)

    def sort(self, x: CudaArray, axis: int, descending: bool, k: int | None = None) -> tuple[CudaArray, CudaArray]:
        """x stably sorted along axis (NaN as the largest), and the int64 positions the values came
        from (the first k of that order, when k is given): rows merged in log2(K) passes."""
        from .kernels.order import iota_rows, merge_pass

        x2, p = self._rows(x, axis)
        Kd, n = p.cols, x.size
        i64 = np.dtype(np.int64)
        keys, idx = self.empty((n,), x.dtype), self.empty((n,), i64)
        if n:
            k2, i2 = self.empty((n,), x.dtype), self.empty((n,), i64)
            launch(iota_rows, n, x2.buf, x2.offset, keys.buf, idx.buf, n, Kd)
            w = 1
            while w < Kd:
                launch(merge_pass, n, keys.buf, idx.buf, k2.buf, i2.buf, n, Kd, w, bool(descending))
                keys, idx, k2, i2 = k2, i2, keys, idx
                w *= 2
        vals, pos = self._unrows(keys, p), self._unrows(idx, p)
        if k is not None and k < Kd:
            sl = tuple(slice(0, k) if d == axis else slice(None) for d in range(x.ndim))
            vals, pos = (self.contiguous(self.basic_index(a, sl)) for a in (vals, pos))
        return vals, pos

    def searchsorted(self, seq: CudaArray, values: CudaArray, right: bool) -> CudaArray:
        """seq (R or 1, Ks) rows sorted ascending, values (R, N) of seq's dtype: for each value the
        first position i of its row with seq[i] >= value (> with right), int64 (R, N)."""
        from .kernels.order import searchsorted_rows

        sc, vc = self.contiguous(seq), self.contiguous(values)
        out = self.empty(values.shape, np.dtype(np.int64))
        if out.size:
            launch(searchsorted_rows, out.size, sc.buf, sc.offset, seq.shape[1], seq.shape[0] == 1, vc.buf, vc.offset,
                   values.shape[1], out.size, out.buf, bool(right))
        return out


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



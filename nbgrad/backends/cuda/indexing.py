"""CudaBackend's indexing: basic indices as views, advanced ones as gathers / scatters at element
positions computed on the device for device index arrays (on the host otherwise), and the
device error flag that reports an index out of range at the next copy to the host."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..plan import advanced_layout, element_positions
from . import kernels as K
from .array import CudaArray
from .launch import launch


def _is_index_array(it: Any) -> bool:
    return isinstance(it, (np.ndarray, CudaArray))


class IndexingMixin:
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
            return self.basic_index(x, index)
        pos = self._positions(x, index)
        out = self.empty(pos.shape, x.dtype)
        if pos.size:
            launch(K.gather, pos.size, x.buf, pos.buf[pos.offset: pos.offset + pos.size], out.buf[: pos.size],
                   self._bad_flag())
        return out

    def setitem(self, x: CudaArray, index: Any, value: Any) -> None:
        if self._is_basic(index):
            v = self.basic_index(x, index)
            self.elementwise("copy", [self._same_device(value, v.dtype)], v.shape, x.dtype, out=v)
            return
        pos = self._positions(x, index)
        if not pos.size:
            return
        val = self._same_device(value, x.dtype)
        val = self.contiguous(self.broadcast_to(self.astype(val, x.dtype), pos.shape))
        launch(K.scatter_store, pos.size, x.buf, pos.buf[pos.offset: pos.offset + pos.size], val.buf, val.offset, 1,
               self._bad_flag())

    def _same_device(self, value: Any, dtype: np.dtype) -> Any:
        if isinstance(value, CudaArray):
            return value
        a = np.asarray(value, dtype=dtype)
        return a if a.ndim == 0 else self.asarray(a)

    def index_add(self, shape: tuple, index: Any, src: CudaArray) -> CudaArray:
        dst = self.full(shape, 0, src.dtype)
        if self._is_basic(index):  # a basic index never repeats an element
            self.setitem(dst, index, src)
            return dst
        pos = self._positions(dst, index)
        s = self.contiguous(self.broadcast_to(src, pos.shape))
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

    # ------------------------------------------------------------ index, gather and scatter (issue 16)
    def check_index(self, index: CudaArray, size: int, allow_negative: bool, err: type, msg: str) -> CudaArray:
        """Flag (see check_errors) an index outside [0, size) (or [-size, size) with
        allow_negative, then returned wrapped into [0, size)); the message is the host's."""
        c = self.contiguous(index)
        if c.size:
            lo = -size if allow_negative else 0
            launch(K.check_range, c.size, c.buf, c.offset, c.size, lo, size, self._bad_flag())
            if allow_negative:
                c = self.elementwise("index_pos", [c, np.asarray(size, np.int64), np.asarray(1, np.int64)], c.shape,
                                     np.dtype(np.int64))
        return c

    @staticmethod
    def _dims3(shape: tuple, axis: int) -> tuple[int, int, int]:
        return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])

    def _cut(self, x: CudaArray, shape: tuple, axis: int | None) -> CudaArray:
        """x cut to `shape` in the dims other than axis (every dim for axis None), C-ordered."""
        if any(a != b for i, (a, b) in enumerate(zip(x.shape, shape)) if i != axis):
            sl = tuple(slice(None) if i == axis else slice(0, n) for i, n in enumerate(shape))
            x = self.basic_index(x, sl)
        return self.contiguous(x)

    def gather(self, x: CudaArray, axis: int, index: CudaArray) -> CudaArray:
        A, Ki, B = self._dims3(index.shape, axis)
        out = self.empty(index.shape, x.dtype)
        if out.size:
            xc, ic = self._cut(x, index.shape, axis), self.contiguous(index)
            launch(K.gather3, out.size, xc.buf, xc.offset, ic.buf, ic.offset, out.buf[: out.size], x.shape[axis], Ki, B,
                   self._bad_flag())
        return out

    def scatter(self, dst: CudaArray, axis: int, index: CudaArray, src: Any, reduce: str) -> None:
        """dst (C-ordered) scattered into along axis; prod (no atomic) runs on the host."""
        if not index.size:
            return
        if reduce == "prod":
            d = self.to_numpy(dst)
            s = src if np.ndim(src) == 0 else self.to_numpy(src)
            from ..cpu.backend import CpuBackend

            CpuBackend().scatter(d, axis, self.to_numpy(index), s, reduce)
            self.setitem(dst, Ellipsis, self.asarray(d))
            return
        A, Ki, B = self._dims3(index.shape, axis)
        sub = dst
        if any(a != b for i, (a, b) in enumerate(zip(dst.shape, index.shape)) if i != axis):
            sl = tuple(slice(None) if i == axis else slice(0, n) for i, n in enumerate(index.shape))
            sub = self.contiguous(self.basic_index(dst, sl))
        if np.ndim(src) == 0 and not isinstance(src, CudaArray):
            s, s_step = self.asarray(np.asarray(src, dst.dtype).reshape(1)), 0
        else:
            s, s_step = self._cut(self.astype(src, dst.dtype), index.shape, None), 1
        ic = self.contiguous(index)
        launch(K.scatter3, index.size, sub.buf, sub.offset, ic.buf, ic.offset, s.buf, s.offset, s_step, index.size,
               dst.shape[axis], Ki, B, {"assign": 0, "sum": 1, "amax": 3, "amin": 4}[reduce], self._bad_flag())
        if sub is not dst:
            self.setitem(dst, sl, sub)

    def index_select(self, x: CudaArray, axis: int, index: CudaArray) -> CudaArray:
        A, Kx, B = self._dims3(x.shape, axis)
        n = index.size
        out = self.empty(x.shape[:axis] + (n,) + x.shape[axis + 1:], x.dtype)
        if out.size:
            xc, ic = self.contiguous(x), self.contiguous(index)
            launch(K.index_select3, out.size, xc.buf, xc.offset, ic.buf, ic.offset, out.buf[: out.size], Kx, n, B,
                   self._bad_flag())
        return out

    def index_add_axis(self, dst: CudaArray, axis: int, index: CudaArray, src: CudaArray, alpha: Any) -> None:
        A, Kd, B = self._dims3(dst.shape, axis)
        n = index.size
        if A * n * B:
            s, ic = self.contiguous(self.astype(src, dst.dtype)), self.contiguous(index)
            launch(K.index_add3, A * n * B, dst.buf, dst.offset, ic.buf, ic.offset, s.buf, s.offset,
                   dst.dtype.type(alpha), A * n * B, Kd, n, B, self._bad_flag())

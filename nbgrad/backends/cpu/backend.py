"""The CPU backend: NumPy arrays for storage and layout, Numba kernels for math,
BLAS (NumPy's matmul) for matrix products."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..._dtype import promote_np
from .. import SharedBackend, with_ellipsis
from ..ownership import SoleHolder
from ..plan import (RowsPlan, argext_plan, contiguous_strides, diagonal_layout, element_positions, reduce_plan)
from .dispatch import PARALLEL_THRESHOLD_CHEAP
from .kernels import conv as CV
from .kernels import optim
from .kernels import elementwise as EW
from .kernels.index import gather3, index_add3, index_select3, scatter3, scatter_add_flat
from .kernels.layout import ascontiguous
from .kernels.norm import (layer_norm_rows, layer_norm_rows_affine, layer_norm_rows_affine_backward,
                           layer_norm_rows_backward)
from .kernels.order import searchsorted2, sort3
from .kernels.reduce import reduce_argext, reduce_sum, sum_flat_s
from .kernels.rows import logsumexp_rows, nll_rows, nll_rows_bw, softmax_rows, softmax_rows_backward
from .kernels.scan import cumulative3
from .operands import all_fortran, kernel_operands, simple_operands, tiled_operands

_BOOL = np.dtype(bool)
_BASE = SoleHolder("base", lambda: np.empty((2, 3)).T)  # references to a view's base array


class CpuBackend(SharedBackend):
    name = "cpu"
    device_type = "cpu"

    def asarray(self, a: np.ndarray) -> np.ndarray:
        return a

    def to_numpy(self, x: np.ndarray) -> np.ndarray:
        return x

    def to_dlpack(self, x: np.ndarray, **kwargs: Any) -> Any:
        return x.__dlpack__(**kwargs)

    def dlpack_device(self, x: np.ndarray) -> tuple:
        return x.__dlpack_device__()

    def host_buffer(self, x: np.ndarray) -> np.ndarray | None:
        """x's memory as a NumPy array where it is host memory (always, here), else None."""
        return x

    def random(self, shape: tuple, dtype: np.dtype, dist: str, low: int = 0, high: int = 1,
               host: Callable[[], np.ndarray] | None = None) -> np.ndarray:
        """Random values from nbgrad's NumPy stream: host() draws them (float64 or int64)."""
        return host().astype(dtype)

    def elementwise(self, op: str, operands: Sequence[Any], shape: tuple, dtype: np.dtype,
                    out: np.ndarray | None = None) -> np.ndarray:
        """op over operands broadcast to `shape`, computed in the operands' common dtype,
        written as `dtype` (into `out` when given: an operand may be `out` itself)."""
        if out is None:
            simple = simple_operands(operands, shape, dtype)
            if simple is not None:  # the common cases, decided in one pass
                args, two_d = simple
                res = np.empty(shape, dtype=dtype)
                if res.size:
                    EW.elementwise(op, args, res if two_d else res.reshape(-1))
                return res
        elif not (out.flags.c_contiguous and out.shape == tuple(shape) and out.dtype == dtype):
            out[...] = self.elementwise(op, operands, shape, dtype)
            return out
        elif operands[0] is out:  # e.g. SGD's p -= lr * d
            if len(operands) == 3:  # (a parameter: flat, without the general check)
                d, c = operands[1], operands[2]
                if (d.__class__ is np.ndarray and d.shape == out.shape and d.dtype == dtype and d.flags.c_contiguous
                        and c.__class__ is np.ndarray and c.ndim == 0 and c.dtype == dtype):
                    if out.size:
                        EW.elementwise_inplace(op, [d.reshape(-1), c], out.reshape(-1))
                    return out
            simple = simple_operands(operands, shape, dtype)
            if simple is not None and not simple[1]:
                if out.size:
                    EW.elementwise_inplace(op, simple[0][1:], out.reshape(-1))
                return out
        arrs = [o if type(o) is np.ndarray else np.asarray(o) for o in operands]
        first = 1 if op == "where" else 0  # where's condition does not take part in the dtype
        calc = arrs[first].dtype
        for a in arrs[first + 1:]:
            if a.dtype != calc:
                calc = promote_np(*[a.dtype for a in arrs[first:]])  # PyTorch's rule (float32 with int64: float32)
                break
        dts = [_BOOL] + [calc] * (len(arrs) - 1) if first else [calc] * len(arrs)
        if out is None and len(shape) > 1 and all_fortran(arrs, shape):
            # every operand Fortran-ordered (e.g. a weight gradient from a transposed product):
            # compute over the transposes, C-ordered, and return the result in Fortran order too
            return self.elementwise(op, [np.asarray(o).T for o in operands], shape[::-1], dtype).T
        out = np.empty(shape, dtype=dtype) if out is None else out
        tiled = tiled_operands(arrs, shape, dts) if len(shape) == 2 and out.size >= EW.parallel_threshold(op) else None
        if tiled is not None:
            EW.elementwise_tiled(op, tiled, out)
        elif out.size:
            args, rc = kernel_operands(arrs, shape, dts)
            if rc is None and arrs[0] is out and out.dtype == dts[0]:
                EW.elementwise_inplace(op, args[1:], args[0])  # e.g. SGD's p -= lr * d
            else:
                EW.elementwise(op, args, out.reshape(rc if rc else -1))
        return out

    def sum(self, x: np.ndarray, axes: tuple[int, ...], keepdim: bool) -> np.ndarray:
        nd = x.ndim
        if x.dtype.kind == "f" and x.size < PARALLEL_THRESHOLD_CHEAP and x.flags.c_contiguous:
            if len(axes) == nd:  # all of a small tensor (a loss)
                s = np.array(sum_flat_s(x.reshape(-1)), dtype=x.dtype)
                return s.reshape((1,) * nd) if keepdim else s
            if nd == 2 and axes in ((0,), (-2,)):  # the rows of a small matrix (a bias gradient)
                out = np.zeros((1, x.shape[1]), dtype=np.float64)
                reduce_sum(x.reshape(1, x.shape[0], x.shape[1]), out)
                return out.astype(x.dtype).reshape((1, -1) if keepdim else -1)
        acc = np.float64 if x.dtype.kind == "f" else np.int64
        p = reduce_plan(x.shape, axes)
        if p.perm is None:  # a contiguous block of axes: reduce the middle of (A, K, B) in place
            x3 = ascontiguous(x).reshape(p.outer, p.reduced, p.inner)
        else:
            x3 = np.ascontiguousarray(np.transpose(x, p.perm)).reshape(p.outer, p.reduced, 1)
        out = np.zeros((p.outer, p.inner), dtype=acc)
        reduce_sum(x3, out)  # the kernel accumulates in out's dtype (float64 / int64)
        return out.astype(x.dtype if x.dtype.kind == "f" else np.int64).reshape(p.keepdim_shape if keepdim else p.shape)

    def argext(self, x: np.ndarray, axis: int, keepdim: bool, want_max: bool) -> tuple[np.ndarray, np.ndarray]:
        A, Kr, B, oshape = argext_plan(x.shape, axis, keepdim)
        x3 = np.ascontiguousarray(x).reshape(A, Kr, B)
        vals = np.empty((A, B), dtype=x.dtype)
        idx = np.empty((A, B), dtype=np.int64)
        reduce_argext(x3, vals, idx, want_max)
        return vals.reshape(oshape), idx.reshape(oshape)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.matmul(a, b)

    def addmm(self, bias: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a @ b + bias, the bias added into the fresh product in place (one pass, no second array)."""
        out = np.matmul(a, b)
        if bias.dtype == out.dtype and out.size < PARALLEL_THRESHOLD_CHEAP:
            np.add(out, bias, out=out)
            return out
        return self.elementwise("add", [out, bias], out.shape, out.dtype)

    def _rows2(self, x: np.ndarray, axis: int) -> tuple[np.ndarray, RowsPlan]:
        """Fused._rows as a 2-D (rows, cols) array, as the CPU's row kernels take it."""
        x2, p = self._rows(x, axis)
        return x2.reshape(-1, p.cols), p

    def softmax(self, x: np.ndarray, axis: int, log: bool) -> np.ndarray:
        if x.size == 0:
            return x.copy()
        x2, p = self._rows2(x, axis)
        out = np.empty_like(x2)
        softmax_rows(x2, out, log)
        return self._unrows(out, p)

    def softmax_backward(self, y: np.ndarray, g: np.ndarray, axis: int, log: bool) -> np.ndarray:
        y2, p = self._rows2(y, axis)
        g2, _ = self._rows2(g.astype(y.dtype, copy=False), axis)
        out = np.empty_like(y2)
        softmax_rows_backward(y2, g2, out, log)
        return self._unrows(out, p)

    def logsumexp(self, x: np.ndarray, axis: int) -> np.ndarray:
        x2, p = self._rows2(x, axis)
        out = np.empty(x2.shape[0], dtype=x.dtype)
        logsumexp_rows(x2, out)
        return out.reshape(p.moved[:-1])

    def index_add(self, shape: tuple, index: Any, src: np.ndarray) -> np.ndarray:
        """Backward of x[index]: a zero array of `shape` with src added at index."""
        dst = np.zeros(shape, dtype=src.dtype)
        pos = element_positions(shape, contiguous_strides(shape), 0, index)
        pos = np.ascontiguousarray(np.broadcast_to(pos, src.shape)).reshape(-1)
        scatter_add_flat(dst.reshape(-1), pos, np.ascontiguousarray(src).reshape(-1))
        return dst

    # ------------------------------------------------------------ layout (NumPy views)
    def as_strided(self, x: np.ndarray, shape: tuple, strides: tuple, offset: int = 0) -> np.ndarray:
        """A view of x's memory (strides and offset in elements, the offset from x's first
        element): as_strided on a one-element view of x that starts at the offset."""
        it = x.itemsize
        if offset:
            x = np.lib.stride_tricks.as_strided(x, (2,), (offset * it,))[1:]
        return np.lib.stride_tricks.as_strided(x, tuple(shape), tuple(s * it for s in strides))

    def strides(self, x: np.ndarray) -> tuple:
        """x's strides in elements (NumPy's are in bytes)."""
        return tuple(s // x.itemsize for s in x.strides)

    # the named views: NumPy's own calls (contract.Fused's as_strided forms are for devices without them)
    def permute(self, x: np.ndarray, dims: tuple) -> np.ndarray:
        return x.transpose(dims)

    def swapaxes(self, x: np.ndarray, a: int, b: int) -> np.ndarray:
        return x.swapaxes(a, b)

    def broadcast_to(self, x: np.ndarray, shape: tuple) -> np.ndarray:
        return np.broadcast_to(x, shape)

    def expand_dims(self, x: np.ndarray, axis: int) -> np.ndarray:
        return np.expand_dims(x, axis)

    def squeeze(self, x: np.ndarray, axes: tuple) -> np.ndarray:
        return x.squeeze(axes)

    def basic_index(self, x: np.ndarray, index: Any) -> np.ndarray:
        return x[with_ellipsis(index)]

    def diagonal(self, x: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
        # (np.diagonal's view is read-only, and PyTorch's diagonal is writable)
        return self.as_strided(x, *diagonal_layout(x.shape, self.strides(x), offset, d1, d2))

    def reshape(self, x: np.ndarray, shape: tuple) -> np.ndarray:
        return x.reshape(shape)

    def is_contiguous(self, x: np.ndarray) -> bool:
        return bool(x.flags.c_contiguous)

    def contiguous(self, x: np.ndarray) -> np.ndarray:
        return ascontiguous(x)

    def copy(self, x: np.ndarray) -> np.ndarray:
        if x.size >= PARALLEL_THRESHOLD_CHEAP and not x.flags.c_contiguous:  # a large strided or broadcast view
            return self.elementwise("copy", [x], x.shape, x.dtype)
        return np.array(x, copy=True)

    def astype(self, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return x.astype(dtype, copy=False)

    def full(self, shape: tuple, value: Any, dtype: np.dtype) -> np.ndarray:
        return np.full(shape, value, dtype=dtype)

    def getitem(self, x: np.ndarray, index: Any) -> np.ndarray:
        return x[with_ellipsis(index)]

    def setitem(self, x: np.ndarray, index: Any, value: Any) -> None:
        x[index] = value

    def concatenate(self, arrays: Sequence[np.ndarray], axis: int) -> np.ndarray:
        return np.concatenate(arrays, axis=axis)

    def shares_memory(self, a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.shares_memory(a, b))

    def is_private(self, g: Any, other: Any = None) -> bool:
        """Nothing but g (and `other`, which may be a view of the same memory) refers to g's
        memory: an array a kernel just made, or a dense view of all of one (the transpose of a
        fresh product, a reshape of a fresh sum). The engine lets a leaf keep such a gradient as
        its .grad without a copy, as PyTorch's AccumulateGrad steals one whose use count is 1."""
        if type(g) is not np.ndarray:
            return False
        b = g.base
        if b is None:
            return True
        if type(b) is not np.ndarray or b.base is not None or g.size != b.size:
            return False
        extra = 0
        if type(other) is np.ndarray and (other is b or other.base is b):
            extra, other = 1, None  # other (b itself or a view of it) holds one; this frame's goes
        del b  # (SoleHolder.refs counts the references to g.base: none may stay in this frame)
        return (g.flags.c_contiguous or g.flags.f_contiguous) and _BASE.is_sole(g, extra)

    def scatter_along_axis(self, shape: tuple, index: np.ndarray, src: np.ndarray, axis: int) -> np.ndarray:
        """Backward of max/min along `axis`: zeros of `shape` with src put at index (keepdim layout)."""
        out = np.zeros(shape, dtype=src.dtype)
        np.put_along_axis(out, index, src, axis=axis)
        return out

    # ------------------------------------------------------------ index, gather and scatter (issue 16)
    def check_index(self, index: np.ndarray, size: int, allow_negative: bool, err: type, msg: str) -> np.ndarray:
        """Raise err(msg.format(i=<the first index out of range>)) for an index outside [0, size)
        (or [-size, size) with allow_negative, then returned wrapped into [0, size))."""
        if index.size:
            lo = -size if allow_negative else 0
            low = index.min()
            if low < lo or index.max() >= size:
                bad = (index < lo) | (index >= size)
                raise err(msg.format(i=int(index[bad].flat[0])))
            if low < 0:
                index = np.where(index < 0, index + size, index)
        return index

    @staticmethod
    def _dims3(shape: tuple, axis: int) -> tuple[int, int, int]:
        return int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1:]))

    @staticmethod
    def _sub(x: np.ndarray, shape: tuple, axis: int) -> np.ndarray:
        """x cut to `shape` in the dims other than axis (gather / scatter read and write there)."""
        if all(a == b for i, (a, b) in enumerate(zip(x.shape, shape)) if i != axis):
            return x
        return x[tuple(slice(None) if i == axis else slice(0, n) for i, n in enumerate(shape))]

    @staticmethod
    def _as3(x: np.ndarray, dims: tuple) -> np.ndarray | None:
        """A (A, K, B) view of x, or None where no view has that shape."""
        v = x.view()
        try:
            v.shape = dims
        except AttributeError:
            return None
        return v

    def gather(self, x: np.ndarray, axis: int, index: np.ndarray) -> np.ndarray:
        """out[..., k, ...] = x[..., index[..., k, ...], ...] along axis (index checked)."""
        A, Ki, B = self._dims3(index.shape, axis)
        out = np.empty(index.shape, dtype=x.dtype)
        if out.size:
            xs = self._sub(x, index.shape, axis)
            x3 = xs.reshape(A, x.shape[axis], B)
            gather3(x3, np.ascontiguousarray(index).reshape(A, Ki, B), out.reshape(A, Ki, B),
                    PARALLEL_THRESHOLD_CHEAP)
        return out

    _MODES = {"assign": 0, "sum": 1, "prod": 2, "amax": 3, "amin": 4}

    def scatter(self, dst: np.ndarray, axis: int, index: np.ndarray, src: Any, reduce: str) -> None:
        """dst[..., index[..., k, ...], ...] (reduce)= src[..., k, ...] in place (src an array at
        least index's shape, or one value)."""
        if not index.size:
            return
        A, Ki, B = self._dims3(index.shape, axis)
        if np.ndim(src) == 0:
            s3 = np.full((A, Ki, B), src, dtype=dst.dtype)
        else:
            s3 = np.ascontiguousarray(src[tuple(slice(0, n) for n in index.shape)], dtype=dst.dtype).reshape(A, Ki, B)
        sub = self._sub(dst, index.shape, axis)
        d3 = self._as3(sub, (A, dst.shape[axis], B))
        tmp = d3 is None
        if tmp:
            d3 = np.ascontiguousarray(sub).reshape(A, dst.shape[axis], B)
        scatter3(d3, np.ascontiguousarray(index).reshape(A, Ki, B), s3, self._MODES[reduce], PARALLEL_THRESHOLD_CHEAP)
        if tmp:
            sub[...] = d3.reshape(sub.shape)

    def index_select(self, x: np.ndarray, axis: int, index: np.ndarray) -> np.ndarray:
        A, K, B = self._dims3(x.shape, axis)
        n = index.size
        out = np.empty(x.shape[:axis] + (n,) + x.shape[axis + 1:], dtype=x.dtype)
        if out.size:
            index_select3(x.reshape(A, K, B), np.ascontiguousarray(index).reshape(-1), out.reshape(A, n, B),
                          PARALLEL_THRESHOLD_CHEAP)
        return out

    def index_add_axis(self, dst: np.ndarray, axis: int, index: np.ndarray, src: np.ndarray, alpha: Any) -> None:
        """dst[..., index[i], ...] += alpha * src[..., i, ...] in place (dst C-ordered)."""
        A, K, B = self._dims3(dst.shape, axis)
        n = index.size
        if A * n * B:
            s3 = np.ascontiguousarray(src, dtype=dst.dtype).reshape(A, n, B)
            index_add3(dst.reshape(A, K, B), np.ascontiguousarray(index).reshape(-1), s3, dst.dtype.type(alpha),
                       PARALLEL_THRESHOLD_CHEAP)

    def check_unit_interval(self, x: np.ndarray) -> None:
        """binary_cross_entropy's input check (nan fails it too, as in PyTorch)."""
        if x.size and not ((x >= 0) & (x <= 1)).all():
            raise RuntimeError("all elements of input should be between 0 and 1")

    def nll_forward(self, x: np.ndarray, t: np.ndarray, ignore_index: int,
                    weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows x (N, C), targets t (N,), class weights (C,) or None: per-row -w[t[i]] * x[i, t[i]]
        (0 where ignored) and the row's weight w[t[i]] (0 where ignored; 1 without weights)."""
        per = np.empty(x.shape[0], dtype=x.dtype)
        valid = np.empty(x.shape[0], dtype=x.dtype)
        w = np.empty(0, x.dtype) if weight is None else ascontiguous(weight.astype(x.dtype, copy=False))
        bad = nll_rows(ascontiguous(x), ascontiguous(t), ignore_index, w, per, valid)
        if bad >= 0:
            raise IndexError(f"Target {int(t[bad])} is out of bounds for {x.shape[1]} classes.")
        return per, valid

    def nll_backward(self, g: np.ndarray, t: np.ndarray, classes: int, ignore_index: int,
                     weight: np.ndarray | None = None, total: np.ndarray | None = None) -> np.ndarray:
        """Gradient of nll_forward's per-row loss: -g[i] * w[t[i]] at (i, t[i]), zeros elsewhere
        (g: N values or one), over total ('mean': the summed row weights) where given."""
        if total is not None:
            g = self.elementwise("div", [g, total], np.shape(g), g.dtype)
        out = np.zeros((t.shape[0], classes), dtype=g.dtype)
        w = np.empty(0, g.dtype) if weight is None else ascontiguous(weight.astype(g.dtype, copy=False))
        nll_rows_bw(ascontiguous(g).reshape(-1), ascontiguous(t), ignore_index, w, out)
        return out

    def sgd_step(self, x: np.ndarray, d: np.ndarray, buf: np.ndarray | None, *, lr: float, momentum: float,
                 dampening: float, weight_decay: float, nesterov: bool, maximize: bool, first: bool) -> None:
        """One SGD update of x (and of the momentum buffer buf) in place, x and buf contiguous."""
        optim.sgd(x, d, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first)

    def adam_step(self, x: np.ndarray, d: np.ndarray, m: np.ndarray, v: np.ndarray, *, step: int, lr: float,
                  beta1: float, beta2: float, eps: float, weight_decay: float, decoupled: bool, maximize: bool) -> None:
        """One Adam/AdamW update of x, m, v in place (x, m, v contiguous, as the optimizer makes them)."""
        optim.adam(x, d, m, v, step, lr, beta1, beta2, eps, weight_decay, decoupled, maximize)

    # ------------------------------------------------------------ convolution and pooling (issue 17)
    def im2col(self, x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
               out_hw: tuple) -> np.ndarray:
        """(N, C, H, W) -> (C * kh * kw, N * OH * OW): each output position's window (a column), 0 outside x."""
        return CV.im2col(ascontiguous(x), kernel, stride, padding, dilation, out_hw)

    def col2im(self, cols: np.ndarray, shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
               dilation: tuple, out_hw: tuple) -> np.ndarray:
        """im2col's adjoint: columns (C * kh * kw, N, OH * OW), any strides, summed back into an array of
        `shape` (N, C, H, W)."""
        return CV.col2im(cols, tuple(shape), kernel, stride, padding, dilation, out_hw)

    def max_pool2d(self, x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                   out_hw: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Each window's max and its flat index in its (H, W) plane (int64), as torch's indices."""
        return CV.max_pool2d(ascontiguous(x), kernel, stride, padding, dilation, out_hw)

    def plane_scatter(self, g: np.ndarray, idx: np.ndarray, shape: tuple) -> np.ndarray:
        """Zeros of `shape` (N, C, ...) with g[n, c, k] added at the flat position idx[n, c, k] of plane (n, c)."""
        return CV.plane_scatter(ascontiguous(g), ascontiguous(idx), tuple(shape))

    def plane_gather(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """out[n, c, k] = x[n, c].flat[idx[n, c, k]] (out shaped as idx)."""
        return CV.plane_gather(ascontiguous(x), ascontiguous(idx))
    # ------------------------------------------------------------ layers (issue 17)
    def layer_norm(self, x: np.ndarray, cols: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
        """Each run of the last `cols` elements of x normalised to zero mean and unit variance, and
        each row's 1 / sqrt(var + eps) (shape x.shape[:-n] flattened)."""
        y, rstd = layer_norm_rows(ascontiguous(x).reshape(-1, cols), eps)
        return y.reshape(x.shape), rstd

    def layer_norm_backward(self, g: np.ndarray, y: np.ndarray, rstd: np.ndarray, cols: int) -> np.ndarray:
        """layer_norm's input gradient from its output y: rstd * (g - mean(g) - y * mean(g * y)) by row."""
        g2 = ascontiguous(g.astype(y.dtype, copy=False)).reshape(-1, cols)
        return layer_norm_rows_backward(g2, ascontiguous(y).reshape(-1, cols),
                                        ascontiguous(rstd).reshape(-1)).reshape(y.shape)

    @staticmethod
    def _ln_vector(v: np.ndarray | None, cols: int, fill: float, dtype: np.dtype) -> np.ndarray:
        if v is None:
            return np.full(cols, fill, dtype)
        return ascontiguous(v.astype(dtype, copy=False)).reshape(cols)

    def layer_norm_affine(self, x: np.ndarray, w: np.ndarray | None, b: np.ndarray | None, cols: int,
                          eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """layer_norm's rows times w plus b (each of the `cols` normalised elements, or None) in one
        kernel, and each row's mean and 1 / sqrt(var + eps)."""
        x2 = ascontiguous(x).reshape(-1, cols)
        out, mean, rstd = layer_norm_rows_affine(x2, self._ln_vector(w, cols, 1.0, x.dtype),
                                                 self._ln_vector(b, cols, 0.0, x.dtype), eps)
        return out.reshape(x.shape), mean, rstd

    def layer_norm_affine_backward(self, g: np.ndarray, x: np.ndarray, w: np.ndarray | None, mean: np.ndarray,
                                   rstd: np.ndarray, cols: int, need_input: bool
                                   ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """layer_norm_affine's (grad_input or None, grad_weight, grad_bias), in one pass over (g, x)."""
        g2 = ascontiguous(g.astype(x.dtype, copy=False)).reshape(-1, cols)
        gi, gw, gb = layer_norm_rows_affine_backward(
            g2, ascontiguous(x).reshape(-1, cols), self._ln_vector(w, cols, 1.0, x.dtype),
            ascontiguous(mean).reshape(-1), ascontiguous(rstd).reshape(-1), need_input)
        return (None if gi is None else gi.reshape(x.shape)), gw, gb

    # ------------------------------------------------------------ scans and order (issue 16)
    def cumulative(self, x: np.ndarray, axis: int, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
        """The running sum / prod / max / min / logsumexp of x along axis, and for max / min the
        int64 index of each running extreme (ties and NaN: the later element; a number never replaces NaN)."""
        v, i = cumulative3(ascontiguous(x).reshape(self._dims3(x.shape, axis)), kind)
        return v.reshape(x.shape), (None if i is None else i.reshape(x.shape))

    def sort(self, x: np.ndarray, axis: int, descending: bool, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """x stably sorted along axis (NaN as the largest), and the int64 positions the values came
        from; with k, only the first k of that order (a partial selection where k is small)."""
        v, i = sort3(ascontiguous(x).reshape(self._dims3(x.shape, axis)), descending, k)
        shape = x.shape[:axis] + (v.shape[1],) + x.shape[axis + 1:]
        return v.reshape(shape), i.reshape(shape)

    def searchsorted(self, seq: np.ndarray, values: np.ndarray, right: bool) -> np.ndarray:
        """seq (R or 1, Ks) rows sorted ascending, values (R, N) of seq's dtype: for each value the
        first position i of its row with seq[i] >= value (> with right), int64 (R, N)."""
        return searchsorted2(ascontiguous(seq), ascontiguous(values), right)

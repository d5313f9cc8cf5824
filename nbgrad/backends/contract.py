"""The backend contract: the primitives every device implements, and the fused ops it may add.

`PRIMITIVES` names what a device must provide (transfer, elementwise, reductions, matmul,
layout, indexing, random; see `Backend` in `backends/__init__.py` for their signatures). The
fused ops (row softmax, the losses' row kernels, layer norm, the optimizers' steps, ...) are
methods of `Fused`, each a generic fallback written with the primitives only: a device class
inherits `Fused` and overrides a fallback where it has a faster kernel, so a new device works
before it has any (tests/test_backend_contract.py runs a model on a device that has none).

Copies, casts, fills, reshapes and concatenation are fused ops too, made from `elementwise`'s
identity op (`copy`), `as_strided` and `setitem`.

Views cross the interface as numbers, never as NumPy functions: plan.py computes a view's
(shape, strides, offset) from its base's shape and `strides(x)` (in elements, whatever the
device's own unit), and `as_strided(x, shape, strides, offset)` makes it (offset in elements
from x's first element). The named view ops of `Fused` (permute, broadcast_to, basic_index,
...) are written so; a host device overrides them with NumPy's own calls.

The kernel families are fused ops too: convolution and pooling (im2col, col2im, max_pool2d,
plane_scatter / plane_gather) plan their positions on the host from the shapes alone and
gather / scatter them on the device; index_add_axis is a scatter-add; check_index, the scans
(cumulative) and order (sort, searchsorted) make a host round trip through NumPy, exact on any
device and slow (the CPU and CUDA backends override them all with kernels)."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from ..backends.plan import (broadcast_layout, contiguous_strides, diagonal_layout, expand_dims_layout, index_layout,
                             is_c_contiguous, permute_layout, reshape_strides, resolve_shape, rows_plan, squeeze_layout,
                             sum_to_axes, swapaxes_layout, RowsPlan)
from .shared.optim import adam_constants

PRIMITIVES = (
    # transfer and random numbers
    "asarray", "to_numpy", "host_buffer", "random",
    # math: elementwise ops of backends/shared/scalar.py, reductions, products
    "elementwise", "sum", "argext", "matmul",
    # layout
    "as_strided", "strides", "shares_memory", "is_private",
    # indexing
    "getitem", "setitem", "gather", "scatter", "index_add",
)


def _all(x: Any) -> tuple[int, ...]:
    return tuple(range(x.ndim))


_I64 = np.dtype(np.int64)
_BOOL = np.dtype(bool)


@lru_cache(maxsize=64)
def _window_planes(H: int, W: int, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                   out_hw: tuple) -> np.ndarray:
    """(kh * kw, OH * OW) int64: the flat position h * W + w in its (H, W) plane of each window
    element (row: the offset in the window, column: the output position), -1 outside the plane."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (OH, OW) = kernel, stride, padding, dilation, out_hw
    h = np.arange(OH)[None, None, :, None] * sh - ph + np.arange(kh)[:, None, None, None] * dh
    w = np.arange(OW)[None, None, None, :] * sw - pw + np.arange(kw)[None, :, None, None] * dw
    inside = (h >= 0) & (h < H) & (w >= 0) & (w < W)
    t = np.where(inside, h * W + w, -1).astype(np.int64).reshape(kh * kw, OH * OW)
    t.flags.writeable = False
    return t


@lru_cache(maxsize=64)
def _pool_windows(H: int, W: int, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                  out_hw: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Each window's slots (OH * OW, kh * kw), those inside the plane first in window order, then
    those outside: their flat positions in the plane (H * W outside: a padding element after the
    plane), and the same with -1 outside (torch's index)."""
    t = _window_planes(H, W, kernel, stride, padding, dilation, out_hw).T
    plane = np.take_along_axis(t, np.argsort(t < 0, axis=1, kind="stable"), 1)
    pos = np.where(plane < 0, H * W, plane)
    plane.flags.writeable = pos.flags.writeable = False
    return pos, plane


def _lowest(dtype: np.dtype) -> Any:
    """A value no element of `dtype` is below (max pooling's padding)."""
    return -np.inf if dtype.kind == "f" else (np.iinfo(dtype).min if dtype.kind in "iu" else False)


class Fused:
    """The fused ops, each written with the primitives (a device overrides them with kernels).
    Arrays are the device's own; shapes and axes are planned by the caller."""

    foreach = False  # sgd_foreach updates many tensors in one launch (CUDA)
    can_capture = False  # graph capture (CUDA graphs): capturable optimizers need it
    capturing = False  # a capture is in progress

    # the ops below call these primitives
    elementwise: Any
    sum: Any
    argext: Any
    matmul: Any
    gather: Any
    scatter: Any
    to_numpy: Any
    asarray: Any
    getitem: Any
    setitem: Any
    as_strided: Any
    strides: Any

    def _ew(self, op: str, *xs: Any, shape: tuple | None = None, dtype: Any = None, out: Any = None) -> Any:
        """op over xs (arrays, or NumPy scalars after the first), broadcast together unless
        `shape` is given, written as `dtype` (default: the first operand's)."""
        shape = tuple(np.broadcast_shapes(*(np.shape(x) for x in xs))) if shape is None else shape
        return self.elementwise(op, list(xs), shape, xs[0].dtype if dtype is None else dtype, out=out)

    def sum_to(self, x: Any, shape: tuple) -> Any:
        """Reduce a broadcast gradient back to `shape`."""
        shape = tuple(shape)
        if x.shape == shape:
            return x
        axes = sum_to_axes(x.shape, shape)
        return self.reshape(self.sum(x, axes, keepdim=True) if axes else x, shape)

    # ------------------------------------------------------------ copies, casts, fills and reshapes
    def is_contiguous(self, x: Any) -> bool:
        """x is laid out in C order."""
        return is_c_contiguous(tuple(x.shape), self.strides(x))

    def copy(self, x: Any) -> Any:
        """A C-ordered copy of x (the elementwise identity)."""
        return self.elementwise("copy", [x], tuple(x.shape), x.dtype)

    def contiguous(self, x: Any) -> Any:
        return x if self.is_contiguous(x) else self.copy(x)

    def astype(self, x: Any, dtype: Any) -> Any:
        dtype = np.dtype(dtype)
        return x if x.dtype == dtype else self.elementwise("copy", [x], tuple(x.shape), dtype)

    def full(self, shape: tuple, value: Any, dtype: Any) -> Any:
        return self.elementwise("copy", [np.asarray(value, dtype=dtype)], tuple(shape), np.dtype(dtype))

    def reshape(self, x: Any, shape: tuple) -> Any:
        """x as `shape` (a -1 resolved): a view where the strides allow one, else a copy's view."""
        shape = resolve_shape(math.prod(x.shape), tuple(shape))
        st = reshape_strides(tuple(x.shape), self.strides(x), shape)
        if st is None:
            x, st = self.copy(x), contiguous_strides(shape)
        return self.as_strided(x, shape, st, 0)

    def _unfilled(self, shape: tuple, dtype: Any) -> Any:
        """An array that the caller writes whole (a device that can allocate without a fill overrides it)."""
        return self.full(shape, 0, dtype)

    def concatenate(self, arrays: Sequence[Any], axis: int) -> Any:
        """The arrays joined along axis (same dtype; the other dims equal)."""
        shape = list(arrays[0].shape)
        shape[axis] = sum(a.shape[axis] for a in arrays)
        out = self._unfilled(tuple(shape), arrays[0].dtype)
        start = 0
        for a in arrays:
            self.setitem(out, (slice(None),) * axis + (slice(start, start + a.shape[axis]),), a)
            start += a.shape[axis]
        return out

    def _rows(self, x: Any, axis: int) -> tuple[Any, RowsPlan]:
        """x with `axis` moved last, C-ordered (rows of p.cols values in memory), and the plan p
        that _unrows undoes it by."""
        p = rows_plan(x.shape, axis)
        return self.contiguous(x if p.perm is None else self.permute(x, p.perm)), p

    def _unrows(self, out: Any, p: RowsPlan) -> Any:
        """A row kernel's output (x's size, rows of p.cols) in x's layout again: a view."""
        out = self.reshape(out, p.moved)
        return out if p.inverse is None else self.permute(out, p.inverse)

    # ------------------------------------------------------------ views (plan.py's layouts, then as_strided)
    def permute(self, x: Any, dims: tuple) -> Any:
        """np.transpose(x, dims)."""
        return self.as_strided(x, *permute_layout(x.shape, self.strides(x), tuple(dims)))

    def swapaxes(self, x: Any, a: int, b: int) -> Any:
        """np.swapaxes(x, a, b) (dims in [-ndim, ndim))."""
        return self.as_strided(x, *swapaxes_layout(x.shape, self.strides(x), a % x.ndim, b % x.ndim))

    def broadcast_to(self, x: Any, shape: tuple) -> Any:
        """np.broadcast_to(x, shape), and its ValueError."""
        return self.as_strided(x, *broadcast_layout(x.shape, self.strides(x), tuple(shape)))

    def expand_dims(self, x: Any, axis: int) -> Any:
        """np.expand_dims(x, axis) for axis in [0, ndim]."""
        return self.as_strided(x, *expand_dims_layout(x.shape, self.strides(x), axis))

    def squeeze(self, x: Any, axes: tuple) -> Any:
        """np.squeeze(x, axes) for dims in [0, ndim) of size 1."""
        return self.as_strided(x, *squeeze_layout(x.shape, self.strides(x), tuple(axes)))

    def basic_index(self, x: Any, index: Any) -> Any:
        """x[index] for a basic index (integers, slices, None, Ellipsis), always a view (0-d for
        a single element)."""
        return self.as_strided(x, *index_layout(x.shape, self.strides(x), index))

    def diagonal(self, x: Any, offset: int, d1: int, d2: int) -> Any:
        """np.diagonal(x, offset, d1, d2) for distinct dims in [0, ndim), but writable."""
        return self.as_strided(x, *diagonal_layout(x.shape, self.strides(x), offset, d1, d2))

    # ------------------------------------------------------------ products
    def addmm(self, bias: Any, a: Any, b: Any) -> Any:
        """a @ b + bias (2-D; bias one value per column)."""
        mm = self.matmul(a, b)
        return self.elementwise("add", [mm, bias], mm.shape, mm.dtype)

    # ------------------------------------------------------------ rows (softmax family)
    def softmax(self, x: Any, axis: int, log: bool) -> Any:
        if x.size == 0:
            return self.copy(x)
        z = self._ew("sub", x, self._safe_max(x, axis))
        e = self._ew("exp", z)
        s = self.sum(e, (axis,), True)
        return self._ew("sub", z, self._ew("log", s)) if log else self._ew("div", e, s)

    def softmax_backward(self, y: Any, g: Any, axis: int, log: bool) -> Any:
        """The input gradient of softmax (log: log_softmax) from its output y and upstream g."""
        g = self.astype(g, y.dtype) if g.dtype != y.dtype else g
        if log:
            return self._ew("sub_mul", g, self._ew("exp", y), self.sum(g, (axis,), True))
        gy = self._ew("mul", g, y)
        return self._ew("sub_mul", gy, y, self.sum(gy, (axis,), True))

    def logsumexp(self, x: Any, axis: int) -> Any:
        axis %= x.ndim
        m = self._safe_max(x, axis)
        s = self.sum(self._ew("exp", self._ew("sub", x, m)), (axis,), True)
        out = self._ew("add", self._ew("log", s), m)
        return self.reshape(out, out.shape[:axis] + out.shape[axis + 1:])

    def _safe_max(self, x: Any, axis: int) -> Any:
        """The max along axis (keepdim), 0 where it is not finite (all -inf rows stay -inf, nan stays nan)."""
        m = self.argext(x, axis, True, True)[0]
        return self._ew("where", self._ew("isfinite", m, dtype=np.dtype(bool)), m, np.asarray(0, x.dtype),
                        dtype=x.dtype)

    # ------------------------------------------------------------ losses
    def check_unit_interval(self, x: Any) -> None:
        """binary_cross_entropy's input check (nan fails it too, as in PyTorch)."""
        a = self.to_numpy(x)
        if a.size and not ((a >= 0) & (a <= 1)).all():
            raise RuntimeError("all elements of input should be between 0 and 1")

    def _nll_rows(self, t: Any, classes: int, ignore_index: int, weight: Any, dtype: Any) -> tuple[Any, Any]:
        """Each row's target as a gather index (0 where ignored, bounds checked) and its weight
        (w[t], or 1; 0 where ignored)."""
        keep = self._ew("ne", t, np.asarray(ignore_index, t.dtype), dtype=np.dtype(bool))
        safe = self._ew("where", keep, t, np.asarray(0, t.dtype), dtype=t.dtype)
        self.check_index(safe, classes, False, IndexError, "Target {i} is out of bounds for %d classes." % classes)
        w = (self.full(t.shape, 1, dtype) if weight is None
             else self.gather(self.astype(weight, dtype), 0, self.reshape(safe, (-1,))))
        return safe, self._ew("where", keep, w, np.asarray(0, dtype), dtype=dtype)

    def nll_forward(self, x: Any, t: Any, ignore_index: int, weight: Any = None) -> tuple[Any, Any]:
        """Rows x (N, C), targets t (N,): per-row -w[t[i]] * x[i, t[i]] (0 where ignored) and each
        row's weight (0 where ignored; 1 without weights)."""
        safe, w = self._nll_rows(t, x.shape[1], ignore_index, weight, x.dtype)
        picked = self.reshape(self.gather(x, 1, self.reshape(safe, (-1, 1))), (-1,))
        return self._ew("mul", self._ew("neg", picked), w), w

    def log_softmax_nll(self, x: Any, t: Any, ignore_index: int, weight: Any = None) -> tuple[Any, ...]:
        """cross_entropy's forward: log_softmax of rows x (N, C), then nll_forward on it."""
        logp = self.softmax(x, 1, True)
        return (logp, *self.nll_forward(logp, t, ignore_index, weight))

    def nll_reduce(self, per: Any, valid: Any, mean: bool) -> tuple[Any, Any]:
        """The 'sum' / 'mean' of per-row losses, and the summed row weights."""
        n = self.sum(valid, _all(valid), False)
        out = self.sum(per, _all(per), False)
        return (self.elementwise("div", [out, n], (), out.dtype) if mean else out), n

    def nll_backward(self, g: Any, t: Any, classes: int, ignore_index: int, weight: Any = None,
                     total: Any = None) -> Any:
        """Gradient of nll_forward's per-row loss: -g[i] * w[t[i]] at (i, t[i]), zeros elsewhere
        (g: N values or one), over total ('mean') where given."""
        if total is not None:
            g = self.elementwise("div", [g, total], tuple(g.shape), g.dtype)
        safe, w = self._nll_rows(t, classes, ignore_index, weight, g.dtype)
        src = self._ew("mul", self._ew("neg", w), self.reshape(g, (-1,)) if g.ndim else g, shape=w.shape)
        out = self.full((t.shape[0], classes), 0, g.dtype)
        self.scatter(out, 1, self.reshape(safe, (-1, 1)), self.reshape(src, (-1, 1)), "assign")
        return out

    # ------------------------------------------------------------ layers
    def layer_norm(self, x: Any, cols: int, eps: float) -> tuple[Any, Any]:
        """Each run of the last `cols` elements normalised (zero mean, unit variance), and each
        row's 1 / sqrt(var + eps)."""
        x2 = self.reshape(x, (-1, cols))
        n = np.asarray(cols, x.dtype)
        xc = self._ew("sub", x2, self._ew("div", self.sum(x2, (1,), True), n))
        var = self._ew("div", self.sum(self._ew("mul", xc, xc), (1,), True), n)
        rstd = self._ew("rsqrt", self._ew("add", var, np.asarray(eps, x.dtype)))
        return self.reshape(self._ew("mul", xc, rstd), x.shape), self.reshape(rstd, (-1,))

    def layer_norm_backward(self, g: Any, y: Any, rstd: Any, cols: int) -> Any:
        """rstd * (g - mean(g) - y * mean(g * y)) by row."""
        g2 = self.reshape(self.astype(g, y.dtype) if g.dtype != y.dtype else g, (-1, cols))
        y2 = self.reshape(y, (-1, cols))
        n = np.asarray(cols, y.dtype)
        mg = self._ew("div", self.sum(g2, (1,), True), n)
        mgy = self._ew("div", self.sum(self._ew("mul", g2, y2), (1,), True), n)
        d = self._ew("sub_mul", self._ew("sub", g2, mg), y2, mgy)
        return self.reshape(self._ew("mul", d, self.reshape(rstd, (-1, 1))), y.shape)

    def layer_norm_affine(self, x: Any, w: Any, b: Any, cols: int, eps: float) -> tuple[Any, Any, Any]:
        """layer_norm's rows times w plus b (each of `cols` elements, or None), and each row's mean
        and 1 / sqrt(var + eps)."""
        x2 = self.reshape(x, (-1, cols))
        n = np.asarray(cols, x.dtype)
        mean = self._ew("div", self.sum(x2, (1,), True), n)
        xc = self._ew("sub", x2, mean)
        var = self._ew("div", self.sum(self._ew("mul", xc, xc), (1,), True), n)
        rstd = self._ew("rsqrt", self._ew("add", var, np.asarray(eps, x.dtype)))
        y = self._ew("mul", xc, rstd)
        if w is not None:
            y = self._ew("mul", y, self.reshape(self.astype(w, x.dtype), (cols,)))
        if b is not None:
            y = self._ew("add", y, self.reshape(self.astype(b, x.dtype), (cols,)))
        return self.reshape(y, x.shape), self.reshape(mean, (-1,)), self.reshape(rstd, (-1,))

    def layer_norm_affine_backward(self, g: Any, x: Any, w: Any, mean: Any, rstd: Any, cols: int,
                                   need_input: bool) -> tuple[Any, Any, Any]:
        """layer_norm_affine's (grad_input or None, grad_weight, grad_bias) from the upstream g:
        layer_norm_backward of g * w, and the column sums of g * xhat and of g."""
        g2 = self.reshape(self.astype(g, x.dtype) if g.dtype != x.dtype else g, (-1, cols))
        x2 = self.reshape(x, (-1, cols))
        r = self.reshape(rstd, (-1, 1))
        xhat = self._ew("mul", self._ew("sub", x2, self.reshape(mean, (-1, 1))), r)
        gw = self.sum(self._ew("mul", g2, xhat), (0,), False)
        gb = self.sum(g2, (0,), False)
        gi = None
        if need_input:
            gy = g2 if w is None else self._ew("mul", g2, self.reshape(self.astype(w, x.dtype), (cols,)))
            gi = self.reshape(self.layer_norm_backward(gy, xhat, rstd, cols), x.shape)
        return gi, gw, gb

    # ------------------------------------------------------------ optimizers (in place)
    def sgd_step(self, x: Any, d: Any, buf: Any, *, lr: float, momentum: float, dampening: float,
                 weight_decay: float, nesterov: bool, maximize: bool, first: bool) -> None:
        """One SGD update of x (and of the momentum buffer buf) in place, in PyTorch's order."""
        dt, shape = x.dtype, x.shape
        c = lambda v: np.asarray(v, dt)  # noqa: E731
        if maximize:
            d = self._ew("neg", d, shape=shape, dtype=dt)
        if weight_decay:
            d = self._ew("add", d, self._ew("mul", x, c(weight_decay)), shape=shape, dtype=dt)
        if momentum:
            if first:
                self.elementwise("mul", [d, c(1)], shape, dt, out=buf)
            else:
                self.elementwise("add", [self._ew("mul", buf, c(momentum)), self._ew("mul", d, c(1 - dampening))],
                                 shape, dt, out=buf)
            d = self._ew("add", d, self._ew("mul", buf, c(momentum)), shape=shape, dtype=dt) if nesterov else buf
        self.elementwise("sub_mul", [x, d, c(lr)], shape, dt, out=x)

    def sgd_foreach(self, xs: Sequence[Any], ds: Sequence[Any], bufs: Sequence[Any], firsts: Sequence[bool],
                    **hyper: Any) -> None:
        """sgd_step on each tensor (a device with `foreach` does them in one launch)."""
        for x, d, b, f in zip(xs, ds, bufs, firsts):
            self.sgd_step(x, d, b, first=f, **hyper)

    def adam_step(self, x: Any, d: Any, m: Any, v: Any, *, step: Any, lr: float, beta1: float, beta2: float,
                  eps: float, weight_decay: float, decoupled: bool, maximize: bool) -> None:
        """One Adam / AdamW update of x, m, v in place, in PyTorch's single-tensor order."""
        dt, shape = x.dtype, x.shape
        c = lambda v: np.asarray(v, dt)  # noqa: E731
        n = step if isinstance(step, (int, float)) else float(self.to_numpy(step))
        c_decay, step_size, sqrt_bc2 = adam_constants(n, lr, beta1, beta2, weight_decay, decoupled)
        if maximize:
            d = self._ew("neg", d, shape=shape, dtype=dt)
        if decoupled:
            self.elementwise("mul", [x, c(c_decay)], shape, dt, out=x)
        elif weight_decay:
            d = self._ew("add", d, self._ew("mul", x, c(weight_decay)), shape=shape, dtype=dt)
        self.elementwise("add", [m, self._ew("mul", self._ew("sub", d, m, shape=shape, dtype=dt), c(1 - beta1))],
                         shape, dt, out=m)
        self.elementwise("add", [self._ew("mul", v, c(beta2)), self._ew("mul", self._ew("mul", d, d), c(1 - beta2))],
                         shape, dt, out=v)
        denom = self._ew("add", self._ew("div", self._ew("sqrt", v), c(sqrt_bc2)), c(eps))
        self.elementwise("sub_mul", [x, self._ew("div", m, denom), c(step_size)], shape, dt, out=x)

    # ------------------------------------------------------------ gradients of indexing
    def scatter_along_axis(self, shape: tuple, index: Any, src: Any, axis: int) -> Any:
        """Backward of max / min along axis: zeros of `shape` with src put at index (keepdim layout)."""
        out = self.full(tuple(shape), 0, src.dtype)
        self.scatter(out, axis, index, src, "assign")
        return out

    def index_select(self, x: Any, axis: int, index: Any) -> Any:
        """x's entries along axis at the int64 positions of a 1-D index (checked by the caller)."""
        shape = tuple(index.shape[0] if i == axis else n for i, n in enumerate(x.shape))
        view = (1,) * axis + (index.shape[0],) + (1,) * (x.ndim - axis - 1)
        full = self._ew("add", self.reshape(index, view), self.full(shape, 0, index.dtype), shape=shape)
        return self.gather(x, axis, full)

    # ------------------------------------------------------------ kernel families (issue 15)
    # Convolution and pooling: the positions are planned on the host from the shapes alone and
    # moved to the device; gather / scatter do the work. Scans and order: a host round trip.

    def _column_positions(self, N: int, C: int, P: int, t: np.ndarray) -> tuple[Any, bool]:
        """im2col's source in x flattened (C * kh * kw * N * OH * OW positions, int64), and whether
        a window reaches outside the plane (those read position N * C * P: a zero after x)."""
        K, L = t.shape
        shape = (C, K, N, L)
        base = self.asarray(((np.arange(N, dtype=np.int64)[None, :] * C + np.arange(C)[:, None]) * P).reshape(C, 1, N, 1))
        outside = bool((t < 0).any())
        pos = self._ew("add", self.asarray(np.maximum(t, 0).reshape(1, K, 1, L)), base, shape=shape)
        if outside:
            pos = self._ew("where", self.asarray((t >= 0).reshape(1, K, 1, L)), pos, np.asarray(N * C * P, _I64),
                           shape=shape, dtype=_I64)
        return self.reshape(pos, (-1,)), outside

    def im2col(self, x: Any, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, out_hw: tuple) -> Any:
        """(N, C, H, W) -> (C * kh * kw, N * OH * OW): each output position's window (a column), 0 outside x."""
        N, C, H, W = x.shape
        t = _window_planes(H, W, tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), tuple(out_hw))
        K, L = t.shape
        if not (C * K * N * L):
            return self.full((C * K, N * L), 0, x.dtype)
        pos, outside = self._column_positions(N, C, H * W, t)
        flat = self.reshape(x, (-1,))
        if outside:
            flat = self.concatenate([flat, self.full((1,), 0, x.dtype)], 0)
        return self.reshape(self.gather(flat, 0, pos), (C * K, N * L))

    def col2im(self, cols: Any, shape: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
               out_hw: tuple) -> Any:
        """im2col's adjoint: columns (C * kh * kw, N, OH * OW), any strides, summed back into an array of
        `shape` (N, C, H, W)."""
        N, C, H, W = shape = tuple(shape)
        t = _window_planes(H, W, tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), tuple(out_hw))
        M = N * C * H * W
        if not (cols.size and M):
            return self.full(shape, 0, cols.dtype)
        pos, outside = self._column_positions(N, C, H * W, t)
        out = self.full((M + outside,), 0, cols.dtype)
        self.scatter(out, 0, pos, self.reshape(cols, (-1,)), "sum")
        return self.reshape(self.getitem(out, (slice(0, M),)) if outside else out, shape)

    def max_pool2d(self, x: Any, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                   out_hw: tuple) -> tuple[Any, Any]:
        """Each window's max and its flat index in its (H, W) plane (int64), as torch's indices: the
        first max, or the last nan; (lowest value, -1) for a window outside the plane."""
        N, C, H, W = x.shape
        oshape = (N, C) + tuple(out_hw)
        pos, plane = _pool_windows(H, W, tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), tuple(out_hw))
        L, K = pos.shape
        NC = N * C
        if not (NC * L):
            return self.full(oshape, 0, x.dtype), self.full(oshape, 0, _I64)
        x2 = self.reshape(x, (NC, H * W))
        if (plane < 0).any():
            x2 = self.concatenate([x2, self.full((NC, 1), _lowest(x.dtype), x.dtype)], 1)
        at = self._ew("add", self.asarray(pos.reshape(1, L * K)), self.full((NC, 1), 0, _I64))
        win = self.reshape(self.gather(x2, 1, at), (NC, L, K))
        vals, k = self.argext(win, 2, False, True)  # the first max (the slots inside come first), or the first nan
        if x.dtype.kind == "f":
            slot = self._ew("where", self._ew("isnan", win, dtype=_BOOL), self.asarray(np.arange(1, K + 1, dtype=np.int64)),
                            np.asarray(0, _I64), dtype=_I64)
            last_nan = self.argext(slot, 2, False, True)[1]
            k = self._ew("where", self._ew("isnan", vals, dtype=_BOOL), last_nan, k, dtype=_I64)
        at = self._ew("add", k, self.asarray(np.arange(L, dtype=np.int64) * K))
        idx = self.gather(self.asarray(plane.reshape(-1)), 0, self.reshape(at, (-1,)))
        return self.reshape(vals, oshape), self.reshape(idx, oshape)

    def plane_scatter(self, g: Any, idx: Any, shape: tuple) -> Any:
        """Zeros of `shape` (N, C, ...) with g[n, c, k] added at the flat position idx[n, c, k] of plane (n, c)."""
        shape = tuple(shape)
        N, C = shape[:2]
        planes = N * C
        out = self.full((N, C, int(np.prod(shape[2:]))), 0, g.dtype)
        if g.size and planes:
            k = g.size // planes
            self.scatter(out, 2, self.reshape(idx, (N, C, k)), self.reshape(g, (N, C, k)), "sum")
        return self.reshape(out, shape)

    def plane_gather(self, x: Any, idx: Any) -> Any:
        """out[n, c, k] = x[n, c].flat[idx[n, c, k]] (out shaped as idx)."""
        N, C = x.shape[:2]
        planes = N * C
        if not (idx.size and planes):
            return self.full(tuple(idx.shape), 0, x.dtype)
        x3 = self.reshape(x, (N, C, x.size // planes))
        return self.reshape(self.gather(x3, 2, self.reshape(idx, (N, C, idx.size // planes))), tuple(idx.shape))

    def index_add_axis(self, dst: Any, axis: int, index: Any, src: Any, alpha: Any) -> None:
        """dst[..., index[i], ...] += alpha * src[..., i, ...] in place (dst C-ordered; src shaped as
        dst but index.size along axis): a scatter-add of src in dst's dtype."""
        shape = tuple(src.shape)
        if not (int(np.prod(shape)) and dst.size):
            return
        s = self.astype(src, dst.dtype) if src.dtype != dst.dtype else src
        if alpha != 1:
            s = self._ew("mul", s, np.asarray(alpha, dst.dtype))
        view = (1,) * axis + (index.size,) + (1,) * (len(shape) - axis - 1)
        full = self._ew("add", self.reshape(index, view), self.full(shape, 0, index.dtype), shape=shape)
        self.scatter(dst, axis, full, s, "sum")

    def check_index(self, index: Any, size: int, allow_negative: bool, err: type, msg: str) -> Any:
        """Raise err(msg.format(i=<the first index out of range>)) for an index outside [0, size)
        (or [-size, size) with allow_negative, then returned wrapped into [0, size)). Reads the
        index on the host (a device overrides this to check without waiting)."""
        if not index.size:
            return index
        a = self.to_numpy(index)
        lo = -size if allow_negative else 0
        low = a.min()
        if low < lo or a.max() >= size:
            raise err(msg.format(i=int(a[(a < lo) | (a >= size)].flat[0])))
        if low < 0:
            neg = self._ew("lt", index, np.asarray(0, index.dtype), dtype=_BOOL)
            return self._ew("where", neg, self._ew("add", index, np.asarray(size, index.dtype)), index,
                            dtype=index.dtype)
        return index

    def cumulative(self, x: Any, axis: int, kind: str) -> tuple[Any, Any]:
        """The running sum / prod / max / min / logsumexp of x along axis, and for max / min the
        int64 index of each running extreme (ties and NaN: the later element; a number never
        replaces NaN). Sums and products accumulate in float64 (int64 for integers). A host round
        trip through NumPy: correct on any device, not fast (a device overrides it with a kernel)."""
        a = self.to_numpy(x)
        idx = None
        if kind in ("sum", "prod"):
            acc = a.astype(np.float64 if a.dtype.kind == "f" else np.int64)
            v = (np.cumsum if kind == "sum" else np.cumprod)(acc, axis=axis).astype(a.dtype)
        elif kind == "logsumexp":
            with np.errstate(invalid="ignore"):  # (nan in, nan out)
                v = np.logaddexp.accumulate(a, axis=axis).astype(a.dtype, copy=False)
        else:
            run = (np.maximum if kind == "max" else np.minimum).accumulate(a, axis=axis)
            took = (a == run) | (a != a)  # where the running extreme moves to the element
            k = np.arange(a.shape[axis]).reshape((-1,) + (1,) * (a.ndim - axis - 1))
            idx = np.maximum.accumulate(np.where(took, k, 0), axis=axis) if a.size else np.zeros(a.shape, np.int64)
            v = np.take_along_axis(a, idx, axis)
            idx = self.asarray(np.ascontiguousarray(idx, dtype=np.int64))
        return self.asarray(np.ascontiguousarray(v)), idx

    def sort(self, x: Any, axis: int, descending: bool, k: int | None = None) -> tuple[Any, Any]:
        """x stably sorted along axis (NaN as the largest), and the int64 positions the values came
        from; with k, only the first k of that order. A host round trip through NumPy's stable sort
        (descending: the ascending sort of the reversed row, reversed, so that ties keep their
        order): correct on any device, not fast (a device overrides it with a kernel)."""
        a = self.to_numpy(x)
        n = a.shape[axis]
        if descending:
            i = (n - 1) - np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
        else:
            i = np.argsort(a, axis=axis, kind="stable")
        if k is not None:
            i = i[(slice(None),) * axis + (slice(0, k),)]
        v = np.take_along_axis(a, i, axis)
        return self.asarray(np.ascontiguousarray(v)), self.asarray(np.ascontiguousarray(i, dtype=np.int64))

    def searchsorted(self, seq: Any, values: Any, right: bool) -> Any:
        """seq (R or 1, Ks) rows sorted ascending, values (R, N) of seq's dtype: for each value the
        first position i of its row with seq[i] >= value (> with right), int64 (R, N), by the same
        binary search as the kernels (NaN values go last). A host round trip through NumPy: correct
        on any device, not fast (a device overrides it with a kernel)."""
        s, v = self.to_numpy(seq), self.to_numpy(values)
        ks = s.shape[1]
        lo = np.zeros(v.shape, np.int64)
        hi = np.full(v.shape, ks, np.int64)
        rows = np.arange(v.shape[0])[:, None] if s.shape[0] > 1 else 0
        while True:
            active = lo < hi
            if not active.any():
                break
            mid = (lo + hi) // 2
            at = s[rows, np.minimum(mid, ks - 1)]
            above = (at > v) if right else (at >= v)
            hi = np.where(active & above, mid, hi)
            lo = np.where(active & ~above, mid + 1, lo)
        return self.asarray(lo)

"""Order and counting ops (issue 16): sort, argsort, topk, kthvalue, median, mode, unique, any,
all, count_nonzero, bincount, histc, searchsorted, bucketize, one_hot.

sort / topk / kthvalue / median / mode run the backend's stable `sort` (NaN as the largest);
searchsorted and bucketize its `searchsorted`; the counts its index_add along a dim. Values that
select input elements take gradients (scattered back through their indices); integer and bool
results record no node. unique sizes its result from the data, on the host (as PyTorch syncs)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .._dtype import float64, int32
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import as_tensor_like, ew, numpy_aliases, record
from . import elementwise as _E
from .index import _type_name, gather_backward
from .reduce import ValuesIndices, _axes, value_selecting_reduction_backward
from .shape import wrap_dim


def _wrap(a: Any, like: Tensor) -> Tensor:
    return Tensor._wrap(a, like._backend)


def _sorted(x: Tensor, d: int, descending: bool, k: int | None = None) -> tuple[Any, Any]:
    """x's data sorted along d (the first k), and the int64 positions; 0-d as one element."""
    be = x._backend
    src = x._data if x.ndim else be.reshape(x._data, (1,))
    v, i = be.sort(src, d, bool(descending), k if x.ndim else None)  # (a 0-d topk(0) is its element, as torch)
    if not x.ndim:
        v, i = be.reshape(v, ()), be.reshape(i, ())
    return v, i


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> ValuesIndices:
    """(values, indices) along dim; always stable (equal values keep their order), NaN last
    (first, descending)."""
    x = input
    d = wrap_dim(dim, x.ndim)
    v, i = _sorted(x, d, descending)
    it = _wrap(i, x)
    return ValuesIndices(record(N.SortBackward0, v, (x,), x._backend, save={"indices": it}, dim=d,
                                descending=bool(descending)), it)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    x = input
    return _wrap(_sorted(x, wrap_dim(dim, x.ndim), descending)[1], x)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:  # noqa: A002
    """The k largest (smallest) along dim, in order (equal values by position)."""
    x = input
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if x.dtype.name == "bool":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    v, i = _sorted(x, d, largest, k)
    it = _wrap(i, x)
    return ValuesIndices(record(N.TopkBackward0, v, (x,), x._backend, save={"indices": it}, dim=d, k=k,
                                largest=bool(largest)), it)


def _pick(be: Any, a: Any, d: int, pos: Any, keepdim: bool) -> Any:
    """a[..., pos, ...] along d: pos an int, or an int64 array with a 1 at d (one a column)."""
    if isinstance(pos, int):
        out = be.contiguous(be.getitem(a, (slice(None),) * d + (slice(pos, pos + 1),)))
    else:
        out = be.gather(a, d, pos)
    return out if keepdim else be.reshape(out, a.shape[:d] + a.shape[d + 1:])


def _selected(x: Tensor, dim: int, keepdim: bool, name: str, pos: Any, node: Any, first: int | None = None,
              **attrs: Any) -> ValuesIndices:
    """The element at sorted position pos (an int, or a function of the sorted data) along dim."""
    d = wrap_dim(dim, x.ndim)
    if x.ndim and x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    be = x._backend
    src = x if x.ndim else x.reshape(1)
    v, i = _sorted(src, d, False, first)
    p = pos if isinstance(pos, int) else pos(be, v, d)
    keep = keepdim or not x.ndim
    vals, idx = _pick(be, v, d, p, keep), _pick(be, i, d, p, keep)
    if not x.ndim:
        vals, idx = be.reshape(vals, ()), be.reshape(idx, ())
    it = _wrap(idx, x)
    return ValuesIndices(record(node, vals, (x,), be, save={"indices": it}, dim=d, keepdim=keepdim, **attrs), it)


def _no_bool(x: Tensor, kernel: str) -> None:
    if x.dtype.name == "bool":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The k-th smallest (from 1) along dim, and its index."""
    x = input
    _no_bool(x, "kthvalue_cpu")
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if n and not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    return _selected(x, d, keepdim, "kthvalue", k - 1, N.KthvalueBackward0, first=k, k=k)


def _median_position(be: Any, v: Any, d: int) -> Any:
    """Where each sorted column's lower median is: (n - 1) // 2, or its first NaN if it has any."""
    n = v.shape[d]
    nans = be.sum(ew("ne", v, v, dt=np.dtype(bool), backend=be), (d,), True)
    i64 = np.dtype(np.int64)
    first_nan = ew("sub", np.asarray(n, i64), nans, backend=be)
    has = ew("gt", nans, np.asarray(0, i64), dt=np.dtype(bool), backend=be)
    return ew("where", has, first_nan, np.asarray((n - 1) // 2, i64), dt=i64, backend=be)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median ((n - 1) // 2-th smallest; NaN where there is one), and with dim its index."""
    x = input
    _no_bool(x, "median_cpu" if dim is None else "median_out")
    if dim is None:
        if not x.numel():
            return _wrap(x._backend.full((), np.nan, x.dtype.np), x)
        flat = x.detach().reshape(-1)
        with no_grad():
            v = _selected(flat, 0, False, "median", _median_position, N.MedianBackward1).values
        return record(N.MedianBackward0, v._data, (x,), x._backend)
    pos = _median_position if x.dtype.is_floating_point else None
    if pos is None:
        d = wrap_dim(dim, x.ndim)
        pos = ((x.shape[d] if x.ndim else 1) - 1) // 2
    return _selected(x, dim, keepdim, "median", pos, N.MedianBackward1)


def _mode_position(be: Any, v: Any, d: int) -> Any:
    """Where the longest run of equal sorted values ends first (the smallest most frequent value;
    its last position, as the sort is stable): run lengths from the running max of run starts."""
    n = v.shape[d]
    i64 = np.dtype(np.int64)
    shape = (1,) * d + (n,) + (1,) * (len(v.shape) - d - 1)
    ar = be.asarray(np.arange(n, dtype=np.int64).reshape(shape))
    if n > 1:
        head = be.full(v.shape[:d] + (1,) + v.shape[d + 1:], True, np.dtype(bool))
        sl = (slice(None),) * d
        later, earlier = be.getitem(v, sl + (slice(1, None),)), be.getitem(v, sl + (slice(None, -1),))
        new = be.concatenate([head, ew("ne", later, earlier, dt=np.dtype(bool), backend=be)], d)
    else:
        new = be.full(v.shape, True, np.dtype(bool))
    starts = ew("where", new, ar, np.asarray(0, i64), shape=tuple(v.shape), dt=i64, backend=be)
    run_start, _ = be.cumulative(starts, d, "max")
    length = ew("sub", ar, run_start, backend=be)
    _, best = be.argext(length, d, True, True)
    return best


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The most frequent value along dim (the smallest of equally frequent ones) and its last index."""
    return _selected(input, dim, keepdim, "mode", _mode_position, N.ModeBackward0)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim: int | None = None) -> Any:
    """The distinct values (sorted; each NaN distinct), with where each input came from and how
    often each occurs. Its size depends on the data: computed on the host."""
    x = input
    be = x._backend
    a = be.to_numpy(x._data)
    if dim is None:
        u, inv, cnt = np.unique(a.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False)
        inv = inv.reshape(a.shape)
    else:
        d = wrap_dim(dim, x.ndim)
        u, inv, cnt = np.unique(a, return_inverse=True, return_counts=True, axis=d, equal_nan=False)
        inv = inv.reshape(-1)
    out = [_wrap(be.asarray(np.ascontiguousarray(u)), x)]
    if return_inverse:
        out.append(_wrap(be.asarray(inv.astype(np.int64)), x))
    if return_counts:
        out.append(_wrap(be.asarray(cnt.astype(np.int64)), x))
    return out[0] if len(out) == 1 else tuple(out)


# ---------------------------------------------------------------- any, all, count_nonzero
def _count(x: Tensor, dim: Any, keepdim: bool, op: str) -> Any:
    """How many elements of x are (op: ne / eq) 0 over dim, int64."""
    be = x._backend
    flags = ew(op, x._data, np.asarray(0, x.dtype.np), dt=np.dtype(bool), backend=be)
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None
    return be.sum(be.astype(flags, np.dtype(np.int64)), _axes(x, dim), keepdim)


def _logical(x: Tensor, dim: Any, keepdim: bool, want_all: bool) -> Tensor:
    be = x._backend
    c = _count(x, dim, keepdim, "eq" if want_all else "ne")
    out = ew("eq" if want_all else "gt", c, np.asarray(0, np.int64), dt=np.dtype(bool), backend=be)
    if x.dtype.name == "uint8":  # (PyTorch keeps uint8)
        out = be.astype(out, np.dtype(np.uint8))
    return _wrap(out, x)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return _logical(input, dim, keepdim, False)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return _logical(input, dim, keepdim, True)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    return _wrap(_count(input, dim, False, "ne"), input)


# ---------------------------------------------------------------- histograms
_INTEGRAL = ("int64", "int32", "int16", "int8", "uint8")


def _add_counts(be: Any, length: int, idx: Any, w: Any, dt: np.dtype) -> Any:
    out = be.full((length,), 0, dt)
    if idx.size:
        be.index_add_axis(out, 0, idx, be.astype(w, dt), 1)
    return out


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in a 1-d tensor of non-negative integers (or the
    sum of weights there): max(input) + 1 values, at least minlength."""
    x = input
    if x.dtype.name not in _INTEGRAL and x.dtype.name != "bool":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_type_name(x)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if x.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != x.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    be = x._backend
    idx = be.astype(x._data, np.dtype(np.int64))
    top = 0
    if x.numel():
        lo, hi = (int(be.to_numpy(be.argext(idx, 0, False, m)[0])) for m in (False, True))
        if lo < 0:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        top = hi + 1
    length = builtins.max(top, minlength)
    if weights is None:
        return _wrap(_add_counts(be, length, idx, be.full(idx.shape, 1, np.dtype(np.int64)), np.dtype(np.int64)), x)
    dt = weights.dtype.np if weights.dtype.name in ("float32", "float64") else float64.np
    return _wrap(_add_counts(be, length, idx, weights.detach()._data, dt), x)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Counts of the elements in `bins` equal bins over [min, max] (the data's range where min ==
    max); elements outside, and NaN, are not counted."""
    x = input
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_type_name(x)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    if min > max:
        raise RuntimeError("torch.histc: max must be larger than min")
    lo, hi = float(min), float(max)
    with no_grad():
        v = x.detach().reshape(-1)
        if lo == hi and v.numel():
            lo, hi = float(v.min()), float(v.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        inside = _both(v >= lo, v <= hi)
        pos = _floor((v - lo) * bins / (hi - lo))  # (in x's dtype, in PyTorch's order)
        pos = pos.clamp(0, bins - 1)
        be = x._backend
        idx = be.astype(ew("where", inside._data, pos._data, np.asarray(0, pos.dtype.np), backend=be),
                        np.dtype(np.int64))
        return _wrap(_add_counts(be, bins, idx, inside._data, x.dtype.np), x)


def _both(a: Tensor, b: Tensor) -> Tensor:
    return _E.where(a, b, a)


def _floor(t: Tensor) -> Tensor:
    be = t._backend
    return _wrap(ew("floor", t._data, backend=be), t)


# ---------------------------------------------------------------- searchsorted, bucketize
def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """For each value, the first position of the (last dim of the) sorted sequence whose element
    is >= it (> it with right / side='right') : where to insert it to keep the order."""
    seq = sorted_sequence
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if side == "left" and right:
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    scalar = not isinstance(input, Tensor)
    vals = as_tensor_like(input, seq) if scalar else input
    if vals.device != seq.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{seq.device} and {vals.device}!")
    if seq.ndim == 0 or seq.ndim > 1 and (vals.ndim != seq.ndim or tuple(vals.shape[:-1]) != tuple(seq.shape[:-1])):
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions "
                           "of boundaries tensor and input value tensor must match, but we got boundaries tensor "
                           f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
    if sorter is not None:
        if tuple(sorter.shape) != tuple(seq.shape):
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same size, but got boundary "
                               f"tensor {list(seq.shape)}and got sorter tensor {list(sorter.shape)}")
        seq = seq.detach().gather(-1, sorter)
    be = seq._backend
    dt = np.promote_types(seq.dtype.np, vals.dtype.np)
    s = be.astype(seq._data, dt)
    v = be.astype(vals._data, dt)
    if seq.ndim == 1:
        s2, v2 = be.reshape(s, (1, -1)), be.reshape(v, (1, -1))
    else:
        s2, v2 = be.reshape(s, (-1, seq.shape[-1])), be.reshape(v, (-1, vals.shape[-1] if vals.ndim else 1))
    out = be.reshape(be.searchsorted(s2, v2, bool(right)), tuple(vals.shape))
    if out_int32:
        out = be.astype(out, int32.np)
    return _wrap(out, seq)


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each value among 1-d sorted boundaries (searchsorted(boundaries, input))."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 (..., num_classes): 1 at each value's class (num_classes -1: max + 1)."""
    x = tensor
    if x.dtype.name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    be = x._backend
    if x.numel():
        lo, hi = (int(be.to_numpy(be.argext(be.reshape(x._data, (-1,)), 0, False, m)[0])) for m in (False, True))
        if lo < 0:
            raise RuntimeError("Class values must be non-negative.")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes == -1:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    classes = be.asarray(np.arange(num_classes, dtype=np.int64))
    col = be.reshape(x._data, tuple(x.shape) + (1,))
    hit = ew("eq", col, classes, shape=tuple(x.shape) + (num_classes,), dt=np.dtype(bool), backend=be)
    return _wrap(be.astype(hit, np.dtype(np.int64)), x)


# ---------------------------------------------------------------- ops the derivatives use
def sorted_backward(grad: Tensor, self_shape: tuple, dim: int, indices: Tensor) -> Tensor:
    """sort / topk: grad put back where each value came from (a scatter-add, differentiable)."""
    if not self_shape:
        return grad.reshape(())
    return gather_backward(grad, tuple(self_shape), dim, indices)


def selected_backward(grad: Tensor, dim: int, indices: Tensor, self_shape: tuple, keepdim: bool) -> Tensor:
    """kthvalue / median / mode along dim: grad at the selected index (as max along dim)."""
    if not self_shape:
        return grad.reshape(())
    return value_selecting_reduction_backward(grad, dim, indices, tuple(self_shape), keepdim)


"""Index, gather and scatter ops (issue 16): gather, scatter (src or value, reduce), scatter_add,
scatter_reduce, index_select, index_add, index_copy, index_fill, masked_fill, masked_select,
masked_scatter, take_along_dim, take, nonzero, argwhere.

The dim-wise ops run the backends' gather / scatter / index_select / index_add_axis kernels;
the masked ops and take compose differentiable ops (where, indexing, index_put). Index tensors
are int64 (int32 too where PyTorch takes it); an index out of range raises PyTorch's error on
the CPU (on CUDA the kernels flag it, reported at the next copy to the host)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backends as _backends
from .._dtype import float32
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import needs_grad, record
from .elementwise import where
from .shape import expand, getitem, index_put, reshape, wrap_dim

_INTS = ("int64", "int32")


def _type_name(t: Tensor) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int", "bool": "Bool",
            "int16": "Short", "int8": "Char", "uint8": "Byte"}.get(t.dtype.name, t.dtype.name)


def _index(x: Tensor, index: Any, msg: str, int32_ok: bool = True, err: type = RuntimeError) -> Tensor:
    """index as a tensor on x's device with an accepted integer dtype, else err(msg)."""
    if not isinstance(index, Tensor):
        raise TypeError(f"expected a Tensor as index, but got {type(index).__name__}")
    if index.dtype.name not in (_INTS if int32_ok else _INTS[:1]):
        raise err(msg.format(t=_type_name(index)))
    if index.device != x.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{x.device} and {index.device}!")
    return index


def _long(index: Tensor) -> Any:
    be = index._backend
    return index._data if index.dtype.name == "int64" else be.astype(index._data, np.dtype(np.int64))


def _fresh(x: Tensor) -> Any:
    """A C-ordered copy of x's data (the output an out-of-place scatter writes into)."""
    be = x._backend
    c = be.contiguous(x._data)
    return be.copy(c) if c is x._data else c


def _shape1(t: Tensor) -> tuple:
    return tuple(t.shape) or (1,)


def _oob(d: int, size: int) -> str:
    return "index {i} is out of bounds for dimension " + f"{d} with size {size}"


# ---------------------------------------------------------------- gather / scatter
def _check_gather_shapes(x: Tensor, d: int, index: Tensor) -> None:
    if index.ndim != x.ndim and max(index.ndim, x.ndim) > 1:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    xs, ish = _shape1(x), _shape1(index)
    for i, (a, b) in enumerate(zip(ish, xs)):
        if i != d and a > b:
            raise RuntimeError(f"Size does not match at dimension {i} expected index {list(index.shape)} to be no "
                               f"larger than self {list(x.shape)} apart from dimension {d}")


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    x = input
    index = _index(x, index, "gather(): Expected dtype int32/int64 for index")
    d = wrap_dim(dim, x.ndim)
    _check_gather_shapes(x, d, index)
    be = x._backend
    xs, ish = _shape1(x), _shape1(index)
    idx = be.check_index(be.reshape(_long(index), ish), xs[d], False, RuntimeError, _oob(d, xs[d]))
    out = be.reshape(be.gather(be.reshape(x._data, xs), d, idx), tuple(index.shape))
    return record(N.GatherBackward0, out, (x,), be, save={"index": index}, dim=d)


def _check_scatter(x: Tensor, d: int, index: Tensor, src: Tensor | None) -> None:
    if src is not None and src.dtype != x.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if index.ndim != x.ndim and max(index.ndim, x.ndim) > 1:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if src is not None and index.ndim != src.ndim and max(index.ndim, src.ndim) > 1:
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    xs, ish = _shape1(x), _shape1(index)
    ss = _shape1(src) if src is not None else ish
    if any((i != d and a > b) or a > c for i, (a, b, c) in enumerate(zip(ish, xs, ss))):
        raise RuntimeError(f"Expected index {list(index.shape)} to be smaller than self {list(x.shape)} apart from "
                           f"dimension {d}" + (f" and to be smaller size than src {list(src.shape)}"
                                               if src is not None else ""))


def _scatter_into(x: Tensor, d: int, index: Tensor, src: Any, mode: str, own: bool = False) -> Any:
    """A copy of x's data with src scattered in along d (src: a tensor or one value); own: x's
    data is a fresh C-ordered array nothing else holds, written in place."""
    be = x._backend
    xs, ish = _shape1(x), _shape1(index)
    idx = be.check_index(be.reshape(_long(index), ish), xs[d], False, RuntimeError, _oob(d, xs[d]))
    out = x._data if own else _fresh(x)
    if isinstance(src, Tensor):
        val = be.reshape(src._data, _shape1(src))
    else:
        val = np.asarray(src, dtype=x.dtype.np)
    be.scatter(be.reshape(out, xs), d, idx, val, mode)
    return out


def _as_scatter_src(x: Tensor, src: Any, value: Any) -> tuple[Tensor | None, Any]:
    if src is None and value is None:
        raise TypeError("scatter() missing 1 required positional argument: 'src' or 'value'")
    if src is not None and not isinstance(src, Tensor):
        value, src = src, None
    return src, value


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None, *,
            reduce: str | None = None) -> Tensor:
    x = input
    src, value = _as_scatter_src(x, src, value)
    index = _index(x, index, "scatter(): Expected dtype int32/int64 for index")
    d = wrap_dim(dim, x.ndim)
    _check_scatter(x, d, index, src)
    mode = "assign"
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise RuntimeError("reduce argument must be either add or multiply.")
        mode = modes[reduce]
        if needs_grad(x, src):
            raise RuntimeError("derivative for aten::scatter is not implemented (scatter with reduce=; "
                               "scatter_reduce is differentiable)")
    out = _scatter_into(x, d, index, src if src is not None else value, mode)
    if src is not None:
        return record(N.ScatterBackward0, out, (x, src), x._backend, save={"index": index}, dim=d)
    return record(N.ScatterBackward1, out, (x,), x._backend, save={"index": index}, dim=d, value=value)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor, _own: bool = False) -> Tensor:
    x = input
    index = _index(x, index, "scatter(): Expected dtype int32/int64 for index")
    d = wrap_dim(dim, x.ndim)
    _check_scatter(x, d, index, src)
    out = _scatter_into(x, d, index, src, "sum", own=_own)
    return record(N.ScatterAddBackward0, out, (x, src), x._backend, save={"index": index}, dim=d)


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    x = input
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    index = _index(x, index, "scatter(): Expected dtype int32/int64 for index")
    d = wrap_dim(dim, x.ndim)
    _check_scatter(x, d, index, src)
    be = x._backend
    base = x
    if not include_self:
        ident: Any = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
        if ident is None:
            big = np.inf if x.dtype.is_floating_point else np.iinfo(x.dtype.np).max
            ident = -big if reduce == "amax" else big
        base = Tensor._wrap(_scatter_into(x, d, index, ident, "assign"), be)
    out = _scatter_into(base, d, index, src, "sum" if reduce == "mean" else reduce)
    if reduce == "mean":
        with no_grad():
            cnt = scatter_add(Tensor._wrap(be.full(tuple(x.shape), 1 if include_self else 0, x.dtype.np), be), d,
                              index, Tensor._wrap(be.full(tuple(src.shape), 1, x.dtype.np), be))
            cnt = where(cnt == 0, 1, cnt)
            total = Tensor._wrap(out, be)
            if x.dtype.is_floating_point:
                out = (total / cnt)._data
            else:  # integer means round down, as PyTorch's
                q = np.floor_divide(be.to_numpy(total._data), be.to_numpy(cnt._data))
                out = be.asarray(q.astype(x.dtype.np))
    return record(N.ScatterReduceBackward0, out, (x, src), be, save={"index": index}, dim=d, reduce=reduce,
                  include_self=include_self)


# ---------------------------------------------------------------- index_select / index_add / index_copy / index_fill
def _vector(index: Tensor, name: str, err: type = IndexError) -> None:
    if index.ndim > 1:
        raise err(f"{name}: Index is supposed to be a vector")


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    x = input
    index = _index(x, index, "index_select(): Expected dtype int32 or int64 for index")
    _vector(index, "index_select()")
    d = wrap_dim(dim, x.ndim)
    be = x._backend
    xs = _shape1(x)
    idx = be.check_index(be.reshape(_long(index), (index.numel(),)), xs[d], False, IndexError,
                         "index out of range in self")
    out = be.index_select(be.reshape(x._data, xs), d, idx)
    if x.ndim == 0 and index.ndim == 0:
        out = be.reshape(out, ())
    return record(N.IndexSelectBackward0, out, (x,), be, save={"index": index}, dim=d)


def _check_source(x: Tensor, d: int, index: Tensor, source: Tensor, name: str) -> None:
    xs, ss = _shape1(x), _shape1(source)
    if len(xs) != len(ss) or any(a != b for i, (a, b) in enumerate(zip(xs, ss)) if i != d):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(x.shape)} source.shape = {list(source.shape)}")
    if ss[d] != index.numel():
        raise RuntimeError(f"{name}: Number of indices ({index.numel()}) should be equal to source.size(dim) "
                           f"({ss[d]})")


def _source_op(x: Tensor, dim: int, index: Tensor, source: Tensor, name: str, index_msg: str, int32_ok: bool,
               dtype_msg: str, err: type, prefix: str) -> tuple:
    """index_add / index_copy's checks; (dim, the checked index, a C-ordered copy of x, source's data)."""
    index = _index(x, index, index_msg, int32_ok=int32_ok)
    _vector(index, name)
    d = wrap_dim(dim, x.ndim)
    if source.dtype != x.dtype:
        raise RuntimeError(dtype_msg.format(s=_type_name(x), o=_type_name(source)))
    _check_source(x, d, index, source, name)
    be = x._backend
    xs = _shape1(x)
    idx = be.check_index(be.reshape(_long(index), (index.numel(),)), xs[d], False, err, prefix + _oob(d, xs[d]))
    return d, idx, _fresh(x), xs, be.reshape(source._data, _shape1(source))


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    x, be = input, input._backend
    d, idx, out, xs, src = _source_op(x, dim, index, source, "index_add_()",
                                      "index_add_(): Expected dtype int32/int64 for index but got: {t}", True,
                                      "index_add_(): self ({s}) and source ({o}) must have the same scalar type",
                                      RuntimeError, "")
    be.index_add_axis(be.reshape(out, xs), d, idx, src, alpha)
    return record(N.IndexAddBackward0, out, (x, source), be, save={"index": index}, dim=d, alpha=alpha)


def _axis_index(d: int, idx: Any) -> tuple:
    return (slice(None),) * d + (idx,)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    x, be = input, input._backend
    d, idx, out, xs, src = _source_op(x, dim, index, source, "index_copy_()",
                                      "index_copy_(): Expected a long tensor for index, but got {t}", False,
                                      "index_copy_(): self and source expected to have the same dtype, but got "
                                      "(self) {s} and (source) {o}", IndexError, "index_copy_(): ")
    be.setitem(be.reshape(out, xs), _axis_index(d, idx), src)
    return record(N.IndexCopyBackward0, out, (x, source), be, save={"index": index}, dim=d)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    x = input
    index = _index(x, index, "index_fill_(): Expected dtype int64 for index.", int32_ok=False, err=IndexError)
    _vector(index, "index_fill_()")
    d = wrap_dim(dim, x.ndim)
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    be = x._backend
    xs = _shape1(x)
    idx = be.check_index(be.reshape(index._data, (index.numel(),)), xs[d], True, IndexError, _oob(d, xs[d]))
    out = _fresh(x)
    v = be.astype(value._data, x.dtype.np) if isinstance(value, Tensor) else value
    be.setitem(be.reshape(out, xs), _axis_index(d, idx), v)
    if isinstance(value, Tensor):
        return record(N.IndexFillBackward1, out, (x, value), be, save={"index": index}, dim=d)
    return record(N.IndexFillBackward0, out, (x,), be, save={"index": index}, dim=d, value=value)


# ---------------------------------------------------------------- masks
def _mask(mask: Any, name: str) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype.name != "bool":
        kind = mask.dtype.name.replace("float32", "float") if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype {kind}")
    return mask


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """where(mask, value, input) in input's dtype; a 0-d value tensor takes a gradient."""
    x = input
    mask = _mask(mask, "masked_fill_")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        if value.dtype != x.dtype:
            value = value.to(x.dtype)
    elif not x.dtype.is_floating_point and isinstance(value, float):
        value = int(value)
    if mask.device != x.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{x.device} and {mask.device}!")
    out = where(mask, value, x)
    return out if out.dtype == x.dtype else out.to(x.dtype)


def _host_mask(mask: Tensor, shape: tuple) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(mask._backend.to_numpy(mask._data), shape))


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    x = input
    mask = _mask(mask, "masked_select:")
    shape = tuple(np.broadcast_shapes(tuple(x.shape), tuple(mask.shape)))
    xb = expand(x, *shape) if tuple(x.shape) != shape else x
    return reshape(getitem(xb, Tensor._wrap(_host_mask(mask, shape), _cpu())), -1)


def _cpu() -> Any:
    return _backends.get_backend("cpu")


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    x = input
    mask = _mask(mask, "masked_scatter_")
    if source.dtype != x.dtype:
        raise RuntimeError(f"masked_scatter_: expected self and source to have same dtypes but got "
                           f"{_type_name(x)} and {_type_name(source)}")
    m = _host_mask(mask, tuple(x.shape))
    k = int(m.sum())
    if source.numel() < k:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    vals = getitem(reshape(source, -1), slice(0, k))
    return index_put(x, (m,), vals)


# ---------------------------------------------------------------- take
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    x = input
    _index(x, indices, "torch.take_along_dim(): dtype of indices should be Long but got {t}", int32_ok=False)
    if dim is None:
        return gather(reshape(x, -1), 0, reshape(indices, -1))
    if x.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {x.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    d = wrap_dim(dim, x.ndim)
    xs, ish = list(x.shape), list(indices.shape)
    try:
        bx = np.broadcast_shapes(tuple(xs[:d] + [1] + xs[d + 1:]), tuple(ish[:d] + [1] + ish[d + 1:]))
    except ValueError:
        raise RuntimeError(f"shape mismatch: indices of shape {ish} cannot be broadcast against input of shape "
                           f"{xs} apart from dimension {d}") from None
    xb = expand(x, *(bx[:d] + (xs[d],) + bx[d + 1:]))
    ib = expand(indices, *(bx[:d] + (ish[d],) + bx[d + 1:]))
    return gather(xb, d, ib)


def take(input: Tensor, index: Tensor) -> Tensor:
    x = input
    index = _index(x, index, "take(): Expected a long tensor for index, but got {t}", int32_ok=False)
    n = x.numel()
    be = x._backend
    idx = be.check_index(index._data, n, True, IndexError,
                         "out of range: tried to access index {i} on a tensor of " + f"{n} elements.")
    flat = index_select(reshape(x, -1), 0, Tensor._wrap(be.reshape(idx, (index.numel(),)), be))
    return reshape(flat, tuple(index.shape))


# ---------------------------------------------------------------- nonzero
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    x = input
    be = x._backend
    a = be.to_numpy(x._data)
    if as_tuple:
        nz = np.nonzero(np.atleast_1d(a))
        return tuple(Tensor._wrap(be.asarray(i.astype(np.int64)), be) for i in nz)
    n = int(np.count_nonzero(a))
    out = np.argwhere(a).astype(np.int64) if a.ndim else np.zeros((n, 0), np.int64)
    return Tensor._wrap(be.asarray(out.reshape(n, a.ndim)), be)


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


# ---------------------------------------------------------------- in-place variants
def inplace(fn: Any) -> Any:
    """fn's in-place `_` variant: the result written into self (its history rewritten, through
    a view's base too); the tensor arguments that require grad take gradients."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        grads = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor) and a.requires_grad]
        if fn is masked_fill and isinstance(args[0] if args else kwargs.get("mask"), Tensor):
            m = args[0] if args else kwargs["mask"]
            if np.broadcast_shapes(tuple(m.shape), tuple(self.shape)) != tuple(self.shape):
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                                   f"{list(np.broadcast_shapes(tuple(m.shape), tuple(self.shape)))}")
        return self._inplace_op(lambda s, _o: fn(s, *args, **kwargs), grads[0] if grads else None)

    method.__name__ = fn.__name__ + "_"
    return method


# ---------------------------------------------------------------- ops the derivatives use
def _zeros(shape: tuple, like: Tensor) -> Tensor:
    be = like._backend
    return Tensor._wrap(be.full(tuple(shape), 0, like._data.dtype), be)


def gather_backward(grad: Tensor, self_shape: tuple, dim: int, index: Tensor) -> Tensor:
    """gather's gradient: grad added into zeros at the gathered positions (a scatter_add, whose own
    gradient is a gather)."""
    return scatter_add(_zeros(self_shape, grad), dim, index, grad, _own=True)  # (into the fresh zeros)


def scatter_src_backward(grad: Tensor, dim: int, index: Tensor, src_shape: tuple) -> Tensor:
    """A scatter's gradient for src: grad read at index, zero where src is larger than index."""
    g = gather(grad, dim, index)
    if tuple(g.shape) == tuple(src_shape):
        return g
    region = tuple(slice(0, n) for n in g.shape)
    return index_put(_zeros(src_shape, grad), region, g)


def scattered_mask(self: Tensor, dim: int, index: Tensor) -> Tensor:
    """True where a scatter along dim writes into self (a constant mask)."""
    be = self._backend
    with no_grad():
        m = scatter(Tensor._wrap(be.full(tuple(self.shape), 0, np.dtype(np.float32)), be), dim, index, 1.0)
    return m != 0


def _count(self: Tensor, dim: int, index: Tensor, include_self: bool) -> Tensor:
    be = self._backend
    with no_grad():
        c = scatter_add(Tensor._wrap(be.full(tuple(self.shape), 1 if include_self else 0, self._data.dtype), be),
                        dim, index, Tensor._wrap(be.full(tuple(index.shape), 1, self._data.dtype), be))
    return where(c == 0, 1, c)


def _fill(x: Tensor, mask: Tensor, v: float) -> Tensor:
    return where(mask, v, x)


def _reduce_grads(grad: Tensor, self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str,
                  include_self: bool, result: Tensor, want_self: bool) -> Tensor:
    """PyTorch's scatter_reduce_backward (sum, mean, prod, amax, amin), the self or the src part;
    src is read over index's region."""
    region = tuple(slice(0, n) for n in index.shape)
    s = getitem(src, region) if tuple(src.shape) != tuple(index.shape) else src
    mask_self = None if include_self else scattered_mask(self, dim, index)
    if reduce == "sum":
        if want_self:
            return grad if mask_self is None else _fill(grad, mask_self, 0.0)
        return gather(grad, dim, index)
    if reduce == "mean":
        g = grad / _count(self, dim, index, include_self)
        if want_self:
            return g if mask_self is None else _fill(g, mask_self, 0.0)
        return gather(g, dim, index)
    if reduce == "prod":
        if want_self:
            zero = self == 0
            masked_self = _fill(self, zero, 1.0)
            msr = scatter_reduce(masked_self, dim, index, s, "prod", include_self=include_self)
            g = grad * msr / masked_self
            return g if mask_self is None else _fill(g, mask_self, 0.0)
        src_zero = s == 0
        nz = gather(_scatter_count(self, dim, index, src_zero), dim, index)
        if grad.requires_grad and bool(np.any(nz._backend.to_numpy(nz._data) > 1)):
            raise RuntimeError("scatter_reduce(): Double backward is unsupported for src when src contains more "
                               "than one zero in the same scatter group (reduce='prod')")
        single = _both(src_zero, nz == 1)
        masked_src_result = scatter_reduce(self, dim, index, _fill(s, single, 1.0), "prod",
                                           include_self=include_self)
        return where(single, gather(grad * masked_src_result, dim, index),
                     gather(grad * result, dim, index) / _fill(s, src_zero, 1.0))
    # amax / amin: the gradient shared evenly among the elements equal to the result
    self_is = self == result
    if mask_self is not None:
        self_is = (self_is.to(float32) - mask_self.to(float32)) == 1
    value = gather(result, dim, index)
    src_is = s == value
    n = scatter_add(self_is.to(grad.dtype), dim, index, src_is.to(grad.dtype))
    gd = grad / where(n == 0, 1, n)
    if want_self:
        return where(self_is, gd, 0.0)
    return where(src_is, gather(gd, dim, index), 0.0)


def _both(a: Tensor, b: Tensor) -> Tensor:
    return (a.to(float32) + b.to(float32)) == 2


def _scatter_count(self: Tensor, dim: int, index: Tensor, flags: Tensor) -> Tensor:
    with no_grad():
        return scatter_add(_zeros(tuple(self.shape), self).to(float32), dim, index, flags.to(float32))


def scatter_reduce_backward_self(grad: Tensor, self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str,
                                 include_self: bool, result: Tensor) -> Tensor:
    return _reduce_grads(grad, self, dim, index, src, reduce, include_self, result, True)


def scatter_reduce_backward_src(grad: Tensor, self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str,
                                include_self: bool, result: Tensor) -> Tensor:
    g = _reduce_grads(grad, self, dim, index, src, reduce, include_self, result, False)
    if tuple(g.shape) == tuple(src.shape):
        return g
    return index_put(_zeros(tuple(src.shape), grad), tuple(slice(0, n) for n in g.shape), g)


def index_select_backward(grad: Tensor, self_shape: tuple, dim: int, index: Tensor) -> Tensor:
    """index_select's gradient: grad added into zeros at the selected rows (an index_add)."""
    z = _zeros(self_shape, grad)
    if not self_shape:  # a 0-d input
        return reshape(index_add(reshape(z, 1), 0, reshape(index, -1), reshape(grad, -1)), ())
    if grad.ndim != len(self_shape):
        grad = reshape(grad, tuple(self_shape[:dim]) + (index.numel(),) + tuple(self_shape[dim + 1:]))
    return index_add(z, dim, index, grad)


def index_add_source_backward(grad: Tensor, dim: int, index: Tensor, source_shape: tuple, alpha: Any) -> Tensor:
    g = index_select(grad, dim, reshape(index, -1))
    g = g if alpha == 1 else g * alpha
    return reshape(g, tuple(source_shape)) if tuple(g.shape) != tuple(source_shape) else g


def index_fill_value_backward(grad: Tensor, dim: int, index: Tensor) -> Tensor:
    """index_fill's gradient for a 0-d value: the sum of grad over the filled rows (each row
    once, however often the index repeats it)."""
    be = index._backend
    uniq = np.unique(be.to_numpy(index._data).reshape(-1))
    size = grad.shape[dim] if grad.ndim else 1
    uniq = np.unique(np.where(uniq < 0, uniq + size, uniq))
    return index_select(grad, dim, Tensor._wrap(be.asarray(uniq.astype(np.int64)), be)).sum()

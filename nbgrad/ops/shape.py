"""Shape and indexing ops: views, transpose/permute, expand, getitem, cat, stack, clone."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..backends.plan import expands_to, wrap_dim, wrap_dims
from ..tensor import Size, Tensor
from . import derivatives_table as N
from ._core import numpy_aliases, record
from .. import _dtype as _D
from . import index as _I
from . import math as _M


def _shape_arg(shape: Sequence[Any]) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(map(int, shape))


def _resolve(x: Tensor, shape: tuple) -> tuple:
    try:
        return np.broadcast_to(np.empty((), dtype=np.bool_), x.shape).reshape(shape).shape
    except ValueError:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.numel()}") from None


def reshape(x: Tensor, *shape: Any) -> Tensor:
    shape = _shape_arg(shape)
    if -1 in shape or math.prod(shape) != math.prod(x._data.shape):
        shape = _resolve(x, shape)
    return record(N.ViewBackward0, x._backend.reshape(x._data, shape), (x,), x._backend)


def view(x: Tensor, *shape: Any) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], _D.dtype):
        return _view_dtype(x, shape[0])
    shape = _shape_arg(shape)
    if not x._backend.is_contiguous(x._data) and x.ndim > 1:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension "
            "spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return _as_view(reshape(x, *shape), x, lambda b: view(b, *shape))


def _view_dtype(x: Tensor, dt: Any) -> Tensor:
    """x's bytes read as dt (a bit cast; no gradient), the last dim resized when the element
    sizes differ."""
    if dt == x.dtype:
        return x
    if not isinstance(x._data, np.ndarray):
        raise NotImplementedError(f"view(dtype) is implemented for CPU tensors only, not {x.device}")

    old, new = x._data.dtype.itemsize, np.dtype(dt.np).itemsize
    names = f"{_M._TORCH_NAMES[x.dtype.name]} as {_M._TORCH_NAMES[dt.name]} (different element sizes)"
    if old != new:
        if x.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 to view {names}")
        if x._data.strides[-1] != old or (x.shape[-1] * old) % new:
            raise RuntimeError(f"self.size(-1) must be divisible by {new // old if new > old else 1} to view "
                               f"{names}, but got {x.shape[-1]}")
    return _as_view(Tensor._wrap(x._data.view(dt.np), x._backend), x, lambda b: view(b, dt))


def _as_view(t: Tensor, base: Tensor, fn: Any, always: bool = False) -> Tensor:
    """Mark t as a view of base's storage (always: the op always makes one, no need to check).
    fn(b) redoes the view on a tensor shaped like base; composed with base's own view
    function, it maps the root base to t (what an in-place op on t needs to rewrite the
    root's history, see copy_slices)."""
    if always or base._backend.shares_memory(t._data, base._data):
        t._version = base._version
        t._base = base if base._base is None else base._base
        t._view_fn = fn if base._base is None else (lambda b, f=base._view_fn: fn(f(b)))
    return t


@numpy_aliases
def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    s, e = wrap_dim(start_dim, x.ndim), wrap_dim(end_dim, x.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if x.ndim == 0:
        return reshape(x, 1)
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
    return reshape(x, shape)


@numpy_aliases
def unsqueeze(x: Tensor, dim: int) -> Tensor:
    d = wrap_dim(dim, x.ndim + 1)
    out = x._backend.expand_dims(x._data, d)
    return _as_view(record(N.UnsqueezeBackward0, out, (x,), x._backend), x, lambda b: unsqueeze(b, dim), always=True)


@numpy_aliases
def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    if dim is None:
        axes = tuple(i for i, s in enumerate(x.shape) if s == 1)
    else:
        axes = tuple(d for d in wrap_dims(dim, x.ndim) if x.ndim and x.shape[d] == 1)
    out = x._backend.squeeze(x._data, axes)
    return _as_view(record(N.SqueezeBackward1, out, (x,), x._backend), x, lambda b: squeeze(b, dim), always=True)


def permute(x: Tensor, *dims: Any) -> Tensor:
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
            f"of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal to "
            f"len(dims) = {len(dims)}"
        )
    dims = tuple(wrap_dim(d, x.ndim) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    out = x._backend.permute(x._data, dims)
    return _as_view(record(N.PermuteBackward0, out, (x,), x._backend, dims=dims), x, lambda b: permute(b, *dims),
                    always=True)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    nd = x._data.ndim
    d0, d1 = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    if nd == 0:
        return x
    out = x._backend.swapaxes(x._data, d0, d1) if d0 != d1 else x._data
    out = record(N.TransposeBackward0, out, (x,), x._backend, dim0=dim0, dim1=dim1)
    return _as_view(out, x, lambda b: transpose(b, dim0, dim1), always=True)


def matrix_transpose(x: Tensor) -> Tensor:
    """x.mT: the last two dims swapped (transpose(x, -2, -1), without its dim handling)."""
    d = x._data
    if d.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    be = x._backend
    out = record(N.TransposeBackward0, be.swapaxes(d, -2, -1), (x,), be, dim0=-2, dim1=-1)
    return _as_view(out, x, matrix_transpose, always=True)


def expand(x: Tensor, *sizes: Any) -> Tensor:
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({x.ndim})"
        )
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[i + lead]:
            raise RuntimeError(
                f"The expanded size of the tensor ({shape[i + lead]}) must match the existing size ({s}) "
                f"at non-singleton dimension {i + lead}.  Target sizes: {list(sizes)}.  "
                f"Tensor sizes: {list(x.shape)}"
            )
    out = x._backend.broadcast_to(x._data, shape)
    return _as_view(record(N.ExpandBackward0, out, (x,), x._backend), x, lambda b: expand(b, *sizes), always=True)


def is_index_array(i: Any) -> bool:
    """An index array on the host (np.ndarray) or on a device (e.g. a CudaArray)."""
    return isinstance(i, np.ndarray) or (hasattr(i, "shape") and not isinstance(i, (int, np.generic)))


def _convert_index(x: Tensor, idx: Any) -> tuple[Any, bool]:
    """Tensors in an index become arrays; reports whether the index is advanced. An integer
    index tensor on x's device stays there (a CUDA backend computes positions on the device);
    others (boolean masks, whose result size depends on their values) come to the host."""
    items = idx if isinstance(idx, tuple) else (idx,)
    conv, advanced = [], False
    for it in items:
        if isinstance(it, Tensor):
            if it._backend is x._backend and it.dtype.category == 1:
                conv.append(it._data)
                advanced = True
                continue
            it = it._backend.to_numpy(it._data)
        if isinstance(it, (list, tuple, np.ndarray)):  # a tuple inside the index is a sequence, as torch
            it = np.asarray(it)
            if it.dtype.kind not in "biu":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            advanced = True
        elif not (it is None or it is Ellipsis or isinstance(it, (int, slice, np.integer))):
            raise IndexError(f"index {it!r} of type {type(it).__name__} is not supported")
        conv.append(it)
    return tuple(conv), advanced


def getitem(x: Tensor, idx: Any) -> Tensor:
    index, advanced = _convert_index(x, idx)
    if advanced and any(isinstance(i, (int, np.integer)) for i in index):
        # PyTorch applies integer indices as selects before advanced indexing (NumPy would
        # treat them as advanced and move the broadcast dims to the front)
        first, rest = [], []
        for i in index:
            if isinstance(i, (int, np.integer)):
                first.append(i)
            elif is_index_array(i):
                first.extend([slice(None)] * (i.ndim if i.dtype == np.bool_ else 1))
                rest.append(i)
            else:
                first.append(i)  # a slice, None or Ellipsis is applied once, in the first pass
                rest.append(Ellipsis if i is Ellipsis else slice(None))
        return getitem(getitem(x, tuple(first)), tuple(rest))
    try:
        out = x._backend.getitem(x._data, index)
    except IndexError as e:
        raise IndexError(f"{e} (tensor of shape {list(x.shape)})") from None
    node = N.IndexBackward0
    if not advanced:
        node = N.SelectBackward0 if any(isinstance(i, (int, np.integer)) for i in index) else N.SliceBackward0
    t = record(node, out, (x,), x._backend, index=index)
    return t if advanced else _as_view(t, x, lambda b: getitem(b, idx))


def _same_device(tensors: Sequence[Tensor]) -> None:
    devs = {t.device for t in tensors}
    if len(devs) > 1:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found {sorted(devs)}")


@numpy_aliases
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    _same_device(tensors)
    dt = _D.result_type(*tensors)
    nd = tensors[0].ndim
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    d = wrap_dim(dim, nd)
    for t in tensors[1:]:
        if t.ndim != nd or any(a != b for i, (a, b) in enumerate(zip(t.shape, tensors[0].shape)) if i != d):
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(tensors[0].shape)} but got size {list(t.shape)} for a tensor in the list."
            )
    be = tensors[0]._backend
    out = be.concatenate([be.astype(t._data, dt.np) for t in tensors], d)
    return record(N.CatBackward0, out, tensors, tensors[0]._backend, dim=d, sizes=[t.shape[d] for t in tensors])


@numpy_aliases
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    _same_device(tensors)
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at entry 0 "
                f"and {list(t.shape)} at entry {tensors.index(t)}"
            )
    dt = _D.result_type(*tensors)
    d = wrap_dim(dim, tensors[0].ndim + 1)
    be = tensors[0]._backend
    out = be.concatenate([be.expand_dims(be.astype(t._data, dt.np), d) for t in tensors], d)
    return record(N.StackBackward0, out, tensors, tensors[0]._backend, dim=d)


def clone(x: Tensor) -> Tensor:
    return record(N.CloneBackward0, x._backend.copy(x._data), (x,), x._backend)


def contiguous(x: Tensor) -> Tensor:
    """x itself if C-ordered, else a C-ordered copy (PyTorch's clone to contiguous format)."""
    be = x._backend
    return x if be.is_contiguous(x._data) else record(N.CloneBackward0, be.contiguous(x._data), (x,), be)


def to_device(x: Tensor, be: Any) -> Tensor:
    """Copy x to another device (through host memory); differentiable. be None: x itself."""
    if be is None or be is x._backend:
        return x
    out = be.asarray(x._backend.to_numpy(x._data))
    return record(N.ToCopyBackward0, out, (x,), be, source=x._backend)


def copy_slices(view: Tensor, result: Tensor) -> None:
    """An in-place op on a view: write result through the view, then rewrite the base's
    history (CopySlices) and the view's (the view op applied to the new base), as PyTorch does."""
    base, be = view._base, view._backend
    prev = Tensor._wrap(base._data, be, base._requires_grad)
    prev.grad_fn, prev._accumulate_ref = base.grad_fn, base._accumulate_ref
    be.setitem(view._data, Ellipsis, be.astype(result._data, view.dtype.np))
    node_t = record(N.CopySlices, base._data, (prev, result), be, view_fn=view._view_fn)
    base.grad_fn, base._requires_grad = node_t.grad_fn, True
    base._version.value += 1
    redone = view._view_fn(base)
    view.grad_fn, view._requires_grad = redone.grad_fn, True


def to_dtype(x: Tensor, dt: Any) -> Tensor:
    if x.dtype == dt:
        return x
    if x.requires_grad and not dt.is_floating_point:
        return Tensor._wrap(x._backend.astype(x._data, dt.np), x._backend)
    return record(N.ToCopyBackward0, x._backend.astype(x._data, dt.np), (x,), x._backend, source=None)


# ---------------------------------------------------------------- ops the derivatives use
def sum_to_size(x: Tensor, *shape: Any) -> Tensor:
    """x summed over the dims that broadcasting expanded from `shape` (PyTorch's sum_to_size)."""
    shape = shape[0] if len(shape) == 1 and type(shape[0]) is tuple else _shape_arg(shape)
    xs = x._data.shape
    if xs == shape:
        return x
    if not expands_to(shape, xs):
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(xs)}")
    be = x._backend
    return record(N.SumToSizeBackward0, be.sum_to(x._data, shape), (x,), be)


def permute_backward(grad: Tensor, dims: tuple) -> Tensor:
    return permute(grad, *(int(i) for i in np.argsort(dims)))


def zeros_on(shape: tuple, dtype: Any, backend: Any) -> Tensor:
    return Tensor._wrap(backend.full(tuple(shape), 0, dtype), backend)


def index_backward(grad: Tensor, shape: tuple, index: Any) -> Tensor:
    """x[index], backward: zeros of `shape` with grad added at index (PyTorch's index_put_ with
    accumulate=True into zeros)."""
    be = grad._backend
    out = be.index_add(tuple(shape), index, grad._data)
    return record(N.IndexPutBackward0, out, (grad,), be, index=index)


def index_put(x: Tensor, index: Any, values: Tensor) -> Tensor:
    """A copy of x with x[index] = values (an index already converted by getitem); values
    broadcast to the indexed shape."""
    be = x._backend
    out = be.copy(x._data)
    be.setitem(out, index, be.astype(values._data, out.dtype))
    return record(N.IndexPutBackward1, out, (x, values), be, index=index)


def index_put_backward_self(grad: Tensor, index: Any) -> Tensor:
    """index_put's gradient for x: grad, zero where values were written."""
    be = grad._backend
    out = be.copy(grad._data)
    be.setitem(out, index, 0)
    return record(N.IndexPutBackwardSelf0, out, (grad,), be, index=index)


def apply_index(x: Tensor, index: Any) -> Tensor:
    """x[index] for an index already converted by getitem (basic or advanced)."""
    advanced = any(is_index_array(i) for i in index)
    out = x._backend.getitem(x._data, index)
    node = N.IndexBackward0 if advanced else N.SliceBackward0
    return record(node, out, (x,), x._backend, index=index)


def cat_backward(grad: Tensor, sizes: list, dim: int) -> list:
    out, start = [], 0
    for n in sizes:
        out.append(getitem(grad, (slice(None),) * dim + (slice(start, start + n),)))
        start += n
    return out


def stack_backward(grad: Tensor, dim: int) -> list:
    return [getitem(grad, (slice(None),) * dim + (i,)) for i in range(grad.shape[dim])]


def copy_slices_backward(grad: Tensor, view_fn: Any) -> Tensor:
    """CopySlices' gradient for the base: grad with the view's region set to 0."""
    be = grad._backend
    gb = be.copy(grad._data)
    region = view_fn(Tensor._wrap(gb, be))._data  # a view into gb
    be.setitem(region, Ellipsis, 0)
    return record(N.CopySlicesBackwardBackward0, gb, (grad,), be, view_fn=view_fn)


def once_differentiable_guard(t: Tensor, name: str) -> Tensor:
    """t as a tensor whose backward raises (a @once_differentiable Function's gradient)."""
    return record(N.NODES["OnceDifferentiableBackward"], t._data, (t,), t._backend, fn_name=name)


# ---------------------------------------------------------------- split and join (issue 16)
def _piece(x: Tensor, d: int, start: int, stop: int) -> Tensor:
    """x[..., start:stop, ...] along dim d: a view (shares storage and version counter)."""
    return getitem(x, (slice(None),) * d + (slice(start, stop),))


def select(input: Tensor, dim: int, index: Any) -> Tensor:  # noqa: A002
    """The slice at index along dim, that dim removed (a view)."""
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim)
    i = int(index.item()) if isinstance(index, Tensor) else int(index)
    size = input.shape[d]
    if not -size <= i < size:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(input.shape)} "
                         f"at dimension {d}")
    return getitem(input, (slice(None),) * d + (i,))


def narrow(x: Tensor, dim: int, start: Any, length: int) -> Tensor:
    if x.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, x.ndim)
    start = int(start.item()) if isinstance(start, Tensor) else int(start)
    size = x.shape[d]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return _piece(x, d, start, start + length)


def _multi(pieces: Any, name: str) -> tuple:
    """Mark the views of an op that returns several (split, chunk, unbind): with grad, PyTorch
    forbids modifying them in place."""
    pieces = tuple(pieces)
    for i, p in enumerate(pieces):
        if p._requires_grad:
            p._multi_view = (i, name)
    return pieces


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    return _split(x, split_size_or_sections, dim, "Split")


def _split(x: Tensor, split_size_or_sections: Any, dim: int, name: str) -> tuple:
    if x.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, x.ndim)
    size = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        s = int(split_size_or_sections)
        if s < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={s}")
        if s == 0:
            if size:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
            return _multi((_piece(x, d, 0, 0),), name)
        return _multi((_piece(x, d, i, min(i + s, size)) for i in range(0, max(size, 1), s)), name)
    sizes = [int(s) for s in split_size_or_sections]
    if sum(sizes) != size or any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size at "
                           f"dimension {dim}), but got split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(_piece(x, d, start, start + s))
        start += s
    return _multi(out, "SplitWithSizes")


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    if x.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, x.ndim)
    size = x.shape[d]
    if size == 0:
        return _multi((_piece(x, d, 0, 0) for _ in range(chunks)), "Split")
    return split(x, -(-size // chunks), d)


def tensor_split(x: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    if x.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = wrap_dim(dim, x.ndim)
    size = x.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios.dtype.name != "int64":
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                               f"{ios.dtype.name.capitalize()}")
        if ios.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {ios.ndim} dims")
        ios = int(ios.item()) if ios.ndim == 0 else [int(v) for v in ios.tolist()]
    if isinstance(ios, (int, np.integer)):
        n = int(ios)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        out, start = [], 0
        for i in range(n):
            stop = start + q + (1 if i < r else 0)
            out.append(_piece(x, d, start, stop))
            start = stop
        return tuple(out)
    bounds = [0] + [min(int(i) if i >= 0 else max(int(i) + size, 0), size) for i in ios] + [size]
    return tuple(_piece(x, d, bounds[k], max(bounds[k], bounds[k + 1])) for k in range(len(bounds) - 1))


def unbind(x: Tensor, dim: int = 0) -> tuple:
    if x.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, x.ndim)
    return _multi((getitem(x, (slice(None),) * d + (i,)) for i in range(x.shape[d])), "Unbind")


def _tensors_arg(name: str, tensors: Any) -> list:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return tensors


def _each(fn: Any, tensors: tuple) -> Any:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(t) for t in tensors[0])
    if len(tensors) == 1:
        return fn(tensors[0])
    return tuple(fn(t) for t in tensors)


def atleast_1d(*tensors: Any) -> Any:
    return _each(lambda t: reshape(t, 1) if t.ndim == 0 else t, tensors)


def atleast_2d(*tensors: Any) -> Any:
    return _each(lambda t: reshape(t, 1, 1) if t.ndim == 0 else unsqueeze(t, 0) if t.ndim == 1 else t, tensors)


def _to_3d(t: Tensor) -> Tensor:
    if t.ndim == 0:
        return reshape(t, 1, 1, 1)
    if t.ndim == 1:
        return unsqueeze(unsqueeze(t, 0), -1)
    return unsqueeze(t, -1) if t.ndim == 2 else t


def atleast_3d(*tensors: Any) -> Any:
    return _each(_to_3d, tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    ts = [atleast_1d(t) for t in _tensors_arg("hstack", tensors)]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([atleast_2d(t) for t in _tensors_arg("vstack", tensors)], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([_to_3d(t) for t in _tensors_arg("dstack", tensors)], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    ts = _tensors_arg("column_stack", tensors)
    return cat([reshape(t, t.numel(), 1) if t.ndim <= 1 else t for t in ts], 1)


def movedim(x: Tensor, source: Any, destination: Any) -> Tensor:
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain the "
                           f"same number of dims as destination ({dst} dims)")
    s = [wrap_dim(d, x.ndim) for d in src]
    t = [wrap_dim(d, x.ndim) for d in dst]
    if len(set(s)) != len(s):
        raise RuntimeError(f"movedim: repeated dim in `source` ({src})")
    if len(set(t)) != len(t):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({dst})")
    if x.ndim == 0:
        return permute(x)
    order = [None] * x.ndim
    for a, b in zip(s, t):
        order[b] = a
    rest = iter(d for d in range(x.ndim) if d not in s)
    order = [next(rest) if o is None else o for o in order]
    return permute(x, *order)


def swapaxes(x: Tensor, axis0: int, axis1: int) -> Tensor:
    return transpose(x, wrap_dim(axis0, x.ndim), wrap_dim(axis1, x.ndim))


def unflatten(x: Tensor, dim: int, sizes: Any) -> Tensor:
    d = wrap_dim(dim, x.ndim)
    sizes = [int(s) for s in sizes]
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = x.shape[d]
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or (-1 in sizes and (known == 0 or n % known)) or (-1 not in sizes and known != n):
        raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} ({n}) in "
                           f"the input tensor")
    sizes = [n // known if s == -1 else s for s in sizes]
    shape = x.shape[:d] + tuple(sizes) + x.shape[d + 1:]
    out = reshape(x, shape)
    return _as_view(out, x, lambda b: reshape(b, shape))


# ---------------------------------------------------------------- shape and repeat (issue 16)
def _dims_arg(dims: Any) -> tuple:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return tuple(int(d) for d in dims)


def flip(x: Tensor, *dims: Any) -> Tensor:
    dims = _dims_arg(dims)
    ds = tuple(wrap_dim(d, x.ndim) for d in dims)
    for d in set(ds):
        if ds.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    be = x._backend
    if x.ndim == 0 or not ds:
        out = be.copy(x._data)
    else:
        sl = tuple(slice(None, None, -1) if i in ds else slice(None) for i in range(x.ndim))
        out = be.contiguous(be.basic_index(x._data, sl))
        if be.shares_memory(out, x._data):
            out = be.copy(out)
    return record(N.FlipBackward0, out, (x,), be, dims=ds)


def fliplr(x: Tensor) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(x, 1)


def flipud(x: Tensor) -> Tensor:
    if x.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(x, 0)


def roll(x: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    sh = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if dims is None:
        if len(sh) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        return reshape(roll(flatten(x), sh[0], 0), tuple(x.shape))
    ds = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(sh) != len(ds):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:{len(ds)}")
    ds = tuple(wrap_dim(d, x.ndim) for d in ds)
    be = x._backend
    out = x._data
    for s, d in zip(sh, ds):
        n = out.shape[d] if out.ndim else 1
        k = int(s) % n if n else 0
        if k:
            head = be.basic_index(out, (slice(None),) * d + (slice(n - k, None),))
            tail = be.basic_index(out, (slice(None),) * d + (slice(0, n - k),))
            out = be.concatenate([head, tail], d)
    if out is x._data:
        out = be.copy(out)
    return record(N.RollBackward0, out, (x,), be, shifts=tuple(int(s) for s in sh), dims=ds)


def roll_backward(grad: Tensor, shifts: tuple, dims: tuple) -> Tensor:
    return roll(grad, tuple(-s for s in shifts), dims)


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    reps = _shape_arg(sizes)
    if len(reps) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(reps)}: {list(reps)}")
    shape = (1,) * (len(reps) - x.ndim) + tuple(x.shape)
    inter = tuple(v for r, s in zip(reps, shape) for v in (1, s))  # (1, s0, 1, s1, ...)
    big = tuple(v for r, s in zip(reps, shape) for v in (r, s))  # (r0, s0, r1, s1, ...)
    out = expand(reshape(x, inter), *big)
    return reshape(out, tuple(r * s for r, s in zip(reps, shape)))


def tile(x: Tensor, *dims: Any) -> Tensor:
    reps = _shape_arg(dims)
    return repeat(x, *((1,) * (x.ndim - len(reps)) + reps))


def repeat_interleave(x: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    if repeats is None:  # repeat_interleave(repeats): the indices, each repeated
        reps = np.asarray(x._backend.to_numpy(x._data)).reshape(-1)
        if reps.size and reps.min() < 0:
            raise RuntimeError("repeats can not be negative")
        return Tensor._wrap(x._backend.asarray(np.repeat(np.arange(reps.size, dtype=np.int64), reps)), x._backend)
    src = flatten(x) if dim is None else x
    d = 0 if dim is None else wrap_dim(dim, x.ndim)
    n = src.shape[d] if src.ndim else 1
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.dtype.name not in ("int64", "int32"):
            raise RuntimeError(f"repeats has to be Long or Int tensor, got {repeats.dtype.name}")
        reps = np.asarray(repeats._backend.to_numpy(repeats._data)).reshape(-1).astype(np.int64)
        if reps.size == 1:
            reps = np.full(n, reps[0], np.int64)
        elif reps.size != n:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                               f"{reps.size} and input.size({d}) = {n}")
    else:
        reps = np.full(n, int(repeats), np.int64)
    if reps.size and reps.min() < 0:
        raise RuntimeError("repeats can not be negative")
    idx = np.repeat(np.arange(n, dtype=np.int64), reps)
    if output_size is not None and output_size != idx.size:
        raise RuntimeError("allocated size does not match required size")
    be = x._backend
    if src.ndim == 0:
        src = reshape(src, 1)
    return _I.index_select(src, d, Tensor._wrap(be.asarray(idx), be))


def broadcast_to(x: Tensor, size: Any) -> Tensor:
    return expand(x, *_shape_arg((size,)))


def broadcast_shapes(*shapes: Any) -> Any:
    try:
        return Size(np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes]))
    except ValueError:
        raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single shape: {list(shapes)}") from None


def broadcast_tensors(*tensors: Any) -> tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    try:
        shape = tuple(np.broadcast_shapes(*[tuple(t.shape) for t in tensors]))
    except ValueError:
        raise RuntimeError("shape mismatch: objects cannot be broadcast to a single shape: "
                           + " and ".join(str(list(t.shape)) for t in tensors)) from None
    return tuple(t if tuple(t.shape) == shape else expand(t, *shape) for t in tensors)


def ravel(x: Tensor) -> Tensor:
    return reshape(x, -1)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """The source positions along a dim of size n padded by (lo, hi) (negative: cropped)."""
    j = np.arange(-lo, n + hi, dtype=np.int64)
    if mode == "reflect":
        j = np.abs(j)
        return np.where(j >= n, 2 * (n - 1) - j, j)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    # circular, as torch: negative pads crop first, the positive ones wrap around what is left
    c0, c1 = max(-lo, 0), max(-hi, 0)
    m = n - c0 - c1
    return np.arange(-max(lo, 0), m + max(hi, 0), dtype=np.int64) % max(m, 1) + c0


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """torch.nn.functional.pad: (left, right) pairs from the last dim backwards; a negative
    pad crops. constant fills with value (0); reflect / replicate / circular read positions
    through index_select (their gradient sums back into the source)."""
    x = input
    p = [int(v) for v in pad]
    if len(p) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(p) // 2 > x.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(p)} and input of dimension {x.ndim}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    pairs = [(x.ndim - 1 - k, p[2 * k], p[2 * k + 1]) for k in range(len(p) // 2)]
    if mode == "constant":
        out = x
        for d, lo, hi in pairs:  # crop first
            if lo < 0 or hi < 0:
                n = out.shape[d]
                out = narrow(out, d, max(-lo, 0), n - max(-lo, 0) - max(-hi, 0))
        shape = list(out.shape)
        region = [slice(None)] * x.ndim
        for d, lo, hi in pairs:
            shape[d] += max(lo, 0) + max(hi, 0)
            region[d] = slice(max(lo, 0), max(lo, 0) + out.shape[d])
        if tuple(shape) == tuple(out.shape):
            return clone(out) if out is x else out
        be = x._backend
        full = Tensor._wrap(be.full(tuple(shape), 0 if value is None else value, x.dtype.np), be)
        return index_put(full, tuple(region), out)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    k = len(p) // 2
    if k not in (1, 2, 3) or x.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(p)} is not supported for {x.ndim}D input tensor.\nSupported combinations for "
            "non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D input: "
            "padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    lead = x.ndim - k
    if any(s == 0 for s in x.shape[lead - 1:]):  # (a batch dim, when there is one, may be 0)
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and other "
                           f"non-zero dimensions for input, but got: {list(x.shape)}")
    for d, lo, hi in pairs:
        n = x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({lo}, {hi}) at dimension {d} of input {list(x.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")

    out, be = x, x._backend
    for d, lo, hi in pairs:
        idx = _pad_index(x.shape[d], lo, hi, mode)
        out = _I.index_select(out, d, Tensor._wrap(be.asarray(idx), be))
    return out

"""Device-free layout planning: what a backend computes from shapes, strides and axes alone,
before any kernel runs. Written once here for every device; nothing in this module touches an
array's data (index positions are host integers made from shapes and strides).

Plans that every op asks for (reductions, rows) are memoised by shape: a training loop repeats
its shapes, so after the first step a plan is one dictionary lookup."""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np

_MEMO_LIMIT = 4096  # entries per memo before it is cleared (shapes of one model are far fewer)


def _remember(memo: dict, key: Any, value: Any) -> Any:
    if len(memo) > _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


# ------------------------------------------------------------------ axes and strides

def wrap_dim(dim: Any, ndim: int) -> int:
    """dim as a dimension in [0, ndim) (a 0-d tensor takes dims -1 and 0), else PyTorch's
    IndexError; every op that takes a dim normalises it here."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an integer, but got {type(dim).__name__}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def wrap_dims(dims: Any, ndim: int) -> tuple[int, ...]:
    """A dim or a sequence of dims, each through wrap_dim, in the given order; a dim named twice
    is PyTorch's RuntimeError."""
    out = tuple(wrap_dim(d, ndim) for d in ((dims,) if isinstance(dims, (int, np.integer)) else dims))
    for i, d in enumerate(out):
        if d in out[:i]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return out


def normalize_axes(axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """axes as sorted non-negative dimensions of an ndim array (a 0-d array has none)."""
    return tuple(sorted(a % ndim for a in axes)) if ndim else ()


_STRIDES: dict[tuple, tuple] = {}


def contiguous_strides(shape: tuple) -> tuple:
    """C-order strides, in elements, of an array of `shape` (a size-0 dimension counts as 1)."""
    st = _STRIDES.get(shape)
    if st is None:
        acc, rev = 1, []
        for s in reversed(shape):
            rev.append(acc)
            acc *= max(s, 1)
        st = _remember(_STRIDES, shape, tuple(reversed(rev)))
    return st


def is_c_contiguous(shape: tuple, strides: tuple) -> bool:
    """True when `strides` (in elements) lay `shape` out in C order; dimensions of size 1 may
    have any stride."""
    return all(st == cs for s, st, cs in zip(shape, strides, contiguous_strides(shape)) if s != 1)


def broadcast_strides(shape: tuple, strides: tuple, to: tuple) -> tuple | None:
    """Strides of an array of `shape` broadcast to shape `to` (0 along new and stretched axes);
    None where it does not broadcast to `to`."""
    pad = len(to) - len(shape)
    if pad < 0:
        return None
    out = [0] * pad
    for s, st, t in zip(shape, strides, to[pad:]):
        if s == t:
            out.append(st)
        elif s == 1:
            out.append(0)
        else:
            return None
    return tuple(out)


def resolve_shape(size: int, shape: tuple) -> tuple:
    """`shape` with a -1 resolved for `size` elements; raises NumPy's error where it does not fit."""
    if -1 not in shape and math.prod(shape) == size:
        return tuple(int(s) for s in shape)
    return np.empty((size,), dtype=np.bool_).reshape(shape).shape


# ------------------------------------------------------------------ reductions

class ReducePlan(NamedTuple):
    """A reduction of x over `axes` as one over the middle axis of (outer, reduced, inner).
    perm None: the reduced axes are one block, so a C-ordered x is already (outer, reduced,
    inner); else x transposed by perm (kept axes first, reduced last) is (outer, reduced, 1)."""

    axes: tuple
    perm: tuple | None
    outer: int
    reduced: int
    inner: int
    shape: tuple  # the result's shape
    keepdim_shape: tuple  # the result's shape with the reduced axes kept as ones


_REDUCE: dict[tuple, ReducePlan] = {}


def reduce_plan(shape: tuple, axes: tuple[int, ...]) -> ReducePlan:
    key = (shape, tuple(axes))
    p = _REDUCE.get(key)
    if p is None:
        nd = len(shape)
        ax = normalize_axes(axes, nd)
        keep = [a for a in range(nd) if a not in ax]
        red = math.prod(shape[a] for a in ax)
        if ax and ax == tuple(range(ax[0], ax[-1] + 1)):
            perm, outer, inner = None, math.prod(shape[: ax[0]]), math.prod(shape[ax[-1] + 1:])
        else:
            perm, outer, inner = tuple(keep + list(ax)), math.prod(shape[a] for a in keep), 1
        p = _remember(_REDUCE, key, ReducePlan(ax, perm, outer, red, inner, tuple(shape[a] for a in keep),
                                               tuple(1 if a in ax else shape[a] for a in range(nd))))
    return p


def argext_plan(shape: tuple, axis: int, keepdim: bool) -> tuple[int, int, int, tuple]:
    """max / min along one axis as over the middle of (A, K, B): (A, K, B, result shape)."""
    oshape = shape[:axis] + ((1,) if keepdim else ()) + shape[axis + 1:]
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:]), oshape


_SUM_TO: dict[tuple, tuple[int, ...]] = {}
_EXPANDS: dict[tuple, bool] = {}


def expands_to(shape: tuple, to: tuple) -> bool:
    """Whether an array of `shape` broadcasts to `to` without `to` changing (sum_to_size's check)."""
    ok = _EXPANDS.get((shape, to))
    if ok is None:
        lead = len(to) - len(shape)
        ok = lead >= 0 and all(s == 1 or s == to[i + lead] for i, s in enumerate(shape))
        _remember(_EXPANDS, (shape, to), ok)
    return ok


def sum_to_axes(shape: tuple, to: tuple) -> tuple[int, ...]:
    """The axes over which a broadcast array of `shape` sums back to `to` (keepdim, then reshape):
    the leading axes `to` lacks and those where `to` has a 1."""
    axes = _SUM_TO.get((shape, to))
    if axes is None:
        lead = len(shape) - len(to)
        axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(to) if s == 1 and shape[i + lead] != 1)
        _remember(_SUM_TO, (shape, to), axes)
    return axes


# ------------------------------------------------------------------ rows (softmax family)

class RowsPlan(NamedTuple):
    """x as rows along `axis`: x transposed by perm (None: axis is already last) has shape
    `moved`, which row kernels see as (-1, cols); `inverse` transposes results back."""

    perm: tuple | None
    inverse: tuple | None
    moved: tuple
    cols: int


_ROWS: dict[tuple, RowsPlan] = {}


def rows_plan(shape: tuple, axis: int) -> RowsPlan:
    key = (shape, axis)
    p = _ROWS.get(key)
    if p is None:
        nd = len(shape)
        if axis in (-1, nd - 1):
            perm = inverse = None
            moved = tuple(shape)
        else:
            ax = axis % nd
            perm = tuple(a for a in range(nd) if a != ax) + (ax,)
            inverse = tuple(np.argsort(perm).tolist())
            moved = tuple(shape[a] for a in perm)
        p = _remember(_ROWS, key, RowsPlan(perm, inverse, moved, shape[axis]))
    return p


# ------------------------------------------------------------------ matmul

class MatmulPlan(NamedTuple):
    """a @ b with NumPy's rules: 1-D operands promoted to (1, K) / (K, 1) and the promoted axis
    dropped from the result; batch axes broadcast."""

    a_vector: bool
    b_vector: bool
    batch: tuple
    M: int
    K: int
    N: int
    shape: tuple  # the result's shape


_MATMUL: dict[tuple, MatmulPlan] = {}


def matmul_plan(ashape: tuple, bshape: tuple) -> MatmulPlan:
    key = (ashape, bshape)
    p = _MATMUL.get(key)
    if p is None:
        va, vb = len(ashape) == 1, len(bshape) == 1
        a2 = (1,) + tuple(ashape) if va else tuple(ashape)
        b2 = tuple(bshape) + (1,) if vb else tuple(bshape)
        M, K = a2[-2:]
        N = b2[-1]
        batch = () if len(a2) == 2 and len(b2) == 2 else tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
        shape = batch + ((M,) if not va else ()) + ((N,) if not vb else ())
        p = _remember(_MATMUL, key, MatmulPlan(va, vb, batch, M, K, N, shape))
    return p


# ------------------------------------------------------------------ indexing

def element_positions(shape: tuple, strides: tuple, offset: int, index: Any) -> Any:
    """Buffer positions (int64) of the elements x[index] selects, for an array x of `shape` and
    `strides` (in elements) at `offset`: from the layout alone (NumPy's x[index] of them: a
    view or a copy, a scalar for a single element)."""
    if offset == 0 and strides == contiguous_strides(shape):
        pos = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    else:
        pos = np.full(shape, offset, dtype=np.int64)
        nd = len(shape)
        for d, (s, st) in enumerate(zip(shape, strides)):
            pos += (np.arange(s, dtype=np.int64) * st).reshape((s,) + (1,) * (nd - d - 1))
    return pos[index]


def advanced_layout(items: tuple, ndim: int, is_array: Callable[[Any], bool]) -> tuple[list, int, int]:
    """For an index with advanced items (arrays, and ints next to them): the dimension of x each
    item indexes (None for None / Ellipsis), where the broadcast block of the advanced items
    starts in the result (NumPy's rule: in place when they are adjacent, else first), and the
    number of dimensions of that block. is_array tells index arrays (of any device) apart."""
    def width(it: Any) -> int:  # the dimensions of x an item consumes (a mask: its own ndim)
        return it.ndim if is_array(it) and it.dtype == np.bool_ else 1

    used = sum(width(it) for it in items if it is not None and it is not Ellipsis)
    ell = ndim - used
    dims, d = [], 0
    for it in items:
        dims.append(None if it is None or it is Ellipsis else d)
        if it is Ellipsis:
            d += ell
        elif it is not None:
            d += width(it)
    adv = [k for k, it in enumerate(items) if is_array(it) or isinstance(it, (int, np.integer))]
    adjacent = all(is_array(items[k]) or isinstance(items[k], (int, np.integer)) for k in range(adv[0], adv[-1] + 1))
    first = 0
    if adjacent:
        for it in items[: adv[0]]:
            first += ell if it is Ellipsis else (1 if it is None or isinstance(it, slice) else 0)
    block = len(np.broadcast_shapes(*[items[k].shape if is_array(items[k]) else () for k in adv]))
    return dims, first, block


# ------------------------------------------------------------------ views
# A view's layout from its base's (shape, strides) alone: (shape, strides, offset), strides and
# offset in elements, the offset from the base's first element. A device makes the view with
# as_strided (contract.Fused writes each view op so).

Layout = tuple[tuple, tuple, int]


def permute_layout(shape: tuple, strides: tuple, dims: tuple) -> Layout:
    """np.transpose(a, dims)."""
    return tuple(shape[d] for d in dims), tuple(strides[d] for d in dims), 0


def swapaxes_layout(shape: tuple, strides: tuple, a: int, b: int) -> Layout:
    """np.swapaxes(a, a, b) for dims a, b in [0, ndim)."""
    dims = list(range(len(shape)))
    dims[a], dims[b] = dims[b], dims[a]
    return permute_layout(shape, strides, tuple(dims))


def expand_dims_layout(shape: tuple, strides: tuple, axis: int) -> Layout:
    """np.expand_dims(a, axis) for axis in [0, ndim]: a new dimension of size 1 before `axis`."""
    st = strides[axis] * shape[axis] if axis < len(shape) else 1  # (any stride would do for a 1)
    return shape[:axis] + (1,) + shape[axis:], strides[:axis] + (st,) + strides[axis:], 0


def squeeze_layout(shape: tuple, strides: tuple, axes: tuple) -> Layout:
    """np.squeeze(a, axes): the dimensions `axes` (of size 1) dropped."""
    keep = [d for d in range(len(shape)) if d not in axes]
    return tuple(shape[d] for d in keep), tuple(strides[d] for d in keep), 0


def broadcast_layout(shape: tuple, strides: tuple, to: tuple) -> Layout:
    """np.broadcast_to(a, to); NumPy's ValueError where `shape` does not broadcast to `to`."""
    to = tuple(int(s) for s in to)
    st = broadcast_strides(tuple(shape), tuple(strides), to) if all(s >= 0 for s in to) else None
    if st is None:
        raise ValueError(f"operands could not be broadcast together with remapped shapes "
                         f"[original->remapped]: {tuple(shape)} and requested shape {to}")
    return to, st, 0


def index_layout(shape: tuple, strides: tuple, index: Any) -> Layout:
    """a[index] for a basic index: integers (negative from the end), slices (any step), None,
    one Ellipsis, and True / False (a new dimension of size 1 / 0, as NumPy reads them alone);
    NumPy's IndexError for an integer out of range or too many indices."""
    items = index if isinstance(index, tuple) else (index,)
    if sum(it is Ellipsis for it in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(not (it is None or it is Ellipsis or isinstance(it, (bool, np.bool_))) for it in items)
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, but {used} were indexed")
    if Ellipsis not in items:
        items = items + (Ellipsis,)
    out_shape: list = []
    out_strides: list = []
    offset, d = 0, 0
    for it in items:
        if it is Ellipsis:
            n = len(shape) - used
            out_shape += shape[d: d + n]
            out_strides += strides[d: d + n]
            d += n
        elif it is None or isinstance(it, (bool, np.bool_)):
            out_shape.append(1 if it is None or it else 0)
            out_strides.append(0)
        elif isinstance(it, slice):
            start, stop, step = it.indices(shape[d])
            n = len(range(start, stop, step))
            out_shape.append(n)
            out_strides.append(strides[d] * step)
            offset += start * strides[d] if n else 0
            d += 1
        else:
            i = int(it)
            if not -shape[d] <= i < shape[d]:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size {shape[d]}")
            offset += (i % shape[d]) * strides[d]
            d += 1
    return tuple(out_shape), tuple(out_strides), offset


def diagonal_layout(shape: tuple, strides: tuple, offset: int, d1: int, d2: int) -> Layout:
    """np.diagonal(a, offset, d1, d2) for distinct dims in [0, ndim): the other dims, then the
    diagonal (the offset above the main one; below it where negative)."""
    r0, c0 = max(-offset, 0), max(offset, 0)
    n = max(min(shape[d1] - r0, shape[d2] - c0), 0)
    rest = [d for d in range(len(shape)) if d not in (d1, d2)]
    return (tuple(shape[d] for d in rest) + (n,), tuple(strides[d] for d in rest) + (strides[d1] + strides[d2],),
            r0 * strides[d1] + c0 * strides[d2] if n else 0)


def reshape_strides(shape: tuple, strides: tuple, to: tuple) -> tuple | None:
    """Strides that lay the elements of an array of (shape, strides) out as shape `to` (of the
    same size) in C order without a copy, or None where there are none (NumPy's copy=False):
    each run of dims that `to` splits or merges must be contiguous with itself."""
    if math.prod(shape) == 0:
        return contiguous_strides(to)
    old = [(s, st) for s, st in zip(shape, strides) if s != 1]
    out = [1] * len(to)
    i = j = 0
    while i < len(old) and j < len(to):
        i2, j2, po, pn = i + 1, j + 1, old[i][0], to[j]
        while po != pn:  # the shortest runs old[i:i2], to[j:j2] of equal size
            if po < pn:
                po, i2 = po * old[i2][0], i2 + 1
            else:
                pn, j2 = pn * to[j2], j2 + 1
        if any(old[k][1] != old[k + 1][1] * old[k + 1][0] for k in range(i, i2 - 1)):
            return None
        st = old[i2 - 1][1]
        for k in range(j2 - 1, j - 1, -1):
            out[k], st = st, st * to[k]
        i, j = i2, j2
    return tuple(out)

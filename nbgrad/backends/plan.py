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


def permuted(shape: tuple, strides: tuple, perm: tuple) -> tuple[tuple, tuple]:
    """(shape, strides) of the transpose of an array by `perm` (np.transpose's axes)."""
    return tuple(shape[p] for p in perm), tuple(strides[p] for p in perm)


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
